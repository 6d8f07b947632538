"""Benchmark of confidata's DP synthesizers (MST, AIM, PrivBayes) on NIST national2019.

Fits on bench/work/nist/train.csv (made by bench/prepare.py) with the project's schema, at the
budgets SDNist's DP track uses, writes one synthetic file per run (as many rows as the
training file), and scores each with the shared score.py in bench/.venv-score (marginals and
exact matches / DCR; pMSE and TSTR skipped to keep the run short). Results go to
bench/work/dp/<run>.json; bench/RESULTS_DP.md is written from them by hand.

    .venv/bin/python bench/dp_bench.py [--only mst] [--max-seconds 600]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
NIST = BENCH / "work" / "nist"
SCORE_PY = REPO.parent / "shared" / "bench" / "score.py"
SCORE_PYTHON = BENCH / ".venv-score" / "bin" / "python"
OUT = BENCH / "work" / "dp"  # synthetic files, models, one JSON per run (not committed)
TEN = ["AGEP", "SEX", "MSP", "RAC1P", "HOUSING_TYPE", "OWN_RENT", "EDU", "PINCP_DECILE", "DVET", "DEYE"]
DELTA = 1e-9


def runs(all_columns: list[str]) -> list[tuple[str, list[str], float, str]]:
    out = []
    for method in ("mst", "aim", "privbayes"):
        out.append((f"{method}_10f_eps1", TEN, 1.0, method))
    for eps in (1.0, 10.0):
        for method in ("mst", "aim", "privbayes"):
            out.append((f"{method}_24f_eps{eps:g}", all_columns, eps, method))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", action="append", default=[], help="run names or methods to run")
    ap.add_argument("--max-seconds", type=float, default=600.0, help="cap per fit (AIM stops early)")
    ap.add_argument("--seed", type=int, default=2019)
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    from confidata.synth import METHODS
    from confidata.table import Schema, read_table, write_table

    if not (NIST / "train.csv").is_file():
        print("bench/work/nist/train.csv is missing: run bench/prepare.py first", file=sys.stderr)
        return 2
    schema = Schema.load(NIST / "schema.json")
    frame, schema = read_table(NIST / "train.csv", schema)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, columns, eps, method in runs(schema.names):
        if args.only and name not in args.only and method not in args.only:
            continue
        sub = schema.select(columns)
        options = {"epsilon": eps, "seed": args.seed, "max_seconds": args.max_seconds}
        if method != "privbayes":
            options["delta"] = DELTA
        t0 = time.perf_counter()
        model = METHODS[method](sub, **options).fit(frame[columns])
        fit_s = time.perf_counter() - t0
        synthetic = model.sample(len(frame), seed=args.seed)
        path = OUT / f"{name}.csv"
        write_table(synthetic, path, sub, overwrite=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.save(OUT / f"{name}.model", overwrite=True)
        real = OUT / f"real_{len(columns)}.csv"
        hold = OUT / f"holdout_{len(columns)}.csv"
        sch = OUT / f"schema_{len(columns)}.json"
        if not real.exists():
            for source, target in ((NIST / "train.csv", real), (NIST / "holdout.csv", hold)):
                rows = pd.read_csv(source, dtype=str, keep_default_na=False)
                rows[columns].to_csv(target, index=False)
            raw = json.loads((NIST / "schema.json").read_text())
            raw["columns"] = [c for c in raw["columns"] if c["name"] in columns]
            sch.write_text(json.dumps(raw, indent=1))
        t0 = time.perf_counter()
        argv = [str(SCORE_PYTHON), str(SCORE_PY), "--real", str(real), "--synthetic", str(path),
                "--holdout", str(hold), "--schema", str(sch), "--label", name,
                "--skip", "pmse", "--skip", "cart", "--skip", "tstr"]
        proc = subprocess.run(argv, capture_output=True, text=True)
        scores = json.loads(proc.stdout) if proc.returncode == 0 else {"error": proc.stderr[-2000:]}
        record = {
            "run": name, "method": method, "epsilon": eps, "delta": None if method == "privbayes" else DELTA,
            "columns": columns, "rows": len(frame), "fit_seconds": round(fit_s, 1),
            "score_seconds": round(time.perf_counter() - t0, 1), "notes": model.notes_,
            "budget": model.accountant_.summary(), "model_mb": round(model.network_.megabytes, 3),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores", "scores": scores,
            "score_command": " ".join(argv),
        }
        (OUT / f"{name}.json").write_text(json.dumps(record, indent=1, default=str))
        print(f"{name}: fit {fit_s:.1f} s; 3-marginal {scores.get('kmarginal_score')}; "
              f"2-marginal {scores.get('kmarginal2_score')}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
