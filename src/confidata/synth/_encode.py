"""Encode a typed frame into the parts a sequential synthesizer models, and decode them back.

Each synthesised column becomes one or two *parts*, as in synthpop:

* a categorical or ordinal column is one categorical part: level codes, with "missing" as one
  more level when the column has missing cells;
* a numeric (or date) column with missing cells or declared missing codes becomes an
  *indicator* part first (value present / missing / each code), then a *value* part holding
  the number where one is present. The value is modelled only on rows that have one.

Every part is also cut into bins (``uint16``) so it can serve as a predictor of later parts:
levels are their own bins; numbers go into at most 255 quantile bins of the real data, bin 0
meaning "no value".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from confidata.table.conform import is_number
from confidata.table.schema import Column, Kind

__all__ = ["Part", "decode_column", "encode_column", "numeric_edges", "to_bins", "MISSING_LEVEL"]

MISSING_LEVEL = "<missing>"
VALUE_STATE = "<value>"
MAX_NUMERIC_BINS = 255
MAX_CATEGORY_BINS = 1024


@dataclass
class Part:
    """One modelled variable of the visit sequence."""

    column: str
    kind: str  # "category", "indicator" or "value"
    levels: list[str] = field(default_factory=list)  # category/indicator states, in code order
    edges: np.ndarray | None = None  # value parts: sorted bin points from the real data
    integer: bool = False  # value parts: round synthetic values to whole numbers

    @property
    def name(self) -> str:
        return self.column if self.kind != "indicator" else f"{self.column}#state"

    @property
    def is_categorical(self) -> bool:
        return self.kind != "value"

    @property
    def n_bins(self) -> int:
        if self.is_categorical:
            return min(len(self.levels), MAX_CATEGORY_BINS)
        # bin 0: no value; 1..len: at or below each edge; len + 1: above the last quantile cut
        return len(self.edges) + 2 if self.edges is not None else 1


def encode_column(values: pd.Series, column: Column) -> tuple[list[Part], list[np.ndarray]]:
    """The parts of one column and their arrays (codes as int32, values as float64)."""
    if column.kind.is_categorical:
        levels = [str(v) for v in values.cat.categories]
        codes = values.cat.codes.to_numpy().astype(np.int32)
        if (codes < 0).any():
            codes = np.where(codes < 0, len(levels), codes).astype(np.int32)
            levels = [*levels, MISSING_LEVEL]
        return [Part(column.name, "category", levels)], [codes]
    numbers = _as_numbers(values, column)
    missing = np.isnan(numbers)
    codes = [t for t in column.missing_values if t != "" and is_number(t)]
    states = np.zeros(len(numbers), dtype=np.int32)
    levels = [VALUE_STATE]
    if missing.any():
        levels.append(MISSING_LEVEL)
        states[missing] = len(levels) - 1
    for token in codes:
        hit = numbers == float(token)
        if hit.any():
            levels.append(token)
            states[hit] = len(levels) - 1
    value = np.where(states == 0, numbers, np.nan)
    integer = column.kind is Kind.INTEGER or column.kind is Kind.DATE
    present = value[~np.isnan(value)]
    part = Part(column.name, "value", edges=numeric_edges(present), integer=integer)
    if len(levels) == 1:
        return [part], [value]
    return [Part(column.name, "indicator", levels), part], [states, value]


def _as_numbers(values: pd.Series, column: Column) -> np.ndarray:
    if column.kind in (Kind.DATE, Kind.DATETIME):
        stamps = pd.to_datetime(values)
        out = np.full(len(values), np.nan)
        ok = stamps.notna().to_numpy()
        seconds = stamps[ok].astype("datetime64[s]").astype("int64").to_numpy()
        out[ok] = seconds / 86400.0 if column.kind is Kind.DATE else seconds.astype(float)
        return out
    return pd.to_numeric(values, errors="coerce").astype(float).to_numpy()




def numeric_edges(values: np.ndarray) -> np.ndarray:
    """Bin points: the distinct values when few, else quantiles of the real values."""
    distinct = np.unique(values)
    if len(distinct) <= MAX_NUMERIC_BINS:
        return distinct
    cuts = np.quantile(values, np.linspace(0, 1, MAX_NUMERIC_BINS + 1)[1:-1], method="lower")
    return np.unique(cuts)


def to_bins(part: Part, array: np.ndarray) -> np.ndarray:
    """Bin numbers (uint16) of a part's array, for use as a predictor."""
    if part.is_categorical:
        return np.minimum(array, MAX_CATEGORY_BINS - 1).astype(np.uint16)
    out = np.zeros(len(array), dtype=np.uint16)
    ok = ~np.isnan(array)
    if part.edges is not None and len(part.edges):
        out[ok] = (np.searchsorted(part.edges, array[ok], side="left") + 1).astype(np.uint16)
    return out


def decode_column(parts: list[Part], arrays: list[np.ndarray], column: Column) -> pd.Series:
    """The synthetic column, in the dtype and codes of the real one."""
    if column.kind.is_categorical:
        part, codes = parts[0], arrays[0]
        levels = [lv for lv in part.levels if lv != MISSING_LEVEL]
        dtype = pd.CategoricalDtype(levels, ordered=column.kind is Kind.ORDINAL)
        labels = np.array(part.levels, dtype=object)[codes]
        labels[labels == MISSING_LEVEL] = None
        return pd.Series(pd.Categorical(labels, dtype=dtype))
    value = arrays[-1].astype(float).copy()
    if len(parts) == 2:
        states = arrays[0]
        levels = parts[0].levels
        value[states != 0] = np.nan
        for code, token in enumerate(levels):
            if token not in (VALUE_STATE, MISSING_LEVEL):
                value[states == code] = float(token)
    if column.kind is Kind.INTEGER:
        return pd.Series(pd.array(np.round(value), dtype="Float64")).astype("Int64")
    if column.kind is Kind.DATE:
        days = np.round(value)
        return pd.Series(pd.to_datetime(days, unit="D", errors="coerce"))
    if column.kind is Kind.DATETIME:
        return pd.Series(pd.to_datetime(value, unit="s", errors="coerce"))
    return pd.Series(value)
