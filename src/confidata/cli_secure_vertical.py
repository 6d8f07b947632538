"""The vertical case on the command line: one party's report, and the local demo
(``confidata secure demo --scenario vertical``), kept apart from `cli_secure` so that module stays
a thin list of commands."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from confidata._cli_common import err, out
from confidata.errors import ConfidataError

__all__ = ["print_vertical_report", "vertical_demo"]


def _grid(title: str, labels: list[tuple[str, ...]], values: list, notes: list[str]) -> Table:
    rows = list(dict.fromkeys(lab[0] for lab in labels))
    cols = list(dict.fromkeys(lab[1] for lab in labels))
    grid = Table(header_style="bold", title=title)
    grid.add_column("")
    for c in cols:
        grid.add_column(escape(c), justify="right")
    for i, r in enumerate(rows):
        cells = []
        for j in range(len(cols)):
            k = i * len(cols) + j
            v = values[k]
            cells.append(notes[k] if v is None else f"{v:,}" if isinstance(v, int) else f"{v:,.6g}")
        grid.add_row(escape(r), *cells)
    return grid


def _note(result, k: int) -> str:
    if result.suppressed[k]:
        return "supp."
    if result.undefined[k]:
        return "undef."
    return "-"


def print_vertical_report(report, *, echo=out) -> None:
    result = report.result
    if result is not None:
        notes = [_note(result, k) for k in range(len(result.values))]
        echo.print(
            _grid(
                f"{result.study}: {result.statistic} of {' x '.join(result.by)}",
                result.labels,
                result.values,
                notes,
            )
        )
        flagged = sum(result.flagged)
        if flagged:
            echo.print(f"{flagged} cell(s) flagged as small (shown, below the minimum cell size).")
        for note in result.notes:
            echo.print(escape(note))
    elif report.role == "helper":
        echo.print(f"Party {escape(report.party)} is the helper: it matched pseudonyms and holds no result.")
    else:
        names = ", ".join(f"'{n}'" for n in report.result_parties)
        echo.print(
            f"Party {escape(report.party)} is not a result party: the table went to {escape(names)} only."
        )
    for note in report.local_notes:
        echo.print(escape(note))
    echo.print(f"Units in the join (every party learns this number): {report.join_size:,}")
    echo.print(
        f"Party {escape(report.party)}: {report.seconds_join:.3f} s join and product, {report.seconds_secure:.3f} s "
        f"from all connected to result; {report.seconds_total:.3f} s for the whole process."
    )
    echo.print(
        "Sent (framing included, before TLS): "
        + ", ".join(
            f"{escape(n)} {b:,} bytes in {report.messages_sent[n]:,} messages, {report.rounds[n]} rounds"
            for n, b in report.bytes_sent.items()
        )
    )


def vertical_demo(records: int, overlap: float, seed: int, tls: bool, cell: str, parties: int = 3) -> None:
    """Generate two holders' files, run the three parties as processes, compare with pandas."""
    import pandas as pd

    from confidata.secure.plain import plain_result
    from confidata.secure.runner import wait_parties
    from confidata.secure.scaling import plan_for
    from confidata.secure.vertical import plain_vertical
    from confidata.secure.vertical_demo import demo_vertical_data, demo_vertical_study, start_vertical_parties

    if parties != 3:
        raise ConfidataError(
            "--parties must be 3 for the vertical scenario: two holders and a helper (honest majority)."
        )
    if cell not in ("count", "total", "mean"):
        raise ConfidataError("--statistic must be count, total or mean for the vertical scenario.")
    if records < 1 or not 0 <= overlap <= 1:
        raise ConfidataError("--records must be 1 or more and --overlap between 0 and 1.")
    with tempfile.TemporaryDirectory(prefix="confidata-vertical-demo-") as tmp:
        folder = Path(tmp)
        timeout = 60.0 + records * 0.0002
        st = demo_vertical_study(folder, cell=cell, tls=tls, timeout=timeout)
        frames = demo_vertical_data(records, seed, overlap)
        paths = {}
        for n, frame in frames.items():
            paths[n] = folder / f"{n}.csv"
            frame.to_csv(paths[n], index=False)
        out.print(
            f"vertical table ({cell} of region x income band): nso {len(frames['nso']):,} units (region), "
            f"register {records:,} units (band, income), {round(records * overlap):,} in common; helper with "
            f"no data; TLS {'on' if tls else 'off'}; study digest {st.digest[:12]}"
        )
        started = time.perf_counter()
        procs = wait_parties(
            start_vertical_parties(folder / "study.toml", st, paths, folder), st.connect_timeout + 6 * timeout
        )
        failed = [p for p in procs if p.code != 0]
        for p in failed:
            err.print(f"[red]{escape(p.name)} exited {p.code}:[/] {escape(p.stderr.strip()[-600:])}")
        if failed:
            raise typer.Exit(1)
        rep = procs[0].report()
        plan = plan_for(st)
        plain = plain_result(
            st, plain_vertical(st, {n: pd.read_csv(p, dtype=str) for n, p in paths.items()}, plan), plan
        )
        secure = [c["value"] for c in rep["result"]["cells"]]
        notes = [
            "supp." if c["suppressed"] else "undef." if c["undefined"] else "-"
            for c in rep["result"]["cells"]
        ]
        out.print(_grid("secure (nso's output)", plain.labels, secure, notes))
        plain_notes = [
            "supp." if s else "undef." if u else "-"
            for s, u in zip(plain.suppressed, plain.undefined, strict=True)
        ]
        out.print(
            _grid(
                "plain (pandas merge + crosstab, with the same protection)",
                plain.labels,
                plain.values,
                plain_notes,
            )
        )
        bound = plan.mean_bound if cell == "mean" else 0.0
        same = notes == plain_notes and all(
            (s is None) == (p is None) and (s is None or abs(s - p) <= bound)
            for s, p in zip(secure, plain.values, strict=True)
        )
        out.print(
            ("[green]Equal[/]" if same else "[red]Different[/]")
            + f" to the plain computation (bound {bound:.3g})."
        )
        usage = Table(header_style="bold", title="per party")
        for col in ("party", "process seconds", "join seconds", "bytes sent", "messages", "rounds"):
            usage.add_column(col, justify="left" if col == "party" else "right")
        for p in procs:
            joined = (p.report() or {}).get("seconds_join")
            usage.add_row(
                p.name,
                f"{p.seconds:.2f}",
                "" if joined is None else f"{joined:.2f}",
                f"{rep['bytes_sent'][p.name]:,}",
                f"{rep['messages_sent'][p.name]:,}",
                str(rep["rounds"][p.name]),
            )
        out.print(usage)
        out.print(
            f"Units in the join: {rep['join_size']:,}. Wall time for all 3 processes: {time.perf_counter() - started:.2f} s."
        )
        if not same:
            raise typer.Exit(1)
