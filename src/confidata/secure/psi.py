"""Private set intersection: what a holder brings, what a result holds, and the plain computation.

The protocols themselves live in `psi_ecdh` (two holders, Diffie-Hellman on a prime-order group)
and `psi_helper` (two holders and a helper that matches keyed pseudonyms); `psi_party` runs one
party as a process. Three statistics (``[study] statistic``):

* ``intersection_size``: |A n B|, both set sizes, and each holder's coverage share (the share of
  its units found in the other's set) with a 95% Wilson interval; for the HLG-MOS coverage case.
* ``intersection``: the units in the intersection, revealed only to the result parties (each sees
  which of its own rows are matched; nothing of the other's non-matched units).
* ``intersection_sum``: sum, count and mean of the value holder's column over the intersection,
  the intersection itself revealed to nobody (Ion et al. 2020, "On deploying secure computing:
  private intersection-sum-with-cardinality", EuroS&P).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from confidata.errors import SchemaError
from confidata.secure.identifiers import IdentifierSet, normalise_identifiers
from confidata.secure.psi_sum_bfv import check_sum_range
from confidata.secure.study import Study

__all__ = ["PsiInput", "PsiResult", "plain_psi", "psi_input", "wilson"]

_Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """The Wilson score interval for a share k/n (well-behaved at 0 and 1, unlike Wald's)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class PsiInput:
    """One holder's contribution: its distinct normalised keys and, for a sum, their values."""

    ids: IdentifierSet
    values: np.ndarray | None = None  # int64, aligned with ids.keys (value holder only)

    @property
    def encoded(self) -> list[bytes]:
        return self.ids.encoded()

    def __len__(self) -> int:
        return len(self.ids.keys)


def psi_input(study: Study, frame: pd.DataFrame, holder: str) -> PsiInput:
    """Normalise a holder's identifiers and, for the value holder of a sum, check its values."""
    ids = normalise_identifiers(study, frame)
    if len(ids.keys) > study.max_records:
        raise SchemaError(
            f"The data hold {len(ids.keys):,} distinct identifiers, more than the study's [limits] "
            "max_records; raise max_records."
        )
    values = None
    if study.statistic == "intersection_sum" and holder == study.value_holder:
        col = study.value
        if col not in frame.columns:
            raise SchemaError(
                f"The data lack the value column '{col}' that the study names; rename the column or "
                "fix the study's [value] column."
            )
        if ids.duplicates:
            raise SchemaError(
                f"Identifier column(s) {', '.join(repr(c) for c in study.identifier)}: {ids.duplicates} "
                f"row(s) repeat an identifier, so the value column '{col}' is ambiguous for them; "
                "sum the values per identifier first."
            )
        raw = pd.to_numeric(frame[col].iloc[ids.rows], errors="coerce").to_numpy(dtype=np.float64)
        bad = int((~np.isfinite(raw) | (raw != np.round(raw))).sum())
        if bad:
            raise SchemaError(
                f"Column '{col}' (value): {bad} row(s) are missing or not whole numbers; impute them, "
                "or scale the column to whole units (cents, say)."
            )
        outside = int(((raw < study.value_min) | (raw > study.value_max)).sum())
        if outside:
            raise SchemaError(
                f"Column '{col}' (value): {outside} row(s) lie outside the study's public bounds "
                f"[{study.value_min:g}, {study.value_max:g}]; widen the bounds or top-code the data."
            )
        if study.technique == "ecdh":  # the packed BFV sum carries |sum| < 2**58 exactly
            check_sum_range(study, len(raw))
        elif max(abs(study.value_min), abs(study.value_max)) * max(1, len(raw)) >= 2.0**62:
            raise SchemaError(
                "The sum could exceed 2**62 with these bounds and this many rows; rescale the value."
            )
        values = raw.astype(np.int64)
    return PsiInput(ids, values)


@dataclass
class PsiResult:
    """What a result party learns (and what the plain computation gives, to compare with)."""

    study: str
    statistic: str
    technique: str
    sizes: dict[str, int]  # every holder's number of distinct identifiers (all holders learn these)
    intersection_size: int | None = None
    members: list[str] | None = None  # 'intersection': this party's matched keys (normalised)
    member_rows: list[int] | None = None  # their row numbers in this party's file (0-based)
    total: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def mean(self) -> float | None:
        if self.total is None or not self.intersection_size:
            return None
        return self.total / self.intersection_size

    def coverage(self) -> dict[str, dict[str, float]]:
        if self.intersection_size is None:
            return {}
        out = {}
        for name, n in self.sizes.items():
            low, high = wilson(self.intersection_size, n)
            out[name] = {"share": self.intersection_size / n if n else 0.0, "low": low, "high": high}
        return out

    def to_dict(self) -> dict:
        return {
            "study": self.study,
            "statistic": self.statistic,
            "technique": self.technique,
            "sizes": self.sizes,
            "intersection_size": self.intersection_size,
            "coverage": self.coverage(),
            "members": self.members,
            "member_rows": self.member_rows,
            "sum": self.total,
            "count": self.intersection_size if self.statistic == "intersection_sum" else None,
            "mean": self.mean,
            "notes": self.notes,
        }


def plain_psi(study: Study, inputs: dict[str, PsiInput], party: str | None = None) -> PsiResult:
    """The same statistic computed in the clear from all holders' inputs (for tests and the demo).

    ``party`` picks whose view of an 'intersection' to give (its own matched keys and rows).
    """
    names = [p.name for p in study.holders]
    common = inputs[names[0]].ids.keys.astype(str)
    for n in names[1:]:
        common = np.intersect1d(common, inputs[n].ids.keys.astype(str))
    res = PsiResult(
        study.name,
        study.statistic,
        "plain",
        {n: len(inputs[n]) for n in names},
        intersection_size=len(common),
    )
    if study.statistic == "intersection":
        mine = inputs[party or names[0]]
        matched = np.isin(mine.ids.keys.astype(str), common)
        res.members = [str(k) for k in mine.ids.keys[matched]]
        res.member_rows = [int(r) for r in mine.ids.rows[matched]]
    if study.statistic == "intersection_sum":
        holder = inputs[study.value_holder]
        matched = np.isin(holder.ids.keys.astype(str), common)
        res.total = int(holder.values[matched].sum())
    return res
