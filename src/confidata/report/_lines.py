"""A line chart with logarithmic axes, for costs that span orders of magnitude (seconds, bytes).

Why log scales: a benchmark from 10^4 to 10^6 records puts a linear technique's points on a
straight line whose slope is its exponent, and lets a 0.1 s and a 300 s technique share one
plot. Drawn by hand like the other charts in `_svg.py` (no rendering dependency, same bytes for
the same input, every label escaped through one function). Points marked `estimated` are drawn
hollow with their error bar, so a reader cannot mistake an extrapolation for a measurement.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from confidata.report._svg import _e, _fmt, _svg, _ticks

__all__ = ["PALETTE", "lines"]

# Colour-blind-safe (Okabe-Ito), one per series in order.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten; with 2 and 5 between them when the axis spans less than two decades."""
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    step = max(1, (last - first) // 6)
    ticks = [10.0 ** k for k in range(first, last + 1, step)]
    if last - first <= 2:
        ticks = sorted(t * m for t in ticks for m in (1, 2, 5))
    return ticks


def _label(value: float) -> str:
    """A tick label people read at a glance: 10k, 2.5M, 0.01."""
    for suffix, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _axis(values: list[float], log: bool) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if log:
        lo, hi = lo / 1.6, hi * 1.6
    else:
        pad = (hi - lo) * 0.08 or max(abs(hi), 1.0) * 0.1
        lo, hi = lo - pad, hi + pad
    return lo, hi


def lines(
    series: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    label: str,
    x_label: str,
    y_label: str,
    log_x: bool = True,
    log_y: bool = True,
    connect: bool = True,
) -> str:
    """One polyline per series through its points {x, y, low?, high?, estimated?, tip?}.

    A point with x or y not positive cannot sit on a log axis: it is left out, and the chart
    says how many were left out, rather than drawing it at a made-up place.
    """
    left, right, top, bottom = 70, 20, 30 + 16 * ((len(series) - 1) // 3), 44
    width, height = 640, 330 + top - 30
    plot_w, plot_h = width - left - right, height - top - bottom
    kept: dict[str, list[Mapping[str, Any]]] = {}
    dropped = 0
    for name, points in series.items():
        good = []
        for p in points:
            x, y = p.get("x"), p.get("y")
            if x is None or y is None or (log_x and x <= 0) or (log_y and y <= 0):
                dropped += 1
                continue
            good.append(p)
        kept[name] = sorted(good, key=lambda p: p["x"])
    xs = [float(p["x"]) for pts in kept.values() for p in pts]
    ys = [float(v) for pts in kept.values() for p in pts
          for v in (p["y"], p.get("low"), p.get("high")) if v is not None and (not log_y or v > 0)]
    if not xs:
        return _svg(360, 40, ['<text x="10" y="24">no point can be drawn on these axes</text>'], label)
    x_lo, x_hi = _axis(xs, log_x)
    y_lo, y_hi = _axis(ys, log_y)

    def scale(v: float, lo: float, hi: float, log: bool) -> float:
        if log:
            return (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return (v - lo) / (hi - lo)

    def sx(v: float) -> float:
        return left + scale(v, x_lo, x_hi, log_x) * plot_w

    def sy(v: float) -> float:
        return top + plot_h - scale(max(v, y_lo), y_lo, y_hi, log_y) * plot_h

    body = []
    for i, name in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        lx, ly = left + (i % 3) * 185, 14 + 16 * (i // 3)
        body.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{lx + 14}" y="{ly}">{_e(name if len(name) <= 28 else name[:27] + "…")}</text>')
    for tick in (_log_ticks(x_lo, x_hi) if log_x else _ticks(x_lo, x_hi, 6)):
        if not x_lo <= tick <= x_hi:
            continue
        x = sx(tick)
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#eee"/>'
                    f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{_label(tick)}</text>')
    for tick in (_log_ticks(y_lo, y_hi) if log_y else _ticks(y_lo, y_hi, 5)):
        if not y_lo <= tick <= y_hi:
            continue
        y = sy(tick)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>'
                    f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_label(tick)}</text>')
    body.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>')
    for i, (name, points) in enumerate(kept.items()):
        colour = PALETTE[i % len(PALETTE)]
        if connect and len(points) > 1:
            path = " ".join(f"{sx(p['x']):.1f},{sy(p['y']):.1f}" for p in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        for p in points:
            x, y = sx(p["x"]), sy(p["y"])
            tip = p.get("tip") or f"{name}: {_fmt(p['x'])}, {_fmt(p['y'])}"
            bar = ""
            if p.get("low") is not None and p.get("high") is not None:
                bar = (f'<line x1="{x:.1f}" y1="{sy(p["low"]):.1f}" x2="{x:.1f}" y2="{sy(p["high"]):.1f}" '
                       f'stroke="{colour}"/>')
            fill = "#fff" if p.get("estimated") else colour
            body.append(f'<g><title>{_e(tip)}</title>{bar}<circle cx="{x:.1f}" cy="{y:.1f}" r="4" '
                        f'fill="{fill}" stroke="{colour}" stroke-width="1.5"/></g>')
    axis_x = x_label + (" (log scale)" if log_x else "")
    axis_y = y_label + (" (log scale)" if log_y else "")
    body.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" '
                f'text-anchor="middle">{_e(axis_x)}</text>')
    body.append(f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
                f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">{_e(axis_y)}</text>')
    if dropped:
        body.append(f'<text x="{left + plot_w - 4}" y="{top + 14}" text-anchor="end" fill="#55606e">'
                    f"{dropped} point(s) at 0 not drawn on a log axis</text>")
    return _svg(width, height, body, label)
