"""Random forests and bagging for synthpop's ``rf`` and ``bag`` column methods.

synthpop's ``syn.rf`` / ``syn.bag`` grow ``randomForest`` trees (``ntree = 10``; ``rf`` tries
randomForest's default number of predictors at each split, ``bag`` all of them), then, for each
synthetic row, pool the real values of the real rows that share its leaf in every tree and draw
one. That per-row loop in R is why both take ~50 s on SD2011's 5,000 rows. Here the trees are
scikit-learn's (grown on the predictors' bins, a bootstrap sample each), rewritten as
`confidata._tree.Tree` so the compiled walker applies them and a loaded file is checked as CART's
is, and the pooled draw is vectorised: a row picks a tree with probability proportional to the
real rows in its leaf there, then one of those rows, which is exactly a uniform draw from the
pool (duplicates kept).

Differences from synthpop, on purpose: leaves hold at least ``min_leaf`` (5) rows for
categories too (randomForest's classification default is 1: pure leaves, whose pooled draw
pushes every category towards the mode, the marginal drift synthpop's rf and bag show on
SD2011); an unordered predictor is split on its level codes' order, where randomForest splits
factors on level subsets; case weights, when given, weight the trees but not the draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from confidata._tree import Tree, apply_tree
from confidata.synth._encode import Part, to_bins

__all__ = ["Forest"]

_TREE_FIELDS = ("feature", "threshold", "categorical", "mask", "left", "right", "start", "count")


class Forest:
    """Fitted trees plus, per tree, the fitting rows in leaf order (indices into `values`)."""

    name = "rf"

    def __init__(self, trees: list[Tree], orders: list[np.ndarray], parts: list[Part]) -> None:
        self.trees, self.orders, self.parts = trees, orders, parts

    @classmethod
    def fit(cls, target: np.ndarray, predictors: list[np.ndarray], parts: list[Part],
            w: np.ndarray | None, options: dict[str, Any], column: str, *, bagging: bool,
            seed: int) -> Forest:
        X = np.column_stack([to_bins(p, a) for p, a in zip(parts, predictors, strict=True)]
                            ).astype(np.float32)
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor  # slow to import

        classify = options["classify"]
        common = dict(n_estimators=int(options.get("ntree") or 10),
                      min_samples_leaf=int(options.get("min_leaf") or 5), random_state=seed, n_jobs=1)
        if classify:
            forest = RandomForestClassifier(max_features=None if bagging else "sqrt", **common)
        else:
            forest = RandomForestRegressor(max_features=1.0 if bagging else 1 / 3, **common)
        forest.fit(X, target, sample_weight=w)
        leaves = forest.apply(X)  # (rows, trees)
        trees, orders = [], []
        for t, estimator in enumerate(forest.estimators_):
            tree, order = _convert(estimator.tree_, leaves[:, t])
            trees.append(tree)
            orders.append(order)
        return cls(trees, orders, parts)

    def draw_rows(self, bins: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        """Row numbers (into the fitting rows) drawn from each row's pooled leaves, given the
        predictors' bins."""
        X = np.column_stack(bins) if bins else np.zeros((n, 0), dtype=np.uint16)
        starts = np.empty((n, len(self.trees)), dtype=np.int64)
        counts = np.empty((n, len(self.trees)), dtype=np.int64)
        for t, tree in enumerate(self.trees):
            leaf = apply_tree(tree, X)
            starts[:, t] = tree.start[leaf]
            counts[:, t] = tree.count[leaf]
        cumulative = np.cumsum(counts, axis=1)
        u = np.floor(rng.random(n) * cumulative[:, -1]).astype(np.int64)
        tree_pick = (u[:, None] >= cumulative).sum(axis=1)
        before = np.where(tree_pick > 0, cumulative[np.arange(n), np.maximum(tree_pick - 1, 0)], 0)
        offset = u - before
        out = np.empty(n, dtype=np.int64)
        for t, order in enumerate(self.orders):
            hit = tree_pick == t
            out[hit] = order[starts[hit, t] + offset[hit]]
        return out

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        for t, (tree, order) in enumerate(zip(self.trees, self.orders, strict=True)):
            for field in _TREE_FIELDS:
                arrays[f"t{t}_{field}"] = getattr(tree, field)
            arrays[f"t{t}_order"] = order
        return {"n_trees": len(self.trees)}, arrays

    @classmethod
    def restore(cls, state: dict[str, Any], arrays: dict[str, np.ndarray], parts: list[Part],
                n_values: int) -> Forest:
        from confidata.synth._cart_file import check_tree

        trees, orders = [], []
        for t in range(int(state["n_trees"])):
            tree = Tree(*(arrays[f"t{t}_{f}"] for f in _TREE_FIELDS), order=np.zeros(0, dtype=np.int64))
            order = arrays[f"t{t}_order"].astype(np.int64)
            check_tree(tree, len(parts), len(order))
            if len(order) and (order.min() < 0 or order.max() >= n_values):
                raise ValueError("a forest leaf that points outside its values")
            trees.append(tree)
            orders.append(order)
        if not trees:
            raise ValueError("a forest without trees")
        return cls(trees, orders, parts)


def _convert(sk_tree, leaves: np.ndarray) -> tuple[Tree, np.ndarray]:
    """A scikit-learn tree as a `Tree` over bins, and the fitting rows grouped by leaf."""
    left = sk_tree.children_left.astype(np.int32)
    right = sk_tree.children_right.astype(np.int32)
    inner = left >= 0
    feature = np.where(inner, sk_tree.feature, -1).astype(np.int32)
    # bins are whole numbers; scikit-learn's cut half-way between two means "bin <= floor"
    threshold = np.where(inner, np.floor(sk_tree.threshold), 0).astype(np.int32)
    k = len(left)
    order = np.argsort(leaves, kind="stable").astype(np.int64)
    count = np.bincount(leaves, minlength=k).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    tree = Tree(feature, threshold, np.zeros(k, dtype=bool), np.zeros((k, 1), dtype=np.uint64),
                left, right, start, count, order)
    return tree, order
