"""Pairwise association: does the synthetic file keep how the variables move together?

`correlation_difference` measures, for every pair of columns, one association statistic in the
real and in the synthetic file, chosen by the pair's kinds:

* number with number — Pearson's correlation r (signed, -1 to 1), on rows where both are present;
* category with category — Cramér's V with Bergsma's (2013) bias correction (0 to 1), missing
  counted as a level of its own;
* number with category — the correlation ratio eta (0 to 1): the square root of the share of the
  number's variance that lies between the category's groups (missing a group of its own).

The value is the mean absolute difference over pairs. An exact copy scores 0, but so small a
figure is not expected even of a perfect synthesizer: a fresh sample from the same population
would differ by sampling noise. The reference is therefore the same mean for a bootstrap
resample of the real data (as many rows as the synthetic file, drawn with `seed`): a good
synthesizer lands near it, a poor one several times above it.

Dates count as numbers (days since 1970). Declared missing codes (``-8`` in an integer column)
count as missing. An association that cannot be computed — a column constant in one file, or no
rows where both are present — counts as 0 (no association can be seen), and the number of such
pairs is reported.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from confidata.measures._encode import Pair, column_codes, numeric_values, prepare
from confidata.measures._result import Direction, MeasureResult
from confidata.measures._shared import check_int, draw_seed
from confidata.table.conform import missing_mask

__all__ = ["correlation_difference"]

_CITE = (
    "Pairwise association difference as in SDMetrics' CorrelationSimilarity and "
    "ContingencySimilarity (DataCebo) and synthpop's utility.tables; bias-corrected Cramér's V: "
    "Bergsma (2013), A bias-correction for Cramér's V and Tschuprow's T, J. Korean Stat. Soc. "
    "42(3), 323-328; correlation ratio: Pearson (1905)."
)

_PEARSON, _CRAMER, _ETA = "pearson", "cramers_v", "eta"


def _encoded(pair: Pair, rows: np.ndarray | None = None) -> tuple[dict, dict]:
    """Per column, for the real (optionally resampled by `rows`) and the synthetic file:
    floats with NaN for numbers, integer codes (missing a level) for categories."""
    real_out: dict[str, np.ndarray] = {}
    syn_out: dict[str, np.ndarray] = {}
    miss_r = missing_mask(pair.real, pair.schema)
    miss_s = missing_mask(pair.synthetic, pair.schema)
    for name in pair.names:
        if pair.schema[name].kind.is_numeric_or_date:
            r = numeric_values(pair.real[name]).copy()
            s = numeric_values(pair.synthetic[name]).copy()
            r[miss_r[name].to_numpy()] = np.nan
            s[miss_s[name].to_numpy()] = np.nan
        else:
            r, s, _ = column_codes(pair, name, n_bins=1)
            both = _dense(np.concatenate([r, s]))  # small codes: tables stay small
            r, s = both[:len(r)], both[len(r):]
        real_out[name] = r if rows is None else r[rows]
        syn_out[name] = s
    return real_out, syn_out


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return np.nan
    x, y = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom > 0 else np.nan


def _dense(codes: np.ndarray) -> np.ndarray:
    """Small non-negative codes renumbered 0..k-1 over the levels present, in O(n)."""
    present = np.bincount(codes) > 0
    return (np.cumsum(present) - 1)[codes]


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Bias-corrected Cramér's V (Bergsma 2013) over the levels observed in this file."""
    r, k, n = int(a.max()) + 1, int(b.max()) + 1, len(a)
    table = np.bincount(a * k + b, minlength=r * k).reshape(r, k).astype(float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]  # levels seen in this file
    r, k = table.shape
    if r < 2 or k < 2 or n < 2:
        return np.nan
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    r_c = r - (r - 1) ** 2 / (n - 1)
    k_c = k - (k - 1) ** 2 / (n - 1)
    denom = min(r_c - 1, k_c - 1)
    return float(np.sqrt(phi2 / denom)) if denom > 0 else np.nan


def _eta(x: np.ndarray, group: np.ndarray) -> float:
    ok = np.isfinite(x)
    if ok.sum() < 2:
        return np.nan
    x, group = x[ok], group[ok]
    counts = np.bincount(group)
    seen = counts > 0
    means = np.bincount(group, weights=x)[seen] / counts[seen]
    counts = counts[seen]
    total = float(((x - x.mean()) ** 2).sum())
    if total <= 0:
        return np.nan
    between = float((counts * (means - x.mean()) ** 2).sum())
    return float(np.sqrt(min(1.0, between / total)))


def _associations(pair: Pair, data: dict[str, np.ndarray]) -> tuple[list[tuple], np.ndarray]:
    """(name_1, name_2, statistic) per pair and the statistic's value (NaN where undefined)."""
    labels, values = [], []
    for a, b in itertools.combinations(pair.names, 2):
        num_a, num_b = pair.schema[a].kind.is_numeric_or_date, pair.schema[b].kind.is_numeric_or_date
        if num_a and num_b:
            stat, v = _PEARSON, _pearson(data[a], data[b])
        elif not num_a and not num_b:
            stat, v = _CRAMER, _cramers_v(data[a], data[b])
        else:
            x, g = (data[a], data[b]) if num_a else (data[b], data[a])
            stat, v = _ETA, _eta(x, g)
        labels.append((a, b, stat))
        values.append(v)
    return labels, np.asarray(values, dtype=float)


def _matrix(names: list[str], labels: list[tuple], values: np.ndarray) -> pd.DataFrame:
    m = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for (a, b, _), v in zip(labels, values, strict=True):
        m.loc[a, b] = m.loc[b, a] = v
    return m


def correlation_difference(real: pd.DataFrame, synthetic: pd.DataFrame, schema, *,
                           seed: int | None = None, n_boot: int = 1,
                           columns: Sequence[str] | None = None) -> MeasureResult:
    """Mean absolute difference of pairwise associations (Pearson r, bias-corrected Cramér's V,
    correlation ratio eta by pair kind), beside the same figure for a bootstrap of the real data.

    `n_boot` bootstrap resamples (drawn with `seed`) are averaged for the reference.
    """
    n_boot = check_int("n_boot", n_boot, 1, "correlation_difference")
    pair = prepare(real, synthetic, schema, measure="correlation_difference", columns=columns,
                   min_columns=2)
    real_data, syn_data = _encoded(pair)
    labels, r_vals = _associations(pair, real_data)
    _, s_vals = _associations(pair, syn_data)
    undefined = int((~np.isfinite(r_vals) | ~np.isfinite(s_vals)).sum())
    r0, s0 = np.nan_to_num(r_vals), np.nan_to_num(s_vals)
    diff = np.abs(r0 - s0)
    value = float(diff.mean())

    seed_used = draw_seed(seed)
    rng = np.random.default_rng(seed_used)
    n_real, n_syn = len(pair.real), len(pair.synthetic)
    boot_means = []
    for _ in range(n_boot):
        rows = rng.integers(0, n_real, size=n_syn)
        boot = {k: v[rows] for k, v in real_data.items()}
        _, b_vals = _associations(pair, boot)
        boot_means.append(float(np.abs(r0 - np.nan_to_num(b_vals)).mean()))
    reference = float(np.mean(boot_means))

    table = pd.DataFrame(labels, columns=["variable_1", "variable_2", "statistic"])
    table["real"], table["synthetic"], table["abs_difference"] = r_vals, s_vals, diff
    worst = table.loc[table["abs_difference"].idxmax()]
    ratio = value / reference if reference > 0 else float("inf")
    counts = table["statistic"].value_counts()
    kinds = ", ".join(f"{counts.get(s, 0)} {w}" for s, w in
                      ((_PEARSON, "Pearson"), (_CRAMER, "Cramér's V"), (_ETA, "eta")))
    verdict = ("about what sampling noise alone gives" if ratio <= 1.5 else
               "somewhat more than sampling noise" if ratio <= 3 else
               "far more than sampling noise: the synthetic file loses how variables relate")
    return MeasureResult(
        name="correlation_difference",
        value=value,
        reference=reference,
        reference_kind="random baseline",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=(
            f"Over {len(table)} pairs of variables ({kinds}), the strength of association in the "
            f"synthetic file differs from the real file's by {value:.4f} on average (0 = same, "
            f"1 = the largest possible gap). A bootstrap resample of the real data, which differs "
            f"only by sampling noise, differs by {reference:.4f}; the synthetic gap is "
            f"{ratio:.1f} times that, {verdict}. The largest gap is "
            f"{worst['abs_difference']:.3f} for {worst['variable_1']} x {worst['variable_2']}."
            + (f" {undefined} pair(s) could not be measured in one file (a constant column) and "
               f"count as no association." if undefined else "")
        ),
        citation=_CITE,
        n=n_syn,
        details={"ratio_to_reference": ratio, "pairs": len(table), "undefined_pairs": undefined,
                 "max_abs_difference": float(diff.max()), "seed": seed_used, "n_boot": n_boot,
                 "n_real": n_real, "n_synthetic": n_syn},
        tables={
            "pairs": table,
            "real_matrix": _matrix(pair.names, labels, r_vals),
            "synthetic_matrix": _matrix(pair.names, labels, s_vals),
        },
    )
