"""The evaluation as Markdown, for review notes, pull requests and wikis that do not take HTML.

Same order and the same (possibly suppressed) figures as the HTML page; plots become the small
tables they are drawn from. Every string is escaped, because Markdown viewers render raw HTML.
"""

from __future__ import annotations

import json
import re
from typing import Any

from confidata.report._data import percent, privacy_meaning

__all__ = ["render_markdown"]

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*[]|"})
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY_START = re.compile(r"&(?=[#A-Za-z])")


def _e(value: Any) -> str:
    """Text safe in Markdown: no HTML tag or entity can form, table pipes and emphasis are literal.

    Only a '<' that could open a tag and an '&' that could open an entity are replaced, so that
    rules such as 'S_pMSE <= 3' stay readable in the raw file.
    """
    text = "" if value is None else str(value)
    text = _TAG_START.sub("&lt;", _ENTITY_START.sub("&amp;", text))
    text = text.translate(_MD_SPECIAL).replace("\n", " ").replace("\r", " ")
    return "\\" + text if text[:1] in ("#", ">", "+", "-", "=") else text  # no heading, quote or list


def _num(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _e(value)
    if isinstance(value, int):
        return str(value)
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4g}"


def _detail(value: Any) -> str:
    if isinstance(value, str | int | float) or value is None:
        return _num(value)
    return _e(json.dumps(value, ensure_ascii=False))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines + [""]


def render_markdown(data: dict) -> str:
    out: list[str] = []
    verdict = str(data.get("verdict") or "none")
    out += [
        f"# {_e(data.get('title') or 'Synthetic data evaluation')}",
        "",
        f"## Verdict: **{_e(verdict.upper())}**",
        "",
        _e(data.get("verdict_reason")),
        "",
    ]
    use_case = data.get("use_case") or {}
    if use_case:
        out += [
            f"Use case: **{_e(use_case.get('title') or use_case.get('name'))}** — "
            f"{_e(use_case.get('purpose'))}",
            "",
        ]
    report = data.get("report") or {}
    statement = (report.get("suppression") or {}).get("statement", "")
    if report.get("audience") == "public":
        out += [
            f"> **Public version.** Small cells and extremes were suppressed (minimum count "
            f"{_e(report.get('min_count'))}). {_e(statement)}",
            "",
        ]
    else:
        out += [f"> **Internal version.** {_e(statement)}", ""]

    files = data.get("files") or {}
    rows = []
    for role in ("real", "synthetic", "holdout"):
        f = files.get(role)
        if isinstance(f, dict):
            rows.append(
                [
                    role,
                    _e(f.get("name")),
                    _num(f.get("rows")),
                    _num(f.get("columns")),
                    f"`{_e(f.get('sha256'))}`",
                ]
            )
        else:
            rows.append([role, "none", "", "", ""])
    out += ["## Files", ""] + _table(["role", "file", "rows", "columns", "SHA-256"], rows)
    notes = [f"- {role}: {_e(f['note'])}" for role, f in files.items()
             if isinstance(f, dict) and f.get("note")]
    if notes:
        out += ["", *notes]

    measures = data.get("measures") or []
    computed = sum(1 for m in measures if m.get("value") is not None or m.get("observed") is not None)
    out += ["## Measures", "", f"{computed} of {len(measures)} measures computed.", ""]
    rows = []
    for m in measures:
        ci = m.get("ci")
        ci_text = f"[{_num(ci[0])}, {_num(ci[1])}]" if isinstance(ci, list) and len(ci) == 2 else "–"
        rows.append(
            [
                _e(m.get("name")),
                _e(m.get("verdict")),
                f"{_e(m.get('statistic'))} = {_num(m.get('observed'))}",
                _num(m.get("value")),
                _num(m.get("reference"))
                + (f" ({_e(m.get('reference_kind'))})" if m.get("reference_kind") else ""),
                ci_text,
            ]
        )
    out += _table(["measure", "verdict", "judged figure", "value", "reference", "95% CI"], rows)
    for m in measures:
        out += [f"### {_e(m.get('name'))} — {_e(str(m.get('verdict')).upper())}", ""]
        error = m.get("error") or (m.get("details") or {}).get("error")
        if error:
            out += [f"- **Error:** {_e(error)}"]
        out += [
            f"- Family: {_e(m.get('family'))}; {_e(m.get('direction'))}",
            f"- Rule: {_e(m.get('rule'))}",
            f"- Why: {_e(m.get('reason'))} (source: {_e(m.get('source'))})",
            f"- What it means: {_e(m.get('interpretation'))}",
            f"- Rows used: {_num(m.get('n'))}",
            f"- Citation: {_e(m.get('citation'))}",
        ]
        details = m.get("details")
        if isinstance(details, dict):
            shown = {k: v for k, v in details.items() if k != "error"}
            if shown:
                out += ["- Details: " + "; ".join(f"{_e(k)} = {_detail(v)}" for k, v in shown.items())]
        out += [""]

    plots = data.get("plots") or {}
    out += [
        "## Plots",
        "",
        "The HTML report draws these; here are the figures they are drawn from.",
        "",
        "### Marginal distributions",
        "",
    ]
    marginals = plots.get("marginals") or []
    if not marginals:
        out += ["Not computed.", ""]
    for m in marginals:
        out += [f"**{_e(m.get('column'))}**", ""]
        out += _table(
            ["bin", "real", "synthetic"],
            [
                [_e(b.get("label")), _num(b.get("real")), _num(b.get("synthetic"))]
                for b in m.get("bins") or []
            ],
        )
    out += ["### Two-way differences (TVD)", ""]
    pairs = plots.get("pairs")
    if isinstance(pairs, dict) and pairs.get("columns"):
        cols = [str(c) for c in pairs["columns"]]
        found = []
        for i, row in enumerate(pairs.get("tvd") or []):
            for j, v in enumerate(row):
                if j > i and v is not None and i < len(cols) and j < len(cols):
                    found.append((v, cols[i], cols[j]))
        found.sort(reverse=True)
        out += ["Largest differences:", ""] + _table(
            ["pair", "TVD"], [[f"{_e(a)} × {_e(b)}", _num(v)] for v, a, b in found[:10]]
        )
    else:
        out += ["Not computed.", ""]
    for key, title, series in (
        ("propensity", "Propensity scores", ("real", "synthetic")),
        ("dcr", "Distance to closest record", ("synthetic", "holdout")),
    ):
        out += [f"### {title}", ""]
        hist = plots.get(key)
        if not isinstance(hist, dict):
            out += ["Not computed.", ""]
            continue
        edges = hist.get("edges") or []
        rows = [
            [f"{_num(edges[i])} to {_num(edges[i + 1])}"]
            + [
                _num((hist.get(s) or [None] * len(edges))[i]) if i < len(hist.get(s) or []) else "–"
                for s in series
            ]
            for i in range(max(len(edges) - 1, 0))
        ]
        out += _table(["bin", *series], rows)
    out += ["### Confidence-interval overlap", ""]
    ci_rows = plots.get("ci_overlap")
    if ci_rows:
        out += _table(
            ["term", "real [95% CI]", "synthetic [95% CI]", "overlap"],
            [
                [
                    _e(r.get("term")),
                    f"{_num(r.get('real'))} [{_num(r.get('real_lo'))}, {_num(r.get('real_hi'))}]",
                    f"{_num(r.get('synthetic'))} "
                    f"[{_num(r.get('synthetic_lo'))}, {_num(r.get('synthetic_hi'))}]",
                    _num(r.get("overlap")),
                ]
                for r in ci_rows
            ],
        )
    else:
        out += ["Not computed.", ""]
    out += ["### Risk and utility", ""]
    ru = plots.get("risk_utility")
    if ru:
        out += _table(
            ["file or method", "risk", "utility"],
            [[_e(p.get("label")), _num(p.get("risk")), _num(p.get("utility"))] for p in ru],
        )
    else:
        out += ["Not computed.", ""]

    notes = data.get("notes_for_users") or {}
    out += ["## Notes for users of this synthetic file", "", "You may:", ""]
    out += [f"- {_e(x)}" for x in notes.get("may") or []] or ["- none stated"]
    out += ["", "You may not:", ""]
    out += [f"- {_e(x)}" for x in notes.get("may_not") or []] or ["- none stated"]
    out += [""]

    prov = data.get("provenance") or {}
    privacy = prov.get("privacy")
    if isinstance(privacy, dict):
        out += ["## Privacy budget", "",
                f"Guarantee: **{_e(privacy.get('guarantee', ''))}**; spent {_num(privacy.get('spent'))} of "
                f"{_num(privacy.get('total'))} {_e(privacy.get('unit', ''))}.", "",
                _e(privacy_meaning(privacy)), ""]
        out += _table(
            ["purpose", "mechanisms", f"cost ({_e(privacy.get('unit', ''))})", "share"],
            [[_e(r.get("purpose")), _e(r.get("mechanisms")), _num(r.get("cost")),
              percent(r.get("share")) or _num(r.get("share"))] for r in privacy.get("by_purpose") or []],
        )
        if privacy.get("noise"):
            out += [f"Noise: {_e(privacy['noise'])}.", ""]
    out += ["## Provenance", ""]
    out += _table(
        ["item", "value"],
        [
            [k, _num(prov.get(k))]
            for k in ("confidata", "python", "command", "seed", "created", "epsilon", "delta")
        ],
    )
    deps = prov.get("dependencies") or {}
    if deps:
        out += _table(["package", "version"], [[_e(k), _e(v)] for k, v in sorted(deps.items())])
    return "\n".join(out).rstrip() + "\n"
