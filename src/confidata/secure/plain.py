"""The result of a secure table, and the same statistic computed in the clear for comparison.

`plain_result` applies exactly the formulas the secure protocol evaluates, in exact rational
arithmetic, on the same scaled inputs: the reference that tests and the demo compare with.

Statistics per cell (w = 1 without a weight column, W = sum w, n = records):
count = n (or W), total = sum w*x, mean = sum w*x / W, variance = sum w*(x - mean)**2 / (W - 1)
unweighted (the sample variance), / W with weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from confidata.secure.local import LocalAggregates
from confidata.secure.protection import defined_minimum
from confidata.secure.scaling import FixedPointPlan
from confidata.secure.study import Study

__all__ = ["TableResult", "plain_result"]


@dataclass
class TableResult:
    """One value per cell (None where not opened) and why a cell was not opened."""

    study: str
    statistic: str
    by: tuple[str, ...]
    labels: list[tuple[str, ...]]
    values: list[float | int | None]
    suppressed: list[bool]
    flagged: list[bool]
    undefined: list[bool]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        cells = []
        for i, lab in enumerate(self.labels):
            cells.append(
                {
                    **dict(zip(self.by, lab, strict=True)),
                    "value": self.values[i],
                    "suppressed": self.suppressed[i],
                    "flagged": self.flagged[i],
                    "undefined": self.undefined[i],
                }
            )
        return {
            "study": self.study,
            "statistic": self.statistic,
            "by": list(self.by),
            "cells": cells,
            "notes": self.notes,
        }


def _number(q: Fraction, integral_hint: bool) -> float | int:
    if q.denominator == 1 and integral_hint:
        return int(q)
    return float(q)


def plain_result(study: Study, agg: LocalAggregates, plan: FixedPointPlan) -> TableResult:
    kmin = defined_minimum(study)
    values: list[float | int | None] = []
    sup, flag, undef = [], [], []
    for i in range(study.n_cells):
        n = int(agg.n[i])
        W = Fraction(int(agg.W[i]), 2 ** plan.scale_of("W"))
        S1 = Fraction(int(agg.S1[i]), 2 ** plan.scale_of("S1"))
        S2 = Fraction(int(agg.S2[i]), 2 ** plan.scale_of("S2"))
        small = study.min_cell_size > 0 and n < study.min_cell_size
        u = n < kmin
        undef.append(u)
        sup.append(small and study.small_cells == "suppress" and not u)
        flag.append(small and study.small_cells == "flag" and not u)
        if u or sup[-1]:
            values.append(None)
            continue
        if study.cell == "count":
            values.append(_number(W, True))
        elif study.cell == "total":
            values.append(_number(S1, True))
        elif study.cell == "mean":
            values.append(float(S1 / W))
        else:
            denominator = W if study.weight else W - 1
            values.append(float((S2 - S1 * S1 / W) / denominator))
    return TableResult(study.name, study.cell, study.by, study.cell_labels(), values, sup, flag, undef)
