#!/usr/bin/env python3
"""Condense bench/results/*.json (bench/run.py) into src/confidata/usecases/evidence.json.

`confidata recommend` ranks methods from that file, so its advice is measured, not written in.
Each run keeps the shared scorer's figures a use case ranks or gates on. When the DP benchmark's
main run is present (bench/work/dp/main_run/*.json, from bench/dp_bench.py), its runs on NIST
join as data sets of their own ("nist_10f", "nist_24f"): each DP method at each epsilon beside
smartnoise-synth, SynDiffix and CART on the same columns.

    .venv/bin/python bench/evidence.py
"""
from __future__ import annotations

import json
import os
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(BENCH), "src", "confidata", "usecases", "evidence.json")
METHOD = {"confidata": "cart", "sdv_gc": "sdv_gc", "syndiffix": "syndiffix"}
KEEP = ("kmarginal_score", "tvd_2way_mean", "pmse_cart_ratio", "tstr_accuracy", "trtr_accuracy",
        "exact_match_rate", "exact_match_rate_holdout")


def main() -> int:
    results = os.path.join(BENCH, "results")
    datasets: dict[str, dict] = {}
    machine = None
    for name in sorted(os.listdir(results)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(results, name)) as fh:
            run = json.load(fh)
        if run.get("status") != "ok" or run.get("tool") not in METHOD:
            continue
        scores = run["scores"]
        machine = machine or run.get("machine")
        entry = datasets.setdefault(run["dataset"], {"name": run["dataset"],
                                                     "about": run.get("dataset_about", ""),
                                                     "runs": []})
        entry["runs"].append({
            "method": METHOD[run["tool"]], "tool": run.get("tool_about", run["tool"]),
            "wall_s": run.get("wall_s"), "peak_rss_mib": run.get("peak_rss_mib"),
            "dcr_share": scores.get("dcr_share_closer_to_train_than_holdout"),
            **{k: scores.get(k) for k in KEEP},
        })
    _add_dp_runs(datasets)
    evidence = {"source": "bench/run.py results scored by shared/bench/score.py; "
                          "condensed by bench/evidence.py",
                "machine": machine, "datasets": [datasets[k] for k in sorted(datasets)]}
    with open(OUT, "w") as fh:
        json.dump(evidence, fh, indent=1, sort_keys=False)
        fh.write("\n")
    print(f"wrote {OUT}: {len(evidence['datasets'])} data sets, "
          f"{sum(len(d['runs']) for d in evidence['datasets'])} runs")
    return 0


DP_METHOD = {"mst": "mst", "aim": "aim", "privbayes": "privbayes", "cart": "cart",
             "syndiffix": "syndiffix", "sn_mst": "smartnoise_mst", "sn_aim": "smartnoise_aim"}


def _add_dp_runs(datasets: dict[str, dict]) -> None:
    folder = os.path.join(BENCH, "work", "dp", "main_run")
    if not os.path.isdir(folder):
        return
    runs = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json") and not name.endswith(".meta.json") and not name.startswith("schema"):
            with open(os.path.join(folder, name)) as fh:
                runs.append(json.load(fh))
    for run in runs:
        scores = run.get("scores") or {}
        if run.get("status") != "ok" or "kmarginal_score" not in scores:
            continue
        method = DP_METHOD.get(run["name"].split(f"_{run['features']}")[0])
        if method is None:
            continue
        private = method not in ("cart", "syndiffix")
        key = f"nist_{run['features']}"
        entry = datasets.setdefault(key, {"name": key, "about": (
            f"NIST national2019, {run['features'].rstrip('f')} features; DP methods at each "
            "epsilon beside non-private ones (bench/dp_bench.py)"), "runs": []})
        entry["runs"].append({
            "method": method, "tool": run.get("tool", method), "wall_s": run.get("fit_s"),
            "peak_rss_mib": run.get("peak_rss_mib"), "epsilon": run["epsilon"] if private else None,
            "dcr_share": scores.get("dcr_share_closer_to_train_than_holdout"),
            **{k: scores.get(k) for k in KEEP},
        })


if __name__ == "__main__":
    sys.exit(main())
