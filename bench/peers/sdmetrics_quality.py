#!/usr/bin/env python3
"""Time SDMetrics' single-table QualityReport (Column Shapes, Column Pair Trends).

    bench/.venv-sdmetrics/bin/python bench/peers/sdmetrics_quality.py --train CSV --synthetic CSV
        --schema JSON --result JSON

Run by bench/measures_bench.py (peers mode). Files are read and typed with bench/peers/_tabio.py;
the metadata comes from the schema (categorical/ordinal -> categorical, integer/continuous ->
numerical). Column Shapes is 1 - KS statistic (numerical) or 1 - TVD (categorical), averaged;
Column Pair Trends is 1 - |correlation difference| / 2 (numerical pairs) or contingency
similarity (other pairs), averaged.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _tabio import Table  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--synthetic", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--result", required=True)
    args = ap.parse_args()

    t0 = time.perf_counter()
    from sdmetrics.reports.single_table import QualityReport

    real_t = Table(args.train, args.schema)
    real, syn = real_t.frame, Table(args.synthetic, args.schema).frame
    metadata = {"columns": {name: {"sdtype": "categorical" if kind == "categorical" else "numerical"}
                            for name, kind in real_t.kinds.items()}}
    read_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    report = QualityReport()
    report.generate(real, syn, metadata, verbose=False)
    measure_s = time.perf_counter() - t1
    props = report.get_properties()
    scores = {str(r["Property"]): float(r["Score"]) for _, r in props.iterrows()}
    shapes = report.get_details("Column Shapes")
    out = {
        "read_s": round(read_s, 3), "measure_s": round(measure_s, 3),
        "options": {"metadata": "from schema"},
        "value": float(report.get_score()),
        "details": {**scores,
                    "column_shapes_tvd_mean": float(1 - shapes[shapes["Metric"] == "TVComplement"]
                                                    ["Score"].mean()),
                    "column_shapes_ks_mean": float(1 - shapes[shapes["Metric"] == "KSComplement"]
                                                   ["Score"].mean())},
    }
    with open(args.result, "w") as fh:
        json.dump(out, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
