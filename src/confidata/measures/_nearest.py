"""Gower nearest neighbours at a million rows: the distance and attack measures' one hot loop.

Distance-based measures (DCR, NNDR, membership inference, linkability, inference) ask, for a
few thousand query rows, which of up to millions of reference rows lies nearest. A distance
matrix does not fit at that size and numpy's broadcasting re-reads every column per query, so
the search runs in a compiled kernel instead:

* rows are stored once, row-major, as float32 (categories as integer codes, numbers scaled by
  the real data's range), so one reference row is one cache line or two;
* queries go in small blocks against cache-sized tiles of reference rows, each tile read from
  memory once per block rather than once per query;
* the sum over columns stops as soon as it exceeds the distance that would still matter (the
  k-th best so far), categories first, as a mismatch there costs a whole unit at once;
* query blocks run in parallel on every core.

Gower distance: for a number, |a - b| / range of the real data, capped at 1; for a category, 0
when equal and 1 otherwise; missing against present counts 1, both missing 0; the sum is
divided by the number of columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numba import njit, prange

from confidata.measures._encode import numeric_values
from confidata.measures._shared import column_keys
from confidata.table.schema import Schema

__all__ = ["GowerSpace"]

_QUERY_BLOCK = 16  # queries that share one pass over a tile
_TILE = 2048  # reference rows per tile (2048 x 24 float32 columns: under 200 KB)


class GowerSpace:
    """Several frames (training, synthetic, holdout, ...) encoded once for Gower distance.

    ``space.nearest(q, rows, r)`` finds, for rows `rows` of frame `q`, the nearest rows of
    frame `r` (all of them, or `ref_rows`). Numbers are scaled by the range of frame 0, which
    is the real (training) data in every measure.
    """

    def __init__(self, frames: Sequence[pd.DataFrame], columns: Sequence[str], schema: Schema) -> None:
        numeric = [c for c in columns if schema[c].kind.is_numeric_or_date]
        categorical = [c for c in columns if not schema[c].kind.is_numeric_or_date]
        self.p = len(columns)
        nums: list[list[np.ndarray]] = [[] for _ in frames]
        for name in numeric:
            arrays = [numeric_values(f[name], schema[name].kind) for f in frames]
            finite = arrays[0][np.isfinite(arrays[0])]
            span = float(finite.max() - finite.min()) if len(finite) else 0.0
            span = span if span > 0 else 1.0
            for i, array in enumerate(arrays):
                nums[i].append(array / span)
        cats: list[list[np.ndarray]] = [[] for _ in frames]
        for name in categorical:
            for i, codes in enumerate(column_keys(frames, name)):
                cats[i].append(codes)
        self.numeric = [_matrix(parts, len(f)) for parts, f in zip(nums, frames, strict=True)]
        self.categorical = [_matrix(parts, len(f)) for parts, f in zip(cats, frames, strict=True)]

    def nearest(self, query: int, rows: np.ndarray, ref: int, ref_rows: np.ndarray | None = None,
                k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Distances (sorted) and indices of the `k` nearest reference rows of each query row.

        Indices point into `ref_rows` when given, else into frame `ref`. Ties keep the earlier
        reference row first, as numpy's argmin does.
        """
        sums, index = self.nearest_sums(query, rows, ref, ref_rows, k)
        return sums / self.p, index

    def nearest_sums(self, query: int, rows: np.ndarray, ref: int,
                     ref_rows: np.ndarray | None = None, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """As `nearest`, but the Gower sums (not divided by the number of columns): exact for
        comparing with `nearer_than`'s thresholds."""
        qc, qn = self.categorical[query][rows], self.numeric[query][rows]
        rc, rn = self.categorical[ref], self.numeric[ref]
        if ref_rows is not None:
            rc, rn = rc[ref_rows], rn[ref_rows]
        k = min(k, len(rc))
        dist = np.full((len(rows), k), np.inf)
        index = np.full((len(rows), k), -1, dtype=np.int64)
        _knn(qc, qn, rc, rn, dist, index)
        return dist, index

    def nearer_than(self, query: int, rows: np.ndarray, ref: int, chunk_of: np.ndarray,
                    n_chunks: int, threshold: np.ndarray) -> np.ndarray:
        """Per query row and chunk of reference rows: 1 if some row of the chunk is nearer than
        the query's `threshold` Gower sum (from `nearest_sums`), 0.5 if the nearest is exactly
        as near, else 0.

        `chunk_of` gives each reference row's chunk (-1: in none). The scan of a chunk stops at
        its first row that is nearer, and a row's sum stops once it passes the threshold.
        """
        state = np.zeros((len(rows), n_chunks), dtype=np.int8)
        _nearer(self.categorical[query][rows], self.numeric[query][rows], self.categorical[ref],
                self.numeric[ref], chunk_of.astype(np.int64),
                np.asarray(threshold, dtype=np.float64), state)
        return state / 2.0


def _matrix(parts: list[np.ndarray], n: int) -> np.ndarray:
    if not parts:
        return np.zeros((n, 0), dtype=np.float32)
    return np.ascontiguousarray(np.column_stack(parts), dtype=np.float32)


@njit(inline="always")
def _row_distance(qc, qn, rc, rn, qi, j, bound):  # pragma: no cover - compiled
    """Gower sum of query row qi and reference row j, abandoned once above `bound`."""
    d = 0.0
    for c in range(qc.shape[1]):
        if qc[qi, c] != rc[j, c]:
            d += 1.0
            if d > bound:
                return d
    for c in range(qn.shape[1]):
        a = qn[qi, c]
        b = rn[j, c]
        if a != a or b != b:  # NaN: missing
            if not (a != a and b != b):
                d += 1.0
        else:
            gap = abs(np.float64(a) - np.float64(b))
            d += gap if gap < 1.0 else 1.0
        if d > bound:
            return d
    return d


@njit(parallel=True, cache=True)
def _knn(qc, qn, rc, rn, dist, index):  # pragma: no cover - compiled
    m, n, k = qc.shape[0], rc.shape[0], dist.shape[1]
    for b in prange((m + _QUERY_BLOCK - 1) // _QUERY_BLOCK):
        q0 = b * _QUERY_BLOCK
        q1 = min(m, q0 + _QUERY_BLOCK)
        for t0 in range(0, n, _TILE):
            t1 = min(n, t0 + _TILE)
            for qi in range(q0, q1):
                worst = dist[qi, k - 1]
                for j in range(t0, t1):
                    d = _row_distance(qc, qn, rc, rn, qi, j, worst)
                    if d < worst:
                        pos = k - 1
                        while pos > 0 and dist[qi, pos - 1] > d:
                            dist[qi, pos] = dist[qi, pos - 1]
                            index[qi, pos] = index[qi, pos - 1]
                            pos -= 1
                        dist[qi, pos] = d
                        index[qi, pos] = j
                        worst = dist[qi, k - 1]


@njit(parallel=True, cache=True)
def _nearer(qc, qn, rc, rn, chunk_of, threshold, state):  # pragma: no cover - compiled
    m, n = qc.shape[0], rc.shape[0]
    for b in prange((m + _QUERY_BLOCK - 1) // _QUERY_BLOCK):
        q0 = b * _QUERY_BLOCK
        q1 = min(m, q0 + _QUERY_BLOCK)
        for t0 in range(0, n, _TILE):
            t1 = min(n, t0 + _TILE)
            for qi in range(q0, q1):
                bound = threshold[qi]
                for j in range(t0, t1):
                    chunk = chunk_of[j]
                    if chunk < 0 or state[qi, chunk] == 2:
                        continue
                    d = _row_distance(qc, qn, rc, rn, qi, j, bound)
                    if d < bound:
                        state[qi, chunk] = 2
                    elif d == bound:
                        state[qi, chunk] = 1
