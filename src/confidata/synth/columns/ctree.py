"""A conditional-inference tree (Hothorn, Hornik & Zeileis 2006) for synthpop's ``ctree``.

synthpop calls ``party::ctree`` with ``minbucket = 5`` and ``mincriterion = 0.9`` and draws each
synthetic value from the real values of the leaf its row falls into (as CART does). A node is
split only where some predictor is associated with the target beyond chance: for each predictor
the conditional (permutation) test of independence is computed in its quadratic form, whose
asymptotic null is chi-squared, and the smallest p-value, adjusted for the number of predictors
tested, must be below ``1 - mincriterion``. The split is then searched on that predictor only,
maximising the same standardised statistic for the two-sample split. Because the predictor is
chosen by a test, not by impurity, ctree does not favour predictors with many possible cuts.

The statistics, with influence h(y) = y (a number) or its class dummies, and g(x) = x or its
level dummies, reduce to classical forms (Strasser & Weber 1999): (n - 1) r^2 for two numbers,
(n - 1) eta^2 (between over total sum of squares) for a number against levels, and
(n - 1) / n times Pearson's chi-squared for levels against levels; degrees of freedom the
product of the ranks. This module writes the tree in the shape of `confidata._tree.Tree`, so
drawing, saving and checking a loaded file are CART's.

Differences from party, stated: the adjustment is Sidak's, 1 - (1 - p)^m, as party's
"Bonferroni" option computes it; a number is tested and split on its value where it has one
(rows without a value are left out of the test, as party does, and follow the larger side of
the split, where party uses surrogate splits only if asked and otherwise the majority too);
numbers are split at synthpop's binned cut points (at most 255 per number, see `_encode`);
levels of an unordered predictor are split on one ordering (by the target's mean, or by the
share of the node's most frequent class) rather than on every subset; trees stop at
``max_depth`` (30) where party has no limit; the test is the asymptotic one (party's default
``testtype``), with no Monte Carlo p-values.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.special import chdtrc

from confidata._tree import Tree
from confidata.synth._encode import Part, to_bins

__all__ = ["grow_ctree"]


def grow_ctree(predictors: list[np.ndarray], parts: list[Part], target: np.ndarray,
               n_classes: int, *, min_leaf: int = 5, min_split: int = 20,
               mincriterion: float = 0.9, max_depth: int = 30) -> Tree:
    """Grow a conditional-inference tree of `target` (class codes when `n_classes` > 0, else
    numbers) on raw predictor arrays (`parts` say how each is encoded)."""
    n = len(target)
    bins = [to_bins(p, a) for p, a in zip(parts, predictors, strict=True)]
    values = [None if p.is_categorical else np.asarray(a, dtype=np.float64)
              for p, a in zip(parts, predictors, strict=True)]
    n_bins = [p.n_bins for p in parts]
    words = max(1, -(-max(n_bins, default=1) // 64))
    if n_classes:
        y = np.asarray(target, dtype=np.int64)
    else:
        y = np.asarray(target, dtype=np.float64)
    alpha = 1.0 - mincriterion
    p = len(parts)
    features = (
        np.ascontiguousarray(np.vstack(bins) if p else np.zeros((0, n), dtype=np.uint16),
                             dtype=np.uint16),
        np.ascontiguousarray(np.vstack([np.zeros(n) if v is None else v for v in values])
                             if p else np.zeros((0, n))),
        np.array([v is None for v in values], dtype=np.bool_),
        np.array([min(b, 1 << 16) for b in n_bins], dtype=np.int64),
    )
    nodes: list[dict] = []
    order_pieces: list[np.ndarray] = []
    position = 0
    stack = [(np.arange(n), 0, -1, False)]  # rows, depth, parent, is_right
    while stack:
        rows, depth, parent, is_right = stack.pop()
        node = len(nodes)
        nodes.append({"feature": -1, "mask": None, "left": -1, "right": -1, "count": len(rows),
                      "start": 0})
        if parent >= 0:
            nodes[parent]["right" if is_right else "left"] = node
        split = None
        if len(rows) >= max(min_split, 2 * min_leaf) and depth < max_depth:
            split = _best_split(rows, bins, values, n_bins, y, n_classes, alpha, min_leaf,
                                features)
        if split is None:
            nodes[node]["start"] = position
            order_pieces.append(rows)
            position += len(rows)
            continue
        feature, left_bins = split
        goes_left = left_bins[bins[feature][rows]]
        nodes[node]["feature"] = feature
        nodes[node]["mask"] = left_bins
        # right child pushed first so the left subtree is numbered (and laid out) first
        stack.append((rows[~goes_left], depth + 1, node, True))
        stack.append((rows[goes_left], depth + 1, node, False))
    return _as_tree(nodes, order_pieces, words)


def _as_tree(nodes: list[dict], order_pieces: list[np.ndarray], words: int) -> Tree:
    k = len(nodes)
    bits = np.zeros((k, words * 64), dtype=bool)
    for i, node in enumerate(nodes):
        if node["mask"] is not None:
            bits[i, : len(node["mask"])] = node["mask"]
    mask = np.packbits(bits, axis=1, bitorder="little").view("<u8").astype(np.uint64)
    feature = np.array([nd["feature"] for nd in nodes], dtype=np.int32)
    return Tree(
        feature=feature,
        threshold=np.zeros(k, dtype=np.int32),
        categorical=feature >= 0,
        mask=mask,
        left=np.array([nd["left"] for nd in nodes], dtype=np.int32),
        right=np.array([nd["right"] for nd in nodes], dtype=np.int32),
        start=np.array([nd["start"] for nd in nodes], dtype=np.int64),
        count=np.array([nd["count"] for nd in nodes], dtype=np.int64),
        order=np.concatenate(order_pieces) if order_pieces else np.zeros(0, dtype=np.int64),
    )


def _best_split(rows, bins, values, n_bins, y, n_classes, alpha, min_leaf, features):
    """The predictor with the strongest significant association, and its best binary split
    as a boolean over its bins (True: left), or None."""
    p = len(n_bins)
    stat = np.zeros(p)
    df = np.zeros(p, dtype=np.int64)
    y_num = y if n_classes == 0 else np.zeros(1)
    y_cls = y if n_classes else np.zeros(1, dtype=np.int64)
    _node_tests(rows, features[0], features[1], features[2], features[3], y_num, y_cls,
                n_classes, stat, df)
    tested = np.flatnonzero(df > 0)
    if not len(tested):
        return None
    with np.errstate(divide="ignore"):  # p-values below 1e-308 tie at -inf, broken by size
        log_p = np.log(chdtrc(df[tested], stat[tested]))
    best = int(np.lexsort((-stat[tested], log_p))[0])
    feature = int(tested[best])
    adjusted = -np.expm1(p * np.log1p(-min(np.exp(log_p[best]), 1.0 - 1e-16)))
    if adjusted > alpha:
        return None
    return _split_on(bins[feature][rows], n_bins[feature], values[feature] is not None, y[rows],
                     n_classes, min_leaf, feature)


@njit(cache=True, nogil=True)
def _node_tests(rows, bins, values, is_cat, n_bins, y_num, y_cls, n_classes, stat, df):
    """Each predictor's quadratic test statistic and degrees of freedom at one node (df 0:
    not testable here). `bins` and `values` are feature-major; a number's missing rows are
    left out of its test."""
    n = rows.shape[0]
    p = bins.shape[0]
    for f in range(p):
        if is_cat[f]:
            levels = n_bins[f]
            if n_classes == 0:
                counts = np.zeros(levels)
                sums = np.zeros(levels)
                total = 0.0
                for i in range(n):
                    total += y_num[rows[i]]
                mean = total / n
                syy = 0.0
                for i in range(n):
                    r = rows[i]
                    d = y_num[r] - mean
                    counts[bins[f, r]] += 1.0
                    sums[bins[f, r]] += d
                    syy += d * d
                present = 0
                between = 0.0
                for b in range(levels):
                    if counts[b] > 0:
                        present += 1
                        between += sums[b] * sums[b] / counts[b]
                if present >= 2 and syy > 0 and n >= 3:
                    stat[f] = (n - 1) * between / syy
                    df[f] = present - 1
            else:
                table = np.zeros((levels, n_classes))
                for i in range(n):
                    r = rows[i]
                    table[bins[f, r], y_cls[r]] += 1.0
                row_sum = table.sum(axis=1)
                col_sum = table.sum(axis=0)
                rows_present = 0
                for b in range(levels):
                    if row_sum[b] > 0:
                        rows_present += 1
                cols_present = 0
                for k in range(n_classes):
                    if col_sum[k] > 0:
                        cols_present += 1
                if rows_present >= 2 and cols_present >= 2 and n >= 3:
                    pearson = 0.0
                    for b in range(levels):
                        if row_sum[b] == 0:
                            continue
                        for k in range(n_classes):
                            if col_sum[k] == 0:
                                continue
                            e = row_sum[b] * col_sum[k] / n
                            d = table[b, k] - e
                            pearson += d * d / e
                    stat[f] = (n - 1) / n * pearson
                    df[f] = (rows_present - 1) * (cols_present - 1)
        else:
            m = 0
            sx = 0.0
            sy = 0.0
            for i in range(n):
                x = values[f, rows[i]]
                if x == x:
                    m += 1
                    sx += x
                    if n_classes == 0:
                        sy += y_num[rows[i]]
            if m < 3:
                continue
            mx = sx / m
            if n_classes == 0:
                my = sy / m
                sxx = 0.0
                syy = 0.0
                sxy = 0.0
                for i in range(n):
                    x = values[f, rows[i]]
                    if x == x:
                        dx = x - mx
                        dy = y_num[rows[i]] - my
                        sxx += dx * dx
                        syy += dy * dy
                        sxy += dx * dy
                if sxx > 0 and syy > 0:
                    stat[f] = (m - 1) * sxy * sxy / (sxx * syy)
                    df[f] = 1
            else:
                counts = np.zeros(n_classes)
                sums = np.zeros(n_classes)
                sxx = 0.0
                for i in range(n):
                    x = values[f, rows[i]]
                    if x == x:
                        dx = x - mx
                        k = y_cls[rows[i]]
                        counts[k] += 1.0
                        sums[k] += dx
                        sxx += dx * dx
                present = 0
                between = 0.0
                for k in range(n_classes):
                    if counts[k] > 0:
                        present += 1
                        between += sums[k] * sums[k] / counts[k]
                if present >= 2 and sxx > 0:
                    stat[f] = (m - 1) * between / sxx
                    df[f] = present - 1


def _split_on(codes, n_bins, numeric, y, n_classes, min_leaf, feature):
    """Best cut of the bins' order by the two-sample statistic, both sides >= min_leaf rows."""
    n = len(codes)
    counts = np.bincount(codes, minlength=n_bins).astype(np.float64)
    if n_classes == 0:
        yc = y - y.mean()
        stats = np.bincount(codes, weights=yc, minlength=n_bins)[:, None]
    else:
        stats = np.bincount(codes.astype(np.int64) * n_classes + y,
                            minlength=n_bins * n_classes).reshape(n_bins, n_classes).astype(np.float64)
    if numeric:
        order = np.arange(1, n_bins)  # bin 0 (no value) joins the larger side afterwards
    else:
        seen = np.flatnonzero(counts > 0)
        if n_classes == 0:
            key = stats[seen, 0] / counts[seen]
        else:
            top = int(np.argmax(stats.sum(axis=0)))
            key = stats[seen, top] / counts[seen]
        order = seen[np.argsort(key, kind="stable")]
    order = order[counts[order] > 0]
    if len(order) < 2:
        return None
    n_used = counts[order].sum()
    left_n = np.cumsum(counts[order])[:-1]
    right_n = n_used - left_n
    left_stats = np.cumsum(stats[order], axis=0)[:-1]
    total = stats[order].sum(axis=0)
    ok = (left_n >= min_leaf) & (right_n >= min_leaf)
    if not ok.any():
        return None
    if n_classes == 0:
        # sum of centred y on the left, standardised: (S_L)^2 (1/n_L + 1/n_R)
        score = left_stats[:, 0] ** 2 * (1 / left_n + 1 / right_n)
    else:
        right_stats = total - left_stats
        share = np.where(total > 0, 1 / np.maximum(total, 1e-300), 0.0)
        score = ((left_stats**2 / left_n[:, None] + right_stats**2 / right_n[:, None]) * share).sum(axis=1)
    score = np.where(ok, score, -np.inf)
    cut = int(np.argmax(score))
    left = np.zeros(n_bins, dtype=bool)
    left[order[: cut + 1]] = True
    if numeric and counts[0] > 0 and left_n[cut] >= right_n[cut]:
        left[0] = True
    _ = n, feature
    return feature, left
