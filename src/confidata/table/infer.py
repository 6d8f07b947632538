"""Infer a `Schema` from data: column kinds, missing-value codes and disclosure-control roles.

The rules are a short, ordered decision list per column, and every inferred column records
the rule that decided it (``inferred_because``) so a methodologist can check it in
``confidata inspect`` and correct the schema file. All statistics are computed on the distinct
values and their counts, never row by row, so inference costs one ``value_counts`` per column.

What the rules encode, with the cases that motivated them:

* Missing codes. The empty cell is missing. In a column that is otherwise numeric, up to three
  distinct non-numeric tokens are missing codes (NIST's ``N``, UCI's ``?``); more make it a
  text column. In a text column, a common missing token (``?``, ``.``, ``NA``, ``-9``,
  ``(missing)``) is a code unless it has the shape of the other levels (``N`` beside ``A``,
  ``NA`` beside ``EU``). A few repeated negative integers in an otherwise non-negative column
  are special codes (SD2011's ``-8``, "not applicable"), and so are all-nines values (with a
  97/98 beside a 99) repeated far above the rest (PSID's 98/99). An all-nines top value that
  ends a continuous tail is a top-code (an amount capped at 99,999): data, not a code.
* Integer-valued columns. A distinct whole number on every row is an identifier when the
  numbers are consecutive, named like one, or spread evenly over their range (row numbers
  left after an 80/20 split have gaps). Up to three values, or several values whose
  frequencies have more than one clear peak, are category codes (NIST's ``SEX``, ``RAC1P``);
  a frequency curve with one peak is a count (NIST's ``NOC``). Thinly spread values are
  amounts when they have a long right tail, or a spike at 0 or heaps on round hundreds with
  most other values rare (SD2011's ``income``); otherwise, if each repeats a lot, codes
  (NIST's ``INDP``, 263 industry codes between 170 and 9920; PUMA area codes).
* Text columns. Levels that mostly carry numbers (``16-24``, ``65+``) or words of a rating or
  education scale (``MOSTLY SATISFIED``, ``SECONDARY``) are ordinal; nearly-unique short codes
  are identifiers; nearly-unique long strings are free text.
* Roles. Survey weights are found by name *and* shape: ``PWGTP`` is a weight (right-skewed,
  max many times the median) while SD2011's ``weight`` (body weight, kg) is not. Direct
  identifiers, clusters, strata, keys and sensitive variables are suggested from common names;
  they are suggestions, shown for review.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from confidata.table.conform import value_text
from confidata.table.schema import Column, Kind, Role, Schema

__all__ = ["ColumnHints", "infer_column", "infer_schema"]

MAX_MISSING_TOKENS = 3  # more distinct non-numeric tokens than this: a text column
# A token is quoted in a reason (which inspect prints and the schema file keeps) only when it is
# a common missing-value code or shared by this many rows, the rule cli.py's examples follow: a
# rarer entry may be a confidential value typed into the wrong column.
MIN_EXAMPLE_COUNT = 5
MAX_CODE_LEVELS = 3  # integer columns with at most this many values are codes
MAX_SHAPE_LEVELS = 20  # up to this many values, the frequency shape decides code vs count
# A number with at most this many values, each on this many rows on average, is a code or a
# band: ages coded at 5-year midpoints, an income band's midpoint, an area's unemployment rate.
# As a number, a DP method cuts it into bins and draws uniformly inside them (ages of 24.6
# where every real age is 22 or 27); as levels, each value is kept.
MAX_BANDED_LEVELS = 15
MIN_BANDED_ROWS = 20
PEAK_RATIO = 1.25  # a peak is this much above both neighbours ...
PEAK_SHARE = 0.01  # ... and holds at least this share of the non-missing rows


@dataclass(frozen=True)
class ColumnHints:
    """What a file's own metadata says about a column (SPSS, Stata, SAS)."""

    label: str = ""
    value_labels: Mapping[str, str] = field(default_factory=dict)
    measure: str = "unknown"  # SPSS: nominal, ordinal, scale
    user_missing: tuple[str, ...] = ()


def infer_schema(
    frame: pd.DataFrame, hints: Mapping[str, ColumnHints] | None = None, *, dataset: str = ""
) -> Schema:
    """Infer a schema for every column of `frame` (strings as read, or typed)."""
    hints = hints or {}
    columns = tuple(
        infer_column(str(name), frame[name], hints.get(str(name), ColumnHints()))
        for name in frame.columns
    )
    return Schema(columns=columns, dataset=dataset)


def infer_column(name: str, values: pd.Series, hints: ColumnHints = ColumnHints()) -> Column:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return _datetime_column(name, values.dropna(), "stored as dates in the file")
    if pd.api.types.is_bool_dtype(values.dtype):
        return Column(name, Kind.CATEGORICAL, levels=("False", "True"),
                      inferred_because="stored as true/false in the file")
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object).where(values.notna(), "").astype(str)
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = pd.to_numeric(values, errors="coerce")
        counts = numbers.dropna().value_counts()
        missing = ("",) if numbers.isna().any() else ()
        return _numeric_column(name, counts, missing, hints)
    # an absent cell (None/NaN) counts as the empty token: astype(str) keeps it absent under
    # pandas' string dtype, and value_counts would drop it, so the column looked never missing
    return _text_column(name, values.astype(object).where(values.notna(), "").astype(str)
                        .value_counts(), hints)


# -- text tokens ----------------------------------------------------------------------------

_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _text_column(name: str, tokens: pd.Series, hints: ColumnHints) -> Column:
    """Decide a column read as text, from its distinct tokens and their counts."""
    present = tokens[tokens.index != ""]
    missing: list[str] = [""] if "" in tokens.index else []
    missing += [t for t in hints.user_missing if t not in missing]
    if present.empty:
        return Column(name, Kind.CATEGORICAL, missing_values=tuple(missing),
                      description=hints.label, inferred_because="every cell is missing")
    is_number = present.index.str.match(_NUMBER)
    numeric_tokens = present[is_number]
    other_tokens = present[~is_number]
    if len(numeric_tokens) >= 2 and len(other_tokens) <= MAX_MISSING_TOKENS:
        numbers = pd.Series(
            numeric_tokens.to_numpy(), index=pd.to_numeric(numeric_tokens.index.str.strip())
        ).groupby(level=0).sum()
        named = tuple(t for t in sorted(other_tokens.index)
                      if t.strip().lower() in _MISSING_TOKENS or other_tokens[t] >= MIN_EXAMPLE_COUNT)
        rare = tuple(t for t in sorted(other_tokens.index) if t not in named)
        # A rare token is still read as missing (the numbers say the column is numeric, and the
        # schema must read the file back), but "" goes first: a writer spells a missing cell with
        # the first code, and a rare entry must never be copied into every missing synthetic cell.
        lead = [""] if rare and "" not in missing else []
        codes = [*lead, *missing, *named, *rare]
        return _numeric_column(name, numbers, tuple(codes), hints, text_codes=named,
                               rare_codes=len(rare))
    odd = _odd_missing_tokens(present)
    note = ""
    if odd:
        present = present.drop(index=list(odd))
        missing += [t for t in odd if t not in missing]
        note = (f"; {_quoted(odd)} is a common missing-value code" if len(odd) == 1
                else f"; {_quoted(odd)} are common missing-value codes")
    dated = _date_column(name, present, missing)
    if dated is not None:
        return dated
    column = _string_column(name, present, tuple(missing), hints)
    return replace(column, inferred_because=column.inferred_because + note) if note else column


# Tokens that stand for "missing" across statistical packages and exports: '?' (UCI files),
# '.' (SAS, Stata), 'NA'/'N/A'/'NaN'/'NULL' (R, spreadsheets, databases), '-9'/'-99'/'-999'
# (survey software), '(missing)' (forcats' explicit level), 'N' (NIST's "not applicable").
_MISSING_TOKENS = frozenset({
    "?", ".", "-", "--", "na", "n/a", "n.a.", "nan", "null", "(missing)", "missing", "n",
    "-9", "-99", "-999", "-9999",
})


def _shape(token: str) -> str:
    """A token's pattern of character classes: 'NA' and 'EU' share 'AA', '?' is '?'."""
    return re.sub(r"[a-z]", "a", re.sub(r"[A-Z]", "A", re.sub(r"\d", "9", token.strip())))


def _odd_missing_tokens(present: pd.Series) -> tuple[str, ...]:
    """Common missing-value tokens among a text column's levels, unless they look like levels.

    '?' among work classes is a missing code (UCI's adult data); 'N' among 'Y'/'N', or 'NA'
    among two-letter region codes, shares the other levels' shape and is kept as a level.
    """
    if len(present) < 2:
        return ()
    tokens = [t for t in present.index if t.strip().lower() in _MISSING_TOKENS]
    if not tokens or len(tokens) == len(present):
        return ()
    shapes = {_shape(t) for t in present.index if t not in tokens}
    return tuple(sorted(t for t in tokens if _shape(t) not in shapes))


def _quoted(tokens) -> str:
    return ", ".join(f"'{t}'" for t in tokens)


def _string_column(name: str, present: pd.Series, missing: tuple[str, ...],
                   hints: ColumnHints) -> Column:
    n_rows = int(present.sum())
    n_levels = len(present)
    mean_len = float(np.average(present.index.str.len(), weights=present.to_numpy()))
    words = float(np.average(present.index.str.count(" ") + 1, weights=present.to_numpy()))
    if n_levels > 50 and n_levels >= 0.5 * n_rows:
        if words >= 3 or mean_len >= 30:
            return Column(name, Kind.TEXT, missing_values=missing, description=hints.label,
                          inferred_because="mostly distinct values of several words: free text")
        return Column(name, Kind.IDENTIFIER, roles=_roles(name, Kind.IDENTIFIER, None),
                      missing_values=missing, description=hints.label,
                      inferred_because="mostly distinct short values: an identifier")
    levels = list(present.index)
    ordered = _ordinal_order(levels)
    if hints.measure == "ordinal" or ordered is not None:
        why = "the file marks it ordinal" if hints.measure == "ordinal" else (
            "its levels carry numbers or words of a rating/education scale")
        return Column(name, Kind.ORDINAL, roles=_roles(name, Kind.ORDINAL, None),
                      levels=tuple(ordered or sorted(levels)), missing_values=missing,
                      value_labels=hints.value_labels, description=hints.label,
                      inferred_because=why, domain_public=False)
    return Column(name, Kind.CATEGORICAL, roles=_roles(name, Kind.CATEGORICAL, None),
                  levels=tuple(sorted(levels)), missing_values=missing,
                  value_labels=hints.value_labels, description=hints.label,
                  inferred_because=f"text with {n_levels} distinct values", domain_public=False)


_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$|^\d{1,2}[./]\d{1,2}[./]\d{4}$")
_DATETIME = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def _date_column(name: str, present: pd.Series, missing: list[str]) -> Column | None:
    tokens = present.index.str.strip()
    if tokens.str.match(_DATETIME).all():
        kind = Kind.DATETIME
    elif tokens.str.match(_DATE).all():
        kind = Kind.DATE
    else:
        return None
    day_first = bool(tokens.str.match(r"^\d{1,2}[./]").any())
    # utc: times written in several zones parse too (conform reads them as UTC)
    parsed = pd.to_datetime(pd.Series(tokens), errors="coerce", dayfirst=day_first, format="mixed",
                            utc=True)
    if parsed.isna().any():
        return None
    fmt = "day first" if day_first else "ISO 8601"
    return Column(name, kind, missing_values=tuple(missing),
                  inferred_because=f"every value is a {kind.value} ({fmt})",
                  extra={"date_format": "dayfirst"} if day_first else {})


def _datetime_column(name: str, values: pd.Series, why: str) -> Column:
    has_time = bool(((values - values.dt.normalize()) != pd.Timedelta(0)).any())
    return Column(name, Kind.DATETIME if has_time else Kind.DATE, missing_values=("",),
                  inferred_because=why)


# -- ordinal levels -------------------------------------------------------------------------

# Words of common ordered scales, with a rank; used to spot and order ordinal levels.
_SCALE_WORDS: dict[str, float] = {
    "terrible": -3, "unhappy": -2, "dissatisfied": -1.5, "unsatisfied": -1.5, "mixed": 0,
    "satisfied": 1.5, "pleased": 2, "delighted": 3, "happy": 2,
    "never": -2, "rarely": -1, "seldom": -1, "sometimes": 0, "often": 1, "usually": 1.5,
    "always": 2, "poor": -2, "bad": -2, "fair": 0, "good": 1, "excellent": 2,
    "disagree": -1, "neutral": 0, "agree": 1, "low": -1, "lower": -1, "medium": 0,
    "middle": 0, "moderate": 0, "high": 1, "higher": 1.5, "highest": 2, "none": -1,
    "passive": 0, "active": 1, "basic": 0, "primary": 0, "elementary": 0, "vocational": 1,
    "secondary": 1.5, "tertiary": 3, "postsecondary": 2.5, "bachelor": 3, "master": 4,
    "doctorate": 5, "hs": 1, "college": 2.5, "university": 3, "grad": 4, "graduate": 4,
    "mild": 0, "severe": 2, "weak": -1, "strong": 1, "daily": 3, "weekly": 2,
    "monthly": 1, "yearly": 0,
}
_MODIFIERS = {"very": 1.5, "mostly": 0.75, "somewhat": 0.5, "slightly": 0.5, "extremely": 2}
_WORD = re.compile(r"[a-z]+")
_FIRST_NUMBER = re.compile(r"\d[\d,]*\.?\d*")
_PADDED = re.compile(r"(^|[^\d.,])0\d")


def _ordinal_order(levels: list[str]) -> list[str] | None:
    """Levels in scale order if they look ordinal (numbers or scale words), else None."""
    if not 3 <= len(levels) <= 20:
        return None
    with_number = [lv for lv in levels if _FIRST_NUMBER.search(lv)]
    zero_padded = any(_PADDED.search(lv) for lv in levels)  # '01-01301' is a code, not a size
    if len(with_number) >= 0.8 * len(levels) and len(with_number) >= 3 and not zero_padded:
        def by_number(level: str) -> tuple[float, float]:
            found = _FIRST_NUMBER.search(level)
            low = re.search(r"\b(below|under|less|up to)\b", level, re.I) is not None
            if found is None:
                return (-1.0, 0.0)
            value = float(found.group().replace(",", "").rstrip("."))
            return (value, -1.0 if low else 0.0)
        return sorted(levels, key=by_number)
    scores = {lv: _scale_score(lv) for lv in levels}
    if sum(s is not None for s in scores.values()) >= (2 / 3) * len(levels):
        return sorted(levels, key=lambda lv: scores[lv] if scores[lv] is not None else 0.0)
    return None


def _scale_score(level: str) -> float | None:
    words = _WORD.findall(level.lower().replace("post-secondary", "postsecondary"))
    hits = [_SCALE_WORDS[w] for w in words if w in _SCALE_WORDS]
    if not hits:
        return None
    boost = max((_MODIFIERS[w] for w in words if w in _MODIFIERS), default=1.0)
    return max(hits, key=abs) * (boost if "mostly" not in words else 0.75)


# -- numbers --------------------------------------------------------------------------------


def _numeric_column(
    name: str,
    counts: pd.Series,
    missing: tuple[str, ...],
    hints: ColumnHints,
    *,
    text_codes: tuple[str, ...] = (),
    rare_codes: int = 0,
) -> Column:
    """Decide a numeric column from its distinct values (index) and their counts."""
    missing = tuple(dict.fromkeys([*missing, *hints.user_missing]))
    codes, code_notes = _special_codes(counts)
    if codes:
        missing = tuple(dict.fromkeys([*missing, *(_num_text(c) for c in codes)]))
    values = counts.drop(index=[c for c in codes], errors="ignore")
    notes = []
    if text_codes:
        notes.append(f"{_quoted(text_codes)} among numbers: missing code(s)")
    if rare_codes:  # counted, never quoted: see MIN_EXAMPLE_COUNT
        notes.append(f"{rare_codes} other non-numeric token(s) among numbers, each in fewer than "
                     f"{MIN_EXAMPLE_COUNT} rows, read as missing (not shown: a rare entry may "
                     "identify someone; check missing_values before sharing this schema)")
    notes += code_notes
    if values.empty:
        return Column(name, Kind.CATEGORICAL, missing_values=missing, description=hints.label,
                      inferred_because="only missing codes")
    x = values.index.to_numpy(dtype=float)
    # "40.0" counts as whole: R and pandas write whole numbers that way in float columns.
    whole = bool(np.all(np.isfinite(x)) and np.all(x == np.round(x)))
    kind, why = _numeric_kind(name, values, x, whole, hints)
    levels: tuple[str, ...] = ()
    if kind.is_categorical:
        levels = tuple(_num_text(v) for v in np.sort(x))
    # No observed minimum or maximum is recorded: the extremes are real, often disclosive
    # values, and a schema travels with synthetic files.
    return Column(
        name, kind, roles=_roles(name, kind, values), levels=levels, missing_values=missing,
        value_labels=hints.value_labels, description=hints.label,
        inferred_because="; ".join([why, *notes]), domain_public=not levels,
    )


def _numeric_kind(name: str, counts: pd.Series, x: np.ndarray, whole: bool,
                  hints: ColumnHints) -> tuple[Kind, str]:
    n_levels = len(x)
    n_rows = int(counts.sum())
    if whole and n_levels == n_rows and n_rows >= 20:
        # A number on every row, each different: row numbers or an identifier, never a
        # quantity to synthesise. After a split or a sample the numbers have gaps, so being
        # consecutive is not required: being evenly spread over their range (as a random
        # subset of 1..N is), or a name like 'rownames' or 'id', is enough.
        if x.max() - x.min() == n_rows - 1:
            return Kind.IDENTIFIER, "a distinct consecutive number on every row: a row identifier"
        if _ROW_NAME.search(name) or _DIRECT_ID.search(name):
            return Kind.IDENTIFIER, "a distinct whole number on every row, named like an identifier"
        if _evenly_spread(x):
            return Kind.IDENTIFIER, (
                "a distinct whole number on every row, spread evenly over its range: row numbers "
                "with gaps (a sample or a split) or an identifier")
    if hints.measure == "ordinal":
        return Kind.ORDINAL, "the file marks it ordinal"
    if hints.measure == "nominal" or (hints.value_labels and n_levels <= 100):
        return Kind.CATEGORICAL, "the file labels its values as categories"
    banded = n_levels <= MAX_BANDED_LEVELS and n_rows >= MIN_BANDED_ROWS * n_levels
    if not whole and banded:
        return Kind.CATEGORICAL, (f"{n_levels} numbers with decimals, each on {n_rows // n_levels} "
                                  "rows on average: codes or band midpoints")
    if not whole:
        return Kind.CONTINUOUS, "numbers with decimals"
    if n_levels <= MAX_CODE_LEVELS:
        return Kind.CATEGORICAL, f"whole numbers with only {n_levels} distinct values: codes"
    if _MEASUREMENT.search(name) and banded and n_levels <= MAX_SHAPE_LEVELS:
        return Kind.CATEGORICAL, (f"{n_levels} whole numbers named like an amount, each on "
                                  f"{n_rows // n_levels} rows on average: band midpoints")
    if _MEASUREMENT.search(name):
        return Kind.CONTINUOUS, "whole numbers named like a measurement or an amount"
    if hints.measure == "scale":
        return Kind.INTEGER, "the file marks it a scale variable of whole numbers"
    if n_levels == 12 and x.min() == 1 and x.max() == 12:
        return Kind.INTEGER, "the numbers 1 to 12: months"
    if n_levels <= MAX_SHAPE_LEVELS and _quantile_classes(counts, x):
        return Kind.ORDINAL, f"{n_levels} consecutive whole numbers of near-equal frequency: quantile groups"
    if n_levels <= MAX_SHAPE_LEVELS:
        peaks = _peaks(counts.sort_index().to_numpy(dtype=float))
        if peaks >= 2:
            return Kind.CATEGORICAL, f"{n_levels} whole numbers whose frequencies have {peaks} peaks: codes"
        return Kind.INTEGER, f"{n_levels} whole numbers with one frequency peak: a count"
    coverage = n_levels / (x.max() - x.min() + 1)
    if coverage < 0.1:
        # Thinly spread whole numbers are codes (industry, area) or amounts (money). Amounts
        # have a long right tail (the largest many times a typical value), or a spike at 0 or
        # heaps on round hundreds while most other values are rare; a spike makes the mean
        # repetition look like that of codes, so the median repetition decides. Codes: every
        # code used by many rows, the largest a few times a typical one.
        typical_repeats = float(np.median(counts.to_numpy(dtype=float)))
        nonzero = counts[counts.index != 0]
        zero_share = 1 - float(nonzero.sum()) / n_rows
        heaped = float(nonzero[np.mod(nonzero.index.to_numpy(dtype=float), 100) == 0].sum()) / max(
            float(nonzero.sum()), 1.0)
        if _tail_ratio(nonzero) >= 8:
            return Kind.CONTINUOUS, "widely spread whole numbers with a long right tail: amounts"
        if typical_repeats < 5 and heaped >= 0.4:
            return Kind.CONTINUOUS, "widely spread whole numbers heaped on round hundreds: amounts"
        if typical_repeats < 5 and zero_share >= 0.05:
            return Kind.CONTINUOUS, (
                "widely spread whole numbers with a spike at 0, most others rare: amounts")
        if n_rows / n_levels >= 10 and n_levels <= 1000:
            return Kind.CATEGORICAL, (
                f"{n_levels} whole numbers spread thinly over their range, each repeated: codes")
        return Kind.CONTINUOUS, "widely spread whole numbers, most of them rare: amounts"
    return Kind.INTEGER, f"whole numbers with {n_levels} distinct values"


def _evenly_spread(x: np.ndarray) -> bool:
    """Whether distinct values look like a random subset of a range of row numbers.

    Kolmogorov-Smirnov distance to the uniform distribution on [min, max], against its 1%
    critical value 1.63/sqrt(n): row numbers left after a random split pass, amounts that
    happen to differ on every row (a skewed income) fail by far.
    """
    v = np.sort(x)
    span = v[-1] - v[0]
    if span <= 0:
        return False
    n = len(v)
    position = (v - v[0]) / span
    upper = np.arange(1, n + 1) / n
    distance = max(np.max(np.abs(upper - position)), np.max(np.abs(upper - 1 / n - position)))
    return bool(distance <= 1.63 / np.sqrt(n))


def _tail_ratio(counts: pd.Series) -> float:
    """The largest value over the row-weighted median of magnitudes: 1-5 for codes."""
    if counts.empty:
        return 0.0
    x = np.abs(counts.index.to_numpy(dtype=float))
    w = counts.to_numpy(dtype=float)
    order = np.argsort(x)
    cum = np.cumsum(w[order])
    median = x[order][np.searchsorted(cum, cum[-1] / 2)]
    return float(x.max() / median) if median > 0 else float("inf")


def _quantile_classes(counts: pd.Series, x: np.ndarray) -> bool:
    """Consecutive integers from 0 or 1 with near-equal counts: deciles, quintiles, quartiles."""
    consecutive = x.max() - x.min() + 1 == len(x) and x.min() in (0, 1)
    balanced = counts.min() >= 10 and counts.max() <= 2 * counts.min()
    return bool(consecutive and len(x) >= 4 and balanced)


def _peaks(freq: np.ndarray) -> int:
    """Number of clear local maxima in a frequency curve ordered by value."""
    padded = np.concatenate([[0.0], freq, [0.0]])
    centre = padded[1:-1]
    is_peak = (centre >= PEAK_RATIO * padded[:-2]) & (centre >= PEAK_RATIO * padded[2:])
    is_peak &= centre >= PEAK_SHARE * freq.sum()
    return int(is_peak.sum())


def _special_codes(counts: pd.Series) -> tuple[list[float], list[str]]:
    """Values that stand apart as codes, with a note on each decision for the reader.

    Two shapes of code: a few repeated negative whole numbers below otherwise non-negative
    values (SD2011's -8, survey software's -9), and all-nines values (with the 97/98 beside a
    99: "refused", "don't know") far above the rest. A top all-nines value that ends a
    continuous tail is a cap (a top-coded amount's 99,999), data rather than a code: it lies
    within five times the largest other value and the rows just below it (from half the
    largest other value up) outnumber its own rows, as a tail piled up at a cap does.
    Infinite values are left out: reading the data refuses them with the fix (`conform`).
    """
    if counts.empty:
        return [], []
    x = counts.index.to_numpy(dtype=float)
    finite = np.isfinite(x)
    counts, x = counts[finite], x[finite]
    whole = x == np.round(x)
    codes: list[float] = []
    notes: list[str] = []
    negative = x[x < 0]
    if 0 < len(negative) <= 3 and (x >= 0).sum() >= 2:
        if all(counts[v] >= 5 and v <= -1 and v == round(v) for v in negative):
            codes.extend(negative.tolist())
            notes.append(f"{_quoted(_num_text(v) for v in sorted(negative))} repeated below "
                         "non-negative values: special code(s)")
    rest = np.sort(x[x >= 0])
    if len(rest) < 3 or not whole[x == rest[-1]].all():
        return codes, notes
    top = rest[-1]
    if top < 9 or set(str(int(top))) != {"9"} or counts[top] < 5:
        return codes, notes
    nines = [top]
    for value in rest[-2:-4:-1]:  # 98 and 97 beside 99, 998 and 997 beside 999
        text = str(int(value)) if value == round(value) else ""
        if len(text) >= 2 and len(text) == len(str(int(top))) and text[-1] in "78" and set(
                text[:-1]) == {"9"}:
            nines.append(value)
        else:
            break
    below = rest[rest < min(nines)]
    if len(below) < 2 or min(nines) < 2 * below[-1] + 1:
        return codes, notes  # within reach of the data: a value
    second = below[-1]
    near = float(counts[(counts.index >= second / 2) & (counts.index <= second)].sum())
    coded = float(sum(counts[v] for v in nines))
    if min(nines) < 5 * max(second, 1.0) and coded <= near:
        notes.append("its all-nines top value ends a continuous tail: a top-code, kept as data")
        return codes, notes
    codes.extend(float(v) for v in sorted(nines))
    notes.append(f"{_quoted(_num_text(v) for v in sorted(nines))} repeated far above the other "
                 "values: missing code(s)")
    return codes, notes




# -- roles ----------------------------------------------------------------------------------

_ROW_NAME = re.compile(
    r"^(rownames?|row_?(names?|id|no|nr|num|number)?|index|idx|obs|obs_?(id|no|nr|num)|"
    r"record_?(id|no|nr|num)?|rec_?no|seqn?|case_?(id|no|nr|num)?|unnamed:? ?0|)$", re.I)
_MEASUREMENT = re.compile(
    r"(^|[^a-z])(height|weight|income|wage|salary|earnings?|price|cost|amount|turnover|"
    r"revenue|area|distance|bmi)([^a-z]|$)", re.I)
# "factor" ends a name or a word of it (hh_factor, expfactor_2), so "num_satisfactory_accounts"
# (a skewed count in openintro's loans file) is not taken for a weight
_WEIGHT_NAME = re.compile(r"wgt|wght|weight|(^|_)wt($|_)|poids|peso|gewicht|waga|factor($|_|\d)", re.I)
_DIRECT_ID = re.compile(
    r"^(id|uuid|name|surname|first_?name|last_?name|full_?name|e-?mail|phone|telephone|mobile|"
    r"address|street|ssn|nino|passport|pesel|bsn|personnummer|nin)$|(^|_)(id|name)$", re.I)
_CLUSTER = re.compile(r"household|(^|_)hh_?id|^hid$|serialno|^psu$|cluster", re.I)
_STRATUM = re.compile(r"strat", re.I)
_KEY = re.compile(
    r"^(age|agep|agegr|sex|gender|race|rac1p|hisp|hispanic|ethnic\w*|region|puma|county|district|"
    r"municipality|marital|msp|edu|education|occupation|occup|nationality|citizenship|"
    r"country_of_birth|birthplace|placesize)$", re.I)
_SENSITIVE = re.compile(r"income|wage|salary|earn|pincp|health|disab|diagnos|religio", re.I)


def _roles(name: str, kind: Kind, counts: pd.Series | None) -> tuple[Role, ...]:
    roles: list[Role] = []
    if kind is Kind.IDENTIFIER or _DIRECT_ID.search(name):
        roles.append(Role.CLUSTER if _CLUSTER.search(name) else Role.DIRECT_IDENTIFIER)
        return tuple(roles)
    if _CLUSTER.search(name):
        return (Role.CLUSTER,)
    if _STRATUM.search(name):
        return (Role.STRATUM,)
    if kind.is_numeric and counts is not None and _WEIGHT_NAME.search(name) and _weight_shaped(counts):
        return (Role.WEIGHT,)
    if _KEY.match(name):
        roles.append(Role.KEY)
    if _SENSITIVE.search(name):
        roles.append(Role.SENSITIVE)
    return tuple(roles)


def _weight_shaped(counts: pd.Series) -> bool:
    """Expansion weights: non-negative, right-skewed, the largest many times the typical one.

    Body weight in kg has max/median about 2 and a coefficient of variation near 0.2; design
    weights of a household survey have max/median well above 3 (NIST PWGTP: about 34).
    """
    x = counts.index.to_numpy(dtype=float)
    w = counts.to_numpy(dtype=float)
    if (x < 0).any():
        return False
    order = np.argsort(x)
    cum = np.cumsum(w[order])
    median = x[order][np.searchsorted(cum, cum[-1] / 2)]
    mean = np.average(x, weights=w)
    sd = np.sqrt(np.average((x - mean) ** 2, weights=w))
    return median > 0 and (x.max() / median >= 3 or sd / mean >= 0.5)


def _num_text(value: float) -> str:
    return value_text(float(value))
