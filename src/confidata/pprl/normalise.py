"""Normalisation before encoding: one spelling per value, and a report of what changed.

Bloom-filter encodings compare q-grams, so "Müller", "MULLER " and "muller" must become the same
string first, and 12/04/1987 in one file must meet 1987-04-12 in the other. Each field's
distinct values are normalised once (names repeat a lot), then mapped back to the rows. The
report counts, per field, how many rows each step changed; it never holds a value.

Text: Unicode NFKD with combining marks dropped (accents), case folded, hyphens, slashes and
underscores made spaces, other punctuation removed, whitespace collapsed. Dates: parsed in the
declared format (``dob:date(%d/%m/%Y)``) or the one format among common ones that reads the most
rows, and written as year, month, day; a date that cannot be read is counted and, by default,
refused (``bad_dates="missing"`` encodes those rows without their date instead).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from confidata.pprl.errors import LinkageError
from confidata.pprl.fields import FieldSpec

__all__ = ["DATE_FORMATS", "FieldReport", "NormalisedField", "normalise_field"]

# Tried in this order when a date field declares no format; the one reading the most rows wins.
DATE_FORMATS = (
    "%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d",
    "%m-%d-%Y", "%d/%m/%y", "%m/%d/%y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y",
)
_SPACE_LIKE = str.maketrans({"-": " ", "/": " ", "_": " ", "\t": " ", "\n": " ", "\r": " "})


@dataclass
class FieldReport:
    """What normalisation did to one field: row counts only, never values."""

    column: str
    kind: str
    rows: int = 0
    missing: int = 0
    accents: int = 0
    case: int = 0
    punctuation: int = 0
    whitespace: int = 0
    dates_reformatted: int = 0
    dates_unreadable: int = 0
    date_format: str | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class NormalisedField:
    """One field ready for tokens: a code per row (-1: missing) into its distinct values."""

    codes: np.ndarray
    values: list[str]
    report: FieldReport
    parts: list[tuple[str, str, str]] | None = field(default=None)  # dates: (year, month, day)


def normalise_field(column: pd.Series, spec: FieldSpec, *, bad_dates: str = "error") -> NormalisedField:
    """Normalise one column as its field spec says; see the module docstring."""
    report = FieldReport(column=spec.column, kind=spec.kind, rows=len(column))
    if spec.kind == "date":
        return _dates(column, spec, report, bad_dates)
    codes, uniques = pd.factorize(column.astype("string"), use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    out_values: list[str] = []
    mapping = np.empty(len(uniques), dtype=np.int64)
    index: dict[str, int] = {}
    for i, raw in enumerate(uniques):
        clean, steps = _text(str(raw))
        for step in steps:
            setattr(report, step, getattr(report, step) + int(counts[i]))
        if not clean:
            mapping[i] = -1
            continue
        mapping[i] = index.setdefault(clean, len(index))
        if mapping[i] == len(out_values):
            out_values.append(clean)
    row_codes = np.where(codes >= 0, mapping[np.maximum(codes, 0)] if len(uniques) else -1, -1)
    report.missing = int(np.count_nonzero(row_codes < 0))
    return NormalisedField(codes=row_codes.astype(np.int64), values=out_values, report=report)


def _text(raw: str) -> tuple[str, list[str]]:
    """Normalise one distinct string; return it with the names of the steps that changed it."""
    steps = []
    stripped = "".join(c for c in unicodedata.normalize("NFKD", raw) if not unicodedata.combining(c))
    if stripped != raw:  # accents, and compatibility forms such as ligatures
        steps.append("accents")
    folded = stripped.casefold()
    if folded != stripped:
        steps.append("case")
    spaced = folded.translate(_SPACE_LIKE)
    kept = "".join(c for c in spaced if c.isalnum() or c == " ")
    if kept != folded and kept.split() != folded.split():
        steps.append("punctuation")
    collapsed = " ".join(kept.split())
    if collapsed != kept:
        steps.append("whitespace")
    return collapsed, steps


def _dates(column: pd.Series, spec: FieldSpec, report: FieldReport, bad_dates: str) -> NormalisedField:
    """Parse a date field in its declared or detected format; year, month, day per distinct value."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        text = column.dt.strftime("%Y-%m-%d")
        fmt = "%Y-%m-%d"
    else:
        text = column.astype("string").str.strip()
        text = text.mask(text == "")
        fmt = spec.date_format
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype="string")
    if fmt is None:
        fmt = _detect_format(distinct, counts, spec)
    parsed = pd.to_datetime(distinct, format=fmt, errors="coerce")
    readable = parsed.notna().to_numpy()
    report.date_format = fmt
    report.dates_unreadable = int(counts[~readable].sum())
    canonical = parsed.dt.strftime("%Y-%m-%d")
    changed = (canonical != distinct).fillna(False).to_numpy(dtype=bool)
    report.dates_reformatted = int(counts[readable & changed].sum())
    if report.dates_unreadable and bad_dates == "error":
        raise LinkageError(
            f"Column '{spec.column}': {report.dates_unreadable} rows hold a date that cannot be "
            f"read as {fmt}; declare the format ({spec.column}:date(%d/%m/%Y)), correct those "
            "rows, or pass --bad-dates missing to encode them without their date."
        )
    index: dict[str, int] = {}
    mapping = np.full(len(distinct), -1, dtype=np.int64)
    parts: list[tuple[str, str, str]] = []
    values: list[str] = []
    for i in np.flatnonzero(readable):
        iso = canonical.iat[i]
        if iso not in index:
            index[iso] = len(values)
            values.append(iso)
            parts.append((iso[:4], iso[5:7], iso[8:10]))
        mapping[i] = index[iso]
    row_codes = np.where(codes >= 0, mapping[np.maximum(codes, 0)] if len(distinct) else -1, -1)
    report.missing = int(np.count_nonzero(row_codes < 0))
    return NormalisedField(codes=row_codes.astype(np.int64), values=values, report=report, parts=parts)


def _detect_format(distinct: pd.Series, counts: np.ndarray, spec: FieldSpec) -> str:
    """The format among DATE_FORMATS that reads the most rows; refuse a tie that changes dates."""
    if len(distinct) == 0:
        return DATE_FORMATS[0]
    scored = []
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(distinct, format=fmt, errors="coerce")
        scored.append((int(counts[parsed.notna().to_numpy()].sum()), fmt, parsed))
    best = max(s[0] for s in scored)
    if best == 0:
        raise LinkageError(
            f"Column '{spec.column}': no row reads as a date in any common format; declare the "
            f"format, e.g. {spec.column}:date(%d/%m/%Y)."
        )
    winners = [s for s in scored if s[0] == best]
    first = winners[0]
    for other in winners[1:]:
        if not first[2].equals(other[2]):
            raise LinkageError(
                f"Column '{spec.column}': the dates read equally well as {first[1]} and "
                f"{other[1]} with different results; declare the format, e.g. "
                f"{spec.column}:date({first[1]})."
            )
    return first[1]
