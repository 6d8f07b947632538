"""The three risks GDPR names for anonymised data, measured as attacks on a synthetic file.

The EU Article 29 Working Party (Opinion 05/2014) asks whether, from released data, one can
still *single out* a person, *link* records about a person, or *infer* a person's attributes.
Giomi et al. (2023) turn each question into an attack run from the synthetic file, and judge it
against a control: the same attack aimed at real records the synthesizer never saw (the
holdout). Whatever the attack achieves on the holdout, it achieves from what the population
reveals; only the surplus on training records is a privacy leak. The risk is

    R = (main - control) / (1 - control), clipped at 0,

with `main` and `control` the attack's success rates on training and holdout records. R = 0
means the synthetic file tells nothing about its training records beyond the population; R = 1
means every attack on a training record succeeds that would fail on a stranger. A third rate,
the *baseline*, is a naive attack with random guesses: when the real attack does not beat it,
the attack is too weak to measure anything and the result is reported as inconclusive.

* `singling_out`: predicates ("age = 57 and income <= 800 and region = Lubuskie") that pick out
  exactly one synthetic row; success when the predicate picks out exactly one training record.
* `linkability`: two column groups of a record, matched to their nearest synthetic rows (Gower
  distance) separately; success when both halves point at the same synthetic row.
* `inference`: all columns but a secret one, matched to the nearest synthetic row; success when
  that row's secret is the record's (within a relative tolerance for numbers).

Written from the paper's definitions; success rates carry 95% Wilson score intervals, and the
interval of R follows from them by first-order error propagation.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numba import njit, prange
from scipy.stats import hypergeom, norm

from confidata.errors import SchemaError, quote_names
from confidata.measures._encode import numeric_values
from confidata.measures._nearest import GowerSpace
from confidata.measures._result import Direction, MeasureResult
from confidata.measures._shared import (
    check_frames,
    column_keys,
    measured_columns,
    need_holdout,
    seeded,
    wilson,
)
from confidata.table.schema import Schema

__all__ = ["inference", "linkability", "singling_out"]

_GIOMI = (
    "Giomi, M., Boenisch, F., Wehmeyer, C. & Tasnadi, B. (2023). A unified framework for "
    "quantifying privacy risk in synthetic data. Proceedings on Privacy Enhancing Technologies "
    "2023(2), 312-328; Article 29 Data Protection Working Party (2014). Opinion 05/2014 on "
    "anonymisation techniques (WP216); Wilson, E. B. (1927). Probable inference, the law of "
    "succession, and statistical inference. JASA 22(158), 209-212."
)
_Z = float(norm.ppf(0.975))
# predicate operators: equal, at most, at least, is missing
_EQ, _LE, _GE, _NA = 0, 1, 2, 3


# -- shared pieces ---------------------------------------------------------------------------
def risk_from_rates(main: float, control: float, main_ci: tuple[float, float],
                    control_ci: tuple[float, float]) -> tuple[float, tuple[float, float]]:
    """R = (main - control) / (1 - control) clipped at 0, and a 95% interval for it.

    The interval propagates each rate's uncertainty (half the width of its Wilson interval)
    through the first derivatives of R: dR/dmain = 1 / (1 - control) and
    dR/dcontrol = (main - 1) / (1 - control)^2, clipped to [0, 1].
    """
    gap = max(1.0 - control, 1e-12)
    raw = (main - control) / gap
    err_main = (main_ci[1] - main_ci[0]) / 2
    err_control = (control_ci[1] - control_ci[0]) / 2
    err = float(np.hypot(err_main / gap, err_control * (1.0 - main) / gap**2))
    return max(0.0, raw), (float(max(0.0, raw - err)), float(min(1.0, max(0.0, raw + err))))


def _whole(value: object, option: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise SchemaError(f"The '{option}' option must be a whole number of {low} or more.")
    return int(value)


def _prepare(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema,
             holdout: pd.DataFrame | None, name: str) -> tuple[pd.DataFrame, list[str]]:
    holdout = need_holdout(holdout, name)
    columns = measured_columns(real, schema)
    check_frames({"real data": real, "synthetic data": synthetic, "holdout data": holdout}, columns)
    return holdout, columns


def _result(name: str, *, main: int, control: int, baseline: int, n_main: int, n_control: int,
            n_baseline: int, what: str, extra: dict, tables: dict | None = None,
            risk_ci: tuple[float, float] | None = None) -> MeasureResult:
    """The MeasureResult every GDPR attack returns, from its three success counts (`risk_ci`
    replaces the risk's propagated interval where the attack knows a wider one)."""
    rate_m, rate_c, rate_b = main / n_main, control / n_control, baseline / n_baseline
    ci_m, ci_c, ci_b = wilson(main, n_main), wilson(control, n_control), wilson(baseline, n_baseline)
    risk, ci = risk_from_rates(rate_m, rate_c, ci_m, ci_c)
    ci = ci if risk_ci is None else risk_ci
    inconclusive = rate_m <= rate_b
    verdict = (
        f"The result is INCONCLUSIVE: the attack succeeds on training records no more often than "
        f"random guessing does ({100 * rate_b:.1f}%), so it is too weak here to show a risk or "
        f"its absence; try more attacks or a different attack set-up."
        if inconclusive else
        f"The attack beats random guessing ({100 * rate_b:.1f}%), so the figure is meaningful."
    )
    interpretation = (
        f"{what} It succeeds on {100 * rate_m:.1f}% of training records (95% interval "
        f"{100 * ci_m[0]:.1f}% to {100 * ci_m[1]:.1f}%) and on {100 * rate_c:.1f}% of holdout "
        f"records the synthesizer never saw ({100 * ci_c[0]:.1f}% to {100 * ci_c[1]:.1f}%). "
        f"Success on the holdout comes from what the population reveals; only the surplus on "
        f"training records is a leak. The risk, (main - control) / (1 - control), is "
        f"{risk:.3f} (95% interval {ci[0]:.3f} to {ci[1]:.3f}); the reference is 0, no leak "
        f"beyond the population, and 1 means every such attack on a training record succeeds. "
        f"{verdict} Lower is safer."
    )
    rates = pd.DataFrame({
        "attack": ["main (training)", "control (holdout)", "baseline (random)"],
        "successes": [main, control, baseline],
        "attacks": [n_main, n_control, n_baseline],
        "rate": [rate_m, rate_c, rate_b],
        "ci_low": [ci_m[0], ci_c[0], ci_b[0]],
        "ci_high": [ci_m[1], ci_c[1], ci_b[1]],
    })
    return MeasureResult(
        name=name,
        value=risk,
        reference=0.0,
        reference_kind="real holdout",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=interpretation,
        citation=_GIOMI,
        n=n_main,
        ci=ci,
        details={"main_rate": rate_m, "main_ci": ci_m, "control_rate": rate_c,
                 "control_ci": ci_c, "baseline_rate": rate_b, "baseline_ci": ci_b,
                 "n_attacks": n_main, "n_control": n_control, "n_baseline": n_baseline,
                 "inconclusive": bool(inconclusive), **extra},
        tables={"success_rates": rates, **(tables or {})},
    )


# -- singling out ----------------------------------------------------------------------------
def _matrix(frames: Sequence[pd.DataFrame], columns: list[str],
            schema: Schema) -> tuple[list[np.ndarray], np.ndarray]:
    """Each frame as a float matrix: numbers as they are (NaN = missing), categories as joint
    integer codes (0 = missing); and which columns are numeric (ranges apply to those)."""
    numeric = np.array([schema[c].kind.is_numeric_or_date
                        for c in columns])
    parts: list[list[np.ndarray]] = [[] for _ in frames]
    for name, is_num in zip(columns, numeric, strict=True):
        if is_num:
            arrays = [numeric_values(f[name], schema[name].kind) for f in frames]
        else:
            arrays = [c.astype(float) for c in column_keys(frames, name)]
        for i, array in enumerate(arrays):
            parts[i].append(array)
    return [np.column_stack(p) for p in parts], numeric


def _match_counts(data: np.ndarray, cols: np.ndarray, ops: np.ndarray,
                  values: np.ndarray, cap: int = 2) -> np.ndarray:
    """How many rows of `data` satisfy each predicate (a conjunction over the predicate's
    columns), counted up to `cap`: an attack asks only whether exactly one row matches (cap 2,
    the scan stops at the second match); scaling the control to another size needs the whole
    count (a cap above the number of rows)."""
    out = np.zeros(len(cols), dtype=np.int64)
    # column-major as a transposed C array: numba types a one-column Fortran array as C, which
    # would compile a second version of the kernel
    _count_matches(np.ascontiguousarray(np.asarray(data, dtype=np.float64).T),
                   np.ascontiguousarray(cols, dtype=np.int64),
                   np.ascontiguousarray(ops, dtype=np.int64),
                   np.ascontiguousarray(values, dtype=np.float64), int(cap), out)
    return out


@njit(parallel=True, cache=True)
def _count_matches(data, cols, ops, values, cap, out):  # pragma: no cover - compiled
    n, width = data.shape[1], cols.shape[1]  # data is column-major: data[column, row]
    for i in prange(cols.shape[0]):
        found = 0
        for row in range(n):
            hit = True
            for j in range(width):
                x = data[cols[i, j], row]
                op, v = ops[i, j], values[i, j]
                if op == _NA:
                    hit = x != x
                elif op == _EQ:
                    hit = x == v
                elif op == _LE:
                    hit = x <= v
                else:
                    hit = x >= v
                if not hit:
                    break
            if hit:
                found += 1
                if found == cap:
                    break
        out[i] = found


def _random_ops(rng: np.random.Generator, numeric: np.ndarray, cols: np.ndarray,
                values: np.ndarray) -> np.ndarray:
    """Equality on categories; on numbers equality or a range (at most / at least), each a
    third of the time; "is missing" where the value is missing."""
    ops = np.where(numeric[cols], rng.integers(0, 3, size=cols.shape), _EQ)
    return np.where(np.isnan(values), _NA, ops)


def _multivariate(syn: np.ndarray, numeric: np.ndarray, n_cols: int, n_attacks: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicates from random synthetic rows, on `n_cols` random columns each, kept when they
    single out exactly one synthetic row (duplicates dropped). Categories are matched exactly;
    a number points to its tail, "at least" the row's value above the synthetic median and "at
    most" it otherwise, as Giomi et al. do, since extreme values single people out."""
    n, p = syn.shape
    medians = np.full(p, np.nan)
    with warnings.catch_warnings():  # a column missing in every row has no median
        warnings.simplefilter("ignore", RuntimeWarning)
        medians[numeric] = np.nanmedian(syn[:, numeric], axis=0)
    found: list[np.ndarray] = []
    have = 0
    for _ in range(30):
        size = 4 * n_attacks
        rows = rng.integers(0, n, size=size)
        cols = np.sort(np.argsort(rng.random((size, p)), axis=1)[:, :n_cols], axis=1)
        values = syn[rows[:, None], cols]
        ops = np.where(numeric[cols], np.where(values > medians[cols], _GE, _LE), _EQ)
        ops = np.where(np.isnan(values), _NA, ops)
        keep = _match_counts(syn, cols, ops, values) == 1
        stacked = np.concatenate([cols, ops, np.nan_to_num(values, nan=0.0)], axis=1)[keep]
        found.append(stacked)
        have = len(np.unique(np.concatenate(found), axis=0))
        if have >= n_attacks:
            break
    table = np.unique(np.concatenate(found), axis=0)
    table = table[rng.permutation(len(table))[:n_attacks]]
    k = n_cols
    return table[:, :k].astype(np.int64), table[:, k:2 * k].astype(np.int64), table[:, 2 * k:]


def _univariate(syn: np.ndarray, numeric: np.ndarray, n_attacks: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-column predicates that single out a synthetic row: a value held by one row only, or
    for numbers "at most the minimum" / "at least the maximum" when only one row holds it."""
    cols, ops, values = [], [], []
    for j in range(syn.shape[1]):
        column = syn[:, j]
        present = column[~np.isnan(column)]
        uniq, counts = np.unique(present, return_counts=True)
        single = uniq[counts == 1]
        cols.append(np.full(len(single), j))
        ops.append(np.full(len(single), _EQ))
        values.append(single)
        if np.isnan(column).sum() == 1:
            cols.append(np.array([j]))
            ops.append(np.array([_NA]))
            values.append(np.array([0.0]))
        if numeric[j] and len(uniq) > 1:
            for op, idx in ((_LE, 0), (_GE, -1)):
                if counts[idx] == 1:
                    cols.append(np.array([j]))
                    ops.append(np.array([op]))
                    values.append(np.array([uniq[idx]]))
    cols_a, ops_a, values_a = map(np.concatenate, (cols, ops, values))
    pick = rng.permutation(len(cols_a))[:n_attacks]
    return cols_a[pick, None].astype(np.int64), ops_a[pick, None].astype(np.int64), \
        values_a[pick, None].astype(float)


def _random_predicates(syn: np.ndarray, numeric: np.ndarray, n_cols: int, size: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The baseline: predicates of the same shape with each value drawn uniformly from the
    values the column takes in the synthetic data, ignoring how they combine in rows."""
    n, p = syn.shape
    cols = np.sort(np.argsort(rng.random((size, p)), axis=1)[:, :n_cols], axis=1)
    values = np.empty(cols.shape)
    draw = rng.random(cols.shape)
    for j in range(p):
        column = syn[:, j]
        levels = np.unique(column[~np.isnan(column)])
        if np.isnan(column).any():
            levels = np.append(levels, np.nan)
        where = cols == j
        values[where] = levels[np.minimum((draw[where] * len(levels)).astype(int), len(levels) - 1)]
    return cols, _random_ops(rng, numeric, cols, values), values


def _so_curve(size: np.ndarray | float, w_eff: float, norm: float) -> np.ndarray | float:
    """Expected number of predicates that single out one record among `size` records, when
    `norm` predicates have weights spread evenly over [0, w_eff]: `norm` times the integral of
    size * w * (1 - w)^(size - 1) over w (Cohen & Nissim 2020), as Giomi et al. model it."""
    size = np.asarray(size, dtype=float)
    return norm * (1.0 - (size * w_eff + 1.0) * (1.0 - w_eff) ** size) / (size + 1.0)


def _singled_at(counts: np.ndarray, pool: int, size: int) -> float:
    """Expected number of predicates holding for exactly one record in a random subset of
    `size` of the `pool` records, from each predicate's match count over the whole pool
    (hypergeometric: exact, where Giomi et al. draw five subsets per size)."""
    return float(hypergeom.pmf(1, pool, counts, size).sum())


def _fit_sizes(n_holdout: int) -> np.ndarray:
    """Ten subset sizes of the holdout, from a fifth of it (at most 1,000) to all of it."""
    return np.unique(np.linspace(min(1000, max(n_holdout // 5, 2)), n_holdout, 10).astype(int))


# candidate effective weights for the curve fit: 1,200 steps of under 2% from 1e-9 to 1
_W_GRID = np.geomspace(1e-9, 1.0, 1200)


def _curve_factors(expected: np.ndarray, sizes: np.ndarray, n_holdout: int,
                   n_train: int) -> np.ndarray:
    """Per row of `expected` (successes expected at `sizes`): the least-squares fit of
    `_so_curve`, and its ratio between the training and the holdout size.

    For a given w_eff the best `norm` is linear least squares, so the fit is exact in `norm`
    and a search over `_W_GRID` for w_eff; the ratio does not depend on `norm`. Vectorised, so
    that hundreds of resampled fits cost what one iterative fit would."""
    shapes = _so_curve(sizes[None, :].astype(float), _W_GRID[:, None], 1.0)  # grid x sizes
    fit = np.atleast_2d(expected) @ shapes.T  # rows x grid
    best = _W_GRID[np.argmax(fit ** 2 / (shapes ** 2).sum(axis=1), axis=1)]
    return _so_curve(n_train, best, 1.0) / _so_curve(n_holdout, best, 1.0)


def _control_at_training_size(counts: np.ndarray, n_holdout: int,
                              n_train: int) -> tuple[float, float, str]:
    """How many predicates would single out a record among `n_train` holdout-like records,
    from their match counts on the `n_holdout` holdout records: the control success count put
    on the training set's scale, the factor applied, and how it was found.

    A predicate's chance to single out one record depends on how many records it is tried on,
    so the control must be judged at the training set's size. A larger holdout gives it
    exactly (a random subset of that size). A smaller one is extrapolated as Giomi et al. do:
    the curve of expected successes against subset size (here exact at ten sizes) is fitted by
    `_so_curve`, and the observed count scaled by the curve's ratio at the two sizes.
    """
    observed = float((counts == 1).sum())
    if n_holdout == n_train or observed == 0.0:
        return observed, 1.0, "same size" if n_holdout == n_train else "none singled out"
    if n_holdout > n_train:
        scaled = _singled_at(counts, n_holdout, n_train)
        return scaled, scaled / observed, "exact subset"
    sizes = _fit_sizes(n_holdout)
    if len(sizes) < 3:
        return observed, 1.0, "holdout too small to fit"
    expected = np.array([_singled_at(counts, n_holdout, s) for s in sizes])
    factor = float(_curve_factors(expected, sizes, n_holdout, n_train)[0])
    return observed * factor, factor, "fitted curve"


def _curve_interval(singled: np.ndarray, counts: np.ndarray, n_holdout: int, n_train: int,
                    rng: np.random.Generator, rounds: int = 500) -> tuple[float, float]:
    """95% percentile interval of the extrapolated risk when the control comes from the fitted
    curve: the predicates are resampled and the curve refitted each time, so the interval
    carries the extrapolation's own uncertainty, which the rates' Wilson intervals leave out
    (bench/RESULTS_SINGLING_OUT.md shows it is the larger part on a holdout a quarter of the
    training set's size)."""
    sizes = _fit_sizes(n_holdout)
    table = np.stack([hypergeom.pmf(1, n_holdout, counts, s) for s in sizes], axis=1)
    n = len(counts)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=rounds).astype(float)
    observed = weights @ (counts == 1)
    factors = _curve_factors(weights @ table, sizes, n_holdout, n_train)
    control = np.minimum(np.where(observed > 0, observed * factors, 0.0) / n, 1.0)
    main = weights @ singled / n
    risks = np.maximum(0.0, (main - control) / np.maximum(1.0 - control, 1e-12))
    low, high = np.percentile(risks, [2.5, 97.5])
    return float(low), float(high)


_ESTIMATORS = ("extrapolated", "equal_size", "larger")


def _predicates(syn: np.ndarray, numeric: np.ndarray, *, mode: str, n_cols: int,
                n_attacks: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The attack's predicates (columns, operators, values), each singling out one synthetic
    row; none when the synthetic data offer none."""
    if mode == "univariate":
        return _univariate(syn, numeric, n_attacks, rng)
    return _multivariate(syn, numeric, n_cols, n_attacks, rng)


def _estimates(train: np.ndarray, syn: np.ndarray, hold: np.ndarray, numeric: np.ndarray,
               predicates: tuple[np.ndarray, np.ndarray, np.ndarray], *, n_cols: int,
               rng: np.random.Generator) -> dict[str, dict]:
    """Both estimators' success counts and risks for a non-empty set of predicates:
    `extrapolated` tries them on every training record and scales the holdout's success to the
    training set's size; `equal_size` tries them on random subsets of training and holdout
    records of the smaller size. Each has a baseline of random predicates on the same training
    records."""
    cols, ops, values = predicates
    n_train, n_hold = len(train), len(hold)
    b_cols, b_ops, b_values = _random_predicates(syn, numeric, n_cols, len(cols), rng)
    counts = _match_counts(hold, cols, ops, values, cap=n_hold + 1)
    control, factor, how = _control_at_training_size(counts, n_hold, n_train)
    singled = _match_counts(train, cols, ops, values) == 1
    extrapolated = {
        "main": int(singled.sum()),
        "control": control,
        "baseline": int((_match_counts(train, b_cols, b_ops, b_values) == 1).sum()),
        "control_observed": int((counts == 1).sum()), "control_scale": factor,
        "records": n_train, "scaling": how,
    }
    size = min(n_train, n_hold)
    sub_train = train[np.sort(rng.choice(n_train, size=size, replace=False))]
    sub_hold = hold[np.sort(rng.choice(n_hold, size=size, replace=False))]
    equal = {
        "main": int((_match_counts(sub_train, cols, ops, values) == 1).sum()),
        "control": int((_match_counts(sub_hold, cols, ops, values) == 1).sum()),
        "baseline": int((_match_counts(sub_train, b_cols, b_ops, b_values) == 1).sum()),
        "records": size,
    }
    for counts_ in (extrapolated, equal):
        counts_["attacks"] = len(cols)
        main, ctrl = counts_["main"] / len(cols), min(counts_["control"] / len(cols), 1.0)
        counts_["risk"], counts_["ci"] = risk_from_rates(
            main, ctrl, wilson(counts_["main"], len(cols)),
            wilson(min(counts_["control"], len(cols)), len(cols)))
    if how == "fitted curve":  # widen to the extrapolation's uncertainty, never narrow
        low, high = _curve_interval(singled, counts, n_hold, n_train, rng)
        ci = extrapolated["ci"]
        extrapolated["ci"] = (min(ci[0], low), max(ci[1], high))
    return {"extrapolated": extrapolated, "equal_size": equal}


def _nothing_singled_out(*, mode: str, n_cols: int, n_syn: int, extra: dict) -> MeasureResult:
    """Risk 0 with its reason: no predicate of the asked shape picks out one synthetic row, so
    the attack has nothing to try on anyone. A result, not an error, so that an evaluation of a
    large or coarse synthetic file goes on."""
    shape = "single-column" if mode == "univariate" else f"{n_cols}-column"
    reason = (f"No {shape} predicate tried singles out a row of the {n_syn} synthetic rows: every "
              f"value combination drawn is shared by two or more of them.")
    interpretation = (
        f"{reason} An attacker who writes predicates of this shape from the synthetic file "
        f"cannot point at one person, so the singling-out risk is 0 (the reference is 0, no "
        f"leak). An attacker using more columns per predicate might still succeed: rerun with a "
        f"larger 'n_cols' to check. Lower is safer.")
    return MeasureResult(
        name="singling_out", value=0.0, reference=0.0, reference_kind="real holdout",
        direction=Direction.LOWER_IS_BETTER, interpretation=interpretation, citation=_GIOMI,
        n=0, ci=(0.0, 0.0),
        details={"reason": reason, "nothing_singled_out": True, "n_attacks": 0,
                 "inconclusive": False, "estimator": "none: no predicate", **extra},
        tables={"success_rates": pd.DataFrame(columns=["attack", "successes", "attacks",
                                                        "rate", "ci_low", "ci_high"])},
    )


def singling_out(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
                 holdout: pd.DataFrame | None = None, n_attacks: int = 500, n_cols: int = 3,
                 mode: str = "multivariate", estimator: str = "extrapolated",
                 seed: int | None = None) -> MeasureResult:
    """Singling-out risk (Giomi et al. 2023): predicates unique in the synthetic data, tried on
    training records (main) and on holdout records (control).

    In ``mode="multivariate"`` each predicate is read off a random synthetic row on `n_cols`
    random columns: equality for categories; for numbers "at least" the row's value when it is
    above the synthetic median, else "at most" (Giomi et al.'s tail rule); kept when it holds
    for exactly one synthetic row. In ``mode="univariate"`` a predicate is one column's value
    that only one synthetic row has (or the extreme of a numeric column). An attack succeeds on
    a set of records when its predicate holds for exactly one of them. Up to `n_attacks`
    predicates; fewer when the synthetic data offer fewer, and risk 0 with its reason when they
    offer none.

    The chance that a predicate singles out one record depends on how many records it is tried
    on, so main and control must be compared at one size. Two estimators do that:

    * ``"extrapolated"`` (Giomi et al.'s, as anonymeter computes it): predicates are tried on
      every training record, and the holdout's success count is scaled to the training set's
      size (exactly when the holdout is larger; by their fitted curve when it is smaller).
    * ``"equal_size"``: random training and holdout subsets of the smaller size. It drops
      training records, and with them the ones a leaky synthesizer copied, so it shrinks the
      risk by about the ratio of the sizes (bench/RESULTS_SINGLING_OUT.md measures this).

    The planted-truth study (bench/RESULTS_SINGLING_OUT.md) found `equal_size` under-reports
    every real leak (a verbatim copy scores 0.13 with a holdout a quarter of the training set)
    and `extrapolated` exact at equal sizes and a few points high when it must extrapolate, so
    ``"extrapolated"`` is the default; ``"larger"`` reports whichever is larger. Both are always
    in `details` (``extrapolated_risk``, ``equal_size_risk`` and their rates and intervals).
    Where the control comes from the fitted curve, the interval also resamples the predicates
    and refits the curve, so it carries the extrapolation's uncertainty.
    """
    holdout, columns = _prepare(real, synthetic, schema, holdout, "singling_out")
    n_attacks = _whole(n_attacks, "n_attacks")
    if mode not in ("multivariate", "univariate"):
        raise SchemaError("The 'mode' option must be 'multivariate' or 'univariate'.")
    if estimator not in _ESTIMATORS:
        raise SchemaError(f"The 'estimator' option must be one of {', '.join(_ESTIMATORS)}.")
    n_cols = 1 if mode == "univariate" else _whole(n_cols, "n_cols")
    if n_cols > len(columns):
        raise SchemaError(f"The 'n_cols' option asks for {n_cols} columns per predicate but the "
                          f"data have {len(columns)}; pass n_cols={len(columns)} or fewer.")
    seed, rng = seeded(seed)
    (train, syn, hold), numeric = _matrix([real, synthetic, holdout], columns, schema)
    extra = {"seed": seed, "mode": mode, "n_cols": n_cols, "n_attacks_requested": n_attacks,
             "columns": len(columns), "n_training": len(train), "n_holdout": len(hold)}
    predicates = _predicates(syn, numeric, mode=mode, n_cols=n_cols, n_attacks=n_attacks,
                             rng=rng)
    if len(predicates[0]) == 0:
        return _nothing_singled_out(mode=mode, n_cols=n_cols, n_syn=len(syn), extra=extra)
    both = _estimates(train, syn, hold, numeric, predicates, n_cols=n_cols, rng=rng)
    chosen = estimator
    if estimator == "larger":
        chosen = max(("extrapolated", "equal_size"), key=lambda k: both[k]["risk"])
    picked, scaled = both[chosen], both["extrapolated"]
    for name, figures in both.items():
        n = figures["attacks"]
        extra.update({f"{name}_risk": figures["risk"], f"{name}_ci": figures["ci"],
                      f"{name}_main_rate": figures["main"] / n,
                      f"{name}_control_rate": min(figures["control"] / n, 1.0),
                      f"{name}_n_records": figures["records"]})
    extra.update({"estimator": chosen, "estimator_requested": estimator,
                  "n_records": picked["records"],
                  "control_observed_rate": scaled["control_observed"] / scaled["attacks"],
                  "control_scale": scaled["control_scale"], "control_scaling": scaled["scaling"]})
    if chosen == "extrapolated":
        how = (f"tries them on all {picked['records']} training records and on the "
               f"{len(hold)} holdout records, the holdout's success put on the training set's "
               f"size ({scaled['scaling']}, x{scaled['control_scale']:.3f})")
    else:
        how = f"tries them on {picked['records']} training and as many holdout records"
    other = "equal_size" if chosen == "extrapolated" else "extrapolated"
    what = (f"An attacker writes {picked['attacks']} {mode} predicates on {n_cols} column(s) "
            f"that each single out one synthetic row, and {how}. Reported: the {chosen} "
            f"estimator (the {other} estimator gives {both[other]['risk']:.3f}).")
    return _result("singling_out", main=picked["main"], control=min(picked["control"],
                   picked["attacks"]), baseline=picked["baseline"], n_main=picked["attacks"],
                   n_control=picked["attacks"], n_baseline=picked["attacks"], what=what,
                   extra=extra, risk_ci=picked["ci"])


# -- linkability -----------------------------------------------------------------------------
def _overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row: do the neighbour sets `a[i]` and `b[i]` share an index?"""
    return (a[:, :, None] == b[:, None, :]).any(axis=(1, 2))


def _names(value: Sequence[str], columns: list[str], option: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise SchemaError(f"The '{option}' option must be a non-empty list of column names.")
    absent = [c for c in value if c not in columns]
    if absent:
        raise SchemaError(f"The '{option}' option names column(s) {quote_names(absent)} that "
                          f"are not in the data (or are direct identifiers); use data columns.")
    return list(value)


def linkability(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
                holdout: pd.DataFrame | None = None,
                aux_cols: tuple[Sequence[str], Sequence[str]] | None = None,
                n_attacks: int = 500, n_neighbors: int = 1,
                seed: int | None = None) -> MeasureResult:
    """Linkability risk (Giomi et al. 2023): can two halves of a record, held apart, be joined
    through the synthetic data?

    The attacker holds columns `aux_cols[0]` of some records in one source and `aux_cols[1]` in
    another (default: the columns split in half, in schema order). For each target record the
    `n_neighbors` nearest synthetic rows are found on each half separately (Gower distance);
    the attack succeeds when the two neighbour sets share a synthetic row, linking the halves.
    Targets are up to `n_attacks` training rows (main) and as many holdout rows (control). The
    baseline links at random: `n_neighbors` random synthetic rows per half.
    """
    holdout, columns = _prepare(real, synthetic, schema, holdout, "linkability")
    n_attacks = _whole(n_attacks, "n_attacks")
    k = _whole(n_neighbors, "n_neighbors")
    if k > len(synthetic):
        raise SchemaError(f"The 'n_neighbors' option is {k} but the synthetic data have "
                          f"{len(synthetic)} rows; pass a smaller number.")
    if aux_cols is None:
        if len(columns) < 2:
            raise SchemaError("linkability needs at least two columns to split into halves.")
        half = len(columns) // 2
        cols_a, cols_b = columns[:half], columns[half:]
    else:
        if len(aux_cols) != 2:
            raise SchemaError("The 'aux_cols' option must be two lists of column names.")
        cols_a = _names(aux_cols[0], columns, "aux_cols[0]")
        cols_b = _names(aux_cols[1], columns, "aux_cols[1]")
        shared = sorted(set(cols_a) & set(cols_b))
        if shared:
            raise SchemaError(f"The two column groups of 'aux_cols' share {quote_names(shared)}; "
                              f"each column belongs to one group only.")
    seed, rng = seeded(seed)
    size = min(n_attacks, len(real), len(holdout))
    targets = {0: np.sort(rng.choice(len(real), size=size, replace=False)),
               2: np.sort(rng.choice(len(holdout), size=size, replace=False))}
    frames = [real, synthetic, holdout]
    space_a, space_b = GowerSpace(frames, cols_a, schema), GowerSpace(frames, cols_b, schema)
    linked = {}
    for frame, rows in targets.items():
        near_a = space_a.nearest(frame, rows, 1, k=k)[1]
        near_b = space_b.nearest(frame, rows, 1, k=k)[1]
        linked[frame] = _overlap(near_a, near_b)
    # random links: k synthetic rows per half, drawn with replacement (k is small beside the
    # synthetic file, so repeats are rare and memory stays at size x k)
    rand_a = rng.integers(0, len(synthetic), size=(size, k))
    rand_b = rng.integers(0, len(synthetic), size=(size, k))
    baseline = int(_overlap(rand_a, rand_b).sum())
    what = (f"An attacker holding {len(cols_a)} and {len(cols_b)} columns of a record in two "
            f"separate sources joins them through the nearest {k} synthetic row(s) of each half.")
    return _result("linkability", main=int(linked[0].sum()), control=int(linked[2].sum()),
                   baseline=baseline, n_main=size, n_control=size, n_baseline=size, what=what,
                   extra={"seed": seed, "n_neighbors": k, "aux_cols": (list(cols_a), list(cols_b)),
                          "n_attacks_requested": n_attacks, "n_synthetic": len(synthetic)})


# -- inference -------------------------------------------------------------------------------
def inference(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
              holdout: pd.DataFrame | None = None, secret: str | None = None,
              aux_cols: Sequence[str] | None = None, n_attacks: int = 500,
              tolerance: float = 0.05, seed: int | None = None) -> MeasureResult:
    """Attribute-inference risk (Giomi et al. 2023): guess a record's `secret` column from the
    synthetic row nearest to it on the columns the attacker knows.

    The attacker knows `aux_cols` (default: every column but the secret) of up to `n_attacks`
    training records (main) and as many holdout records (control), finds the nearest synthetic
    row (Gower distance on the known columns) and guesses its secret. A guess is right when it
    equals the secret (categories; missing matches missing) or, for numbers, lies within
    `tolerance` times the secret's absolute value of it (5% by default). The baseline guesses
    the secret of a random synthetic row: a draw from the synthetic marginal.
    """
    holdout, columns = _prepare(real, synthetic, schema, holdout, "inference")
    if secret is None:
        raise SchemaError("inference needs secret=<column name>: the column the attacker tries "
                          "to learn.")
    if secret not in columns:
        raise SchemaError(f"The 'secret' option names {quote_names([secret])}, which is not a "
                          f"data column (or is a direct identifier); name a data column.")
    known = [c for c in columns if c != secret] if aux_cols is None else \
        _names(aux_cols, columns, "aux_cols")
    if secret in known:
        raise SchemaError("The 'aux_cols' option includes the secret column; the attacker "
                          "cannot know it. Leave it out of aux_cols.")
    if not known:
        raise SchemaError("inference needs at least one column besides the secret.")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or \
            not np.isfinite(tolerance) or tolerance < 0:
        raise SchemaError("The 'tolerance' option must be a number of 0 or more (0.05 = 5%).")
    n_attacks = _whole(n_attacks, "n_attacks")
    seed, rng = seeded(seed)
    size = min(n_attacks, len(real), len(holdout))
    frames = [real, synthetic, holdout]
    targets = {0: np.sort(rng.choice(len(real), size=size, replace=False)),
               2: np.sort(rng.choice(len(holdout), size=size, replace=False))}
    kind = schema[secret].kind
    numeric = kind.is_numeric_or_date
    truth = [numeric_values(f[secret], kind) for f in frames] if numeric else \
        [c.astype(float) for c in column_keys(frames, secret)]

    def right(guess: np.ndarray, actual: np.ndarray) -> np.ndarray:
        if not numeric:
            return guess == actual
        both_missing = np.isnan(guess) & np.isnan(actual)
        with np.errstate(invalid="ignore"):
            close = np.abs(guess - actual) <= tolerance * np.abs(actual)
        return both_missing | close

    space = GowerSpace(frames, known, schema)
    hits = {}
    for frame, rows in targets.items():
        nearest = space.nearest(frame, rows, 1)[1][:, 0]
        hits[frame] = right(truth[1][nearest], truth[frame][rows])
    random_rows = rng.integers(0, len(synthetic), size=size)
    baseline = int(right(truth[1][random_rows], truth[0][targets[0]]).sum())
    rule = f"within {100 * tolerance:g}% of the true value" if numeric else "equal to the true value"
    what = (f"An attacker who knows {len(known)} column(s) of a record guesses its secret column "
            f"from the nearest synthetic row; a guess counts when it is {rule}.")
    return _result("inference", main=int(hits[0].sum()), control=int(hits[2].sum()),
                   baseline=baseline, n_main=size, n_control=size, n_baseline=size, what=what,
                   extra={"seed": seed, "secret_numeric": bool(numeric), "tolerance": tolerance,
                          "n_known_columns": len(known), "n_attacks_requested": n_attacks})
