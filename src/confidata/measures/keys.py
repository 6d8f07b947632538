"""Which columns are the key variables (quasi-identifiers) of a risk measure, and why.

A disclosure review board must be able to see which rule chose the keys: the caller's own list,
the schema's 'key' role, or, where neither is given, a stated default. `resolve_keys` returns
the keys together with one sentence that says which rule applied; risk measures put it into
``details["keys_rule"]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from confidata.errors import SchemaError, quote_names
from confidata.table.schema import Kind, Role, Schema

__all__ = ["DEFAULT_MAX_LEVELS", "resolve_keys"]

# The default rule takes categorical columns with at most this many distinct values.
DEFAULT_MAX_LEVELS = 50
_EXCLUDED_ROLES = (Role.SENSITIVE, Role.DIRECT_IDENTIFIER, Role.WEIGHT)


def resolve_keys(schema: Schema, frame: pd.DataFrame | None, keys: Sequence[str] | str | None = None,
                 *, allow_default: bool = True, exclude: Sequence[str] = ()) -> tuple[list[str], str]:
    """The key columns and a sentence saying which rule chose them.

    1. ``keys`` given: they win. Names the frame (or, without a frame, the schema) lacks raise
       `SchemaError` naming them.
    2. Otherwise the schema's columns with the role 'key'.
    3. Otherwise (when ``allow_default``) every categorical or ordinal column with at most
       `DEFAULT_MAX_LEVELS` distinct values in ``frame`` that is not sensitive, a direct
       identifier or a weight, nor in `exclude` (a measure's target).
    """
    if keys is not None:
        if isinstance(keys, str):
            keys = [keys]
        keys = list(dict.fromkeys(keys))
        if not keys:
            raise SchemaError("keys=[] is empty; name at least one key (quasi-identifier) column.")
        known = frame.columns if frame is not None else None
        unknown = [k for k in keys if known is not None and k not in known]
        if unknown:
            raise SchemaError(
                f"The key(s) {quote_names(unknown)} are not columns of the data; check the "
                "spelling or pass keys that the data hold."
            )
        return keys, f"Keys {quote_names(keys, limit=10)} were given by the caller (keys=...)."
    found = schema.with_role(Role.KEY)
    if found:
        return found, f"Keys {quote_names(found, limit=10)} are the schema's columns with role 'key'."
    if not allow_default or frame is None:
        raise SchemaError(
            "No key variables: pass keys=[...] or give the quasi-identifier columns the "
            "role 'key' in the schema."
        )
    chosen = []
    for column in schema:
        if not column.kind.is_categorical or column.name not in frame.columns:
            continue
        if any(column.has_role(r) for r in _EXCLUDED_ROLES) or column.kind is Kind.IDENTIFIER:
            continue
        if column.name in exclude:
            continue
        if frame[column.name].nunique(dropna=True) <= DEFAULT_MAX_LEVELS:
            chosen.append(column.name)
    if not chosen:
        raise SchemaError(
            "No key variables: the schema marks no column 'key' and no categorical column with "
            f"at most {DEFAULT_MAX_LEVELS} levels qualifies by default; pass keys=[...] or give "
            "the quasi-identifier columns the role 'key'."
        )
    return chosen, (
        f"No keys were given and the schema marks none, so by default the keys are "
        f"{quote_names(chosen, limit=10)}: every categorical or ordinal column with at most "
        f"{DEFAULT_MAX_LEVELS} levels that is not sensitive, an identifier or a weight"
        + (f", the target {quote_names(list(exclude))} left out." if exclude else ".")
    )
