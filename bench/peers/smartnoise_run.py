#!/usr/bin/env python3
"""Peer: smartnoise-synth's MST or AIM (bench/.venv-smartnoise, made by bench/setup_dp.sh).

    bench/.venv-smartnoise/bin/python bench/peers/smartnoise_run.py --method aim \
        --epsilon 1 --delta 1e-9 --train train.csv --schema schema.json --n 21802 \
        --seed 2019 --out synthetic.csv --meta meta.json

Preprocessing (smartnoise-synth's TableTransformer, built here column by column so that no
epsilon is spent on it: preprocessor_eps stays 0 and the whole epsilon goes to the synthesizer):

- categorical / ordinal columns, and integer columns whose documented range has at most
  --max-levels values (AGEP, NOC, NPF on NIST): LabelTransformer on the text codes, the missing
  token ('N') kept as one more level. Like smartnoise's own default, the level set is read from
  the data.
- every other numeric column (PINCP, DENSITY, POVPIP, PWGTP, WGTP): BinTransformer with --bins
  equal-width bins between the schema's public bounds (range_documented, widened to take in the
  special values such as WGTP's 0 and POVPIP's 501), nullable where the column has a missing
  token. Given bounds, BinTransformer spends nothing (needs_epsilon is False; see smartnoise
  issue #485: without bounds it takes part of epsilon, via preprocessor_eps, to find them).
  A synthetic bin comes back as its midpoint.

Fit and sample times go to --meta as JSON; peak memory is measured by the caller.
"""
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _tabio import Table, note  # noqa: E402


def public_bounds(spec):
    """(lower, upper) from the schema: the documented range plus any numeric special values."""
    rng = spec.get("range_documented") or spec.get("range_observed") or {}
    values = [float(v) for v in (rng.get("min"), rng.get("max")) if v is not None]
    for key in spec.get("special_values") or {}:
        try:
            values.append(float(key))
        except ValueError:
            pass
    if not values:
        raise SystemExit(f"column {spec['name']!r} has no public bounds in the schema")
    return min(values), max(values)


def main():
    import argparse

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", choices=["aim", "mst"], required=True)
    ap.add_argument("--epsilon", type=float, required=True)
    ap.add_argument("--delta", type=float, default=1e-9)
    ap.add_argument("--bins", type=int, default=20, help="bins per binned numeric column "
                                                          "(smartnoise's own default is 20)")
    ap.add_argument("--max-levels", type=int, default=100,
                    help="integer columns with at most this many documented values are categorical")
    ap.add_argument("--train", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--seed", type=int, default=2019)
    ap.add_argument("--out", required=True)
    ap.add_argument("--meta", help="write fit/sample seconds and the preprocessing here (JSON)")
    args = ap.parse_args()

    t0 = time.time()
    from importlib.metadata import version

    import numpy as np
    import pandas as pd
    from snsynth import Synthesizer
    from snsynth.transform import BinTransformer, LabelTransformer, TableTransformer

    random.seed(args.seed)
    np.random.seed(args.seed)
    table = Table(args.train, args.schema)
    with open(args.schema) as fh:
        specs = {c["name"]: c for c in json.load(fh)["columns"]}
    frame = pd.DataFrame(index=table.frame.index)
    transformers, plan = [], {}
    categorical, continuous = [], []
    for name in table.columns:
        kind, col = table.kinds[name], table.frame[name]
        token = table.na_token[name] or "N"
        lo = hi = None
        if kind == "integer":
            lo, hi = public_bounds(specs[name])
        if kind == "categorical" or (kind == "integer" and hi - lo + 1 <= args.max_levels):
            if kind == "categorical":
                text = col.where(col.notna(), token).astype(str)
            else:
                text = pd.Series(np.where(col.isna(), token,
                                          col.fillna(0).round().astype("int64").astype(str)),
                                 index=col.index)
            frame[name] = text
            transformers.append(LabelTransformer(nullable=False))
            categorical.append(name)
            plan[name] = "categorical (LabelTransformer, missing token as a level)"
        else:
            lo, hi = public_bounds(specs[name])
            nullable = bool(col.isna().any())
            frame[name] = col.clip(lo, hi).astype(object).where(col.notna(), None)
            transformers.append(BinTransformer(bins=args.bins, lower=lo, upper=hi, nullable=nullable))
            continuous.append(name)
            plan[name] = f"BinTransformer(bins={args.bins}, lower={lo:g}, upper={hi:g}, nullable={nullable})"
    transformer = TableTransformer(transformers)
    synth = Synthesizer.create(args.method, epsilon=args.epsilon, delta=args.delta, verbose=False)
    t_read = time.time()
    note(f"smartnoise-synth {version('smartnoise-synth')} {args.method}: {len(frame)} rows x "
         f"{len(table.columns)} columns, epsilon {args.epsilon:g}, delta {args.delta:g}")
    synth.fit(frame, transformer=transformer, categorical_columns=categorical,
              continuous_columns=continuous, preprocessor_eps=0.0)
    t_fit = time.time()
    note(f"fit {t_fit - t_read:.1f} s (epsilon left for the synthesizer: {synth.epsilon:g})")
    synthetic = synth.sample(args.n)
    t_sample = time.time()
    out = pd.DataFrame(index=range(len(synthetic)))
    for name in table.columns:
        col = synthetic[name]
        token = table.na_token[name] or "N"
        if table.kinds[name] == "categorical":
            out[name] = col.astype(object).where(col.astype(str) != token, None)
        else:
            text = col.astype(object)
            missing = text.isna() | (text.astype(str) == token)
            out[name] = pd.to_numeric(text.where(~missing, None), errors="coerce").astype("float64")
    table.write(out, args.out)
    meta = {"tool": f"smartnoise-synth {version('smartnoise-synth')}", "mbi": version("mbi"),
            "method": args.method, "epsilon": args.epsilon, "delta": args.delta,
            "epsilon_for_synthesizer": synth.epsilon, "preprocessor_eps": 0.0,
            "read_s": round(t_read - t0, 2), "fit_s": round(t_fit - t_read, 2),
            "sample_s": round(t_sample - t_fit, 2), "write_s": round(time.time() - t_sample, 2),
            "preprocessing": plan}
    if args.meta:
        with open(args.meta, "w") as fh:
            json.dump(meta, fh, indent=1)
    note(f"sample {t_sample - t_fit:.1f} s, write {time.time() - t_sample:.1f} s")


if __name__ == "__main__":
    main()
