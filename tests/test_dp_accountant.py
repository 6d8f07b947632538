"""The privacy accountant and noise calibration, checked against OpenDP's own calibration."""

from __future__ import annotations

import math

import pytest

from confidata.synth.dp import (
    BudgetExceededError,
    PrivacyAccountant,
    cdp_delta,
    cdp_rho,
    gaussian_sigma,
    laplace_scale,
)

dp = pytest.importorskip("opendp.prelude", reason="opendp (the test extra) checks the calibration")
dp.enable_features("contrib")


def _gaussian_rho(sigma: float, sensitivity: float) -> float:
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float)
    return dp.m.make_gaussian(*space, scale=sigma).map(sensitivity)


def _laplace_epsilon(scale: float, sensitivity: float) -> float:
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float)
    return dp.m.make_laplace(*space, scale=scale).map(sensitivity)


@pytest.mark.parametrize("rho,sensitivity", [(0.001, 1.0), (0.05, 1.0), (1.0, 2.0), (12.5, 1.0)])
def test_gaussian_sigma_matches_opendp(rho, sensitivity):
    sigma = gaussian_sigma(rho, sensitivity)
    assert sigma == pytest.approx(math.sqrt(sensitivity**2 / (2 * rho)))
    assert _gaussian_rho(sigma, sensitivity) == pytest.approx(rho, rel=1e-9)
    # and OpenDP's search for the scale lands on the same sigma
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float)
    found = dp.binary_search_param(lambda s: dp.m.make_gaussian(*space, scale=s), d_in=sensitivity, d_out=rho)
    assert found == pytest.approx(sigma, rel=1e-6)


@pytest.mark.parametrize("epsilon,sensitivity", [(0.1, 1.0), (1.0, 1.0), (3.0, 2.0)])
def test_laplace_scale_matches_opendp(epsilon, sensitivity):
    b = laplace_scale(epsilon, sensitivity)
    assert _laplace_epsilon(b, sensitivity) == pytest.approx(epsilon, rel=1e-9)


@pytest.mark.parametrize("rho", [0.01, 0.125, 1.0])
def test_zcdp_to_approx_dp_conversion_matches_opendp(rho):
    sigma = gaussian_sigma(rho)
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float)
    approx = dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(dp.m.make_gaussian(*space, scale=sigma)), 1e-9)
    epsilon, delta = approx.map(1.0)
    assert cdp_delta(rho, epsilon) == pytest.approx(delta, rel=1e-3)
    assert cdp_rho(epsilon, delta) == pytest.approx(rho, rel=1e-3)


def test_accountant_never_exceeds_and_totals_to_the_budget():
    ledger = PrivacyAccountant(1.0, 1e-9, "rho")
    assert ledger.total == pytest.approx(cdp_rho(1.0, 1e-9))
    for _ in range(3):
        ledger.gaussian(ledger.total / 4, "measurement", "a marginal")
    with pytest.raises(BudgetExceededError, match="exceed"):
        ledger.gaussian(ledger.total / 2, "measurement", "one too many")
    ledger.exponential(ledger.remaining, "selection", "a choice", sensitivity=1.0)
    assert ledger.spent == pytest.approx(ledger.total, rel=1e-12)
    assert ledger.spent <= ledger.total * (1 + 1e-9)
    assert {row["purpose"] for row in ledger.summary()} == {"measurement", "selection"}
    again = PrivacyAccountant.from_json(ledger.to_json())
    assert again.spent == ledger.spent and again.text() == ledger.text()


def test_pure_accountant_uses_epsilon():
    ledger = PrivacyAccountant(2.0, None, "epsilon")
    assert ledger.total == 2.0
    assert ledger.laplace(0.5, "measurement", "counts") == pytest.approx(2.0)
    assert ledger.exponential(0.5, "selection", "a parent set", sensitivity=1.0) == 0.5
