"""Linear-regression column methods for numbers: synthpop's ``norm``, ``normrank``,
``lognorm`` and ``pmm`` (Nowok, Raab & Dibben 2016; synthpop 1.9's ``syn.norm`` etc.).

All four fit least squares with synthpop's tiny ridge (1e-5 times the diagonal of X'X) on the
rows that have a value, and synthesise as synthpop does with ``proper = FALSE`` (the fitted
coefficients, not a posterior draw):

* ``norm``: prediction plus normal noise with the residual standard deviation;
* ``normrank``: the same on normal scores of the ranks, ``qnorm(rank / (n + 1))``; a synthetic
  score maps back to the real value of rank ``round(pnorm(z) * (n + 1))`` (clipped to 1..n), so
  only observed values appear;
* ``lognorm``: ``norm`` on the logarithm (zeros shifted by half the smallest positive value, as
  synthpop does; a negative value is refused);
* ``pmm``: predictive mean matching: each synthetic row takes the real value of one of the
  ``donors`` (3) real rows whose predicted means are nearest its own.

Differences from synthpop, on purpose: ``norm`` and ``lognorm`` keep their draws within the
range of the real values (synthpop's can leave it: a negative age, an income above any
observed), since a value outside the column's range is a giveaway of synthetic data and breaks
edit rules; case weights, when given, weight the least squares.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from confidata.errors import SynthesisError
from confidata.synth._encode import Part
from confidata.synth.columns._design import Design

__all__ = ["LogNorm", "Norm", "NormRank", "PMM"]

RIDGE = 1e-5


def _least_squares(X: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, float]:
    """synthpop's ``.norm.fix.syn``: ridge-stabilised coefficients and residual sd."""
    X1 = np.column_stack([np.ones(len(y)), X])
    Xw = X1 if w is None else X1 * w[:, None]
    xtx = Xw.T @ X1
    # + 1e-9: a predictor constant on these rows (all zero once centred) gets coefficient 0
    beta = np.linalg.solve(xtx + np.diag(RIDGE * np.diag(xtx) + 1e-9), Xw.T @ y)
    residuals = y - X1 @ beta
    dof = max(len(y) - X1.shape[1] - 1, 1)
    sse = float(residuals @ residuals) if w is None else float((w * residuals**2).sum() * len(y) / w.sum())
    return beta, float(np.sqrt(sse / dof))


def _decimals(values: np.ndarray) -> float:
    """The fewest decimals (0 to 8) that write every real value exactly, as synthpop's
    ``decimalplaces``."""
    scale = np.maximum(np.abs(values), 1.0)
    for d in range(9):
        if np.all(np.abs(values - np.round(values, d)) <= 1e-9 * scale):
            return float(d)
    return 8.0


def _predict(beta: np.ndarray, X: np.ndarray) -> np.ndarray:
    return beta[0] + X @ beta[1:]


class _Linear:
    """Shared state: the design, coefficients and residual sd of one fitted regression."""

    name = ""

    def __init__(self, design: Design, beta: np.ndarray, sigma: float, values: np.ndarray,
                 extra: dict[str, float] | None = None) -> None:
        self.design, self.beta, self.sigma = design, beta, sigma
        self.values = values  # the real values the method maps to or clips within
        self.extra = dict(extra or {})

    @classmethod
    def fit(cls, target: np.ndarray, predictors: list[np.ndarray], parts: list[Part],
            w: np.ndarray | None, options: dict[str, Any], column: str) -> _Linear:
        design, X = Design.fit(predictors, parts, len(target))
        y, extra = cls._transform(np.asarray(target, dtype=np.float64), column)
        beta, sigma = _least_squares(X, y, w)
        return cls._finish(design, beta, sigma, np.asarray(target, dtype=np.float64), extra,
                           X, options)

    @classmethod
    def _transform(cls, y: np.ndarray, column: str) -> tuple[np.ndarray, dict[str, float]]:
        return y, {}

    @classmethod
    def _finish(cls, design, beta, sigma, values, extra, X, options) -> _Linear:
        return cls(design, beta, sigma, np.sort(values), {**extra, "decimals": _decimals(values)})

    def _rounded(self, values: np.ndarray) -> np.ndarray:
        """As synthpop rounds norm's draws: to the most decimals a real value has."""
        decimals = self.extra.get("decimals")
        return values if decimals is None else np.round(values, int(decimals))

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {"beta": self.beta, "values": self.values, **self.design.state("d_")}
        return {"sigma": self.sigma, **self.extra}, arrays

    @classmethod
    def restore(cls, state: dict[str, Any], arrays: dict[str, np.ndarray], n_predictors: int) -> _Linear:
        design = Design.restore(arrays, "d_", n_predictors)
        beta = arrays["beta"].astype(np.float64)
        if len(beta) != len(design.center) + 1 or len(arrays["values"]) == 0:
            raise ValueError("coefficients that do not fit the design")
        extra = {k: float(v) for k, v in state.items() if k != "sigma"}
        return cls(design, beta, float(state["sigma"]), arrays["values"].astype(np.float64), extra)

    def _mean(self, predictors: list[np.ndarray], n: int) -> np.ndarray:
        return _predict(self.beta, self.design.matrix(predictors, n))


class Norm(_Linear):
    name = "norm"

    def draw(self, predictors: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        out = self._mean(predictors, n) + rng.standard_normal(n) * self.sigma
        return self._rounded(np.clip(out, self.values[0], self.values[-1]))


class LogNorm(_Linear):
    name = "lognorm"

    @classmethod
    def _transform(cls, y: np.ndarray, column: str) -> tuple[np.ndarray, dict[str, float]]:
        if (y < 0).any():
            raise SynthesisError(
                f"Column '{column}' has negative values, so 'lognorm' (a regression on the "
                "logarithm) cannot model it; choose 'norm', 'normrank' or 'pmm' for it."
            )
        shift = 0.0
        if (y == 0).any():
            positive = y[y > 0]
            shift = 0.5 * float(positive.min()) if len(positive) else 1.0
        return np.log(y + shift), {"shift": shift}

    def draw(self, predictors: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        logs = self._mean(predictors, n) + rng.standard_normal(n) * self.sigma
        out = np.exp(logs) - self.extra.get("shift", 0.0)
        return self._rounded(np.clip(out, self.values[0], self.values[-1]))


class NormRank(_Linear):
    name = "normrank"

    @classmethod
    def _transform(cls, y: np.ndarray, column: str) -> tuple[np.ndarray, dict[str, float]]:
        return ndtri(rankdata(y) / (len(y) + 1)), {}

    def draw(self, predictors: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        z = self._mean(predictors, n) + rng.standard_normal(n) * self.sigma
        k = len(self.values)
        rank = np.clip(np.round(ndtr(z) * (k + 1)).astype(np.int64), 1, k)
        return self.values[rank - 1]


class PMM(_Linear):
    """Predictive mean matching; `values` holds the real values in order of their fitted means,
    `extra['means']` is not kept: the fitted means are stored as an array."""

    name = "pmm"

    def __init__(self, design, beta, sigma, values, extra=None, means=None) -> None:
        super().__init__(design, beta, sigma, values, extra)
        self.means = means if means is not None else np.zeros(0)

    @classmethod
    def _finish(cls, design, beta, sigma, values, extra, X, options) -> PMM:
        means = _predict(beta, X)
        order = np.argsort(means, kind="stable")
        donors = int(options.get("donors") or 3)
        return cls(design, beta, sigma, values[order], {"donors": donors}, means[order])

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state, arrays = super().state()
        arrays["means"] = self.means
        return state, arrays

    @classmethod
    def restore(cls, state, arrays, n_predictors) -> PMM:
        base = _Linear.restore.__func__(cls, state, arrays, n_predictors)
        means = arrays["means"].astype(np.float64)
        if len(means) != len(base.values) or (np.diff(means) < 0).any():
            raise ValueError("predicted means that do not match their donors")
        base.means = means
        return base

    def draw(self, predictors: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        """Each row: one of the `donors` real rows with the nearest predicted mean (ties at
        random), found by a binary search in the sorted means and a window around it."""
        target = self._mean(predictors, n)
        k = len(self.means)
        donors = max(1, min(int(self.extra.get("donors", 3)), k))
        at = np.searchsorted(self.means, target)
        window = np.arange(-donors, donors)[None, :] + at[:, None]
        inside = (window >= 0) & (window < k)
        window = np.clip(window, 0, k - 1)
        distance = np.abs(self.means[window] - target[:, None])
        distance = np.where(inside, distance, np.inf) + rng.random(window.shape) * 1e-12
        nearest = np.argsort(distance, axis=1)[:, :donors]
        pick = nearest[np.arange(n), rng.integers(0, donors, size=n)]
        return self.values[window[np.arange(n), pick]]
