"""Which input-privacy technique for which case, from measured runs (work package 3).

Why from runs: a methodologist needs to know what a technique costs at their size, party count
and network, and what they must trust, before asking partners and lawyers for anything. So the
ranking rests on the benchmark's records (`confidata ipp bench`), never on a rule of thumb: a
technique is ranked only when it meets the case's trust (`ipp/trust.py`), was measured in the
case's scenario at its party count, and its cost at the case's cell can be read from a run or
from the scaling law fitted to its runs (`ipp/scaling_law.py`, which refuses to extrapolate
far). Every ranked or excluded technique carries its reason and the `run_id`s it rests on; a
case where nothing applies says why; the catalogue's legal and organisational notes come with
the advice because they decide more than the seconds do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from confidata.errors import ConfidataError
from confidata.ipp import trust as trust_terms
from confidata.ipp.catalogue import Catalogue, UseCase, load_catalogue
from confidata.ipp.scaling_law import CostModel, ExtrapolationRefused, Prediction, fit_models

__all__ = [
    "BASELINES",
    "DEFAULT_RESULTS",
    "DOMINATED_FACTOR",
    "Advice",
    "Excluded",
    "Ranked",
    "default_results",
    "recommend",
    "recommend_case",
]

# The baselines are measured beside the techniques to show what input privacy costs; they are
# never recommended (they need a trusted third party, or pool the data).
BASELINES = ("plain_trusted_third_party", "pooled")
DEFAULT_RESULTS = Path("bench") / "results_ipp" / "results.jsonl"
# A technique costing more than this factor of another applicable one in both time and bytes
# is excluded as dominated (it buys no trust the other does not also offer at this cell).
DOMINATED_FACTOR = 10.0
# How the data must be split for techniques whose scenario holds both kinds (a model can be fitted
# on rows split across holders or on columns split across them); others follow their scenario.
_PARTITIONING = {"mpc_regression": "horizontal", "mpc_vertical_regression": "vertical"}
_SPLIT_WORDS = {"horizontal": "by rows (each holder has other units)",
                "vertical": "by columns (each holder has other variables of the same units)",
                "join": "as partly overlapping unit sets"}
# What a run's statistic also delivers: an intersection-sum protocol gives the count with the sum.
_COVERS = {"intersection_sum": {"intersection_sum", "intersection_size"}}
# Latency assumed for a catalogue case, which states none: partners in one country.
CASE_LATENCY_MS = 10.0


@dataclass(frozen=True)
class Ranked:
    """A technique that applies, its place, and the figures and runs behind it."""

    rank: int
    technique: str
    family: str
    wall: Prediction
    bytes: Prediction | None
    rounds: Prediction | None
    accuracy: str
    trust_needs: tuple[str, ...]
    reason: str
    nearest: str  # the nearest measured cell, in words
    run_ids: tuple[str, ...]
    parties: int | None = None  # the party count its cost is read at

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "technique": self.technique, "family": self.family,
                "wall_s": self.wall.to_dict(), "bytes": self.bytes.to_dict() if self.bytes else None,
                "rounds": self.rounds.to_dict() if self.rounds else None, "accuracy": self.accuracy,
                "trust_needs": list(self.trust_needs), "reason": self.reason, "nearest": self.nearest,
                "parties": self.parties, "run_ids": list(self.run_ids)}


@dataclass(frozen=True)
class Excluded:
    technique: str
    reason: str
    run_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"technique": self.technique, "reason": self.reason, "run_ids": list(self.run_ids)}


@dataclass(frozen=True)
class Advice:
    """The recommendation for one case or one set of conditions."""

    case: str | None
    title: str
    scenario: str
    parties: int | None
    records: int | None
    latency_ms: float
    trust: str
    protection: str
    assumptions: tuple[str, ...]  # how the conditions were read, in words
    ranked: tuple[Ranked, ...]
    excluded: tuple[Excluded, ...]
    baselines: tuple[Ranked, ...]
    none_applies: str | None  # why no technique applies, when none does
    legal_notes: str | None
    organisational_notes: str | None
    results: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    computing_parties: int | None = None

    @property
    def run_ids(self) -> tuple[str, ...]:
        ids = [i for r in self.ranked for i in r.run_ids]
        return tuple(dict.fromkeys(ids))

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case, "title": self.title, "scenario": self.scenario, "parties": self.parties,
            "records": self.records, "computing_parties": self.computing_parties,
            "latency_ms": self.latency_ms, "trust": self.trust,
            "trust_offers": sorted(trust_terms.offers(self.trust)),
            "protection": self.protection, "assumptions": list(self.assumptions),
            "ranked": [r.to_dict() for r in self.ranked], "excluded": [e.to_dict() for e in self.excluded],
            "baselines": [b.to_dict() for b in self.baselines], "none_applies": self.none_applies,
            "legal_notes": self.legal_notes, "organisational_notes": self.organisational_notes,
            "results": self.results, "notes": list(self.notes), "run_ids": list(self.run_ids),
        }


def default_results() -> Path:
    """The committed results beside the package in a checkout: the full run
    (bench/results_ipp/results.jsonl), else the quick grid's (quick.jsonl beside it)."""
    here = Path(str(resources.files("confidata"))).resolve()
    for name in (DEFAULT_RESULTS, DEFAULT_RESULTS.with_name("quick.jsonl")):
        for root in (Path.cwd(), *here.parents):
            candidate = root / name
            if candidate.is_file():
                return candidate
    raise ConfidataError(
        f"No committed benchmark results found ({DEFAULT_RESULTS} in this folder or above the "
        "package); give one with --results FILE, or make one with 'confidata ipp bench -o DIR'."
    )


def _human(n: float) -> str:
    if n >= 1e5 and math.log10(n).is_integer():
        return f"10^{int(math.log10(n))}"
    return f"{n:,.0f}"


def _bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def _seconds(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.3g} h"
    if s >= 60:
        return f"{s / 60:.3g} min"
    return f"{s:.3g} s"


def _figure(pred: Prediction, unit) -> str:
    text = unit(pred.value)
    if pred.low is not None and pred.high is not None and not pred.measured and pred.high > pred.low:
        text += f" ({unit(pred.low)}-{unit(pred.high)})"
    unknown = not pred.measured and (pred.low is None or pred.high is None)
    if pred.extrapolated:
        text += " [extrapolated; error unknown: too few runs]" if unknown else " [extrapolated]"
    elif not pred.measured:
        text += " [interpolated]"
    return text


def _nearest(
    runs: Sequence[Any], records: int, parties: int, latency_ms: float
) -> tuple[str, tuple[str, ...]]:
    """The measured cell closest to the asked one (on logs of size and parties, then latency)."""
    def distance(r: Any) -> tuple[float, float]:
        return (abs(math.log(r.records / records)) + abs(math.log(r.parties / parties)),
                abs(float(r.latency_ms) - latency_ms))

    best = min(runs, key=distance)
    cell = [r for r in runs if distance(r) == distance(best)]
    words = (f"{_human(best.records)} records x {best.parties} parties at {best.latency_ms:g} ms "
             f"({len(cell)} run{'s' if len(cell) > 1 else ''})")
    return words, tuple(r.run_id for r in cell)


def _accuracy(runs: Sequence[Any]) -> str:
    got = [r.accuracy for r in runs if r.accuracy]
    if not got:
        return "not measured"
    kinds = {a["kind"] for a in got}
    values = [a["value"] for a in got]
    if kinds == {"exact"}:
        return "exact in every run" if all(v == 0 for v in values) else (
            f"exact kind, largest difference {max(values):.3g}")
    return ", ".join(f"{k} {min(a['value'] for a in got if a['kind'] == k):.3g}-"
                     f"{max(a['value'] for a in got if a['kind'] == k):.3g}" for k in sorted(kinds))


def recommend(
    runs: Sequence[Any],
    *,
    scenario: str,
    parties: int | None,
    records: int | None,
    latency_ms: float,
    trust: str,
    protection: str = "none",
    computing_parties: int | None = None,
    statistic: str | None = None,
    partitioning: str | None = None,
    results: str = "",
    case: UseCase | None = None,
    catalogue: Catalogue | None = None,
    assumptions: Sequence[str] = (),
) -> Advice:
    """Rank the measured techniques of `scenario` that meet `trust` at the asked cell.

    `parties` counts the data holders (the benchmark's party axis; None: each technique at the
    count it was measured at most, said so). `computing_parties` counts those who run the
    protocol when the holders hand their data to others as shares (a case's servers); it decides
    whether an honest majority exists, and secret-sharing techniques are compared at it.
    """
    catalogue = catalogue or load_catalogue()
    if trust not in catalogue.vocabulary["trust"]:
        raise ConfidataError(f"--trust '{trust}' is not a trust model; use one of "
                             f"{', '.join(catalogue.vocabulary['trust'])}.")
    if partitioning is not None and partitioning not in catalogue.vocabulary["partitioning"]:
        raise ConfidataError(f"--partitioning '{partitioning}' is not a partitioning; use one of "
                             f"{', '.join(catalogue.vocabulary['partitioning'])}.")
    known = set(catalogue.vocabulary["scenario"]) | {r.scenario for r in runs}
    if scenario not in known:
        raise ConfidataError(f"--scenario '{scenario}' is not a scenario; use one of "
                             f"{', '.join(sorted(known))}.")
    assumptions = list(assumptions)
    in_scenario = [r for r in runs if r.scenario == scenario and not r.extrapolated]
    ok = [r for r in in_scenario if r.status == "ok" and (r.protection or "none") == protection]
    if records is None and ok:
        counts: dict[int, set] = {}
        for r in ok:
            counts.setdefault(r.records, set()).add(r.technique)
        shared = [n for n, t in counts.items() if len(t) >= 2]
        records = max(shared or counts)
        assumptions.append(f"records per party not stated: compared at {_human(records)}, the largest size "
                           + ("measured for more than one technique" if shared else "measured"))
    models = fit_models(ok)
    techniques = sorted({r.technique for r in in_scenario})
    candidates, excluded, baselines = [], [], []
    for technique in techniques:
        own = [r for r in in_scenario if r.technique == technique]
        mine = [r for r in ok if r.technique == technique]
        cell_parties, party_note = _parties_for(mine, parties, computing_parties)
        if technique in BASELINES:
            if mine and records is not None:
                got = _place(technique, mine, models, scenario, protection, cell_parties, records, latency_ms,
                             party_note)
                if isinstance(got, Ranked):
                    baselines.append(replace(got, reason=_reason(0, got, got)))
            continue
        missing = trust_terms.missing_trust(technique, trust)
        needs = trust_terms.TECHNIQUE_NEEDS.get(technique, ())
        deciders = computing_parties if computing_parties is not None else parties
        if "honest_majority" in needs and deciders is not None and deciders < 3 and not missing:
            missing = [f"honest majority not available: {deciders} computing parties, and a majority that "
                       "does not collude needs at least 3 (with 2, one party alone holds half the shares)"]
        computes = {r.extra.get("statistic") for r in own if r.extra.get("statistic")}
        if statistic is not None and computes and not any(statistic in _COVERS.get(c, {c}) for c in computes):
            missing.append(f"computes {', '.join(sorted(computes))}; the case needs {statistic}")
        split = _PARTITIONING.get(technique)
        if partitioning is not None and split is not None and split != partitioning:
            missing.append(f"fits data split {_SPLIT_WORDS[split]}; the case's are split "
                           f"{_SPLIT_WORDS.get(partitioning, partitioning)}")
        if missing:
            excluded.append(Excluded(technique, "; ".join(missing), tuple(r.run_id for r in own[:3])))
            continue
        if not mine:
            why = _why_unmeasured(own, protection)
            excluded.append(Excluded(technique, why, tuple(r.run_id for r in own)))
            continue
        stopped = _stopped(own, records, cell_parties, latency_ms, protection)
        if stopped is not None:
            excluded.append(stopped)
            continue
        got = _place(technique, mine, models, scenario, protection, cell_parties, records, latency_ms,
                     party_note)
        (candidates if isinstance(got, Ranked) else excluded).append(got)
    ranked = _rank(candidates, excluded)
    none_applies = None
    if not ranked:
        none_applies = _none_applies(scenario, in_scenario, excluded, case)
    notes = []
    if baselines and ranked:
        # the third party is the arrangement a deployment would replace; pooling is the ceiling
        third = [b for b in baselines if b.technique == "plain_trusted_third_party"]
        base = third[0] if third else min(baselines, key=lambda b: b.wall.value)
        top = ranked[0]
        if base.wall.value > 0:
            notes.append(f"{top.technique} takes {_x(top.wall.value / base.wall.value)} the time of the "
                         f"{base.technique} baseline ({_seconds(base.wall.value)}), which needs a party "
                         "trusted with everyone's data in clear.")
    return Advice(
        case=case.slug if case else None, title=case.title if case else f"{scenario} ({trust})",
        scenario=scenario, parties=parties, records=records, latency_ms=latency_ms, trust=trust,
        protection=protection, assumptions=tuple(assumptions), ranked=tuple(ranked),
        excluded=tuple(excluded), baselines=tuple(baselines), none_applies=none_applies,
        legal_notes=case.legal_notes if case else None,
        organisational_notes=case.organisational_notes if case else None, results=results,
        notes=tuple(notes), computing_parties=computing_parties,
    )


def _parties_for(mine: Sequence[Any], parties: int | None, computing: int | None) -> tuple[int | None, str]:
    """The party count to read a technique's cost at, and a note when it is not the asked one."""
    if not mine:
        return parties, ""
    # a protocol run by the holders themselves (MPyC's honest majority) runs among the computing
    # parties when the holders outsource; a helper protocol keeps its holders and adds the helper
    among_holders = "honest_majority" in trust_terms.TECHNIQUE_NEEDS.get(mine[0].technique, ())
    if computing is not None and among_holders:
        return computing, (f"compared at {computing} parties: the holders send shares to the {computing} "
                           "computing parties, who run the protocol")
    if parties is None:
        counts = [r.parties for r in mine]
        most = max(set(counts), key=lambda p: (counts.count(p), -p))
        return most, f"party count not stated: compared at {most}, the count it was measured at most"
    return parties, ""


def _stopped(
    own: Sequence[Any], records: int | None, parties: int | None, latency_ms: float, protection: str
) -> Excluded | None:
    """A run at this cell that did not finish (or a timeout at a smaller size or latency) rules out
    an estimate: no law fitted below may claim a cell where the technique was seen to fail."""
    if records is None:
        return None
    for r in own:
        if (r.protection or "none") != protection or (parties is not None and r.parties != parties):
            continue
        at_size = (r.records == records and float(r.latency_ms) == latency_ms
                   and r.status in ("failed", "refused", "timeout"))
        below = r.status == "timeout" and r.records <= records and float(r.latency_ms) <= latency_ms
        if at_size or below:
            where = "at this size" if r.records == records else f"at {_human(r.records)} records"
            if float(r.latency_ms) != latency_ms:
                where += f" with {r.latency_ms:g} ms latency"
            what = {"timeout": "timed out", "refused": "was refused", "failed": "failed"}[r.status]
            return Excluded(r.technique, f"its run {where} {what}: {r.reason}", (r.run_id,))
    return None


def _why_unmeasured(own: Sequence[Any], protection: str) -> str:
    if not own:
        return "not measured in this scenario"
    failed = [r for r in own if r.status != "ok"]
    if failed and not any(r.status == "ok" for r in own if (r.protection or "none") == protection):
        reasons = sorted({f"{r.status}: {r.reason}" for r in failed
                          if (r.protection or "none") == protection})
        if reasons:
            return "no run finished: " + "; ".join(reasons[:3])
    return f"not measured with output protection '{protection}'"


def _place(technique: str, mine: Sequence[Any], models: dict, scenario: str, protection: str,
           parties: int, records: int, latency_ms: float, party_note: str = "") -> Ranked | Excluded:
    """The technique's figures at the cell, or why they cannot be read there."""
    model: CostModel | None = models.get((scenario, technique, protection))
    measured_parties = sorted({r.parties for r in mine})
    if model is None:
        return Excluded(technique, "no run finished", tuple(r.run_id for r in mine))
    try:
        wall = model.predict(records, parties, latency_ms, "wall_s")
    except ExtrapolationRefused as exc:
        if parties not in measured_parties:
            return Excluded(technique, f"not measured at {parties} parties (measured at "
                            f"{', '.join(map(str, measured_parties))}): {exc}", tuple(r.run_id for r in mine))
        return Excluded(technique, f"not measured near this cell: {exc}", tuple(r.run_id for r in mine))
    except ConfidataError as exc:
        if parties not in measured_parties:
            return Excluded(technique, f"not measured at {parties} parties (measured at "
                            f"{', '.join(map(str, measured_parties))})", tuple(r.run_id for r in mine))
        return Excluded(technique, f"its cost at {_human(records)} records cannot be estimated: "
                        f"{str(exc)[:1].lower()}{str(exc)[1:]}", tuple(r.run_id for r in mine))
    figures = {}
    for metric in ("bytes", "rounds"):
        try:
            figures[metric] = model.predict(records, parties, 0.0, metric)
        except ConfidataError:
            figures[metric] = None
    nearest, near_ids = _nearest(mine, records, parties, latency_ms)
    if party_note:
        nearest += f"; {party_note}"
    return Ranked(0, technique, mine[0].technique_family, wall, figures["bytes"], figures["rounds"],
                  _accuracy(mine), trust_terms.TECHNIQUE_NEEDS.get(technique, ()), "", nearest,
                  tuple(dict.fromkeys(near_ids + wall.run_ids)), parties)


def _rank(candidates: list[Ranked], excluded: list[Excluded]) -> list[Ranked]:
    """By time at the cell; a technique dominated >10x in both time and bytes is excluded."""
    keep = []
    for c in candidates:
        better = [o for o in candidates if o is not c and _ratio(c.wall, o.wall) > DOMINATED_FACTOR
                  and c.bytes and o.bytes and _ratio(c.bytes, o.bytes) > DOMINATED_FACTOR]
        if better:
            o = better[0]
            excluded.append(Excluded(
                c.technique, f"{_ratio(c.bytes, o.bytes):.0f}x the bytes and {_ratio(c.wall, o.wall):.0f}x "
                f"the time of {o.technique} at this size, which also meets the case's trust model",
                c.run_ids))
        else:
            keep.append(c)
    keep.sort(key=lambda c: (c.wall.value, c.bytes.value if c.bytes else math.inf, c.technique))
    ranked = []
    for place, c in enumerate(keep, start=1):
        ranked.append(Ranked(place, c.technique, c.family, c.wall, c.bytes, c.rounds, c.accuracy,
                             c.trust_needs, _reason(place, c, keep[0]), c.nearest, c.run_ids, c.parties))
    return ranked


def _x(ratio: float) -> str:
    """A ratio as people say it: 3.46x, 415x, 1,430x."""
    if not math.isfinite(ratio):
        return "infinitely many times"
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.3g}x"


def _ratio(a: Prediction, b: Prediction) -> float:
    if b.value <= 0:
        return math.inf if a.value > 0 else 1.0
    return a.value / b.value


def _reason(place: int, c: Ranked, first: Ranked) -> str:
    cost = f"{_figure(c.wall, _seconds)}"
    if c.bytes is not None:
        cost += f", {_figure(c.bytes, _bytes)} sent"
    if c.rounds is not None:
        cost += f", {c.rounds.value:.0f} rounds"
    needs = ", ".join(t.replace("_", " ") for t in c.trust_needs) or "nothing declared"
    if place == 0:
        head = "the reference without input privacy"
    elif place == 1:
        head = "fastest that meets the trust model"
    else:
        head = f"{_x(_ratio(c.wall, first.wall))} the time of {first.technique}"
        if c.bytes is not None and first.bytes is not None:
            head += f", {_x(_ratio(c.bytes, first.bytes))} the bytes"
    return f"{head}: {cost}; accuracy {c.accuracy}; assumes {needs}; nearest measured {c.nearest}"


def _none_applies(scenario: str, in_scenario: Sequence[Any], excluded: Sequence[Excluded],
                  case: UseCase | None) -> str:
    if not in_scenario:
        text = f"no technique was measured for the scenario '{scenario}'"
        if case is not None and not case.benchmarked_here and case.not_benchmarked_reason:
            text += f": {case.not_benchmarked_reason}"
        return text
    reasons = sorted({e.reason for e in excluded})
    return "every measured technique is excluded: " + " | ".join(reasons[:4])


def recommend_case(runs: Sequence[Any], slug: str, *, latency_ms: float | None = None,
                   protection: str = "none", results: str = "",
                   catalogue: Catalogue | None = None) -> Advice:
    """The recommendation for a catalogue case, its conditions read from the catalogue."""
    catalogue = catalogue or load_catalogue()
    case = catalogue.get(slug)
    scenario = case.benchmark_scenario or case.reference_scenario
    assumptions = [f"scenario {scenario} (the case's "
                   f"{'benchmark' if case.benchmark_scenario else 'reference'} scenario)"]
    sizes = [n for n in case.sizes.records.values() if n is not None]
    records = max(sizes) if sizes else None
    if sizes:
        assumptions.append(f"records per party: {_human(records)}, the largest holder's in the catalogue")
    inputs = case.with_role("input")
    input_ids = {p.id for p in inputs}
    computing = [p for p in case.parties if "computing" in p.roles]
    parties = case.sizes.input_parties
    if parties is not None:
        assumptions.append(f"{parties} data holders, as the catalogue states")
    elif not any(p.kind == "group" for p in inputs):
        parties = len(inputs)
        assumptions.append(f"{parties} data holders, the input parties the catalogue lists")
    else:
        assumptions.append("number of data holders not stated (a group): each technique compared at the "
                           "count it was measured at most")
    computing_parties = None
    if not input_ids & {p.id for p in computing}:
        computing_parties = len(computing)
        assumptions.append(f"{computing_parties} computing parties: the holders hand their data as shares or "
                           "ciphertexts to them, so an honest majority is counted among these")
    if case.benchmark_statistic:
        assumptions.append(f"it needs {case.benchmark_statistic} computed (benchmark_statistic)")
    if latency_ms is None:
        latency_ms = CASE_LATENCY_MS
        assumptions.append(f"added latency {latency_ms:g} ms (partners in one region; the catalogue "
                           "states none; --latency to change)")
    return recommend(runs, scenario=scenario, parties=parties, records=records, latency_ms=latency_ms,
                     trust=case.trust, protection=protection, computing_parties=computing_parties,
                     statistic=case.benchmark_statistic, partitioning=case.partitioning,
                     results=results, case=case,
                     catalogue=catalogue, assumptions=assumptions)
