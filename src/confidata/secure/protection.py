"""Output protection: which cells may be opened, and the noise for differential privacy.

Small cells. A cell whose record count is below ``min_cell_size`` is *suppressed* (its value is
never opened, not even to the result parties) or *flagged* (opened, marked). The test
``n < k`` runs inside the secure computation (see `protocol`); its outcome is opened to the
result parties only, with the values; the other parties learn nothing. Means need n >= 1 and
unweighted variances n >= 2; cells short of that are 'undefined' and never opened.

Differential privacy (``epsilon``; counts and totals only). Every party draws its own
discrete-Laplace noise vector with scale ``sensitivity / epsilon`` and inputs it secret-shared;
the released value carries the sum of all parties' noise. Each party's noise alone makes the
release epsilon-DP, so the guarantee holds against any coalition that lacks one party, at the
price of m times the variance of a single draw. With a small-cell rule as well, the rule is
applied to a separately noised count (another epsilon, sensitivity 1) unless the released
statistic already is the unweighted count: the total privacy loss is stated in the result.
Noise is drawn with floating-point arithmetic (numpy's geometric sampler), which is not a
hardened DP sampler; treat epsilon as nominal.
"""

from __future__ import annotations

import secrets

import numpy as np

from confidata.secure.study import Study

__all__ = ["defined_minimum", "discrete_laplace", "noise_plan", "noise_variance", "privacy_loss"]


def defined_minimum(study: Study) -> int:
    """Fewest records a cell needs for its statistic to exist."""
    if study.cell == "mean":
        return 1
    if study.cell == "variance":
        return 1 if study.weight else 2
    return 0


def noise_plan(study: Study) -> dict[str, float]:
    """Sensitivities (in the statistic's own units) of the noised quantities, by name."""
    if study.epsilon is None:
        return {}
    plan: dict[str, float] = {}
    if study.cell == "count":
        plan["value"] = study.weight_max if study.weight else 1.0
    else:  # total
        plan["value"] = max(abs(study.value_min), abs(study.value_max)) * (
            study.weight_max if study.weight else 1
        )
    if study.min_cell_size and not (study.cell == "count" and not study.weight):
        plan["count"] = 1.0
    return plan


def privacy_loss(study: Study) -> float | None:
    return None if study.epsilon is None else study.epsilon * len(noise_plan(study))


def discrete_laplace(scale: float, size: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Integer noise with P(k) proportional to exp(-|k| / scale): the difference of two geometrics."""
    rng = rng or np.random.default_rng(secrets.randbits(128))
    p = -np.expm1(-1.0 / scale)
    return (rng.geometric(p, size) - rng.geometric(p, size)).astype(np.int64)


def noise_variance(scale: float) -> float:
    """Variance of one `discrete_laplace` draw: 2 q / (1 - q)**2 with q = exp(-1 / scale)."""
    q = np.exp(-1.0 / scale)
    return float(2 * q / (1 - q) ** 2)
