"""Privacy attacks on a synthetic file, judged against real rows the synthesizer never saw.

* `membership_inference`: an attacker holding candidate records guesses which of them were in
  the training data, scoring each by how close (Gower) it lies to the synthetic file. The ROC
  AUC of that guess over training rows (members) and holdout rows (non-members) is 0.5 when the
  synthetic file tells nothing about membership and 1 when it gives every member away.
* `nndr`: the nearest-neighbour distance ratio of each synthetic row (distance to its nearest
  training row over the distance to its second nearest). A ratio near 0 means the row sits on
  one particular real person; the reference is the same ratio for holdout rows.

Both search nearest neighbours with `confidata.measures._nearest`, in a compiled kernel whose
memory stays fixed however many rows are compared.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm, rankdata

from confidata.errors import SchemaError
from confidata.measures._nearest import GowerSpace
from confidata.measures._result import Direction, MeasureResult
from confidata.measures._shared import check_frames, measured_columns, need_holdout, seeded
from confidata.table.schema import Schema

__all__ = ["membership_inference", "nndr"]

_MIA = (
    "Shokri, R., Stronati, M., Song, C. & Shmatikov, V. (2017). Membership inference attacks "
    "against machine learning models. IEEE S&P, 3-18; distance-based attack as in Hilprecht, B., "
    "Haerterich, M. & Bernau, D. (2019). Monte Carlo and reconstruction membership inference "
    "attacks against generative models. PoPETs 2019(4), 232-249; AUC interval after DeLong, "
    "E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Biometrics 44(3), 837-845."
)
_NNDR = (
    "Lowe, D. G. (2004). Distinctive image features from scale-invariant keypoints. IJCV 60(2), "
    "91-110 (distance ratio); as a synthetic-data privacy measure: Zhao, Z., Kunar, A., Birke, "
    "R. & Chen, L. Y. (2021). CTAB-GAN. ACML, PMLR 157; Gower, J. C. (1971). Biometrics 27(4)."
)


def _max_rows(max_rows: object) -> int:
    if isinstance(max_rows, bool) or not isinstance(max_rows, int | np.integer) or max_rows < 1:
        raise SchemaError("The 'max_rows' option must be a whole number of 1 or more.")
    return int(max_rows)


def _auc_delong(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    """ROC AUC of scores `pos` (members) against `neg` (non-members) from mid-ranks, ties
    counted half, and its DeLong standard error (structural components from ranks)."""
    m, n = len(pos), len(neg)
    ranks = rankdata(np.concatenate([pos, neg]))
    r_pos, r_neg = ranks[:m], ranks[m:]
    auc = (r_pos.sum() - m * (m + 1) / 2) / (m * n)
    v10 = (r_pos - rankdata(pos)) / n  # share of non-members each member outscores
    v01 = 1.0 - (r_neg - rankdata(neg)) / m  # share of members that outscore each non-member
    var = (np.var(v10, ddof=1) / m if m > 1 else 0.0) + (np.var(v01, ddof=1) / n if n > 1 else 0.0)
    return float(auc), float(np.sqrt(var))


def membership_inference(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
                         holdout: pd.DataFrame | None = None, max_rows: int = 1000,
                         seed: int | None = None) -> MeasureResult:
    """ROC AUC of a distance-based membership inference attack; reference 0.5 (chance).

    The attacker scores a candidate record by minus its Gower distance to the nearest synthetic
    row: the closer, the likelier it was used for training. Members are a sample of training
    (`real`) rows, non-members a sample of the same size from `holdout`, at most `max_rows`
    each, drawn with ``np.random.default_rng(seed)``. The AUC comes from mid-ranks (ties count
    half); its 95% interval is DeLong's normal interval, clipped to [0, 1].
    """
    holdout = need_holdout(holdout, "membership_inference")
    max_rows = _max_rows(max_rows)
    seed, rng = seeded(seed)
    columns = measured_columns(real, schema)
    check_frames({"real data": real, "synthetic data": synthetic, "holdout data": holdout}, columns)
    size = min(max_rows, len(real), len(holdout))
    members = np.sort(rng.choice(len(real), size=size, replace=False))
    others = np.sort(rng.choice(len(holdout), size=size, replace=False))
    space = GowerSpace([real, synthetic, holdout], columns, schema)
    score_in = -space.nearest(0, members, 1)[0][:, 0]
    score_out = -space.nearest(2, others, 1)[0][:, 0]
    auc, se = _auc_delong(score_in, score_out)
    low, high = max(0.0, auc - norm.ppf(0.975) * se), min(1.0, auc + norm.ppf(0.975) * se)
    interpretation = (
        f"An attacker who guesses that records lying close to a synthetic row were used for "
        f"training tells training records from real records the synthesizer never saw with an "
        f"ROC AUC of {auc:.3f} (95% interval {low:.3f} to {high:.3f}; {size} of each). The "
        f"reference is 0.5, a coin toss: the synthetic file then says nothing about who was in "
        f"the training data. An AUC of 1 means every training record can be picked out; values "
        f"clearly above 0.5 mean the synthesizer memorised records. Lower (towards 0.5) is safer."
    )
    scores = pd.DataFrame({"rows": ["member"] * size + ["non-member"] * size,
                           "distance_to_synthetic": np.concatenate([-score_in, -score_out])})
    return MeasureResult(
        name="membership_inference",
        value=auc,
        reference=0.5,
        reference_kind="null expectation",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=interpretation,
        citation=_MIA,
        n=2 * size,
        ci=(low, high),
        details={"auc_se": se, "seed": seed, "n_members": size, "n_non_members": size,
                 "member_median_distance": float(np.median(-score_in)),
                 "non_member_median_distance": float(np.median(-score_out)),
                 "n_train": len(real), "n_holdout": len(holdout), "n_synthetic": len(synthetic),
                 "columns": len(columns)},
        tables={"scores": scores},
    )


def _ratio(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """d1 / d2, with 0 where d1 is 0 (an exact copy counts as the riskiest case, also when two
    training rows are identical to it)."""
    return np.divide(first, second, out=np.zeros_like(first), where=first > 0)


def _median_ci(values: np.ndarray) -> tuple[float, float]:
    """Distribution-free 95% interval for a median, from binomial order statistics."""
    x = np.sort(values)
    n = len(x)
    half = norm.ppf(0.975) * np.sqrt(n) / 2
    lo = int(max(0, np.floor(n / 2 - half) - 1))
    hi = int(min(n - 1, np.ceil(n / 2 + half)))
    return float(x[lo]), float(x[hi])


def nndr(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
         holdout: pd.DataFrame | None = None, max_rows: int = 1000,
         seed: int | None = None) -> MeasureResult:
    """Median nearest-neighbour distance ratio of synthetic rows to the training rows; reference:
    the same median for holdout rows.

    For each of up to `max_rows` synthetic rows (drawn with ``np.random.default_rng(seed)``) the
    Gower distance to its nearest training row is divided by that to its second nearest. A
    ratio near 0 means the row sits on one particular training record; a ratio near 1 means it
    is as close to several, so it points at nobody. Holdout rows (real, unseen) give the
    reference. Exact copies (distance 0) count as ratio 0. The 95% interval is the
    distribution-free order-statistic interval of the median; 5th percentiles are reported too.
    """
    holdout = need_holdout(holdout, "nndr")
    max_rows = _max_rows(max_rows)
    seed, rng = seeded(seed)
    columns = measured_columns(real, schema)
    check_frames({"real data": real, "synthetic data": synthetic, "holdout data": holdout}, columns)
    if len(real) < 2:
        raise SchemaError("nndr needs at least two training (real) rows: a ratio of the nearest to "
                          "the second-nearest row; pass the full training data.")
    space = GowerSpace([real, synthetic, holdout], columns, schema)
    query_s = np.sort(rng.choice(len(synthetic), size=min(max_rows, len(synthetic)), replace=False))
    query_h = np.sort(rng.choice(len(holdout), size=min(max_rows, len(holdout)), replace=False))
    two_s = space.nearest(1, query_s, 0, k=2)[0]
    two_h = space.nearest(2, query_h, 0, k=2)[0]
    ratio_s, ratio_h = _ratio(two_s[:, 0], two_s[:, 1]), _ratio(two_h[:, 0], two_h[:, 1])
    value, reference = float(np.median(ratio_s)), float(np.median(ratio_h))
    low, high = _median_ci(ratio_s)
    stats = {"synthetic_p5": float(np.percentile(ratio_s, 5)),
             "holdout_p5": float(np.percentile(ratio_h, 5)),
             "synthetic_zero_share": float(np.mean(ratio_s == 0)),
             "holdout_zero_share": float(np.mean(ratio_h == 0))}
    interpretation = (
        f"The median synthetic row is {value:.3f} times as far from its nearest training record as "
        f"from its second nearest (nearest-neighbour distance ratio, Gower distance; 95% interval "
        f"{low:.3f} to {high:.3f}, {len(query_s)} rows). The reference is {reference:.3f}, the same "
        f"median for holdout rows: real people the synthesizer never saw. A ratio near 0 means a "
        f"row sits on one particular real person; {100 * stats['synthetic_zero_share']:.1f}% of "
        f"synthetic rows and {100 * stats['holdout_zero_share']:.1f}% of holdout rows are exact "
        f"copies of a training row. 5th percentiles: {stats['synthetic_p5']:.3f} synthetic, "
        f"{stats['holdout_p5']:.3f} holdout. Higher (at or above the reference) is safer."
    )
    ratios = pd.DataFrame({"rows": ["synthetic"] * len(ratio_s) + ["holdout"] * len(ratio_h),
                           "nndr": np.concatenate([ratio_s, ratio_h])})
    return MeasureResult(
        name="nndr",
        value=value,
        reference=reference,
        reference_kind="real holdout",
        direction=Direction.HIGHER_IS_BETTER,
        interpretation=interpretation,
        citation=_NNDR,
        n=len(query_s),
        ci=(low, high),
        details={**stats, "seed": seed, "n_holdout_queried": len(query_h), "n_train": len(real),
                 "n_holdout": len(holdout), "columns": len(columns)},
        tables={"ratios": ratios},
    )
