"""Compile and cache every numba kernel once, at install time, so no user waits for it.

``make install`` runs ``python -m confidata._warmup``. A first ``confidata synth`` otherwise
spends most of its time compiling (9-13 CPU-seconds on the 1,600-row demo file, against about
2 for a whole warm run), and ``confidata evaluate`` compiles the distance and attack kernels the
same way. Measured by bench/first_run.py. Each kernel has one signature, because callers cast their inputs
to fixed dtypes and layouts, so what is compiled here on a tiny generated table is exactly what
a real file needs later: numba then loads it from its cache (see `confidata._numba_cache`).

The warm-up goes through the public paths (a CART fit and sample, an evaluation for every use
case) rather than calling kernels directly, so the types it compiles cannot drift from the
types real runs use. A step that fails is reported and skipped: a warm cache is a speed-up,
never a reason for an installation to fail.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd

__all__ = ["warm_up"]


def _tiny_table(rows: int, seed: int) -> pd.DataFrame:
    """A made-up survey extract with every kind of column the kernels see."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "region": rng.choice(["north", "south", "east", "west"], rows),
        "sex": rng.choice(["female", "male"], rows),
        "age": rng.integers(16, 90, rows),
        "sector": rng.choice([f"sector {i}" for i in range(20)], rows),  # many classes
        "income": np.round(rng.gamma(2.0, 15000.0, rows), 2),
        "weight": np.round(rng.uniform(50.0, 150.0, rows), 1),
    })


def warm_up(log=print) -> list[str]:
    """Run every numba-compiled path once on tiny data; returns the steps that failed."""
    from confidata.evaluate import evaluate
    from confidata.measures import MEASURES
    from confidata.synth import CART
    from confidata.table import Role, infer_schema
    from confidata.usecases import USE_CASES

    real, holdout = _tiny_table(300, 1), _tiny_table(100, 2)
    schema = infer_schema(real).replace_column("weight", roles=(Role.WEIGHT,))
    for key in ("region", "sex", "age"):
        schema = schema.replace_column(key, roles=(Role.KEY,))
    failed = []
    steps = [("synth (CART)", lambda: CART(schema, n_jobs=1).fit(real).sample(300, seed=1))]
    from confidata.synth import CTree  # the conditional-inference tree's test kernel

    steps.append(("synth (ctree)", lambda: CTree(schema, n_jobs=1).fit(real).sample(300, seed=1)))
    for use_case in USE_CASES:
        steps.append((f"evaluate ({use_case})", lambda u=use_case: evaluate(
            real, synthetic, schema, use_case=u, holdout=holdout, target="income",
            model="income ~ age + sex", seed=1)))
    # in no use case's profile, but `confidata measures run` offers it
    steps.append(("measure weighted_estimates",
                  lambda: MEASURES["weighted_estimates"].function(real, synthetic, schema)))
    from confidata.pprl._warm import exercise as pprl_exercise  # record linkage's kernels

    steps.append(("pprl encode and link", pprl_exercise))
    synthetic = None
    for name, step in steps:
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = step()
        except Exception as exc:  # noqa: BLE001 - reported, never fatal: see the module docstring
            failed.append(name)
            log(f"  {name}: skipped ({type(exc).__name__}); its kernels compile on first use instead")
            continue
        if synthetic is None and isinstance(result, pd.DataFrame):
            synthetic = result
        log(f"  {name}: {time.perf_counter() - started:.1f} s")
    return failed


def main() -> int:
    started = time.perf_counter()
    print("Compiling confidata's kernels once, so the first synth and evaluate do not wait:")
    failed = warm_up()
    print(f"Done in {time.perf_counter() - started:.1f} s"
          + (f" ({len(failed)} step(s) skipped)." if failed else "."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
