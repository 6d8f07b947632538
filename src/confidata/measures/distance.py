"""Record-level closeness of synthetic rows to the real (training) rows, judged against a holdout.

A synthetic file that copies training rows, or sits unusually close to them, leaks those people.
The fair yardstick is a *holdout*: real rows from the same population that were not used to fit
the synthesizer. Synthetic rows should be no closer to the training rows than holdout rows are.

* `exact_matches`: share of synthetic rows identical to some training row, against the share of
  holdout rows identical to some training row (exact, on joint integer codes).
* `distance_to_closest_record`: Gower distances to the nearest training row, and the share of
  synthetic rows nearer the training data than the holdout (about 0.5 for a fresh sample from the
  population, near 1 for a copy), computed on subsamples and in bounded chunks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from confidata.errors import SchemaError
from confidata.measures._nearest import GowerSpace
from confidata.measures._result import Direction, MeasureResult
from confidata.measures._shared import check_frames, draw_seed, measured_columns, need_holdout, row_keys
from confidata.table.schema import Schema

__all__ = ["distance_to_closest_record", "exact_matches"]

_DCR = (
    "Platzer, M. & Reutterer, T. (2021). Holdout-based fidelity and privacy assessment of mixed-"
    "type synthetic data. Frontiers in Big Data 4:679939; Gower, J. C. (1971). A general "
    "coefficient of similarity and some of its properties. Biometrics 27(4), 857-871."
)
_EXACT = (
    "Platzer, M. & Reutterer, T. (2021). Holdout-based fidelity and privacy assessment of mixed-"
    "type synthetic data. Frontiers in Big Data 4:679939 (identical match share)."
)


def exact_matches(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
                  holdout: pd.DataFrame | None = None) -> MeasureResult:
    """Share of synthetic rows equal in every column to some training row; reference: the
    same share for holdout rows (what an independent sample from the population scores)."""
    holdout = need_holdout(holdout, "exact_matches")
    columns = measured_columns(real, schema)
    check_frames({"real data": real, "synthetic data": synthetic, "holdout data": holdout}, columns)
    code_r, code_s, code_h = row_keys([real, synthetic, holdout], columns)
    in_train = np.zeros(int(max(code_r.max(), code_s.max(), code_h.max())) + 1, dtype=bool)
    in_train[code_r] = True
    share_s = float(in_train[code_s].mean())
    share_h = float(in_train[code_h].mean())
    n = len(code_s)
    half = 1.96 * np.sqrt(share_s * (1 - share_s) / n)
    interpretation = (
        f"{100 * share_s:.2f}% of the synthetic rows are exact copies of a training row, in all "
        f"{len(columns)} columns. The reference is {100 * share_h:.2f}%: the share of holdout "
        f"rows (real people the synthesizer never saw) that equal a training row, which is what "
        f"chance and common value combinations alone produce. A synthetic share well above the "
        f"reference means the synthesizer copies records; lower is safer."
    )
    table = pd.DataFrame({"rows": ["synthetic", "holdout"], "exact_match_share": [share_s, share_h],
                          "n": [n, len(code_h)]})
    return MeasureResult(
        name="exact_matches",
        value=share_s,
        reference=share_h,
        reference_kind="real holdout",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=interpretation,
        citation=_EXACT,
        n=n,
        ci=(max(0.0, share_s - half), min(1.0, share_s + half)),
        details={"synthetic_matches": int(in_train[code_s].sum()),
                 "holdout_matches": int(in_train[code_h].sum()),
                 "n_holdout": len(code_h), "n_train": len(code_r), "columns": len(columns)},
        tables={"exact_matches": table},
    )


def distance_to_closest_record(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
                               holdout: pd.DataFrame | None = None, max_rows: int = 2000,
                               max_chunks: int = 25, seed: int | None = None) -> MeasureResult:
    """Share of synthetic rows nearer (Gower) to the training data than to a holdout.

    The training rows are shuffled and cut into disjoint chunks of the holdout's size, and the
    share is averaged over the chunks, so that both sides of each comparison have the same
    number of rows: a fresh sample from the population scores about 0.5; a copy of the training
    data scores 1 when training and holdout are the same size (0.5 + 0.5 / c with c chunks, as
    each copied row meets its original in one chunk of c). Ties count half. Up to `max_rows`
    synthetic and holdout rows are queried and at most `max_chunks` random chunks compared
    (drawn with ``np.random.default_rng(seed)``; a random subset of chunks leaves the expected
    share, a copy's included, unchanged); the 95% interval is the normal approximation to a
    binomial share on the queried rows. Also reports the 5th percentile and median distance
    to the closest training row for synthetic and for holdout rows.
    """
    holdout = need_holdout(holdout, "distance_to_closest_record")
    for option, number in (("max_rows", max_rows), ("max_chunks", max_chunks)):
        if isinstance(number, bool) or not isinstance(number, int | np.integer) or number < 1:
            raise SchemaError(f"The '{option}' option must be a whole number of 1 or more.")
    seed = draw_seed(seed)
    rng = np.random.default_rng(seed)
    columns = measured_columns(real, schema)
    check_frames({"real data": real, "synthetic data": synthetic, "holdout data": holdout}, columns)
    space = GowerSpace([real, synthetic, holdout], columns, schema)
    n_r, n_s, n_h = len(real), len(synthetic), len(holdout)
    query_s = np.sort(rng.choice(n_s, size=min(max_rows, n_s), replace=False))
    query_h = np.sort(rng.choice(n_h, size=min(max_rows, n_h), replace=False))

    train_sums = space.nearest_sums(1, query_s, 0)[0][:, 0]
    dcr_s = train_sums / space.p
    dcr_h = space.nearest(2, query_h, 0)[0][:, 0]
    hold_sums = space.nearest_sums(1, query_s, 2)[0][:, 0]
    # training rows in random disjoint chunks of the holdout's size; `used` of them compared
    chunks = max(1, n_r // n_h)
    used = min(chunks, int(max_chunks))
    chunk_of = np.full(n_r, -1, dtype=np.int64)
    order = rng.permutation(n_r)
    if n_r >= n_h:
        chunk_of[order[:used * n_h]] = np.repeat(np.arange(used), n_h)
    else:
        chunk_of[:] = 0
    # a row no nearer to all the training data than to the holdout is nearer in no chunk
    nearer = np.zeros((len(query_s), used))
    scan = train_sums <= hold_sums
    nearer[scan] = space.nearer_than(1, query_s[scan], 0, chunk_of, used, hold_sums[scan])
    shares = nearer.mean(axis=0)
    share = float(np.mean(shares))
    n = len(query_s)
    copy_score = 0.5 + 0.5 / chunks  # a copy is nearest its own chunk once in `chunks` draws
    half = 1.96 * np.sqrt(max(share * (1 - share), 0.25 / n) / n)
    stats = {
        "synthetic_p5": float(np.percentile(dcr_s, 5)),
        "synthetic_median": float(np.median(dcr_s)),
        "holdout_p5": float(np.percentile(dcr_h, 5)),
        "holdout_median": float(np.median(dcr_h)),
    }
    interpretation = (
        f"{100 * share:.1f}% of {n} synthetic rows lie nearer to the training data than to a "
        f"holdout of real rows the synthesizer never saw (Gower distance, equal-sized sets). "
        f"The reference is 50%: a fresh sample from the same population is as near to either, "
        f"while a copy of the training data scores about {100 * copy_score:.0f}% here (100% when "
        f"training and holdout sets are the same size); the 95% interval is "
        f"{100 * max(0.0, share - half):.1f}% to {100 * min(1.0, share + half):.1f}%. The median "
        f"distance to the closest training row is {stats['synthetic_median']:.3f} for synthetic "
        f"rows and {stats['holdout_median']:.3f} for holdout rows (5th percentiles "
        f"{stats['synthetic_p5']:.3f} and {stats['holdout_p5']:.3f}); synthetic rows much closer "
        f"than holdout rows suggest memorised records. Lower (towards 50%) is safer."
    )
    distances = pd.DataFrame(
        {"rows": ["synthetic"] * len(dcr_s) + ["holdout"] * len(dcr_h),
         "distance": np.concatenate([dcr_s, dcr_h])}
    )
    return MeasureResult(
        name="distance_to_closest_record",
        value=share,
        reference=0.5,
        reference_kind="null expectation",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=interpretation,
        citation=_DCR,
        n=n,
        ci=(max(0.0, share - half), min(1.0, share + half)),
        details={**stats, "seed": seed, "chunks": chunks, "chunks_compared": used,
                 "copy_score": copy_score,
                 "n_holdout_queried": len(query_h),
                 "n_train": n_r, "n_holdout": n_h, "columns": len(columns)},
        tables={"distances": distances},
    )
