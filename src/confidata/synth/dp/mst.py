"""MST: maximum-spanning-tree synthesis (McKenna, Miklau & Sheldon 2021), winner of the 2018
NIST Differential Privacy Synthetic Data Challenge.

The budget rho (zCDP, converted from the user's epsilon and delta) is split in three equal
parts, as in the paper:

1. *measure* every 1-way marginal with Gaussian noise (one third, split evenly);
2. *select* d - 1 pairs of columns that form a maximum spanning tree, Kruskal's algorithm
   with each edge picked by the exponential mechanism (one third, split over the d - 1
   picks). A pair's quality is the L1 distance between its real 2-way table and the one the
   noisy 1-way marginals imply under independence (sensitivity 1): pairs the 1-ways explain
   worst are the most worth measuring;
3. *measure* the chosen 2-way marginals with Gaussian noise (one third, split evenly).

Private-PGM's mirror descent (`confidata.synth.dp._pgm`) then fits a graphical model (a tree)
to all noisy measurements, and that model is what is sampled.

Domain compression, as in the paper: after step 1, the values of a column whose noisy count is
below 3 sigma are merged into one (when at least two are), so steps 2 and 3 and the estimation
work on smaller tables and spend no noise on cells that are almost empty. The merged value's
measurement is the sum of its values' noisy counts (noise sigma * sqrt(k) for k values). The
fitted model is then expanded back to every value, the merged one split in proportion to the
noisy 1-way counts: post-processing, so it costs nothing. Numbers whose public
range holds more values than bins are cut at differentially private quantiles: a share of the
budget (``bounds_share``, default 10%) is spent first on a noisy histogram on a public grid
(which also gives bounds the schema lacks), and the three parts share the rest.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from confidata.synth.dp._accountant import PrivacyAccountant
from confidata.synth.dp._base import DPSynthesizer, _int_at_least
from confidata.synth.dp._domain import Attribute
from confidata.synth.dp._measure import marginal, measure
from confidata.synth.dp._network import Network
from confidata.synth.dp._noise import Noise
from confidata.synth.dp._pgm import Measurement, estimate
from confidata.table.schema import Schema

__all__ = ["MST"]

COMPRESS_SIGMAS = 3.0  # a value whose noisy count is below this many sigma is merged with the rest


class MST(DPSynthesizer):
    """MST under (epsilon, delta)-DP.

    Parameters
    ----------
    schema:
        The table's `Schema`; inferred from the data when None. Its levels and bounds are
        treated as public.
    epsilon, delta:
        The privacy budget; both required. delta should be well below 1 / the number of records.
    seed:
        Seed of the privacy noise, for reproducible runs. Keep it secret: whoever knows it can
        take the noise off. None (default) draws noise from the operating system.
    n_bins:
        Bins per number, cut at DP quantiles (integers with a smaller range get one bin per value,
        which costs nothing).
    bounds_share:
        Share of the budget spent on the noisy histograms that place those bins (and bounds the
        schema lacks); nothing when no number needs them.
    max_levels:
        Refuse categorical columns with more levels than this.
    max_seconds:
        Stop the model estimation after this many seconds (the budget is spent either way).
    max_model_size:
        Refuse a fitted model larger than this many megabytes.
    iters:
        Mirror-descent iterations of the final estimation.
    compress:
        Merge each column's values whose noisy 1-way count is below 3 sigma before selecting and
        measuring pairs (the paper's domain compression; the synthetic file still has them all).
    """

    method = "mst"
    unit = "rho"
    # what a registry-wide suite must pass to run it: it refuses to run without a budget
    conformance_options = {"epsilon": 1.0, "delta": 1e-9, "iters": 200}
    _parameter_constraints = {**DPSynthesizer._parameter_constraints, "iters": _int_at_least(1),
                              "compress": lambda v: isinstance(v, bool)}
    _constraint_text = {**DPSynthesizer._constraint_text, "iters": "an int in the range [1, inf)",
                        "compress": "True or False"}

    def __init__(self, schema: Schema | None = None, *, epsilon: float | None = None,
                 delta: float | None = None, seed: int | None = None, n_bins: int = 32,
                 bounds_share: float = 0.1, max_levels: int = 1000, max_seconds: float | None = None,
                 max_model_size: float = 80.0, levels_share: float | None = None,
                 iters: int = 1000, compress: bool = True) -> None:
        super().__init__(schema, epsilon=epsilon, delta=delta, seed=seed, n_bins=n_bins,
                         bounds_share=bounds_share, max_levels=max_levels, max_seconds=max_seconds,
                         max_model_size=max_model_size, levels_share=levels_share)
        self.iters = iters
        self.compress = compress

    def _fit_network(self, codes: dict[str, np.ndarray], attributes: list[Attribute],
                     accountant: PrivacyAccountant, noise: Noise, rng: np.random.Generator,
                     progress, deadline: float | None) -> Network:
        names = [a.name for a in attributes]
        sizes = {a.name: a.size for a in attributes}
        d = len(names)
        rho = accountant.remaining
        if d == 1:
            m = measure(codes, sizes, (names[0],), rho, accountant, noise)
            model, _ = estimate(sizes, [m], iters=self.iters, deadline=deadline)
            return model.to_network()
        third = rho / 3.0
        measurements, oneway, merges = [], {}, {}
        for name in names:
            m = measure(codes, sizes, (name,), third / d, accountant, noise)
            merge = _rare_values(m) if self.compress else None
            if merge is not None:
                merges[name] = merge
                m = merge.measurement(m)
            measurements.append(m)
            oneway[name] = np.clip(m.noisy, 0.0, None)
        if progress is not None:
            progress("fit", "1-way marginals measured")
        if merges:
            self.notes_.append(f"domain compression: {len(merges)} column(s) had rare values merged, "
                               f"{sum(a.size for a in attributes):,} values in all became "
                               f"{sum(len(v) for v in oneway.values()):,}")
        # from here on the columns with merged values take their compressed codes
        codes = {n: merges[n].code_of[c] if n in merges else c for n, c in codes.items()}
        sizes = {n: len(oneway[n]) for n in names}
        pairs = self._select(codes, sizes, names, oneway, third, accountant, noise)
        if progress is not None:
            progress("fit", "spanning tree selected")
        for k, pair in enumerate(pairs):
            # the last measurement takes exactly what is left, so the ledger adds up to the total
            cost = accountant.remaining if k == len(pairs) - 1 else third / len(pairs)
            measurements.append(measure(codes, sizes, pair, cost, accountant, noise))
        if progress is not None:
            progress("fit", "2-way marginals measured")
        model, done = estimate(sizes, measurements, iters=self.iters, deadline=deadline)
        if done < self.iters:
            self.notes_.append(
                f"max_seconds reached: estimation stopped after {done} of {self.iters} iterations"
            )
        if progress is not None:
            progress("fit", "model estimated")
        return _expanded(model.to_network(), merges)

    @staticmethod
    def _select(codes, sizes, names, oneway, rho_select, accountant, noise) -> list[tuple[str, str]]:
        """Kruskal's maximum spanning tree with each edge drawn by the exponential mechanism."""
        total = float(np.mean([v.sum() for v in oneway.values()])) or 1.0
        probs = {n: v / v.sum() if v.sum() > 0 else np.full(len(v), 1.0 / len(v)) for n, v in oneway.items()}
        score = {}
        for a, b in itertools.combinations(names, 2):
            implied = total * np.outer(probs[a], probs[b]).ravel()
            score[(a, b)] = float(np.abs(marginal(codes, sizes, (a, b)) - implied).sum())
        component = {n: n for n in names}

        def root(x: str) -> str:
            while component[x] != x:
                component[x] = component[component[x]]
                x = component[x]
            return x

        rounds = len(names) - 1
        chosen: list[tuple[str, str]] = []
        for r in range(rounds):
            eps = accountant.exponential(rho_select / rounds, "selection",
                                         f"spanning-tree edge {r + 1} of {rounds}", sensitivity=1.0)
            candidates = [p for p in score if root(p[0]) != root(p[1])]
            q = np.array([score[p] for p in candidates])
            pick = candidates[noise.choose(q, 2.0 / eps)]  # exponential mechanism, sensitivity 1
            chosen.append(pick)
            component[root(pick[0])] = root(pick[1])
        return chosen


@dataclass(frozen=True)
class _Merge:
    """One column's compressed domain: its kept values take codes 0..k-1 in their order, the
    merged ones code k."""

    code_of: np.ndarray  # original code -> compressed code
    share: np.ndarray  # original code -> its share of its compressed code (1 for a kept value)

    def measurement(self, m: Measurement) -> Measurement:
        """The 1-way measurement on the compressed domain: merged cells summed, variances too."""
        cells = int(self.code_of.max()) + 1
        noisy = np.bincount(self.code_of, weights=m.noisy, minlength=cells)
        sigma = np.sqrt(np.bincount(self.code_of, weights=m.variances, minlength=cells))
        return Measurement(m.clique, noisy, sigma)


def _rare_values(m: Measurement) -> _Merge | None:
    """The merge of the values whose noisy count is below COMPRESS_SIGMAS sigma, if at least two
    are; the merged code is split among them in proportion to their noisy counts (clipped at 0),
    or evenly when those are all 0."""
    keep = m.noisy >= COMPRESS_SIGMAS * float(np.max(m.sigma))
    rare = ~keep
    if rare.sum() < 2:
        return None
    code_of = np.where(keep, np.cumsum(keep) - 1, keep.sum()).astype(np.int64)
    weights = np.clip(m.noisy, 0.0, None) * rare
    split = weights / weights.sum() if weights.sum() > 0 else rare / rare.sum()
    return _Merge(code_of, np.where(keep, 1.0, split))


def _expanded(net: Network, merges: dict[str, _Merge]) -> Network:
    """The network on every original value: a merged code's row is repeated for each of its
    values where the column is a parent, and its probability split by `share` where it is the
    child (so each conditional distribution still sums to 1)."""
    tables = {}
    for name in net.order:
        table = net.tables[name]
        for axis, parent in enumerate(net.parents[name]):
            if parent in merges:
                table = np.take(table, merges[parent].code_of, axis=axis)
        if name in merges:
            table = np.take(table, merges[name].code_of, axis=-1) * merges[name].share
        tables[name] = table
    return Network(list(net.order), {k: list(v) for k, v in net.parents.items()}, tables, net.total)
