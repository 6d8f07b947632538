"""Local aggregation: each party reduces its own records to exact per-cell sums before any
secure computation, so only one small vector per party is ever secret-shared.

The data are checked against the study first: every study column present with a usable kind,
grouping values among the study's levels, values and weights within the public bounds, no
missing values. Messages name the column and the number of offending rows, never a value.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from confidata.errors import SchemaError
from confidata.secure.scaling import FixedPointPlan
from confidata.secure.study import Study
from confidata.table import Schema, read_table

__all__ = ["LocalAggregates", "aggregate", "read_party_data", "schema_fingerprint"]


@dataclass(frozen=True)
class LocalAggregates:
    """Exact per-cell sums of one party (or of all data, for the plain computation).

    Every array has one entry per cell (C order over the study's levels) and holds Python ints
    (dtype object) at the plan's scales: ``n`` records, ``W`` = sum of scaled weights,
    ``S1`` = sum of w_s * x_s, ``S2`` = sum of w_s * x_s**2.
    """

    n: np.ndarray
    W: np.ndarray
    S1: np.ndarray
    S2: np.ndarray

    def __add__(self, other: LocalAggregates) -> LocalAggregates:
        return LocalAggregates(self.n + other.n, self.W + other.W, self.S1 + other.S1, self.S2 + other.S2)

    def as_integers(self) -> list[int]:
        """Every number held, for tests that search the wire for them."""
        return [int(v) for arr in (self.n, self.W, self.S1, self.S2) for v in arr]


def read_party_data(
    study: Study, path: str | Path, schema: str | Path | None = None
) -> tuple[pd.DataFrame, Schema]:
    frame, found = read_table(path, schema)
    missing = [c for c in study.columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"Data file '{path}' lacks column(s) {', '.join(repr(c) for c in missing)} that the "
            f"study '{study.name}' uses; rename the columns or fix the study."
        )
    return frame, found


def schema_fingerprint(study: Study, schema: Schema) -> str:
    """A hash of how this party's schema types the study's columns (names, numeric or not).

    Parties compare it before computing: a party whose column is typed differently (a weight
    read as text, say) stops everyone, named.
    """
    described = [
        [c, "numeric" if schema[c].kind.is_numeric else "categorical"] for c in study.columns if c in schema
    ]
    grouping = [[c, "categorical"] for c in study.by]
    described = grouping + [d for d in described if d[0] not in study.by]
    text = json.dumps(described, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cell_codes(study: Study, frame: pd.DataFrame) -> np.ndarray:
    codes = np.zeros(len(frame), dtype=np.int64)
    for col in study.by:
        levels = study.levels[col]
        values = frame[col]
        text = values.astype("string")
        # whole-number floats (1.0) match the level "1"
        numeric = pd.to_numeric(values, errors="coerce") if values.dtype.kind == "f" else None
        if numeric is not None:
            whole = numeric.notna() & (numeric == numeric.round())
            text = text.where(~whole, numeric.round().astype("Int64").astype("string"))
        idx = pd.Index(list(levels)).get_indexer(text.fillna("\x00missing").to_numpy(dtype=object))
        idx = idx.astype(np.int64)
        bad = int((idx < 0).sum())
        if bad:
            raise SchemaError(
                f"Column '{col}': {bad} row(s) are missing or hold a level the study does not list; "
                f"list every level under [levels] {col} = [...] or recode the data."
            )
        codes = codes * len(levels) + idx
    return codes


def _bounded(frame: pd.DataFrame, col: str, lo: float, hi: float, what: str) -> np.ndarray:
    values = pd.to_numeric(frame[col], errors="coerce")
    bad_missing = int(values.isna().sum())
    if bad_missing:
        raise SchemaError(
            f"Column '{col}' ({what}): {bad_missing} row(s) are missing or not numbers; "
            "impute or drop them before the study."
        )
    arr = values.to_numpy(dtype=np.float64)
    outside = int(((arr < lo) | (arr > hi)).sum())
    if outside:
        raise SchemaError(
            f"Column '{col}' ({what}): {outside} row(s) lie outside the study's public bounds "
            f"[{lo:g}, {hi:g}]; widen the bounds in the study or top-code the data."
        )
    return arr


def _group_sum(codes: np.ndarray, values: np.ndarray, n_cells: int) -> np.ndarray:
    """Exact sums per cell of integer values (object or int64 arrays), as Python ints."""
    out = np.zeros(n_cells, dtype=object)
    if len(codes) == 0:
        return out
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sums = np.add.reduceat(values[order], starts)
    out[sorted_codes[starts]] = [int(s) for s in sums]
    return out


def _scaled(arr: np.ndarray, bits: int) -> np.ndarray:
    """round(arr * 2**bits) as Python ints (exact: scaling by a power of two is exact in floats)."""
    return np.array([int(v) for v in np.rint(arr * float(2**bits))], dtype=object)


def aggregate(study: Study, frame: pd.DataFrame, plan: FixedPointPlan) -> LocalAggregates:
    """Check the frame against the study and reduce it to exact per-cell sums."""
    n_cells = study.n_cells
    codes = _cell_codes(study, frame)
    n = np.bincount(codes, minlength=n_cells).astype(object)
    n = np.array([int(v) for v in n], dtype=object)
    if len(frame) > study.max_records:
        raise SchemaError("The data hold more rows than the study's [limits] max_records; raise max_records.")
    if study.weight:
        w = _scaled(_bounded(frame, study.weight, 0.0, study.weight_max, "weight"), plan.fw)
    else:
        w = None
    if study.value:
        x = _scaled(_bounded(frame, study.value, study.value_min, study.value_max, "value"), plan.fx)
        wx = x if w is None else w * x
        s1 = _group_sum(codes, wx, n_cells)
        s2 = _group_sum(codes, wx * x, n_cells)
    else:
        s1 = s2 = np.zeros(n_cells, dtype=object)
    big_w = n.copy() if w is None else _group_sum(codes, w, n_cells)
    return LocalAggregates(n=n, W=big_w, S1=s1, S2=s2)
