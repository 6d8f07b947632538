"""CART's side of holding relations: redraws from the fitted trees and re-encoding.

`confidata.synth.rules.hold_column` decides which rows of a just-drawn column must change
and to what; this module gives it what only CART has (a redraw of some rows from the same
trees, the real values kept in the leaves) and turns the changed column back into the parts
that later columns use as predictors. Kept apart from `cart.py`, which is long enough.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from confidata.synth._encode import MISSING_LEVEL, decode_column
from confidata.synth._fitted import Step
from confidata.synth.rules import hold_column
from confidata.table.relations import Relation
from confidata.table.schema import Column, Schema

__all__ = ["hold_drawn", "real_spans"]

Draw = Callable[[Step, list[np.ndarray], np.ndarray, np.random.Generator], np.ndarray]


def hold_drawn(column: Column, steps: Sequence[Step], arrays: list[np.ndarray],
               decoded: dict[str, pd.Series], bins: list[np.ndarray], relations: list[Relation],
               schema: Schema, draw: Draw, rng: np.random.Generator,
               spans: Callable[[str], tuple[float, float] | None] | None = None
               ) -> tuple[list[np.ndarray], pd.Series]:
    """The column's part arrays and decoded values after its relations are held (`spans`:
    the real range of a numeric column, from the values the fitted model holds)."""
    parts = [s.part for s in steps]
    values = decoded[column.name]
    if any(s.derived for s in steps):
        return arrays, values  # a derived column (a formula) is not redrawn

    def redraw(rows: np.ndarray) -> pd.Series:
        fresh = [a[rows].copy() for a in arrays]
        for k, step in enumerate(steps):
            where = np.arange(len(rows))
            if step.part.kind == "value" and k > 0:
                fresh[k][:] = np.nan
                where = where[fresh[0] == 0]
            if len(where):
                fresh[k][where] = draw(step, [bins[j] for j in step.predictors], rows[where], rng)
        return decode_column(parts, fresh, column)

    def pool() -> pd.Series:
        last = steps[-1]
        real = last.leaf_values if last.leaf_values is not None else np.zeros(0)
        return decode_column([last.part], [real], column).dropna()

    held = hold_column(column.name, values, decoded, relations, schema, redraw=redraw, pool=pool,
                       rng=rng, spans=spans)
    if held is values:
        return arrays, values
    return _encode_changed(parts, arrays, values, held, column), held


def _encode_changed(parts: list, arrays: list[np.ndarray], before: pd.Series, after: pd.Series,
                    column: Column) -> list[np.ndarray]:
    """Part arrays with the rows whose value changed encoded again (others kept as drawn)."""
    old = before.astype(object).to_numpy()
    new = after.astype(object).to_numpy()
    gone, blank_now = pd.isna(old), pd.isna(new)
    same = gone & blank_now
    both = ~gone & ~blank_now  # compared only where both hold a value: pd.NA == x is no bool
    same[both] = np.asarray(old[both] == new[both], dtype=bool)
    changed = np.flatnonzero(~same)
    out = [a.copy() for a in arrays]
    if not len(changed):
        return out
    missing = pd.isna(new[changed])
    first = parts[0]
    if column.kind.is_categorical:
        index = {level: i for i, level in enumerate(first.levels)}
        blank = index.get(MISSING_LEVEL, -1)
        looked = pd.Series(new[changed], dtype=object).map(index)
        codes = np.where(missing, blank, looked.fillna(-1).to_numpy()).astype(np.int64)
        ok = codes >= 0
        out[0][changed[ok]] = codes[ok]
        return out
    if not column.kind.is_numeric:
        return out  # dates and text are never part of a relation
    numbers = pd.to_numeric(after.iloc[changed], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if len(parts) == 1:
        keep = ~missing
        out[0][changed[keep]] = numbers[keep]
        return out
    blank = first.levels.index(MISSING_LEVEL) if MISSING_LEVEL in first.levels else -1
    out[0][changed[~missing]] = 0
    out[1][changed[~missing]] = numbers[~missing]
    if blank >= 0:
        out[0][changed[missing]] = blank
        out[1][changed[missing]] = np.nan
    return out


def real_spans(steps: Sequence[Step], schema: Schema) -> Callable[[str], tuple[float, float] | None]:
    """A look-up of a numeric column's real range (smallest and largest value the fitted model
    holds in its leaves), for a sum's target to stay within; None for other columns."""
    known: dict[str, tuple[float, float] | None] = {}

    def span(name: str) -> tuple[float, float] | None:
        if name not in known:
            own = [s for s in steps if s.part.column == name]
            column = schema[name]
            known[name] = None
            if own and column.kind.is_numeric and own[-1].leaf_values is not None:
                values = pd.to_numeric(decode_column([own[-1].part], [own[-1].leaf_values], column),
                                       errors="coerce").dropna()
                if len(values):
                    known[name] = (float(values.min()), float(values.max()))
        return known[name]

    return span
