"""Discretisation for the DP synthesizers: every column becomes codes 0..size-1 on a domain
that does not depend on any one record.

* A categorical or ordinal column uses the schema's levels, plus one "missing" code. The
  schema (column names, kinds, levels, bounds) is treated as public knowledge.
* A number (integer, continuous, date) is cut into equal-width bins between its bounds, plus
  one code for "missing" and one per numeric missing code declared in the schema. The bounds
  come from the schema (``Column.minimum`` / ``maximum``) when it has them: then moving a
  record changes no bin. Where the schema has none they are estimated *under the budget*:
  a noisy histogram of the column on a public grid of signed powers of two (cells
  [2^k, 2^(k+1)) for k = -10..40, the same for negatives, and 0), and the bounds are the
  outer edges of the outermost cells whose noisy count clears three noise scales. That spend
  is recorded in the ledger as "discretisation". Values outside the bounds are clipped into
  the edge bins.

Decoding draws a value uniformly within its bin (whole numbers for integer columns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from confidata.errors import SynthesisError
from confidata.synth._encode import MISSING_LEVEL, VALUE_STATE, Part, _as_numbers, decode_column
from confidata.synth.dp._accountant import PrivacyAccountant
from confidata.table.conform import is_number
from confidata.table.schema import Column, Kind, Schema

__all__ = ["Attribute", "discretise", "encode", "decode"]

GRID_LOW, GRID_HIGH = -10, 40  # powers of two of the public grid for estimated bounds


@dataclass
class Attribute:
    """One column's discrete domain."""

    name: str
    kind: str  # "category" or "number"
    size: int
    levels: list[str] = field(default_factory=list)  # category: labels in code order
    edges: list[float] = field(default_factory=list)  # number: bin edges (bins = len - 1)
    states: list[str] = field(default_factory=list)  # number: codes after the bins
    integer: bool = False
    bounds_from: str = "levels"  # "levels", "schema" or "estimated under the budget"

    @property
    def n_bins(self) -> int:
        return len(self.edges) - 1

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "size": self.size, "levels": self.levels,
                "edges": self.edges, "states": self.states, "integer": self.integer,
                "bounds_from": self.bounds_from}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attribute:
        return cls(**data)


def discretise(data: pd.DataFrame, schema: Schema, names: list[str], accountant: PrivacyAccountant,
               bounds_budget: float, n_bins: int, max_levels: int,
               rng: np.random.Generator) -> list[Attribute]:
    """The domain of every column in `names`; spends `bounds_budget` (in the accountant's
    unit, split evenly) on the numbers whose bounds the schema lacks, nothing otherwise."""
    attributes: list[Attribute | None] = []
    unbounded = []
    for name in names:
        column = schema[name]
        if column.kind.is_categorical:
            levels = list(column.levels) or [str(v) for v in data[name].cat.categories]
            if len(levels) > max_levels:
                raise SynthesisError(
                    f"Column '{name}' has {len(levels)} levels, more than max_levels={max_levels}; "
                    "group its levels in the schema, declare it as a number, or raise max_levels."
                )
            attributes.append(Attribute(name, "category", len(levels) + 1, levels=[*levels, MISSING_LEVEL]))
            continue
        if column.minimum is not None and column.maximum is not None:
            attributes.append(_number(column, column.minimum, column.maximum, n_bins, "schema"))
        else:
            attributes.append(None)
            unbounded.append(name)
    if unbounded:
        share = bounds_budget / len(unbounded)
        for name in unbounded:
            column = schema[name]
            low, high = _estimate_bounds(_as_numbers(data[name], column), column, accountant, share, rng)
            if column.minimum is not None:
                low = column.minimum
            if column.maximum is not None:
                high = column.maximum
            attributes[names.index(name)] = _number(column, low, high, n_bins, "estimated under the budget")
    return [a for a in attributes if a is not None]


def _states(column: Column) -> list[str]:
    codes = [t for t in column.missing_values if t != "" and is_number(t)]
    return [MISSING_LEVEL, *codes]


def _number(column: Column, low: float, high: float, n_bins: int, source: str) -> Attribute:
    integer = column.kind in (Kind.INTEGER, Kind.DATE)
    if high < low:
        low, high = high, low
    if integer:
        low, high = math.floor(low), math.ceil(high)
        span = high - low + 1  # whole numbers low..high
        bins = min(n_bins, span)
        edges = [float(e) for e in np.unique(low + np.round(np.linspace(0, span, bins + 1)))]
    else:
        if high == low:
            high = low + 1.0
        edges = [float(e) for e in np.linspace(low, high, n_bins + 1)]
    states = _states(column)
    return Attribute(column.name, "number", len(edges) - 1 + len(states), edges=edges, states=states,
                     integer=integer, bounds_from=source)


def _grid_cells(values: np.ndarray) -> np.ndarray:
    """Cell of each value on the public grid: 0 for zero, +-(k - GRID_LOW + 1) for the
    magnitude cell [2^k, 2^(k+1)), shifted to 0..2*K so they index a histogram."""
    k_count = GRID_HIGH - GRID_LOW + 1
    magnitude = np.abs(values)
    with np.errstate(divide="ignore"):
        k = np.floor(np.log2(np.where(magnitude > 0, magnitude, 1.0)))
    k = np.clip(k, GRID_LOW, GRID_HIGH).astype(np.int64) - GRID_LOW + 1
    signed = np.where(magnitude == 0, 0, np.sign(values).astype(np.int64) * k)
    return signed + k_count


def _cell_edges(cell: int) -> tuple[float, float]:
    k_count = GRID_HIGH - GRID_LOW + 1
    signed = cell - k_count
    if signed == 0:
        return 0.0, 0.0
    k = abs(signed) - 1 + GRID_LOW
    low = 0.0 if k == GRID_LOW else 2.0**k
    high = 2.0 ** (k + 1)
    return (low, high) if signed > 0 else (-high, -low)


def _estimate_bounds(values: np.ndarray, column: Column, accountant: PrivacyAccountant, cost: float,
                     rng: np.random.Generator) -> tuple[float, float]:
    present = values[~np.isnan(values)]
    present = present[~np.isin(present, [float(t) for t in _states(column)[1:]])]
    k_count = GRID_HIGH - GRID_LOW + 1
    counts = np.bincount(_grid_cells(present), minlength=2 * k_count + 1).astype(float)
    detail = f"bounds of '{column.name}' (noisy histogram on a public grid)"
    if accountant.unit == "rho":
        scale = accountant.gaussian(cost, "discretisation", detail)
        noisy = counts + rng.normal(0.0, scale, size=counts.shape)
    else:
        scale = accountant.laplace(cost, "discretisation", detail)
        noisy = counts + rng.laplace(0.0, scale, size=counts.shape)
    clear = np.flatnonzero(noisy > 3.0 * scale)
    if len(clear) == 0:
        clear = np.array([int(np.argmax(noisy))])
    low = _cell_edges(int(clear[0]))[0]
    high = _cell_edges(int(clear[-1]))[1]
    return low, high


def encode(data: pd.DataFrame, schema: Schema, attributes: list[Attribute]) -> dict[str, np.ndarray]:
    """Codes (int64) of every attribute's column."""
    out = {}
    for attr in attributes:
        column = schema[attr.name]
        if attr.kind == "category":
            values = data[attr.name]
            if not isinstance(values.dtype, pd.CategoricalDtype):
                values = values.astype("category")
            lookup = {lv: i for i, lv in enumerate(attr.levels[:-1])}
            mapping = np.array([lookup.get(str(c), -1) for c in values.cat.categories] + [-1], dtype=np.int64)
            codes = mapping[values.cat.codes.to_numpy()]  # code -1 (missing) picks the last entry
            out[attr.name] = np.where(codes < 0, attr.size - 1, codes)
            continue
        numbers = _as_numbers(data[attr.name], column)
        n_bins = attr.n_bins
        edges = np.asarray(attr.edges)
        codes = np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0, n_bins - 1).astype(np.int64)
        codes[np.isnan(numbers)] = n_bins  # the MISSING_LEVEL state
        for j, token in enumerate(attr.states[1:], start=1):
            codes[numbers == float(token)] = n_bins + j
        out[attr.name] = codes
    return out


def decode(codes: dict[str, np.ndarray], schema: Schema, attributes: list[Attribute],
           rng: np.random.Generator) -> pd.DataFrame:
    """Synthetic columns in the real dtypes: levels, or a uniform draw within each bin."""
    frame = {}
    for attr in attributes:
        column = schema[attr.name]
        code = codes[attr.name]
        if attr.kind == "category":
            part = Part(attr.name, "category", list(attr.levels))
            frame[attr.name] = decode_column([part], [code.astype(np.int32)], column)
            continue
        edges = np.asarray(attr.edges)
        in_bin = code < attr.n_bins
        b = np.minimum(code, attr.n_bins - 1)
        left, right = edges[b], edges[b + 1]
        if attr.integer:
            value = left + np.floor(rng.random(len(code)) * (right - left))
        else:
            value = left + rng.random(len(code)) * (right - left)
        value = np.where(in_bin, value, np.nan)
        states = np.where(in_bin, 0, code - attr.n_bins + 1).astype(np.int32)
        parts = [Part(attr.name, "indicator", [VALUE_STATE, *attr.states]), Part(attr.name, "value")]
        frame[attr.name] = decode_column(parts, [states, value], column)
    return pd.DataFrame(frame)
