"""Logistic column methods for categories: synthpop's ``logreg``, ``polyreg`` and ``polr``.

* ``logreg`` (two levels) and ``polyreg`` (any number): a (multinomial) logistic regression of
  the level on the predictors, fitted by scikit-learn's L-BFGS; each synthetic row draws its
  level from its predicted probabilities.
* ``polr``: the proportional-odds model of an ordered category (MASS::polr's model,
  ``P(y <= k) = logistic(theta_k - x'beta)``), fitted by maximum likelihood with scipy's
  L-BFGS on the analytic gradient; levels drawn from the predicted probabilities. Where the fit
  fails it becomes ``polyreg``, with a warning (synthpop does the same).

Differences from synthpop, on purpose: synthpop stabilises its fits by adding weighted
pseudo-rows (White, Daniel & Royston 2010, ``augment.syn``); here a mild L2 penalty on the
standardised predictors (``C = 1`` per row sum, tiny beside 5,000 rows) does that job, so a
level that one predictor separates perfectly gets a large finite coefficient either way. A level
absent from the fitting rows is never drawn. The polr's missing level, where the column has
missing cells, is taken as the highest level.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, softmax

from confidata.errors import ConfidataWarning
from confidata.synth._encode import Part
from confidata.synth.columns._design import Design

__all__ = ["LogReg", "Polr", "PolyReg"]


def _categorical_draw(probabilities: np.ndarray, classes: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """One class per row from its probabilities (rows sum to 1)."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities)) * cumulative[:, -1]
    pick = (u[:, None] >= cumulative).sum(axis=1)
    return classes[np.minimum(pick, len(classes) - 1)].astype(np.int32)


class PolyReg:
    """Multinomial (or, with two classes, binary) logistic regression."""

    name = "polyreg"

    def __init__(self, design: Design, classes: np.ndarray, coef: np.ndarray,
                 intercept: np.ndarray) -> None:
        self.design, self.classes, self.coef, self.intercept = design, classes, coef, intercept

    @classmethod
    def fit(cls, target: np.ndarray, predictors: list[np.ndarray], parts: list[Part],
            w: np.ndarray | None, options: dict[str, Any], column: str):
        design, X = Design.fit(predictors, parts, len(target))
        classes = np.unique(target).astype(np.int32)
        if len(classes) < 2 or X.shape[1] == 0:
            shares = np.bincount(np.searchsorted(classes, target), weights=w,
                                 minlength=len(classes)).astype(np.float64)
            logits = np.log(np.maximum(shares / shares.sum(), 1e-300))
            return cls(design, classes, np.zeros((len(classes), X.shape[1])), logits)
        from sklearn.exceptions import ConvergenceWarning  # sklearn is slow to import: only here
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1.0, max_iter=1000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, target, sample_weight=w)
        coef, intercept = model.coef_, model.intercept_
        if len(classes) == 2:  # scikit-learn keeps one row for two classes: the second's logit
            coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
            intercept = np.array([0.0, intercept[0]])
        return cls(design, classes, coef.astype(np.float64), intercept.astype(np.float64))

    def probabilities(self, predictors: list[np.ndarray], n: int) -> np.ndarray:
        X = self.design.matrix(predictors, n)
        return softmax(X @ self.coef.T + self.intercept, axis=1)

    def draw(self, predictors: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        return _categorical_draw(self.probabilities(predictors, n), self.classes, rng)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"classes": self.classes, "coef": self.coef, "intercept": self.intercept,
                    **self.design.state("d_")}

    @classmethod
    def restore(cls, state: dict[str, Any], arrays: dict[str, np.ndarray], n_predictors: int):
        design = Design.restore(arrays, "d_", n_predictors)
        classes, coef, intercept = arrays["classes"], arrays["coef"], arrays["intercept"]
        if coef.ndim != 2 or coef.shape != (len(classes), len(design.center)) \
                or len(intercept) != len(classes) or len(classes) == 0:
            raise ValueError("logistic coefficients that do not fit the design")
        return cls(design, classes.astype(np.int32), coef.astype(np.float64),
                   intercept.astype(np.float64))


class LogReg(PolyReg):
    """Logistic regression of a two-level category (the model of ``polyreg`` with two)."""

    name = "logreg"


class Polr:
    """Proportional-odds (ordered logistic) regression."""

    name = "polr"

    def __init__(self, design: Design, classes: np.ndarray, beta: np.ndarray,
                 cuts: np.ndarray) -> None:
        self.design, self.classes, self.beta, self.cuts = design, classes, beta, cuts

    @classmethod
    def fit(cls, target: np.ndarray, predictors: list[np.ndarray], parts: list[Part],
            w: np.ndarray | None, options: dict[str, Any], column: str):
        design, X = Design.fit(predictors, parts, len(target))
        classes = np.unique(target).astype(np.int32)
        y = np.searchsorted(classes, target)
        k = len(classes)
        if k < 2:
            return cls(design, classes, np.zeros(X.shape[1]), np.zeros(0))
        weights = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
        shares = np.cumsum(np.bincount(y, weights=weights, minlength=k))[:-1] / weights.sum()
        start_cuts = np.log(shares / (1 - shares))
        start = np.concatenate([np.zeros(X.shape[1]), [start_cuts[0]],
                                np.log(np.maximum(np.diff(start_cuts), 1e-3))])
        result = minimize(_polr_loss, start, args=(X, y, weights, k), jac=True,
                          method="L-BFGS-B", options={"maxiter": 2000})
        if not np.isfinite(result.fun) or not np.all(np.isfinite(result.x)):
            warnings.warn(
                f"The ordered logistic model (polr) of '{column}' did not fit; it was synthesised "
                "with 'polyreg' instead (synthpop does the same).",
                ConfidataWarning, stacklevel=2,
            )
            return PolyReg.fit(target, predictors, parts, w, options, column)
        beta, cuts = _polr_unpack(result.x, X.shape[1])
        return cls(design, classes, beta, cuts)

    def probabilities(self, predictors: list[np.ndarray], n: int) -> np.ndarray:
        if len(self.classes) < 2:
            return np.ones((n, 1))
        eta = self.design.matrix(predictors, n) @ self.beta
        below = expit(self.cuts[None, :] - eta[:, None])
        cumulative = np.hstack([np.zeros((n, 1)), below, np.ones((n, 1))])
        return np.maximum(np.diff(cumulative, axis=1), 0.0)

    def draw(self, predictors: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        return _categorical_draw(self.probabilities(predictors, n), self.classes, rng)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"classes": self.classes, "beta": self.beta, "cuts": self.cuts,
                    **self.design.state("d_")}

    @classmethod
    def restore(cls, state: dict[str, Any], arrays: dict[str, np.ndarray], n_predictors: int):
        design = Design.restore(arrays, "d_", n_predictors)
        classes, beta, cuts = arrays["classes"], arrays["beta"], arrays["cuts"]
        if len(beta) != len(design.center) or len(classes) == 0 \
                or len(cuts) != max(len(classes) - 1, 0) or (np.diff(cuts) < 0).any():
            raise ValueError("ordered logistic coefficients that do not fit the design")
        return cls(design, classes.astype(np.int32), beta.astype(np.float64),
                   cuts.astype(np.float64))


def _polr_unpack(params: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients, and increasing cut points from the first cut and log increments."""
    beta = params[:d]
    cuts = params[d] + np.concatenate([[0.0], np.cumsum(np.exp(params[d + 1:]))])
    return beta, cuts


def _polr_loss(params: np.ndarray, X: np.ndarray, y: np.ndarray, w: np.ndarray,
               k: int) -> tuple[float, np.ndarray]:
    """Negative weighted log-likelihood of the proportional-odds model and its gradient
    (a 1e-6 ridge on the coefficients keeps a separating predictor finite)."""
    d = X.shape[1]
    beta, cuts = _polr_unpack(params, d)
    eta = X @ beta
    full = np.concatenate([[-np.inf], cuts, [np.inf]])
    upper, lower = full[y + 1] - eta, full[y] - eta
    F_up, F_low = expit(upper), expit(lower)
    p = np.maximum(F_up - F_low, 1e-300)
    f_up = np.where(np.isfinite(upper), F_up * (1 - F_up), 0.0)
    f_low = np.where(np.isfinite(lower), F_low * (1 - F_low), 0.0)
    loss = -float(w @ np.log(p)) + 1e-6 * float(beta @ beta)
    grad_eta = w * (f_up - f_low) / p  # d(-log p)/d eta
    grad_beta = X.T @ grad_eta + 2e-6 * beta
    # d(-log p)/d cut_j: -f_up/p where j is the row's upper cut, +f_low/p where its lower
    g_cut = np.zeros(k - 1)
    up_index, low_index = y, y - 1
    has_up, has_low = y < k - 1, y > 0
    np.add.at(g_cut, up_index[has_up], -(w * f_up / p)[has_up])
    np.add.at(g_cut, low_index[has_low], (w * f_low / p)[has_low])
    tail = np.cumsum(g_cut[::-1])[::-1]  # sum over cuts j >= m
    grad_first = tail[0]
    grad_steps = np.exp(params[d + 1:]) * tail[1:]
    return loss, np.concatenate([grad_beta, [grad_first], grad_steps])
