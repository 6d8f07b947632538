"""Differentially private synthesizers with an honest privacy budget: MST, AIM and PrivBayes.

Each has the contract of `confidata.synth.CART` (``fit(df) -> self``, ``sample(n, seed=)``,
``save`` / ``load`` as data files) and refuses to run without a budget. Every spend is recorded
with its purpose in a `PrivacyAccountant` that is saved in the model file; the saved model
holds no real record and may be shared.
"""

from confidata.synth.dp._accountant import (
    BudgetExceededError,
    PrivacyAccountant,
    cdp_delta,
    cdp_rho,
    gaussian_sigma,
    laplace_scale,
)
from confidata.synth.dp._base import SHAREABLE_NOTE, DPSynthesizer, PrivacyBudgetError
from confidata.synth.dp.aim import AIM
from confidata.synth.dp.mst import MST
from confidata.synth.dp.privbayes import PrivBayes

__all__ = [
    "AIM",
    "MST",
    "PrivBayes",
    "SHAREABLE_NOTE",
    "BudgetExceededError",
    "DPSynthesizer",
    "PrivacyAccountant",
    "PrivacyBudgetError",
    "cdp_delta",
    "cdp_rho",
    "gaussian_sigma",
    "laplace_scale",
]
