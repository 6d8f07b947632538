"""PrivBayes: a Bayesian network under pure epsilon-DP (Zhang, Cormode, Procopiuc,
Srivastava & Xiao 2017, ACM TODS 42(4)).

The budget epsilon is spent in three parts, every spend in the ledger:

* 2% on a Laplace count of the records (sensitivity 1), used only by the degree rule;
* ``beta`` (default 0.3, the paper's choice) on *structure*: the first column is drawn at
  random (no data), then d - 1 rounds of the exponential mechanism each pick one (column,
  parent set) pair by the score ``n * I(X; Parents)`` in bits. Under add/remove-one-record
  neighbours that score moves by at most ``log2(N + 1) + log2(e)`` (N: ``max_records``, a
  public upper bound on the number of records), which is the sensitivity used;
* the rest on *parameters*: each column's joint table with its parents gets Laplace noise
  (a count table has L1 sensitivity 1; the d tables share the rest evenly), negatives are
  cut to zero and the tables are normalised into P(column | parents).

Degree rule (the paper's theta-usefulness, in its general-domain form): a parent set is
allowed when the joint table it makes has at most ``n * eps_parameters / (d * theta)``
cells (``theta = 4``); each column is offered the allowed parent sets of the largest size
that has any (at most 4 parents). Pass ``degree=k`` to use parent sets of exactly k columns
instead. Candidate lists longer than ``max_candidates`` are thinned at random, which uses
no data.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from confidata.errors import SynthesisError
from confidata.synth.dp._accountant import PrivacyAccountant
from confidata.synth.dp._base import DPSynthesizer, _int_at_least, _positive_number
from confidata.synth.dp._domain import Attribute
from confidata.synth.dp._measure import marginal
from confidata.synth.dp._network import Network, conditional
from confidata.synth.dp._noise import Noise
from confidata.table.schema import Schema

__all__ = ["PrivBayes"]

COUNT_SHARE = 0.02
MAX_PARENTS = 4


class PrivBayes(DPSynthesizer):
    """PrivBayes under pure epsilon-DP (no delta).

    Parameters are those of `MST` except delta and iters, and:

    degree:
        Parents per column; None (default) applies the paper's theta-usefulness rule.
    beta:
        Share of the budget spent on learning the structure.
    theta:
        The usefulness threshold of the degree rule.
    max_records:
        A public upper bound on the number of records; the score's sensitivity grows with its
        logarithm. Data with more rows are refused.
    max_candidates:
        Most (column, parents) pairs scored per round.
    """

    method = "privbayes"
    unit = "epsilon"
    conformance_options = {"epsilon": 1.0}
    _parameter_constraints = {
        **DPSynthesizer._parameter_constraints,
        "degree": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 8),
        "beta": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 0.9,
        "theta": _positive_number,
        "max_records": _int_at_least(1),
        "max_candidates": _int_at_least(1),
    }
    _constraint_text = {
        **DPSynthesizer._constraint_text,
        "degree": "None or an int in the range [0, 8]",
        "beta": "a number in the range (0, 0.9)",
        "theta": "a number in the range (0, inf)",
        "max_records": "an int in the range [1, inf)",
        "max_candidates": "an int in the range [1, inf)",
    }

    def __init__(self, schema: Schema | None = None, *, epsilon: float | None = None,
                 delta: float | None = None, seed: int | None = None, n_bins: int = 32,
                 bounds_share: float = 0.1, max_levels: int = 1000, max_seconds: float | None = None,
                 max_model_size: float = 80.0, levels_share: float | None = None,
                 degree: int | None = None, beta: float = 0.3,
                 theta: float = 4.0, max_records: int = 10**8, max_candidates: int = 2000) -> None:
        super().__init__(schema, epsilon=epsilon, delta=delta, seed=seed, n_bins=n_bins,
                         bounds_share=bounds_share, max_levels=max_levels, max_seconds=max_seconds,
                         max_model_size=max_model_size, levels_share=levels_share)
        self.degree = degree
        self.beta = beta
        self.theta = theta
        self.max_records = max_records
        self.max_candidates = max_candidates

    def _check_params(self) -> None:
        super()._check_params()
        if self.delta is not None and self.levels_share is None:
            raise SynthesisError(
                "PrivBayes is pure epsilon-DP and takes no delta; leave delta (--delta) out (it is "
                "needed only to buy category levels, with levels_share)."
            )

    def _fit_network(self, codes: dict[str, np.ndarray], attributes: list[Attribute],
                     accountant: PrivacyAccountant, noise: Noise, rng: np.random.Generator,
                     progress, deadline: float | None) -> Network:
        names = [a.name for a in attributes]
        sizes = {a.name: a.size for a in attributes}
        d = len(names)
        n = len(codes[names[0]])
        if n > self.max_records:
            raise SynthesisError(
                f"The data have more rows than max_records={self.max_records}; raise max_records to a "
                "public upper bound on the number of records."
            )
        rest = accountant.remaining
        b = accountant.laplace(COUNT_SHARE * rest, "measurement", "number of records (for the degree rule)")
        n_hat = max(1.0, float(noise.laplace(np.array([n]), b)[0]))
        eps_structure = self.beta * rest
        eps_parameters = rest - COUNT_SHARE * rest - eps_structure
        cells = n_hat * eps_parameters / (d * self.theta)
        sensitivity = math.log2(self.max_records + 1) + math.log2(math.e)

        first = names[int(rng.integers(d))]
        order, parents = [first], {first: []}
        left = [x for x in names if x != first]
        for r in range(d - 1):
            candidates = [(x, ps) for x in left for ps in self._parent_sets(x, order, sizes, cells)]
            if len(candidates) > self.max_candidates:
                keep = np.sort(rng.choice(len(candidates), self.max_candidates, replace=False))
                candidates = [candidates[i] for i in keep]
            if deadline is not None and time.monotonic() > deadline:
                pick = candidates[int(rng.integers(len(candidates)))]  # no data used, nothing spent
                if not self.notes_:
                    self.notes_.append(
                        f"max_seconds reached: parents from round {r + 1} on drawn without data"
                    )
            else:
                eps = accountant.exponential(eps_structure / (d - 1), "selection",
                                             f"parent set {r + 1} of {d - 1}", sensitivity)
                scores = np.array([_n_mutual_information(codes, sizes, x, ps) for x, ps in candidates])
                pick = candidates[noise.choose(scores, 2 * sensitivity / eps)]
            x, ps = pick
            order.append(x)
            parents[x] = list(ps)
            left.remove(x)
            if progress is not None:
                progress("fit", f"parents of {x}")
        tables = {}
        for k, x in enumerate(order):
            cost = accountant.remaining if k == d - 1 else accountant.remaining / (d - k)
            scale = accountant.laplace(cost, "measurement",
                                       f"table of '{x}' given {len(parents[x])} parent(s)")
            clique = (*parents[x], x)
            noisy = noise.laplace(marginal(codes, sizes, clique), scale)
            tables[x] = conditional(noisy.reshape([sizes[a] for a in clique]))
        total = n_hat
        return Network(order, parents, tables, float(total))

    def _parent_sets(self, x: str, chosen: list[str], sizes: dict[str, int], cells: float):
        if self.degree is not None:
            k = min(self.degree, len(chosen))
            return list(itertools.combinations(chosen, k))
        for k in range(min(MAX_PARENTS, len(chosen)), 0, -1):
            fit = [ps for ps in itertools.combinations(chosen, k)
                   if sizes[x] * math.prod(sizes[p] for p in ps) <= cells]
            if fit:
                return fit
        return [()]


def _n_mutual_information(codes, sizes, x: str, parents: tuple[str, ...]) -> float:
    """n * I(X; Parents) in bits, from the counts."""
    if not parents:
        return 0.0
    joint = marginal(codes, sizes, (*parents, x)).reshape(-1, sizes[x])  # parent states x values
    n = joint.sum()
    row = joint.sum(axis=1, keepdims=True)
    col = joint.sum(axis=0, keepdims=True)
    nz = joint > 0
    expected = (row @ col)[nz] / n
    return float(np.sum(joint[nz] * np.log2(joint[nz] / expected)))
