"""Marginal tables of the encoded data, and their Gaussian measurement under the ledger.

This is the only place where MST and AIM touch the data: every table they keep or estimate
from passes through `measure`, which charges its cost to the accountant first.
"""

from __future__ import annotations

import numpy as np

from confidata.synth.dp._accountant import PrivacyAccountant
from confidata.synth.dp._noise import Noise
from confidata.synth.dp._pgm import Measurement

__all__ = ["marginal", "measure"]


def marginal(codes: dict[str, np.ndarray], sizes: dict[str, int], clique: tuple[str, ...]) -> np.ndarray:
    """The count table of `clique`, flattened in C order."""
    shape = [sizes[a] for a in clique]
    index = np.ravel_multi_index([codes[a] for a in clique], shape) if len(clique) > 1 else codes[clique[0]]
    return np.bincount(index, minlength=int(np.prod(shape))).astype(float)


def measure(codes: dict[str, np.ndarray], sizes: dict[str, int], clique: tuple[str, ...], rho: float,
            accountant: PrivacyAccountant, noise: Noise, what: str = "measurement") -> Measurement:
    """A Gaussian measurement of one marginal (L2 sensitivity 1), charged to the ledger."""
    label = " x ".join(f"'{a}'" for a in clique)
    sigma = accountant.gaussian(rho, what, f"{len(clique)}-way marginal of {label}")
    y = marginal(codes, sizes, clique)
    return Measurement(tuple(clique), noise.gaussian(y, sigma), sigma)
