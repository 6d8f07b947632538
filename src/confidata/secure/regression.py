"""Secure regression on horizontally partitioned data (every party holds whole rows): OLS, ridge
and logistic regression, the model solved inside the secure computation.

Why this shape. The normal equations need only sums over rows: ``A = X'X``, ``c = X'y``,
``y'y`` and ``n``. Each party computes its own sums locally (`local_design`, `local_sums`) and
secret-shares them; their sum is the pooled statistic, and nobody sees another party's sums.
The system is then solved on shares (MPyC secure fixed point, 128 bits, 64 fractional), and only
the model's outputs are opened, to the result parties only:

* the coefficients, the diagonal of their covariance factor (standard errors), the residual and
  total sums of squares (from which R², the residual variance and the F statistic follow) and
  the number of records. Nothing else: not ``X'X``, not its inverse, not any party's sums.
* for a logistic model, the Newton iterates are opened to *every* party after each step (each
  party needs the current coefficients to compute its local gradient and Hessian); the
  iterates are a function of the pooled data only, and the last one is the output. The final
  log-likelihood and the covariance diagonal go to the result parties.

The design. Every numeric column (outcome included for linear models) is rescaled by each party
to ``(x - centre) / half-width`` of its *public* bounds, so that it lies in [-1, 1]; categorical
terms become 0/1 dummies of their public levels, the first level the reference (treatment
coding, as R and statsmodels). The public map ``T`` from scaled to original coefficients is
applied inside the computation to the covariance (the intercept's variance needs covariances,
which are not opened) and in the clear to the coefficients.

The solve, without a secure division. Gaussian elimination needs a secure reciprocal per pivot
(a bit decomposition each, about 0.2-0.35 s here, p of them in sequence). Instead, Newton-Schulz
iterations ``X <- X (2I - A X)`` from ``X = I / s``, with the public starting scale
``s = p * parties * max_records`` (above every eigenvalue of X'X, since the scaled columns lie
in [-1, 1]): the residual ``I - A X`` squares at each step, so K steps reach
``(1 - lambda_min / s) ** (2**K)``. With K = `NEWTON_SCHULZ_STEPS` every design whose X'X has
smallest eigenvalue above about ``s * 2**-42`` converges to the precision of the fixed point,
whatever its (secret) conditioning, and the method corrects its own rounding errors. Each step
is two matrix products, each one round (`_Shares.reduce`). A design that does not converge (a
level with no records, collinear terms) is detected inside the computation (one bit opened to
every party: is the residual small?) and reported, nothing else opened. With a
``min_cell_size`` in the study, a second bit says whether the pooled rows reach it; a model on
fewer rows is not opened.

Precision. Local sums in float64 (as statsmodels computes), each party's sums rounded to 2**-64
when shared; coefficients and standard errors agree with statsmodels on the pooled data to
about 1e-10 relative on well-conditioned designs (tests require 1e-6). Logistic: every Newton
step is solved on shares to about 2**-50 relative and the iteration stops when a step is below
1e-10 (scaled units) after at most 30 steps; each party evaluates its gradient and Hessian in
float64 at the opened iterate, so the fit is Newton's on the pooled data up to those two
tolerances (1e-14 from statsmodels on CPS1988; tests require 1e-6).

Ridge minimises ``RSS + lambda * sum of squared coefficients but the intercept``, in the units
of the data (scikit-learn's ``Ridge(alpha=lambda)`` with an intercept); it reports no standard
errors (they are not those of OLS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from confidata.errors import ConfidataError, SchemaError
from confidata.secure.engine import mpyc_runtime_module
from confidata.secure.study import Study

__all__ = [
    "NEWTON_SCHULZ_STEPS",
    "Design",
    "RegressionResult",
    "local_design",
    "local_sums",
    "plain_regression",
    "fixed_point",
    "secure_regression",
    "solve_linear",
]

NEWTON_SCHULZ_STEPS = 48
FRAC_BITS = 64  # fractional bits of the secure fixed point (MPyC needs l = 2 f for division)
LOGISTIC_MAX_STEPS = 30
LOGISTIC_TOL = 1e-10  # largest Newton step (scaled units) at which the iteration stops
CONVERGED = 1e-12  # largest squared Frobenius norm of I - B X accepted after the solve


@dataclass
class Design:
    """One party's rows as a scaled design matrix, and the public map back to original units."""

    X: np.ndarray  # n x p, intercept first, numeric columns in [-1, 1], dummies 0/1
    y: np.ndarray  # n, scaled outcome (linear) or 0/1 (logistic)
    names: list[str]  # coefficient names, as statsmodels' formula API writes them
    T: np.ndarray  # p x p: original coefficient / y_scale = T @ scaled coefficient (+ offset)
    y_centre: float
    y_scale: float


@dataclass
class RegressionResult:
    """The opened model; statsmodels' names where it has one."""

    study: str
    family: str
    formula: str
    names: list[str]
    params: list[float]
    bse: list[float] | None
    nobs: int
    df_resid: float
    rsquared: float | None = None
    rsquared_adj: float | None = None
    scale: float | None = None  # residual variance (OLS) or 1 (logistic)
    fvalue: float | None = None
    llf: float | None = None
    iterations: int = 0
    statistic: str = "regression"
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "statistic": self.statistic,
            "family": self.family,
            "formula": self.formula,
            "coefficients": [
                {"term": n, "estimate": b, "std_error": None if self.bse is None else s}
                for n, b, s in zip(self.names, self.params, self.bse or [None] * len(self.names), strict=True)
            ],
            "nobs": self.nobs,
            "df_resid": self.df_resid,
            "rsquared": self.rsquared,
            "rsquared_adj": self.rsquared_adj,
            "scale": self.scale,
            "fvalue": self.fvalue,
            "llf": self.llf,
            "iterations": self.iterations,
            "notes": self.notes,
        }


# -- local part -------------------------------------------------------------------------------------


def _numeric(frame: pd.DataFrame, col: str, lo: float, hi: float) -> np.ndarray:
    values = pd.to_numeric(frame[col], errors="coerce")
    missing = int(values.isna().sum())
    if missing:
        raise SchemaError(
            f"Column '{col}': {missing} row(s) are missing or not numbers; impute or drop them first."
        )
    arr = values.to_numpy(dtype=np.float64)
    outside = int(((arr < lo) | (arr > hi)).sum())
    if outside:
        raise SchemaError(
            f"Column '{col}': {outside} row(s) lie outside the study's public bounds [{lo:g}, {hi:g}]; "
            "widen the bounds in [regression] or top-code the data."
        )
    return arr


def _codes(frame: pd.DataFrame, col: str, levels: list[str]) -> np.ndarray:
    values = frame[col]
    text = values.astype("string")
    if values.dtype.kind == "f":  # whole-number floats (1.0) match the level "1"
        whole = values.notna() & (values == values.round())
        text = text.where(~whole, values.round().astype("Int64").astype("string"))
    idx = pd.Index(levels).get_indexer(text.fillna("\x00missing").to_numpy(dtype=object))
    bad = int((idx < 0).sum())
    if bad:
        raise SchemaError(
            f"Column '{col}': {bad} row(s) are missing or hold a level the study does not list; list "
            f"every level under [regression] levels = {{ {col} = [...] }} or recode the data."
        )
    return idx


def local_design(study: Study, frame: pd.DataFrame) -> Design:
    """Check the party's rows against the study and build the scaled design (public scaling only)."""
    spec = study.spec
    if len(frame) > study.max_records:
        raise SchemaError("The data hold more rows than the study's [limits] max_records; raise max_records.")
    n = len(frame)
    cols = [np.ones(n)]
    names = ["Intercept"]
    scales = [(0.0, 1.0)]  # (centre, half-width) per design column; dummies (0, 1)
    for term in spec["terms"]:
        if term in spec["levels"]:
            levels = spec["levels"][term]
            idx = _codes(frame, term, levels)
            for k, level in enumerate(levels[1:], start=1):
                cols.append((idx == k).astype(np.float64))
                names.append(f"{term}[T.{level}]")
                scales.append((0.0, 1.0))
        else:
            lo, hi = spec["bounds"][term]
            centre, half = (lo + hi) / 2, (hi - lo) / 2
            cols.append((_numeric(frame, term, lo, hi) - centre) / half)
            names.append(term)
            scales.append((centre, half))
    X = np.column_stack(cols) if n else np.zeros((0, len(cols)))
    outcome = spec["outcome"]
    if spec["family"] == "logistic":
        if outcome in spec["levels"]:
            y = _codes(frame, outcome, spec["levels"][outcome]).astype(np.float64)
        else:
            y = _numeric(frame, outcome, 0.0, 1.0)
            if np.any((y != 0) & (y != 1)):
                raise SchemaError(f"Column '{outcome}': a logistic outcome must be 0 or 1 in every row.")
        y_centre, y_scale = 0.0, 1.0
    else:
        lo, hi = spec["bounds"][outcome]
        y_centre, y_scale = (lo + hi) / 2, (hi - lo) / 2
        y = (_numeric(frame, outcome, lo, hi) - y_centre) / y_scale
    p = len(names)
    T = np.eye(p)
    for j, (centre, half) in enumerate(scales[1:], start=1):
        T[j, j] = 1.0 / half
        T[0, j] = -centre / half
    return Design(X, y, names, T, y_centre, y_scale)


def local_sums(design: Design, beta: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """``(A, c, s)``: linear models ``X'X``, ``X'y``, ``y'y``; logistic models, at ``beta``, the
    Hessian ``X' diag(p (1 - p)) X``, the score ``X'(y - p)`` and the log-likelihood."""
    X, y = design.X, design.y
    if beta is None:
        return X.T @ X, X.T @ y, float(y @ y)
    eta = X @ beta
    prob = 1.0 / (1.0 + np.exp(-eta))
    weight = prob * (1.0 - prob)
    llf = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    return (X * weight[:, None]).T @ X, X.T @ (y - prob), llf


# -- the secure part ----------------------------------------------------------------------------------


def _fixed(values, f: int) -> np.ndarray:
    return np.array([int(round(float(v) * 2.0**f)) for v in np.ravel(values)], dtype=object)


class _Shares:
    """Fixed-point linear algebra on Shamir shares (field arrays at scale 2**f).

    MPyC's own fixed-point product truncates with f secure random *bits* per element (each a
    modular square root): 0.3 s per 11 x 11 matrix product here, 40 steps of a matrix iteration
    took 12 s. Here a product is a local product and one probabilistic truncation (Catrina and
    Saxena) that also reduces the degree (`reduce`): its random low part comes straight from
    pseudorandom secret sharing, as MPyC's high part already does. One round and no bits per
    product; the rounding error is a few units of 2**-f; the opened sum hides the value
    statistically (MPyC's sec_param bits).
    """

    def __init__(self, engine, secfxp) -> None:
        self.engine = engine
        self.rt = engine.rt
        self.secfxp = secfxp
        self.field = secfxp.field
        self.f = secfxp.frac_length
        self.l = secfxp.bit_length + self.f  # bits of a product before truncation, as MPyC's trunc
        self.inv = self.field(pow(2, -self.f, self.field.order))
        self.thresha = mpyc_runtime_module().thresha

    def const(self, values):
        """A public array as shares (each party holds the value itself: a constant polynomial)."""
        arr = np.asarray(values, dtype=np.float64)
        return self.field.array(_fixed(arr, self.f).reshape(arr.shape))

    async def input_sum(self, parts: list):
        """Every party's vectors (concatenated) secret-shared and added: the pooled sums."""
        rt = self.rt
        flat = np.concatenate([np.ravel(np.asarray(q, dtype=np.float64)) for q in parts])
        raw = self.field.array(_fixed(flat, self.f))
        everyone = list(range(len(self.engine.study.parties)))
        shared = rt.input(self.secfxp.array(raw, integral=False), senders=everyone)
        total = shared[0]
        for x in shared[1:]:
            total = total + x
        return await self.engine.step(rt.gather(total), "the secure sums")

    async def truncate(self, a):
        rt, field, f = self.rt, self.field, self.f
        shape = a.shape
        n = a.size
        k = rt.options.sec_param
        low = rt._np_randoms(field, n, 1 << f)
        high = rt._np_randoms(field, n, 1 << (k + self.l - f))
        if rt.options.no_prss:
            low, high = await low, await high
        low, high = low.reshape(shape), high.reshape(shape)
        c = await rt.output(a + low + high * field(1 << f) + field(1 << (self.l - 1)))
        mask = (1 << f) - 1
        c_low = field.array(np.array([int(v) & mask for v in np.ravel(c.value)], dtype=object).reshape(shape))
        return (a + low - c_low) * self.inv

    async def reduce(self, z):
        """Shares of a product (degree 2t, scale 2**(2f)) to shares of degree t at scale 2**f, in
        one round: open ``c = z + r`` at threshold 2t (re-randomised by a pseudorandom sharing
        of zero, as MPyC's reciprocal does) with ``r = low + 2**f high``; then
        ``floor(c / 2**f) - high`` is the truncated value and ``high`` already has degree t."""
        rt, field, f = self.rt, self.field, self.f
        if rt.threshold == 0 or rt.options.no_prss:
            return await self.truncate(z if rt.threshold == 0 else await rt._reshare(z))
        shape, n = z.shape, z.size
        k = rt.options.sec_param
        low = rt._np_randoms(field, n, 1 << f)
        high = rt._np_randoms(field, n, 1 << (k + self.l - f))
        zero = self.thresha.np_pseudorandom_share_0(
            field, len(rt.parties), rt.pid, rt.prfs(field.order), rt._prss_uci(), n
        )
        masked = z.reshape(n) + low + high * field(1 << f) + field(1 << (self.l - 1)) + zero
        c = await rt.output(masked, threshold=2 * rt.threshold)
        top = field.array(np.array([int(v) >> f for v in c.value], dtype=object))
        return (top - high - field(1 << (self.l - 1 - f))).reshape(shape)

    async def matmul(self, a, b):
        return await self.reduce(a @ b)

    async def mul(self, a, b):
        return await self.reduce(a * b)

    async def inverse(self, A, p: int, bound: float):
        """``A^-1`` of a symmetric positive definite p x p matrix whose eigenvalues are below
        ``bound``, and the squared norm of the residual ``I - A X`` (shares of both).

        Newton-Schulz from ``X = I / bound``: the residual ``I - A X`` squares at every step,
        so after K steps it is ``(1 - lambda_min / bound) ** (2**K)``, whatever the (secret)
        conditioning, once ``lambda_min / bound`` exceeds about ``2**-(K - 6)``. No division
        on shares.
        """
        X = self.const(np.eye(p) / bound)
        two = self.const(2 * np.eye(p))
        for _ in range(NEWTON_SCHULZ_STEPS):
            X = await self.matmul(X, two - await self.matmul(A, X))
        R = (self.const(np.eye(p)) - await self.matmul(A, X)).reshape(p * p)
        return X, _sum(await self.mul(R, R))

    async def check(self, study: Study, residual, n=None) -> None:
        """Bits opened to every party, and nothing else: did the solve converge (is the design
        not singular)? and, with a minimum cell size in the study, do the pooled rows reach it?
        Stops everyone, naming the reason, where a bit says no."""
        rt = self.rt
        k = study.min_cell_size if n is not None else 0
        margins = [self.field(residual.value) - self.const([CONVERGED])[0]]
        if k:
            margins.append(self.const([k - 0.5])[0] - self.field(n.value))
        value = self.secfxp.array(
            self.field.array(np.array([v.value for v in margins], dtype=object)), integral=False
        )
        bits = await self.engine.step(rt.output(value < 0), "the checks")
        if (k and not bits[1]) or not bits[0]:
            # every party stops here, for this reason: shut MPyC down in order (its barrier waits
            # for all) before raising, or a party that ran ahead (2 of 3 shares open a value) closes
            # its links while a slower one still needs its messages, which then reports a crash
            await self.engine.shutdown()
        if k and not bits[1]:
            raise ConfidataError(
                f"The pooled data hold fewer rows than the study's min_cell_size ({k}); nothing was "
                "opened. A model on so few records would disclose them; pool more data or lower the "
                "minimum with your disclosure review board."
            )
        if not bits[0]:
            raise ConfidataError(_SINGULAR)

    async def cov_factor(self, Ainv, T: np.ndarray):
        """Shares of diag(T A^-1 T'): public weights on the inverse's entries (a truncation only)."""
        p = T.shape[0]
        weights = self.const(np.einsum("jk,jl->jkl", T, T).reshape(p, p * p))
        return await self.truncate(weights @ Ainv.reshape(p * p))

    async def open(self, parts: list, receivers: list[int]) -> np.ndarray | None:
        rt = self.rt
        flat = self.field.array(np.concatenate([np.ravel(np.asarray(x.value, dtype=object)) for x in parts]))
        out = await self.engine.step(rt.output(flat, receivers=receivers), "opening the model")
        if out is None or self.engine.pid not in receivers:
            return None
        q = self.field.order
        return np.array(
            [(int(v) - q if int(v) > q // 2 else int(v)) / 2.0**self.f for v in np.ravel(out.value)]
        )


def _sum(a):
    total = a[0]
    for i in range(1, a.size):
        total = total + a[i]
    return total


_SINGULAR = (
    "The pooled design is singular or nearly so (a level with no records in any party, a constant "
    "column, or terms that are linear combinations of others); nothing was opened. Drop or merge "
    "the offending terms or levels; if the design is sound but the parties hold far fewer rows "
    "than [limits] max_records, lower max_records (it sets where the solve starts)."
)


def fixed_point(engine) -> _Shares:
    """The fixed-point arithmetic on shares every regression solve uses (128 bits, 64 fractional)."""
    return _Shares(engine, engine.rt.SecFxp(2 * FRAC_BITS, FRAC_BITS))


async def secure_regression(engine, study: Study, design: Design) -> RegressionResult | None:
    """Fit the study's model; the result parties get a `RegressionResult`, the others None."""
    sh = fixed_point(engine)
    receivers = [study.index(r) for r in study.results]
    if study.spec["family"] == "logistic":
        return await _logistic(engine, study, design, sh, receivers)
    A_loc, c_loc, yy_loc = local_sums(design)
    total = await sh.input_sum([A_loc, c_loc, [yy_loc]])
    return await solve_linear(sh, study, design, total, len(study.parties) * study.max_records)


async def solve_linear(
    sh: _Shares, study: Study, design: Design, total, max_rows: int
) -> RegressionResult | None:
    """OLS or ridge from shares of the pooled scaled sums ``total = [X'X (p x p, row-major), X'y,
    y'y]`` (field array at scale 2**f), solved and opened as the module notes say; `max_rows`, the
    most rows the pooled data can hold (public), sets where Newton-Schulz starts. Shared by the
    horizontal case (sums of the parties' local sums) and the vertical one (`vertical_regression`:
    the sums over the joined units)."""
    spec = study.spec
    receivers = [study.index(r) for r in study.results]
    p = len(design.names)
    A = total[: p * p].reshape(p, p)
    c = total[p * p : p * p + p]
    yy = total[p * p + p]
    n = A[0, 0]
    penalty = _penalty(spec, design)
    bound = p * max_rows + (0.0 if penalty is None else float(penalty.max()))
    Ainv, residual = await sh.inverse(A if penalty is None else A + sh.const(penalty), p, bound)
    await sh.check(study, residual, n)
    beta = (await sh.matmul(Ainv, c.reshape(p, 1))).reshape(p)
    if penalty is None:
        rss = yy - _sum(await sh.mul(beta, c))
    else:
        Ab = (await sh.matmul(A, beta.reshape(p, 1))).reshape(p)
        rss = yy - _sum(await sh.mul(beta, c + c - Ab))
    left = sh.field.array(np.array([n.value, c[0].value], dtype=object))
    right = sh.field.array(np.array([yy.value, c[0].value], dtype=object))
    prod = await sh.mul(left, right)
    ntss = prod[0] - prod[1]
    parts = [beta, rss, ntss, n]
    if penalty is None:
        parts.append(await sh.cov_factor(Ainv, design.T))
    values = await sh.open(parts, receivers)
    if values is None:
        return None
    return _linear_result(
        study,
        design,
        values[:p],
        values[p],
        values[p + 1],
        values[p + 2],
        values[p + 3 :] if penalty is None else None,
    )


def _penalty(spec: dict, design: Design) -> np.ndarray | None:
    """The ridge penalty in scaled units: lambda / (half-width * y_scale)**2 per slope, 0 for the
    intercept (original slope = y_scale * scaled slope / half-width; the objective is divided by
    y_scale**2)."""
    if spec["family"] != "ridge":
        return None
    lam = spec["lambda"]
    diag = np.zeros(len(design.names))
    for j in range(1, len(diag)):
        diag[j] = lam * design.T[j, j] ** 2
    return np.diag(diag)


def _to_original(design: Design, beta_s: np.ndarray) -> np.ndarray:
    beta = design.y_scale * (design.T @ beta_s)
    beta[0] += design.y_centre
    return beta


def _linear_result(study: Study, design: Design, beta_s, rss_s, ntss_s, n, cov_diag) -> RegressionResult:
    spec = study.spec
    p = len(design.names)
    nobs = int(round(n))
    rss = rss_s * design.y_scale**2
    tss = ntss_s / n * design.y_scale**2
    df_resid = float(nobs - p)
    scale = rss / df_resid if df_resid > 0 else float("nan")
    r2 = 1 - rss / tss
    result = RegressionResult(
        study.name,
        spec["family"],
        spec["formula"],
        list(design.names),
        [float(b) for b in _to_original(design, beta_s)],
        None if cov_diag is None else [float(math.sqrt(max(v, 0.0) * scale)) for v in cov_diag],
        nobs,
        df_resid,
        rsquared=float(r2),
        rsquared_adj=float(1 - (1 - r2) * (nobs - 1) / df_resid) if df_resid > 0 else None,
        scale=float(scale),
        fvalue=float((tss - rss) / (p - 1) / scale) if p > 1 and cov_diag is not None else None,
        llf=float(-nobs / 2 * (math.log(2 * math.pi) + math.log(rss / nobs) + 1)),
    )
    if spec["family"] == "ridge":
        result.notes.append(
            f"ridge: lambda = {spec['lambda']:g} on every coefficient but the intercept, in the data's "
            "units; no standard errors."
        )
    return result


async def _logistic(engine, study: Study, design: Design, sh: _Shares, receivers) -> RegressionResult | None:
    p = len(design.names)
    beta = np.zeros(p)
    bound = p * len(study.parties) * study.max_records / 4  # p (1 - p) <= 1/4
    everyone = list(range(len(study.parties)))
    steps = 0
    for steps in range(1, LOGISTIC_MAX_STEPS + 1):  # noqa: B007 - the count is reported
        H_loc, g_loc, _ = local_sums(design, beta)
        total = await sh.input_sum([H_loc, g_loc, [float(len(design.y))]])
        H = total[: p * p].reshape(p, p)
        g = total[p * p : p * p + p]
        Hinv, residual = await sh.inverse(H, p, bound)
        await sh.check(study, residual, total[p * p + p] if steps == 1 else None)
        delta = await sh.open([(await sh.matmul(Hinv, g.reshape(p, 1))).reshape(p)], everyone)
        beta = beta + delta
        if np.max(np.abs(delta)) < LOGISTIC_TOL:
            break
    else:
        raise ConfidataError(
            f"The logistic model did not converge in {LOGISTIC_MAX_STEPS} Newton steps (perfect "
            "separation, or a level with almost no cases); drop the separating term."
        )
    H_loc, _, llf_loc = local_sums(design, beta)
    total = await sh.input_sum([H_loc, [llf_loc, float(len(design.y))]])
    Hinv, _ = await sh.inverse(total[: p * p].reshape(p, p), p, bound)
    values = await sh.open([await sh.cov_factor(Hinv, design.T), total[p * p :]], receivers)
    if values is None:
        return None
    cov, llf, n = values[:p], values[p], values[p + 1]
    nobs = int(round(n))
    result = RegressionResult(
        study.name,
        "logistic",
        study.spec["formula"],
        list(design.names),
        [float(b) for b in design.T @ beta],
        [float(math.sqrt(max(v, 0.0))) for v in cov],
        nobs,
        float(nobs - p),
        scale=1.0,
        llf=float(llf),
        iterations=steps,
    )
    result.notes.append(
        f"logistic: {steps} Newton steps; every party saw each step's coefficients (the iterates), "
        "the result parties alone the standard errors and the log-likelihood."
    )
    return result


def plain_regression(study: Study, frame: pd.DataFrame) -> RegressionResult:
    """The same model on pooled data in the clear (numpy), for the demo's comparison."""
    design = local_design(study, frame)
    spec = study.spec
    p = len(design.names)
    if spec["family"] == "logistic":
        beta = np.zeros(p)
        for steps in range(1, LOGISTIC_MAX_STEPS + 1):  # noqa: B007
            H, g, _ = local_sums(design, beta)
            delta = np.linalg.solve(H, g)
            beta = beta + delta
            if np.max(np.abs(delta)) < LOGISTIC_TOL:
                break
        H, _, llf = local_sums(design, beta)
        cov = np.diag(design.T @ np.linalg.inv(H) @ design.T.T)
        n = len(design.y)
        return RegressionResult(
            study.name,
            "logistic",
            spec["formula"],
            list(design.names),
            list(design.T @ beta),
            [float(math.sqrt(v)) for v in cov],
            n,
            float(n - p),
            scale=1.0,
            llf=llf,
            iterations=steps,
        )
    A, c, yy = local_sums(design)
    penalty = _penalty(spec, design)
    Ainv = np.linalg.inv(A + penalty if penalty is not None else A)
    beta = Ainv @ c
    rss = yy - 2 * beta @ c + beta @ A @ beta
    n = A[0, 0]
    cov = None if penalty is not None else np.diag(design.T @ Ainv @ design.T.T)
    return _linear_result(study, design, beta, rss, n * yy - c[0] ** 2, n, cov)
