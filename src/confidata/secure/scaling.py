"""Fixed-point scaling: how real numbers become the integers that are secret-shared.

Every party turns its values and weights into integers at the same public scale
(``x_s = round(x * 2**FX)``, ``w_s = round(w * 2**FW)``), sums them exactly (Python integers, no
floating-point sums), and inputs the sums into MPyC fixed-point numbers with ``f`` fractional
and ``l`` total bits. The plan is derived from the study's public bounds only:

* ``f`` is at least ``FW + 2*FX`` (so sums of squares embed exactly) and at least
  ``log2(max_records * weight_max) + 32``: the reciprocal of the largest possible weighted count
  still has 32 significant bits, so ``1/N`` never rounds to 0 (at N = 3,000,000, 1/N is about
  2**-21.5 while the resolution is 2**-f <= 2**-48).
* ``l = 2*f`` as MPyC's division demands (tried: l=122, f=56 divides to 0), and ``f`` is also at
  least the bits of the largest possible sum of squares, so ``l`` holds it.

Stated accuracy: counts are exact; totals are exact when every value is a multiple of 2**-16
(whole numbers, cents in binary-friendly steps), else off by at most N * 2**-17; means and
variances are within `mean_bound` and `variance_bound` of the exact value computed from the
same scaled inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from confidata.secure.study import Study

__all__ = ["FixedPointPlan", "plan_for"]

FX = 16  # fractional bits of each value
FW = 16  # fractional bits of each weight
PRECISION_BITS = 32  # significant bits kept in the reciprocal of the largest weighted count


@dataclass(frozen=True)
class FixedPointPlan:
    fx: int  # value scale bits (0 when the study has no value column)
    fw: int  # weight scale bits (0 without weights)
    f: int  # MPyC fixed-point fractional bits
    l: int  # MPyC fixed-point total bits  # noqa: E741
    count_bits: int  # bits of the secure integers that hold record counts (comparisons)
    mean_bound: float  # stated absolute error bound of a mean
    variance_bound: float  # stated absolute error bound of a variance

    def scale_of(self, quantity: str) -> int:
        """Scale bits of the exact local sums: n, W, S1 = sum w*x, S2 = sum w*x*x."""
        return {"n": 0, "W": self.fw, "S1": self.fw + self.fx, "S2": self.fw + 2 * self.fx}[quantity]


def plan_for(study: Study) -> FixedPointPlan:
    fx = FX if study.value else 0
    fw = FW if study.weight else 0
    biggest_w = study.max_records * (study.weight_max if study.weight else 1.0)
    w_bits = math.ceil(math.log2(biggest_w + 1))
    m = max(abs(study.value_min), abs(study.value_max), 1.0) if study.value else 1.0
    m_bits = math.ceil(math.log2(m + 1))
    int_bits = w_bits + 2 * m_bits + 4  # largest |S2|, with room for DP noise and signs
    # MPyC's secure division needs l == 2f exactly (l = 122, f = 56 returns 0; 128/64 works).
    f = max(fw + 2 * fx, w_bits + PRECISION_BITS, int_bits)
    l = 2 * f  # noqa: E741
    count_bits = math.ceil(math.log2(study.max_records + 1)) + 8  # room for noise, sign
    # Newton iteration leaves a relative error of about 2**-(f - w_bits - 4) in 1/W; a mean is at
    # most m in size, a variance at most m**2 (times 4 for (x - mean)**2).
    rel = 2.0 ** -(f - w_bits - 4)
    return FixedPointPlan(
        fx=fx,
        fw=fw,
        f=f,
        l=l,
        count_bits=count_bits,
        mean_bound=max(m * rel, 2.0**-f) * 4,
        variance_bound=max(4 * m * m * rel, 2.0**-f) * 16,
    )
