"""Specific utility: would an analyst reach the same conclusions from the synthetic file?

* `ci_overlap` — fit the analyst's own model (a formula ``"y ~ x1 + x2"``, linear or logistic)
  to the real file and to each synthetic copy; per coefficient, how much the confidence
  intervals overlap (Karr, Kohnen, Oganian, Reiter and Sanil 2006) and how far the synthetic
  estimate lies from the real one in real standard errors. Several copies are combined with the
  rules for partially (Reiter 2003) or fully (Raghunathan, Reiter and Rubin 2003) synthetic
  data.
* `tstr` — train on synthetic, test on real: a prediction model for a target trained on the
  synthetic file and scored on real rows it never saw, beside the same model trained on real
  rows (Esteban, Hyland and Rätsch 2017; Jordon et al. 2022).

Models are fitted by complete cases: rows missing any variable of the model are left out, as R's
``lm`` and ``glm`` do. Declared missing codes (``-8``) count as missing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from confidata.errors import MeasureOptionError, ModelFitError, SchemaError, quote_names
from confidata.measures._encode import Pair, column_codes, numeric_values, prepare
from confidata.measures._result import Direction, MeasureResult
from confidata.measures._shared import check_int, draw_seed, wilson
from confidata.table.conform import missing_mask
from confidata.table.schema import Kind, Role

__all__ = ["ci_overlap", "tstr"]

_THREADED_ROWS = 50_000  # tstr's boosting runs on one thread below this many training rows

_CI_CITE = (
    "Karr, Kohnen, Oganian, Reiter and Sanil (2006), A framework for evaluating the utility of "
    "data altered to protect confidentiality, The American Statistician 60(3), 224-232; "
    "Reiter (2003), Inference for partially synthetic, public use microdata sets, Survey "
    "Methodology 29(2), 181-188; Raghunathan, Reiter and Rubin (2003), Multiple imputation for "
    "statistical disclosure limitation, J. Official Statistics 19(1), 1-16."
)
_TSTR_CITE = (
    "Esteban, Hyland and Rätsch (2017), Real-valued (medical) time series generation with "
    "recurrent conditional GANs, arXiv:1706.02633 (train on synthetic, test on real); Jordon, "
    "Szpruch, Houssiau et al. (2022), Synthetic data - what, why and how?, arXiv:2205.03257."
)



# -- shared helpers ----------------------------------------------------------------------------
def _synthetic_list(synthetic: object, measure: str) -> list[pd.DataFrame]:
    copies = [synthetic] if isinstance(synthetic, pd.DataFrame) else synthetic
    if not isinstance(copies, list | tuple) or not copies or not all(
            isinstance(c, pd.DataFrame) for c in copies):
        raise SchemaError(f"{measure}: pass the synthetic data as a DataFrame or a non-empty list "
                          "of DataFrames (one per synthetic copy).")
    return list(copies)


def _numbers(pair: Pair, name: str, which: str) -> np.ndarray:
    frame = pair.real if which == "real" else pair.synthetic
    x = numeric_values(frame[name]).copy()
    x[missing_mask(frame[[name]], pair.schema.select([name]))[name].to_numpy()] = np.nan
    return x


def _choice(name: str, value: object, allowed: Sequence[str], measure: str) -> str:
    if value not in allowed:
        raise MeasureOptionError(f"{measure}: option '{name}' must be one of "
                                 f"{quote_names(allowed)}; change it.")
    return str(value)


# -- ci_overlap --------------------------------------------------------------------------------
def _parse_formula(formula: object, schema, measure: str) -> tuple[str, list[str]]:
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise MeasureOptionError(f"{measure}: option 'formula' must be a string like "
                                 "'y ~ x1 + x2' (one '~'); change it.")
    left, right = (part.strip() for part in formula.split("~"))
    if re.search(r"[*:()^|]", right) or not left:
        raise MeasureOptionError(
            f"{measure}: the formula must name one target and predictors joined by '+' (or '.' "
            "for all other columns); interactions and transforms are not supported — add them "
            "as columns first.")
    terms = [t.strip() for t in right.split("+") if t.strip()]
    if terms == ["."]:
        terms = [c.name for c in schema if c.name != left and c.kind not in
                 (Kind.IDENTIFIER, Kind.TEXT) and not c.has_role(Role.DIRECT_IDENTIFIER)]
    unknown = [n for n in [left, *terms] if n not in schema]
    if unknown:
        raise SchemaError(f"{measure}: the formula names column(s) {quote_names(unknown)} that "
                          "are not in the schema; use names from the schema.")
    if not terms:
        raise MeasureOptionError(f"{measure}: the formula has no predictors; name at least one.")
    return left, list(dict.fromkeys(terms))


def _design(pair: Pair, target: str, predictors: list[str], which: str,
            plan: dict | None) -> tuple[np.ndarray, np.ndarray, dict, int]:
    """Design matrix (intercept, numbers, dummies), target vector and the plan that fixes the
    dummy levels from the real data; rows with missing values or unseen levels are dropped."""
    build = plan is None
    plan = {"levels": {}, "target_levels": None} if build else plan
    cols, names = [], ["(Intercept)"]
    n = len(pair.real if which == "real" else pair.synthetic)
    keep = np.ones(n, dtype=bool)
    for name in predictors:
        if pair.schema[name].kind.is_numeric_or_date:
            x = _numbers(pair, name, which)
            keep &= np.isfinite(x)
            cols.append(np.nan_to_num(x)[:, None])
            names.append(name)
        else:
            frame = pair.real if which == "real" else pair.synthetic
            values = frame[name].astype(object).where(frame[name].notna(), None)
            miss = missing_mask(frame[[name]], pair.schema.select([name]))[name].to_numpy()
            keep &= ~miss
            if build:
                seen = pd.unique(values[~miss])
                order = [v for v in pd.Categorical(frame[name]).categories if v in set(seen)]
                plan["levels"][name] = order
            levels = plan["levels"][name]
            keep &= values.isin(levels).to_numpy() | miss
            block = np.stack([(values == lev).to_numpy() for lev in levels[1:]], axis=1) \
                if len(levels) > 1 else np.zeros((n, 0))
            cols.append(block.astype(float))
            names += [f"{name}[{lev}]" for lev in levels[1:]]
    if pair.schema[target].kind.is_numeric_or_date:
        y = _numbers(pair, target, which)
        keep &= np.isfinite(y)
    else:
        frame = pair.real if which == "real" else pair.synthetic
        miss = missing_mask(frame[[target]], pair.schema.select([target]))[target].to_numpy()
        keep &= ~miss
        y = frame[target].astype(object).to_numpy()
    dropped = int((~keep).sum())
    x = np.column_stack([np.ones(n), *cols])[keep]
    plan["names"] = names
    return x, y[keep], plan, dropped


def _binary_target(y: np.ndarray, plan: dict, target: str, measure: str, which: str) -> np.ndarray:
    if plan["target_levels"] is None:
        levels = sorted(pd.unique(pd.Series(y)).tolist(), key=str)
        if len(levels) < 2:
            raise ModelFitError(
                f"{measure}: the target '{target}' takes one value only in the {which} data's "
                "complete rows, so a logistic model cannot be fitted; choose a target with two "
                "classes or use family='linear'.")
        if len(levels) > 2:
            raise ModelFitError(
                f"{measure}: the target '{target}' has {len(levels)} classes; a logistic model "
                "needs two. Recode it to two classes, or use 'tstr' for a many-class target.")
        plan["target_levels"] = levels
    first, second = plan["target_levels"]
    out = np.asarray(pd.Series(y).astype(str) == str(second), dtype=float)
    if out.min() == out.max():
        raise ModelFitError(
            f"{measure}: the target '{target}' takes one value only in the {which} data's "
            "complete rows, so a logistic model cannot be fitted there; check that data.")
    return out


def _fit(x: np.ndarray, y: np.ndarray, family: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Coefficients, their variances, and residual degrees of freedom (inf for logistic)."""
    n, p = x.shape
    if family == "linear":
        xtx_inv = np.linalg.pinv(x.T @ x)
        beta = xtx_inv @ x.T @ y
        df = n - np.linalg.matrix_rank(x)
        resid = y - x @ beta
        sigma2 = float(resid @ resid) / df if df > 0 else np.nan
        return beta, np.diag(xtx_inv) * sigma2, float(df)
    beta = np.zeros(p)
    for _ in range(100):  # Newton-Raphson (IRLS) for the logistic log-likelihood
        eta = np.clip(x @ beta, -30, 30)
        mu = 1.0 / (1.0 + np.exp(-eta))
        w = mu * (1 - mu)
        info = x.T @ (x * w[:, None])
        step = np.linalg.pinv(info) @ (x.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    mu = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -30, 30)))
    info = x.T @ (x * (mu * (1 - mu))[:, None])
    return beta, np.diag(np.linalg.pinv(info)), np.inf


def _interval(est: np.ndarray, var: np.ndarray, df: np.ndarray | float,
              level: float) -> tuple[np.ndarray, np.ndarray]:
    q = stats.t.ppf(0.5 + level / 2, df)
    half = q * np.sqrt(var)
    return est - half, est + half


def _combine(ests: np.ndarray, vars_: np.ndarray, dfs: list[float], synthesis: str,
             n_real: int, n_syn: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point estimate, variance and degrees of freedom over m copies (rows of `ests`)."""
    m = ests.shape[0]
    qbar, ubar = ests.mean(axis=0), vars_.mean(axis=0)
    fit_df = min(dfs)
    if m == 1:
        return qbar, ubar, np.full_like(qbar, fit_df)
    b = ests.var(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if synthesis == "partial":  # Reiter (2003)
            t = ubar + b / m
            nu = (m - 1) * (1 + m * ubar / b) ** 2
        else:  # Raghunathan, Reiter and Rubin (2003), adjusted when negative (Reiter 2002)
            tf = (1 + 1 / m) * b - ubar
            t = np.where(tf > 0, tf, n_syn / n_real * ubar)
            nu = np.where(tf > 0, (m - 1) * (1 - m * ubar / ((m + 1) * b)) ** 2, np.inf)
    nu = np.where(np.isfinite(nu), np.minimum(nu, fit_df), fit_df)
    return qbar, t, nu


def ci_overlap(real: pd.DataFrame, synthetic: pd.DataFrame | Sequence[pd.DataFrame], schema, *,
               formula: str, family: str = "linear", synthesis: str = "partial",
               level: float = 0.95) -> MeasureResult:
    """Confidence-interval overlap and standardised difference per coefficient of the user's
    model (``formula="y ~ x1 + x2"``, ``family="linear"|"logistic"``), real vs synthetic.

    `synthetic` may be one DataFrame or a list of m copies, combined by `synthesis`
    ("partial": T = ubar + b/m; "full": T = (1 + 1/m) b - ubar, replaced by (n_syn/n) ubar when
    not positive).
    """
    measure = "ci_overlap"
    family = _choice("family", family, ("linear", "logistic"), measure)
    synthesis = _choice("synthesis", synthesis, ("partial", "full"), measure)
    if isinstance(level, bool) or not isinstance(level, float | int) or not 0 < level < 1:
        raise MeasureOptionError(f"{measure}: option 'level' must be a number between 0 and 1, "
                                 "such as 0.95; change it.")
    copies = _synthetic_list(synthetic, measure)
    target, predictors = _parse_formula(formula, schema, measure)
    if family == "linear" and not schema[target].kind.is_numeric_or_date:
        raise ModelFitError(f"{measure}: the target '{target}' is not numeric, so a linear model "
                            "does not fit it; use family='logistic' for a two-class target.")
    columns = [target, *predictors]

    fits, plan, n_real, dropped_real = [], None, 0, 0
    for i, copy in enumerate([None, *copies]):
        which = "real" if copy is None else "synthetic"
        pair = prepare(real, real if copy is None else copy, schema, measure=measure,
                       columns=columns)
        x, y, plan, dropped = _design(pair, target, predictors, which, plan)
        label = which if copy is None else f"synthetic (copy {i})"
        if len(y) <= x.shape[1]:
            raise ModelFitError(f"{measure}: the {label} data has {len(y)} complete rows for "
                                f"{x.shape[1]} coefficients; use fewer predictors or more rows.")
        if family == "logistic":
            y = _binary_target(y, plan, target, measure, label)
        fits.append((*_fit(x, y.astype(float), family), len(y)))
        if copy is None:
            n_real, dropped_real = len(y), dropped
    names = plan["names"]
    b_real, v_real, df_real, _ = fits[0]
    syn = fits[1:]
    ests = np.vstack([f[0] for f in syn])
    vars_ = np.vstack([f[1] for f in syn])
    n_syn = float(np.mean([f[3] for f in syn]))
    q, t, nu = _combine(ests, vars_, [f[2] for f in syn], synthesis, n_real, n_syn)
    lo_r, hi_r = _interval(b_real, v_real, df_real, level)
    lo_s, hi_s = _interval(q, t, nu, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = np.minimum(hi_r, hi_s) - np.maximum(lo_r, lo_s)
        signed = 0.5 * (inner / (hi_r - lo_r) + inner / (hi_s - lo_s))
        std_diff = (q - b_real) / np.sqrt(v_real)
    overlap = np.clip(signed, 0.0, None)
    table = pd.DataFrame({
        "coefficient": names, "real_estimate": b_real, "real_se": np.sqrt(v_real),
        "real_lower": lo_r, "real_upper": hi_r, "synthetic_estimate": q,
        "synthetic_se": np.sqrt(t), "synthetic_lower": lo_s, "synthetic_upper": hi_s,
        "ci_overlap": overlap, "signed_overlap": signed, "std_difference": std_diff,
    })
    value = float(np.nanmean(overlap))
    worst = table.loc[table["ci_overlap"].fillna(-1).idxmin()]
    m = len(copies)
    combined = "" if m == 1 else (
        f" The {m} synthetic copies are combined with the rules for "
        f"{'partially' if synthesis == 'partial' else 'fully'} synthetic data.")
    return MeasureResult(
        name="ci_overlap",
        value=value,
        reference=1.0,
        reference_kind="original data",
        direction=Direction.HIGHER_IS_BETTER,
        interpretation=(
            f"For the {family} model {target} ~ {' + '.join(predictors)}, the {level:.0%} "
            f"confidence intervals from the synthetic data overlap those from the real data by "
            f"{value:.1%} on average over {len(names)} coefficients (the reference, identical "
            f"inferences, is 100%; 0% means the intervals do not meet). The least overlap is "
            f"{worst['ci_overlap']:.1%} for {worst['coefficient']}, whose synthetic estimate "
            f"lies {abs(worst['std_difference']):.2f} real standard errors from the real one."
            f"{combined}"
        ),
        citation=_CI_CITE,
        n=n_real,
        details={"formula": f"{target} ~ {' + '.join(predictors)}", "family": family,
                 "synthesis": synthesis, "m": m,
                 "modelled_level": None if plan["target_levels"] is None
                 else str(plan["target_levels"][1]), "level": level, "n_real": n_real,
                 "n_synthetic": n_syn, "dropped_real_rows": dropped_real,
                 "mean_abs_std_difference": float(np.nanmean(np.abs(std_diff))),
                 "max_abs_std_difference": float(np.nanmax(np.abs(std_diff)))},
        tables={"coefficients": table},
    )


# -- tstr --------------------------------------------------------------------------------------
def _features(pair: Pair, names: list[str], which: str) -> np.ndarray:
    cols = []
    for name in names:
        if pair.schema[name].kind.is_numeric_or_date:
            cols.append(_numbers(pair, name, which))
        else:
            r, s, labels = column_codes(pair, name, n_bins=1)
            code = (r if which == "real" else s).astype(float)
            code[code == len(labels) - 1] = np.nan  # missing: left to the model
            cols.append(code)
    return np.column_stack(cols)


def tstr(real: pd.DataFrame, synthetic: pd.DataFrame, schema, *, target: str,
         holdout: pd.DataFrame | None = None, seed: int | None = None,
         metric: str | None = None, columns: Sequence[str] | None = None,
         max_rows: int | None = 100_000) -> MeasureResult:
    """Train on synthetic, test on real: a gradient-boosting model for `target` trained on the
    synthetic file, and one trained on real rows, both scored on real test rows (`holdout`, or
    20% of the real data set aside with `seed`). Classification reports accuracy (or
    ``metric="macro_f1"``), regression R^2. Each model trains on at most `max_rows` rows (a
    random sample, the same size for both, drawn with `seed`; ``None``: all); the test rows
    are all used, and the 95% interval of an accuracy is the Wilson interval over them."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import accuracy_score, f1_score, r2_score
    from threadpoolctl import threadpool_limits

    measure = "tstr"
    if not isinstance(target, str) or target not in schema:
        raise SchemaError(f"{measure}: the target {quote_names([str(target)])} is not in the "
                          "schema; pass 'target=' with a column name from the schema.")
    features = [c.name for c in schema if c.name != target and c.kind not in
                (Kind.IDENTIFIER, Kind.TEXT) and not c.has_role(Role.DIRECT_IDENTIFIER)]
    if columns is not None:
        features = [c for c in dict.fromkeys(columns) if c != target]
    if not features:
        raise SchemaError(f"{measure}: no predictor columns besides the target; add some.")
    names = [target, *features]
    seed_used = draw_seed(seed)
    real_pair = prepare(real, synthetic, schema, measure=measure, columns=names)
    if holdout is None:
        rng = np.random.default_rng(seed_used)
        order = rng.permutation(len(real_pair.real))
        n_test = max(1, len(order) // 5)
        test_rows, train_rows = np.sort(order[:n_test]), np.sort(order[n_test:])
        train, test = real_pair.real.iloc[train_rows], real_pair.real.iloc[test_rows]
    else:
        train, test = real_pair.real, prepare(real, holdout, schema, measure=measure,
                                               columns=names).synthetic
    if max_rows is not None:
        max_rows = check_int("max_rows", max_rows, 10, measure)
        sampler = np.random.default_rng([seed_used, 1])
        train = train.iloc[np.sort(sampler.choice(len(train), max_rows, replace=False))] \
            if len(train) > max_rows else train
        synth_rows = len(real_pair.synthetic)
        if synth_rows > max_rows:
            real_pair = Pair(real_pair.real, real_pair.synthetic.iloc[
                np.sort(sampler.choice(synth_rows, max_rows, replace=False))], real_pair.schema)
    numeric = schema[target].kind.is_numeric_or_date
    metric = metric or ("r2" if numeric else "accuracy")
    _choice("metric", metric, ("r2",) if numeric else ("accuracy", "macro_f1"), measure)

    # One lens for all three files: codes fixed over train, synthetic and test together.
    sets = {"real": train, "synthetic": real_pair.synthetic, "test": test}
    xs, ys = {}, {}
    for key, frame in sets.items():
        pair = prepare(train, frame, schema, measure=measure, columns=names)
        stacked = Pair(pd.concat([train, real_pair.synthetic, test], ignore_index=True),
                       pair.synthetic, pair.schema)
        xs[key] = _features(stacked, features, "synthetic")
        ys[key] = (_features(stacked, [target], "synthetic")[:, 0])
    # Native categorical splits need codes below 255; larger label sets go in as ordered codes.
    categorical = np.array([not schema[f].kind.is_numeric_or_date and
                            np.nanmax(np.r_[xs["real"][:, j], xs["synthetic"][:, j], 0]) < 250
                            for j, f in enumerate(features)])
    scores, chance = {}, None
    for key in ("real", "synthetic"):
        ok = np.isfinite(ys[key])
        if ok.sum() < 2 or (not numeric and len(np.unique(ys[key][ok])) < 2):
            raise ModelFitError(f"{measure}: the {key} training data has too few rows or one "
                                f"class only for target '{target}'; a model cannot learn from it.")
        options = {"max_iter": 60, "random_state": seed_used % 2**32, "early_stopping": False,
                   "categorical_features": categorical if categorical.any() else None}
        model = (HistGradientBoostingRegressor if numeric else HistGradientBoostingClassifier)(
            **options)
        test_ok = np.isfinite(ys["test"])
        # Below this many rows one thread is fast, and OpenMP threads that wait by spinning
        # collapse on a busy machine: 105 s instead of 2 s for 481 rows at load 6 (AER/Affairs).
        threads = 1 if int(ok.sum()) < _THREADED_ROWS else None
        with threadpool_limits(limits=threads, user_api="openmp"):
            model.fit(xs[key][ok], ys[key][ok])
            pred, truth = model.predict(xs["test"][test_ok]), ys["test"][test_ok]
        if numeric:
            scores[key] = {"r2": float(r2_score(truth, pred))}
        else:
            scores[key] = {"accuracy": float(accuracy_score(truth, pred)),
                           "macro_f1": float(f1_score(truth, pred, average="macro"))}
            train_y = ys["real"][np.isfinite(ys["real"])]
            values, counts = np.unique(train_y, return_counts=True)
            chance = float(np.mean(truth == values[counts.argmax()]))
    value, reference = scores["synthetic"][metric], scores["real"][metric]
    n_test = int(np.isfinite(ys["test"]).sum())
    what = {"r2": "R^2 (share of variance explained)", "accuracy": "accuracy",
            "macro_f1": "macro-averaged F1"}[metric]
    chance_text = "" if chance is None else (
        f" Always guessing the most common class would score an accuracy of {chance:.3f}.")
    split = ("on the holdout" if holdout is not None else
             f"on 20% of the real rows set aside (seed {seed_used}); the synthetic file may have "
             "been made from those rows too, which flatters it")
    gap = reference - value
    return MeasureResult(
        name="tstr",
        value=value,
        reference=reference,
        reference_kind="real holdout",
        direction=Direction.HIGHER_IS_BETTER,
        interpretation=(
            f"A gradient-boosting model predicting '{target}' trained on the synthetic data "
            f"scores {value:.3f} ({what}) on real test rows; the same model trained on real data "
            f"scores {reference:.3f}, a gap of {gap:.3f}. Scores are measured {split}."
            f"{chance_text}"
        ),
        citation=_TSTR_CITE,
        n=n_test,
        ci=None if numeric or metric != "accuracy" else wilson(round(value * n_test), n_test),
        details={"target": target, "max_rows": max_rows,
                 "task": "regression" if numeric else "classification",
                 "metric": metric, "seed": seed_used, "chance_accuracy": chance,
                 **{f"real_{k}": v for k, v in scores["real"].items()},
                 **{f"synthetic_{k}": v for k, v in scores["synthetic"].items()},
                 "n_train_real": len(train), "n_synthetic": len(real_pair.synthetic),
                 "n_test": len(test)},
        tables={"scores": pd.DataFrame(
            [{"trained_on": k, **v} for k, v in scores.items()])},
    )
