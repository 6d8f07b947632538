"""Discretisation for the DP synthesizers: every column becomes codes 0..size-1 on a domain
that one record cannot move unless the move is paid for.

* A categorical or ordinal column uses the schema's levels, plus one "missing" code, where the
  schema declares them public. Levels that ``inspect`` read from the data (marked "from data,
  not public") or that the schema lacks are *bought*: each observed level's count gets noise
  (Gaussian for zCDP, Laplace for pure DP) and only levels whose noisy count clears a
  threshold are kept; the others become one "(other)" level. A level held by one record
  clears the threshold with probability at most ``threshold_delta`` (split over the columns),
  which the accountant takes out of delta (the stability-based histogram of Korolova et al.
  2009 and Bun & Steinke 2016). The spend is recorded under the purpose "domain".
* A number (integer, continuous, date) gets bins plus one code for "missing" and one per
  numeric missing code declared in the schema. Values outside the bins' range are clipped
  into the edge bins.

  - An integer whose public range holds at most ``n_bins`` values gets one bin per value,
    for free.
  - Any other number gets bins at *differentially private quantiles*, paid from the
    discretisation budget (``bounds_share`` of the total, split evenly over these columns,
    recorded in the ledger as "discretisation"). The values are counted on a fine public
    grid of at most 4,096 cells between the schema's bounds: one cell per whole number when
    an integer range is that small, else the union of 2,048 equal-width cells and 2,048 cells
    equal-width in ``sign(x - a) * log(1 + |x - a| / c)`` (a: 0 or the nearer bound,
    c: 1/10,000 of the range), which resolves skewed columns over many orders of magnitude.
    The counts are released as a tree of noisy histograms (branching 16, ``h`` <= 3 levels,
    the finest being the cells): one record changes one count per level by 1, so the L1
    sensitivity is ``h`` (Laplace, pure epsilon-DP, PrivBayes) and the L2 sensitivity
    ``sqrt(h)`` (Gaussian, zCDP, MST and AIM). Every prefix count is then a sum of at most
    15 noisy counts per level; the noisy cumulative distribution is made monotone and cut
    where it crosses ``j / n_bins`` of its total; a cell that holds at least one bin's share
    on its own (a point mass, such as an income of 0) becomes a bin of its own.
    Everything after the noise is post-processing: the edges depend on the data only
    through the noisy counts.
  - When the schema lacks a public bound, half the column's share buys the bounds (purpose
    "domain") from one noisy histogram on a data-free grid of half-octaves (see `_bounds`):
    the bulk of the data, followed outward while the cells beyond still look non-empty, a
    positive range starting at 0 where its low end is small beside its high end. The other
    half then places quantile bins between those bounds as above. Where nothing but the cell
    at 0 clears the noise, the run refuses, naming the column and the fix: there is no honest
    bound to give.
  - With no discretisation budget (``discretise(..., bounds_budget=0)``) or
    ``binning="equal-width"``, a number with schema bounds gets ``n_bins`` equal-width bins
    between them, for free.

Values outside the bounds are clipped into the edge bins (never into a single value), and
decoding draws a value uniformly within its bin (whole numbers for integer columns), so
synthetic values stay within the declared or purchased bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from confidata.errors import SynthesisError, quote_names
from confidata.synth._encode import MISSING_LEVEL, VALUE_STATE, Part, _as_numbers, decode_column
from confidata.synth.dp._accountant import PrivacyAccountant
from confidata.synth.dp._bounds import bought_bounds
from confidata.synth.dp._noise import Noise
from confidata.table.conform import is_number
from confidata.table.schema import Column, Kind, Schema

__all__ = ["Attribute", "OTHER_LEVEL", "bought_levels", "decode", "discretise", "encode", "may_be_missing",
           "paid_columns", "public_range", "unpublic_levels"]

BRANCHING = 16  # of the tree of noisy histograms
MAX_CELLS = 4096  # BRANCHING ** 3: at most three levels
OTHER_LEVEL = "(other)"  # the level that stands for every level not bought


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
    binning: str = ""  # number: "one per value", "equal-width" or "DP quantiles"
    missing_as: str = ""  # category: the level that missing cells without a code are counted in

    @property
    def n_bins(self) -> int:
        return len(self.edges) - 1

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "size": self.size, "levels": self.levels,
                "edges": self.edges, "states": self.states, "integer": self.integer,
                "bounds_from": self.bounds_from, "binning": self.binning,
                "missing_as": self.missing_as}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attribute:
        return cls(**data)


def _is_integer(column: Column) -> bool:
    return column.kind in (Kind.INTEGER, Kind.DATE)


def public_range(column: Column) -> tuple[float | None, float | None]:
    """The bounds a DP method may use for free: the schema's, unless they were read from the
    data (then neither)."""
    if not column.domain_public:
        return None, None
    return column.minimum, column.maximum


def _free(column: Column, n_bins: int) -> bool:
    """A number binned without spending: an integer with at most `n_bins` values in its
    public range (one bin per value)."""
    low, high = public_range(column)
    if low is None or high is None or not _is_integer(column):
        return False
    low, high = sorted((low, high))
    return math.ceil(high) - math.floor(low) + 1 <= n_bins


def paid_columns(schema: Schema, names: list[str], n_bins: int) -> list[str]:
    """The numbers in `names` whose discretisation spends budget (DP quantiles, and the
    bounds where the schema lacks them)."""
    return [n for n in names if not schema[n].kind.is_categorical and not _free(schema[n], n_bins)]


def unpublic_levels(schema: Schema, names: list[str]) -> list[str]:
    """The categorical columns in `names` whose levels are not public: read from the data by
    `inspect`, or missing from the schema."""
    return [n for n in names if schema[n].kind.is_categorical
            and (not schema[n].domain_public or not schema[n].levels)]


def _level_threshold(scale: float, gaussian: bool, delta: float) -> float:
    """The noisy count a level must reach so that a level held by one record (true count 1)
    is kept with probability at most `delta`."""
    if gaussian:
        return 1.0 + scale * float(NormalDist().inv_cdf(1.0 - delta))
    return 1.0 + scale * math.log(1.0 / (2.0 * delta))


def bought_levels(values: pd.Series, column: Column, accountant: PrivacyAccountant, cost: float,
                  delta: float, noise: Noise) -> tuple[list[str], bool, str]:
    """The levels of `column` whose noisy count clears the threshold, in the schema's order
    (or sorted); OTHER_LEVEL is appended when an observed level was left out, and
    MISSING_LEVEL last when the missing cells' count (always measured, even when 0) clears the
    same threshold. Charges `cost` under "domain". One record changes one count by 1:
    sensitivity 1.

    Also whether the purchase failed (by the noisy counts, post-processing at no further cost,
    most of the column would fall into OTHER_LEVEL: a collapsed column no user should get), and
    where missing cells that did not clear are counted: OTHER_LEVEL when there is one, else the
    kept level with the largest noisy count (few rows, fewer than the threshold with high
    probability), so that a column whose levels were all bought never shows a made-up level."""
    observed = values.dropna().astype(str).value_counts()
    order = [lv for lv in column.levels if lv in observed.index]
    order += sorted(lv for lv in observed.index if lv not in set(order))
    observed = pd.concat([observed, pd.Series({MISSING_LEVEL: int(values.isna().sum())})])
    order.append(MISSING_LEVEL)
    detail = f"levels of '{column.name}' (noisy counts above a threshold)"
    gaussian = accountant.unit == "rho"
    if gaussian:
        scale = accountant.gaussian(cost, "domain", detail)
        noisy = noise.gaussian(observed[order].to_numpy(dtype=float), scale)
    else:
        scale = accountant.laplace(cost, "domain", detail)
        noisy = noise.laplace(observed[order].to_numpy(dtype=float), scale)
    keep = noisy >= _level_threshold(scale, gaussian, delta)
    kept = [lv for lv, k in zip(order[:-1], keep[:-1], strict=True) if k]
    mass = np.clip(noisy, 0.0, None)
    failed = bool(mass[~keep].sum() > 0.5 * mass.sum()) or not kept
    largest = max(kept, key=lambda lv: noisy[order.index(lv)], default="")
    if not keep[:-1].all():  # an observed level left out: "(other)" stands for it
        kept.append(OTHER_LEVEL)
    if keep[-1]:
        return [*kept, MISSING_LEVEL], failed, ""
    return kept, failed, OTHER_LEVEL if OTHER_LEVEL in kept else largest


def discretise(data: pd.DataFrame, schema: Schema, names: list[str], accountant: PrivacyAccountant,
               bounds_budget: float, n_bins: int, max_levels: int, noise: Noise, *,
               binning: str = "quantile", levels_budget: float = 0.0) -> list[Attribute]:
    """The domain of every column in `names`. Spends `levels_budget` (split evenly, threshold
    probability ``accountant.threshold_delta`` split too) on the levels of `unpublic_levels`,
    and `bounds_budget` (split evenly) on the numbers of `paid_columns`: DP quantile bins, and
    bounds where the schema lacks public ones. With ``bounds_budget == 0`` or
    ``binning="equal-width"`` numbers with public bounds get equal-width bins and nothing is
    spent on them. The caller refuses beforehand when levels must be bought without a budget."""
    if binning not in ("quantile", "equal-width"):
        raise ValueError("binning must be 'quantile' or 'equal-width'")
    attributes: list[Attribute | None] = []
    paid = []
    to_buy = unpublic_levels(schema, names)
    if to_buy and not (levels_budget > 0 and accountant.threshold_delta > 0):
        raise ValueError("levels not declared public need a levels budget and a threshold delta")
    collapsed = []
    for name in names:
        column = schema[name]
        if column.kind.is_categorical:
            if name in to_buy:
                levels, failed, missing_as = bought_levels(data[name], column, accountant,
                                                           levels_budget / len(to_buy),
                                                           accountant.threshold_delta / len(to_buy),
                                                           noise)
                if failed:
                    collapsed.append(name)
                source = "bought under the budget"
            else:
                levels, source, missing_as = list(column.levels), "levels", ""
                if may_be_missing(column):
                    levels.append(MISSING_LEVEL)
                else:
                    _refuse_undeclared_missing(data[name], column)
            if len(levels) - (MISSING_LEVEL in levels) > max_levels:
                raise SynthesisError(
                    f"Column '{name}' has {len(levels)} levels, more than max_levels={max_levels}; "
                    "group its levels in the schema, declare it as a number, or raise max_levels."
                )
            attributes.append(Attribute(name, "category", len(levels), levels=levels, bounds_from=source,
                                        missing_as=missing_as))
            continue
        if not may_be_missing(column):
            _refuse_undeclared_missing(data[name], column)
        low, high = public_range(column)
        bounded = low is not None and high is not None
        if bounded and (_free(column, n_bins) or binning == "equal-width" or bounds_budget <= 0):
            attributes.append(_equal_width(column, low, high, n_bins, "schema"))
        else:
            attributes.append(None)
            paid.append(name)
    if collapsed:
        raise SynthesisError(
            f"At this budget most rows of {quote_names(collapsed)} fall in levels whose noisy "
            "counts do not clear the threshold that keeps a level held by one record out, so the "
            f"synthetic column(s) would be mostly '{OTHER_LEVEL}'. Declare their public levels in "
            "the schema (allowed_values; then delete the \"domain\" marker), or give a larger "
            "--levels-share or --epsilon."
        )
    if paid:
        share = bounds_budget / len(paid)
        for name in paid:
            column = schema[name]
            values = _as_numbers(data[name], column)
            low, high = public_range(column)
            if low is not None and high is not None:
                attr = _quantile_bins(values, column, low, high, n_bins, accountant, share, noise, "schema")
            else:
                attr = _estimated_bins(values, column, n_bins, accountant, share, noise,
                                       quantiles=binning == "quantile")
            attributes[names.index(name)] = attr
    return [a for a in attributes if a is not None]


def _codes(column: Column) -> list[float]:
    """The column's numeric missing codes (each its own state)."""
    return [float(t) for t in column.missing_values if t != "" and is_number(t)]


def may_be_missing(column: Column) -> bool:
    """Whether the schema lets the column hold missing cells: its missing_values list the empty
    cell or a token that is not one of its values (a numeric code such as -8 is a value of its
    own, not a missing cell). Domain knowledge, not data: a column declared without them gets no
    "missing" code, so noise cannot put missing cells into it."""
    if column.kind.is_categorical:
        return any(t not in column.levels for t in column.missing_values)
    return any(t == "" or not is_number(t) for t in column.missing_values)


def _refuse_undeclared_missing(values: pd.Series, column: Column) -> None:
    if values.isna().any():
        raise SynthesisError(
            f"Column '{column.name}' has missing cells, but its schema declares no missing values; "
            "add \"\" (or its missing code) to the column's missing_values in the schema."
        )


def _states(column: Column) -> list[str]:
    codes = [t for t in column.missing_values if t != "" and is_number(t)]
    return [MISSING_LEVEL, *codes] if may_be_missing(column) else codes


def _number(column: Column, edges: list[float], source: str, binning: str) -> Attribute:
    states = _states(column)
    return Attribute(column.name, "number", len(edges) - 1 + len(states), edges=edges, states=states,
                     integer=_is_integer(column), bounds_from=source, binning=binning)


def _equal_width(column: Column, low: float, high: float, n_bins: int, source: str) -> Attribute:
    low, high = sorted((float(low), float(high)))
    if _is_integer(column):
        low, high = math.floor(low), math.ceil(high)
        span = high - low + 1  # whole numbers low..high
        bins = min(n_bins, span)
        edges = [float(e) for e in np.unique(low + np.round(np.linspace(0, span, bins + 1)))]
        return _number(column, edges, source, "one per value" if bins == span else "equal-width")
    if high == low:
        high = low + 1.0
    return _number(column, [float(e) for e in np.linspace(low, high, n_bins + 1)], source, "equal-width")


# -- public grids ----------------------------------------------------------------------------
def schema_grid(low: float, high: float, integer: bool) -> np.ndarray:
    """Cell boundaries (increasing, at most MAX_CELLS + 1) of the fine public grid between
    schema bounds; integer grids have whole-number boundaries, the last one ``high + 1``."""
    low, high = sorted((float(low), float(high)))
    if integer:
        low, high = math.floor(low), math.ceil(high)
        if high - low + 1 <= MAX_CELLS:
            return np.arange(low, high + 2, dtype=float)
    elif high == low:
        high = low + 1.0
    half = MAX_CELLS // 2
    linear = np.linspace(low, high, half + 1)
    anchor = min(max(0.0, low), high)  # 0, or the bound nearer to it
    c = (high - low) * 1e-4
    t = np.linspace(-math.log1p((anchor - low) / c), math.log1p((high - anchor) / c), half + 1)
    logs = anchor + np.sign(t) * c * np.expm1(np.abs(t))
    points = np.concatenate([linear, logs, [anchor]])
    if integer:
        points = np.concatenate([np.round(points), [high + 1.0]])
    points = np.unique(np.clip(points, low, high + 1.0 if integer else high))
    return points[: MAX_CELLS + 1] if len(points) > MAX_CELLS + 1 else points


def cells_of(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Cell of every present value on `grid` (values beyond it go to the end cells)."""
    return np.clip(np.searchsorted(grid, values, side="right") - 1, 0, len(grid) - 2)


def _present(values: np.ndarray, column: Column) -> np.ndarray:
    """The column's values that are neither missing nor a declared missing code."""
    present = values[~np.isnan(values)]
    return present[~np.isin(present, _codes(column))]


def histogram(values: np.ndarray, column: Column, grid: np.ndarray) -> np.ndarray:
    """Exact counts per cell of the column's present values (missing values and declared
    missing codes are left out); one record adds 1 to one cell or to none."""
    return np.bincount(cells_of(_present(values, column), grid), minlength=len(grid) - 1).astype(float)


# -- the noisy release ----------------------------------------------------------------------
def tree_levels(n_cells: int) -> int:
    """Levels of the tree of histograms over `n_cells` cells (public: depends on the grid only)."""
    return max(1, math.ceil(math.log(n_cells, BRANCHING) - 1e-9))


def noisy_tree(counts: np.ndarray, accountant: PrivacyAccountant, cost: float, detail: str,
               noise: Noise) -> list[np.ndarray]:
    """The counts summed in blocks of BRANCHING**(h-1), ..., BRANCHING, 1 cells (the h levels
    of a tree, padded with empty cells), each count with noise; charges `cost`. One record
    changes one count per level by one: L1 sensitivity h, L2 sensitivity sqrt(h)."""
    h = tree_levels(len(counts))
    padded = np.zeros(BRANCHING**h)
    padded[: len(counts)] = counts
    if accountant.unit == "rho":
        scale = accountant.gaussian(cost, "discretisation", detail, sensitivity=math.sqrt(h))
        draw = noise.gaussian
    else:
        scale = accountant.laplace(cost, "discretisation", detail, sensitivity=float(h))
        draw = noise.laplace
    levels = []
    for level in range(1, h + 1):
        block = BRANCHING ** (h - level)
        levels.append(draw(padded.reshape(-1, block).sum(axis=1), scale))
    return levels


def noisy_cdf(levels: list[np.ndarray], n_cells: int) -> np.ndarray:
    """Noisy count of present values below each of the n_cells + 1 cell boundaries, made
    non-decreasing and non-negative (post-processing of the tree only)."""
    h = len(levels)
    k = np.arange(n_cells + 1)
    prefix = np.zeros(n_cells + 1)
    for level, counts in enumerate(levels, start=1):
        block = BRANCHING ** (h - level)
        sums = np.concatenate([[0.0], np.cumsum(counts)])
        # the whole blocks of this level below k that no coarser level has counted
        counted = (k // (block * BRANCHING)) * BRANCHING if level > 1 else 0
        prefix += sums[k // block] - sums[counted]
    return np.maximum.accumulate(np.clip(prefix, 0.0, None))


def quantile_edges(cdf: np.ndarray, grid: np.ndarray, n_bins: int) -> np.ndarray | None:
    """Bin edges (grid boundaries) where the noisy cumulative count crosses j / n_bins of its
    total, plus both ends of the grid; a cell holding a bin's share on its own gets a bin of
    its own. None when the noisy total is not positive."""
    total = cdf[-1]
    if not total > 0:
        return None
    targets = total * np.arange(1, n_bins) / n_bins
    crossing = np.clip(np.searchsorted(cdf, targets, side="left"), 1, len(grid) - 2)
    heavy = np.flatnonzero(np.diff(cdf) >= total / n_bins)  # cells: their left boundary
    heavy = heavy[heavy >= 1]
    index = np.unique(np.concatenate([[0, len(grid) - 1], crossing, heavy, heavy + 1]))
    index = index[index <= len(grid) - 1]
    return grid[index]


# -- the two paid paths -----------------------------------------------------------------------
def _quantile_bins(values: np.ndarray, column: Column, low: float, high: float, n_bins: int,
                   accountant: PrivacyAccountant, cost: float, noise: Noise, source: str) -> Attribute:
    """Bins at DP quantiles on the fine public grid between `low` and `high` (public: declared,
    or bought before this call)."""
    grid = schema_grid(low, high, _is_integer(column))
    detail = f"bins of '{column.name}' (DP quantiles from noisy histograms on a public grid)"
    levels = noisy_tree(histogram(values, column, grid), accountant, cost, detail, noise)
    edges = quantile_edges(noisy_cdf(levels, len(grid) - 1), grid, n_bins)
    if edges is None:  # nothing clears the noise: fall back to equal width (no data used)
        return _equal_width(column, low, high, n_bins, source)
    return _number(column, [float(e) for e in edges], source, "DP quantiles")


def _estimated_bins(values: np.ndarray, column: Column, n_bins: int, accountant: PrivacyAccountant,
                    cost: float, noise: Noise, *, quantiles: bool) -> Attribute:
    """Bounds bought with half of `cost` (a public bound of the schema is kept), then bins
    between them: one per value for a small integer range, else DP quantiles with the rest."""
    known_low, known_high = public_range(column)
    detail = f"bounds of '{column.name}' (noisy histogram on a data-free grid)"
    bounds = bought_bounds(_present(values, column), accountant, cost / 2 if quantiles else cost,
                           noise, detail)
    if bounds is None:
        raise SynthesisError(
            f"Column '{column.name}' has no public range in the schema, and its values are too few "
            f"for its share of the budget to buy one. Declare its public range in the schema file "
            f"(\"range\": {{\"min\": ..., \"max\": ...}}), or give a larger --epsilon "
            f"(in Python also bounds_share)."
        )
    low = float(known_low) if known_low is not None else bounds[0]
    high = float(known_high) if known_high is not None else bounds[1]
    low, high = sorted((low, high))
    if _is_integer(column):
        # the grid's upper boundary is open: whole values below it end one lower
        low, high = math.ceil(low), (math.ceil(high) - 1 if known_high is None else math.floor(high))
        high = max(high, low)
    source = "estimated under the budget"
    if not quantiles or (_is_integer(column) and high - low + 1 <= n_bins):
        return _equal_width(column, low, high, n_bins, source)
    return _quantile_bins(values, column, low, high, n_bins, accountant, cost / 2, noise, source)


def encode(data: pd.DataFrame, schema: Schema, attributes: list[Attribute]) -> dict[str, np.ndarray]:
    """Codes (int64) of every attribute's column."""
    out = {}
    for attr in attributes:
        column = schema[attr.name]
        if attr.kind == "category":
            values = data[attr.name]
            if not isinstance(values.dtype, pd.CategoricalDtype):
                values = values.astype("category")
            lookup = {lv: i for i, lv in enumerate(attr.levels) if lv != MISSING_LEVEL}
            # a level that was not bought, and missing cells without a code of their own (not
            # bought), are counted as "(other)"
            unknown = lookup.get(OTHER_LEVEL, -1)
            missing = (attr.levels.index(MISSING_LEVEL) if MISSING_LEVEL in attr.levels
                       else lookup.get(attr.missing_as, unknown))
            mapping = np.array([lookup.get(str(c), unknown) for c in values.cat.categories] + [missing],
                               dtype=np.int64)
            out[attr.name] = mapping[values.cat.codes.to_numpy()]  # code -1 (missing): the last entry
            continue
        numbers = _as_numbers(data[attr.name], column)
        n_bins = attr.n_bins
        edges = np.asarray(attr.edges)
        codes = np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0, n_bins - 1).astype(np.int64)
        for j, token in enumerate(attr.states):
            if token == MISSING_LEVEL:
                codes[np.isnan(numbers)] = n_bins + j
            else:
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
