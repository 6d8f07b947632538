"""Linking at the linkage unit: candidate pairs, Dice scores, one-to-one assignment, threshold.

The linkage unit holds two .clk files and no key. It scores candidate pairs by Dice similarity
(`similarity`): all pairs when the files are small (``n x m`` at most `FULL_LIMIT`), else the
pairs that share a declared block code (``--block`` at encoding, `blockkeys`) when both files
carry codes, else the pairs MinHash LSH proposes (`blocking`). Each record is then linked at
most once, greedily by score: the highest-scoring pair is taken, its two records leave, and so
on (what anonlink's greedy solver does; it is not the optimal assignment, but on linkage scores,
where a true match usually outscores every rival of both its records, the two rarely differ,
and it runs in O(pairs log pairs)). Ties are broken by record order, so the result is reproducible.

The threshold is given (``--threshold``) or chosen from the scores (``--auto``). The one-to-one
pairs mix true matches with each unmatched record's best look-alike; at a million a side the
look-alikes' scores climb (the best of a million rivals) into the matches' lower tail, and no dip
of the histogram parts them. So `--auto` estimates how the look-alikes score, from the data:
a record whose best candidate is surely its match (Dice >= `SURE`, 0.9) has as its runner-up
the best of the other records, which is exactly what an unmatched record's best partner is (the
best of all but one record either way). Those runner-ups' histogram, scaled to the assigned
pairs where only look-alikes lie (from the floor to the runner-ups' mode), says how many
non-matches score at least t for every t; the rest above t are matches. The threshold is the t
of the highest F1 so estimated (`null_threshold`). Where the scores have one mode (every
record has its match: FEBRL4) or too few records are sure of their match, the first valley
between the two modes is used instead (`valley_threshold`). Pairs scoring below a floor (`FLOOR`,
0.4, or the 99th percentile of 100,000 random pairs' scores when higher: hardened filters score
higher by chance) are never linked. Greedy pairs above a threshold are the same whichever lower
floor they were assigned from, so choosing the threshold after assignment is sound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numba import njit

from confidata.pprl.blocking import key_scores, lsh_scores
from confidata.pprl.clkfile import Encoding, check_compatible
from confidata.pprl.errors import LinkageError
from confidata.pprl.similarity import HIST_BINS, dice_all, dice_pairs

__all__ = ["FLOOR", "FULL_LIMIT", "LinkResult", "link", "null_threshold", "runner_up_scores",
           "valley_threshold"]

FULL_LIMIT = 100_000_000  # all pairs below this many (10,000 x 10,000): under ~2 s on 2 cores
# A second mode counts when the valley lies this far below both modes in log counts (e^1: 2.7x
# fewer pairs), so a ripple in the matches' tail is not taken for the non-matches' mode.
PROMINENCE = 1.0
RANDOM_PAIRS = 100_000  # random pairs scored to see where chance lies (`unrelated_floor`)
CHANCE_QUANTILE = 0.99  # ... and the share of them the floor lies above
FLOOR = 0.4  # pairs below this Dice are never linked (unrelated 1024-bit CLKs score ~0.3)
SURE = 0.9  # a record whose best candidate scores this much is taken as matched (`runner_up_scores`)
MIN_RUNNER_UPS = 200  # fewer sure records than this: the runner-ups are too few to estimate from
ONE_MODE = "floor: the scores have one mode (every record seems to have its match)"


@dataclass
class LinkResult:
    """The links, the threshold and how it was chosen, and what was compared."""

    matches: pd.DataFrame  # id columns of A and B (their own names) and 'score'
    threshold: float
    threshold_method: str
    blocking: str
    compared: int
    histogram: np.ndarray  # assigned pairs' scores, bins of 0.01 from FLOOR upward (counts)
    skipped_blocks: int = 0
    details: dict = field(default_factory=dict)


def link(a: Encoding, b: Encoding, *, threshold: float | None = None, blocking: str = "auto",
         bands: int = 150, rows: int = 7, seed: int = 0) -> LinkResult:
    """Link two encodings one-to-one; threshold None chooses it from the scores (see above)."""
    check_compatible(a, b)
    if threshold is not None and not FLOOR <= threshold <= 1:
        raise LinkageError(f"--threshold must be between {FLOOR} and 1 (Dice); got {threshold}.")
    if blocking not in ("auto", "none", "lsh", "keys"):
        raise LinkageError(f"--blocking must be auto, none, lsh or keys; got '{blocking}'.")
    has_keys = a.blocks is not None and b.blocks is not None
    if blocking == "keys" and not has_keys:
        raise LinkageError(
            "--blocking keys needs blocking codes in both .clk files; encode them with --block."
        )
    if blocking == "auto":
        blocking = "none" if len(a) * len(b) <= FULL_LIMIT else "keys" if has_keys else "lsh"
    floor = threshold if threshold is not None else unrelated_floor(a, b, seed)
    skipped = 0
    started = time.perf_counter()
    if blocking == "none":
        left, right, score = dice_all(a.words, b.words, floor)
        compared = len(a) * len(b)
    else:
        if blocking == "keys":
            blocked = key_scores(a.words, b.words, a.blocks, b.blocks, floor=floor)
        else:
            blocked = lsh_scores(a.words, b.words, floor=floor, bands=bands, rows=rows, seed=seed)
        left, right, score = blocked.left, blocked.right, blocked.score
        compared, skipped = blocked.compared, blocked.skipped_blocks
    scored = time.perf_counter()
    runner_ups = runner_up_scores(left, right, score) if threshold is None else None
    left, right, score = greedy_one_to_one(left, right, score, len(a), len(b))
    seconds = {"score": round(scored - started, 2), "assign": round(time.perf_counter() - scored, 2)}
    histogram = np.bincount(np.minimum(HIST_BINS - 1, (score * HIST_BINS).astype(np.int64)),
                            minlength=HIST_BINS)
    if threshold is None:
        threshold, method = valley_threshold(histogram, floor)
        if method != ONE_MODE:  # a second mode, or modes without a clear dip between them
            threshold, method = null_threshold(score, runner_ups, floor) or (threshold, method)
    else:
        method = "given"
    keep = score >= threshold
    matches = _matches_frame(a, b, left[keep], right[keep], score[keep])
    return LinkResult(matches=matches, threshold=float(threshold), threshold_method=method,
                      blocking=blocking, compared=int(compared), histogram=histogram,
                      skipped_blocks=int(skipped),
                      details={"seconds": seconds, "kept_pairs": int(len(keep))}
                      | ({"bands": bands, "rows": rows, "seed": seed} if blocking == "lsh" else {})
                      | ({"passes": len(a.header["blocking"])} if blocking == "keys" else {}))


def unrelated_floor(a: Encoding, b: Encoding, seed: int = 0) -> float:
    """FLOOR, or the 99th percentile of Dice over random pairs when that is higher.

    Random pairs are nearly all unrelated (n x m pairs, at most min(n, m) true ones), so their
    scores show where chance lies for these filters: about 0.3 for plain quarter-full CLKs, 0.5
    and more for balanced or diffused ones. Pairs below it are never linked by --auto, which
    also keeps the pairs to assign few when hardening lifts every score.
    """
    if len(a) == 0 or len(b) == 0:
        return FLOOR
    rng = np.random.default_rng(seed)
    size = min(RANDOM_PAIRS, len(a) * len(b))
    left, right = rng.integers(0, len(a), size), rng.integers(0, len(b), size)
    chance = float(np.quantile(dice_pairs(a.words, b.words, left, right), CHANCE_QUANTILE))
    return max(FLOOR, round(chance + 0.005, 2))


def _matches_frame(a: Encoding, b: Encoding, left, right, score) -> pd.DataFrame:
    name_a, name_b = a.id_column, b.id_column
    if name_a == name_b:  # the same column name in both files: say which file each came from
        name_a, name_b = f"{name_a}_a", f"{name_b}_b"
    order = np.argsort(-score, kind="stable")
    return pd.DataFrame({name_a: a.ids[left[order]], name_b: b.ids[right[order]],
                         "score": np.round(score[order].astype(np.float64), 4)})


def greedy_one_to_one(left, right, score, n_a: int, n_b: int):
    """Keep each record's best remaining pair, best scores first; ties by record order."""
    order = np.lexsort((right, left, -score.astype(np.float64)))
    kept = _greedy(left[order].astype(np.int64), right[order].astype(np.int64), n_a, n_b)
    chosen = order[kept]
    return left[chosen], right[chosen], score[chosen]


@njit(cache=True)
def _greedy(left, right, n_a, n_b):  # pragma: no cover - compiled
    used_a = np.zeros(n_a, dtype=np.bool_)
    used_b = np.zeros(n_b, dtype=np.bool_)
    kept = np.empty(min(len(left), min(n_a, n_b)), dtype=np.int64)
    count = 0
    for p in range(len(left)):
        i, j = left[p], right[p]
        if not used_a[i] and not used_b[j]:
            used_a[i] = True
            used_b[j] = True
            kept[count] = p
            count += 1
    return kept[:count]


def runner_up_scores(left: np.ndarray, right: np.ndarray, score: np.ndarray,
                     sure: float = SURE) -> np.ndarray:
    """The second-best candidate score of every record (on either side) whose best scores >= sure.

    Such a record's best candidate is its match, so its runner-up is the best of the records
    that are not: the score an unmatched record's best partner has, and the look-alikes'
    distribution `null_threshold` needs.
    """
    found = []
    for side in (left, right):
        order = np.lexsort((-score, side))
        grouped, ranked = side[order], score[order]
        first = np.r_[True, grouped[1:] != grouped[:-1]] if len(grouped) else np.zeros(0, bool)
        second = np.flatnonzero(~first & np.r_[False, first[:-1]])
        found.append(ranked[second][ranked[second - 1] >= sure])
    return np.concatenate(found)


def null_threshold(assigned: np.ndarray, runner_ups: np.ndarray,
                   floor: float) -> tuple[float, str] | None:
    """The threshold of the highest estimated F1, non-matches estimated from the runner-ups.

    `assigned`: the one-to-one pairs' scores; `runner_ups`: `runner_up_scores`. The runner-ups'
    histogram is scaled to the assigned pairs' on [floor, the runner-ups' mode], where the
    assigned pairs are look-alikes; above t it then counts the expected false links FP(t), the
    assigned pairs above t less FP(t) are the true links TP(t), and the matches are the most TP
    reaches. None when fewer than `MIN_RUNNER_UPS` runner-ups lie above the floor.
    """
    start = int(round(floor * HIST_BINS))
    def counts(values):
        h = np.bincount(np.minimum(HIST_BINS - 1, (values * HIST_BINS).astype(np.int64)),
                        minlength=HIST_BINS).astype(np.float64)
        h[:start] = 0.0
        return h
    pairs, null = counts(assigned), counts(runner_ups)
    if null.sum() < MIN_RUNNER_UPS:
        return None
    mode = start + int(np.argmax(np.convolve(null, np.ones(3) / 3, mode="same")[start:]))
    scale = pairs[start:mode + 1].sum() / null[start:mode + 1].sum()
    false_links = scale * np.cumsum(null[::-1])[::-1]  # expected non-matches scoring >= t
    true_links = np.maximum(np.cumsum(pairs[::-1])[::-1] - false_links, 0.0)
    matches = max(true_links.max(), 1.0)
    f1 = 2 * true_links / np.maximum(2 * true_links + false_links + (matches - true_links), 1e-12)
    f1[:start] = -1.0
    best = int(np.argmax(f1))
    return (round(best / HIST_BINS, 2),
            f"highest estimated F1 ({f1[best]:.3f}), look-alikes estimated from "
            f"{int(null.sum()):,} runner-up scores")


def valley_threshold(histogram: np.ndarray, floor: float) -> tuple[float, str]:
    """The first clear dip between the two highest modes of a score histogram (bins of 0.01)."""
    bins = len(histogram)
    start = int(round(floor * bins))
    counts = np.log1p(histogram.astype(np.float64))
    counts[:start] = 0.0
    smooth = np.convolve(counts, np.ones(5) / 5, mode="same")
    smooth[:start] = -1.0
    if smooth.max() <= 0:
        return floor, "floor: no pair scored above it"
    top = int(np.argmax(smooth))
    peaks = [i for i in range(start, bins)
             if smooth[i] > 0 and smooth[i] >= smooth[max(start, i - 1)]
             and smooth[i] >= smooth[min(bins - 1, i + 1)] and abs(i - top) >= 10]
    if not peaks:
        return floor, ONE_MODE
    for other in sorted(peaks, key=lambda i: -smooth[i]):
        low, high = sorted((top, other))
        # the first dip (from the low side) that lies clearly below the highest point on each
        # side of it: true matches may form a second, smaller mode below the main one (a move or
        # a new surname lowers a pair's score), and the dip that parts them from the non-matches
        # is the first, not the deepest
        for valley in range(low + 1, high):
            if smooth[valley] > min(smooth[valley - 1], smooth[valley + 1]):
                continue
            left, right = smooth[low:valley + 1].max(), smooth[valley:high + 1].max()
            if min(left, right) - smooth[valley] >= PROMINENCE:
                return (round(valley / bins, 2),
                        f"first valley between the modes at {low / bins:.2f} and {high / bins:.2f}")
    return floor, "floor: the scores have one clear mode (every record seems to have its match)"
