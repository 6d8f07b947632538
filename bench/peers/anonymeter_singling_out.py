#!/usr/bin/env python3
"""anonymeter's singling-out evaluator on three Parquet files, for bench/singling_out_study.py.

    bench/.venv-anonymeter/bin/python bench/peers/anonymeter_singling_out.py --train P
        --synthetic P --holdout P [--n-attacks 500] [--n-cols 3] [--seed 0] --result JSON

Multivariate mode. Writes anonymeter's own risk (clipped at 0, from its Wilson-centred rates)
and the raw ratio (n_success - n_control) / (n_attacks - n_control) from its counts, the
control count already scaled by anonymeter to the training set's size.
"""
from __future__ import annotations

import argparse
import json
import time

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser()
    for name in ("--train", "--synthetic", "--holdout", "--result"):
        ap.add_argument(name, required=True)
    ap.add_argument("--n-attacks", type=int, default=500)
    ap.add_argument("--n-cols", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from anonymeter.evaluators import SinglingOutEvaluator

    ori, syn, control = (pd.read_parquet(p) for p in (args.train, args.synthetic, args.holdout))
    t0 = time.perf_counter()
    ev = SinglingOutEvaluator(ori=ori, syn=syn, control=control, n_attacks=args.n_attacks,
                              n_cols=args.n_cols, seed=args.seed)
    ev.evaluate(mode="multivariate")
    seconds = time.perf_counter() - t0
    risk = ev.risk(confidence_level=0.95)
    n, success, ctrl = ev._n_attacks, ev._n_success, ev._n_control
    out = {"value": float(risk.value), "ci": [float(x) for x in risk.ci],
           "raw": float((success - ctrl) / (n - ctrl)) if ctrl < n else 0.0,
           "main_rate": success / n, "control_rate": float(ctrl) / n,
           "n_baseline": int(ev._n_baseline), "measure_s": round(seconds, 3)}
    with open(args.result, "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
