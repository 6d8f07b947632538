"""Blocking by MinHash LSH over the set bits: only pairs that share a band are scored.

Comparing all pairs costs n x m Dice scores (10^12 at a million records each). MinHash (Broder
1997) gives each filter, for each of ``bands x rows`` keyed-free random orders of the bit
positions, the rank of its first set bit; two filters share that value with probability equal
to the Jaccard similarity of their set bits, J = D / (2 - D) for Dice D. A band is ``rows``
such values; pairs that agree on every value of some band become candidates. So a pair is found
with probability 1 - (1 - J^rows)^bands: near one for true matches (J about 0.6 to 1), near zero
for unrelated records (J about 0.2 for a filter a quarter full). Bit sampling on the raw bits
(Hamming LSH) separates far worse on Bloom filters, whose 0-bits agree for unrelated records.

The orders are drawn by the linkage unit from a seed (no key: they permute encoded positions).
A block (one band value) holding more than `max_block` pairs is skipped and counted: it is a
value shared by very many filters, whose true pairs the other bands catch.

Candidates are scored inside the join (Dice on the packed words) and only pairs scoring at least
`floor` are kept, so memory follows the pairs kept, not the pairs compared; the histogram of
every score computed (a pair found by several bands counted each time) is returned. A pair kept
by several bands of one group of `BAND_GROUP` bands is kept once, and between groups only the
distinct pairs among the 5 best of both their records stay (`_best_per_record`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from confidata.pprl.errors import LinkageError
from confidata.pprl.similarity import HIST_BINS, _popcount64, popcounts

__all__ = ["BlockedScores", "key_scores", "lsh_scores"]

BAND_GROUP = 20
KEEP_PER_RECORD = 5  # pairs kept per record between groups of bands (`_best_per_record`)


@dataclass
class BlockedScores:
    """Pairs scoring at least the floor (distinct), and the histogram of every score computed."""

    left: np.ndarray
    right: np.ndarray
    score: np.ndarray
    histogram: np.ndarray
    compared: int
    skipped_blocks: int
    skipped_pairs: int


@njit(parallel=True, cache=True)
def _band_keys(words, orders, rows):  # pragma: no cover - compiled
    """One 64-bit key per record and band: the band's `rows` MinHash values (the rank, in each
    order, of the first set bit; the order's length if none), mixed by splitmix64's finaliser."""
    n, bands, length = words.shape[0], orders.shape[0] // rows, orders.shape[1]
    keys = np.empty((bands, n), dtype=np.uint64)
    for i in prange(n):
        for k in range(bands):
            key = np.uint64(0x9E3779B97F4A7C15)
            for r in range(rows):
                h = k * rows + r
                rank = length
                for t in range(length):
                    p = orders[h, t]
                    if (words[i, p >> 6] >> np.uint64(p & 63)) & np.uint64(1):
                        rank = t
                        break
                key ^= np.uint64(rank)
                key *= np.uint64(0xBF58476D1CE4E5B9)
                key ^= key >> np.uint64(31)
            keys[k, i] = key
    return keys


@njit(cache=True, nogil=True)
def _join_score(keys_a, order_a, keys_b, order_b, band, a, b, count_a, count_b, floor, max_block,
                histogram):  # pragma: no cover - compiled
    """Score the pairs that share band `band`'s key; keep those at or above the floor that no
    earlier band of the same group found (a true match shares many bands: kept once)."""
    key_a, key_b = keys_a[band], keys_b[band]
    capacity = 1024
    left = np.empty(capacity, dtype=np.int64)
    right = np.empty(capacity, dtype=np.int64)
    score = np.empty(capacity, dtype=np.float32)
    kept, compared, skipped_blocks, skipped_pairs = 0, 0, 0, 0
    width, bins = a.shape[1], histogram.shape[0]
    i, j, n, m = 0, 0, len(order_a), len(order_b)
    while i < n and j < m:
        ka, kb = key_a[order_a[i]], key_b[order_b[j]]
        if ka < kb:
            i += 1
            continue
        if kb < ka:
            j += 1
            continue
        i_end, j_end = i, j
        while i_end < n and key_a[order_a[i_end]] == ka:
            i_end += 1
        while j_end < m and key_b[order_b[j_end]] == ka:
            j_end += 1
        size = (i_end - i) * (j_end - j)
        if size > max_block:
            skipped_blocks += 1
            skipped_pairs += size
        else:
            for x in range(i, i_end):
                ra = order_a[x]
                for y in range(j, j_end):
                    rb = order_b[y]
                    both = np.uint64(0)
                    for w in range(width):
                        both += _popcount64(a[ra, w] & b[rb, w])
                    total = count_a[ra] + count_b[rb]
                    d = 2.0 * np.float64(both) / total if total > 0 else 0.0
                    compared += 1
                    histogram[min(bins - 1, int(d * bins))] += 1
                    if d >= floor:
                        # kept once per group: skip a pair an earlier band of the group found
                        # (checked only here: for the many pairs below the floor the look-ups
                        # into the other bands' keys cost more than their Dice score)
                        seen = False
                        for earlier in range(band):
                            if keys_a[earlier, ra] == keys_b[earlier, rb]:
                                seen = True
                                break
                        if seen:
                            continue
                        if kept == capacity:
                            capacity *= 2
                            left = np.concatenate((left, np.empty(capacity - kept, dtype=np.int64)))
                            right = np.concatenate((right, np.empty(capacity - kept, dtype=np.int64)))
                            score = np.concatenate((score, np.empty(capacity - kept, dtype=np.float32)))
                        left[kept] = ra
                        right[kept] = rb
                        score[kept] = d
                        kept += 1
        i, j = i_end, j_end
    return left[:kept], right[:kept], score[:kept], compared, skipped_blocks, skipped_pairs


def lsh_scores(a: np.ndarray, b: np.ndarray, *, floor: float, bands: int = 150, rows: int = 7,
               seed: int = 0, max_block: int = 1_000_000) -> BlockedScores:
    """Candidate pairs by MinHash LSH, scored, those >= floor kept; see the module docstring."""
    if not 1 <= rows <= 16:
        raise LinkageError(f"--rows must be 1 to 16 MinHash values per band; got {rows}.")
    if bands < 1:
        raise LinkageError(f"--bands must be at least 1; got {bands}.")
    length = a.shape[1] * 64
    rng = np.random.default_rng(seed)
    count_a, count_b = popcounts(a), popcounts(b)
    histogram = np.zeros(HIST_BINS, dtype=np.int64)
    kept = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    compared = skipped_blocks = skipped_pairs = 0
    # bands in groups, so the keys in memory stay at BAND_GROUP x records x 8 bytes per file
    for first in range(0, bands, BAND_GROUP):
        group = min(BAND_GROUP, bands - first)
        orders = np.stack([rng.permutation(length) for _ in range(group * rows)]).astype(np.int32)
        keys_a, keys_b = _band_keys(a, orders, rows), _band_keys(b, orders, rows)
        lefts, rights, scores = [kept[0]], [kept[1]], [kept[2]]

        def one_band(k, keys_a=keys_a, keys_b=keys_b):
            # argsort and the compiled join release the GIL: bands run on all cores at once
            band_histogram = np.zeros(HIST_BINS, dtype=np.int64)
            found = _join_score(keys_a, np.argsort(keys_a[k]), keys_b, np.argsort(keys_b[k]), k,
                                a, b, count_a, count_b, float(floor), int(max_block),
                                band_histogram)
            return found, band_histogram

        with ThreadPoolExecutor(max_workers=_threads()) as pool:
            for (left, right, score, c, sb, sp), band_histogram in pool.map(one_band, range(group)):
                lefts.append(left)
                rights.append(right)
                scores.append(score)
                histogram += band_histogram
                compared += c
                skipped_blocks += sb
                skipped_pairs += sp
        kept = _best_per_record(np.concatenate(lefts), np.concatenate(rights),
                                np.concatenate(scores), len(b), KEEP_PER_RECORD)
    left, right, score = kept
    return BlockedScores(left, right, score, histogram, compared, skipped_blocks, skipped_pairs)


def key_scores(a: np.ndarray, b: np.ndarray, blocks_a: np.ndarray, blocks_b: np.ndarray, *,
               floor: float, max_block: int = 1_000_000) -> BlockedScores:
    """Candidate pairs that share a declared block code in some pass (`blockkeys`), scored,
    those >= floor kept (a pair found by several passes once); as `lsh_scores` otherwise.

    File B's no-code markers (2**63 + row) become 2**62 + row, so a record without a code in a
    pass meets no record of either file there.
    """
    keys_a = np.ascontiguousarray(blocks_a.T, dtype=np.uint64)
    top = np.uint64(1 << 63)
    keys_b = np.ascontiguousarray(np.where(blocks_b >= top, (blocks_b - top) | np.uint64(1 << 62),
                                           blocks_b).T, dtype=np.uint64)
    count_a, count_b = popcounts(a), popcounts(b)

    def one_pass(k):
        band_histogram = np.zeros(HIST_BINS, dtype=np.int64)
        left, right, score, *counts = _join_score(keys_a, np.argsort(keys_a[k]), keys_b,
                                                  np.argsort(keys_b[k]), k, a, b, count_a, count_b,
                                                  float(floor), int(max_block), band_histogram)
        # a pair among the 5 best of both its records over all passes is so within its own
        # pass (fewer rivals there), so cutting each pass first changes nothing but the memory
        return (*_best_per_record(left, right, score, len(b), KEEP_PER_RECORD), *counts), band_histogram

    histogram = np.zeros(HIST_BINS, dtype=np.int64)
    lefts, rights, scores = [], [], []
    compared = skipped_blocks = skipped_pairs = 0
    with ThreadPoolExecutor(max_workers=_threads()) as pool:
        for (left, right, score, c, sb, sp), band_histogram in pool.map(one_pass, range(len(keys_a))):
            lefts.append(left)
            rights.append(right)
            scores.append(score)
            histogram += band_histogram
            compared += c
            skipped_blocks += sb
            skipped_pairs += sp
    left, right, score = _best_per_record(np.concatenate(lefts), np.concatenate(rights),
                                          np.concatenate(scores), len(b), KEEP_PER_RECORD)
    return BlockedScores(left, right, score, histogram, compared, skipped_blocks, skipped_pairs)


def _threads() -> int:
    """As many threads as numba uses for its parallel loops (the machine's cores by default)."""
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


def _best_per_record(left, right, score, n_b: int, keep: int):
    """Distinct pairs that are among the `keep` best of both their records.

    The greedy assignment takes a pair only once each record's better pairs are gone, so a pair
    behind five better ones on either side is all but never taken; dropping such pairs after
    each group of bands keeps memory at a few pairs per record (at a million records a side,
    LSH proposes hundreds of millions of pairs above the floor, mostly unrelated look-alikes).
    """
    _, first = np.unique(left * max(1, n_b) + right, return_index=True)
    left, right, score = left[first], right[first], score[first]
    good = np.ones(len(left), dtype=bool)
    for side in (left, right):
        order = np.lexsort((-score, side))
        grouped = side[order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        good[order[rank >= keep]] = False
    return left[good], right[good], score[good]
