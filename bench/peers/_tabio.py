"""Shared reading and writing for the peer wrappers (numpy and pandas only).

A training CSV is read as text, then typed from the schema (the layout of the shared data sets'
schema.json: {"columns": [{"name", "type", "missing_values": [...]}, ...]}):

- categorical / ordinal columns stay strings;
- integer / continuous (and date) columns become float64 numbers;
- a missing token that is not a number ('' in SD2011, 'N' in NIST) becomes NaN. A missing
  code that *is* a number (SD2011's -8) stays an ordinary value, as synthpop's defaults treat it:
  turning it into NaN would merge it with '' and lose the difference on the way back.

The synthetic frame is written back in the input's own format: NaN as the token the input used
for that column (or the file's usual token), numbers in the input's style (integers without
'.0', NIST's PINCP with its trailing '.0', decimals as many as the input had).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys

import numpy as np
import pandas as pd

CATEGORICAL = ("categorical", "ordinal", "category", "nominal", "string", "bool", "boolean",
               "binary", "factor", "object")
INTEGER = ("integer", "int", "int64", "count")
NUMERIC = INTEGER + ("continuous", "numeric", "numerical", "float", "float64", "real",
                     "double", "date", "datetime")
_INT = re.compile(r"^-?\d+$")
_INT_DOT0 = re.compile(r"^-?\d+\.0$")


def _is_number(text):
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def load_schema(path):
    """[(name, kind, [missing tokens])], kind one of 'categorical', 'integer', 'continuous'."""
    with open(path) as fh:
        raw = json.load(fh)
    cols = raw["columns"] if isinstance(raw, dict) and "columns" in raw else raw
    if isinstance(cols, dict):
        cols = [dict(spec, name=name) if isinstance(spec, dict) else {"name": name, "type": spec}
                for name, spec in cols.items()]
    out = []
    for spec in cols:
        t = str(spec.get("type", "categorical")).lower()
        if t in CATEGORICAL:
            kind = "categorical"
        elif t in INTEGER:
            kind = "integer"
        elif t in NUMERIC:
            kind = "continuous"
        else:
            raise SystemExit(f"{path}: column {spec['name']!r}: unknown type {t!r}")
        out.append((spec["name"], kind, [str(m) for m in spec.get("missing_values") or []]))
    return out


class Table:
    """A training table typed for a synthesizer, and the way to write a synthetic one back."""

    def __init__(self, csv_path, schema_path):
        self.schema = load_schema(schema_path)
        text = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        names = [c[0] for c in self.schema]
        absent = [c for c in names if c not in text.columns]
        if absent:
            raise SystemExit(f"{csv_path}: columns in the schema but not in the file: {absent}")
        self.columns = names
        self.kinds = {}
        self.na_token = {}
        self.num_format = {}
        frame = {}
        seen_tokens = []
        for name, kind, missing in self.schema:
            col = text[name]
            tokens = [m for m in missing if not _is_number(m)]
            is_na = col.isin(tokens) if tokens else pd.Series(False, index=col.index)
            present_tokens = [t for t in tokens if (col == t).any()]
            self.na_token[name] = present_tokens[0] if present_tokens else (tokens[0] if tokens else None)
            seen_tokens += present_tokens
            self.kinds[name] = kind
            if kind == "categorical":
                frame[name] = col.where(~is_na, None).astype(object)
            else:
                values = pd.to_numeric(col.where(~is_na, None), errors="coerce")
                bad = values.isna() & ~is_na
                if bad.any():
                    example = col[bad].iloc[0]
                    raise SystemExit(f"{csv_path}: column {name!r} ({kind}) has a cell that is "
                                     f"neither a number nor a missing token: {example!r}")
                frame[name] = values.astype("float64")
                self.num_format[name] = self._number_style(col[~is_na], kind)
        # the file's usual missing token, for a column that had none but gets NaN all the same
        self.default_token = max(set(seen_tokens), key=seen_tokens.count) if seen_tokens else ""
        self.frame = pd.DataFrame(frame, columns=names)

    @staticmethod
    def _number_style(values, kind):
        """'int', 'int.0' or the number of decimals the input wrote."""
        if len(values) == 0:
            return "int" if kind == "integer" else 6
        if values.str.match(_INT).all():
            return "int"
        if values.str.match(_INT_DOT0).all():
            return "int" if kind == "integer" else "int.0"
        if kind == "integer":
            return "int"
        decimals = values.str.extract(r"\.(\d+)$")[0].dropna().str.len()
        return int(min(decimals.max(), 15)) if len(decimals) else 0

    def write(self, synthetic, out_path):
        """Write a synthetic frame (same column names) in the input's format."""
        out = {}
        for name in self.columns:
            col = synthetic[name]
            token = self.na_token[name] if self.na_token[name] is not None else self.default_token
            if self.kinds[name] == "categorical":
                na = col.isna()
                out[name] = col.astype(object).where(~na, token).astype(str)
                continue
            values = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()
            na = ~np.isfinite(values)
            style = self.num_format[name]
            safe = np.where(na, 0.0, values)
            if style in ("int", "int.0"):
                text = np.round(safe).astype(np.int64).astype(str)
                if style == "int.0":
                    text = np.char.add(text, ".0")
            else:
                text = np.array([f"{v:.{style}f}" for v in np.round(safe, style)], dtype=object)
            out[name] = pd.Series(np.where(na, token, text), index=col.index, dtype=object)
        pd.DataFrame(out, columns=self.columns).to_csv(out_path, index=False)


def fit_rows(frame, n, seed):
    """Exactly n rows: a random subset when there are more, a top-up drawn with replacement
    from the rows themselves when there are fewer (for tools that pick their own row count)."""
    rng = np.random.default_rng(seed)
    if len(frame) > n:
        keep = np.sort(rng.choice(len(frame), size=n, replace=False))
        return frame.iloc[keep].reset_index(drop=True)
    if len(frame) < n:
        extra = rng.integers(0, len(frame), size=n - len(frame))
        return pd.concat([frame, frame.iloc[extra]], ignore_index=True)
    return frame.reset_index(drop=True)


def note(msg):
    print(msg, file=sys.stderr, flush=True)


def peer_arguments(doc):
    """The command line every peer script shares: --train --schema --n --seed --out."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--n", type=int, required=True, help="rows to synthesise")
    ap.add_argument("--seed", type=int, default=2011)
    ap.add_argument("--out", required=True)
    return ap.parse_args()
