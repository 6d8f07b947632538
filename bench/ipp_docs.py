"""Write docs/ipp-techniques.md, "Which technique for which case", from committed benchmark runs.

    .venv/bin/python bench/ipp_docs.py [--results bench/results_ipp/results.jsonl] [--measured-at]

The chapter is a function of the runs and the catalogue only (`confidata.ipp.chapter`) and names
how many runs of the file it used, so rerunning this after a new benchmark run is the whole
update; a test checks that the committed page equals what those runs of the committed file give.
With --measured-at, every benchmarked case of src/confidata/ipp/cases.yaml gets (or has replaced)
its `measured_at` link: the results file, the case's benchmark scenario and the techniques that
finished a run there (baselines left out). Only those lines of the YAML change.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from confidata.ipp.catalogue import load_catalogue
from confidata.ipp.chapter import DOCS_PAGE, chapter
from confidata.ipp.recommend import BASELINES
from confidata.ipp.runs import read_runs

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "src" / "confidata" / "ipp" / "cases.yaml"


def measured_at(lines: list[str], runs, results: str) -> list[str]:
    """The YAML lines with each benchmarked case's measured_at block written after its scenario."""
    out: list[str] = []
    skipping = False
    for line in lines:
        if skipping:
            if line.startswith("      "):
                continue  # a line of the old measured_at block
            skipping = False
        if line == "    measured_at:":
            skipping = True
            continue
        out.append(line)
        if line.startswith("    benchmark_scenario: "):
            scenario = line.split(": ", 1)[1].strip()
            done = sorted({r.technique for r in runs if r.scenario == scenario and r.status == "ok"
                           and r.technique not in BASELINES})
            if done:
                out += ["    measured_at:", f"      results: {results}", f"      scenario: {scenario}",
                        f"      techniques: [{', '.join(done)}]"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="bench/results_ipp/results.jsonl",
                        help="results file, relative to the repository root (as the page cites it)")
    parser.add_argument("--measured-at", action="store_true",
                        help="also write the benchmarked cases' measured_at links into cases.yaml")
    args = parser.parse_args()
    runs = read_runs(ROOT / args.results)
    if args.measured_at:
        text = CASES.read_text(encoding="utf-8")
        CASES.write_text("\n".join(measured_at(text.split("\n"), runs, args.results)), encoding="utf-8")
        load_catalogue()  # fails, naming the case and field, if the links broke the catalogue
        print(f"updated measured_at in {CASES.relative_to(ROOT)}")
    (ROOT / DOCS_PAGE).write_text(chapter(runs, args.results), encoding="utf-8")
    print(f"wrote {DOCS_PAGE}: {len(runs)} runs from {args.results}")


if __name__ == "__main__":
    main()
