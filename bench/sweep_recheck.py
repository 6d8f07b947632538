"""Check the DP files of a finished sweep again, as the current bench/sweep.py checks them.

Why: the check changed after the first sweep (a DP column is now held to the bound its saved
model implies, `bench/sweep_bound.py`, and every method's TV is the mean of 5 copies) while the
DP methods did not; fitting again would spend an hour on the 2 shared cores for the same models.
Sampling a saved DP model is post-processing (no budget), so where a run wrote one copy, the model
is sampled 4 more times with the seeds `synth --m 5` would use for copies 2-5, and the check
record is appended to the folder's results.jsonl, stamped with the commit it was redone at
("rechecked_at") beside the commit the file was made at.

    .venv/bin/python bench/sweep_recheck.py build/sweepO/recheck
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "src"))
import sweep  # noqa: E402
import sweep_bound  # noqa: E402


def recheck(work: Path) -> int:
    from confidata.synth import load_model
    from confidata.table.writers import write_table

    latest = sweep.summarise(sweep.read_results(work / "results.jsonl"))
    rec = sweep.Recorder(work / "results.jsonl", resume=True)
    sha = sweep.commit()
    over = 0
    for (f, m, s), r in sorted(latest.items()):
        if s != "synth" or m == "cart" or r["status"] != "ok":
            continue
        folder, eps = work / f.replace("/", "__"), r["epsilon"]
        model_path = folder / f"syn_{m}.model"
        start = time.perf_counter()
        paths = [folder / f"syn_{m}_{i}.csv" for i in range(1, sweep.COPIES + 1)]
        if not all(p.is_file() for p in paths):
            model = load_model(model_path)
            paths = [folder / f"syn_{m}.csv"]
            seeds = np.random.SeedSequence(sweep.SEED).generate_state(sweep.COPIES)[1:]
            for i, seed in enumerate(seeds, start=2):
                path = folder / f"syn_{m}_{i}.csv"
                if not path.is_file():
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        syn = model.sample(seed=int(seed))
                        write_table(syn, path, model.schema_.select(syn.columns), overwrite=True)
                paths.append(path)
        facts = sweep_bound.model_facts(model_path)
        c = sweep.check_file(folder / "train.csv", paths, folder / "schema.json", sweep.SEED,
                             sweep.model_domain(model_path), facts)
        ok, worst, ratio = sweep.tv_verdict(c["tv"], eps)
        column, used = sweep.bound_use(c["tv"])
        ok = ok and not c["purchase_suspect"]
        over += not ok
        rec.write({"file": f, "method": m, "step": "check", "epsilon": eps, "commit": r.get("commit"),
                   "rechecked_at": sha, "status": "ok", **c, "tv_within_bound": ok,
                   "worst_column": worst, "worst_ratio": ratio, "worst_bound_column": column,
                   "worst_bound_use": used, "seconds": round(time.perf_counter() - start, 2)})
        print(f"{f} {m}: {'within' if ok else 'OVER'} (largest TV / bound {used}, {column})", flush=True)
    return over


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: bench/sweep_recheck.py WORK_FOLDER (a sweep's --work)")
    print(f"{recheck(Path(sys.argv[1]))} file(s) over their bound")
