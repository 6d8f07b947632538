"""Write docs/ipp-techniques.md, "Which technique for which case", from committed benchmark runs.

    .venv/bin/python bench/ipp_docs.py [--results bench/results_ipp/results.jsonl]

The chapter is a function of the runs and the catalogue only (`confidata.ipp.chapter`) and names
how many runs of the file it used, so rerunning this after a new benchmark run is the whole
update; a test checks that the committed page equals what those runs of the committed file give.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from confidata.ipp.chapter import DOCS_PAGE, chapter
from confidata.ipp.runs import read_runs

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="bench/results_ipp/results.jsonl",
                        help="results file, relative to the repository root (as the page cites it)")
    args = parser.parse_args()
    runs = read_runs(ROOT / args.results)
    text = chapter(runs, args.results)
    (ROOT / DOCS_PAGE).write_text(text, encoding="utf-8")
    print(f"wrote {DOCS_PAGE}: {len(runs)} runs from {args.results}")


if __name__ == "__main__":
    main()
