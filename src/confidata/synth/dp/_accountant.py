"""The privacy budget: conversions, noise calibration, and a ledger that never overspends.

Neighbouring data sets differ by adding or removing one record. Under that notion a count
table (a marginal) has L1 and L2 sensitivity 1, which is what every mechanism here measures.

* MST and AIM account in zero-concentrated DP (rho-zCDP, Bun & Steinke 2016), as their papers
  do: the Gaussian mechanism with noise sigma on a query of L2 sensitivity s costs
  ``s**2 / (2 sigma**2)``; the exponential mechanism with parameter eps costs ``eps**2 / 8``
  (Cesar & Rogers 2021); costs add up. The total is the rho that the user's
  (epsilon, delta) buys, by the conversion of Canonne, Kamath & Steinke (2020, Prop. 12).
* PrivBayes is pure epsilon-DP: the Laplace mechanism with scale b on a query of L1
  sensitivity s costs ``s / b``; the exponential mechanism with parameter eps costs eps.
* Category levels bought from the data (noisy counts kept above a threshold) add a
  probability ``threshold_delta`` that a level held by one record is released: the guarantee
  is then approximate (Bun & Steinke 2016, approximate zCDP), and that probability is taken
  out of the user's delta before the rest is converted to rho, so (epsilon, delta) still holds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from confidata.errors import ConfidataError

__all__ = [
    "BudgetExceededError",
    "PrivacyAccountant",
    "Spend",
    "cdp_delta",
    "cdp_rho",
    "exponential_epsilon_for_rho",
    "gaussian_sigma",
    "laplace_scale",
]

# "domain": levels and bounds bought from the data (where the schema does not declare them public)
PURPOSES = ("domain", "discretisation", "selection", "measurement")
# Relative slack when comparing sums of floating-point spends against the total.
_ROUNDING = 1e-9


class BudgetExceededError(ConfidataError, ValueError):
    """A mechanism asked for more privacy budget than is left: a bug or a wrong option."""


def cdp_delta(rho: float, epsilon: float) -> float:
    """The smallest delta such that rho-zCDP implies (epsilon, delta)-DP (CKS20, Prop. 12):
    ``delta = min_{a>1} exp((a-1)(a*rho - epsilon) + a*log(1 - 1/a)) / (a - 1)``."""
    if rho <= 0:
        return 0.0
    if epsilon < 0:
        return 1.0
    # The exponent's derivative in a is (2a-1)rho - epsilon + log(1-1/a), increasing in a:
    # bisect for its root.
    low, high = 1.0 + 1e-12, max(2.0, (epsilon + 1.0) / (2.0 * rho) + 2.0)
    for _ in range(200):
        a = (low + high) / 2.0
        if (2.0 * a - 1.0) * rho - epsilon + math.log1p(-1.0 / a) < 0:
            low = a
        else:
            high = a
    a = (low + high) / 2.0
    exponent = (a - 1.0) * (a * rho - epsilon) + a * math.log1p(-1.0 / a)
    return min(1.0, math.exp(exponent) / (a - 1.0))


def cdp_rho(epsilon: float, delta: float) -> float:
    """The largest rho whose zCDP guarantee implies (epsilon, delta)-DP (bisection on
    `cdp_delta`, which increases with rho)."""
    if not (epsilon > 0 and 0 < delta < 1):
        raise ValueError("cdp_rho needs epsilon > 0 and 0 < delta < 1")
    low, high = 0.0, epsilon + 1.0
    while cdp_delta(high, epsilon) <= delta:
        high *= 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if cdp_delta(mid, epsilon) <= delta:
            low = mid
        else:
            high = mid
    return low


def gaussian_sigma(rho: float, sensitivity: float = 1.0) -> float:
    """Noise standard deviation that makes a query of L2 `sensitivity` rho-zCDP."""
    return math.sqrt(sensitivity**2 / (2.0 * rho))


def laplace_scale(epsilon: float, sensitivity: float = 1.0) -> float:
    """Laplace scale b that makes a query of L1 `sensitivity` epsilon-DP."""
    return sensitivity / epsilon


def exponential_epsilon_for_rho(rho: float) -> float:
    """The exponential mechanism's epsilon that costs `rho` in zCDP (eps**2 / 8 = rho)."""
    return math.sqrt(8.0 * rho)


@dataclass(frozen=True)
class Spend:
    """One charge against the budget: what it bought and what it cost."""

    purpose: str  # discretisation, selection or measurement
    detail: str  # e.g. "1-way marginal of 'age'"
    cost: float  # in the accountant's unit (rho or epsilon)
    mechanism: str  # gaussian, laplace or exponential
    sensitivity: float
    scale: float | None = None  # sigma (gaussian), b (laplace); None for exponential
    epsilon: float | None = None  # the exponential mechanism's parameter


class PrivacyAccountant:
    """The total budget requested, and every spend against it with its purpose.

    ``unit`` is ``"rho"`` (zCDP; the total is converted from epsilon and delta) or
    ``"epsilon"`` (pure DP). `spend` raises `BudgetExceededError` rather than go over the
    total; `spend_rest` charges exactly what is left, so a finished run has spent the total.
    """

    def __init__(self, epsilon: float, delta: float | None, unit: str, *,
                 threshold_delta: float = 0.0) -> None:
        if unit not in ("rho", "epsilon"):
            raise ValueError("unit must be 'rho' or 'epsilon'")
        self.epsilon = float(epsilon)
        self.delta = None if delta is None else float(delta)
        self.unit = unit
        self.threshold_delta = float(threshold_delta)
        if self.threshold_delta > 0 and (self.delta is None or self.threshold_delta >= self.delta):
            raise ValueError("threshold_delta must be below delta")
        if unit == "rho":
            if delta is None:
                raise ValueError("a zCDP accountant needs delta")
            self.total = cdp_rho(self.epsilon, self.delta - self.threshold_delta)
        else:
            self.total = self.epsilon
        self.spends: list[Spend] = []
        self.noise: str | None = None  # how the noise was drawn (see _noise.py), for the record

    @property
    def spent(self) -> float:
        return math.fsum(s.cost for s in self.spends)

    @property
    def remaining(self) -> float:
        return max(0.0, self.total - self.spent)

    def spend(self, cost: float, purpose: str, detail: str, *, mechanism: str, sensitivity: float,
              scale: float | None = None, epsilon: float | None = None) -> Spend:
        if purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {PURPOSES}")
        if not cost > 0:
            raise BudgetExceededError(f"A spend of {cost!r} for {detail} is not positive.")
        if self.spent + cost > self.total * (1.0 + _ROUNDING):
            raise BudgetExceededError(
                f"Spending {cost:.6g} {self.unit} on {detail} would exceed the total of "
                f"{self.total:.6g} ({self.remaining:.6g} left); nothing was measured."
            )
        item = Spend(purpose, detail, float(cost), mechanism, float(sensitivity),
                     None if scale is None else float(scale), None if epsilon is None else float(epsilon))
        self.spends.append(item)
        return item

    # -- the mechanisms' charges ----------------------------------------------------------
    def gaussian(self, rho: float, purpose: str, detail: str, sensitivity: float = 1.0) -> float:
        """Charge a Gaussian measurement of cost `rho`; returns its sigma."""
        sigma = gaussian_sigma(rho, sensitivity)
        self.spend(rho, purpose, detail, mechanism="gaussian", sensitivity=sensitivity, scale=sigma)
        return sigma

    def laplace(self, epsilon: float, purpose: str, detail: str, sensitivity: float = 1.0) -> float:
        """Charge a Laplace measurement of cost `epsilon`; returns its scale b."""
        b = laplace_scale(epsilon, sensitivity)
        self.spend(epsilon, purpose, detail, mechanism="laplace", sensitivity=sensitivity, scale=b)
        return b

    def exponential(self, cost: float, purpose: str, detail: str, sensitivity: float) -> float:
        """Charge one exponential-mechanism choice of cost `cost`; returns its epsilon."""
        eps = exponential_epsilon_for_rho(cost) if self.unit == "rho" else cost
        self.spend(cost, purpose, detail, mechanism="exponential", sensitivity=sensitivity, epsilon=eps)
        return eps

    # -- reporting ------------------------------------------------------------------------
    def summary(self) -> list[dict[str, Any]]:
        """Spends grouped by purpose: count of mechanisms, cost, share of the total."""
        rows = []
        for purpose in PURPOSES:
            items = [s for s in self.spends if s.purpose == purpose]
            if items:
                cost = math.fsum(s.cost for s in items)
                rows.append({"purpose": purpose, "mechanisms": len(items), "cost": cost,
                             "share": cost / self.total})
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "unit": self.unit,
            "total": self.total,
            "spent": self.spent,
            "threshold_delta": self.threshold_delta,
            "neighbouring": "add or remove one record",
            "noise": self.noise,
            "spends": [asdict(s) for s in self.spends],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PrivacyAccountant:
        out = cls.__new__(cls)
        out.epsilon = float(data["epsilon"])
        out.delta = None if data["delta"] is None else float(data["delta"])
        out.unit = str(data["unit"])
        out.total = float(data["total"])
        out.spends = [Spend(**s) for s in data["spends"]]
        out.noise = data.get("noise")
        out.threshold_delta = float(data.get("threshold_delta", 0.0))
        return out

    def guarantee(self) -> str:
        """The guarantee in one phrase, e.g. "(1, 1e-09)-DP via 0.0125-zCDP"."""
        levels = (f" (of delta, {self.threshold_delta:g} for the levels bought from the data)"
                  if self.threshold_delta > 0 else "")
        if self.unit == "rho":
            return f"({self.epsilon:g}, {self.delta:g})-DP via {self.total:.6g}-zCDP{levels}"
        if self.delta is not None and self.threshold_delta > 0:
            return f"({self.epsilon:g}, {self.delta:g})-DP{levels}"
        return f"{self.epsilon:g}-DP (pure)"

    def text(self) -> str:
        """The budget table as plain lines, for logs and the model file."""
        spent = f"spent {self.spent:.6g} of {self.total:.6g} {self.unit}"
        lines = [f"Privacy budget: {self.guarantee()}; {spent}."]
        for row in self.summary():
            lines.append(f"  {row['purpose']:<15} {row['mechanisms']:>4} mechanism(s) "
                         f"{row['cost']:.6g} {self.unit} ({row['share']:.1%})")
        if self.noise:
            lines.append(f"  noise: {self.noise}")
        return "\n".join(lines)
