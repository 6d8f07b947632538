"""The evaluation as one self-contained HTML page: verdict, measures, plots, notes, provenance.

One file with inline CSS and inline SVG and no script, so that a disclosure review board can
open it offline, archive it, and mail it without a folder of assets. A Content-Security-Policy
forbids every fetch and every script: even a string that escaped escaping could not run.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from confidata.report import _svg
from confidata.report._data import percent, privacy_meaning

__all__ = ["FIGURE_IDS", "render_html"]

# the fixed figures; marginals add one figure per column, "fig-marginal-1", "fig-marginal-2", ...
FIGURE_IDS = ("fig-marginals", "fig-pairs", "fig-propensity", "fig-ci-overlap", "fig-dcr", "fig-risk-utility")

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_VERDICT_COLOURS = {"pass": "#1b7a3a", "warn": "#b36b00", "fail": "#b3261e", "info": "#55606e",
                    "error": "#6a1b9a", "not judged": "#6a1b9a"}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232b;
 background:#fafbfc;line-height:1.45}
main{max-width:980px;margin:0 auto;padding:24px}
h1{margin:.2em 0;font-size:2.6em;letter-spacing:.04em}
h2{border-bottom:2px solid #d8dde3;padding-bottom:4px;margin-top:2em}
.verdict{color:#fff;border-radius:10px;padding:20px 26px}
.verdict p{margin:.3em 0;font-size:1.1em}
.kicker{text-transform:uppercase;font-size:.85em!important;opacity:.85}
.badge{display:inline-block;color:#fff;border-radius:4px;padding:1px 8px;font-weight:600;
 font-size:.85em;text-transform:uppercase}
.banner{border-left:5px solid #55606e;background:#eef1f4;padding:10px 14px;margin:16px 0}
.banner.public{border-color:#1b7a3a;background:#eaf5ee}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:.92em}
th,td{border-bottom:1px solid #e1e5ea;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.measure{background:#fff;border:1px solid #e1e5ea;border-radius:8px;padding:12px 16px;margin:14px 0}
.measure h3{margin:0 0 6px 0}
.measure dl{display:grid;grid-template-columns:11em 1fr;gap:4px 12px;margin:0}
.measure dt{color:#55606e}
.measure dd{margin:0}
figure{background:#fff;border:1px solid #e1e5ea;border-radius:8px;padding:12px;margin:16px 0;overflow-x:auto}
figcaption{color:#3a434e;font-size:.92em;margin-top:6px}
figure.missing{background:#f6f6f6;color:#55606e}
svg{max-width:100%;height:auto}
.may li::marker{content:"✓  ";color:#1b7a3a}
.maynot li::marker{content:"✗  ";color:#b3261e}
footer{color:#55606e;font-size:.85em;margin-top:3em}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _num(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _e(value)
    if isinstance(value, int):
        return f"{value:,}"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4g}"


def _detail(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _num(value)
    return _e(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def _badge(verdict: Any) -> str:
    colour = _VERDICT_COLOURS.get(str(verdict), "#55606e")
    return f'<span class="badge" style="background:{colour}">{_e(verdict or "none")}</span>'


def _ci(ci: Any) -> str:
    if isinstance(ci, list) and len(ci) == 2:
        return f"[{_num(ci[0])}, {_num(ci[1])}]"
    return "–"


def _figure(fig_id: str, caption: str, body: str | None, missing: str = "") -> str:
    if body is None:
        return (
            f'<figure id="{fig_id}" class="missing"><p>Not computed{": " + _e(missing) if missing else ""}.'
            f"</p><figcaption>{caption}</figcaption></figure>"
        )
    return f'<figure id="{fig_id}">{body}<figcaption>{caption}</figcaption></figure>'


def _header(data: dict) -> str:
    verdict = str(data.get("verdict") or "none")
    colour = _VERDICT_COLOURS.get(verdict, "#55606e")
    use_case = data.get("use_case") or {}
    uc = ""
    if use_case:
        uc = (
            f"<p>Use case: <strong>{_e(use_case.get('title') or use_case.get('name'))}</strong>"
            f" — {_e(use_case.get('purpose'))}</p>"
        )
    return (
        f'<header class="verdict" id="verdict" style="background:{colour}">'
        f'<p class="kicker">{_e(data.get("title") or "Synthetic data evaluation")}</p>'
        f"<h1>{_e(verdict.upper())}</h1><p>{_e(data.get('verdict_reason'))}</p>{uc}</header>"
    )


def _banner(data: dict) -> str:
    report = data.get("report") or {}
    statement = (report.get("suppression") or {}).get("statement", "")
    if report.get("audience") == "public":
        sup = report.get("suppression") or {}
        extra = []
        if sup.get("marginal_bins_merged"):
            extra.append(f"{sup['marginal_bins_merged']} marginal bins merged")
        if sup.get("extreme_labels_replaced"):
            extra.append(f"{sup['extreme_labels_replaced']} extreme labels replaced")
        if sup.get("withheld"):
            extra.append("withheld: " + ", ".join(_e(w) for w in sup["withheld"]))
        tail = f" ({'; '.join(extra)})" if extra else ""
        return (
            f'<section class="banner public" id="disclosure-control"><strong>Public version.</strong> '
            f"Small cells and extremes were suppressed (minimum count {_e(report.get('min_count'))}). "
            f"{_e(statement)}{tail}</section>"
        )
    return (
        f'<section class="banner" id="disclosure-control"><strong>Internal version.</strong> '
        f"{_e(statement)}</section>"
    )


def _files(data: dict) -> str:
    files = data.get("files") or {}
    rows = []
    for role in ("real", "synthetic", "holdout"):
        f = files.get(role)
        if not isinstance(f, dict):
            rows.append(f"<tr><td>{role}</td><td colspan=4>none</td></tr>")
            continue
        sha = _e(f.get("sha256"))
        rows.append(
            f"<tr><td>{role}</td><td>{_e(f.get('name'))}</td><td class=num>{_num(f.get('rows'))}</td>"
            f"<td class=num>{_num(f.get('columns'))}</td><td><code>{sha}</code></td></tr>"
        )
        if f.get("note"):
            rows.append(f"<tr><td></td><td colspan=4><small>{_e(f.get('note'))}</small></td></tr>")
    return (
        '<section id="files"><h2>Files</h2><table><tr><th>role</th><th>file</th><th>rows</th>'
        "<th>columns</th><th>SHA-256</th></tr>" + "".join(rows) + "</table></section>"
    )


def _measures(data: dict) -> str:
    measures = data.get("measures") or []
    computed = sum(1 for m in measures if m.get("value") is not None or m.get("observed") is not None)
    tally: dict[str, int] = {}
    for m in measures:
        tally[str(m.get("verdict"))] = tally.get(str(m.get("verdict")), 0) + 1
    counts = ", ".join(f"{tally[v]} {v}" for v in ("pass", "warn", "fail", "error", "info") if v in tally)
    summary = [
        f"<p>{computed} of {len(measures)} measures computed; {_e(counts) or 'none judged'}.</p>",
        "<table><tr><th>measure</th><th>family</th><th>verdict</th><th>judged figure</th>"
        "<th>value</th><th>reference</th><th>95% CI</th></tr>",
    ]
    cards = []
    for i, m in enumerate(measures, 1):
        ref = (
            f"{_num(m.get('reference'))} <small>({_e(m.get('reference_kind'))})</small>"
            if m.get("reference_kind")
            else _num(m.get("reference"))
        )
        summary.append(
            f'<tr><td><a href="#measure-{i}">{_e(m.get("name"))}</a></td><td>{_e(m.get("family"))}</td>'
            f"<td>{_badge(m.get('verdict'))}</td>"
            f"<td>{_e(m.get('statistic'))} = {_num(m.get('observed'))}</td>"
            f"<td class=num>{_num(m.get('value'))}</td><td class=num>{ref}</td>"
            f"<td>{_ci(m.get('ci'))}</td></tr>"
        )
        items = [
            ("judged figure", f"{_e(m.get('statistic'))} = {_num(m.get('observed'))}"),
            ("value", f"{_num(m.get('value'))} ({_e(m.get('direction'))})"),
            ("reference", ref),
            ("95% interval", _ci(m.get("ci"))),
            ("rows used", _num(m.get("n"))),
            ("rule", _e(m.get("rule"))),
            ("why this rule", _e(m.get("reason"))),
            ("rule's source", _e(m.get("source"))),
            ("what it means", _e(m.get("interpretation"))),
            ("citation", _e(m.get("citation"))),
        ]
        error = m.get("error") or (m.get("details") or {}).get("error")
        if error:
            items.insert(0, ("error", f"<strong>{_e(error)}</strong>"))
        details = m.get("details")
        if isinstance(details, dict) and details:
            rows = "".join(
                f"<tr><td>{_e(k)}</td><td>{_detail(v)}</td></tr>" for k, v in details.items() if k != "error"
            )
            if rows:
                items.append(("details", f"<table>{rows}</table>"))
        dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
        cards.append(
            f'<article class="measure" id="measure-{i}"><h3>{_badge(m.get("verdict"))} '
            f"{_e(m.get('name'))} <small>{_e(m.get('family'))}</small></h3><dl>{dl}</dl></article>"
        )
    summary.append("</table>")
    return '<section id="measures"><h2>Measures</h2>' + "".join(summary) + "".join(cards) + "</section>"


def _plots(data: dict) -> str:
    plots = data.get("plots") or {}
    public = (data.get("report") or {}).get("audience") == "public"
    out = ['<section id="plots"><h2>Plots</h2>', "<h3>Marginal distributions</h3>"]
    marginals = plots.get("marginals")
    if not marginals:
        withheld = public and (data["report"]["suppression"].get("withheld"))
        out.append(
            _figure(
                "fig-marginals",
                "Real against synthetic share per level or quantile bin.",
                None,
                "all columns withheld for small counts" if withheld else "",
            )
        )
    else:
        out.append('<div id="fig-marginals">')
        for i, m in enumerate(marginals, 1):
            bins = m.get("bins") or []
            labels = [str(b.get("label", "")) for b in bins]
            svg = _svg.bars(
                labels,
                {"real": [b.get("real") for b in bins], "synthetic": [b.get("synthetic") for b in bins]},
                label=f"Marginal distribution of {m.get('column')}",
            )
            kind = "level" if m.get("kind") == "categorical" else "quantile bin of the real data"
            out.append(
                _figure(
                    f"fig-marginal-{i}",
                    f"<strong>{_e(m.get('column'))}</strong>: share of records "
                    f"per {kind}, real against synthetic. Bars of equal length mean the synthetic "
                    "file keeps this column's distribution.",
                    svg,
                )
            )
        out.append("</div>")
    out.append("<h3>Two-way differences</h3>")
    pairs = plots.get("pairs")
    svg = None
    if isinstance(pairs, dict) and pairs.get("columns"):
        svg = _svg.heatmap(
            [str(c) for c in pairs["columns"]],
            pairs.get("tvd") or [],
            label="Two-way total variation distance between real and synthetic",
        )
    out.append(
        _figure(
            "fig-pairs",
            "Total variation distance between the real and synthetic two-way table of "
            "each pair of columns: 0 means the same joint distribution, 1 completely different. "
            "Dark cells show relationships the synthetic file does not keep.",
            svg,
        )
    )
    out.append("<h3>Propensity scores</h3>")
    prop = plots.get("propensity")
    svg = None
    if isinstance(prop, dict):
        svg = _svg.histogram(
            prop.get("edges") or [],
            {"real": prop.get("real") or [], "synthetic": prop.get("synthetic") or []},
            label="Propensity score distributions",
            x_label="propensity score (synthetic)",
        )
    out.append(
        _figure(
            "fig-propensity",
            "Estimated probability that a record is synthetic, for real and "
            "synthetic records. Overlapping distributions mean a classifier cannot tell the files "
            "apart (the pMSE is small).",
            svg,
        )
    )
    out.append("<h3>Confidence-interval overlap</h3>")
    ci = plots.get("ci_overlap")
    svg = _svg.forest(ci, label="Confidence intervals of the use-case model") if ci else None
    out.append(
        _figure(
            "fig-ci-overlap",
            "The use-case model's estimates with 95% intervals, fitted on the real "
            "and on the synthetic file; the right column gives the interval overlap (1 is "
            "identical, 0 or below disjoint).",
            svg,
        )
    )
    out.append("<h3>Distance to closest record</h3>")
    dcr = plots.get("dcr")
    svg = None
    if isinstance(dcr, dict):
        svg = _svg.histogram(
            dcr.get("edges") or [],
            {"synthetic": dcr.get("synthetic") or [], "holdout": dcr.get("holdout") or []},
            label="Distance to closest real record",
            x_label="distance to the closest real record",
        )
    out.append(
        _figure(
            "fig-dcr",
            "Distance from each synthetic record, and from each real holdout record, to its "
            "closest record in the real training file. Synthetic records much closer than holdout "
            "records suggest copying.",
            svg,
        )
    )
    out.append("<h3>Risk and utility</h3>")
    ru = plots.get("risk_utility")
    svg = _svg.scatter(ru, label="Risk against utility") if ru else None
    out.append(
        _figure(
            "fig-risk-utility",
            "Disclosure risk against utility for each candidate file or method (a risk–utility map).",
            svg,
        )
    )
    if public:
        out.append(
            "<p><em>Figures show suppressed counts: small real cells merged, extremes relabelled.</em></p>"
        )
    out.append("</section>")
    return "".join(out)


def _notes(data: dict) -> str:
    notes = data.get("notes_for_users") or {}
    may = "".join(f"<li>{_e(x)}</li>" for x in notes.get("may") or []) or "<li>none stated</li>"
    may_not = "".join(f"<li>{_e(x)}</li>" for x in notes.get("may_not") or []) or "<li>none stated</li>"
    return (
        '<section id="notes"><h2>Notes for users of this synthetic file</h2>'
        f'<h3>You may</h3><ul class="may">{may}</ul><h3>You may not</h3><ul class="maynot">{may_not}</ul>'
        "</section>"
    )


def _privacy(data: dict) -> str:
    privacy = (data.get("provenance") or {}).get("privacy")
    if not isinstance(privacy, dict):
        return ""
    unit = _e(privacy.get("unit", ""))
    rows = "".join(
        f"<tr><td>{_e(r.get('purpose'))}</td><td>{_e(r.get('mechanisms'))}</td><td>{_num(r.get('cost'))}</td>"
        f"<td>{percent(r.get('share')) or _num(r.get('share'))}</td></tr>"
        for r in privacy.get("by_purpose") or []
    )
    noise = f"<p>Noise: {_e(privacy['noise'])}.</p>" if privacy.get("noise") else ""
    return (
        '<section id="privacy"><h2>Privacy budget</h2>'
        f"<p>Guarantee: <strong>{_e(privacy.get('guarantee', ''))}</strong>; spent "
        f"{_num(privacy.get('spent'))} of {_num(privacy.get('total'))} {unit}.</p>"
        f"<p>{_e(privacy_meaning(privacy))}</p>"
        f"<table><tr><th>purpose</th><th>mechanisms</th><th>cost ({unit})</th><th>share</th></tr>{rows}"
        f"</table>{noise}</section>"
    )


def _provenance(data: dict) -> str:
    prov = data.get("provenance") or {}
    rows = []
    for key, label in (
        ("confidata", "confidata version"),
        ("python", "Python"),
        ("command", "command"),
        ("seed", "seed"),
        ("created", "created"),
        ("epsilon", "epsilon (DP)"),
        ("delta", "delta (DP)"),
    ):
        value = prov.get(key)
        shown = (
            f"<code>{_e(value)}</code>"
            if key == "command" and value
            else _num(value)
            if isinstance(value, float)
            else _e(value if value is not None else "–")
        )
        rows.append(f"<tr><th>{label}</th><td>{shown}</td></tr>")
    kept = prov.get("known_to_attacker") or []
    if kept:  # a partially synthetic file: these columns hold real values
        rows.append("<tr><th>real columns (kept by partial synthesis; known to the attacker in "
                    f"the risk measures)</th><td>{_e(', '.join(map(str, kept)))}</td></tr>")
    deps = prov.get("dependencies") or {}
    dep_rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in sorted(deps.items()))
    dep_table = (
        f"<h3>Dependencies</h3><table><tr><th>package</th><th>version</th></tr>{dep_rows}</table>"
        if dep_rows
        else ""
    )
    return f'<section id="provenance"><h2>Provenance</h2><table>{"".join(rows)}</table>{dep_table}</section>'


def render_html(data: dict) -> str:
    """The page for already-normalised (and, for the public, already-suppressed) data."""
    title = _e(data.get("title") or "Synthetic data evaluation")
    audience = _e((data.get("report") or {}).get("audience", ""))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="confidata report"><meta name="audience" content="{audience}">'
        f"<title>{title}</title><style>{_CSS}</style></head><body><main>"
        + _header(data)
        + _banner(data)
        + _files(data)
        + _measures(data)
        + _plots(data)
        + _notes(data)
        + _privacy(data)
        + _provenance(data)
        + f"<footer>Made by confidata's report renderer for the {audience} audience.</footer>"
        + "</main></body></html>\n"
    )
