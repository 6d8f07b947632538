#!/usr/bin/env python3
"""Condense bench/results/*.json (bench/run.py) into src/confidata/usecases/evidence.json.

`confidata recommend` ranks methods from that file, so its advice is measured, not written in.
Each run keeps the shared scorer's figures a use case ranks or gates on.

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
    evidence = {"source": "bench/run.py results scored by shared/bench/score.py; "
                          "condensed by bench/evidence.py",
                "machine": machine, "datasets": [datasets[k] for k in sorted(datasets)]}
    with open(OUT, "w") as fh:
        json.dump(evidence, fh, indent=1, sort_keys=False)
        fh.write("\n")
    print(f"wrote {OUT}: {len(evidence['datasets'])} data sets, "
          f"{sum(len(d['runs']) for d in evidence['datasets'])} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
