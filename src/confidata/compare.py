"""Several synthesis methods side by side on the user's own file, judged for one use case.

`compare` splits the file (or takes a holdout), fits every method on the training part, draws
`m` syntheses from each, judges each with `confidata.evaluate.evaluate` for the use case, and
ranks the methods: **the disclosure gate first** (no disclosure measure of the use case fails,
warnings allowed; then those whose risk is unknown; then those that fail), **then the use
case's utility figure** (`UTILITY_FIGURES`), then time. Two reference points
go on the privacy-utility map: the real holdout (what a fresh real sample scores) and a
bootstrap of the training rows (what copying scores). A method that fails to run becomes a row
with its reason; it never ends the comparison.

With ``m > 1`` every figure is the mean over the syntheses, with its range; a method's verdict
and gate are the worst it got. synthpop's combining rules (Raab, Nowok & Dibben 2016) apply to
estimates of a user's model; the figures here are file-level measures, so they are averaged,
not combined.

The module is light to import (the work is in `confidata._compare_jobs`), so that
``confidata.compare`` can be the function itself.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from confidata.errors import SchemaError, SynthesisError, quote_names

if TYPE_CHECKING:  # pandas is imported when compare runs: `import confidata` stays quick
    import pandas as pd

__all__ = ["ComparisonResult", "UTILITY_FIGURES", "compare", "plan_methods", "rank", "read_comparison",
           "recommendation"]

# the figure each use case ranks on, among the measures its profile judges (usecases/profiles.py)
UTILITY_FIGURES = {
    "public-release": "tvd_2way",
    "testing-analysis": "pmse_cart",
    "education": "tvd_2way",
    "testing-technology": "tvd_1way",
}
# the gate is passed when no disclosure measure fails: a warning does not close it (warnings on
# noisy attack measures would otherwise rank an independent draw above every model)
GATE_ORDER = {"pass": 0, "warn": 0, "unknown": 1, "fail": 2, "error": 3}
_VERDICT_WORST = ["error", "fail", "not judged", "warn", "pass"]
REFERENCE_HOLDOUT = "real holdout"
REFERENCE_BOOTSTRAP = "bootstrap of the real data"
Progress = Callable[[str, str, dict[str, Any]], None]


@dataclass(frozen=True)
class ComparisonResult:
    """A comparison: `data` is the JSON-ready dict the report renders (``ranking`` best first)."""

    data: dict[str, Any]

    @property
    def ranking(self) -> list[dict[str, Any]]:
        return self.data["ranking"]

    @property
    def best(self) -> str | None:
        return self.data["recommendation"]["method"]

    def to_json(self) -> str:
        return json.dumps(self.data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"

    def _repr_html_(self) -> str:
        from confidata.report.comparison import render_comparison

        return render_comparison(self.data)


def compare(frame: pd.DataFrame, schema=None, *, use_case: str,
            methods: Sequence[str] | Mapping[str, Any] | None = None,
            holdout: pd.DataFrame | None = None, split: float = 0.2, m: int = 1,
            seed: int | None = None, epsilon: float | None = None, delta: float | None = None,
            options: Mapping[str, Mapping[str, Any]] | None = None, time_cap: float | None = 600.0,
            keys: Sequence[str] | None = None, target: str | None = None, model: str | None = None,
            workers: int | None = None, progress: Progress | None = None,
            files: Mapping[str, Any] | None = None, command: str | None = None) -> ComparisonResult:
    """Fit, sample and judge each method for `use_case`, and rank them.

    `methods`: registry names (default: every method that needs no privacy budget, and the
    differentially private ones too when `epsilon` is given), or a mapping from a label to a
    registry name or an already fitted synthesizer (anything with ``sample(n, seed=)``).
    `holdout`: real rows the methods never see; without it, a `split` share of `frame` is held
    out at random. `epsilon`/`delta` go to the methods that take them; `options` gives a
    method's other options by name. `time_cap` (seconds) stops a method that has not sampled
    by then. `keys`, `target` and `model` go to `evaluate`.
    """
    import pandas as pd

    from confidata import _compare_jobs as jobs_module
    from confidata.measures._shared import draw_seed
    from confidata.synth import METHODS
    from confidata.table import conform, infer_schema
    from confidata.usecases import get_use_case

    profile = get_use_case(use_case)
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise SchemaError("compare: pass the real data as a non-empty pandas DataFrame.")
    if isinstance(m, bool) or not isinstance(m, int) or m < 1:
        raise SchemaError(f"compare: m (the syntheses per method) must be an integer of at least "
                          f"1. Got {m!r} instead.")
    if time_cap is not None and not (isinstance(time_cap, int | float) and time_cap > 0):
        raise SchemaError("compare: time_cap must be a positive number of seconds, or None.")
    seed = draw_seed(seed)
    plan = plan_methods(methods, epsilon=epsilon, delta=delta, options=options, time_cap=time_cap)
    schema = schema if schema is not None else infer_schema(frame)
    train, held = _split(conform(frame[schema.names], schema, source="the real data"), holdout,
                         split, seed)
    if holdout is not None:
        held = conform(holdout[schema.names], schema, source="the holdout")
    shared = jobs_module.Shared(
        train=train, holdout=held, schema=schema, use_case=use_case, m=m, seed=seed, n=len(train),
        evaluate_options={"keys": list(keys) if keys else None, "target": target, "model": model})
    work: list[Any] = []
    for label, entry in plan.items():
        if isinstance(entry, str):
            given = _method_options(entry, epsilon, delta, options, time_cap, METHODS[entry])
            work.append(jobs_module.Job(label, entry, options=given))
        else:
            work.append(jobs_module.Job(label, None, fitted=entry))
    rng = np.random.default_rng(seed)
    half = rng.permutation(len(held))
    first, second = held.iloc[half[: len(held) // 2]], held.iloc[half[len(held) // 2:]]
    boot = train.iloc[rng.integers(0, len(train), size=len(train))].reset_index(drop=True)
    if len(first) >= 10:
        work.append(jobs_module.Reference(REFERENCE_HOLDOUT, first.reset_index(drop=True),
                                          second.reset_index(drop=True)))
        work.append(jobs_module.Reference(REFERENCE_BOOTSTRAP, boot, held))
    started = datetime.now(UTC)
    results = jobs_module.run_jobs(work, shared, workers=workers or os.cpu_count() or 1,
                                   time_cap=time_cap, progress=progress)
    rows = [_summarise(label, plan[label], results.get(label, {}), profile, use_case, m)
            for label in plan]
    references = [results[r.label]["point"] for r in work
                  if isinstance(r, jobs_module.Reference) and "point" in results.get(r.label, {})]
    ranking = rank(rows)
    data = {
        "title": f"Which method for {profile.title.lower()}?",
        "use_case": {"name": profile.name, "title": profile.title, "purpose": profile.purpose},
        "utility_figure": _figure_spec(profile, use_case),
        "rule": ("Methods are ranked by the disclosure gate first (through it when no "
                 "disclosure measure fails, warnings allowed; then unknown risk; then a "
                 f"failure), then by {_figure_words(profile, use_case)}, then by time."),
        "ranking": ranking,
        "references": references,
        "recommendation": recommendation(ranking, profile.title, _figure_words(profile, use_case)),
        "files": {"real": {"rows": len(frame), **dict((files or {}).get("real") or {})},
                  "training_rows": len(train), "holdout_rows": len(held),
                  "holdout": "given" if holdout is not None else f"{split:.0%} split at random"},
        "m": m,
        "provenance": _provenance(command, seed, epsilon, delta, time_cap, started),
    }
    return ComparisonResult(_clean(data))


def read_comparison(path, *, use_case: str | None = None) -> ComparisonResult:
    """A compare.json written by `confidata compare`, checked for the fields `recommend` reads;
    `use_case`, when given, must be the one it was judged for."""
    from pathlib import Path

    from confidata.errors import InputFileError

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        ranking = data["ranking"]
        judged = data["use_case"]["name"]
        ok = isinstance(ranking, list) and all(
            isinstance(r, dict) and {"method", "verdict", "gate", "rank"} <= set(r) for r in ranking)
        data["recommendation"]["text"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        ok = False
    if not ok:
        raise InputFileError(f"'{path}' is not a compare.json written by 'confidata compare'; "
                             "run the comparison again and pass the .json beside its report.")
    if use_case is not None and judged != use_case:
        raise InputFileError(f"'{path}' ranks the methods for '{judged}', not '{use_case}'; pass "
                             f"--use-case {judged}, or run 'confidata compare -u {use_case}'.")
    return ComparisonResult(data)


# -- plan ------------------------------------------------------------------------------------
def plan_methods(methods: Sequence[str] | Mapping[str, Any] | None = None, *,
                 epsilon: float | None = None, delta: float | None = None,
                 options: Mapping[str, Mapping[str, Any]] | None = None,
                 time_cap: float | None = None) -> dict[str, Any]:
    """{label: registry name or fitted object}, every name and option checked before any
    data is read: an unknown method is an error listing the registry's."""
    from confidata.synth import METHODS, check_options

    plan = _plan(methods, epsilon, METHODS)
    stray = sorted(set(options or {}) - {v for v in plan.values() if isinstance(v, str)})
    if stray:
        raise SynthesisError(f"compare: options are given for {quote_names(stray)}, which "
                             "is not among the methods compared; add it to the methods or drop "
                             "its options.")
    for entry in plan.values():
        if isinstance(entry, str):
            check_options(entry, _method_options(entry, epsilon, delta, options, time_cap,
                                                 METHODS[entry]))
    return plan


def _plan(methods, epsilon, registry) -> dict[str, Any]:
    from confidata.synth.dp import DPSynthesizer

    if methods is None:
        names = [n for n, cls in registry.items()
                 if epsilon is not None or not issubclass(cls, DPSynthesizer)]
        return {n: n for n in names}
    plan = dict(methods) if isinstance(methods, Mapping) else {n: n for n in methods}
    if not plan:
        raise SynthesisError("compare: name at least one method; the registry has "
                             f"{', '.join(sorted(registry))}.")
    unknown = [str(v) for v in plan.values() if isinstance(v, str) and v not in registry]
    if unknown:
        raise SynthesisError(f"compare: {quote_names(unknown)} {'is' if len(unknown) == 1 else 'are'}"
                             f" not in the method registry; choose from {', '.join(sorted(registry))}.")
    odd = [label for label, v in plan.items() if not isinstance(v, str) and not hasattr(v, "sample")]
    if odd:
        raise SynthesisError(f"compare: method(s) {quote_names(odd)} are neither a registry name nor "
                             "a fitted synthesizer with sample(n, seed=).")
    return plan


def _method_options(name: str, epsilon, delta, options, time_cap, cls: type) -> dict[str, Any]:
    """The method's own options, plus the shared budget and time cap where it takes them. A
    pure epsilon-DP method (its ledger counts epsilon) gets delta only when it buys levels."""
    from confidata.synth import method_options

    takes = method_options(cls)
    given = dict((options or {}).get(name) or {})
    if epsilon is not None and "epsilon" in takes:
        given.setdefault("epsilon", epsilon)
    pure = getattr(cls, "unit", None) == "epsilon" and given.get("levels_share") is None
    if delta is not None and "delta" in takes and not pure:
        given.setdefault("delta", delta)
    if time_cap is not None and "max_seconds" in takes:
        given.setdefault("max_seconds", float(time_cap) * 0.8)  # leave time to sample
    return given


def _split(frame: pd.DataFrame, holdout, split: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    if holdout is not None:
        return frame.reset_index(drop=True), holdout
    if isinstance(split, bool) or not isinstance(split, int | float) or not 0 < split < 1:
        raise SchemaError(f"compare: split must be a share between 0 and 1 (e.g. 0.2). Got {split!r}.")
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(round(len(frame) * split))
    if cut < 10 or len(frame) - cut < 10:
        raise SchemaError(f"compare: a {split:.0%} split of {len(frame)} rows leaves fewer than 10 "
                          "rows on one side; pass a larger file or a holdout file.")
    return (frame.iloc[np.sort(order[cut:])].reset_index(drop=True),
            frame.iloc[np.sort(order[:cut])].reset_index(drop=True))


# -- one method's row ------------------------------------------------------------------------
def _summarise(label: str, entry: Any, result: Mapping[str, Any], profile, use_case: str,
               m: int) -> dict[str, Any]:
    method = entry if isinstance(entry, str) else "fitted object"
    privacy = result.get("privacy")
    row: dict[str, Any] = {"method": label, "registry_method": method,
                           "times": result.get("times") or {},
                           "epsilon": (privacy or {}).get("epsilon"),
                           "delta": (privacy or {}).get("delta"), "privacy": privacy}
    evaluations = result.get("evaluations")
    if result.get("stage") != "done" or not evaluations:
        reason = result.get("reason") or "it did not finish"
        return {**row, "verdict": "error", "gate": "error", "reason": reason, "figures": {},
                "spread": {}, "measures": [], "utility": None, "point": None, "marginals": []}
    verdicts = [e["verdict"] for e in evaluations]
    gates = [_gate(e["measures"]) for e in evaluations]
    figures: dict[str, float | None] = {}
    spread: dict[str, list[float]] = {}
    for measure in evaluations[0]["measures"]:
        name = measure["name"]
        values = [_observed(e, name) for e in evaluations]
        finite = [v for v in values if v is not None]
        figures[name] = float(np.mean(finite)) if finite else None
        if m > 1 and finite:
            spread[name] = [float(min(finite)), float(max(finite)), float(np.std(finite))]
    points = [p for e in evaluations for p in (e.get("plots", {}).get("risk_utility") or [])]
    point = None
    if points:
        point = {"label": label, "utility": float(np.mean([p["utility"] for p in points])),
                 "risk": float(np.mean([p["risk"] for p in points]))}
    name = UTILITY_FIGURES[use_case]
    criterion = next((c for c in profile.criteria if c.measure == name), None)
    utility = {"measure": name, "statistic": criterion.statistic if criterion else "value",
               "better": criterion.better if criterion else "lower", "value": figures.get(name)}
    return {**row, "verdict": min(verdicts, key=_VERDICT_WORST.index),
            "gate": max(gates, key=GATE_ORDER.__getitem__), "reason": evaluations[0]["verdict_reason"],
            "figures": figures, "spread": spread, "measures": evaluations[0]["measures"],
            "utility": utility, "point": point,
            "marginals": evaluations[0].get("plots", {}).get("marginals") or []}


def _observed(evaluation: Mapping[str, Any], name: str) -> float | None:
    for row in evaluation["measures"]:
        if row["name"] == name:
            value = row.get("observed")
            return float(value) if value is not None and math.isfinite(value) else None
    return None


def _gate(measures: Sequence[Mapping[str, Any]]) -> str:
    """The disclosure gate of one evaluation: the worst verdict of its risk measures."""
    from confidata.measures import Family

    risk = [r for r in measures if r.get("family") == Family.RISK.value and not r.get("not_run")]
    if any(r["verdict"] == "fail" for r in risk):
        return "fail"
    if not risk or any(r["verdict"] == "error" for r in risk):
        return "unknown"
    if any(r["verdict"] == "warn" for r in risk):
        return "warn"
    return "pass"


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best first: gate (through it, unknown, failed, did not run), the utility figure (better
    first, a missing one last), total time. Each row gets its place as ``rank``."""
    def key(row: dict[str, Any]) -> tuple:
        utility = row.get("utility") or {}
        value = utility.get("value")
        sign = 1.0 if utility.get("better", "lower") == "lower" else -1.0
        total = sum(v for v in (row.get("times") or {}).values() if isinstance(v, int | float))
        return (GATE_ORDER[row["gate"]], value is None, sign * value if value is not None else 0.0,
                total)

    ordered = sorted(rows, key=key)
    return [{**row, "rank": i} for i, row in enumerate(ordered, 1)]


def recommendation(ranking: list[dict[str, Any]], title: str, figure: str) -> dict[str, Any]:
    """The plain-words advice for this file: the first method through the gate, and why."""
    ran = [r for r in ranking if r["gate"] != "error"]
    through = [r for r in ran if r["gate"] in ("pass", "warn")]
    failed = [r["method"] for r in ran if r["gate"] == "fail"]
    broken = [r["method"] for r in ranking if r["gate"] == "error"]
    words = []
    best = through[0] if through else None
    if best is None:
        words.append(f"No method passed the disclosure gate for {title.lower()} on this file, so "
                     "none is recommended; see each method's failing measures, and consider a "
                     "differentially private method or coarser keys.")
    else:
        u = best["utility"] or {}
        value = "not computed" if u.get("value") is None else f"{u['value']:.4g}"
        gate = ("every disclosure measure passes" if best["gate"] == "pass"
                else "no disclosure measure fails, though some warn")
        words.append(f"For {title.lower()}, use {best['method']}: {gate}, and it has the best "
                     f"{figure} among the methods that got through the gate ({value}).")
        if best.get("registry_method") == "sample":
            words.append("That is the independence baseline: every method that models the "
                         "relationships between columns failed the gate or did no better, so this "
                         "file would keep none; read the failing methods' disclosure measures "
                         "first.")
        if best["verdict"] != "pass":
            words.append(f"Its own verdict is {best['verdict']}: {best['reason']}")
        if len(through) > 1:
            nxt = through[1]
            nv = (nxt["utility"] or {}).get("value")
            words.append(f"Next is {nxt['method']}"
                         + ("." if nv is None else f" ({nv:.4g})."))
        base = next((r for r in ranking if r.get("registry_method") == "sample"), None)
        shown = {best["method"], through[1]["method"] if len(through) > 1 else None}
        if (base is not None and base["method"] not in shown
                and (base.get("utility") or {}).get("value") is not None):
            words.append(f"The independence baseline (sample) scores "
                         f"{base['utility']['value']:.4g}: a method that does not beat it keeps no "
                         "relationship between columns worth the name.")
    if failed:
        words.append(f"Failed the disclosure gate: {', '.join(failed)}.")
    if broken:
        words.append(f"Did not run: {', '.join(broken)} (reasons in the table).")
    return {"method": best["method"] if best else None, "text": " ".join(words)}


def _figure_spec(profile, use_case: str) -> dict[str, Any]:
    name = UTILITY_FIGURES[use_case]
    criterion = next((c for c in profile.criteria if c.measure == name), None)
    return {"measure": name, "statistic": criterion.statistic if criterion else "value",
            "better": criterion.better if criterion else "lower"}


def _figure_words(profile, use_case: str) -> str:
    spec = _figure_spec(profile, use_case)
    return f"{spec['measure']} ({spec['statistic']}, {spec['better']} is better)"


def _provenance(command, seed, epsilon, delta, time_cap, started) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        own = version("confidata")
    except PackageNotFoundError:
        own = "0+unknown"
    return {"confidata": own, "command": command, "seed": seed, "epsilon": epsilon,
            "delta": delta, "time_cap_s": time_cap, "created": started.isoformat(timespec="seconds"),
            "wall_s": round((datetime.now(UTC) - started).total_seconds(), 2)}


def _clean(value: Any) -> Any:
    """Plain JSON values: numpy scalars as Python numbers, NaN and infinities as None."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(float(value)) else None
    return str(value)
