"""Normalisation before encoding: one spelling per value, and a report of what changed.

Bloom-filter encodings compare q-grams, so "Müller", "MULLER " and "muller" must become the same
string first, and 12/04/1987 in one file must meet 1987-04-12 in the other. Each field's
distinct values are normalised once (names repeat a lot), then mapped back to the rows. The
report counts, per field, how many rows each step changed; it never holds a value.

Text: Unicode NFKD with combining marks dropped (accents), lower case, hyphens, slashes and
underscores made spaces, other characters that are neither letters, digits nor spaces removed
(punctuation), whitespace collapsed; done by Arrow's string kernels on all distinct values at
once. Dates: parsed in the
declared format (``dob:date(%d/%m/%Y)``) or the one format among common ones that reads the most
rows, and written as year, month, day; a date that cannot be read is counted and, by default,
refused (``bad_dates="missing"`` encodes those rows without their date instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from confidata.pprl.errors import LinkageError
from confidata.pprl.fields import FieldSpec

__all__ = ["DATE_FORMATS", "FieldReport", "NormalisedField", "normalise_field"]

DETECT_SAMPLE = 2_000  # distinct date texts a format is tried on when none is declared
# Tried in this order when a date field declares no format; the one reading the most rows wins.
DATE_FORMATS = (
    "%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d",
    "%m-%d-%Y", "%d/%m/%y", "%m/%d/%y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y",
)


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
    clean, changed = _text(pa.array(np.asarray(uniques, dtype=object), type=pa.string()))
    for step, mask in changed.items():
        setattr(report, step, int(counts[mask].sum()))
    # distinct values that normalise alike share one code; empty ones become missing
    mapping, values = pd.factorize(clean)
    values = np.asarray(values, dtype=object)
    empty = values == ""
    renumber = np.cumsum(~empty) - 1
    renumber[empty] = -1
    mapping = renumber[mapping] if len(uniques) else np.zeros(0, dtype=np.int64)
    row_codes = np.where(codes >= 0, mapping[np.maximum(codes, 0)] if len(uniques) else -1, -1)
    report.missing = int(np.count_nonzero(row_codes < 0))
    return NormalisedField(codes=row_codes.astype(np.int64), values=values[~empty].tolist(), report=report)


def _text(raw: pa.Array) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Normalise distinct strings at once (Arrow's compute kernels, no Python loop per value);
    return them and, per step, which of them that step changed."""
    decomposed = pc.utf8_normalize(raw, "NFKD")
    stripped = pc.replace_substring_regex(decomposed, r"\p{Mn}", "")  # combining marks: accents
    folded = pc.utf8_lower(stripped)
    spaced = pc.replace_substring_regex(folded, r"[-/_]", " ")
    kept = pc.replace_substring_regex(spaced, r"[^\p{L}\p{N}\s]", "")
    collapsed = pc.utf8_trim(pc.replace_substring_regex(kept, r"\s+", " "), " ")

    def differ(x, y) -> np.ndarray:
        return pc.not_equal(x, y).to_numpy(zero_copy_only=False)

    changed = {"accents": differ(stripped, raw), "case": differ(folded, stripped),
               "punctuation": differ(kept, folded), "whitespace": differ(collapsed, kept)}
    return np.asarray(collapsed.to_numpy(zero_copy_only=False), dtype=object), changed


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
    # distinct texts that are the same date ("1987-04-12", "19870412") share one code
    iso = canonical.where(pd.Series(readable, index=canonical.index))
    mapping, values = pd.factorize(iso, use_na_sentinel=True)
    values = pd.Series(values, dtype=object).astype(str).tolist()
    parts = [(v[:4], v[5:7], v[8:10]) for v in values]
    row_codes = np.where(codes >= 0, mapping[np.maximum(codes, 0)] if len(distinct) else -1, -1)
    report.missing = int(np.count_nonzero(row_codes < 0))
    return NormalisedField(codes=row_codes.astype(np.int64), values=values, report=report, parts=parts)


def _detect_format(distinct: pd.Series, counts: np.ndarray, spec: FieldSpec) -> str:
    """The format among DATE_FORMATS that reads the most rows; refuse a tie that changes dates."""
    if len(distinct) == 0:
        return DATE_FORMATS[0]
    # formats are tried on a sample of distinct values (the most frequent first), not on all
    sample = np.argsort(-counts, kind="stable")[:DETECT_SAMPLE]
    distinct, counts = distinct.iloc[sample].reset_index(drop=True), counts[sample]
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
