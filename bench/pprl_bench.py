"""PPRL benchmark: our encoded linkage beside anonlink + clkhash and splink, and the attack.

On files made by `confidata.pprl.generate` (real Census name frequencies, stated errors, a
truth file), for each size n (n x n records, half of them in both files):

* ours: `encode` both files, `link` (above 10,000 x 10,000 LSH blocking, or with --block the
  declared blocking codes; Dice, greedy one to one, automatic threshold), timed end to end in
  this process; F1 against the truth at the automatic threshold, and (up to 100,000 a side) at
  the best threshold of 0.50..0.99 beside the peer's;
* anonlink + clkhash (bench/.venv-anonlink, bench/peers/anonlink_run.py): CLK encoding of the
  same fields with the same bits per token, all pairs above Dice 0.6, greedy solving; F1 at the
  best threshold of 0.60..0.99 (favouring the peer: it is told the truth's best threshold);
* splink (bench/.venv-splink, bench/peers/splink_run.py): clear-text Fellegi-Sunter linkage,
  the quality ceiling; F1 at the best match-probability threshold.

`--attack N` adds the attack (`confidata.pprl.attack`) per hardening on N x N files: the F1 of
linking with that hardening, and the share of encodings whose first and last names the attack
re-identifies from name-only encodings (the setting the literature attacks) and from the full
linkage encodings, beside guessing.

Timings on the shared 2-core machine are upper bounds: the load average is recorded before and
after each row. Usage:

    bash bench/setup_pprl_peers.sh
    .venv/bin/python bench/pprl_bench.py --sizes 100000 --peers anonlink,splink
    .venv/bin/python bench/pprl_bench.py --sizes 1000000 --threshold 0.7
    .venv/bin/python bench/pprl_bench.py --attack 10000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from confidata.pprl import SecretKey, encode, parse_fields, parse_hardening
from confidata.pprl.attack import attack
from confidata.pprl.generate import generate, reference_people, write_linkage_data
from confidata.pprl.link import FLOOR, link
from confidata.pprl.quality import evaluate_links

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work" / "pprl"
FIELDS = "first_name,last_name,dob:date,sex:exact,zip:exact,address,city"
NAME_FIELDS = "first_name*8,last_name*8"  # Schnell's CLK, the setting the literature attacks
KEY = SecretKey(b"pprl-bench-secret-shared-by-the-holders")
HARDENINGS = ("none", "balance", "xor", "rule90", "diffusion", "salt(dob)")
SEED = 14
BLOCK = "soundex(last_name)+year(dob);soundex(first_name)+year(dob);soundex(first_name)+soundex(last_name)"


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _peak_gib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _files(n: int) -> dict[str, Path]:
    folder = WORK / f"n{n}"
    paths = {k: folder / f"{k}.csv" for k in ("a", "b", "truth")}
    if not all(p.exists() for p in paths.values()):
        started = time.perf_counter()
        data = generate(n, n, overlap=0.5, seed=SEED)
        write_linkage_data(data, folder)
        print(f"generated {n:,} x {n:,} in {time.perf_counter() - started:.1f} s", flush=True)
    return paths


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None)


def _f1(links: pd.DataFrame, truth: pd.DataFrame) -> dict:
    q = evaluate_links(links, truth)
    return {"precision": round(q.precision, 4), "recall": round(q.recall, 4), "f1": round(q.f1, 4),
            "links": q.links}


def _best_f1(links: list, truth: pd.DataFrame, thresholds) -> dict:
    frame = pd.DataFrame(links, columns=["id_a", "id_b", "score"])
    best = None
    for t in thresholds:
        got = _f1(frame[frame["score"] >= t], truth)
        if best is None or got["f1"] > best["f1"]:
            best = dict(got, threshold=round(float(t), 3))
    return best


def run_ours(n: int, fields: str = FIELDS, hardening: str = "none",
             given: float | None = None, block: str | None = None) -> tuple[dict, tuple]:
    """Our run; ``given``: link at that Dice threshold instead of the automatic one (the floor
    of the candidate search is then the threshold, so far fewer pairs are kept)."""
    paths = _files(n)
    a, b, truth = _read(paths["a"]), _read(paths["b"]), pd.read_csv(paths["truth"], dtype=str)
    specs, steps = parse_fields(fields), parse_hardening(hardening)
    row = {"tool": "confidata", "n": n, "fields": fields, "hardening": hardening, "load_before": _load()}
    if block:
        row["block"] = block
    t0 = time.perf_counter()
    enc_a = encode(a, id_column="id_a", fields=specs, key=KEY, hardening=steps, blocking=block).encoding
    t1 = time.perf_counter()
    enc_b = encode(b, id_column="id_b", fields=specs, key=KEY, hardening=steps, blocking=block).encoding
    t2 = time.perf_counter()
    print(f"n={n:,}: encoded both in {t2 - t0:.1f} s, peak memory {_peak_gib():.1f} GiB", flush=True)
    result = link(enc_a, enc_b, threshold=given)  # None: --auto, as `pprl link` runs it
    t3 = time.perf_counter()
    matches = result.matches
    row.update(seconds={"encode_a": round(t1 - t0, 1), "encode_b": round(t2 - t1, 1),
                       "link": round(t3 - t2, 1), "total": round(t3 - t0, 1)},
               compared=int(result.compared), blocking=result.blocking,
               threshold=round(float(result.threshold), 3), method=result.threshold_method,
               **_f1(matches, truth), load_after=_load(), peak_gib=round(_peak_gib(), 1))
    if n <= 100_000:  # the best threshold, for reference: every greedy pair from the floor up
        every = link(enc_a, enc_b, threshold=FLOOR).matches
        best = _best_f1(every.values.tolist(), truth, np.round(np.arange(0.50, 1.0, 0.01), 2))
        row.update(best_threshold=best["threshold"], best_f1=best["f1"])
    return row, (enc_a, a)


def _explicit(fields: str) -> str:
    """The field list with every weight written out (our defaults included), for clkhash."""
    return ",".join(f"{f.column}:{f.kind}" + (f"/{f.per_value}" if f.per_value else f"*{f.weight}")
                    for f in parse_fields(fields))


def run_peer(name: str, n: int, fields: str = FIELDS) -> dict:
    paths = _files(n)
    python = BENCH / f".venv-{name}" / "bin" / "python"
    if not python.exists():
        return {"tool": name, "n": n, "error": "venv missing: run bash bench/setup_pprl_peers.sh"}
    out = WORK / f"n{n}" / f"{name}.json"
    row = {"tool": name, "n": n, "load_before": _load()}
    extra = ["--fields", _explicit(fields)] if name == "anonlink" else []
    if name == "anonlink":
        row["fields"] = extra[1]
    started = time.perf_counter()
    proc = subprocess.run([str(python), str(BENCH / "peers" / f"{name}_run.py"), str(paths["a"]),
                           str(paths["b"]), str(out), *extra], capture_output=True, text=True)
    wall = time.perf_counter() - started
    row["load_after"] = _load()
    if proc.returncode:
        row["error"] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
        return row
    got = json.loads(out.read_text())
    truth = pd.read_csv(paths["truth"], dtype=str)
    grid = np.round(np.arange(0.60, 1.0, 0.01), 2) if name == "anonlink" else \
        [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99]
    secs = {k: round(v, 1) for k, v in got["seconds"].items()}
    secs["total"] = round(sum(got["seconds"].values()), 1)
    row.update(seconds=secs, process_wall=round(wall, 1), candidates=got["candidates"],
               **_best_f1(got["links"], truth, grid))
    return row


def run_attack(n: int, reference_size: int = 50_000) -> list[dict]:
    ref = reference_people(reference_size, seed=SEED + 1)
    rows = []
    for hardening in HARDENINGS:
        fields_link = FIELDS
        names = NAME_FIELDS + (",dob:date*10" if hardening.startswith("salt") else "")
        row_link, (enc_full, clear) = run_ours(n, fields_link, hardening)
        row = {"hardening": hardening, "n": n, "f1": row_link["f1"],
               "precision": row_link["precision"], "recall": row_link["recall"],
               "load_before": _load()}
        started = time.perf_counter()
        full = attack(enc_full, ref, clear, fields=("first_name", "last_name"))
        enc_names = encode(clear, id_column="id_a", fields=parse_fields(names), key=KEY,
                           hardening=parse_hardening(hardening)).encoding
        only = attack(enc_names, ref, clear, fields=("first_name", "last_name"))
        row.update(
            attack_seconds=round(time.perf_counter() - started, 1),
            names_fields=names,
            names_first=round(only.fields[0].rate, 4), names_last=round(only.fields[1].rate, 4),
            names_both=round(only.all_fields_rate, 4),
            full_first=round(full.fields[0].rate, 4), full_last=round(full.fields[1].rate, 4),
            full_both=round(full.all_fields_rate, 4),
            guess_first=round(only.fields[0].baseline, 4), guess_last=round(only.fields[1].baseline, 4),
            guess_both=round(only.all_fields_baseline, 4), load_after=_load(),
        )
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="", help="comma-separated n (n x n records)")
    ap.add_argument("--peers", default="", help="anonlink,splink")
    ap.add_argument("--attack", type=int, default=0, help="attack rows on n x n files")
    ap.add_argument("--threshold", type=float, default=None,
                    help="link ours at this Dice threshold instead of the automatic one")
    ap.add_argument("--fields", default=FIELDS,
                    help="the field list with weights, given to ours and to clkhash alike")
    ap.add_argument("--block", default=None,
                    help="ours: blocking passes encoded separately (e.g. the BLOCK constant)")
    ap.add_argument("--out", default=str(BENCH / "results" / "pprl.jsonl"))
    args = ap.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        row, _ = run_ours(n, args.fields, given=args.threshold, block=args.block)
        print(json.dumps(row), flush=True)
        rows.append(row)
        for peer in [p for p in args.peers.split(",") if p]:
            prow = run_peer(peer, n, args.fields)
            print(json.dumps(prow), flush=True)
            rows.append(prow)
    if args.attack:
        rows += run_attack(args.attack)
    with out.open("a") as fh:
        for row in rows:
            fh.write(json.dumps(dict(row, python=sys.version.split()[0])) + "\n")


if __name__ == "__main__":
    main()
