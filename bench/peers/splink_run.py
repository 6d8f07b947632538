"""The splink side of bench/pprl_bench.py, run by bench/.venv-splink's python.

Clear-text probabilistic linkage (Fellegi-Sunter, splink on DuckDB): the quality ceiling that
encoded linkage is compared with, since it sees the names themselves. Both files get one id
column and ISO dates (B's dd/mm/yyyy rewritten) before the clock starts. Model: names by
Jaro-Winkler levels, date of birth by splink's date comparison, sex/zip/city exact, address by
Levenshtein; blocking on (first name), (last name), (dob), (zip); u by random sampling, m by EM
on two blocking rules; pairs are then made one-to-one greedily by match weight (as the encoded
runs are). Prints JSON: seconds and the scored links (ids and match probability).

Usage: python splink_run.py A.csv B.csv OUT.json
"""

import argparse
import json
import logging
import time

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("out")
    ap.add_argument("--floor", type=float, default=0.05)
    args = ap.parse_args()
    logging.getLogger("splink").setLevel(logging.WARNING)
    a = pd.read_csv(args.a, dtype=str).rename(columns={"id_a": "unique_id"})
    b = pd.read_csv(args.b, dtype=str).rename(columns={"id_b": "unique_id"})
    b["dob"] = pd.to_datetime(b["dob"], format="%d/%m/%Y").dt.strftime("%Y-%m-%d")
    for df in (a, b):
        for c in ("first_name", "last_name", "address", "city"):
            df[c] = df[c].str.lower()
    t = {}
    start = time.perf_counter()
    db = DuckDBAPI()
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("zip"),
            cl.ExactMatch("city"),
            cl.LevenshteinAtThresholds("address", [2, 5]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name"), block_on("last_name"), block_on("dob"), block_on("zip"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker([db.register(a, dataset_display_name="a"),
                     db.register(b, dataset_display_name="b")], settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "last_name", "dob")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("last_name"))
    t["train"] = time.perf_counter() - start
    start = time.perf_counter()
    pred = linker.inference.predict(threshold_match_probability=args.floor).as_pandas_dataframe()
    t["predict"] = time.perf_counter() - start
    start = time.perf_counter()
    pred = pred.sort_values("match_weight", ascending=False, kind="stable")
    left = pred["source_dataset_l"] == "a"
    ida = pred["unique_id_l"].where(left, pred["unique_id_r"])
    idb = pred["unique_id_r"].where(left, pred["unique_id_l"])
    seen_a, seen_b, links = set(), set(), []
    for x, y, p in zip(ida, idb, pred["match_probability"], strict=True):
        if x in seen_a or y in seen_b:
            continue
        seen_a.add(x)
        seen_b.add(y)
        links.append([x, y, float(p)])
    t["one_to_one"] = time.perf_counter() - start
    with open(args.out, "w") as fh:
        json.dump({"seconds": t, "candidates": int(len(pred)), "links": links}, fh)


if __name__ == "__main__":
    main()
