"""Shared encoding for the general-utility measures: check both frames, then turn each column
into small integer codes (for tables and marginals) or a numeric design block (for propensity
models).

Every measure that compares real with synthetic data must see the two files through the same
lens: the same columns, the same category levels, the same bin edges. This module builds that
lens once, from the schema, and never looks at a cell value when it reports a problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from confidata.errors import SchemaError, quote_names
from confidata.table.conform import conform
from confidata.table.schema import Kind, Role, Schema

__all__ = ["Pair", "column_codes", "numeric_values", "prepare", "joint_codes"]

# Kinds a utility measure cannot compare: free text and record identifiers.
_SKIPPED_KINDS = (Kind.IDENTIFIER, Kind.TEXT)


@dataclass(frozen=True)
class Pair:
    """The real and synthetic frames conformed to one schema, restricted to measured columns."""

    real: pd.DataFrame
    synthetic: pd.DataFrame
    schema: Schema

    @property
    def names(self) -> list[str]:
        return self.schema.names


def prepare(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
    *,
    measure: str,
    columns: Sequence[str] | None = None,
    min_columns: int = 1,
) -> Pair:
    """Check both frames against the schema and conform them; drop identifiers and free text.

    Raises `SchemaError` naming the columns and the fix; never shows a data value.
    """
    if not isinstance(real, pd.DataFrame) or not isinstance(synthetic, pd.DataFrame):
        raise SchemaError(f"{measure}: pass the real and the synthetic data as pandas DataFrames.")
    if columns is None:
        names = [
            c.name for c in schema
            if c.kind not in _SKIPPED_KINDS and not c.has_role(Role.DIRECT_IDENTIFIER)
        ]
    else:
        unknown = [c for c in columns if c not in schema]
        if unknown:
            raise SchemaError(
                f"{measure}: column(s) {quote_names(unknown)} given in 'columns' are not in the "
                "schema; use names from the schema."
            )
        names = list(dict.fromkeys(columns))
    for label, frame in (("real", real), ("synthetic", synthetic)):
        absent = [n for n in names if n not in frame.columns]
        if absent:
            raise SchemaError(
                f"{measure}: the {label} data lacks column(s) {quote_names(absent)} that the "
                "schema describes; add them, or pass 'columns=' to measure fewer."
            )
        if len(frame) == 0:
            raise SchemaError(f"{measure}: the {label} data has no rows; pass a non-empty table.")
    if len(names) < min_columns:
        raise SchemaError(
            f"{measure}: needs at least {min_columns} measurable column(s) but the schema gives "
            f"{len(names)}; identifiers and free text are not measured."
        )
    sub = schema.select(names)
    return Pair(
        real=conform(real[names], sub, source=f"{measure}: the real data"),
        synthetic=conform(synthetic[names], sub, source=f"{measure}: the synthetic data"),
        schema=sub,
    )


def numeric_values(values: pd.Series, kind: Kind | None = None) -> np.ndarray:
    """Floats with NaN for missing; dates (a datetime column, or any column of a date `kind`)
    as days since 1970-01-01."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or kind in (Kind.DATE, Kind.DATETIME):
        stamps = pd.to_datetime(values, errors="coerce")
        days = (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        return days.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def column_codes(
    pair: Pair, name: str, *, n_bins: int, edges_from: str = "real", right_closed: bool = False
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Integer codes of one column for both frames, and a label per code.

    Categories keep the schema's levels (plus levels seen in the data); missing is its own last
    level. Numbers and dates are cut at quantiles — of the real data (``edges_from='real'``) or
    of both files stacked (``'both'``, as synthpop's ``compare()`` does) — into at most
    ``n_bins`` groups (fewer where quantiles tie), plus a missing group. ``right_closed=False``
    makes groups closed on the left, ``[a, b)``, as R's ``cut(right = FALSE)``.
    """
    kind = pair.schema[name].kind
    r, s = pair.real[name], pair.synthetic[name]
    if kind.is_numeric_or_date:
        xr, xs = numeric_values(r), numeric_values(s)
        pool = xr if edges_from == "real" else np.concatenate([xr, xs])
        pool = pool[np.isfinite(pool)]
        if len(pool) == 0:
            edges = np.array([])
        else:
            edges = np.unique(np.quantile(pool, np.linspace(0.0, 1.0, n_bins + 1)))
        inner = edges[1:-1]
        side = "left" if right_closed else "right"

        def cut(x: np.ndarray) -> np.ndarray:
            code = np.searchsorted(inner, x, side=side)
            code[~np.isfinite(x)] = len(inner) + 1
            return code

        labels = [f"group {i + 1}" for i in range(len(inner) + 1)] + ["missing"]
        if len(edges) >= 2:
            lo, hi = ("(", "]") if right_closed else ("[", ")")
            bounds = [-np.inf, *inner, np.inf]
            labels[:-1] = [f"{lo}{a:g}, {b:g}{hi}" for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return cut(xr), cut(xs), labels
    cats_r = r.astype("category") if not isinstance(r.dtype, pd.CategoricalDtype) else r
    cats_s = s.astype("category") if not isinstance(s.dtype, pd.CategoricalDtype) else s
    levels = list(dict.fromkeys([*cats_r.cat.categories, *cats_s.cat.categories]))
    codes = []
    for cats in (cats_r, cats_s):
        code = pd.Categorical(cats, categories=levels).codes.astype(np.int64)
        code[code < 0] = len(levels)
        codes.append(code)
    return codes[0], codes[1], [str(v) for v in levels] + ["missing"]


def joint_codes(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> tuple[np.ndarray, int]:
    """One mixed-radix key per row for a set of coded columns, and the number of cells."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    cells = 1
    for code, size in zip(codes, sizes, strict=True):
        key = key * size + code
        cells *= size
    return key, cells
