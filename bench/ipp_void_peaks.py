"""Void the peak-memory figures that the ipp bench runner measured wrongly before commit 0c26842.

    .venv/bin/python bench/ipp_void_peaks.py bench/results_ipp/results.jsonl bench/results_ipp/quick.jsonl

Before 0c26842 a party's ``peak_rss_mb`` was ``wait4``'s ``ru_maxrss``, into which Linux carries
the high-water mark of the memory the child was forked from: the runner's own (350-440 MB with
the data frames), so every party smaller than the runner read as large as the runner. Those
figures are not the parties' and are set to null (not measured), with a note in the record's
``peak_rss_note``; every other figure of those runs (times, CPU seconds, bytes, rounds, accuracy)
is unaffected and kept. Runs of 0c26842 and later are left as they are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from confidata.ipp.runs import validate_record

FIXED_IN = "0c26842"
# the commits the runner ran at before the fix, in this session's files
BEFORE = ("af16d02", "5c4ef3d", "ae5270f")
NOTE = ("peak memory not measured: the runner of this commit read wait4's ru_maxrss, which carried the "
        f"runner's own peak from the fork (fixed in {FIXED_IN}); voided by bench/ipp_void_peaks.py")


def void(path: Path) -> int:
    lines, changed = [], 0
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["commit"][:7] in BEFORE and any(p["peak_rss_mb"] is not None for p in record["per_party"]):
            for party in record["per_party"]:
                party["peak_rss_mb"] = None
            record["peak_rss_note"] = NOTE
            changed += 1
        assert not validate_record(record)
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    path.write_text("\n".join(lines) + "\n")
    return changed


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {void(Path(name))} runs' peak memory voided")
