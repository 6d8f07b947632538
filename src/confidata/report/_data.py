"""The evaluation as plain JSON data, and its public variant with small cells and extremes removed.

The renderer never trusts that what it is handed is JSON-ready (numpy scalars, NaN, tuples
slip in) and never changes the caller's object: it works on a normalised copy. The public
variant is built here, once, so that HTML, Markdown and JSON all show the same suppressed
figures and none of them can leak what another hides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from confidata.errors import ConfidataError

__all__ = ["AUDIENCES", "OTHER_LABEL", "ReportError", "for_public", "normalise", "percent", "privacy_meaning"]

AUDIENCES = ("internal", "public")
OTHER_LABEL = "other (small cells)"

_TOP_KEYS = (
    "title",
    "verdict",
    "verdict_reason",
    "use_case",
    "files",
    "measures",
    "plots",
    "notes_for_users",
    "provenance",
)
_MEASURE_KEYS = (
    "name",
    "family",
    "verdict",
    "statistic",
    "observed",
    "rule",
    "reason",
    "source",
    "value",
    "reference",
    "reference_kind",
    "direction",
    "ci",
    "n",
    "interpretation",
    "citation",
)
_FILE_KEYS = ("name", "rows", "columns", "sha256", "note")
_PROVENANCE_KEYS = ("confidata", "python", "dependencies", "command", "seed", "created", "epsilon", "delta",
                    "privacy")


_PRIVACY_KEYS = ("guarantee", "unit", "total", "spent", "by_purpose", "noise")


def percent(value: Any) -> str | None:
    """A share as a percentage ("81.5%"), or None when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return f"{value:.1%}"


def privacy_meaning(privacy: dict[str, Any]) -> str:
    """What a differential-privacy guarantee means, in words for a disclosure review board."""
    bound = ("by more than a factor of e^epsilon (plus at most delta)"
             if privacy.get("unit") == "rho" else "by more than a factor of e^epsilon")
    return (
        "This file was made by a differentially private synthesizer. It saw the real data only "
        "through the noisy measurements counted below, and their costs add up to the budget "
        "requested. Whether any one person's record was in the data or not cannot change the "
        f"probability of any synthetic file {bound}. This holds whatever else an attacker knows, "
        "and nothing done with the file afterwards (analysis, linkage, more samples from the "
        "model) weakens it. A smaller epsilon is a stronger guarantee. The disclosure measures "
        "above remain useful as a check of what this particular file shows."
        + (" This run's noise was seeded: whoever knows the seed can remove the noise, and then "
           "the guarantee no longer holds. A file for release is made without a seed."
           if str(privacy.get("noise") or "").startswith("seeded") else "")
    )


class ReportError(ConfidataError, ValueError):
    """The report cannot be made as asked: unknown audience, bad option, malformed evaluation."""


def _jsonable(value: Any, where: str) -> Any:
    """A deep, JSON-safe copy: NaN and infinities become None, numpy scalars plain numbers."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        try:
            return _jsonable(item(), where)
        except (TypeError, ValueError):
            pass
    if isinstance(value, Sequence):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ReportError(
        f"The evaluation holds a {type(value).__name__} at '{where}', which a report cannot show; "
        "pass plain numbers, strings, lists and dicts (as MeasureResult.to_dict gives)."
    )


def normalise(evaluation: Mapping) -> dict[str, Any]:
    """A checked, JSON-safe copy of the evaluation; extra keys are kept for the internal JSON."""
    if not isinstance(evaluation, Mapping):
        raise ReportError(
            f"render_report needs the evaluation as a dict, got {type(evaluation).__name__}; "
            "pass what confidata.evaluate returns (or its .to_dict())."
        )
    data = _jsonable(evaluation, "evaluation")
    expected = {
        "use_case": dict,
        "files": dict,
        "plots": dict,
        "notes_for_users": dict,
        "provenance": dict,
        "measures": list,
    }
    for key, kind in expected.items():
        if data.get(key) is not None and not isinstance(data[key], kind):
            raise ReportError(
                f"The evaluation's '{key}' must be a {'list' if kind is list else 'dict'}, "
                f"got {type(data[key]).__name__}."
            )
    for i, measure in enumerate(data.get("measures") or []):
        if not isinstance(measure, dict):
            raise ReportError(f"The evaluation's measures[{i}] must be a dict, got {type(measure).__name__}.")
    return data


def check_options(audience: str, min_count: int) -> None:
    if audience not in AUDIENCES:
        raise ReportError(
            f"The 'audience' option must be one of {', '.join(repr(a) for a in AUDIENCES)}; "
            f"got {audience!r}. Use 'public' for a report that may leave the office."
        )
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ReportError(
            f"The 'min_count' option must be a whole number of at least 1; got {min_count!r}. "
            "Offices commonly use 3, 5 or 10."
        )


_CI_KEYS = ("term", "real", "real_lo", "real_hi", "synthetic", "synthetic_lo", "synthetic_hi", "overlap")


def _pick(mapping: dict, keys: tuple[str, ...]) -> dict:
    return {k: mapping[k] for k in keys if k in mapping}


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _relabel_extremes(bins: list[dict]) -> int:
    """Replace labels that show a real minimum or maximum with their position; return how many."""
    n, done, used = len(bins), 0, set()
    for i, b in enumerate(bins):
        if not b.get("extreme"):
            continue
        label = "lowest bin" if i < n / 2 else "highest bin"
        k = 2
        while label in used:
            label = f"{'lowest' if i < n / 2 else 'highest'} bin {k}"
            k += 1
        used.add(label)
        b["label"] = label
        b["extreme"] = False
        done += 1
    return done


def _suppress_marginal(marginal: dict, min_count: int) -> tuple[dict | None, int, int]:
    """Merge every bin whose real count is below min_count into one 'other' bin.

    If the merged bin is itself below min_count, the smallest remaining bins join it until it
    is not (secondary suppression), so that no shown figure, nor the file total minus the shown
    figures, gives a real count below min_count. A column whose whole total is below min_count
    is withheld (None). Returns the marginal, bins merged and labels replaced.
    """
    bins = [
        {
            "label": str(b.get("label", "")),
            "real": _count(b.get("real")),
            "synthetic": _count(b.get("synthetic")),
            "extreme": bool(b.get("extreme")),
        }
        for b in marginal.get("bins") or []
        if isinstance(b, Mapping)
    ]
    relabelled = _relabel_extremes(bins)
    keep = [b for b in bins if b["real"] >= min_count]
    small = [b for b in bins if b["real"] < min_count]
    merged_real = sum(b["real"] for b in small)
    while small and merged_real < min_count and keep:
        smallest = min(keep, key=lambda b: b["real"])
        keep.remove(smallest)
        small.append(smallest)
        merged_real += smallest["real"]
    out = {"column": str(marginal.get("column", "")), "kind": marginal.get("kind")}
    if small:
        if merged_real < min_count:
            return None, len(small), relabelled
        keep.append(
            {
                "label": OTHER_LABEL,
                "real": merged_real,
                "synthetic": sum(b["synthetic"] for b in small),
                "extreme": False,
            }
        )
    out["bins"] = keep
    return out, len(small), relabelled


def _merge_histogram(
    hist: Mapping, real_key: str, keys: tuple[str, ...], min_count: int
) -> tuple[dict | None, int]:
    """Join adjacent bins until each bin's real count is at least min_count (or withhold).

    Adjacent merging keeps a histogram a histogram (wider bins) and hides no cell, so that no
    small count can be recovered from the total.
    """
    edges = list(hist.get("edges") or [])
    series = {k: [_count(v) for v in hist.get(k) or []] for k in keys}
    real = series.get(real_key, [])
    n = min([len(v) for v in series.values()] + [max(len(edges) - 1, 0)])
    groups: list[list[int]] = []
    start, acc = 0, 0
    for i in range(n):
        acc += real[i] if i < len(real) else 0
        if acc >= min_count:
            groups.append([start, i])
            start, acc = i + 1, 0
    if not groups:
        return None, n
    groups[-1][1] = n - 1  # a small tail joins the last bin
    out: dict[str, Any] = {"edges": [edges[g[0]] for g in groups] + [edges[groups[-1][1] + 1]]}
    for key, values in series.items():
        out[key] = [sum(values[g[0] : g[1] + 1]) for g in groups]
    return out, n - len(groups)


def for_public(data: dict[str, Any], min_count: int) -> dict[str, Any]:
    """The evaluation with what would itself disclose removed; says what was removed and why."""
    out: dict[str, Any] = {k: data[k] for k in _TOP_KEYS if k in data}
    # only the contract's keys leave the office: an extra key may hold anything
    if isinstance(data.get("use_case"), dict):
        out["use_case"] = _pick(data["use_case"], ("name", "title", "purpose"))
    if isinstance(data.get("notes_for_users"), dict):
        out["notes_for_users"] = _pick(data["notes_for_users"], ("may", "may_not"))
    measures = []
    dropped_details = 0
    for m in data.get("measures") or []:
        kept = {k: m[k] for k in _MEASURE_KEYS if k in m}
        details = m.get("details")
        if isinstance(details, dict) and details.get("error"):
            kept["error"] = str(details["error"])  # errors never quote cell values (errors.py)
        if details or m.get("tables"):
            dropped_details += 1
        measures.append(kept)
    out["measures"] = measures
    files = data.get("files") or {}
    out["files"] = {
        role: ({k: f[k] for k in _FILE_KEYS if k in f} if isinstance(f, dict) else None)
        for role, f in files.items()
        if role in ("real", "synthetic", "holdout")
    }
    prov = data.get("provenance") or {}
    out["provenance"] = {k: prov[k] for k in _PROVENANCE_KEYS if k in prov}
    if isinstance(prov.get("privacy"), dict):
        privacy = _pick(prov["privacy"], _PRIVACY_KEYS)
        privacy["by_purpose"] = [_pick(r, ("purpose", "mechanisms", "cost", "share"))
                                 for r in privacy.get("by_purpose") or [] if isinstance(r, dict)]
        out["provenance"]["privacy"] = privacy

    plots = dict(data.get("plots") or {})
    merged_bins = relabelled = 0
    withheld: list[str] = []
    marginals = []
    for marginal in plots.get("marginals") or []:
        if not isinstance(marginal, dict):
            continue
        shown, merged, changed = _suppress_marginal(marginal, min_count)
        merged_bins += merged
        relabelled += changed
        if shown is None:
            withheld.append(str(marginal.get("column", "")))
        else:
            marginals.append(shown)
    public_plots: dict[str, Any] = {"marginals": marginals if plots.get("marginals") is not None else None}
    histogram_merges = {}
    for key, real_key, keys in (
        ("propensity", "real", ("real", "synthetic")),
        ("dcr", "holdout", ("synthetic", "holdout")),
    ):
        hist = plots.get(key)
        if isinstance(hist, dict):
            shown, merged = _merge_histogram(hist, real_key, keys, min_count)
            histogram_merges[key] = merged
            public_plots[key] = shown
            if shown is None:
                withheld.append(f"{key} histogram")
        else:
            public_plots[key] = None
    pairs = plots.get("pairs")
    public_plots["pairs"] = _pick(pairs, ("columns", "tvd")) if isinstance(pairs, dict) else None
    for key, fields in (("ci_overlap", _CI_KEYS), ("risk_utility", ("label", "utility", "risk"))):
        rows = plots.get(key)
        public_plots[key] = [_pick(r, fields) for r in rows if isinstance(r, dict)] if rows else None
    out["plots"] = public_plots
    out["report"] = {
        "audience": "public",
        "min_count": min_count,
        "suppression": {
            "statement": (
                f"Real counts below {min_count} were merged into '{OTHER_LABEL}' (or adjacent "
                f"histogram bins), with further bins merged where needed so that every real count "
                f"shown is at least {min_count}; bins whose label would show a real minimum or "
                "maximum were relabelled; per-record details of the measures were left out."
            ),
            "marginal_bins_merged": merged_bins,
            "extreme_labels_replaced": relabelled,
            "histogram_bins_merged": histogram_merges,
            "withheld": withheld,
            "measure_details_dropped": dropped_details,
        },
    }
    return out


def for_internal(data: dict[str, Any], min_count: int) -> dict[str, Any]:
    out = dict(data)
    out["report"] = {
        "audience": "internal",
        "min_count": min_count,
        "suppression": {
            "statement": (
                "Internal report: nothing suppressed. It may show small real counts and "
                "real extreme values; do not release it outside the office."
            ),
        },
    }
    return out
