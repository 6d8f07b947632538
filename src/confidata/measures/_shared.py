"""The small pieces several measure modules share: seeds, option checks, frame checks, the
Wilson interval and exact row keys over key columns.

Kept in one private module so that measure modules import from here and never from each other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from confidata.errors import MeasureOptionError, SchemaError, quote_names
from confidata.table.conform import code_text
from confidata.table.schema import Kind, Role, Schema

__all__ = ["check_frames", "check_int", "column_keys", "draw_seed", "measured_columns", "need_holdout",
           "require", "require_rows", "row_keys", "seeded", "wilson"]

_Z = float(norm.ppf(0.975))


def draw_seed(seed: int | None) -> int:
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    return int(seed)


def check_int(name: str, value: object, low: int, measure: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise MeasureOptionError(
            f"{measure}: option '{name}' must be an integer of at least {low}; change it."
        )
    return int(value)


def seeded(seed: int | None) -> tuple[int, np.random.Generator]:
    """The seed used (drawn from the OS when None) and a generator on it."""
    seed = draw_seed(seed)
    return seed, np.random.default_rng(seed)


def wilson(successes: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a success rate; (0, 1) when there are no trials."""
    if n <= 0:
        return 0.0, 1.0
    rate = successes / n
    scale = 1.0 + _Z**2 / n
    centre = (rate + _Z**2 / (2 * n)) / scale
    half = _Z / scale * np.sqrt(rate * (1 - rate) / n + _Z**2 / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return float(low), float(high)


def require(frame: pd.DataFrame, columns: Sequence[str], what: str, role: str) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise SchemaError(
            f"The {what} has no column(s) {quote_names(absent)} named as {role}; check the "
            f"spelling or choose {role} that both data sets hold."
        )


def require_rows(frame: pd.DataFrame, what: str) -> None:
    if len(frame) == 0:
        raise SchemaError(f"The {what} has no rows; a disclosure measure needs at least one.")


def column_keys(frames: Sequence[pd.DataFrame], column: str) -> list[np.ndarray]:
    """One column of several frames as joint integer codes; missing is a level of its own.

    Values are compared as the text a person writes (1.0 and 1 are the same category), so a
    column read as Int64 in one frame and float in the other still matches. Numbers compare as
    floats and categories through the text of their levels, so no cell is turned into text.
    """
    series = [f[column].reset_index(drop=True) for f in frames]
    bounds = np.cumsum([0, *[len(s) for s in series]])
    if all(_is_plain_number(s) for s in series):
        values = np.concatenate([s.to_numpy(dtype=float, na_value=np.nan) for s in series])
        codes, _ = pd.factorize(values, use_na_sentinel=True)
    elif all(isinstance(s.dtype, pd.CategoricalDtype) for s in series):
        level_text = [code_text(pd.Series(s.cat.categories, dtype=object)).to_numpy() for s in series]
        _, shared = pd.factorize(np.concatenate(level_text))
        lookup = {text: i for i, text in enumerate(shared)}
        parts = []
        for s, texts in zip(series, level_text, strict=True):
            to_shared = np.array([lookup[t] for t in texts] + [-1], dtype=np.int64)
            parts.append(to_shared[s.cat.codes.to_numpy()])  # code -1 picks the trailing -1
        codes = np.concatenate(parts)
    else:
        values = pd.concat(series, ignore_index=True)
        missing = values.isna().to_numpy()
        codes, _ = pd.factorize(code_text(values).to_numpy(dtype=object))
        codes = np.where(missing, -1, codes)
    codes = np.asarray(codes, dtype=np.int64) + 1  # 0 = missing
    return [codes[bounds[i]:bounds[i + 1]] for i in range(len(series))]


def _is_plain_number(values: pd.Series) -> bool:
    dtype = values.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype) \
        and not isinstance(dtype, pd.CategoricalDtype)


def row_keys(frames: Sequence[pd.DataFrame], columns: Sequence[str]) -> list[np.ndarray]:
    """Each row's combination of `columns` as one integer, the same across `frames` (exact).

    Columns are folded in one at a time: the codes so far times the next column's number of
    levels plus its code, renumbered by hashing after each step so the key never overflows.
    """
    sizes = [len(f) for f in frames]
    if not columns:
        return [np.zeros(n, dtype=np.int64) for n in sizes]
    key = np.zeros(sum(sizes), dtype=np.int64)
    for column in columns:
        code = np.concatenate(column_keys(frames, column))
        key, _ = pd.factorize(key * (int(code.max()) + 1) + code)
        key = np.asarray(key, dtype=np.int64)
    bounds = np.cumsum([0, *sizes])
    return [key[bounds[i]:bounds[i + 1]] for i in range(len(frames))]


def measured_columns(real: pd.DataFrame, schema: Schema) -> list[str]:
    """The schema's columns found in the real data; direct identifiers, record identifiers and
    free text left out (a fresh id per synthetic row says nothing about closeness)."""
    names = [c.name for c in schema if c.name in real.columns
             and not c.has_role(Role.DIRECT_IDENTIFIER) and c.kind not in (Kind.IDENTIFIER, Kind.TEXT)]
    if not names:
        raise SchemaError(
            "None of the schema's columns (direct identifiers aside) are in the real data; "
            "pass the frame the schema describes."
        )
    return names


def check_frames(frames: dict[str, pd.DataFrame], columns: list[str]) -> None:
    for what, frame in frames.items():
        if not isinstance(frame, pd.DataFrame):
            raise SchemaError(f"The {what} must be a pandas DataFrame; pass holdout=<DataFrame>.")
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise SchemaError(
                f"The {what} lacks column(s) {quote_names(absent)} that the real data have; "
                "give it the same columns as the real data."
            )
        if len(frame) == 0:
            raise SchemaError(f"The {what} has no rows; this measure needs at least one.")


def need_holdout(holdout: pd.DataFrame | None, name: str) -> pd.DataFrame:
    if holdout is None:
        raise SchemaError(
            f"{name} needs holdout=<DataFrame>: real rows from the same population that the "
            "synthesizer never saw (split them off before fitting)."
        )
    return holdout
