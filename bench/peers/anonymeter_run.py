#!/usr/bin/env python3
"""Time one of anonymeter's evaluators on a training file, a synthetic file and a holdout.

    bench/.venv-anonymeter/bin/python bench/peers/anonymeter_run.py --train CSV --synthetic CSV
        --holdout CSV --schema JSON --evaluator singling_out|linkability|inference
        [--n-attacks 500] [--secret MSP] [--seed 2011] --result JSON

Run by bench/measures_bench.py (peers mode). Settings follow confidata's measures of the same
name: singling out multivariate on 3 columns; linkability with the columns split in half in
schema order, 1 neighbour; inference of --secret from every other column. Files are read and
typed with bench/peers/_tabio.py. anonymeter has no seed argument, so numpy's and random's
global generators are seeded.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from _tabio import Table  # noqa: E402


def _rate(rate):
    return {"value": float(rate.value), "error": float(rate.error)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--synthetic", required=True)
    ap.add_argument("--holdout", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--evaluator", required=True, choices=["singling_out", "linkability", "inference"])
    ap.add_argument("--n-attacks", type=int, default=500)
    ap.add_argument("--secret", default="MSP")
    ap.add_argument("--seed", type=int, default=2011)
    ap.add_argument("--result", required=True)
    args = ap.parse_args()

    t0 = time.perf_counter()
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    ori = Table(args.train, args.schema).frame
    syn = Table(args.synthetic, args.schema).frame
    control = Table(args.holdout, args.schema).frame
    read_s = time.perf_counter() - t0
    np.random.seed(args.seed)
    random.seed(args.seed)
    cols = list(ori.columns)
    t1 = time.perf_counter()
    if args.evaluator == "singling_out":
        ev = SinglingOutEvaluator(ori=ori, syn=syn, control=control, n_attacks=args.n_attacks,
                                  n_cols=3)
        ev.evaluate(mode="multivariate")
        settings = {"mode": "multivariate", "n_cols": 3}
    elif args.evaluator == "linkability":
        half = len(cols) // 2
        ev = LinkabilityEvaluator(ori=ori, syn=syn, control=control, n_attacks=args.n_attacks,
                                  aux_cols=(cols[:half], cols[half:]), n_neighbors=1)
        ev.evaluate(n_jobs=-2)
        settings = {"aux_cols": [cols[:half], cols[half:]], "n_neighbors": 1, "n_jobs": -2}
    else:
        aux = [c for c in cols if c != args.secret]
        ev = InferenceEvaluator(ori=ori, syn=syn, control=control, n_attacks=args.n_attacks,
                                aux_cols=aux, secret=args.secret, regression=False)
        ev.evaluate(n_jobs=-2)
        settings = {"secret": args.secret, "aux_cols": "all other columns", "n_jobs": -2}
    measure_s = time.perf_counter() - t1
    risk = ev.risk(confidence_level=0.95)
    res = ev.results(confidence_level=0.95)
    out = {
        "read_s": round(read_s, 3), "measure_s": round(measure_s, 3),
        "options": {"n_attacks": args.n_attacks, **settings},
        "value": float(risk.value), "ci": [float(risk.ci[0]), float(risk.ci[1])],
        "details": {"attack_rate": _rate(res.attack_rate), "baseline_rate": _rate(res.baseline_rate),
                    "control_rate": _rate(res.control_rate) if res.control_rate else None,
                    "n_attacks": getattr(res, "n_attacks", None)},
    }
    with open(args.result, "w") as fh:
        json.dump(out, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
