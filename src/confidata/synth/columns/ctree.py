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
from scipy.stats import chi2

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
            split = _best_split(rows, bins, values, n_bins, y, n_classes, alpha, min_leaf)
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
    mask = np.zeros((k, words), dtype=np.uint64)
    for i, node in enumerate(nodes):
        if node["mask"] is not None:
            for b in np.flatnonzero(node["mask"]):
                mask[i, b >> 6] |= np.uint64(1) << np.uint64(b & 63)
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


def _best_split(rows, bins, values, n_bins, y, n_classes, alpha, min_leaf):
    """The predictor with the strongest significant association, and its best binary split
    as a boolean over its bins (True: left), or None."""
    yn = y[rows]
    tests = []
    for f in range(len(bins)):
        if values[f] is None:
            stat, df = _levels_test(bins[f][rows], n_bins[f], yn, n_classes)
        else:
            x = values[f][rows]
            ok = ~np.isnan(x)
            stat, df = _number_test(x[ok], yn[ok], n_classes)
        if df > 0:
            tests.append((chi2.logsf(stat, df), -stat, f))
    if not tests:
        return None
    log_p, _, feature = min(tests)
    adjusted = -np.expm1(len(bins) * np.log1p(-min(np.exp(log_p), 1.0 - 1e-16)))
    if adjusted > alpha:
        return None
    return _split_on(bins[feature][rows], n_bins[feature], values[feature] is not None, yn,
                     n_classes, min_leaf, feature)


def _number_test(x: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[float, int]:
    n = len(x)
    if n < 3:
        return 0.0, 0
    xc = x - x.mean()
    sxx = float(xc @ xc)
    if sxx <= 0:
        return 0.0, 0
    if n_classes == 0:
        yc = y - y.mean()
        syy = float(yc @ yc)
        if syy <= 0:
            return 0.0, 0
        return (n - 1) * float(xc @ yc) ** 2 / (sxx * syy), 1
    counts = np.bincount(y, minlength=n_classes)
    sums = np.bincount(y, weights=xc, minlength=n_classes)
    present = counts > 0
    if present.sum() < 2:
        return 0.0, 0
    between = float((sums[present] ** 2 / counts[present]).sum())
    return (n - 1) * between / sxx, int(present.sum()) - 1


def _levels_test(codes: np.ndarray, n_levels: int, y: np.ndarray,
                 n_classes: int) -> tuple[float, int]:
    n = len(codes)
    counts = np.bincount(codes, minlength=n_levels)
    present = counts > 0
    if present.sum() < 2 or n < 3:
        return 0.0, 0
    if n_classes == 0:
        yc = y - y.mean()
        syy = float(yc @ yc)
        if syy <= 0:
            return 0.0, 0
        sums = np.bincount(codes, weights=yc, minlength=n_levels)
        between = float((sums[present] ** 2 / counts[present]).sum())
        return (n - 1) * between / syy, int(present.sum()) - 1
    table = np.bincount(codes.astype(np.int64) * n_classes + y,
                        minlength=n_levels * n_classes).reshape(n_levels, n_classes)
    table = table[present]
    columns = table.sum(axis=0)
    table = table[:, columns > 0]
    columns = columns[columns > 0]
    if table.shape[1] < 2:
        return 0.0, 0
    expected = np.outer(table.sum(axis=1), columns) / n
    pearson = float(((table - expected) ** 2 / expected).sum())
    return (n - 1) / n * pearson, (table.shape[0] - 1) * (table.shape[1] - 1)


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
