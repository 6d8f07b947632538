"""Propensity-score utility: can a model tell the synthetic rows from the real ones?

Stack the real and synthetic rows, label each (1 = synthetic), fit a classifier and take each
row's fitted probability of being synthetic, its *propensity score* p_i. If the two files came
from the same distribution the model can do no better than the share of synthetic rows,
c = n_syn / N, so the propensity mean squared error

    pMSE = (1/N) sum_i (p_i - c)^2

is near 0 and grows as the files become distinguishable (Woo, Reiter, Oganian and Karr 2009;
Snoke, Raab, Nowok, Dibben and Slavkovic 2018). pMSE alone depends on the model, so each result
carries its null reference and the ratio S_pMSE = pMSE / null, which is about 1 for a synthetic
file that is as close to the real one as a fresh sample would be:

* `pmse_logit` — a logistic model, main effects (optionally all two-way interactions); the null
  expectation is known in closed form, (k - 1)(1 - c)^2 c / N for k parameters.
* `pmse_cart` — a classification tree; its null has no closed form, so it is estimated by
  refitting on random permutations of the real/synthetic labels (as synthpop's ``utility.gen``).

Both also report SPECKS, the Kolmogorov-Smirnov distance between the propensity scores of the
real and of the synthetic rows, and PO50, the percentage by which the share of rows the model
classifies correctly at threshold 0.5 exceeds 50%, and return the scores for a plot.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from confidata.measures._encode import Pair, column_codes, numeric_values, prepare
from confidata.measures._result import Direction, MeasureResult
from confidata.measures.marginals import MeasureOptionError, _check_int, _draw_seed

__all__ = ["pmse", "pmse_cart", "pmse_logit", "propensity_summary"]

_CITE = (
    "Snoke, Raab, Nowok, Dibben and Slavkovic (2018), General and specific utility measures for "
    "synthetic data, JRSS A 181(3), 663-688; Woo, Reiter, Oganian and Karr (2009), Journal of "
    "Privacy and Confidentiality 1(1); synthpop utility.gen (Raab, Nowok and Dibben)."
)
_MAX_PARAMETERS = 5000


def pmse(propensity: np.ndarray, labels: np.ndarray) -> float:
    """pMSE of fitted propensities: mean squared distance from the synthetic share c."""
    c = float(labels.mean())
    return float(np.mean((propensity - c) ** 2))


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two ECDFs."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    gap = np.searchsorted(a, grid, side="right") / len(a) - np.searchsorted(b, grid, side="right") / len(b)
    return float(np.abs(gap).max())


def propensity_summary(propensity: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """pMSE, SPECKS and PO50 of one set of fitted propensity scores."""
    is_syn = labels == 1
    correct = np.where(is_syn, propensity > 0.5, propensity <= 0.5)
    return {
        "pmse": pmse(propensity, labels),
        "specks": _ks(propensity[is_syn], propensity[~is_syn]),
        "po50": float(100.0 * (correct.mean() - 0.5)),
    }


def _stack(pair: Pair) -> np.ndarray:
    return np.concatenate([np.zeros(len(pair.real)), np.ones(len(pair.synthetic))])


def _main_effects(pair: Pair, numeric: str) -> tuple[list[np.ndarray], list[str]]:
    """Main-effect blocks, one per variable, for the stacked rows (real first).

    Categories: one indicator per level but the first, missing a level of its own. Numbers and
    dates, ``numeric='linear'``: the value (standardised; missing set to the mean) plus an
    indicator of missing when any is missing — synthpop ``utility.gen``'s terms, which give its
    37 degrees of freedom on SD2011's 12 variables. ``numeric='binned'``: 5 groups at quantiles
    of the real data plus a missing group, coded as categories.
    """
    blocks, names = [], []
    for name in pair.names:
        kind = pair.schema[name].kind
        if numeric == "linear" and (kind.is_numeric or kind.value in ("date", "datetime")):
            x = np.concatenate([numeric_values(pair.real[name]), numeric_values(pair.synthetic[name])])
            na = ~np.isfinite(x)
            if na.all():
                continue
            mean, sd = x[~na].mean(), x[~na].std()
            z = np.where(na, 0.0, (x - mean) / (sd if sd > 0 else 1.0))
            cols = [z, na.astype(float)] if na.any() else [z]
            blocks.append(np.column_stack(cols))
            names.append(name)
            continue
        r, s, labels = column_codes(pair, name, n_bins=5, edges_from="real")
        code = np.concatenate([r, s])
        used = np.unique(code)
        if len(used) < 2:
            continue
        block = (code[:, None] == used[None, 1:]).astype(float)
        blocks.append(block)
        names.append(name)
    return blocks, names


def _design(pair: Pair, numeric: str, interactions: bool, measure: str) -> tuple[np.ndarray, int]:
    blocks, _ = _main_effects(pair, numeric)
    if not blocks:
        raise MeasureOptionError(
            f"{measure}: every measured column is constant in both files, so there is nothing to "
            "model; pass other 'columns='."
        )
    parts = list(blocks)
    if interactions:
        for i in range(len(blocks)):
            for j in range(i + 1, len(blocks)):
                a, b = blocks[i], blocks[j]
                parts.append((a[:, :, None] * b[:, None, :]).reshape(len(a), -1))
    x = np.hstack(parts)
    x = x[:, x.std(axis=0) > 0]
    if x.shape[1] > _MAX_PARAMETERS:
        raise MeasureOptionError(
            f"{measure}: the model would have {x.shape[1]} parameters (more than "
            f"{_MAX_PARAMETERS}); pass fewer 'columns=' or set interactions=False."
        )
    rank = int(np.linalg.matrix_rank(np.column_stack([np.ones(len(x)), x])))
    return x, rank


def _interpret(name: str, value: float, null: float, ratio: float, model: str, extra: str) -> str:
    verdict = (
        "about what two samples from the same population show"
        if ratio < 2 else
        "more than a fresh sample from the same population would show, so a model can partly "
        "tell the files apart" if ratio < 10 else
        "far more than chance: the model separates synthetic from real rows well"
    )
    return (
        f"A {model} tried to tell synthetic rows from real ones. Its propensity mean squared "
        f"error (pMSE) is {value:.6g}, against {null:.6g} expected when both files come from the "
        f"same population (the null reference), a ratio S_pMSE of {ratio:.2f}: {verdict}. "
        f"0 would mean the model cannot separate the files at all.{extra}"
    )


def pmse_logit(real: pd.DataFrame, synthetic: pd.DataFrame, schema, *, interactions: bool = False,
               numeric: str = "linear", columns: Sequence[str] | None = None) -> MeasureResult:
    """pMSE with a logistic propensity model and its closed-form null expectation.

    Main effects by default (synthpop ``utility.gen(method="logit", maxorder=0)``); with
    ``interactions=True`` also every product of terms of two different variables, which sees
    two-way relationships. The null expectation of pMSE for a model with k parameters is
    (k - 1)(1 - c)^2 c / N (Snoke et al. 2018, section 3.2), with k - 1 the rank of the design
    beyond the intercept. The model is fitted without a penalty, as the null assumes.
    """
    if numeric not in ("linear", "binned"):
        raise MeasureOptionError("pmse_logit: option 'numeric' must be 'linear' or 'binned'.")
    pair = prepare(real, synthetic, schema, measure="pmse_logit", columns=columns)
    labels = _stack(pair)
    x, rank = _design(pair, numeric, bool(interactions), "pmse_logit")
    # Newton steps are exact and fast on a full-rank design; a rank-deficient one (empty
    # interaction cells) needs a gradient method, whose fitted probabilities are still unique.
    solver = "newton-cholesky" if rank == x.shape[1] + 1 else "lbfgs"
    model = LogisticRegression(penalty=None, solver=solver, max_iter=2000, tol=1e-10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x, labels)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    scores = model.predict_proba(x)[:, 1]
    summary = propensity_summary(scores, labels)
    n = len(labels)
    c = float(labels.mean())
    df = rank - 1
    null = df * (1 - c) ** 2 * c / n
    ratio = summary["pmse"] / null if null > 0 else float("nan")
    terms = "main effects and all two-way interactions" if interactions else "main effects"
    note = "" if converged else (
        " The model did not fully converge (some cells hold only real or only synthetic rows), "
        "so the figure is a lower bound.")
    return MeasureResult(
        name="pmse_logit",
        value=summary["pmse"],
        reference=null,
        reference_kind="null expectation",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=_interpret("pmse_logit", summary["pmse"], null, ratio,
                                  f"logistic regression ({terms})", note),
        citation=_CITE,
        n=n,
        details={"s_pmse": ratio, "df": df, "parameters": rank, "c": c,
                 "specks": summary["specks"], "po50": summary["po50"],
                 "interactions": bool(interactions), "numeric": numeric, "converged": converged,
                 "n_real": len(pair.real), "n_synthetic": len(pair.synthetic)},
        tables={"propensity": _score_table(scores, labels)},
    )


def _score_table(scores: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "source": np.where(labels == 1, "synthetic", "real"),
        "propensity": scores,
    })


def _tree_inputs(pair: Pair) -> np.ndarray:
    """Numbers as they are (missing left missing: the tree sends them down one side); each
    category level, missing included, as its own indicator."""
    cols = []
    for name in pair.names:
        kind = pair.schema[name].kind
        if kind.is_numeric or kind.value in ("date", "datetime"):
            cols.append(np.concatenate([numeric_values(pair.real[name]),
                                        numeric_values(pair.synthetic[name])])[:, None])
        else:
            r, s, _ = column_codes(pair, name, n_bins=5)
            code = np.concatenate([r, s])
            used = np.unique(code)
            cols.append((code[:, None] == used[None, :]).astype(float))
    return np.hstack(cols)


def pmse_cart(real: pd.DataFrame, synthetic: pd.DataFrame, schema, *, permutations: int = 50,
              min_samples_leaf: int = 5, min_impurity_decrease: float = 0.0,
              ccp_alpha: float = 3e-4, seed: int | None = None,
              columns: Sequence[str] | None = None) -> MeasureResult:
    """pMSE with a classification-tree propensity model and a permutation null.

    The tree (scikit-learn's CART, leaves of at least `min_samples_leaf` rows, grown in full
    then cut back by cost-complexity pruning `ccp_alpha`) stands in for synthpop's rpart tree
    (minbucket 5, cp 1e-3). Post-pruning is used rather than a minimum gain per split because a
    synthetic file that keeps every margin but breaks the relationships gives no single split a
    gain, yet deep subtrees separate it well; rpart's cp likewise judges whole subtrees. The
    default 3e-4 is calibrated on synthpop's SD2011 reference pair: it gives a pMSE within a
    factor 2 of synthpop's there (0.0030 against 0.0060) and an S_pMSE above 10 for a file
    whose columns were shuffled independently; S_pMSE itself differs (about 0.6 against
    synthpop's 1.3) because the trees differ (rpart's surrogate splits for missing values and
    misclassification-based pruning). Its null
    is estimated by refitting the same tree on `permutations` random shufflings of the
    real/synthetic labels: S_pMSE = pMSE / (mean permutation pMSE), as synthpop's
    ``utility.gen`` with its default permutation resampling. The spread of the permutation
    pMSEs is reported (interval and the share at least as large as the observed one).
    """
    permutations = _check_int("permutations", permutations, 2, "pmse_cart")
    min_samples_leaf = _check_int("min_samples_leaf", min_samples_leaf, 1, "pmse_cart")
    for option, value in (("min_impurity_decrease", min_impurity_decrease), ("ccp_alpha", ccp_alpha)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise MeasureOptionError(f"pmse_cart: option '{option}' must be a number >= 0; change it.")
    pair = prepare(real, synthetic, schema, measure="pmse_cart", columns=columns)
    seed_used = _draw_seed(seed)
    rng = np.random.default_rng(seed_used)
    labels = _stack(pair)
    x = _tree_inputs(pair)

    def fit(y: np.ndarray) -> np.ndarray:
        tree = DecisionTreeClassifier(min_samples_leaf=min_samples_leaf, ccp_alpha=ccp_alpha,
                                      min_impurity_decrease=min_impurity_decrease,
                                      random_state=int(rng.integers(2**31 - 1)))
        return tree.fit(x, y).predict_proba(x)[:, 1]

    scores = fit(labels)
    summary = propensity_summary(scores, labels)
    null = np.array([pmse(fit(rng.permutation(labels)), labels) for _ in range(permutations)])
    null_mean = float(null.mean())
    ratio = summary["pmse"] / null_mean if null_mean > 0 else float("inf")
    lo, hi = (float(v) for v in np.quantile(null, [0.025, 0.975]))
    p_value = float((1 + (null >= summary["pmse"]).sum()) / (permutations + 1))
    extra = (
        f" The null comes from {permutations} refits on shuffled labels (seed {seed_used}); 95% "
        f"of them fall between {lo:.6g} and {hi:.6g}. SPECKS {summary['specks']:.3f}, PO50 "
        f"{summary['po50']:.2f}.")
    return MeasureResult(
        name="pmse_cart",
        value=summary["pmse"],
        reference=null_mean,
        reference_kind="null expectation",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=_interpret("pmse_cart", summary["pmse"], null_mean, ratio,
                                  "classification tree", extra),
        citation=_CITE,
        n=len(labels),
        ci=None,
        details={"s_pmse": ratio, "null_mean": null_mean, "null_sd": float(null.std(ddof=1)),
                 "null_2.5%": lo, "null_97.5%": hi, "p_value": p_value,
                 "specks": summary["specks"], "po50": summary["po50"],
                 "permutations": permutations, "seed": seed_used,
                 "min_samples_leaf": min_samples_leaf, "ccp_alpha": float(ccp_alpha),
                 "min_impurity_decrease": float(min_impurity_decrease),
                 "n_real": len(pair.real), "n_synthetic": len(pair.synthetic)},
        tables={"propensity": _score_table(scores, labels),
                "permutation_null": pd.DataFrame({"pmse": null})},
    )
