"""Conform a raw frame to a schema: one pandas dtype per kind, missing tokens resolved.

The typed frame is what every other part of confidata works on:

* categorical / ordinal -> ``pandas.Categorical`` over the schema's levels (ordered if ordinal);
* integer -> nullable ``Int64``; continuous -> ``float64``;
* date / datetime -> ``datetime64``; identifier / text -> ``string``.

A declared missing token that is a valid value of the kind (``-8`` in an integer column) stays
a value and is flagged by the schema (`missing_mask`); any other missing token becomes a
missing cell. A value the schema does not allow is an error that names the column, how many
rows and the first row number, never the value.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from confidata.errors import ConfidataWarning, SchemaError
from confidata.table.schema import Column, Kind, Schema

__all__ = ["code_text", "conform", "conform_together", "is_number", "missing_mask", "unseen_tokens",
           "value_text", "widen"]


def conform(raw: pd.DataFrame, schema: Schema, *, source: str = "the data") -> pd.DataFrame:
    """A new frame with the schema's columns, in schema order, each of its kind's dtype."""
    raw = raw.reset_index(drop=True)
    out = {c.name: _conform_column(raw[c.name], c, source) for c in schema}
    return pd.DataFrame(out, index=pd.RangeIndex(len(raw)))


def missing_mask(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """True where a cell is missing or holds one of its column's missing codes."""
    masks = {}
    for column in schema:
        values = frame[column.name]
        mask = values.isna().to_numpy()
        codes = [t for t in column.missing_values if t != ""]
        if codes:
            mask = mask | code_text(values).isin(codes).to_numpy()
        masks[column.name] = mask
    return pd.DataFrame(masks, index=frame.index)


def code_text(values: pd.Series) -> pd.Series:
    """Values as the text a person writes: 1.0 -> '1', missing -> ''. Vectorised over uniques."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = np.array([value_text(u) for u in uniques] + [""], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype=object)


def value_text(value: object) -> str:
    """One value as a person writes it: 1.0 -> '1', 2.5 -> '2.5', 'A' -> 'A'."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    return str(value)


def _conform_column(values: pd.Series, column: Column, source: str) -> pd.Series:
    kind = column.kind
    if kind.is_categorical:
        return _categorical(values, column, source)
    if kind.is_numeric:
        return _numeric(values, column, source)
    if kind in (Kind.DATE, Kind.DATETIME):
        return _dates(values, column, source)
    text = pd.Series(code_text(values), dtype="string")
    return text.mask(text.isin(list(column.missing_values)))


def _categorical(values: pd.Series, column: Column, source: str) -> pd.Series:
    levels = list(column.levels)
    if _already_conformed(values, column, levels):
        return values
    text = code_text(values)
    if levels and all(is_number(lv) for lv in levels):
        text = _canonical_codes(text, levels)
    missing = [t for t in column.missing_values if t not in levels]
    absent = text.isin(missing) | (text == "")
    if not levels:
        levels = sorted(text[~absent].unique(), key=_natural)
    bad = ~absent & ~text.isin(levels)
    if bad.any():
        _fail(column, source, bad, "value(s) that are not among its allowed_values",
              "add the missing levels to allowed_values (or to missing_values) in the schema")
    cat = pd.Categorical(text.where(~absent), categories=levels, ordered=column.kind is Kind.ORDINAL)
    return pd.Series(cat, index=values.index)


def unseen_tokens(raw: pd.DataFrame, schema: Schema) -> dict[str, list[str]]:
    """Per column, the tokens of `raw` its schema would refuse: category levels the schema does
    not list, and non-numeric tokens in a number column that are not declared missing.

    A schema inferred from the training part of a file lacks the levels that only its holdout
    (or a synthetic file) holds: every 80/20 split of a file with a many-level code has some.
    Comparing such files means reading those levels, not refusing them (see `widen`).
    """
    found: dict[str, list[str]] = {}
    for column in schema:
        if column.name not in raw.columns:
            continue
        values = raw[column.name]
        if column.kind.is_categorical and column.levels:
            if isinstance(values.dtype, pd.CategoricalDtype):
                used = np.unique(values.cat.codes.to_numpy())
                tokens = pd.Series([value_text(values.cat.categories[i]) for i in used if i >= 0],
                                   dtype=object)
            else:
                tokens = pd.Series(code_text(values).unique(), dtype=object)
            levels = list(column.levels)
            if all(is_number(lv) for lv in levels):
                tokens = _canonical_codes(tokens, levels)
            new = tokens[~tokens.isin([*levels, *column.missing_values, ""])]
        elif column.kind.is_numeric and not pd.api.types.is_numeric_dtype(values.dtype):
            tokens = pd.Series(code_text(values).unique(), dtype=object)
            parsed = pd.to_numeric(tokens.str.strip(), errors="coerce")
            new = tokens[parsed.isna() & ~tokens.isin([*column.missing_values, ""])]
        else:
            continue
        if len(new):
            found[column.name] = sorted(set(new), key=_natural)
    return found


def widen(schema: Schema, tokens: dict[str, list[str]]) -> Schema:
    """`schema` with the `unseen_tokens` read: new category levels appended after the known ones
    (after the last level of an ordinal, whose order they cannot be placed in), new tokens in a
    number column declared missing."""
    for name, new in tokens.items():
        column = schema[name]
        if column.kind.is_categorical:
            schema = schema.replace_column(name, levels=(*column.levels, *new))
        else:
            schema = schema.replace_column(name, missing_values=(*column.missing_values, *new))
    return schema


def conform_together(schema: Schema, frames: dict[str, pd.DataFrame | None]
                     ) -> tuple[Schema, dict[str, pd.DataFrame | None], dict[str, dict[str, int]]]:
    """Frames compared with one another (real, synthetic, holdout), conformed to one schema.

    Category levels (and number tokens) that the other files hold but `schema`, inferred from
    the first ("real", the training part), lacks are read instead of refused: the schema is
    widened (`widen`), every frame is conformed to it once, and what was widened is counted per
    file: column names and counts only, as the levels themselves may be confidential.
    """
    first = next(iter(frames))
    found = {role: unseen_tokens(frame, schema) for role, frame in frames.items()
             if role != first and frame is not None}
    merged: dict[str, list[str]] = {}
    for tokens in found.values():
        for name, new in tokens.items():
            merged[name] = list(dict.fromkeys([*merged.get(name, []), *new]))
    if not merged:
        return schema, frames, {}
    wide = widen(schema, merged)
    names = [c.name for c in wide]
    conformed = {role: None if frame is None else
                 conform(frame[[n for n in names if n in frame.columns]],
                         wide.select([n for n in names if n in frame.columns]),
                         source=f"the {role} data")
                 for role, frame in frames.items()}
    counts = {}
    for role, tokens in found.items():
        if not tokens:
            continue
        frame = conformed[role]
        rows = np.zeros(len(frame), dtype=bool)
        for name, new in tokens.items():
            if wide[name].kind.is_categorical:
                rows |= frame[name].isin(new).to_numpy()
        counts[role] = {"columns": len(tokens), "levels": sum(map(len, tokens.values())),
                        "rows": int(rows.sum()), "names": sorted(tokens)}
    return wide, conformed, counts


def _already_conformed(values: pd.Series, column: Column, levels: list[str]) -> bool:
    """A frame conformed before (a measure called on what `read_table` returned) passes as is."""
    dtype = values.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        and bool(levels)
        and dtype.ordered == (column.kind is Kind.ORDINAL)
        and list(dtype.categories) == levels
    )


def _canonical_codes(text: pd.Series, levels: list[str]) -> pd.Series:
    """Numeric codes written differently ('1.0', '01', ' 1') matched to the level '1'."""
    by_value: dict[float, str] = {}
    for level in levels:
        if by_value.setdefault(float(level), level) != level:
            return text  # two levels with the same value ('1' and '01'): keep text as is
    codes, uniques = pd.factorize(text)
    mapped = [by_value.get(float(u), u) if u not in levels and is_number(u) else u for u in uniques]
    return pd.Series(np.asarray(mapped, dtype=object)[codes], index=text.index)


def _natural(level: str) -> tuple[int, float, str]:
    try:
        return (0, float(level), level)
    except ValueError:
        return (1, 0.0, level)


def _numeric(values: pd.Series, column: Column, source: str) -> pd.Series:
    if column.kind is Kind.INTEGER and values.dtype == "Int64":
        _check_range(values.dropna(), column, source)
        return values
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        text_missing = pd.Series(False, index=values.index)
    else:
        text = code_text(values)
        codes, uniques = pd.factorize(text)
        parsed = pd.to_numeric(pd.Series(uniques).str.strip(), errors="coerce").to_numpy(dtype=float)
        numbers = pd.Series(parsed[codes], index=values.index)
        declared = set(column.missing_values) | {""}
        text_missing = text.isin(declared)
        bad = numbers.isna() & ~text_missing
        if bad.any():
            _fail(column, source, bad, f"entries that are not numbers although it is {column.kind.value}",
                  "declare those tokens in missing_values, or change the column's type")
        numbers = numbers.where(~text_missing | numbers.notna())
    infinite = pd.Series(np.isinf(numbers.to_numpy(dtype=float)), index=numbers.index)
    if infinite.any():
        _fail(column, source, infinite, "infinite value(s)",
              "replace them with a number, or leave those cells empty (missing)")
    finite = numbers.dropna()
    if column.kind is Kind.INTEGER:
        fractional = numbers.notna() & (numbers != np.round(numbers))
        if fractional.any():
            _fail(column, source, fractional, "value(s) with decimals although it is integer",
                  "change its type to continuous")
        result = numbers.astype("Int64")
    else:
        result = numbers.astype(float)
    _check_range(finite, column, source)
    return result


def _check_range(numbers: pd.Series, column: Column, source: str) -> None:
    codes = {float(t) for t in (*column.missing_values, *column.special_values) if is_number(t)}
    values = numbers[~numbers.isin(codes)] if codes else numbers
    outside = pd.Series(False, index=values.index)
    if column.minimum is not None:
        outside |= values < column.minimum
    if column.maximum is not None:
        outside |= values > column.maximum
    if outside.any():
        warnings.warn(
            f"{source}: column '{column.name}' has {int(outside.sum())} value(s) outside the "
            f"schema's range (first at data row {int(outside.idxmax()) + 1}); widen the range "
            "or check the data.",
            ConfidataWarning,
            stacklevel=5,
        )


def is_number(token: str) -> bool:
    """Whether a missing-value token or level is a number ('-8', '1.5'), not text ('N')."""
    try:
        float(token)
    except ValueError:
        return False
    return True


def _dates(values: pd.Series, column: Column, source: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return _naive_utc(values)
    text = code_text(values)
    absent = text.isin(set(column.missing_values) | {""})
    dayfirst = column.extra.get("date_format") == "dayfirst"
    zoned = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})\s*$", regex=True).any()
    parsed = pd.to_datetime(text.where(~absent), errors="coerce", dayfirst=dayfirst, format="mixed",
                            utc=bool(zoned))  # rows written in several zones: all to UTC
    bad = parsed.isna() & ~absent
    if bad.any():
        _fail(column, source, bad, f"entries that are not {column.kind.value}s",
              "fix them or declare them in missing_values")
    return _naive_utc(parsed)


def _naive_utc(stamps: pd.Series) -> pd.Series:
    """Times with a zone ('2013-01-01T10:00:00Z', '...-05:00') as UTC without one: one dtype
    for the whole column, whatever zones its rows were written in, that numbers and bins agree on."""
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        return stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps


def _fail(column: Column, source: str, bad: pd.Series, what: str, fix: str) -> None:
    first = int(np.flatnonzero(bad.to_numpy())[0]) + 1
    raise SchemaError(
        f"{source}: column '{column.name}' has {int(bad.sum())} {what} (first at data row "
        f"{first}); {fix}."
    )
