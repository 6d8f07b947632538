"""A comparison of methods as one self-contained HTML page, with its JSON beside it.

Renders the plain dict `confidata.compare` builds (and nothing above ``table`` is imported):
the recommendation first, the ranking as a table of methods by measures with verdicts, the
privacy-utility map with the real holdout and a bootstrap of the real data as reference
points, and, per method, its measures and marginal plots folded away until asked for (HTML
``<details>``, so the page still has no script). Same CSP and styling as the evaluation
report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from confidata.errors import OutputExistsError
from confidata.report import _svg
from confidata.report._html import _CSS, CSP, _badge, _e, _num
from confidata.table._files import atomic_write_bytes, check_output_path

__all__ = ["render_comparison", "write_comparison"]

_GATE_COLOURS = {"pass": "pass", "warn": "warn", "unknown": "not judged", "fail": "fail",
                 "error": "error"}
_POINT_COLOURS = {"method": "#e07b00", "real holdout": "#2a8a3e",
                  "bootstrap of the real data": "#1f5fa8"}
_EXTRA_CSS = """
.advice{background:#1f3b57;color:#fff;border-radius:10px;padding:18px 24px}
.advice p{margin:.3em 0;font-size:1.05em}
details{background:#fff;border:1px solid #e1e5ea;border-radius:8px;padding:8px 14px;margin:10px 0}
summary{cursor:pointer;font-weight:600}
td.why{font-size:.85em;color:#3a434e}
.wide{overflow-x:auto}
"""


def render_comparison(data: Mapping[str, Any]) -> str:
    """The comparison page for `data` (as `confidata.compare` returns it in ``.data``)."""
    title = _e(data.get("title") or "Which method?")
    body = (_advice(data) + _ranking(data) + _map(data) + _details(data) + _provenance(data))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="generator" content="confidata compare">'
            f"<title>{title}</title><style>{_CSS}{_EXTRA_CSS}</style></head><body><main>"
            + body + "<footer>Made by confidata's comparison renderer. It shows real counts in the "
            "marginal plots: an internal document, to stay inside the office.</footer>"
            "</main></body></html>\n")


def write_comparison(data: Mapping[str, Any], html_path: str | Path, *,
                     overwrite: bool = False) -> tuple[Path, Path]:
    """Write ``x.html`` and ``x.json`` (the data, with ``ranking`` best first), atomically."""
    html_path = Path(html_path)
    json_path = html_path.with_suffix(".json")
    existing = [p for p in (html_path, json_path) if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"{', '.join(repr(str(p)) for p in existing)} already exist(s); "
                                "pass --overwrite to replace, or choose another name.")
    for path in (html_path, json_path):
        check_output_path(path, overwrite=overwrite)
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_bytes(json_path, text.encode("utf-8"), overwrite=overwrite)
    atomic_write_bytes(html_path, render_comparison(data).encode("utf-8"), overwrite=overwrite)
    return html_path, json_path


def _advice(data: Mapping[str, Any]) -> str:
    use_case = data.get("use_case") or {}
    advice = data.get("recommendation") or {}
    best = advice.get("method")
    head = f"Use {_e(best)}" if best else "No method recommended"
    return (f'<header class="advice" id="recommendation"><p class="kicker">'
            f"{_e(data.get('title'))}</p><h1>{head}</h1><p>{_e(advice.get('text'))}</p>"
            f"<p>Use case: <strong>{_e(use_case.get('title'))}</strong> — "
            f"{_e(use_case.get('purpose'))}</p></header>")


def _measure_names(ranking: Sequence[Mapping[str, Any]]) -> list[str]:
    names: list[str] = []
    for row in ranking:
        for m in row.get("measures") or []:
            if m.get("name") not in names:
                names.append(m.get("name"))
    return names


def _ranking(data: Mapping[str, Any]) -> str:
    ranking = data.get("ranking") or []
    names = _measure_names(ranking)
    figure = data.get("utility_figure") or {}
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    rows = []
    for row in ranking:
        verdicts = {m.get("name"): m.get("verdict") for m in row.get("measures") or []}
        cells = []
        for name in names:
            value = (row.get("figures") or {}).get(name)
            spread = (row.get("spread") or {}).get(name)
            extra = f"<br><small>{_num(spread[0])}–{_num(spread[1])}</small>" if spread else ""
            mark = _badge(verdicts[name]) + "<br>" if name in verdicts else ""
            cells.append(f"<td class=num>{mark}{_num(value)}{extra}</td>")
        times = row.get("times") or {}
        budget = ("–" if row.get("epsilon") is None else
                  f"ε {_num(row.get('epsilon'))}" + ("" if row.get("delta") is None
                                                     else f", δ {_num(row.get('delta'))}"))
        reason = (f'<tr><td></td><td class=why colspan="{len(names) + 6}">{_e(row.get("reason"))}'
                  "</td></tr>" if row.get("verdict") == "error" else "")
        rows.append(
            f"<tr><td class=num>{_num(row.get('rank'))}</td><td><strong>{_e(row.get('method'))}"
            f"</strong></td><td>{_badge(row.get('verdict'))}</td>"
            f"<td>{_badge(_GATE_COLOURS.get(str(row.get('gate')), 'info'))}</td>" + "".join(cells)
            + f"<td class=num>{_num(times.get('fit_s'))} / {_num(times.get('sample_s'))} / "
            f"{_num(times.get('evaluate_s'))}</td><td>{budget}</td></tr>" + reason)
    return ('<section id="ranking"><h2>Ranking</h2>'
            f"<p>{_e(data.get('rule'))} Ranked on <strong>{_e(figure.get('measure'))}</strong> "
            f"({_e(figure.get('statistic'))}, {_e(figure.get('better'))} is better). Each cell: "
            "the measure's verdict and the judged figure"
            + (f"; the mean over {_e(data.get('m'))} syntheses with their range below it"
               if (data.get("m") or 1) > 1 else "") + ".</p>"
            '<div class="wide"><table><tr><th>#</th><th>method</th><th>verdict</th>'
            f"<th>disclosure gate</th>{head}<th>fit / sample / evaluate (s)</th>"
            "<th>privacy budget</th></tr>" + "".join(rows) + "</table></div></section>")


def _map(data: Mapping[str, Any]) -> str:
    points = [dict(r["point"], kind="method") for r in data.get("ranking") or [] if r.get("point")]
    points += [dict(p, kind=p.get("label")) for p in data.get("references") or []]
    caption = ("Each method's disclosure risk (share of synthetic rows nearer a training row than "
               "a holdout row: 0.5 is what a fresh sample shows; where no holdout figure exists, "
               "repU as a share) against its utility (1 − mean two-way total variation). The "
               "real holdout is the target: as useful as real data and no closer to the training "
               "rows; it is half the holdout, so its two-way distance carries more sampling noise "
               "than a synthetic file as large as the training part. The bootstrap of the "
               "training rows shows what copying scores.")
    if not points:
        return ('<section id="map"><h2>Privacy-utility map</h2><figure id="fig-map" '
                f'class="missing"><p>Not computed.</p><figcaption>{caption}</figcaption></figure>'
                "</section>")
    return ('<section id="map"><h2>Privacy-utility map</h2><figure id="fig-map">'
            f"{_map_svg(points)}<figcaption>{caption}</figcaption></figure></section>")


def _map_svg(points: Sequence[Mapping[str, Any]]) -> str:
    left, right, top, bottom, width, height = 60, 150, 20, 44, 700, 360
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [float(p["risk"]) for p in points] + [0.5]
    ys = [float(p["utility"]) for p in points]
    x_lo, x_hi = min(xs) - 0.02, max(xs) + 0.02
    y_lo, y_hi = min(ys) - 0.02, min(1.0, max(ys) + 0.02)

    def sx(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * plot_w

    def sy(v: float) -> float:
        return top + plot_h - (v - y_lo) / ((y_hi - y_lo) or 1.0) * plot_h

    body = []
    for tick in _svg._ticks(x_lo, x_hi, 6):
        body.append(f'<line x1="{sx(tick):.1f}" y1="{top}" x2="{sx(tick):.1f}" y2="{top + plot_h}" '
                    'stroke="#eee"/>')
        body.append(f'<text x="{sx(tick):.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
                    f"{_svg._fmt(tick)}</text>")
    for tick in _svg._ticks(y_lo, y_hi, 5):
        body.append(f'<line x1="{left}" y1="{sy(tick):.1f}" x2="{left + plot_w}" y2="{sy(tick):.1f}" '
                    'stroke="#eee"/>')
        body.append(f'<text x="{left - 6}" y="{sy(tick) + 4:.1f}" text-anchor="end">'
                    f"{_svg._fmt(tick)}</text>")
    body.append(f'<line x1="{sx(0.5):.1f}" y1="{top}" x2="{sx(0.5):.1f}" y2="{top + plot_h}" '
                'stroke="#2a8a3e" stroke-dasharray="4 3"/>')
    body.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>')
    for p in points:
        x, y = sx(float(p["risk"])), sy(float(p["utility"]))
        colour = _POINT_COLOURS.get(str(p.get("kind")), _POINT_COLOURS["method"])
        shape = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}"/>' if p.get("kind") == "method"
                 else f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="{colour}"/>')
        tip = (f"{p.get('label')}: risk {_svg._fmt(float(p['risk']))}, "
               f"utility {_svg._fmt(float(p['utility']))}")
        body.append(f"<g><title>{_svg._e(tip)}</title>{shape}<text x=\"{x + 8:.1f}\" "
                    f"y=\"{y + 4:.1f}\">{_svg._e(p.get('label'))}</text></g>")
    body.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">'
                "disclosure risk (DCR share nearer training) →</text>")
    body.append(f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
                f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">utility (1 − two-way TVD) →</text>')
    return _svg._svg(width, height, body, "Privacy-utility map: risk against utility per method")


def _details(data: Mapping[str, Any]) -> str:
    out = ['<section id="methods"><h2>Each method</h2><p>Open a method to see its measures and '
           "its marginal plots (real against synthetic).</p>"]
    for i, row in enumerate(data.get("ranking") or [], 1):
        parts = [f"<p>{_e(row.get('reason'))}</p>"]
        measures = row.get("measures") or []
        if measures:
            lines = "".join(
                f"<tr><td>{_e(m.get('name'))}</td><td>{_badge(m.get('verdict'))}</td>"
                f"<td>{_e(m.get('statistic'))} = {_num(m.get('observed'))}</td>"
                f"<td>{_e(m.get('rule'))}</td></tr>"
                for m in measures)
            parts.append("<table><tr><th>measure</th><th>verdict</th><th>figure</th><th>rule</th></tr>"
                         f"{lines}</table>")
        privacy = row.get("privacy") or {}
        if privacy.get("guarantee"):
            parts.append(f"<p>Privacy: {_e(privacy.get('guarantee'))}; spent "
                         f"{_num(privacy.get('spent'))} of {_num(privacy.get('total'))} "
                         f"{_e(privacy.get('unit'))}.</p>")
        for k, m in enumerate(row.get("marginals") or [], 1):
            bins = m.get("bins") or []
            svg = _svg.bars([str(b.get("label", "")) for b in bins],
                            {"real": [b.get("real") for b in bins],
                             "synthetic": [b.get("synthetic") for b in bins]},
                            label=f"Marginal distribution of {m.get('column')}")
            parts.append(f'<figure id="fig-method-{i}-marginal-{k}">{svg}<figcaption>'
                         f"<strong>{_e(m.get('column'))}</strong>, {_e(row.get('method'))}: share "
                         "of records per level or quantile bin, real against synthetic."
                         "</figcaption></figure>")
        out.append(f'<details id="method-{i}"><summary>{_e(row.get("rank"))}. {_e(row.get("method"))} '
                   f"{_badge(row.get('verdict'))}</summary>{''.join(parts)}</details>")
    out.append("</section>")
    return "".join(out)


def _provenance(data: Mapping[str, Any]) -> str:
    prov = dict(data.get("provenance") or {})
    files = data.get("files") or {}
    prov.update({"training rows": files.get("training_rows"), "holdout rows": files.get("holdout_rows"),
                 "holdout": files.get("holdout"), "syntheses per method (m)": data.get("m")})
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_num(v) if isinstance(v, float) else _e(v)}</td></tr>"
                   for k, v in prov.items())
    return f'<section id="provenance"><h2>Provenance</h2><table>{rows}</table></section>'
