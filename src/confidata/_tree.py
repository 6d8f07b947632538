"""A histogram CART for sequential synthesis: grow on binned predictors, return leaves.

Why not scikit-learn's trees: they sort every feature at every node and took 28-42 s for one
tree on 1,000,000 rows here; synthesis needs one tree per column. This grower works on
predictors already cut into bins (category codes, or quantile bins of numbers
with bin 0 for "missing"): at each node it counting-sorts the node's rows by bin, once per
feature, and walks them updating left/right statistics row by row, so a split search costs
O(rows in node x features) whatever the number of target classes. Total work is
O(rows x features x depth).

It follows rpart as synthpop calls it: least squares for a numeric target, Gini for a
categorical one, a minimum leaf size (``minbucket``), no split of nodes under ``min_split``
rows (rpart's ``minsplit`` = 3 x ``minbucket``), a maximum depth of 30, and a complexity
parameter: a split must reduce the root impurity by at least ``cp`` times itself. Unordered
categorical predictors are split on a subset of levels: levels are ordered by the target's
mean (numeric target) or by the share of the node's most frequent class (categorical
target), and the best cut of that order is taken. For a numeric or two-class target this is
Breiman's exact result; for more classes it is a fast heuristic where rpart tries all
2^(L-1) subsets (which is why synthpop stalls on many-level factors).

The training rows of each leaf stay together in `order`; synthesis draws one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["Tree", "apply_tree", "grow_tree", "MAX_BINS"]

MAX_BINS = 1024  # category codes beyond this are grouped before they reach a tree


@dataclass
class Tree:
    """A fitted tree: node arrays, plus the training rows of each leaf in leaf order."""

    feature: np.ndarray  # int32, -1 at leaves
    threshold: np.ndarray  # int32: numeric split, bins <= threshold go left
    categorical: np.ndarray  # bool: split on a set of levels (mask)
    mask: np.ndarray  # uint64 (nodes, words): bit b set -> bin b goes left
    left: np.ndarray  # int32, -1 at leaves
    right: np.ndarray  # int32
    start: np.ndarray  # int64: first position of the node's rows in `order`
    count: np.ndarray  # int64: rows in the node
    order: np.ndarray  # int64: training row numbers, grouped by leaf

    @property
    def n_leaves(self) -> int:
        return int((self.feature < 0).sum())


def grow_tree(
    bins: np.ndarray,
    n_bins: np.ndarray,
    is_categorical: np.ndarray,
    target: np.ndarray,
    n_classes: int,
    weights: np.ndarray | None = None,
    *,
    min_leaf: int = 5,
    min_split: int | None = None,
    max_depth: int = 30,
    cp: float = 1e-8,
) -> Tree:
    """Grow a tree of `target` on `bins` (n rows x p features, uint16 bin numbers).

    `n_classes` = 0 means a numeric target (float64); otherwise `target` holds class codes
    0..n_classes-1 (int32). `weights` are case weights (default 1). A negative `cp` splits
    every node the size rules allow, even where no split lowers the impurity (as scikit-learn
    grows trees before pruning): a file whose columns keep every margin but lost their
    relationships shows no gain at the root, only below it.
    """
    n = bins.shape[0]
    if weights is None:
        weights = np.ones(n, dtype=np.float64)
    min_split = 3 * min_leaf if min_split is None else min_split
    if n_classes == 0:  # centred: the same splits, fewer rounding errors in the gains
        y_num = target.astype(np.float64) - float(np.average(target, weights=weights))
    else:
        y_num = np.zeros(1, dtype=np.float64)
    y_cls = target.astype(np.int32) if n_classes > 0 else np.zeros(1, dtype=np.int32)
    categorical_bins = n_bins[is_categorical.astype(bool)] if len(n_bins) else n_bins
    words = max(1, -(-int(categorical_bins.max(initial=1)) // 64))
    arrays = _grow(
        # feature-major (p x n, C order): a split search reads one feature of many rows, so
        # each feature's bins should be contiguous (1M rows = 2 MB, which stays in cache). A
        # transposed C array rather than a Fortran one: numba types a one-column Fortran array
        # as C, so that layout compiled every kernel twice.
        np.ascontiguousarray(np.asarray(bins).T, dtype=np.uint16),
        n_bins.astype(np.int32),
        is_categorical.astype(np.bool_),
        y_num,
        y_cls,
        int(n_classes),
        weights.astype(np.float64),
        int(min_leaf),
        int(max(min_split, 2 * min_leaf)),
        int(max_depth),
        float(cp),
        int(words),
    )
    n_nodes = arrays[-1]
    feature, threshold, categorical, mask, left, right, start, count, order = (
        a[:n_nodes] if i < 8 else a for i, a in enumerate(arrays[:-1])
    )
    return Tree(feature, threshold, categorical, mask, left, right, start, count, order)


def apply_tree(tree: Tree, bins: np.ndarray) -> np.ndarray:
    """The leaf (node number) each row of `bins` falls into."""
    def fixed(array: np.ndarray, dtype: type) -> np.ndarray:
        return np.ascontiguousarray(array, dtype=dtype)

    # fixed dtypes and layouts, so a tree read from a model file runs the kernel compiled
    # (and cached) for a freshly grown one instead of compiling another variant
    return _apply(
        fixed(bins, np.uint16), fixed(tree.feature, np.int32), fixed(tree.threshold, np.int32),
        fixed(tree.categorical, np.bool_), fixed(tree.mask, np.uint64),
        fixed(tree.left, np.int32), fixed(tree.right, np.int32),
    )


@njit(cache=True, nogil=True)
def _apply(bins, feature, threshold, categorical, mask, left, right):
    n = bins.shape[0]
    words = mask.shape[1]
    out = np.empty(n, dtype=np.int32)
    for r in range(n):
        node = 0
        while left[node] >= 0:
            b = bins[r, feature[node]]
            if categorical[node]:
                go_left = (b >> 6) < words and (mask[node, b >> 6] >> np.uint64(b & 63)) & np.uint64(1)
                node = left[node] if go_left else right[node]
            else:
                node = left[node] if b <= threshold[node] else right[node]
        out[r] = node
    return out


@njit(cache=True, nogil=True)
def _grow(bins, n_bins, is_cat, y_num, y_cls, n_classes, w, min_leaf, min_split, max_depth, cp,
          words):
    p, n = bins.shape  # bins are feature-major: bins[f, r]
    classify = n_classes > 0
    cap = 2 * (n // max(min_leaf, 1)) + 3
    feature = np.full(cap, -1, dtype=np.int32)
    threshold = np.zeros(cap, dtype=np.int32)
    categorical = np.zeros(cap, dtype=np.bool_)
    mask = np.zeros((cap, words), dtype=np.uint64)
    left = np.full(cap, -1, dtype=np.int32)
    right = np.full(cap, -1, dtype=np.int32)
    start = np.zeros(cap, dtype=np.int64)
    count = np.zeros(cap, dtype=np.int64)
    depth = np.zeros(cap, dtype=np.int32)
    order = np.arange(n).astype(np.int64)
    buffer = np.empty(n, dtype=np.int64)
    sorted_rows = np.empty(n, dtype=np.int64)

    # scratch space, reused by every node
    most = 2
    for f in range(p):
        most = max(most, n_bins[f])
    bin_rows = np.zeros(most, dtype=np.int64)
    bin_w = np.zeros(most, dtype=np.float64)
    bin_key = np.zeros(most, dtype=np.float64)
    bin_pos = np.zeros(most, dtype=np.int64)
    present = np.empty(most, dtype=np.int64)
    best_bins = np.empty(most, dtype=np.int64)
    n_cls = max(n_classes, 1)
    # up to this many classes, Gini is computed from per-bin class sums; beyond, row by row
    few_classes = classify and n_classes <= 16
    bin_cls = np.zeros((most, n_cls if few_classes else 1), dtype=np.float64)
    class_total = np.zeros(n_cls, dtype=np.float64)
    class_left = np.zeros(n_cls, dtype=np.float64)

    # impurity of the root, for the complexity parameter
    w_all = 0.0
    s_all = 0.0
    q_all = 0.0
    if classify:
        for i in range(n):
            class_total[y_cls[i]] += w[i]
            w_all += w[i]
        for k in range(n_classes):
            q_all += class_total[k] * class_total[k]
            class_total[k] = 0.0
        root_impurity = w_all - q_all / w_all if w_all > 0 else 0.0
    else:
        ss = 0.0
        for i in range(n):
            w_all += w[i]
            s_all += w[i] * y_num[i]
            ss += w[i] * y_num[i] * y_num[i]
        root_impurity = ss - s_all * s_all / w_all if w_all > 0 else 0.0
    min_gain = cp * root_impurity

    n_nodes = 1
    start[0] = 0
    count[0] = n
    stack = np.empty(cap, dtype=np.int64)
    top = 0
    stack[top] = 0
    top += 1
    while top > 0:
        top -= 1
        node = stack[top]
        s = start[node]
        c = count[node]
        if c < min_split or depth[node] >= max_depth:
            continue
        # node totals
        w_node = 0.0
        s_node = 0.0
        q_node = 0.0
        majority = 0
        if classify:
            for i in range(s, s + c):
                r = order[i]
                class_total[y_cls[r]] += w[r]
                w_node += w[r]
            best_share = -1.0
            for i in range(s, s + c):
                k = y_cls[order[i]]
                if class_total[k] > best_share:
                    best_share = class_total[k]
                    majority = k
            # sum of squared class weights: visit each class once via the rows
            for i in range(s, s + c):
                k = y_cls[order[i]]
                if class_total[k] > 0.0:
                    q_node += class_total[k] * class_total[k]
                    class_left[k] = class_total[k]  # mark; reset below
                    class_total[k] = -class_total[k]
            for i in range(s, s + c):
                k = y_cls[order[i]]
                if class_total[k] < 0.0:
                    class_total[k] = class_left[k]
                    class_left[k] = 0.0
            parent_score = q_node / w_node if w_node > 0.0 else 0.0
        else:
            for i in range(s, s + c):
                r = order[i]
                w_node += w[r]
                s_node += w[r] * y_num[r]
            parent_score = s_node * s_node / w_node if w_node > 0.0 else 0.0
        if w_node <= 0.0:
            if classify:
                for i in range(s, s + c):
                    class_total[y_cls[order[i]]] = 0.0
            continue

        best_gain = min_gain
        best_feature = -1
        best_is_cat = False
        best_threshold = 0
        best_n_left_bins = 0
        for f in range(p):
            if n_bins[f] <= 1:
                continue
            # pass over the node's rows: which bins are present, with their sums
            # (scratch arrays are all zero on entry and are reset before the next feature)
            n_present = np.int64(0)  # not a literal 0: that compiled each helper twice
            for i in range(s, s + c):
                r = order[i]
                b = bins[f, r]
                if bin_rows[b] == 0:
                    present[n_present] = b
                    n_present += 1
                bin_rows[b] += 1
                bin_w[b] += w[r]
                if classify:
                    if y_cls[r] == majority:
                        bin_key[b] += w[r]
                    if few_classes:
                        bin_cls[b, y_cls[r]] += w[r]
                else:
                    bin_key[b] += w[r] * y_num[r]
            if n_present >= 2:
                if not is_cat[f]:
                    if 8 * n_present > n_bins[f]:  # many bins: rebuild the list in bin order
                        n_present = np.int64(0)  # not a literal 0: that compiled each helper twice
                        for b in range(n_bins[f]):
                            if bin_rows[b] > 0:
                                present[n_present] = b
                                n_present += 1
                    else:  # few bins: insertion sort in place
                        for j in range(1, n_present):
                            v = present[j]
                            t = j - 1
                            while t >= 0 and present[t] > v:
                                present[t + 1] = present[t]
                                t -= 1
                            present[t + 1] = v
                else:
                    keys = np.empty(n_present, dtype=np.float64)
                    if classify and not few_classes:
                        _dominant_keys(keys, s, c, f, order, bins, w, y_cls, present, n_present,
                                       bin_rows, bin_w, bin_pos, sorted_rows, class_left)
                    else:
                        for j in range(n_present):
                            b = present[j]
                            keys[j] = bin_key[b] / bin_w[b] if bin_w[b] > 0 else 0.0
                    ranked = np.argsort(keys, kind="mergesort")
                    tmp_present = present[:n_present].copy()
                    for j in range(n_present):
                        present[j] = tmp_present[ranked[j]]
                if classify and not few_classes:
                    cut, gain, n_cut = _walk_rows(
                        s, c, f, order, bins, w, y_cls, present, n_present, bin_rows, bin_pos,
                        sorted_rows, class_total, class_left, q_node, w_node, parent_score,
                        min_leaf,
                    )
                else:
                    cut, gain, n_cut = _walk_bins(
                        c, present, n_present, bin_rows, bin_w, bin_key, bin_cls, classify,
                        n_classes, class_total, class_left, q_node, w_node, s_node,
                        parent_score, min_leaf,
                    )
                if cut >= 0 and gain > best_gain + 1e-12 * abs(parent_score):
                    best_gain = gain
                    best_feature = f
                    best_is_cat = is_cat[f]
                    best_threshold = cut
                    best_n_left_bins = n_cut
                    for t in range(n_cut):
                        best_bins[t] = present[t]
            for j in range(n_present):
                b = present[j]
                bin_rows[b] = 0
                bin_w[b] = 0.0
                bin_key[b] = 0.0
                if few_classes:
                    for k in range(n_classes):
                        bin_cls[b, k] = 0.0
        if classify:
            for i in range(s, s + c):
                class_total[y_cls[order[i]]] = 0.0
        if best_feature < 0:
            continue
        # record the split and partition the node's rows (stable)
        feature[node] = best_feature
        categorical[node] = best_is_cat
        threshold[node] = best_threshold
        if best_is_cat:
            for t in range(best_n_left_bins):
                b = best_bins[t]
                mask[node, b >> 6] |= np.uint64(1) << np.uint64(b & 63)
            # levels absent from this node (unseen combinations in synthetic rows) follow
            # the larger side, as rpart sends them with the majority
            rows_left = 0
            for i in range(s, s + c):
                b = bins[best_feature, order[i]]
                bin_rows[b] += 1
                if (mask[node, b >> 6] >> np.uint64(b & 63)) & np.uint64(1):
                    rows_left += 1
            if 2 * rows_left > c:
                for b in range(n_bins[best_feature]):
                    if bin_rows[b] == 0:
                        mask[node, b >> 6] |= np.uint64(1) << np.uint64(b & 63)
            for i in range(s, s + c):
                bin_rows[bins[best_feature, order[i]]] = 0
        n_left = 0
        n_right = 0
        for i in range(s, s + c):
            r = order[i]
            b = bins[best_feature, r]
            if best_is_cat:
                go_left = (mask[node, b >> 6] >> np.uint64(b & 63)) & np.uint64(1)
            else:
                go_left = b <= best_threshold
            if go_left:
                order[s + n_left] = r
                n_left += 1
            else:
                buffer[n_right] = r
                n_right += 1
        for i in range(n_right):
            order[s + n_left + i] = buffer[i]
        lchild = n_nodes
        rchild = n_nodes + 1
        n_nodes += 2
        left[node] = lchild
        right[node] = rchild
        start[lchild] = s
        count[lchild] = n_left
        start[rchild] = s + n_left
        count[rchild] = n_right
        depth[lchild] = depth[node] + 1
        depth[rchild] = depth[node] + 1
        stack[top] = rchild
        top += 1
        stack[top] = lchild
        top += 1
    return feature, threshold, categorical, mask, left, right, start, count, order, n_nodes


@njit(cache=True, nogil=True)
def _walk_bins(c, present, n_present, bin_rows, bin_w, bin_key, bin_cls, classify, n_classes,
               class_total, class_left, q_node, w_node, s_node, parent_score, min_leaf):
    """Best cut of the ordered bins from per-bin sums: one step per bin, not per row."""
    best_gain = -np.inf
    best_cut = -1
    best_n = 0
    w_left = 0.0
    s_left = 0.0
    q_left = 0.0
    q_right = q_node
    n_left = 0
    for j in range(n_present - 1):
        b = present[j]
        n_left += bin_rows[b]
        w_left += bin_w[b]
        if classify:
            for k in range(n_classes):
                add = bin_cls[b, k]
                if add != 0.0:
                    cl = class_left[k]
                    cr = class_total[k] - cl
                    q_left += 2.0 * add * cl + add * add
                    q_right += -2.0 * add * cr + add * add
                    class_left[k] = cl + add
        else:
            s_left += bin_key[b]
        if n_left < min_leaf:
            continue
        if c - n_left < min_leaf:
            break
        w_right = w_node - w_left
        if w_left <= 0.0 or w_right <= 0.0:
            continue
        if classify:
            gain = q_left / w_left + q_right / w_right - parent_score
        else:
            s_right = s_node - s_left
            gain = s_left * s_left / w_left + s_right * s_right / w_right - parent_score
        if gain > best_gain:
            best_gain = gain
            best_cut = b
            best_n = j + 1
    if classify:
        for k in range(n_classes):
            class_left[k] = 0.0
    return best_cut, best_gain, best_n


@njit(cache=True, nogil=True)
def _walk_rows(s, c, f, order, bins, w, y_cls, present, n_present, bin_rows, bin_pos,
               sorted_rows, class_total, class_left, q_node, w_node, parent_score, min_leaf):
    """Best cut for a target with many classes: rows in bin order, Gini updated per row."""
    _sort_rows_by_bin(s, c, f, order, bins, present, n_present, bin_rows, bin_pos, sorted_rows)
    best_gain = -np.inf
    best_cut = -1
    best_n = 0
    w_left = 0.0
    q_left = 0.0
    q_right = q_node
    n_left = 0
    i = 0
    for j in range(n_present - 1):
        b = present[j]
        for _ in range(bin_rows[b]):
            r = sorted_rows[i]
            i += 1
            wr = w[r]
            k = y_cls[r]
            cl = class_left[k]
            cr = class_total[k] - cl
            q_left += 2.0 * wr * cl + wr * wr
            q_right += -2.0 * wr * cr + wr * wr
            class_left[k] = cl + wr
            w_left += wr
            n_left += 1
        if n_left < min_leaf:
            continue
        if c - n_left < min_leaf:
            break
        w_right = w_node - w_left
        if w_left <= 0.0 or w_right <= 0.0:
            continue
        gain = q_left / w_left + q_right / w_right - parent_score
        if gain > best_gain:
            best_gain = gain
            best_cut = b
            best_n = j + 1
    for t in range(s, s + c):
        class_left[y_cls[order[t]]] = 0.0
    return best_cut, best_gain, best_n


@njit(cache=True, nogil=True)
def _dominant_keys(keys, s, c, f, order, bins, w, y_cls, present, n_present, bin_rows, bin_w,
                   bin_pos, sorted_rows, scratch):
    """Order levels of a predictor for a many-class target by their most frequent class.

    Levels dominated by the same class become neighbours, so one cut can separate groups of
    classes and the tree stays shallow: ordering by the share of the node's majority class,
    used for up to 16 classes, peels off one class per level of depth, and with more classes
    than ``max_depth`` some could never be told apart.
    """
    _sort_rows_by_bin(s, c, f, order, bins, present, n_present, bin_rows, bin_pos, sorted_rows)
    i = 0
    for j in range(n_present):
        b = present[j]
        first = i
        best = -1
        best_w = -1.0
        for _ in range(bin_rows[b]):
            k = y_cls[sorted_rows[i]]
            scratch[k] += w[sorted_rows[i]]
            if scratch[k] > best_w:
                best_w = scratch[k]
                best = k
            i += 1
        for t in range(first, i):
            scratch[y_cls[sorted_rows[t]]] = 0.0
        share = best_w / bin_w[b] if bin_w[b] > 0 else 0.0
        keys[j] = best + 0.5 * (1.0 - share)


@njit(cache=True, nogil=True)
def _sort_rows_by_bin(s, c, f, order, bins, present, n_present, bin_rows, bin_pos, sorted_rows):
    """Counting sort of the node's rows into `sorted_rows`, bins in the order of `present`."""
    pos = 0
    for j in range(n_present):
        bin_pos[present[j]] = pos
        pos += bin_rows[present[j]]
    for i in range(s, s + c):
        r = order[i]
        b = bins[f, r]
        sorted_rows[bin_pos[b]] = r
        bin_pos[b] += 1
