"""Bounds of a number bought from the data, for a DP synthesizer whose schema lacks them.

A bound read from the data is a real (often disclosive) value, so a DP method may not take the
minimum and maximum for free. This module buys a range instead, under the budget, in the spirit
of Google's ApproxBounds (Wilson et al. 2020, "Differentially private SQL with bounded user
contribution", sec. 5): one noisy histogram on a data-free grid of half-octaves, and a range
read from it by post-processing only.

The grid: ``[2^k, 1.5 2^k)`` and ``[1.5 2^k, 2^(k+1))`` for k = -10..40, mirrored for negatives,
and one cell ``[0, 2^-10)`` between them (it holds the exact zeros). One record adds 1 to one
cell: L1 and L2 sensitivity 1 (Gaussian noise for zCDP, Laplace for pure DP).

Reading the range (every step uses the noisy counts only):

1. *The bulk.* A run of j <= ``RUN`` adjacent cells "holds data" when its noisy sum clears
   ``z sqrt(j)`` noise deviations, ``z`` chosen so that runs holding nobody clear it with
   probability ``FALSE_ALARM`` over the whole grid. Each clearing run is cut to its shortest
   clearing part anchored at its inner end (the part nearer the rest of the data): a run that
   clears because one dense cell at its inner end is in it does not carry the bound into the
   empty cells beyond (the old rule took the outer end of the run, which put acs12 ages up to
   512). The bulk spans the lowest to the highest of these parts.
2. *The tails.* The bulk's ends then move outward one cell at a time while the next ``STEP``
   cells beyond still look non-empty (noisy sum at least ``2 sqrt(STEP)`` deviations): a tail
   spread thinly over many half-octaves (children's ages below a bulk of adults) is followed
   down until what is left beyond would hide under the noise. What is cut off is at most about
   ``2 sqrt(STEP)`` deviations of records per side: the tail share the budget can resolve, a DP
   quantile near the end whose share is set by the noise rather than chosen.
3. *Zero.* A positive range whose low end is at most a quarter of its high end starts at 0
   instead (a negative one mirrored) when either the cells just below it look non-empty (one
   deviation) or it is within 1/64 of the high end: amounts, counts and ages then keep their
   small values, and the few cells between 0 and the low end cost the quantile bins nothing.
   A year (1,937..2,011) keeps its low end.

A range made of the cell at 0 alone tells nothing about the scale of the values that are not
0: it is refused, like no range at all.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from confidata.synth.dp._accountant import PrivacyAccountant
from confidata.synth.dp._noise import Noise

__all__ = ["FALSE_ALARM", "RUN", "STEP", "bought_bounds", "bound_grid"]

GRID_LOW, GRID_HIGH = -10, 40  # octaves of the grid
CELLS_PER_OCTAVE = 2
FALSE_ALARM = 0.01  # chance that some run of empty cells clears the bulk threshold
RUN = 16  # longest run of adjacent cells tested for data (8 octaves)
STEP = 4  # cells looked ahead when following a tail (2 octaves)
TAIL_SIGMAS = 2.0  # deviations per sqrt(cell) that the cells ahead must hold to follow a tail
ZERO_RATIO = 4.0  # a positive range starts at 0 when its low end is at most high / this
NEAR_ZERO_RATIO = 64.0  # ... and always when at most high / this


def bound_grid() -> np.ndarray:
    """Cell boundaries of the data-free grid (increasing): CELLS_PER_OCTAVE equal parts of each
    octave [2^k, 2^(k+1)), k = GRID_LOW..GRID_HIGH, mirrored for negatives, and a cell
    [0, 2^GRID_LOW) between them (nearer values fall in the cells next to 0)."""
    parts = np.arange(CELLS_PER_OCTAVE) / CELLS_PER_OCTAVE
    k = np.arange(GRID_LOW, GRID_HIGH + 1, dtype=float)
    positive = np.concatenate([(2.0 ** k[:, None] * (1.0 + parts[None, :])).ravel(),
                               [2.0 ** (GRID_HIGH + 1)]])
    return np.concatenate([-positive[::-1], [0.0], positive])


def _clearing(sums: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """clear[j - 1, a]: the run of j cells starting at cell a clears ``threshold[j - 1]``."""
    n = len(sums) - 1
    clear = np.zeros((RUN, n), dtype=bool)
    for j in range(1, RUN + 1):
        clear[j - 1, : n - j + 1] = sums[j:] - sums[:-j] >= threshold[j - 1]
    return clear


def _bulk(clear: np.ndarray) -> tuple[int, int] | None:
    """First and last cell of the bulk. From each end b of a clearing run, the shortest clearing
    run ending at b reaches down into the data (its start is a low-end candidate); from each
    start a at or above the lowest of those, the shortest clearing run starting at a reaches up
    into the data (its end is a high-end candidate); the low end is then taken again over the
    ends at or below the high end. A run that clears only because a dense cell sits at its
    inner end thus carries no bound into the empty cells beyond it (the old rule took the
    outer end of such a run: acs12 ages up to 512), and runs that start in the empty cells
    below the data (or end above it) cannot carry one either."""
    n = clear.shape[1]
    by_end = np.zeros_like(clear)  # by_end[j - 1, b]: the run of j cells ending at b clears
    for j in range(1, RUN + 1):
        by_end[j - 1, j - 1:] = clear[j - 1, : n - j + 1]
    ends = np.flatnonzero(by_end.any(axis=0))
    if not len(ends):
        return None
    shortest_start = ends - np.argmax(by_end[:, ends], axis=0)  # start of the shortest run per end
    first = int(shortest_start.min())
    starts = np.flatnonzero(clear.any(axis=0))
    starts = starts[starts >= first]
    last = int((starts + np.argmax(clear[:, starts], axis=0)).max())
    first = int(shortest_start[ends <= last].min())
    return first, last


def bought_bounds(present: np.ndarray, accountant: PrivacyAccountant, cost: float, noise: Noise,
                  detail: str) -> tuple[float, float] | None:
    """[low, high) holding the bulk and the resolvable tails of `present` (finite values, missing
    cells and codes left out), from one noisy histogram on `bound_grid` charged `cost` under
    "domain"; None when nothing but the cell at 0 clears the noise (see the module docstring)."""
    grid = bound_grid()
    cells = np.clip(np.searchsorted(grid, present, side="right") - 1, 0, len(grid) - 2)
    counts = np.bincount(cells, minlength=len(grid) - 1).astype(float)
    tests = len(counts) * RUN
    if accountant.unit == "rho":
        scale = accountant.gaussian(cost, "domain", detail)
        noisy = noise.gaussian(counts, scale)
        z = float(NormalDist().inv_cdf(1.0 - FALSE_ALARM / tests))
        deviation = scale
    else:  # a sum of j Laplace draws has lighter tails, relative to sqrt(j), than one
        scale = accountant.laplace(cost, "domain", detail)
        noisy = noise.laplace(counts, scale)
        z = math.log(tests / (2.0 * FALSE_ALARM))
        deviation = scale * math.sqrt(2.0)
    sums = np.concatenate([[0.0], np.cumsum(noisy)])
    bulk = _bulk(_clearing(sums, z * scale * np.sqrt(np.arange(1, RUN + 1))))
    if bulk is None:
        return None
    first, last = bulk
    zero = int(np.searchsorted(grid, 0.0))  # the cell [0, 2^GRID_LOW)
    if first == last == zero:
        return None
    n = len(counts)
    ahead = TAIL_SIGMAS * deviation * math.sqrt(STEP)
    while first > 0 and sums[first] - sums[max(0, first - STEP)] >= ahead:
        first -= 1
    while last < n - 1 and sums[min(n, last + 1 + STEP)] - sums[last + 1] >= ahead:
        last += 1
    low, high = float(grid[first]), float(grid[last + 1])
    below = sums[first] - sums[max(0, first - STEP)] >= deviation * math.sqrt(STEP)
    above = sums[min(n, last + 1 + STEP)] - sums[last + 1] >= deviation * math.sqrt(STEP)
    if low > 0 and (low * NEAR_ZERO_RATIO <= high or (below and low * ZERO_RATIO <= high)):
        low = 0.0
    elif high <= 0 and (-high * NEAR_ZERO_RATIO <= -low or (above and -high * ZERO_RATIO <= -low)):
        high = 0.0
    return low, high
