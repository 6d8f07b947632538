"""The anonlink + clkhash side of bench/pprl_bench.py, run by bench/.venv-anonlink's python.

Encodes both files with clkhash (CLKs: HMAC double hashing; the schema is built from the same
``--fields`` list our run takes, so both tools give each field the same weight), finds all pairs
above a Dice floor with anonlink's accelerated Dice, and solves one-to-one with anonlink's greedy
solver. Writes one JSON document: seconds per step and the links above the floor (indices and
scores), which the bench scores against the truth at several thresholds.

Weights: ``COLUMN[:KIND][*K|/B]`` in our syntax (kinds text, exact, date). ``*K`` (K bits per
token) on text and exact fields becomes clkhash's ``bitsPerToken: K`` (the same bigram and
whole-value tokens as ours); ``/B`` (B bits per value) becomes ``bitsPerFeature: B``, the same
strategy. Our date is three tokens (year, month, day) at K bits each; clkhash hashes a date as
eight positional digits, so it gets ``bitsPerFeature: 3K``: the same bits per date, spread over
its own tokens.

Usage: python anonlink_run.py A.csv B.csv OUT.json --fields "first_name*10,...,dob:date*14"
Dates: clkhash reads one date format per schema, so B's dates are rewritten to A's ISO form,
and text is lower-cased, before the clock starts (our encoder does both inside its timing).
"""

import argparse
import csv
import json
import time
from datetime import datetime

import anonlink
from clkhash import clk
from clkhash.schema import from_json_dict

DEFAULT_K = {"text": 8, "exact": 12, "date": 10}
FIELDS = "first_name,last_name,dob:date,sex:exact,zip:exact,address,city"


def parse(fields):
    """[(column, kind, clkhash strategy)] from 'first_name/80,dob:date*14,zip:exact*12' (the bench
    passes every weight explicitly: *K bits per token or /B bits per value)."""
    out = []
    for entry in fields.split(","):
        entry = entry.strip()
        per_value = "/" in entry
        name, _, k = entry.partition("/" if per_value else "*")
        column, _, kind = name.partition(":")
        kind = kind or "text"
        k = int(k) if k else DEFAULT_K[kind]
        if per_value:
            strategy = {"bitsPerFeature": k}
        elif kind == "date":
            strategy = {"bitsPerFeature": 3 * k}  # our three date tokens at k bits each
        else:
            strategy = {"bitsPerToken": k}
        out.append((column.strip(), kind, strategy))
    return out


def schema(bits, fields):
    feats = [{"identifier": "id", "ignored": True}]
    for col, kind, k in fields:
        if kind == "text":
            fmt = {"type": "string", "encoding": "utf-8", "case": "mixed"}
            comp = {"type": "ngram", "n": 2}
        elif kind == "date":
            fmt = {"type": "date", "format": "%Y-%m-%d"}
            comp = {"type": "ngram", "n": 1, "positional": True}
        else:
            fmt = {"type": "string", "encoding": "utf-8", "case": "mixed"}
            comp = {"type": "exact"}
        feats.append({"identifier": col, "format": fmt, "hashing": {
            "comparison": comp,
            "strategy": k,
            "hash": {"type": "doubleHash"},
            "missingValue": {"sentinel": ""}}})
    return from_json_dict({"version": 3, "clkConfig": {"l": bits, "kdf": {
        "type": "HKDF", "hash": "SHA256", "salt": "YmVuY2g=", "info": "YmVuY2g=", "keySize": 64}},
        "features": feats})


def read(path, id_col, iso, fields):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for r in rows:
        dob = r["dob"]
        if dob and not iso:
            dob = datetime.strptime(dob, "%d/%m/%Y").strftime("%Y-%m-%d")
        # clkhash does not normalise: lower case for text, as our encoder does inside its timing
        out.append([r[id_col]] + [dob if c == "dob" else (r[c] or "").lower() if k == "text"
                                  else (r[c] or "") for c, k, _ in fields])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("out")
    ap.add_argument("--floor", type=float, default=0.6)
    ap.add_argument("--bits", type=int, default=1024)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fields", default=FIELDS)
    args = ap.parse_args()
    fields = parse(args.fields)
    a, b = read(args.a, "id_a", True, fields), read(args.b, "id_b", False, fields)
    sch, secret = schema(args.bits, fields), "bench-secret-shared-by-holders"
    t = {}
    start = time.perf_counter()
    clk_a = clk.generate_clks(a, sch, secret, max_workers=args.workers)
    t["encode_a"] = time.perf_counter() - start
    start = time.perf_counter()
    clk_b = clk.generate_clks(b, sch, secret, max_workers=args.workers)
    t["encode_b"] = time.perf_counter() - start
    start = time.perf_counter()
    cands = anonlink.candidate_generation.find_candidate_pairs(
        [clk_a, clk_b], anonlink.similarities.dice_coefficient_accelerated, args.floor)
    t["compare"] = time.perf_counter() - start
    start = time.perf_counter()
    groups = anonlink.solving.greedy_solve(cands)
    t["solve"] = time.perf_counter() - start
    score = {(int(r0), int(r1)): float(s) for s, (_, _), (r0, r1) in
             zip(cands[0], zip(*cands[1], strict=True), zip(*cands[2], strict=True), strict=True)}
    links = []
    for g in groups:
        if len(g) != 2:
            continue
        (d0, r0), (d1, r1) = sorted(g)
        links.append([a[r0][0], b[r1][0], score[(r0, r1)]])
    with open(args.out, "w") as fh:
        json.dump({"seconds": t, "candidates": len(cands[0]), "links": links}, fh)


if __name__ == "__main__":
    main()
