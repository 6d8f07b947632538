"""Marginal-distribution measures: how far the synthetic file's low-order tables are from the
real file's.

* `tvd_1way`, `tvd_2way` — mean total-variation distance (TVD) over every 1-way and 2-way
  table. TVD is half the sum of absolute differences between two tables of proportions: the
  share of records that would have to move cell to make one table equal the other (0 = the same
  table, 1 = no overlap).
* `kmarginal` — the same over 3-way tables (or k-way), on NIST SDNist's 0-1000 scale,
  1000 x (1 - mean TVD), 1000 meaning identical (NIST CRC "k-marginal" score).
* `pmse_1way` — synthpop's per-variable table utility from ``compare()``: the pMSE and S_pMSE of
  each variable's own table (Snoke et al. 2018; Raab, Nowok and Dibben 2021).

Numbers and dates are cut into groups at quantiles of the real data (10 groups for TVD; for
`pmse_1way` 5 groups on both files stacked, as synthpop does, which reproduces its figures
exactly), closed on the left, with missing as its own group; categories keep every level, with
missing as a level.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from confidata.measures._encode import Pair, column_codes, joint_codes, prepare
from confidata.measures._result import Direction, MeasureResult
from confidata.measures._shared import check_int, draw_seed

__all__ = ["kmarginal", "pmse_1way", "tvd_1way", "tvd_2way"]

_TVD_CITE = (
    "Total-variation distance of marginal tables; k-marginal score as in NIST CRC SDNist "
    "(Task, Bhagat and Howarth, NIST Collaborative Research Cycle, 2023)."
)
_PMSE_CITE = (
    "Snoke, Raab, Nowok, Dibben and Slavkovic (2018), General and specific utility measures for "
    "synthetic data, JRSS A 181(3), 663-688; synthpop compare() (Raab, Nowok and Dibben 2021)."
)



def _coded(pair: Pair, n_bins: int, edges_from: str) -> tuple[list, list, list[int], list]:
    real, syn, sizes, labels = [], [], [], []
    for name in pair.names:
        r, s, lab = column_codes(pair, name, n_bins=n_bins, edges_from=edges_from)
        real.append(r)
        syn.append(s)
        sizes.append(len(lab))
        labels.append(lab)
    return real, syn, sizes, labels


def _cell_counts(key_r: np.ndarray, key_s: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts per occupied cell for both files (dense when small, via unique keys when not)."""
    if cells <= 4_000_000:
        cr = np.bincount(key_r, minlength=cells)
        cs = np.bincount(key_s, minlength=cells)
        keep = (cr + cs) > 0
        return cr[keep], cs[keep]
    keys, inverse = np.unique(np.concatenate([key_r, key_s]), return_inverse=True)
    n = len(key_r)
    return (np.bincount(inverse[:n], minlength=len(keys)),
            np.bincount(inverse[n:], minlength=len(keys)))


def _tvd(cr: np.ndarray, cs: np.ndarray) -> float:
    return 0.5 * float(np.abs(cr / cr.sum() - cs / cs.sum()).sum())


def _marginal_table(pair: Pair, k: int, n_bins: int, combos: Sequence[tuple[int, ...]]) -> pd.DataFrame:
    real, syn, sizes, _ = _coded(pair, n_bins, "real")
    names = pair.names
    rows = []
    for combo in combos:
        kr, cells = joint_codes([real[j] for j in combo], [sizes[j] for j in combo])
        ks, _ = joint_codes([syn[j] for j in combo], [sizes[j] for j in combo])
        cr, cs = _cell_counts(kr, ks, cells)
        rows.append((*(names[j] for j in combo), len(cr), _tvd(cr, cs)))
    columns = [f"variable_{i + 1}" for i in range(k)] + ["cells", "tvd"]
    return pd.DataFrame(rows, columns=columns)


def _tvd_result(name: str, k: int, table: pd.DataFrame, pair: Pair, n_bins: int,
                note: str) -> MeasureResult:
    mean = float(table["tvd"].mean())
    worst = table.sort_values("tvd", ascending=False).head(1)
    worst_names = " x ".join(str(v) for v in worst.iloc[0, :k]) if len(worst) else "none"
    what = {1: "single-variable", 2: "two-way"}.get(k, f"{k}-way")
    return MeasureResult(
        name=name,
        value=mean,
        reference=0.0,
        reference_kind="original data",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=(
            f"On average over {len(table)} {what} tables, {mean:.2%} of the synthetic records "
            f"would have to move to another cell to reproduce the real table exactly (mean "
            f"total-variation distance {mean:.4f}; the reference, an exact copy of the real data, "
            f"scores 0). The largest gap is {table['tvd'].max():.4f} for {worst_names}. "
            f"Numbers are cut into {n_bins} groups at the real data's quantiles; missing counts "
            f"as its own group.{note}"
        ),
        citation=_TVD_CITE,
        details={"k": k, "tables": len(table), "n_bins": n_bins, "max_tvd": float(table["tvd"].max()),
                 "n_real": len(pair.real), "n_synthetic": len(pair.synthetic)},
        tables={f"tvd_{k}way": table},
    )


def tvd_1way(real: pd.DataFrame, synthetic: pd.DataFrame, schema, *, n_bins: int = 10,
             columns: Sequence[str] | None = None) -> MeasureResult:
    """Mean total-variation distance over every variable's own table (1-way marginals)."""
    n_bins = check_int("n_bins", n_bins, 1, "tvd_1way")
    pair = prepare(real, synthetic, schema, measure="tvd_1way", columns=columns)
    table = _marginal_table(pair, 1, n_bins, [(j,) for j in range(len(pair.names))])
    return _tvd_result("tvd_1way", 1, table, pair, n_bins, "")


def tvd_2way(real: pd.DataFrame, synthetic: pd.DataFrame, schema, *, n_bins: int = 10,
             columns: Sequence[str] | None = None) -> MeasureResult:
    """Mean total-variation distance over every pair of variables (2-way marginals)."""
    n_bins = check_int("n_bins", n_bins, 1, "tvd_2way")
    pair = prepare(real, synthetic, schema, measure="tvd_2way", columns=columns, min_columns=2)
    combos = list(itertools.combinations(range(len(pair.names)), 2))
    result = _tvd_result("tvd_2way", 2, _marginal_table(pair, 2, n_bins, combos), pair, n_bins, "")
    score = 1000.0 * (1.0 - result.value)
    return MeasureResult(**{**result.__dict__, "details": {**result.details, "kmarginal2_score": score}})


def kmarginal(real: pd.DataFrame, synthetic: pd.DataFrame, schema, *, k: int = 3,
              n_bins: int = 10, max_sets: int = 1000, seed: int | None = None,
              columns: Sequence[str] | None = None) -> MeasureResult:
    """k-marginal score, 1000 x (1 - mean TVD) over all k-way tables (or `max_sets` of them
    drawn at random with `seed`); 1000 means every k-way table matches exactly."""
    k = check_int("k", k, 1, "kmarginal")
    n_bins = check_int("n_bins", n_bins, 1, "kmarginal")
    max_sets = check_int("max_sets", max_sets, 1, "kmarginal")
    pair = prepare(real, synthetic, schema, measure="kmarginal", columns=columns, min_columns=k)
    p = len(pair.names)
    total = math.comb(p, k)
    note, seed_used, sampled = "", None, total > max_sets
    if sampled:
        seed_used = draw_seed(seed)
        rng = np.random.default_rng(seed_used)
        chosen: dict[tuple[int, ...], None] = {}
        while len(chosen) < max_sets:  # rejection draw: never lists all C(p, k) sets
            draw = np.sort(rng.random((max_sets, p)).argsort(axis=1)[:, :k], axis=1)
            for combo in map(tuple, draw.tolist()):
                if len(chosen) < max_sets:
                    chosen.setdefault(combo, None)
        combos = list(chosen)
        note = (f" The {max_sets} tables are a random sample (seed {seed_used}) of the {total} "
                f"possible {k}-way tables.")
    else:
        combos = list(itertools.combinations(range(p), k))
    base = _tvd_result("kmarginal", k, _marginal_table(pair, k, n_bins, combos), pair, n_bins, note)
    score = 1000.0 * (1.0 - base.value)
    return MeasureResult(
        name="kmarginal",
        value=score,
        reference=1000.0,
        reference_kind="original data",
        direction=Direction.HIGHER_IS_BETTER,
        interpretation=(
            f"The {k}-marginal score is {score:.1f} on a 0-1000 scale; the reference, an exact "
            f"copy of the real data, scores 1000. " + base.interpretation
        ),
        citation=_TVD_CITE,
        n=len(combos) if sampled else None,
        details={**base.details, "mean_tvd": base.value, "possible_tables": total,
                 "sampled": sampled, "seed": seed_used},
        tables=base.tables,
    )


def table_pmse(key_r: np.ndarray, key_s: np.ndarray, cells: int) -> tuple[float, int, float]:
    """pMSE of a saturated propensity model on one table, its degrees of freedom and S_pMSE.

    In each occupied cell the fitted propensity is the synthetic share of the cell; pMSE is the
    mean squared distance of that share from c = n_syn / N over all N rows, and its null
    expectation is df (1 - c)^2 c / N with df = occupied cells - 1 (Snoke et al. 2018, eq. 3).
    """
    cr, cs = _cell_counts(key_r, key_s, cells)
    n = cr + cs
    big_n = float(n.sum())
    c = cs.sum() / big_n
    pmse = float((n * (cs / n - c) ** 2).sum() / big_n)
    df = len(n) - 1
    null = df * (1 - c) ** 2 * c / big_n
    return pmse, df, (pmse / null if df > 0 else float("nan"))


def pmse_1way(real: pd.DataFrame, synthetic: pd.DataFrame, schema, *, n_groups: int = 5,
              columns: Sequence[str] | None = None) -> MeasureResult:
    """synthpop ``compare()``'s per-variable utility: pMSE and S_pMSE of each 1-way table.

    Numbers are cut into `n_groups` groups at quantiles of both files stacked, closed on the
    left, plus a missing group — synthpop's grouping, which reproduces its table exactly.
    The value is the mean S_pMSE over variables; each S_pMSE is 1 in expectation when the
    synthetic file is a fresh draw from the same population.
    """
    n_groups = check_int("n_groups", n_groups, 1, "pmse_1way")
    pair = prepare(real, synthetic, schema, measure="pmse_1way", columns=columns)
    real_codes, syn_codes, sizes, _ = _coded(pair, n_groups, "both")
    rows = []
    for name, r, s, size in zip(pair.names, real_codes, syn_codes, sizes, strict=True):
        pmse, df, ratio = table_pmse(r, s, size)
        rows.append((name, pmse, ratio, df))
    table = pd.DataFrame(rows, columns=["variable", "pmse", "s_pmse", "df"])
    mean = float(table["s_pmse"].mean())
    worst = table.loc[table["s_pmse"].idxmax()] if table["s_pmse"].notna().any() else None
    worst_text = "" if worst is None else (
        f" The largest is {worst['s_pmse']:.2f} for '{worst['variable']}'.")
    return MeasureResult(
        name="pmse_1way",
        value=mean,
        reference=1.0,
        reference_kind="null expectation",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=(
            f"Variable by variable, the synthetic distribution differs from the real one by "
            f"{mean:.2f} times what a fresh sample from the same population would show on "
            f"average (mean standardised pMSE over {len(table)} variables; the null expectation "
            f"is 1, and values up to about 3 are common for good synthetic data).{worst_text}"
        ),
        citation=_PMSE_CITE,
        details={"n_groups": n_groups, "max_s_pmse": float(table["s_pmse"].max()),
                 "n_real": len(pair.real), "n_synthetic": len(pair.synthetic)},
        tables={"pmse_1way": table},
    )
