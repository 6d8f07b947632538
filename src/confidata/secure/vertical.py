"""The vertical case: what each holder brings, and the same table computed in the clear.

A ``vertical_table`` study joins two holders' units on a shared identifier: holder A holds
``by[0]`` (e.g. region), holder B holds ``by[1]`` (e.g. income band) and, optionally, a numeric
value column (totals or means of B's numbers by A's groups and B's). The result is the
contingency table ``by[0] x by[1]`` over the units both hold, with the output protection of
the horizontal tables (`protection`). The protocol is in `vertical_join` (the join and the
secure product) and `vertical_party` (one party's process, which ends in `protocol.secure_table`).

Each holder reduces its file to three aligned arrays: its distinct normalised identifiers
(`identifiers`), the level code of its column, and (the value holder) the value scaled to a
whole number at the plan's fixed-point scale. A holder whose file repeats an identifier is
refused: its unit would be counted twice, or its value be ambiguous.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from confidata.errors import SchemaError
from confidata.secure.identifiers import IdentifierSet, normalise_identifiers
from confidata.secure.local import LocalAggregates
from confidata.secure.scaling import FixedPointPlan
from confidata.secure.study import Study

__all__ = ["VerticalInput", "plain_vertical", "ring_bits", "vertical_input", "holder_columns"]


@dataclass(frozen=True)
class VerticalInput:
    """One holder's contribution: distinct keys, the level code of its column, its values."""

    ids: IdentifierSet
    codes: np.ndarray  # int64 level code of the holder's 'by' column, aligned with ids.keys
    values: np.ndarray | None = None  # int64 value * 2**plan.fx (value holder only)

    def __len__(self) -> int:
        return len(self.ids.keys)


def holder_columns(study: Study, holder: str) -> tuple[str, str | None]:
    """The 'by' column a holder holds, and its value column (or None)."""
    column = study.by[study.by_holders.index(holder)]
    return column, (study.value if study.value and study.value_holder == holder else None)


def ring_bits(study: Study) -> int:
    """Width of the ring in which the shares are computed: 32 bits for counts, 64 with a value.

    The conversion at the end (`vertical_join.reconstruct_carry`) needs every cell's true value
    inside [-2**(bits - 2), 2**(bits - 2)); `vertical_input` checks the study's bounds allow it.
    """
    return 64 if study.value else 32


def _level_codes(study: Study, frame: pd.DataFrame, column: str) -> np.ndarray:
    levels = study.levels[column]
    values = frame[column]
    text = values.astype("string").str.strip()
    if values.dtype.kind == "f":  # whole-number floats (1.0) match the level "1"
        numeric = pd.to_numeric(values, errors="coerce")
        whole = numeric.notna() & (numeric == numeric.round())
        text = text.where(~whole, numeric.round().astype("Int64").astype("string"))
    idx = pd.Index(list(levels)).get_indexer(text.fillna("\x00missing").to_numpy(dtype=object))
    bad = int((idx < 0).sum())
    if bad:
        raise SchemaError(
            f"Column '{column}': {bad} row(s) are missing or hold a level the study does not list; "
            f"list every level under [levels] {column} = [...] or recode the data."
        )
    return idx.astype(np.int64)


def unit_identifiers(study: Study, frame: pd.DataFrame, holder: str, columns: list[str], *,
                     fix: str, what: str) -> IdentifierSet:
    """A vertical holder's units: its identifiers normalised, one row per unit, within the study's
    limits, and the `columns` the study gives it present; `fix` and `what` word the refusals."""
    missing = [c for c in (*study.identifier, *columns) if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"The data of holder '{holder}' lack column(s) {', '.join(repr(c) for c in missing)} that the "
            f"study '{study.name}' gives it; rename the columns or {fix}."
        )
    ids = normalise_identifiers(study, frame)
    if len(ids.keys) > study.max_records:
        raise SchemaError(
            f"The data hold {len(ids.keys):,} distinct identifiers, more than the study's [limits] "
            "max_records; raise max_records."
        )
    if ids.duplicates:
        raise SchemaError(
            f"Identifier column(s) {', '.join(repr(c) for c in study.identifier)}: {ids.duplicates} row(s) "
            f"repeat an identifier, so their unit's {what} ambiguous; keep one row per unit."
        )
    return ids


def vertical_input(study: Study, frame: pd.DataFrame, holder: str, plan: FixedPointPlan) -> VerticalInput:
    """Check a holder's frame against the study and reduce it to keys, codes and values."""
    column, value = holder_columns(study, holder)
    ids = unit_identifiers(study, frame, holder, [column, *([value] if value else [])],
                           fix="fix the study", what=f"'{column}' is")
    sub = frame.iloc[ids.rows]
    codes = _level_codes(study, sub, column)
    values = None
    if value:
        raw = pd.to_numeric(sub[value], errors="coerce").to_numpy(dtype=np.float64)
        bad = int((~np.isfinite(raw)).sum())
        if bad:
            raise SchemaError(
                f"Column '{value}' (value): {bad} row(s) are missing or not numbers; impute or drop "
                "them before the study."
            )
        outside = int(((raw < study.value_min) | (raw > study.value_max)).sum())
        if outside:
            raise SchemaError(
                f"Column '{value}' (value): {outside} row(s) lie outside the study's public bounds "
                f"[{study.value_min:g}, {study.value_max:g}]; widen the bounds or top-code the data."
            )
        values = np.rint(raw * float(2**plan.fx)).astype(np.int64)
    _check_range(study, plan)
    return VerticalInput(ids, codes, values)


def _check_range(study: Study, plan: FixedPointPlan) -> None:
    """Every cell's count and total must fit the share ring with room for the carry rule."""
    bits = ring_bits(study)
    biggest = study.max_records * (
        max(abs(study.value_min), abs(study.value_max)) * 2.0**plan.fx if study.value else 1.0
    )
    if math.log2(biggest + 1) >= bits - 2:
        raise SchemaError(
            f"A cell of this study could reach 2**{math.log2(biggest + 1):.0f}, beyond the 2**{bits - 2} the "
            "vertical protocol computes in; lower [limits] max_records or rescale the value (thousands)."
        )


def plain_vertical(study: Study, frames: dict[str, pd.DataFrame], plan: FixedPointPlan) -> LocalAggregates:
    """The table in the clear: normalise, merge on the identifier, crosstab (for tests and the demo)."""
    a, b = study.by_holders
    parts = {}
    for holder in (a, b):
        inp = vertical_input(study, frames[holder], holder, plan)
        column, value = holder_columns(study, holder)
        part = pd.DataFrame({"_key": inp.ids.keys.astype(str), column: inp.codes})
        if value:
            part["_value"] = inp.values
        parts[holder] = part
    joined = parts[a].merge(parts[b], on="_key", how="inner")
    la, lb = (len(study.levels[c]) for c in study.by)
    rows = pd.Categorical(joined[study.by[0]], categories=range(la))
    cols = pd.Categorical(joined[study.by[1]], categories=range(lb))
    n = pd.crosstab(rows, cols, dropna=False).to_numpy().reshape(-1) if len(joined) else np.zeros(la * lb)
    cell = joined[study.by[0]].to_numpy(np.int64) * lb + joined[study.by[1]].to_numpy(np.int64)
    s1 = np.zeros(la * lb, dtype=object)
    if study.value:
        sums = pd.Series(joined["_value"].to_numpy(), dtype=object).groupby(cell).sum()
        for i, v in sums.items():
            s1[int(i)] = int(v)
    n_obj = np.array([int(v) for v in n], dtype=object)
    return LocalAggregates(n=n_obj, W=n_obj.copy(), S1=s1, S2=np.zeros(la * lb, dtype=object))
