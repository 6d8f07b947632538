"""Yardsticks for the synthesis tests, computed here rather than trusted from the code under
test: per-column total variation, exact row matches and nearest-record shares (Gower)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _binned(real: pd.Series, other: pd.Series, bins: int = 10) -> tuple[pd.Series, pd.Series]:
    """Both columns as text categories; numbers cut at the real column's deciles."""
    if pd.api.types.is_numeric_dtype(real.dtype) and real.nunique() > bins:
        x = real.astype(float)
        edges = np.unique(np.nanquantile(x, np.linspace(0, 1, bins + 1)))
        def cut(s):
            codes = np.searchsorted(edges[1:-1], s.astype(float).to_numpy(), side="right")
            return pd.Series(np.where(s.isna(), -1, codes).astype(str))
        return cut(real), cut(other)
    return real.astype(str).fillna("<NA>"), other.astype(str).fillna("<NA>")


def total_variation(real: pd.DataFrame, other: pd.DataFrame) -> pd.Series:
    out = {}
    for name in real.columns:
        a, b = _binned(real[name], other[name])
        pa_, pb = a.value_counts(normalize=True), b.value_counts(normalize=True)
        out[name] = 0.5 * pa_.sub(pb, fill_value=0).abs().sum()
    return pd.Series(out)


def _row_keys(frame: pd.DataFrame) -> pd.Series:
    return pd.util.hash_pandas_object(frame.astype(str), index=False)


def exact_match_rate(rows: pd.DataFrame, train: pd.DataFrame) -> float:
    """Share of `rows` identical, in every column, to some training row."""
    return float(_row_keys(rows[train.columns]).isin(set(_row_keys(train))).mean())


def _gower_matrix(frame: pd.DataFrame, reference: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Columns scaled for Gower distance: numbers by the reference range, categories coded."""
    num, cat = [], []
    for name in reference.columns:
        r, f = reference[name], frame[name]
        if pd.api.types.is_numeric_dtype(r.dtype):
            x_r = r.astype(float).to_numpy()
            span = np.nanmax(x_r) - np.nanmin(x_r) or 1.0
            num.append((f.astype(float).to_numpy() / span, x_r / span))
        else:
            levels = {v: i for i, v in enumerate(pd.unique(pd.concat([r, f]).astype(str)))}
            cat.append((f.astype(str).map(levels).to_numpy(), r.astype(str).map(levels).to_numpy()))
    return num, cat


def nearest_distances(rows: pd.DataFrame, reference: pd.DataFrame, chunk: int = 64) -> np.ndarray:
    """Gower distance from each of `rows` to its nearest row of `reference`."""
    num, cat = _gower_matrix(rows, reference)
    p = len(num) + len(cat)
    out = np.empty(len(rows))
    for start in range(0, len(rows), chunk):
        stop = min(start + chunk, len(rows))
        total = np.zeros((stop - start, len(reference)), dtype=np.float32)
        for a, b in num:
            d = np.abs(a[start:stop, None] - b[None, :])
            both = np.isnan(a[start:stop, None]) & np.isnan(b[None, :])
            d = np.where(both, 0.0, np.where(np.isnan(d), 1.0, d))
            total += d.astype(np.float32)
        for a, b in cat:
            total += (a[start:stop, None] != b[None, :]).astype(np.float32)
        out[start:stop] = total.min(axis=1) / p
    return out


def nearer_train_share(rows: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame,
                       rng: np.random.Generator, n_rows: int = 1000) -> float:
    """Share of rows whose nearest training row is nearer than their nearest holdout row.

    The training rows are cut into disjoint chunks of the holdout's size and the share is
    averaged over the chunks, so a fresh sample from the same population scores about 0.5
    and a copy of the training data well above; ties count half.
    """
    picked = rows.iloc[rng.choice(len(rows), size=min(n_rows, len(rows)), replace=False)]
    d_hold = nearest_distances(picked, holdout)
    order = rng.permutation(len(train))
    shares = []
    for k in range(max(1, len(train) // len(holdout))):
        chunk = train.iloc[order[k * len(holdout):(k + 1) * len(holdout)]]
        d_train = nearest_distances(picked, chunk)
        shares.append(np.mean((d_train < d_hold) + 0.5 * (d_train == d_hold)))
    return float(np.mean(shares))


def split(frame: pd.DataFrame, seed: int = 2011, holdout: float = 0.2):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frame))
    k = int(round(holdout * len(frame)))
    return (frame.iloc[np.sort(order[k:])].reset_index(drop=True),
            frame.iloc[np.sort(order[:k])].reset_index(drop=True))
