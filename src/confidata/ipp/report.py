"""The benchmark report: runs of `confidata ipp bench` as one self-contained HTML page, JSON, Markdown.

Why a report of its own rather than the table the bench prints: a methodologist compares
techniques by how their cost grows (with records, with the network's latency), by what they
cost against how exact they are, and by what each party must trust and learns. So per scenario
the page plots time, bytes and rounds against records and against latency on log scales, and
accuracy against cost; it lists every technique's trust assumption and declared leakage, every
failed or refused run with its reason, and the scaling laws fitted to the runs. Cells the grid
did not measure (10^7 records from 10^5 and 10^6) are computed from the laws and marked as
extrapolated with the law's error; they are never mixed with runs. The page follows the
synthetic-data report (`confidata.report`): one file, inline SVG, no script, a CSP that forbids
every fetch, so it can be archived and mailed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confidata import __version__
from confidata.errors import ConfidataError, OutputExistsError
from confidata.ipp import trust as trust_terms
from confidata.ipp._report_render import fmt as _fmt
from confidata.ipp._report_render import render_html, render_markdown
from confidata.ipp.catalogue import load_catalogue
from confidata.ipp.scaling_law import METRICS, ExtrapolationRefused, fit_models
from confidata.table._files import atomic_write_bytes, check_output_path

__all__ = ["GRID_SIZES", "ReportFiles", "build_report", "render_html", "render_markdown", "write_report"]

# Sizes (records per party) at which a technique's cost is shown: measured, or extrapolated.
GRID_SIZES = (10**4, 10**5, 10**6, 10**7)
_EXTRA_SCENARIOS = {"quantiles": "Quantiles (medians, percentiles) over horizontally split data."}
_CELL_METRICS = ("wall_s", "bytes", "rounds", "cpu_s", "peak_rss_mb")


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    json: Path
    markdown: Path


def _mean(values: Sequence[float | None]) -> float | None:
    got = [float(v) for v in values if v is not None]
    return sum(got) / len(got) if got else None


def build_report(runs: Sequence[Any], *, source: str = "") -> dict[str, Any]:
    """The report's content as plain JSON-ready data (the HTML and Markdown render only this)."""
    if not runs:
        raise ConfidataError(f"'{source or 'the results'}' holds no run; run 'confidata ipp bench' first.")
    vocabulary = load_catalogue().vocabulary["scenario"] | _EXTRA_SCENARIOS
    real = [r for r in runs if not r.extrapolated]
    models = fit_models(real)
    statuses = {s: sum(r.status == s for r in real) for s in ("ok", "failed", "refused", "timeout")}
    loads = [v for r in real for v in (r.load_before, r.load_after) if v is not None]
    scenarios = []
    for name in sorted({r.scenario for r in real}):
        group = [r for r in real if r.scenario == name]
        scenarios.append(_scenario(name, vocabulary.get(name, ""), group, models))
    return {
        "title": "Input-privacy benchmark: which technique costs what",
        "source": source,
        "confidata": __version__,
        "summary": {
            "runs": len(real),
            **statuses,
            "scenarios": len(scenarios),
            "techniques": len({r.technique for r in real}),
        },
        "machines": _unique(r.machine for r in real),
        "commits": sorted({r.commit for r in real}),
        "versions": _unique(r.versions for r in real),
        "load": {"min": min(loads) if loads else None, "max": max(loads) if loads else None},
        "started": {"first": min(r.started_at for r in real), "last": max(r.started_at for r in real)},
        "latency_via": sorted({r.latency_via for r in real}),
        "scenarios": scenarios,
        "techniques": _techniques(real),
        "problems": [
            {
                "run_id": r.run_id,
                "scenario": r.scenario,
                "technique": r.technique,
                "records": r.records,
                "parties": r.parties,
                "latency_ms": r.latency_ms,
                "protection": r.protection,
                "status": r.status,
                "reason": r.reason,
            }
            for r in real
            if r.status != "ok"
        ],
        "trust_terms": dict(trust_terms.TERMS),
        "extrapolation": {
            "sizes": list(GRID_SIZES),
            "max_factor": _max_factor(models),
            "rule": "cells not measured are computed from the scaling law fitted to the "
            "technique's runs at the lowest latency (a power law in records, on logs), "
            "with a 90% prediction interval and the leave-one-out error; the law "
            "refuses sizes more than max_factor beyond the measured range",
        },
    }


def _max_factor(models: dict) -> float | None:
    for model in models.values():
        for law in model.laws.values():
            return law.max_factor
    return None


def _unique(items) -> list:
    seen, out = set(), []
    for item in items:
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _cells(group: Sequence[Any]) -> list[dict[str, Any]]:
    """Measured cells: the runs that finished ok, grouped by what they measured."""
    cells: dict[tuple, list[Any]] = {}
    for r in group:
        if r.status == "ok":
            cells.setdefault(
                (r.technique, r.records, r.parties, r.latency_ms, r.protection, r.epsilon), []
            ).append(r)
    out = []
    for (technique, records, parties, latency, protection, epsilon), rs in sorted(
        cells.items(), key=lambda kv: tuple("" if v is None else v for v in kv[0])
    ):
        cell = {
            "technique": technique,
            "family": rs[0].technique_family,
            "records": records,
            "parties": parties,
            "latency_ms": latency,
            "protection": protection,
            "epsilon": epsilon,
            "runs": len(rs),
            "run_ids": [r.run_id for r in rs],
            "extrapolated": False,
            "accuracy": rs[0].accuracy,
            # the 1-minute load average when the runs started: on a shared machine it moves a time
            # more than the size does (a start-up dominated run at load 20 against one at 4)
            "load": _mean([r.load_before for r in rs]),
            "latency_via": rs[0].latency_via,
        }
        for metric in _CELL_METRICS:
            cell[metric] = _mean([METRICS[metric][1](r) for r in rs])
        out.append(cell)
    return out


def _extrapolated(name: str, group: Sequence[Any], models: dict) -> list[dict[str, Any]]:
    """Grid sizes a technique was not measured at (or did not finish at), from its law."""
    out = []
    for (scenario, technique, protection), model in sorted(models.items()):
        if scenario != name or protection != "none" or "wall_s" not in model.laws:
            continue
        law = model.laws["wall_s"]
        base_ms = min(p.latency_ms for p in law.points)
        for parties in sorted({p.parties for p in law.points}):
            measured = {
                r.records
                for r in group
                if r.technique == technique
                and r.status == "ok"
                and r.parties == parties
                and r.latency_ms == base_ms
                and r.protection == "none"
            }
            for size in GRID_SIZES:
                if size in measured:
                    continue
                cell = {
                    "technique": technique,
                    "records": size,
                    "parties": parties,
                    "latency_ms": base_ms,
                    "protection": "none",
                    "extrapolated": True,
                    "runs": 0,
                }
                try:
                    for metric in ("wall_s", "bytes", "rounds"):
                        pred = model.predict(size, parties, base_ms, metric)
                        cell[metric] = pred.value
                        cell[f"{metric}_interval"] = [pred.low, pred.high]
                        if metric == "wall_s":
                            cell["note"] = pred.note
                            cell["run_ids"] = list(pred.run_ids)
                            cell["beyond_range"] = pred.extrapolated
                except ExtrapolationRefused:
                    continue
                except ConfidataError:
                    if "wall_s" not in cell:
                        continue
                failed = [
                    r
                    for r in group
                    if r.technique == technique
                    and r.records == size
                    and r.parties == parties
                    and r.status != "ok"
                ]
                if failed:
                    cell["note"] += f"; the run at this size did not finish ({failed[0].status})"
                out.append(cell)
    return out


def _laws(name: str, models: dict) -> list[dict[str, Any]]:
    out = []
    for (scenario, technique, protection), model in sorted(models.items()):
        if scenario != name:
            continue
        for metric, law in model.laws.items():
            if metric not in ("wall_s", "bytes", "rounds"):
                continue
            lo, hi = law.records_range
            out.append(
                {
                    "technique": technique,
                    "protection": protection,
                    "metric": metric,
                    "formula": law.formula(),
                    "exponent": None if law.zero else law.b,
                    "parties_exponent": law.d,
                    "loo_factor": law.loo_factor,
                    "points": len(law.points),
                    "records": [lo, hi],
                    "latency_c": model.latency_c if metric == "wall_s" else None,
                    "run_ids": [p.run_id for p in law.points],
                }
            )
        missing = [m for m in ("wall_s", "bytes", "rounds") if m in model.problems]
        if missing:
            # one row per technique: the reason is the same for its metrics (one size measured)
            out.append(
                {
                    "technique": technique,
                    "protection": protection,
                    "metric": ", ".join(missing),
                    "formula": None,
                    "problem": model.problems[missing[0]].replace(f" for {missing[0]}", ""),
                }
            )
    return out


def _scenario(name: str, meaning: str, group: Sequence[Any], models: dict) -> dict[str, Any]:
    cells = _cells(group)
    extra = _extrapolated(name, group, models)
    return {
        "name": name,
        "meaning": meaning,
        "techniques": sorted({r.technique for r in group}),
        "cells": cells,
        "extrapolated": extra,
        "laws": _laws(name, models),
        "plots": _plots(cells, extra),
    }


def _plots(cells: list[dict], extra: list[dict]) -> dict[str, Any]:
    """The series each figure draws (kept in the JSON so a reader can redraw them)."""
    plain = [c for c in cells if c["protection"] == "none"]
    base = {
        t: min(c["latency_ms"] for c in plain if c["technique"] == t) for t in {c["technique"] for c in plain}
    }
    plots: dict[str, Any] = {}
    for metric in ("wall_s", "bytes", "rounds"):
        series: dict[str, list] = {}
        for c in plain:
            if c["latency_ms"] == base[c["technique"]] and c.get(metric) is not None:
                series.setdefault(_series_name(c), []).append(
                    {
                        "x": c["records"],
                        "y": c[metric],
                        "estimated": False,
                        "tip": f"{_series_name(c)}: {c['records']:,} records, {_fmt(c[metric])} (measured, "
                        f"{c['runs']} run(s))",
                    }
                )
        for c in extra:
            if c.get(metric) is None:
                continue
            low, high = c.get(f"{metric}_interval") or [None, None]
            series.setdefault(_series_name(c), []).append(
                {
                    "x": c["records"],
                    "y": c[metric],
                    "low": low,
                    "high": high,
                    "estimated": True,
                    "tip": f"{_series_name(c)}: {c['records']:,} records, {_fmt(c[metric])} "
                    f"(extrapolated, 90% interval {_fmt(low)}-{_fmt(high)})",
                }
            )
        plots[f"{metric}_vs_records"] = series
    # latency: at the size with the most latencies measured
    by_size: dict[int, set] = {}
    for c in plain:
        by_size.setdefault(c["records"], set()).add(c["latency_ms"])
    size = max(by_size, key=lambda n: (len(by_size[n]), -n)) if by_size else None
    latency: dict[str, list] = {}
    if size is not None and len(by_size[size]) > 1:
        for c in plain:
            if c["records"] == size and c.get("wall_s") is not None:
                latency.setdefault(_series_name(c), []).append(
                    {
                        "x": c["latency_ms"],
                        "y": c["wall_s"],
                        "tip": f"{_series_name(c)}: {c['latency_ms']:g} ms, {_fmt(c['wall_s'])} s",
                    }
                )
    plots["wall_s_vs_latency"] = {"records": size, "series": latency}
    accuracy: dict[str, list] = {}
    for c in cells:
        acc = c.get("accuracy") or {}
        if (
            c.get("wall_s") is not None
            and isinstance(acc.get("value"), int | float)
            and math.isfinite(acc["value"])
        ):
            label = c["technique"] + ("" if c["protection"] == "none" else f" ({c['protection']})")
            accuracy.setdefault(label, []).append(
                {
                    "x": c["wall_s"],
                    "y": acc["value"],
                    "tip": f"{label}: {c['records']:,} records, {_fmt(c['wall_s'])} s, "
                    f"{acc.get('kind')} {_fmt(acc['value'])}",
                }
            )
    plots["accuracy_vs_cost"] = accuracy
    return plots


def _series_name(c: dict) -> str:
    return f"{c['technique']} ({c['parties']}p)"


def _techniques(runs: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for technique in sorted({r.technique for r in runs}):
        rs = [r for r in runs if r.technique == technique]
        needs = trust_terms.TECHNIQUE_NEEDS.get(technique)
        out.append(
            {
                "technique": technique,
                "family": rs[0].technique_family,
                "scenarios": sorted({r.scenario for r in rs}),
                "trust": sorted({r.trust for r in rs if r.trust}),
                "trust_needs": list(needs) if needs is not None else None,
                "leakage": sorted({x for r in rs for x in r.leakage}),
                "runs": len(rs),
                "ok": sum(r.status == "ok" for r in rs),
            }
        )
    return out


def write_report(
    runs: Sequence[Any], html_path: str | Path, *, source: str = "", overwrite: bool = False
) -> ReportFiles:
    """Write x.html with x.json and x.md beside it; every path is checked before anything is written."""
    html_path = Path(html_path)
    if html_path.suffix.lower() not in (".html", ".htm"):
        raise ConfidataError(
            f"The report path '{html_path}' must end in .html; the .json and .md files are "
            "written beside it with the same name."
        )
    files = ReportFiles(html_path, html_path.with_suffix(".json"), html_path.with_suffix(".md"))
    data = build_report(runs, source=source)
    paths = (files.html, files.json, files.markdown)
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{', '.join(repr(str(p)) for p in existing)} already exist(s); pass "
            "--overwrite to replace the report, or choose another name."
        )
    for path in paths:
        check_output_path(path, overwrite=overwrite)
    text = json.dumps(_finite(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_bytes(files.json, text.encode("utf-8"), overwrite=overwrite)
    atomic_write_bytes(files.markdown, render_markdown(data).encode("utf-8"), overwrite=overwrite)
    atomic_write_bytes(files.html, render_html(data).encode("utf-8"), overwrite=overwrite)
    return files


def _finite(value: Any) -> Any:
    """The data with every infinite or NaN float as its name ("inf"): JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
