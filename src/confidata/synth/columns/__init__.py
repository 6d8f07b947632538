"""Per-column synthesis methods of `confidata.synth.sequential`, as synthpop's ``method`` vector.

`COLUMN_METHODS` is the registry: name -> `ColumnMethod` (what kinds of column it models, and
how to fit one part of the visit sequence). A part is a category (or the missing-value state of
a number) or a number's value (see `confidata.synth._encode`). Methods:

=========  ===============================================================  ================
name       model                                                            column kinds
=========  ===============================================================  ================
sample     the column's own marginal: a real value drawn at random           any
norm       linear regression, prediction plus normal noise                   numbers
normrank   ``norm`` on normal scores of ranks, mapped back to real values    numbers
lognorm    ``norm`` on the logarithm                                         non-negative
pmm        predictive mean matching (3 donors)                               numbers
logreg     logistic regression                                               two levels
polyreg    multinomial logistic regression                                   categories
polr       proportional-odds logistic regression                             ordinal
cart       classification/regression tree, real value from the leaf          any
ctree      conditional-inference tree, real value from the leaf              any
rf         random forest (10 trees), real value from the pooled leaves       any
bag        bagged trees (10), real value from the pooled leaves              any
=========  ===============================================================  ================

A number's missing-value state, under a method that models only values (norm, normrank,
lognorm, pmm), is modelled by ``logreg`` (two states) or ``polyreg`` (more), as synthpop does.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from confidata._tree import grow_tree
from confidata.synth._encode import Part
from confidata.synth._fitted import Step
from confidata.synth.columns.ctree import grow_ctree
from confidata.synth.columns.forest import Forest
from confidata.synth.columns.linear import PMM, LogNorm, Norm, NormRank
from confidata.synth.columns.logistic import LogReg, Polr, PolyReg

__all__ = ["COLUMN_METHODS", "ColumnMethod", "NUMERIC_ONLY", "part_method"]

Fit = Callable[[Step, np.ndarray, list[np.ndarray], list[Part], "np.ndarray | None", dict[str, Any]], None]


@dataclass(frozen=True)
class ColumnMethod:
    """One entry of the registry."""

    name: str
    numbers: bool  # models a number's value
    categories: str  # "" none, "binary" two levels, "ordinal" ordered levels, "any"
    fit: Fit
    what: str
    model: type | None = None  # the fitted model's class, for loading (None: a tree or marginal)


def _fit_sample(step, target, predictors, parts, w, options) -> None:
    step.tree = None
    step.leaf_values = target


def _fit_cart(step, target, predictors, parts, w, options) -> None:
    X = (np.column_stack([_bins(p, a) for p, a in zip(parts, predictors, strict=True)])
         if predictors else np.zeros((len(target), 0), dtype=np.uint16))
    n_bins = np.array([p.n_bins for p in parts], dtype=np.int32)
    is_cat = np.array([p.is_categorical for p in parts], dtype=bool)
    n_classes = len(step.part.levels) if step.part.is_categorical else 0
    tree = grow_tree(X, n_bins, is_cat, target, n_classes, w, min_leaf=options["min_leaf"],
                     min_split=options["min_split"] or 100, max_depth=options["max_depth"],
                     cp=options["cp"])
    _leaves(step, tree, target, w)


def _fit_ctree(step, target, predictors, parts, w, options) -> None:
    n_classes = len(step.part.levels) if step.part.is_categorical else 0
    tree = grow_ctree(predictors, parts, target, n_classes, min_leaf=options["min_leaf"],
                      min_split=options["min_split"] or 20,
                      mincriterion=options["mincriterion"] or 0.9, max_depth=options["max_depth"])
    _leaves(step, tree, target, w)


def _leaves(step: Step, tree, target: np.ndarray, w: np.ndarray | None) -> None:
    step.tree = tree
    step.leaf_values = target[tree.order]
    if w is not None:
        step.leaf_weights = np.cumsum(w[tree.order])


def _bins(part: Part, array: np.ndarray) -> np.ndarray:
    from confidata.synth._encode import to_bins

    return to_bins(part, array)


def _forest(bagging: bool) -> Fit:
    def fit(step, target, predictors, parts, w, options) -> None:
        if not predictors:  # no predictor to split on: the marginal
            _fit_sample(step, target, predictors, parts, w, options)
            return
        # one seed per part, from the fit's seed and the part's name: the same on every run
        seed = (int(options["seed"]) + zlib.crc32(step.part.name.encode())) % 2**32
        step.model = Forest.fit(target, predictors, parts, w,
                                {**options, "classify": step.part.is_categorical}, step.part.name,
                                bagging=bagging, seed=seed)
        step.tree = None
        step.leaf_values = target
    return fit


def _regression(model: type) -> Fit:
    def fit(step, target, predictors, parts, w, options) -> None:
        step.model = model.fit(target, predictors, parts, w, options, step.part.column)
        step.tree = None
        step.leaf_values = np.sort(target) if not step.part.is_categorical else target
    return fit


COLUMN_METHODS: dict[str, ColumnMethod] = {
    "sample": ColumnMethod("sample", True, "any", _fit_sample, "its own marginal"),
    "norm": ColumnMethod("norm", True, "", _regression(Norm), "linear regression", Norm),
    "normrank": ColumnMethod("normrank", True, "", _regression(NormRank),
                             "linear regression on normal rank scores", NormRank),
    "lognorm": ColumnMethod("lognorm", True, "", _regression(LogNorm),
                            "linear regression on the logarithm", LogNorm),
    "pmm": ColumnMethod("pmm", True, "", _regression(PMM), "predictive mean matching", PMM),
    "logreg": ColumnMethod("logreg", False, "binary", _regression(LogReg), "logistic regression",
                           LogReg),
    "polyreg": ColumnMethod("polyreg", False, "any", _regression(PolyReg),
                            "multinomial logistic regression", PolyReg),
    "polr": ColumnMethod("polr", False, "ordinal", _regression(Polr),
                         "proportional-odds logistic regression", Polr),
    "cart": ColumnMethod("cart", True, "any", _fit_cart, "a classification or regression tree"),
    "ctree": ColumnMethod("ctree", True, "any", _fit_ctree, "a conditional-inference tree"),
    "rf": ColumnMethod("rf", True, "any", _forest(False), "a random forest", Forest),
    "bag": ColumnMethod("bag", True, "any", _forest(True), "bagged trees", Forest),
}

NUMERIC_ONLY = frozenset(n for n, m in COLUMN_METHODS.items() if not m.categories)


def part_method(method: str, part: Part, ordinal: bool) -> str:
    """The method that models one part of a column whose method is `method`: a number's
    missing-value state, or a one-hot group drawn as one category, under a method for values
    gets a logistic model; an ordered model on levels that are not ordered becomes polyreg."""
    if part.is_categorical:
        if method in NUMERIC_ONLY:
            return "logreg" if len(part.levels) == 2 else "polyreg"
        if method == "logreg" and len(part.levels) != 2:
            return "polyreg"
        if method == "polr" and (not ordinal or part.kind != "category"):
            return "polyreg"
    return method
