"""The one result type every measure returns, and the registry entry that describes a measure.

A number alone does not help a disclosure review board: each result carries the reference it
is judged against (its expectation under the null, the same figure on a real holdout or on the
original data), the direction, its sampling error where it samples, a paragraph in plain words
that quotes the value and its reference, the literature it comes from, and the tables a plot
needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import pandas as pd

__all__ = ["Direction", "Family", "MeasureResult", "MeasureSpec", "NEED_WORDS", "Need"]


class Direction(StrEnum):
    """Which way is better for the data's users (utility) or the data's subjects (risk)."""

    LOWER_IS_BETTER = "lower is better"
    HIGHER_IS_BETTER = "higher is better"


class Family(StrEnum):
    UTILITY_GENERAL = "general utility"
    UTILITY_SPECIFIC = "specific utility"
    RISK = "disclosure risk"


@dataclass(frozen=True)
class MeasureResult:
    """A measured value beside its reference, with what it means and where it comes from."""

    name: str
    value: float
    reference: float | None
    reference_kind: str  # "null expectation", "real holdout", "original data", "random baseline"
    direction: Direction
    interpretation: str
    citation: str
    n: int | None = None  # rows the figure was computed on, when it samples
    ci: tuple[float, float] | None = None  # 95% interval, when it samples
    details: Mapping[str, Any] = field(default_factory=dict)
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: numbers as floats (NaN as None), tables as lists of records."""
        return {
            "name": self.name,
            "value": _number(self.value),
            "reference": _number(self.reference),
            "reference_kind": self.reference_kind,
            "direction": self.direction.value,
            "interpretation": self.interpretation,
            "citation": self.citation,
            "n": self.n,
            "ci": None if self.ci is None else [_number(x) for x in self.ci],
            "details": {k: _number(v) if isinstance(v, int | float) else v
                        for k, v in self.details.items()},
            "tables": {k: t.to_dict(orient="records") for k, t in self.tables.items()},
        }


def _number(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


class Need(StrEnum):
    """An input a measure cannot run without, beyond the real and synthetic files."""

    HOLDOUT = "holdout"  # real rows the synthesizer never saw
    TARGET = "target"  # the column an intruder wants to learn or a model predicts
    FORMULA = "formula"  # the user's analysis, 'y ~ x1 + x2'
    KEYS = "keys"  # quasi-identifiers: given, in the schema, or found by the default rule


# What to ask a user for when a need is not met: the evaluate command's own option names.
NEED_WORDS = MappingProxyType({
    Need.HOLDOUT: "a holdout of real rows the synthesizer never saw (--holdout)",
    Need.TARGET: "a target column (--target)",
    Need.FORMULA: "a model (--model 'y ~ x1 + x2')",
    Need.KEYS: "key variables (--keys, or the role 'key' in the schema)",
})


@dataclass(frozen=True)
class MeasureSpec:
    """A registry entry: the function, its family, when it applies, what it needs to run and
    which of the report's plots its result feeds (so `evaluate` reads this instead of naming
    measures)."""

    function: Callable[..., MeasureResult]
    family: Family
    summary: str  # one line for `confidata measures list`
    applies_when: str  # e.g. "always", "keys and a target are given", "a holdout is given"
    needs: frozenset[Need] = frozenset()
    plot: str | None = None  # a key of the report's plots built from this measure's tables
