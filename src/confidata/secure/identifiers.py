"""Identifier normalisation for private set intersection: the same unit must give the same bytes
at every holder, or it silently drops out of the intersection.

Why each step: registers differ in how they write a key. Trimming removes padding from
fixed-width exports; NFKC folds compatibility forms (full-width digits, ligatures, non-breaking
spaces) that look alike but differ in bytes; case-folding makes "Smith" and "SMITH" one key
(``str.casefold``, stronger than lower-casing: German sharp s folds to "ss"). A column may also
declare a canonical form in the study:

* ``text`` (default): trimmed, NFKC, case-folded;
* ``date``: any date pandas reads, written as YYYY-MM-DD (month before day when ambiguous);
* ``integer``: a whole number (so "0042", "42" and "42.0" agree), written without padding;
* ``code:N``: a numeric code zero-padded to N digits ("42" and "00042" agree under code:5).

Several columns are joined with the study's separator after normalising each; a value that
contains the separator is refused (two different tuples could otherwise join to one key).
Rows with a missing part are left out and counted; duplicate keys count once (a set). Messages
name the column and the number of rows, never a value.

Every holder also computes `normaliser_fingerprint`: a hash of this code's output on fixed probe
strings. Holders compare it before computing, so a holder whose Python has other Unicode tables
(or other code) stops everyone instead of producing a quietly smaller intersection.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from confidata.errors import SchemaError
from confidata.secure.study import Study

__all__ = ["IdentifierSet", "normalise_column", "normalise_identifiers", "normaliser_fingerprint"]


@dataclass(frozen=True)
class IdentifierSet:
    """One holder's normalised keys (distinct), and which rows of its file they came from."""

    keys: np.ndarray  # object array of str, distinct, in file order of first occurrence
    rows: np.ndarray  # int64 row number (0-based) of each key's first occurrence
    missing: int  # rows left out because a part of the identifier was missing
    duplicates: int  # rows whose key repeats an earlier row's

    def encoded(self) -> list[bytes]:
        return [k.encode("utf-8") for k in self.keys]


def _text(values: pd.Series) -> pd.Series:
    s = values.astype("string")
    # for ASCII text NFKC changes nothing and case-folding is lower-casing: a vectorised fast path
    # (a million register codes: 0.1 s instead of 5 s); other text takes the full Unicode route
    ascii_ = s.str.isascii().fillna(True).to_numpy(dtype=bool)
    out = s.str.lower().str.strip()
    if not ascii_.all():
        rest = s[~ascii_]
        out[~ascii_] = rest.str.normalize("NFKC").str.casefold().str.normalize("NFKC").str.strip()
    return out.mask(out == "")


def normalise_column(values: pd.Series, form: str, column: str) -> pd.Series:
    """One identifier column in its canonical form (string dtype; missing stays missing)."""
    if form == "text":
        return _text(values)
    if form == "date":
        text = _text(values)
        parsed = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=False)
        bad = int((parsed.isna() & text.notna()).sum())
        if bad:
            raise SchemaError(
                f"Identifier column '{column}' (form date): {bad} row(s) are not dates pandas can read; "
                "write them as YYYY-MM-DD or declare the column's form as text."
            )
        return parsed.dt.strftime("%Y-%m-%d").astype("string")
    # integer and code:N read the digits as a number first ("42.0" and "0042" both mean 42)
    text = _text(values)
    number = pd.to_numeric(text, errors="coerce")
    bad = int((text.notna() & (number.isna() | (number != np.floor(number)) | (number < 0))).sum())
    if bad:
        raise SchemaError(
            f"Identifier column '{column}' (form {form}): {bad} row(s) are not whole non-negative "
            "numbers; clean the column or declare its form as text."
        )
    digits = number.astype("Int64").astype("string")
    if form.startswith("code:"):
        width = int(form.split(":", 1)[1])
        too_long = int((digits.str.len() > width).sum())
        if too_long:
            raise SchemaError(
                f"Identifier column '{column}' (form {form}): {too_long} row(s) have more than "
                f"{width} digits; widen the code in the study's [identifier] forms."
            )
        digits = digits.str.zfill(width)
    return digits


def normalise_identifiers(study: Study, frame: pd.DataFrame) -> IdentifierSet:
    """The study's identifier columns of `frame`, normalised, joined and made distinct."""
    missing_cols = [c for c in study.identifier if c not in frame.columns]
    if missing_cols:
        raise SchemaError(
            f"The data lack identifier column(s) {', '.join(repr(c) for c in missing_cols)} that the "
            f"study '{study.name}' names under [identifier]; rename the columns or fix the study."
        )
    parts = []
    for col in study.identifier:
        part = normalise_column(frame[col], study.id_forms.get(col, "text"), col)
        if len(study.identifier) > 1:
            clash = int(part.str.contains(study.separator, regex=False).fillna(False).sum())
            if clash:
                raise SchemaError(
                    f"Identifier column '{col}': {clash} row(s) contain the separator "
                    f"{study.separator!r}; choose another separator in the study's [identifier]."
                )
        parts.append(part)
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + study.separator + part  # missing in any part -> missing
    present = joined.notna().to_numpy()
    kept = joined[present]
    first = ~kept.duplicated(keep="first").to_numpy()  # hashing: a million keys in a fraction of a second
    return IdentifierSet(
        keys=kept.to_numpy(dtype=object)[first],
        rows=np.flatnonzero(present)[first].astype(np.int64),
        missing=int((~present).sum()),
        duplicates=int(len(kept) - first.sum()),
    )


_PROBES = ["  Ａｂｃ１２３ ", "Straße", "ǅemal", "İstanbul", "ﬁle", "e\u0301", "Ⅻ", "x\u00a0y", "ΣΑΣ"]


def normaliser_fingerprint(study: Study) -> str:
    """A hash of this holder's normaliser on fixed probes and of the study's declared forms."""
    probe = pd.Series(_PROBES, dtype="string")
    out = [str(v) for v in _text(probe)]
    out += [str(v) for v in normalise_column(pd.Series(["7", "0042"]), "code:6", "probe")]
    out += [unicodedata.unidata_version, study.separator, repr(sorted(study.id_forms.items()))]
    text = "\x1e".join(out)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
