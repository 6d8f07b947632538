"""The sweep's fidelity bound for a differentially private file, derived from its model.

A DP synthetic column cannot be as close to the real one as a bootstrap: the method released
a domain (levels bought with noisy counts, bins cut at noisy quantiles) and noisy marginals, and
both cost fidelity that no implementation can avoid at that epsilon on that many rows. So the
sweep's bound for a DP column is not a constant per epsilon but computed, per file, method and
column, from what the saved model states about itself (its domain and its ledger of noise
scales) and from the real training column:

    bound = D + FACTOR * (N + B)

* **D, the domain term** (exact, no expectation): the TV, in the checker's bins, between the real
  column and the real column as the released domain can express it: levels the purchase did not
  buy moved to '(other)' (missing cells to where the model counts them), numbers clipped into
  the bought range and spread uniformly inside the model's bin, which is how the model draws
  them. By the triangle inequality TV(real, synthetic) <= D + TV(projected real, synthetic), and
  only the second term is the model's to make small.
* **N, the noise term**: the expected TV that the method's noise puts on the column's 1-way
  distribution, over the model's d cells for that column (the checker's bins are as coarse or
  coarser, and merging cells never raises a TV), with n the training rows:

  - MST and AIM measure marginals with Gaussian noise (the ledger's "k-way marginal of ...",
    sigma each). A measured marginal that holds the column gives its 1-way marginal by summing
    over the other columns' c cells, with noise sigma * sqrt(c) per cell; the model fits all
    measurements together, which can only lower that, so sigma_1 is the smallest such figure
    (AIM's first 1-way measurements are very noisy, sigma = sqrt(T / (1.8 rho)) with T = 16 x the
    columns, and its later, sharper ones of pairs and triples count). E|N(0, s^2)| = s sqrt(2/pi),
    so N = d * sigma_1 * sqrt(2/pi) / (2n).
  - PrivBayes never measures a child's 1-way marginal: it follows from the noisy table of the
    column with its parents (Laplace scale b, C parent cells). Each of the d values sums the
    noise of C cells (standard deviation b * sqrt(2C)), so that part is
    d * b * sqrt(2C) * sqrt(2/pi) / (2n); cutting negative cells to zero adds up to b/2 of mass
    per empty cell, at most d * C * b / (2n) in all. N is the sum of the two.
* **B**: the TV of a same-size bootstrap of the training file (the checker's own figure): the
  sampling noise any honest copy shows.

FACTOR = 3, the factor CART is held to: N and B are expectations, and a run may show up to
three times its expected noise. A column over its bound is a defect to fix or to list.

Two more checks come from the model: a level the purchase dropped although its real count lay
far above the purchase threshold (the chance of that under the stated noise below 1e-6) is a
defect of the purchase; and D is reported per column, so that a column whose loss is the
domain (a level purchase at a small epsilon, bins cut where the noisy quantiles fell) is told
apart from one whose loss is the model's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np

FACTOR = 3.0
CART_RATIO = 3.0  # CART: every column's TV within 3x a bootstrap's
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
MISSING_LEVEL = "<missing>"
OTHER_LEVEL = "(other)"
SUSPECT_CHANCE = 1e-6


@dataclass
class ModelFacts:
    """What a saved DP model states about itself, as the bound needs it."""

    method: str
    unit: str
    threshold_delta: float
    attributes: dict[str, dict]
    parents: dict[str, list[str]] = field(default_factory=dict)
    spends: list[dict] = field(default_factory=list)


def model_facts(path: Path) -> ModelFacts:
    """Read a DP model file (JSON in a zip, no code run) into `ModelFacts`."""
    from confidata.synth._modelfile import read_model_file

    meta, _arrays = read_model_file(path)
    privacy = meta.get("privacy") or {}
    network = meta.get("network") or {}
    return ModelFacts(method=str(meta.get("method")), unit=str(privacy.get("unit")),
                      threshold_delta=float(privacy.get("threshold_delta") or 0.0),
                      attributes={a["name"]: a for a in meta.get("attributes", [])},
                      parents={k: list(v) for k, v in (network.get("parents") or {}).items()},
                      spends=list(privacy.get("spends", [])))


def _scales(facts: ModelFacts, pattern: str) -> list[float]:
    rx = re.compile(pattern)
    return [float(s["scale"]) for s in facts.spends if s.get("scale") and rx.fullmatch(s["detail"])]


def noise_tv(facts: ModelFacts, name: str, n: int) -> float | None:
    """N for column `name` (see the module docstring); None when the ledger does not say."""
    attr = facts.attributes.get(name)
    if attr is None or n <= 0:
        return None
    d = int(attr["size"])
    quoted = re.escape(f"'{name}'")
    if facts.method in ("mst", "aim"):
        sigmas = []
        for spend in facts.spends:
            found = re.fullmatch(r"\d+-way marginal of (.*)", spend.get("detail", ""))
            if not found or not spend.get("scale"):
                continue
            clique = re.findall(r"'([^']*)'", found.group(1))
            if name in clique:  # its noise on this column's cells: summed over the others' cells
                others = math.prod(int(facts.attributes[c]["size"]) for c in clique if c != name
                                   and c in facts.attributes)
                sigmas.append(float(spend["scale"]) * math.sqrt(others))
        if not sigmas:
            return None
        return min(1.0, d * min(sigmas) * SQRT_2_OVER_PI / (2 * n))
    if facts.method == "privbayes":
        scales = _scales(facts, rf"table of {quoted} given \d+ parent\(s\)")
        if not scales:
            return None
        b = max(scales)
        cells = math.prod(int(facts.attributes[p]["size"]) for p in facts.parents.get(name, []))
        spread = d * b * math.sqrt(2 * cells) * SQRT_2_OVER_PI / (2 * n)
        clipped = d * cells * b / (2 * n)
        return min(1.0, spread + clipped)
    return None


def within(t: dict, eps: float | None) -> bool:
    """CART: within 3x the bootstrap's TV. DP: within the bound from its model, where the
    model states one (else the CART rule)."""
    if eps is not None and t.get("bound") is not None:
        return t["tv"] <= t["bound"] + 1e-9
    ratio = t["ratio"] if t["ratio"] is not None else float("inf")
    return ratio <= CART_RATIO


def bound(domain_tv: float, noise: float | None, boot: float) -> float | None:
    return None if noise is None else min(1.0, domain_tv + FACTOR * (noise + boot))


# -- D: the real column as the released domain can express it -------------------------------

def levels_projection(t_codes: np.ndarray, known_levels: list[str], k: int, attr: dict,
                      normalise) -> np.ndarray:
    """Checker-bin shares of the real column with unbought levels in '(other)' (bin k-2) and
    missing cells where the model counts them. `t_codes`: the real rows' checker bins (levels
    0..k-3, unseen k-2, missing k-1); `normalise`: the checker's level spelling."""
    kept = {normalise(lv) for lv in attr["levels"] if lv not in (MISSING_LEVEL, OTHER_LEVEL)}
    target = np.array([i if lv in kept else k - 2 for i, lv in enumerate(known_levels)]
                      + [k - 2, k - 1], dtype=np.int64)
    if MISSING_LEVEL not in attr["levels"]:
        where = attr.get("missing_as") or OTHER_LEVEL
        if where != OTHER_LEVEL and normalise(where) in known_levels:
            target[k - 1] = known_levels.index(normalise(where))
        else:
            target[k - 1] = k - 2
    return np.bincount(target[t_codes], minlength=k) / max(len(t_codes), 1)


def bins_projection(numbers: np.ndarray, n_missing: int, checker_edges: np.ndarray, k: int,
                    attr: dict) -> np.ndarray:
    """Checker-bin shares of the real numbers clipped into the model's range and spread
    uniformly inside the model's bin (whole numbers left..right-1 for an integer column, as
    the model's decoder draws them); missing cells stay in the missing bin k-1."""
    edges = np.asarray(attr["edges"], dtype=float)
    out = np.zeros(k)
    out[k - 1] = n_missing
    if len(edges) < 2 or not len(numbers):
        return out / max(out.sum(), 1)
    n_bins = len(edges) - 1
    model_bin = np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0, n_bins - 1)
    per_bin = np.bincount(model_bin, minlength=n_bins).astype(float)
    cuts = np.asarray(checker_edges, dtype=float)  # checker bin j: cuts[j-1] <= v < cuts[j]
    for b in np.flatnonzero(per_bin):
        left, right = edges[b], edges[b + 1]
        if attr.get("integer"):
            m = max(right - left, 1.0)
            below = np.clip(np.ceil(cuts - left), 0.0, m) / m if right - left >= 1 else (cuts > left) * 1.0
        elif right > left:
            below = np.clip((cuts - left) / (right - left), 0.0, 1.0)
        else:
            below = (cuts > left) * 1.0
        shares = np.diff(np.concatenate([[0.0], below, [1.0]]))
        out[: len(shares)] += per_bin[b] * shares
    return out / max(out.sum(), 1)


def tv(p: np.ndarray, q: np.ndarray) -> float:
    return float(0.5 * np.abs(p - q).sum())


# -- the level purchase, checked against its own threshold ------------------------------------

def dropped_against_threshold(facts: ModelFacts, name: str, counts: dict[str, int],
                              normalise) -> list[str]:
    """Real levels the purchase left out although their count lay so far above its threshold
    that the stated noise would drop them with chance below SUSPECT_CHANCE."""
    attr = facts.attributes.get(name)
    if attr is None or attr.get("bounds_from") != "bought under the budget":
        return []
    quoted = re.escape(f"'{name}'")
    scales = _scales(facts, rf"levels of {quoted} \(noisy counts above a threshold\)")
    bought = sum(1 for s in facts.spends if s["detail"].startswith("levels of "))
    if not scales or not bought or facts.threshold_delta <= 0:
        return []
    s, delta = scales[0], facts.threshold_delta / bought
    gaussian = facts.unit == "rho"
    threshold = 1 + s * (NormalDist().inv_cdf(1 - delta) if gaussian else math.log(1 / (2 * delta)))
    kept = {normalise(lv) for lv in attr["levels"]}
    out = []
    for level, count in counts.items():
        if level in kept:
            continue
        z = (threshold - count) / s
        chance = NormalDist().cdf(z) if gaussian else (
            1 - 0.5 * math.exp(-z) if z >= 0 else 0.5 * math.exp(z))
        if chance < SUSPECT_CHANCE:
            out.append(level)
    return out
