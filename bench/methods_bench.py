#!/usr/bin/env python3
"""synthpop's methods in confidata against synthpop 1.9.3's own runs, on SD2011 (12 variables).

    .venv/bin/python bench/methods_bench.py [--methods parametric ctree rf bag cart]
                                            [--repeats 3] [--skip-score] [--out bench/results/methods.jsonl]

For each method: fit on the same 5,000 real rows synthpop used (`../shared/reference/synthpop/
sd2011_real12.csv`, the shared schema of `bench/work/sd2011_12/schema.json`), seed 2011,
synthesise 5,000 rows. Time is fit + sample inside this process (synthpop's recorded times are
``system.time(syn(...))``, also without start-up), the median of `--repeats` runs after one
warm-up run that compiles the numba kernels; the cold first run is reported too. The last run's
file is scored by the shared scorer (`../shared/bench/score.py`, in `bench/.venv-score`), and so
is synthpop's own synthetic file of the same method (`../shared/reference/synthpop/methods/`),
both against the 5,000 real rows with no holdout (synthpop saw all of them). The load average is
recorded before and after each row: the machine is shared, so a time is an upper bound.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SHARED = Path(os.environ.get("CONFIDATA_SHARED", REPO.parent / "shared"))
REFERENCE = SHARED / "reference" / "synthpop"
# data set -> (real rows, schema); sd2011_35 is SD2011 whole (5,000 rows, 35 variables), where
# synthpop's parametric run was killed at 600 s and no ctree/rf/bag file was recorded
DATASETS = {
    "sd2011_12": (REFERENCE / "sd2011_real12.csv", BENCH / "work" / "sd2011_12" / "schema.json"),
    "sd2011_35": (SHARED / "data" / "SD2011" / "data.csv", SHARED / "data" / "SD2011" / "schema.json"),
}
REAL, SCHEMA = DATASETS["sd2011_12"]
SCORE = [str(BENCH / ".venv-score" / "bin" / "python"), str(SHARED / "bench" / "score.py")]
WORK = BENCH / "work" / "methods"
SYNTHPOP_FILE = {"parametric": "methods/sd2011_12_parametric.csv",
                 "ctree": "methods/sd2011_12_ctree.csv", "rf": "methods/sd2011_12_rf.csv",
                 "bag": "methods/sd2011_12_bag.csv", "cart": "sd2011_syn_cart.csv"}


def synthpop_times() -> dict[str, float]:
    """Median wall seconds of synthpop's three runs per method (methods_results.csv)."""
    with open(REFERENCE / "methods" / "methods_results.csv") as fh:
        return {row["label"]: float(row["median_wall_s"]) for row in csv.DictReader(fh)
                if row["median_wall_s"]}


def run_method(method: str, repeats: int, seed: int,
               column_methods: str | None = None) -> tuple[dict, Path]:
    from confidata import write_table
    from confidata.synth import synthesize
    from confidata.table import read_table

    frame, schema = read_table(REAL, SCHEMA)
    times, cpu = [], []
    for _ in range(repeats + 1):
        c0, t0 = time.process_time(), time.perf_counter()
        # one thread, as R runs syn(): the comparison is of methods, not of core counts
        options = {"n_jobs": 1, **({"column_methods": column_methods} if column_methods else {})}
        model = synthesize(frame, schema, method=method, seed=seed, options=options)
        fitted = time.perf_counter()
        synthetic = model.sample(len(frame), seed=seed)
        times.append((time.perf_counter() - t0, fitted - t0))
        cpu.append(time.process_time() - c0)
    tag = f"__{column_methods.replace('=', '-').replace(',', '_')}" if column_methods else ""
    out = WORK / f"{REAL.parent.name}_{len(schema.names)}__{method}{tag}.csv"
    write_table(synthetic, out, schema.select(synthetic.columns), overwrite=True)
    warm = times[1:]
    return {"cold_s": round(times[0][0], 3), "runs_s": [round(t, 3) for t, _ in warm],
            "median_s": round(statistics.median(t for t, _ in warm), 3),
            "median_fit_s": round(statistics.median(f for _, f in warm), 3),
            "median_cpu_s": round(statistics.median(cpu[1:]), 3),
            "column_methods": getattr(model, "column_methods_", None)}, out


def score(synthetic: Path, label: str) -> dict:
    out = WORK / f"score__{REAL.parent.name}_{label}.json"
    argv = [*SCORE, "--real", str(REAL), "--synthetic", str(synthetic), "--schema", str(SCHEMA),
            "--target", "sex", "--label", label, "--out", str(out)]
    subprocess.run(argv, check=True, capture_output=True, text=True)
    return json.loads(out.read_text())


def headline(scores: dict) -> dict:
    keep = ("tvd_1way_mean", "tvd_2way_mean", "kmarginal_score", "kmarginal2_score", "pmse_ratio",
            "pmse_cart_ratio", "pearson_mean_abs_diff", "cramers_v_mean_abs_diff", "tstr_accuracy",
            "exact_match_rate")
    return {k: scores.get(k) for k in keep}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["parametric", "ctree", "rf", "bag", "cart"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2011)
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="sd2011_12")
    parser.add_argument("--column-method", default=None,
                        help="COLUMN=METHOD,... for every method run (e.g. edu=polyreg,ls=polyreg)")
    parser.add_argument("--skip-score", action="store_true")
    parser.add_argument("--out", default=str(BENCH / "results" / "methods.jsonl"))
    args = parser.parse_args()
    global REAL, SCHEMA
    REAL, SCHEMA = DATASETS[args.dataset]
    WORK.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")
    recorded = synthpop_times()
    rows = []
    twelve = args.dataset == "sd2011_12"
    for method in args.methods:
        load_before = os.getloadavg()
        timing, synthetic = run_method(method, args.repeats, args.seed, args.column_method)
        load_after = os.getloadavg()
        row = {"dataset": args.dataset, "method": method, "n_rows": 5000,
               "column_method_option": args.column_method, **timing,
               "load_before": [round(x, 2) for x in load_before],
               "load_after": [round(x, 2) for x in load_after],
               "synthpop_median_s": recorded.get(method) if twelve else None,
               "speedup_vs_synthpop": (round(recorded[method] / timing["median_s"], 1)
                                       if twelve and method in recorded else None),
               "cpu_speedup_vs_synthpop": (round(recorded[method] / timing["median_cpu_s"], 1)
                                           if twelve and method in recorded else None),
               "command": " ".join([sys.executable, *sys.argv])}
        if not args.skip_score:
            row["confidata"] = headline(score(synthetic, f"confidata_{synthetic.stem}"))
            if twelve:
                row["synthpop"] = headline(score(REFERENCE / SYNTHPOP_FILE[method],
                                                 f"synthpop_{method}"))
        rows.append(row)
        print(json.dumps(row), flush=True)
    with open(args.out, "a") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
