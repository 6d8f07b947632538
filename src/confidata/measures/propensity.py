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

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from scipy.linalg import LinAlgError, cho_factor, cho_solve, qr
from scipy.special import expit

from confidata._tree import grow_tree
from confidata.errors import MeasureOptionError
from confidata.measures._encode import Pair, column_codes, numeric_values, prepare
from confidata.measures._result import Direction, MeasureResult
from confidata.measures._shared import check_int, draw_seed

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
        if numeric == "linear" and kind.is_numeric_or_date:
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
    design = np.column_stack([np.ones(len(x)), x])
    keep = _independent_columns(design)
    return design[:, keep], len(keep)


def _independent_columns(design: np.ndarray) -> np.ndarray:
    """A largest set of linearly independent columns (the intercept first), found by a
    pivoted QR of the cross-product matrix: cheap at millions of rows, and the fitted
    probabilities of a logistic model do not depend on which aliased column is dropped."""
    gram = design.T @ design
    scale = np.sqrt(np.clip(np.diag(gram), 1e-300, None))
    _, r, pivot = qr(gram / np.outer(scale, scale), pivoting=True, mode="economic")
    diag = np.abs(np.diag(r))
    rank = int((diag > diag[0] * 1e-10).sum()) if len(diag) else 0
    return np.sort(pivot[:rank])


def _fit_logistic(x: np.ndarray, y: np.ndarray, *, max_iter: int = 100,
                  tol: float = 1e-10) -> tuple[np.ndarray, bool]:
    """Fitted probabilities of an unpenalised logistic regression on a full-rank design, by
    Newton's method with step halving (as R's glm). Returns (probabilities, converged);
    without convergence (separation: a cell holding rows of one file only) the probabilities
    are those of the last step."""
    beta = np.zeros(x.shape[1])
    eta = np.zeros(len(y))
    deviance = _deviance(eta, y)
    for _ in range(max_iter):
        p = expit(eta)
        weights = p * (1.0 - p)
        hessian = x.T @ (x * weights[:, None])
        gradient = x.T @ (y - p)
        try:
            step = cho_solve(cho_factor(hessian), gradient)
        except LinAlgError:
            step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        for _ in range(30):
            new_eta = x @ (beta + step)
            new_deviance = _deviance(new_eta, y)
            if new_deviance <= deviance + 1e-12 * abs(deviance):
                break
            step = step / 2.0
        beta, eta = beta + step, new_eta
        change = abs(deviance - new_deviance) / (abs(new_deviance) + 0.1)
        deviance = new_deviance
        if change < tol:
            return expit(eta), True
    return expit(eta), False


def _deviance(eta: np.ndarray, y: np.ndarray) -> float:
    # -2 log-likelihood; logaddexp keeps large |eta| finite
    return float(2.0 * np.sum(np.logaddexp(0.0, eta) - y * eta))


def _sample(frame: pd.DataFrame, max_rows: int | None, rng: np.random.Generator) -> pd.DataFrame:
    """At most `max_rows` rows of `frame`, drawn without replacement (all when it is smaller)."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), size=max_rows, replace=False))]


def _sampled_pair(real: pd.DataFrame, synthetic: pd.DataFrame, schema, max_rows: int | None,
                  seed: int | None, measure: str, columns: Sequence[str] | None):
    """Both files conformed, each cut to a random `max_rows` rows when longer; also whether it
    sampled, the seed used and the generator (for what the measure draws next)."""
    if max_rows is not None:
        max_rows = check_int("max_rows", max_rows, 10, measure)
    seed_used = draw_seed(seed)
    rng = np.random.default_rng(seed_used)
    sampled = max_rows is not None and max(len(real), len(synthetic)) > max_rows
    pair = prepare(_sample(real, max_rows, rng), _sample(synthetic, max_rows, rng), schema,
                   measure=measure, columns=columns)
    return pair, sampled, seed_used, rng


def _sample_note(pair: Pair, ci: tuple[float, float]) -> str:
    return (f" Computed on a random sample of {len(pair.real):,} real and "
            f"{len(pair.synthetic):,} synthetic rows; 95% interval for pMSE over rows "
            f"{ci[0]:.6g} to {ci[1]:.6g}.")


def _row_interval(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """95% interval of pMSE as a mean over rows, the fitted model held fixed."""
    terms = (scores - labels.mean()) ** 2
    half = 1.96 * terms.std(ddof=1) / np.sqrt(len(terms)) if len(terms) > 1 else 0.0
    return float(max(0.0, terms.mean() - half)), float(terms.mean() + half)


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
               numeric: str = "linear", columns: Sequence[str] | None = None,
               max_rows: int | None = 50_000, seed: int | None = None) -> MeasureResult:
    """pMSE with a logistic propensity model and its closed-form null expectation.

    Main effects by default (synthpop ``utility.gen(method="logit", maxorder=0)``); with
    ``interactions=True`` also every product of terms of two different variables, which sees
    two-way relationships. The null expectation of pMSE for a model with k parameters is
    (k - 1)(1 - c)^2 c / N (Snoke et al. 2018, section 3.2), with k - 1 the rank of the design
    beyond the intercept. The model is fitted without a penalty, as the null assumes, by
    Newton's method. A file longer than `max_rows` is represented by a random sample of that
    many rows (``np.random.default_rng(seed)``; ``max_rows=None`` uses all): pMSE and its null
    then both refer to the sampled N, and the result carries a 95% interval for pMSE over
    rows.
    """
    if numeric not in ("linear", "binned"):
        raise MeasureOptionError("pmse_logit: option 'numeric' must be 'linear' or 'binned'.")
    pair, sampled, seed_used, rng = _sampled_pair(real, synthetic, schema, max_rows, seed, "pmse_logit",
                                                  columns)
    labels = _stack(pair)
    x, rank = _design(pair, numeric, bool(interactions), "pmse_logit")
    scores, converged = _fit_logistic(x, labels)
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
    ci = _row_interval(scores, labels) if sampled else None
    if sampled:
        note += _sample_note(pair, ci) + f" Seed {seed_used}."
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
        ci=ci,
        details={"s_pmse": ratio, "df": df, "parameters": rank, "c": c,
                 "specks": summary["specks"], "po50": summary["po50"],
                 "interactions": bool(interactions), "numeric": numeric, "converged": converged,
                 "sampled": sampled, "seed": seed_used,
                 "n_real": len(pair.real), "n_synthetic": len(pair.synthetic)},
        tables={"propensity": _score_table(scores, labels)},
    )


def _score_table(scores: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "source": np.where(labels == 1, "synthetic", "real"),
        "propensity": scores,
    })


def _tree_bins(pair: Pair) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stacked rows as tree inputs: category levels (missing a level of its own) as bins,
    numbers and dates cut at up to 255 quantiles of both files (bin 0 = missing)."""
    bins, sizes, categorical = [], [], []
    for name in pair.names:
        kind = pair.schema[name].kind
        if kind.is_numeric_or_date:
            x = np.concatenate([numeric_values(pair.real[name]), numeric_values(pair.synthetic[name])])
            finite = x[np.isfinite(x)]
            edges = np.unique(np.quantile(finite, np.linspace(0, 1, 256)[1:-1], method="lower")) \
                if len(finite) else np.array([])
            code = np.searchsorted(edges, x, side="left") + 1
            code[~np.isfinite(x)] = 0
            bins.append(code)
            sizes.append(len(edges) + 2)
            categorical.append(False)
        else:
            r, s, labels = column_codes(pair, name, n_bins=5)
            bins.append(np.concatenate([r, s]))
            sizes.append(len(labels))
            categorical.append(True)
    return (np.column_stack(bins).astype(np.uint16), np.array(sizes, dtype=np.int32),
            np.array(categorical, dtype=bool))


def _pruned_means(tree, y: np.ndarray, alpha: float) -> np.ndarray:
    """Each row's fitted share of synthetic rows after cost-complexity pruning at `alpha`.

    The subtree kept is the one minimising R(T) + alpha x leaves(T), with R the Gini impurity
    of the leaves weighted by their share of rows (scikit-learn's ``ccp_alpha`` units), found
    exactly by one pass from the deepest nodes up: a node is cut back to a leaf when its
    subtree does not pay for its extra leaves.
    """
    n = len(y)
    cum = np.concatenate([[0.0], np.cumsum(y[tree.order])])
    ones = cum[tree.start + tree.count] - cum[tree.start]
    share = ones / np.maximum(tree.count, 1)
    own = tree.count / n * 2.0 * share * (1.0 - share) + alpha  # the node as one leaf
    cost = own.copy()
    leaf = tree.feature < 0
    for node in range(len(cost) - 1, -1, -1):  # children are numbered after their parent
        if not leaf[node]:
            below = cost[tree.left[node]] + cost[tree.right[node]]
            if below < own[node]:
                cost[node] = below
            else:
                leaf[node] = True
    kept = np.zeros(len(cost), dtype=bool)  # leaves of the pruned tree: cut nodes not below one
    stack = [0]
    while stack:
        node = stack.pop()
        if leaf[node]:
            kept[node] = True
        else:
            stack.extend((tree.left[node], tree.right[node]))
    scores = np.empty(n)
    for node in np.flatnonzero(kept):
        scores[tree.order[tree.start[node]:tree.start[node] + tree.count[node]]] = share[node]
    return scores


def pmse_cart(real: pd.DataFrame, synthetic: pd.DataFrame, schema, *, permutations: int = 50,
              min_leaf: int = 5, ccp_alpha: float = 3e-4, max_rows: int | None = 50_000,
              seed: int | None = None, columns: Sequence[str] | None = None) -> MeasureResult:
    """pMSE with a classification-tree propensity model and a permutation null.

    The tree (confidata's histogram CART: Gini splits, leaves of at least `min_leaf` rows,
    categories split on subsets of levels, numbers cut at up to 255 quantiles, missing values
    a bin of their own) is grown in full, then cut back by cost-complexity pruning at
    `ccp_alpha`; it stands in for synthpop's rpart tree (minbucket 5, cp 1e-3). Post-pruning
    is used rather than a minimum gain per split because a synthetic file that keeps every
    margin but breaks the relationships gives no single split a gain, yet deep subtrees
    separate it well; rpart's cp likewise judges whole subtrees. The default 3e-4 is
    calibrated on synthpop's SD2011 reference pair (pMSE within a factor of 10 of synthpop's,
    the same verdict, and an S_pMSE above 5 for a file whose columns were shuffled
    independently). The null is estimated by refitting the same tree on `permutations` random
    shufflings of the real/synthetic labels: S_pMSE = pMSE / (mean permutation pMSE), as
    synthpop's ``utility.gen`` with its default permutation resampling. The spread of the
    permutation pMSEs is reported (interval and the share at least as large as the observed
    one). A file longer than `max_rows` is represented by a random sample of that many rows
    (``max_rows=None`` uses all), with a 95% interval for pMSE over rows.
    """
    permutations = check_int("permutations", permutations, 2, "pmse_cart")
    min_leaf = check_int("min_leaf", min_leaf, 1, "pmse_cart")
    if isinstance(ccp_alpha, bool) or not isinstance(ccp_alpha, int | float) or ccp_alpha < 0:
        raise MeasureOptionError("pmse_cart: option 'ccp_alpha' must be a number >= 0; change it.")
    pair, sampled, seed_used, rng = _sampled_pair(real, synthetic, schema, max_rows, seed, "pmse_cart",
                                                  columns)
    labels = _stack(pair)
    bins, sizes, categorical = _tree_bins(pair)

    # A node of n rows has weighted Gini at most n / (2N); below alpha, pruning always makes
    # it a leaf, so it need not be split at all (the same tree, grown much faster).
    min_split = max(2 * min_leaf, int(np.ceil(2 * float(ccp_alpha) * len(labels))))

    def fit(y: np.ndarray) -> np.ndarray:
        tree = grow_tree(bins, sizes, categorical, y.astype(np.int32), 2, min_leaf=min_leaf,
                         min_split=min_split, cp=-1.0)
        return _pruned_means(tree, y, float(ccp_alpha))

    scores = fit(labels)
    summary = propensity_summary(scores, labels)
    shuffles = [rng.permutation(labels) for _ in range(permutations)]
    # the grower releases the GIL, so refits on shuffled labels run on every core
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        null = np.array([pmse(scores_, labels) for scores_ in pool.map(fit, shuffles)])
    null_mean = float(null.mean())
    if null_mean > 0:
        ratio = summary["pmse"] / null_mean
    else:  # no tree found a split, on the true labels nor on shuffled ones
        ratio = 1.0 if summary["pmse"] == 0 else float("inf")
    lo, hi = (float(v) for v in np.quantile(null, [0.025, 0.975]))
    p_value = float((1 + (null >= summary["pmse"]).sum()) / (permutations + 1))
    ci = _row_interval(scores, labels) if sampled else None
    extra = (
        f" The null comes from {permutations} refits on shuffled labels (seed {seed_used}); 95% "
        f"of them fall between {lo:.6g} and {hi:.6g}. SPECKS {summary['specks']:.3f}, PO50 "
        f"{summary['po50']:.2f}.")
    if sampled:
        extra += _sample_note(pair, ci)
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
        ci=ci,
        details={"s_pmse": ratio, "null_mean": null_mean, "null_sd": float(null.std(ddof=1)),
                 "null_2.5%": lo, "null_97.5%": hi, "p_value": p_value,
                 "specks": summary["specks"], "po50": summary["po50"],
                 "permutations": permutations, "seed": seed_used, "min_leaf": min_leaf,
                 "ccp_alpha": float(ccp_alpha), "sampled": sampled,
                 "n_real": len(pair.real), "n_synthetic": len(pair.synthetic)},
        tables={"propensity": _score_table(scores, labels),
                "permutation_null": pd.DataFrame({"pmse": null})},
    )
