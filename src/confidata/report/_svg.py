"""Small inline-SVG charts for the report: bars, heatmap, forest, histogram, scatter.

Written by hand rather than with a plotting library so that the report has no rendering
dependency, the same evaluation gives the same bytes, and every label passes through one
escape function. Each chart returns one ``<svg>`` element sized by its viewBox, so it scales with
the page and prints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = ["bars", "forest", "heatmap", "histogram", "scatter"]

COLOURS = {"real": "#1f5fa8", "synthetic": "#e07b00", "holdout": "#2a8a3e",
           # record linkage quality (pprl/quality.py)
           "true links": "#2a8a3e", "false links": "#b3261e", "true pairs": "#1f5fa8",
           "other pairs": "#e07b00"}
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _fmt(value: float) -> str:
    """A number short enough for an axis or tooltip."""
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.3g}"


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi], as a person would draw them."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    return ticks


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{_e(label)}" {_FONT}>'
        + "".join(body)
        + "</svg>"
    )


def _legend(x: float, y: float, series: Sequence[str]) -> list[str]:
    out = []
    for i, name in enumerate(series):
        xi = x + i * 95
        out.append(f'<rect x="{xi:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{COLOURS[name]}"/>')
        out.append(f'<text x="{xi + 14:.1f}" y="{y:.1f}">{_e(name)}</text>')
    return out


def _shares(counts: Sequence[float | None]) -> list[float | None]:
    total = sum(c for c in counts if c is not None)
    return [None if c is None else (c / total if total else 0.0) for c in counts]


def bars(labels: Sequence[str], series: dict[str, Sequence[float | None]], *, label: str) -> str:
    """Horizontal grouped bars of each series' share per category; counts in the tooltips.

    Shares, not counts, are drawn because the real and synthetic files may differ in size.
    """
    names = list(series)
    shares = {name: _shares(series[name]) for name in names}
    left, right, top, bar_h = 170, 60, 26, 9
    group_h = bar_h * len(names) + 8
    width = 640
    height = top + group_h * len(labels) + 30
    peak = max([s for v in shares.values() for s in v if s is not None] + [1e-12])
    scale = (width - left - right) / peak
    body = _legend(left, 14, names)
    for i, text in enumerate(labels):
        y0 = top + i * group_h
        short = text if len(text) <= 26 else text[:25] + "…"
        body.append(
            f'<text x="{left - 6}" y="{y0 + group_h / 2 + 2:.1f}" text-anchor="end">'
            f"<title>{_e(text)}</title>{_e(short)}</text>"
        )
        for j, name in enumerate(names):
            share = shares[name][i]
            count = series[name][i]
            y = y0 + j * bar_h
            if share is None:
                body.append(f'<text x="{left + 2}" y="{y + bar_h - 1:.1f}" fill="#666">suppressed</text>')
                continue
            w = share * scale
            tip = f"{text} — {name}: {_fmt(share * 100)}% ({_fmt(count or 0)})"
            body.append(
                f'<rect x="{left}" y="{y:.1f}" width="{w:.1f}" height="{bar_h - 1}" '
                f'fill="{COLOURS[name]}"><title>{_e(tip)}</title></rect>'
            )
            body.append(
                f'<text x="{left + w + 3:.1f}" y="{y + bar_h - 1:.1f}" font-size="9">'
                f"{_fmt(share * 100)}%</text>"
            )
    base = top + group_h * len(labels)
    body.append(f'<line x1="{left}" y1="{top - 4}" x2="{left}" y2="{base}" stroke="#333"/>')
    body.append(f'<text x="{left}" y="{base + 16}">share of records (%)</text>')
    return _svg(width, height, body, label)


def _heat_colour(value: float, peak: float) -> str:
    """White (no difference) to dark red (the largest difference), on one linear scale."""
    t = 0.0 if peak <= 0 else max(0.0, min(1.0, value / peak))
    r = round(255 - t * (255 - 165))
    g = round(255 - t * 255)
    b = round(255 - t * (255 - 38))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(columns: Sequence[str], matrix: Sequence[Sequence[float | None]], *, label: str) -> str:
    """A column-by-column matrix shaded by value, the value written in each cell."""
    n = len(columns)
    cell = max(26, min(56, 520 // max(n, 1)))
    longest = max([min(len(c), 22) for c in columns] + [1])
    left, top = 40 + 6 * longest, 20 + round(4.6 * longest)
    width = left + cell * n + 150
    height = max(top + cell * n + 20, 120)
    values = [v for row in matrix for v in row if v is not None and math.isfinite(v)]
    # at least 0.25 at full colour, so that small, harmless differences stay pale
    peak = max(values + [0.25])
    body = []
    lx = left + cell * n + 24
    for k in range(5):
        t = peak * (4 - k) / 4
        body.append(
            f'<rect x="{lx}" y="{top + k * 16}" width="14" height="15" fill="{_heat_colour(t, peak)}" '
            'stroke="#ccc"/>'
        )
        body.append(f'<text x="{lx + 20}" y="{top + k * 16 + 12}">{t:.2f}</text>')
    body.append(f'<text x="{lx}" y="{top - 8}">TVD</text>')
    for i, name in enumerate(columns):
        short = _e(name if len(name) <= 22 else name[:21] + "…")
        y = top + i * cell + cell / 2 + 4
        body.append(
            f'<text x="{left - 6}" y="{y:.1f}" text-anchor="end"><title>{_e(name)}</title>{short}</text>'
        )
        x = left + i * cell + cell / 2
        body.append(
            f'<text x="{x:.1f}" y="{top - 6}" transform="rotate(-45 {x:.1f} {top - 6})">'
            f"<title>{_e(name)}</title>{short}</text>"
        )
    for i, row in enumerate(matrix[:n]):
        for j, value in enumerate(list(row)[:n]):
            x, y = left + j * cell, top + i * cell
            if value is None or not math.isfinite(value):
                fill, text = "#eeeeee", "–"
            else:
                fill, text = _heat_colour(value, peak), f"{value:.2f}"
            colour = "#fff" if value is not None and peak and value / peak > 0.6 else "#222"
            tip = f"{columns[i]} × {columns[j]}: {text}"
            body.append(
                f'<rect x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{fill}">'
                f"<title>{_e(tip)}</title></rect>"
            )
            body.append(
                f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" '
                f'font-size="9" fill="{colour}">{text}</text>'
            )
    return _svg(width, height, body, label)


def histogram(
    edges: Sequence[float], series: dict[str, Sequence[float | None]], *, label: str, x_label: str
) -> str:
    """Each series' share per bin, side by side within the bin; bins drawn to their width."""
    names = list(series)
    finite = [e for e in edges if e is not None and math.isfinite(e)]
    edges = list(edges)
    if len(finite) < 2:
        return _svg(300, 40, ['<text x="10" y="24">no finite bin edges to draw</text>'], label)
    lo, hi = min(finite), max(finite)
    span = (hi - lo) or 1.0
    # an open last or first edge (inf) is drawn one average bin wide
    avg = span / max(len(finite) - 1, 1)
    edges = [
        e if e is not None and math.isfinite(e) else (lo - avg if i == 0 else hi + avg)
        for i, e in enumerate(edges)
    ]
    lo, hi = edges[0], edges[-1]
    left, right, top, bottom = 50, 20, 26, 40
    width, height = 640, 260
    plot_w, plot_h = width - left - right, height - top - bottom
    shares = {name: _shares(series[name]) for name in names}
    peak = max([s for v in shares.values() for s in v if s is not None] + [1e-12])

    def sx(v: float) -> float:
        return left + (v - lo) / ((hi - lo) or 1.0) * plot_w

    body = _legend(left, 14, names)
    for tick in _ticks(0, peak, 4):
        y = top + plot_h - tick / peak * plot_h
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick * 100)}%</text>')
    for b in range(len(edges) - 1):
        x0, x1 = sx(edges[b]), sx(edges[b + 1])
        w = (x1 - x0) / len(names)
        for j, name in enumerate(names):
            values = shares[name]
            if b >= len(values):
                continue
            share = values[b]
            count = series[name][b]
            xs = x0 + j * w
            if share is None:
                body.append(
                    f'<rect x="{xs:.1f}" y="{top}" width="{max(w - 0.5, 0.5):.1f}" '
                    f'height="{plot_h}" fill="#f2f2f2"><title>{_e(name)}: suppressed</title></rect>'
                )
                continue
            h = share / peak * plot_h
            tip = (
                f"{_fmt(edges[b])} to {_fmt(edges[b + 1])} — {name}: "
                f"{_fmt(share * 100)}% ({_fmt(count or 0)})"
            )
            body.append(
                f'<rect x="{xs:.1f}" y="{top + plot_h - h:.1f}" width="{max(w - 0.5, 0.5):.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[name]}" fill-opacity="0.85">'
                f"<title>{_e(tip)}</title></rect>"
            )
    for tick in _ticks(lo, hi, 6):
        x = sx(tick)
        body.append(
            f'<line x1="{x:.1f}" y1="{top + plot_h}" x2="{x:.1f}" y2="{top + plot_h + 4}" stroke="#333"/>'
        )
        body.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{_fmt(tick)}</text>')
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>'
    )
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">{_e(x_label)}</text>'
    )
    return _svg(width, height, body, label)


def _standardise(row: dict) -> dict[str, float] | None:
    """A term's figures in units of the real interval's half-width, centred on the real estimate.

    Coefficients of one model differ by orders of magnitude; on one raw axis the small ones
    collapse to a dot. Like synthpop's compare.fit (which plots z-values), each term gets its own
    scale: the real interval is always [-1, 1] and the synthetic one shows the shift and width.
    """
    keys = ("real", "real_lo", "real_hi", "synthetic", "synthetic_lo", "synthetic_hi")
    try:
        raw = {k: float(row[k]) for k in keys}
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in raw.values()):
        return None
    half = (raw["real_hi"] - raw["real_lo"]) / 2 or 1.0
    return {k: (v - raw["real"]) / half for k, v in raw.items()}


def forest(rows: Sequence[dict], *, label: str) -> str:
    """Real and synthetic estimates with their intervals, one pair of lines per term."""
    left, right, top, row_h = 170, 90, 30, 30
    width = 640
    height = top + row_h * len(rows) + 48
    plot_w = width - left - right
    scaled = [_standardise(r) for r in rows]
    values = [v for s in scaled if s for v in s.values()]
    lo, hi = min(values + [-1.0]), max(values + [1.0])
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad

    def sx(v: float) -> float:
        return left + (v - lo) / (hi - lo) * plot_w

    body = _legend(left, 14, ["real", "synthetic"])
    base = top + row_h * len(rows)
    for tick in _ticks(lo, hi, 6):
        x = sx(tick)
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{base}" stroke="#eee"/>')
        body.append(f'<text x="{x:.1f}" y="{base + 14}" text-anchor="middle">{_fmt(tick)}</text>')
    body.append(
        f'<line x1="{sx(0):.1f}" y1="{top - 4}" x2="{sx(0):.1f}" y2="{base}" stroke="#888" '
        'stroke-dasharray="3 3"/>'
    )
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{base + 32}" text-anchor="middle">'
        "difference from the real estimate, in half-widths of the real 95% interval</text>"
    )
    body.append(f'<text x="{width - right + 8}" y="{top - 8}">overlap</text>')
    for i, (row, std) in enumerate(zip(rows, scaled, strict=True)):
        y0 = top + i * row_h
        term = str(row.get("term", ""))
        short = term if len(term) <= 26 else term[:25] + "…"
        body.append(
            f'<text x="{left - 6}" y="{y0 + row_h / 2 + 3:.1f}" text-anchor="end">'
            f"<title>{_e(term)}</title>{_e(short)}</text>"
        )
        if std is None:
            body.append(f'<text x="{left + 4}" y="{y0 + row_h / 2 + 3:.1f}" fill="#666">not estimable</text>')
        else:
            for j, name in enumerate(("real", "synthetic")):
                y = y0 + 9 + j * 10
                colour = COLOURS[name]
                tip = (
                    f"{term} — {name}: {_fmt(float(row[name]))} "
                    f"[{_fmt(float(row[name + '_lo']))}, {_fmt(float(row[name + '_hi']))}]"
                )
                body.append(
                    f"<g><title>{_e(tip)}</title>"
                    f'<line x1="{sx(std[name + "_lo"]):.1f}" y1="{y}" x2="{sx(std[name + "_hi"]):.1f}" '
                    f'y2="{y}" stroke="{colour}" stroke-width="2"/>'
                    f'<circle cx="{sx(std[name]):.1f}" cy="{y}" r="3.5" fill="{colour}"/></g>'
                )
        overlap = row.get("overlap")
        text = "–" if overlap is None else f"{float(overlap):.2f}"
        body.append(f'<text x="{width - right + 8}" y="{y0 + row_h / 2 + 3:.1f}">{text}</text>')
    return _svg(width, height, body, label)


def scatter(points: Sequence[dict], *, label: str) -> str:
    """Utility against disclosure risk, one labelled point per file or method (an R-U map)."""
    left, right, top, bottom = 60, 30, 20, 44
    width, height = 640, 340
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [float(p["risk"]) for p in points if p.get("risk") is not None]
    ys = [float(p["utility"]) for p in points if p.get("utility") is not None]
    x_lo, x_hi = (min(xs + [0.0]), max(xs + [0.0])) if xs else (0.0, 1.0)
    y_lo, y_hi = (min(ys + [0.0]), max(ys + [0.0])) if ys else (0.0, 1.0)
    x_hi += (x_hi - x_lo) * 0.1 or 1.0
    y_hi += (y_hi - y_lo) * 0.1 or 1.0

    def sx(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * plot_w

    def sy(v: float) -> float:
        return top + plot_h - (v - y_lo) / (y_hi - y_lo) * plot_h

    body = []
    for tick in _ticks(x_lo, x_hi, 6):
        body.append(
            f'<line x1="{sx(tick):.1f}" y1="{top}" x2="{sx(tick):.1f}" y2="{top + plot_h}" stroke="#eee"/>'
        )
        body.append(
            f'<text x="{sx(tick):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{_fmt(tick)}</text>'
        )
    for tick in _ticks(y_lo, y_hi, 5):
        body.append(
            f'<line x1="{left}" y1="{sy(tick):.1f}" x2="{left + plot_w}" y2="{sy(tick):.1f}" stroke="#eee"/>'
        )
        body.append(f'<text x="{left - 6}" y="{sy(tick) + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>')
    body.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>')
    for p in points:
        if p.get("risk") is None or p.get("utility") is None:
            continue
        x, y = sx(float(p["risk"])), sy(float(p["utility"]))
        name = str(p.get("label", ""))
        tip = f"{name}: risk {_fmt(float(p['risk']))}, utility {_fmt(float(p['utility']))}"
        body.append(
            f'<g><title>{_e(tip)}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="5" '
            f'fill="{COLOURS["synthetic"]}"/><text x="{x + 8:.1f}" y="{y + 4:.1f}">{_e(name)}</text></g>'
        )
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">disclosure risk →</text>'
    )
    body.append(
        f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">utility →</text>'
    )
    return _svg(width, height, body, label)
