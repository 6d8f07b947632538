#!/usr/bin/env python3
"""Benchmark of issue 17 part 2: the Gaussian copula under the shared scorer, and the wall time
of `confidata compare` on SD2011 and NIST national2019.

    .venv/bin/python bench/compare_bench.py copula [--data sd2011 nist]
    .venv/bin/python bench/compare_bench.py compare --data nist \
        --methods cart,copula,sample,parametric,ctree,mst --epsilon 1 --delta 1e-9

Both use the fixed 80/20 splits of `bench/prepare.py` (bench/work/<data>/train.csv and
holdout.csv). The schema is the shared one, with the relations `confidata inspect` finds
(age in its age group on SD2011; PUMA and DENSITY, industry and its category, WGTP and the
housing type on NIST) and every level, range and relation declared public, as the data sets'
published codebooks allow (the DP methods need that to run without buying their domain).

``copula``: fits `confidata synth --method copula` (and ``sample``, the independence floor) on
the training rows, scores the output with ../shared/bench/score.py, and counts the rows in
which each schema relation holds. SDV GaussianCopula's figures are those recorded in
bench/RESULTS.md by bench/run.py under the same scorer and split (its venv is not rebuilt here).

``compare``: times the whole `confidata compare` command (reading, every method's fit, sample
and evaluation, the report) as a new user would run it, and the CPU seconds it used (all its
processes): on a shared machine the wall time is an upper bound, and CPU seconds over the
cores estimate the time on an idle one.

Each row goes to bench/results/compare.jsonl with `os.getloadavg()` before and after: the
machine is shared, so a time is an upper bound.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work"
OUT = WORK / "compare"
RESULTS = ROOT / "bench" / "results" / "compare.jsonl"
SCORER = ROOT.parent / "shared" / "bench" / "score.py"
SCORE_PYTHON = ROOT / "bench" / ".venv-score" / "bin" / "python"
CONFIDATA = ROOT / ".venv" / "bin" / "confidata"
TARGETS = {"sd2011": "sex", "nist": "SEX"}
SDV_RECORDED = {"sd2011": 758.8, "nist": 653.9}  # bench/RESULTS.md, k-marginal 3-way, sdv_gc


def declared_schema(data: str) -> Path:
    """The shared schema with the relations inspect finds, everything declared public."""
    from confidata.table import read_table
    from confidata.table.relations import find_relations, relations_in, with_relations

    frame, schema = read_table(WORK / data / "train.csv", WORK / data / "schema.json")
    schema = with_relations(schema, find_relations(frame, schema))
    relations = [replace(r, public=True) for r in relations_in(schema)]
    columns = []
    holdout = pd.read_csv(WORK / data / "holdout.csv", dtype=str, keep_default_na=False)
    for c in schema.columns:  # a code the shared schema lists no levels for (NIST's INDP): the
        if c.kind.is_categorical and not c.levels:  # codebook's levels, read off both parts here
            seen = [*frame[c.name].dropna().astype(str).unique(), *holdout[c.name].unique()]
            missing = set(c.missing_values)
            c = replace(c, levels=tuple(dict.fromkeys(v for v in seen if v not in missing)))
        columns.append(replace(c, domain_public=True))
    schema = replace(schema, columns=tuple(columns))
    schema = with_relations(schema, relations)
    path = OUT / f"{data}.schema.json"
    OUT.mkdir(parents=True, exist_ok=True)
    schema.save(path, overwrite=True)
    return path


def held_share(data: str, synthetic: Path, schema_path: Path) -> dict[str, float]:
    """Per relation: the share of rows with both cells filled where the relation holds."""
    from confidata.table import Schema, read_table
    from confidata.table.relations import relations_in

    schema = Schema.load(schema_path)
    frame, _ = read_table(synthetic, schema.select(
        [c for c in schema.names if c in open(synthetic, encoding="utf-8").readline().strip().split(",")]))
    out = {}
    for relation in relations_in(schema):
        both = frame[relation.source].notna() & frame[relation.target].notna()
        part = frame[both].reset_index(drop=True)
        broken = relation.violations(part, schema).sum()
        out[f"{relation.source}~{relation.target}"] = round(1 - broken / max(len(part), 1), 5)
    return out


def record(row: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps(row, indent=1), flush=True)


def run_copula(data: str, methods: list[str], seed: int) -> None:
    schema = declared_schema(data)
    for method in methods:
        synthetic = OUT / f"{data}__{method}.csv"
        load = os.getloadavg()
        started = time.perf_counter()
        command = [str(CONFIDATA), "synth", str(WORK / data / "train.csv"), "--schema", str(schema),
                   "--method", method, "--seed", str(seed), "-o", str(synthetic), "--overwrite"]
        subprocess.run(command, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - started
        scores = OUT / f"{data}__{method}.scores.json"
        subprocess.run([str(SCORE_PYTHON), str(SCORER), "--real", str(WORK / data / "train.csv"),
                        "--synthetic", str(synthetic), "--holdout", str(WORK / data / "holdout.csv"),
                        "--schema", str(WORK / data / "schema.json"), "--label", method,
                        "--out", str(scores), "--target", TARGETS[data]],
                       check=True, capture_output=True, text=True)
        figures = json.loads(scores.read_text(encoding="utf-8"))
        keep = ("kmarginal_score", "kmarginal2_score", "tvd_1way_mean", "tvd_2way_mean",
                "pmse_ratio", "pmse_cart_ratio", "exact_match_rate", "exact_match_rate_holdout",
                "dcr_share_closer_to_train_than_holdout")
        record({"kind": "copula", "data": data, "method": method, "seed": seed,
                "wall_s": round(wall, 2), "load_before": load, "load_after": os.getloadavg(),
                "sdv_gc_kmarginal_recorded": SDV_RECORDED[data],
                **{k: figures.get(k) for k in keep},
                "relations_held": held_share(data, synthetic, schema),
                "command": " ".join(command), "when": datetime.now(UTC).isoformat(timespec="seconds")})


def run_compare(data: str, methods: str, use_case: str, seed: int, epsilon: float | None,
                delta: float | None, m: int, time_cap: float) -> None:
    schema = declared_schema(data)
    report = OUT / f"{data}__compare.html"
    command = [str(CONFIDATA), "compare", str(WORK / data / "train.csv"), "--holdout",
               str(WORK / data / "holdout.csv"), "--schema", str(schema), "--use-case", use_case,
               "--methods", methods, "--seed", str(seed), "--m", str(m), "-o", str(report),
               "--time-cap", str(time_cap), "--overwrite"]
    if epsilon is not None:
        command += ["--epsilon", str(epsilon)]
    if delta is not None:
        command += ["--delta", str(delta)]
    load = os.getloadavg()
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    print(proc.stdout[-6000:], proc.stderr[-2000:], flush=True)
    ranking = []
    if proc.returncode == 0:
        result = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
        ranking = [{"method": r["method"], "verdict": r["verdict"], "gate": r["gate"],
                    "utility": (r.get("utility") or {}).get("value"), "times": r["times"],
                    "reason": r.get("reason") if r["verdict"] == "error" else None}
                   for r in result["ranking"]]
    record({"kind": "compare", "data": data, "use_case": use_case, "methods": methods.split(","),
            "m": m, "seed": seed, "time_cap_s": time_cap, "returncode": proc.returncode,
            "wall_s": round(wall, 2), "cpu_s": round(cpu_s, 1),
            "load_before": load, "load_after": os.getloadavg(), "cores": os.cpu_count(),
            "ranking": ranking, "command": " ".join(command),
            "when": datetime.now(UTC).isoformat(timespec="seconds")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["copula", "compare"])
    parser.add_argument("--data", nargs="+", default=["sd2011", "nist"], choices=sorted(TARGETS))
    parser.add_argument("--methods", default="cart,copula,sample,parametric,ctree,mst")
    parser.add_argument("--use-case", default="public-release")
    parser.add_argument("--epsilon", type=float, default=None)
    parser.add_argument("--delta", type=float, default=None)
    parser.add_argument("--m", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2011)
    parser.add_argument("--time-cap", type=float, default=600.0)
    args = parser.parse_args()
    for data in args.data:
        if args.what == "copula":
            run_copula(data, ["copula", "sample"], args.seed)
        else:
            run_compare(data, args.methods, args.use_case, args.seed, args.epsilon, args.delta, args.m,
                        args.time_cap)


if __name__ == "__main__":
    sys.exit(main())
