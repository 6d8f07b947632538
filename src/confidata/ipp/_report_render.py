"""The benchmark report's HTML page and Markdown, rendered from the data `ipp.report` builds.

Kept apart from the building (`report.py`) so that what is shown is decided once, in the data,
and both renderings only lay it out: the page and the Markdown cannot disagree about a figure.
The page reuses the synthetic-data report's style sheet and Content-Security-Policy (no script,
no fetch), and its charts come from `confidata.report._lines` (log scales).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from confidata.report._html import _CSS, CSP, _e, _figure
from confidata.report._lines import lines
from confidata.report._markdown import _e as _md

__all__ = ["accuracy_text", "fmt", "render_html", "render_markdown"]


def fmt(value: Any) -> str:
    """A figure short enough for a table cell: 4 significant digits, 3 beyond a million."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if value == 0:
        return "0"
    if abs(value) >= 1e6 or abs(value) < 1e-3:
        return f"{value:.3g}"
    return f"{value:.4g}"


def accuracy_text(acc: dict | None) -> str:
    if not acc:
        return "–"
    return f"{acc.get('kind')} {fmt(acc.get('value'))}"


_fmt = fmt
_accuracy_text = accuracy_text

# -- HTML -----------------------------------------------------------------------------------

_UNITS = {
    "wall_s": ("wall time", "seconds"),
    "bytes": ("bytes sent", "bytes, all parties"),
    "rounds": ("rounds", "communication rounds"),
}


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in r) + "</tr>" for r in rows)
    return f"<div class=wide><table{f' class={cls}' if cls else ''}><tr>{head}</tr>{body}</table></div>"


def _td(value: Any, num: bool = False) -> str:
    return f"<td class=num>{_e(_fmt(value))}</td>" if num else f"<td>{_e(value)}</td>"


def _cell_rows(cells: Sequence[dict]) -> list[list[str]]:
    rows = []
    for c in cells:
        mark = "<strong>extrapolated</strong>" if c["extrapolated"] else "measured"
        interval = c.get("wall_s_interval")
        wall = _fmt(c.get("wall_s"))
        if c["extrapolated"] and interval and interval[0] is not None:
            wall += f" ({_fmt(interval[0])}–{_fmt(interval[1])})"
        ids = c.get("run_ids") or []
        rows.append(
            [
                _td(c["technique"]),
                _td(c["records"], True),
                _td(c["parties"], True),
                _td(c["latency_ms"], True),
                _td(c["protection"]),
                f"<td class=num>{_e(wall)}</td>",
                _td(c.get("bytes"), True),
                _td(c.get("rounds"), True),
                _td(c.get("cpu_s"), True),
                _td(c.get("peak_rss_mb"), True),
                _td(c.get("load"), True),
                _td(_accuracy_text(c.get("accuracy")) if not c["extrapolated"] else "–"),
                f"<td>{mark}{'<br><small>' + _e(c.get('note')) + '</small>' if c.get('note') else ''}</td>",
                f"<td><small>{_e(', '.join(ids[:4]))}{' …' if len(ids) > 4 else ''}</small></td>",
            ]
        )
    return rows


_CELL_HEADER = (
    "technique",
    "records / party",
    "parties",
    "latency ms",
    "protection",
    "wall s",
    "bytes sent",
    "rounds",
    "CPU s",
    "peak MB",
    "load",
    "accuracy",
    "cell",
    "run ids",
)


def _scenario_html(i: int, s: dict) -> str:
    out = [f'<section id="scenario-{_e(s["name"])}"><h2>{_e(s["name"])}</h2><p>{_e(s["meaning"])}</p>']
    for metric in ("wall_s", "bytes", "rounds"):
        title, unit = _UNITS[metric]
        series = s["plots"][f"{metric}_vs_records"]
        svg = (
            lines(
                series,
                label=f"{title} against records, {s['name']}",
                x_label="records per party",
                y_label=unit,
            )
            if series
            else None
        )
        out.append(
            _figure(
                f"fig-{i}-{metric}",
                f"<strong>{title}</strong> against records per party, "
                "at the lowest latency measured, no output protection. Filled points are "
                "measured (mean of the runs); hollow points with a bar are extrapolated from "
                "the scaling law, with its 90% interval.",
                svg,
                "no run finished",
            )
        )
    lat = s["plots"]["wall_s_vs_latency"]
    svg = (
        lines(
            lat["series"],
            label=f"wall time against latency, {s['name']}",
            x_label="added latency (ms)",
            y_label="seconds",
            log_x=False,
        )
        if lat["series"]
        else None
    )
    out.append(
        _figure(
            f"fig-{i}-latency",
            "<strong>wall time</strong> against added latency"
            + (f" at {_e(_fmt(lat['records']))} records per party" if lat["records"] is not None else "")
            + ": the slope is the rounds' cost.",
            svg,
            "latency was not varied for this scenario",
        )
    )
    acc = s["plots"]["accuracy_vs_cost"]
    svg = (
        lines(
            acc,
            label=f"accuracy against cost, {s['name']}",
            x_label="wall time (s)",
            y_label="accuracy figure",
            log_y=False,
            connect=False,
        )
        if acc
        else None
    )
    out.append(
        _figure(
            f"fig-{i}-accuracy",
            "<strong>accuracy against cost</strong>: each measured cell's "
            "accuracy figure (0 = exact for kind 'exact'; an F1 for linkage; the DP error for "
            "noised outputs) against its wall time.",
            svg,
            "no accuracy measured",
        )
    )
    out.append("<h3>Cells</h3>")
    if s["cells"] or s["extrapolated"]:
        out.append(_table(_CELL_HEADER, _cell_rows(s["cells"] + s["extrapolated"])))
    else:
        out.append(
            '<p>No run of this scenario finished: see <a href="#problems">the failed and refused '
            "runs</a> for the reasons.</p>"
        )
    out.append("<h3>Scaling laws</h3>")
    rows = []
    for law in s["laws"]:
        if law.get("formula") is None:
            rows.append(
                [
                    _td(law["technique"]),
                    _td(law["protection"]),
                    _td(law["metric"]),
                    f"<td colspan=5>{_e(law['problem'])}</td>",
                ]
            )
            continue
        loo = f"×{law['loo_factor']:.2f}" if law["loo_factor"] is not None else "not checkable"
        lat = f"{law['latency_c']:.2f}" if law.get("latency_c") is not None else "–"
        rows.append(
            [
                _td(law["technique"]),
                _td(law["protection"]),
                _td(law["metric"]),
                f"<td><code>{_e(law['formula'])}</code></td>",
                _td(loo),
                _td(f"{law['records'][0]:,}–{law['records'][1]:,}"),
                _td(law["points"], True),
                _td(lat),
            ]
        )
    if not rows:
        out.append("<p>No law: a law needs finished runs at two sizes or more.</p>")
    out.append(
        ""
        if not rows
        else _table(
            (
                "technique",
                "protection",
                "metric",
                "law",
                "leave-one-out error",
                "records fitted",
                "runs",
                "latency c",
            ),
            rows,
        )
    )
    out.append("</section>")
    return "".join(out)


_EXTRA_CSS = ".terms dt{font-weight:600}.wide{overflow-x:auto}.wide table{font-size:.82em}"


def render_html(data: dict[str, Any]) -> str:
    """The page: summary and provenance, one section per scenario, techniques, problems, trust."""
    summary = data["summary"]
    counts = ", ".join(f"{summary[s]} {s}" for s in ("ok", "failed", "refused", "timeout") if summary[s])
    machines = "; ".join(
        f"{m.get('cpu')} ({m.get('cores')} cores, {m.get('ram_gib')} GiB)" for m in data["machines"]
    )
    load = data["load"]
    head = [
        f"<header class=banner id=summary><h1 style='font-size:1.8em'>{_e(data['title'])}</h1>"
        f"<p>{summary['runs']} runs ({_e(counts)}) of {summary['techniques']} techniques in "
        f"{summary['scenarios']} scenario{'s' if summary['scenarios'] != 1 else ''}, from "
        f"<code>{_e(data['source'])}</code>.</p>"
        f"<p>Machine: {_e(machines)}. Commit: <code>{_e(', '.join(data['commits']))}</code>. "
        f"1-minute load average {_e(_fmt(load['min']))}–{_e(_fmt(load['max']))} during the runs (other "
        f"programs shared the machine: a time is an upper bound). Latency added via "
        f"{_e(', '.join(data['latency_via']))}. Runs from {_e(data['started']['first'])} to "
        f"{_e(data['started']['last'])}.</p></header>",
        "<nav><p>"
        + " · ".join(f'<a href="#scenario-{_e(s["name"])}">{_e(s["name"])}</a>' for s in data["scenarios"])
        + ' · <a href="#techniques">techniques</a>'
        + ' · <a href="#problems">failed and refused runs</a></p></nav>',
    ]
    body = [_scenario_html(i, s) for i, s in enumerate(data["scenarios"], start=1)]
    trows = []
    for t in data["techniques"]:
        needs = (
            ", ".join(n.replace("_", " ") for n in t["trust_needs"])
            if t["trust_needs"] is not None
            else "not declared"
        )
        leak = "".join(f"<li>{_e(x)}</li>" for x in t["leakage"]) or "<li>none declared</li>"
        trows.append(
            [
                _td(t["technique"]),
                _td(t["family"]),
                _td(", ".join(t["scenarios"])),
                _td(needs),
                _td("; ".join(t["trust"]) or "–"),
                f"<td><ul>{leak}</ul></td>",
                _td(f"{t['ok']} of {t['runs']}"),
            ]
        )
    body.append(
        '<section id="techniques"><h2>Techniques: trust and leakage</h2>'
        + _table(
            (
                "technique",
                "family",
                "scenarios",
                "assumes",
                "trust (as run)",
                "what each party learns",
                "runs ok",
            ),
            trows,
        )
        + "</section>"
    )
    prows = [
        [
            _td(p["run_id"]),
            _td(p["scenario"]),
            _td(p["technique"]),
            _td(p["records"], True),
            _td(p["parties"], True),
            _td(p["latency_ms"], True),
            _td(p["protection"]),
            f"<td><strong>{_e(p['status'])}</strong></td>",
            _td(p["reason"]),
        ]
        for p in data["problems"]
    ]
    body.append(
        '<section id="problems"><h2>Failed, refused and timed-out runs</h2>'
        + (
            _table(
                (
                    "run id",
                    "scenario",
                    "technique",
                    "records",
                    "parties",
                    "latency ms",
                    "protection",
                    "status",
                    "reason",
                ),
                prows,
            )
            if prows
            else "<p>None: every run finished.</p>"
        )
        + "</section>"
    )
    terms = "".join(
        f"<dt>{_e(k.replace('_', ' '))}</dt><dd>{_e(v)}</dd>" for k, v in data["trust_terms"].items()
    )
    body.append(
        f'<section id="trust"><h2>Trust words</h2><dl class=terms>{terms}</dl>'
        f"<p>{_e(data['extrapolation']['rule'])} (max_factor "
        f"{_e(_fmt(data['extrapolation']['max_factor']))}).</p></section>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="confidata ipp report">'
        f"<title>{_e(data['title'])}</title><style>{_CSS}{_EXTRA_CSS}</style></head>"
        "<body><main>"
        + "".join(head)
        + "".join(body)
        + f"<footer>Made by confidata {_e(data['confidata'])} (ipp report).</footer></main></body></html>\n"
    )


# -- Markdown --------------------------------------------------------------------------------


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines_ = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines_ += ["| " + " | ".join(_md(v) for v in r) + " |" for r in rows]
    return lines_ + [""]


def render_markdown(data: dict[str, Any]) -> str:
    """The same content as tables (for bench/RESULTS_IPP.md, wikis and review notes)."""
    summary = data["summary"]
    load = data["load"]
    machines = "; ".join(
        f"{m.get('cpu')} ({m.get('cores')} cores, {m.get('ram_gib')} GiB)" for m in data["machines"]
    )
    out = [
        f"# {_md(data['title'])}",
        "",
        f"{summary['runs']} runs ({summary['ok']} ok, {summary['failed']} failed, "
        f"{summary['refused']} refused, "
        f"{summary['timeout']} timed out) from `{data['source']}`. Machine: {_md(machines)}. "
        f"Commit: {_md(', '.join(data['commits']))}. Load average {_fmt(load['min'])}-{_fmt(load['max'])} "
        "(others shared the machine: times are upper bounds). Latency via "
        f"{_md(', '.join(data['latency_via']))}.",
        "",
    ]
    for s in data["scenarios"]:
        out += [f"## {_md(s['name'])}", "", _md(s["meaning"]), ""]
        rows = []
        for c in s["cells"] + s["extrapolated"]:
            wall = _fmt(c.get("wall_s"))
            interval = c.get("wall_s_interval")
            if c["extrapolated"] and interval and interval[0] is not None:
                wall += f" ({_fmt(interval[0])}-{_fmt(interval[1])})"
            rows.append(
                [
                    c["technique"],
                    f"{c['records']:,}",
                    c["parties"],
                    _fmt(c["latency_ms"]),
                    c["protection"],
                    wall,
                    _fmt(c.get("bytes")),
                    _fmt(c.get("rounds")),
                    _fmt(c.get("cpu_s")),
                    _fmt(c.get("peak_rss_mb")),
                    _fmt(c.get("load")),
                    "–" if c["extrapolated"] else _accuracy_text(c.get("accuracy")),
                    "extrapolated" if c["extrapolated"] else "measured",
                    ", ".join((c.get("run_ids") or [])[:3])
                    + (" …" if len(c.get("run_ids") or []) > 3 else ""),
                ]
            )
        if rows:
            out += _md_table(_CELL_HEADER, rows)
        else:
            out += ["No run of this scenario finished (the reasons are listed below).", ""]
        law_rows = [
            [
                law["technique"],
                law["protection"],
                law["metric"],
                law.get("formula") or law.get("problem"),
                "–" if law.get("loo_factor") is None else f"x{law['loo_factor']:.2f}",
                "–" if law.get("records") is None else f"{law['records'][0]:,}-{law['records'][1]:,}",
            ]
            for law in s["laws"]
        ]
        if law_rows:
            out += ["Scaling laws:", ""]
            out += _md_table(
                ("technique", "protection", "metric", "law", "leave-one-out error", "records"), law_rows
            )
    out += ["## Techniques: trust and leakage", ""]
    out += _md_table(
        ("technique", "family", "assumes", "what each party learns"),
        [
            [
                t["technique"],
                t["family"],
                ", ".join(t["trust_needs"]) if t["trust_needs"] is not None else "not declared",
                "; ".join(t["leakage"]) or "none declared",
            ]
            for t in data["techniques"]
        ],
    )
    out += ["## Failed, refused and timed-out runs", ""]
    if data["problems"]:
        out += _md_table(
            ("run id", "scenario", "technique", "records", "status", "reason"),
            [
                [p["run_id"], p["scenario"], p["technique"], f"{p['records']:,}", p["status"], p["reason"]]
                for p in data["problems"]
            ],
        )
    else:
        out += ["None: every run finished.", ""]
    out += [f"Extrapolation: {_md(data['extrapolation']['rule'])}.", ""]
    return "\n".join(out)
