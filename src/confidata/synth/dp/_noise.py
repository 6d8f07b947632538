"""Where the privacy noise comes from: exact samplers by default, a seeded generator on request.

Floating-point noise added to a count can leak the count through the low bits of the result
(Mironov 2012), and noise drawn from a seeded generator is no noise at all to whoever learns
the seed. So a run without a seed draws every noise value from OpenDP's samplers, which work in
exact arithmetic on randomness from the operating system: the discrete Gaussian and the discrete
Laplace on the integer counts (Canonne, Kamath & Steinke 2020; their zCDP and pure-DP costs are
those of the continuous mechanisms, so the ledger is unchanged), and Gumbel noise for the
exponential mechanism's choice. A run with a seed uses numpy's generator, so that the same seed
gives the same file, for tests and teaching; the model file says which one was used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

__all__ = ["ExactNoise", "Noise", "SeededNoise", "choose_where", "noise_source"]


class Noise(Protocol):
    """The three random draws the mechanisms make on data; all else is post-processing."""

    description: str

    def gaussian(self, counts: np.ndarray, sigma: float) -> np.ndarray:
        """`counts` (integer-valued) with Gaussian noise of standard deviation `sigma`."""

    def laplace(self, counts: np.ndarray, scale: float) -> np.ndarray:
        """`counts` (integer-valued) with Laplace noise of scale `scale`."""

    def choose(self, quality: np.ndarray, scale: float) -> int:
        """The exponential mechanism: index i with probability proportional to
        exp(quality[i] / scale), i.e. scale = 2 * sensitivity / epsilon."""


def _integers(counts: np.ndarray) -> list[int]:
    values = np.asarray(counts, dtype=float).ravel()
    whole = np.rint(values)
    if not np.array_equal(whole, values):
        raise ValueError("exact noise is added to whole counts only")
    return whole.astype(np.int64).tolist()


class ExactNoise:
    """OpenDP's samplers: exact discrete noise, randomness from the operating system."""

    description = ("exact: OpenDP's discrete Gaussian and discrete Laplace on the counts and Gumbel "
                   "noise for each choice, in exact arithmetic on the operating system's randomness")

    def __init__(self) -> None:
        import opendp.prelude as dp

        dp.enable_features("contrib")
        ints = dp.vector_domain(dp.atom_domain(T="i64"))  # OpenDP's plain int is 32 bits
        self._gaussian = lambda sigma: dp.m.make_gaussian(ints, dp.l2_distance(T="i64"), scale=sigma)
        self._laplace = lambda scale: dp.m.make_laplace(ints, dp.l1_distance(T="i64"), scale=scale)
        floats = dp.vector_domain(dp.atom_domain(T=float, nan=False))
        # zero-concentrated divergence as the output measure makes OpenDP add Gumbel noise
        self._choose = lambda scale: dp.m.make_noisy_max(
            floats, dp.linf_distance(T=float), dp.zero_concentrated_divergence(), scale=scale)

    def _add(self, make, counts: np.ndarray, scale: float) -> np.ndarray:
        counts = np.asarray(counts)
        if counts.size == 0:
            return counts.astype(float)
        noisy = make(float(scale))(_integers(counts))
        return np.asarray(noisy, dtype=float).reshape(counts.shape)

    def gaussian(self, counts: np.ndarray, sigma: float) -> np.ndarray:
        return self._add(self._gaussian, counts, sigma)

    def laplace(self, counts: np.ndarray, scale: float) -> np.ndarray:
        return self._add(self._laplace, counts, scale)

    def choose(self, quality: np.ndarray, scale: float) -> int:
        return int(self._choose(float(scale))(np.asarray(quality, dtype=float).tolist()))


class SeededNoise:
    """numpy's generator: the same seed gives the same noise, to anyone who knows the seed."""

    description = "seeded: numpy's pseudo-random generator in floating point, reproducible from the seed"

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def gaussian(self, counts: np.ndarray, sigma: float) -> np.ndarray:
        counts = np.asarray(counts, dtype=float)
        return counts + self.rng.normal(0.0, sigma, size=counts.shape)

    def laplace(self, counts: np.ndarray, scale: float) -> np.ndarray:
        counts = np.asarray(counts, dtype=float)
        return counts + self.rng.laplace(0.0, scale, size=counts.shape)

    def choose(self, quality: np.ndarray, scale: float) -> int:
        quality = np.asarray(quality, dtype=float)
        return int(np.argmax(quality / scale + self.rng.gumbel(size=len(quality))))


def choose_where(noise: Noise, quality: np.ndarray, scale: float,
                 admissible: Callable[[int], bool]) -> int | None:
    """The exponential mechanism over the indices that pass `admissible` (a public test), without
    testing them all: a draw that fails is set aside and the choice made again among the rest.
    By Luce's choice axiom the result has exactly the restricted mechanism's distribution."""
    quality = np.asarray(quality, dtype=float)
    pool = list(range(len(quality)))
    while pool:
        i = pool.pop(noise.choose(quality[pool], scale))
        if admissible(i):
            return i
    return None


def noise_source(seed: int | None, rng: np.random.Generator) -> Noise:
    """Exact noise without a seed; with one, noise from `rng` (already seeded with it)."""
    return ExactNoise() if seed is None else SeededNoise(rng)
