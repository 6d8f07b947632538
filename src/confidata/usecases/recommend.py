"""Which synthesizer measured runs favour for each use case.

Recommendations come from benchmark runs, not opinion: `bench/evidence.py` condenses the
committed results of `bench/run.py` (every synthesizer on the same real data sets, scored by
one shared yardstick) into `evidence.json` beside this module. For a use case, the methods that
pass its disclosure gate on a data set are ranked by the figure that use case cares about, and
the method ranked first on most data sets is recommended.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from confidata.usecases import get_use_case

__all__ = ["Ranking", "Recommendation", "label", "load_evidence", "recommend"]

# Disclosure gate per use case: (exact copies allowed beyond the holdout's rate, DCR share cap).
_GATES = {"public-release": (0.005, 0.55), "education": (0.005, 0.55),
          "testing-technology": (0.005, 0.55), "testing-analysis": (0.01, 0.60)}
# The figure ranked on, and whether higher is better.
_RANK_BY = {"public-release": ("kmarginal_score", True), "education": ("kmarginal_score", True),
            "testing-analysis": ("kmarginal_score", True), "testing-technology": ("wall_s", False)}
_NOT_HERE = {
    "sdv_gc": "SDV's GaussianCopula, a peer benchmarked beside confidata (not part of it)",
    "syndiffix": "SynDiffix, a peer benchmarked beside confidata (not part of it)",
    "smartnoise_mst": "smartnoise-synth's MST, a peer benchmarked beside confidata (not part of it)",
    "smartnoise_aim": "smartnoise-synth's AIM, a peer benchmarked beside confidata (not part of it)",
}


@dataclass(frozen=True)
class Ranking:
    dataset: str
    about: str
    ranked: tuple[dict[str, Any], ...]  # passing methods, best first
    gated: tuple[dict[str, Any], ...]  # methods that failed the disclosure gate, with why


@dataclass(frozen=True)
class Recommendation:
    use_case: str
    method: str | None
    wins: int
    datasets: int
    rule: str
    rankings: tuple[Ranking, ...]
    notes: tuple[str, ...]


def load_evidence() -> dict[str, Any]:
    """The condensed benchmark results shipped with the package."""
    text = resources.files("confidata.usecases").joinpath("evidence.json").read_text("utf-8")
    return json.loads(text)


def recommend(use_case: str, evidence: dict[str, Any] | None = None,
              implemented: tuple[str, ...] = ()) -> Recommendation:
    """Rank the measured methods for `use_case`; `implemented` lists confidata's methods (to
    say which recommended or planned methods it does not run yet)."""
    get_use_case(use_case)
    evidence = load_evidence() if evidence is None else evidence
    extra, dcr_cap = _GATES[use_case]
    figure, higher = _RANK_BY[use_case]
    rankings, wins, places = [], {}, {}
    for dataset in evidence["datasets"]:
        passing, gated = [], []
        for run in dataset["runs"]:
            why = _gate(run, extra, dcr_cap)
            (gated if why else passing).append({**run, "why": why} if why else run)
        passing.sort(key=lambda r: (r.get(figure) is None,
                                    -(r.get(figure) or 0) if higher else (r.get(figure) or 0)))
        if passing:
            wins[label(passing[0])] = wins.get(label(passing[0]), 0) + 1
        for place, run in enumerate(passing):
            places.setdefault(label(run), []).append(place)
        rankings.append(Ranking(dataset["name"], dataset["about"], tuple(passing), tuple(gated)))
    # most first places; a tie goes to the better mean place among the data sets it passed
    best = min(wins, key=lambda m: (-wins[m], sum(places[m]) / len(places[m]), m)) if wins else None
    notes = []
    if best is not None and implemented and best.split(" ")[0] not in implemented:
        notes.append(f"The method measured best here, {best}, is not implemented in confidata; "
                     "the best of confidata's own methods is listed in each ranking.")
    notes += [f"{label}." for method, label in _NOT_HERE.items()
             if any(r["method"] == method for d in evidence["datasets"] for r in d["runs"])]
    for method in ("mst", "aim", "privbayes"):
        if method not in implemented:
            notes.append(f"{method.upper() if method != 'privbayes' else 'PrivBayes'} "
                         "(differentially private) is not yet implemented in confidata.")
        elif not any(r["method"] == method for d in evidence["datasets"] for r in d["runs"]):
            notes.append(f"{method} is implemented but not yet in the measured evidence.")
    rule = (f"Methods must copy real rows at most {extra:.1%} more often than a holdout does and "
            f"have at most {dcr_cap:.0%} of rows nearer training than holdout; those that pass are "
            f"ranked by {figure} ({'higher' if higher else 'lower'} is better).")
    return Recommendation(use_case, best, wins.get(best, 0) if best else 0, len(rankings), rule,
                          tuple(rankings), tuple(notes))


def label(run: dict[str, Any]) -> str:
    """A method as ranked: differentially private runs carry their epsilon ("mst (epsilon 1)")."""
    eps = run.get("epsilon")
    return run["method"] if eps is None else f"{run['method']} (epsilon {eps:g})"


def _gate(run: dict[str, Any], extra: float, dcr_cap: float) -> str | None:
    exact, holdout = run.get("exact_match_rate"), run.get("exact_match_rate_holdout")
    if exact is not None and holdout is not None and exact > holdout + extra:
        return (f"copies real rows: {exact:.2%} exact matches against {holdout:.2%} for the "
                "holdout")
    share = run.get("dcr_share")
    if share is not None and share > dcr_cap:
        return f"{share:.1%} of rows nearer training than holdout"
    return None
