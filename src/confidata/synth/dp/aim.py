"""AIM: adaptive and iterative mechanism for workload-aware synthesis (McKenna, Mullins,
Sheldon & Miklau 2022).

The workload is every set of ``degree`` columns (default 3, as in the paper's experiments);
the candidates are its downward closure (all sets of 1..degree columns), each weighted by
``w_r = sum over workload sets s of |r & s|``. With rho (zCDP, converted from epsilon and
delta) and ``T = 16 d`` rounds planned:

1. measure every 1-way marginal with sigma = sqrt(T / (2 * 0.9 * rho));
2. repeat: pick a candidate with the exponential mechanism (epsilon = sqrt(8 * 0.1 * rho / T))
   on the quality ``w_r * (||M_r(data) - M_r(model)||_1 - sqrt(2/pi) * sigma * n_r)`` (its
   sensitivity is max w_r), among candidates whose junction tree would stay under
   ``max_model_size * (budget used / budget)``; measure it with Gaussian noise sigma; re-fit
   the model (Private-PGM mirror descent, warm-started); if the new model moved that marginal by
   less than the noise's expected size, halve sigma and double epsilon;
3. when less than two rounds' worth of budget is left (or 3/4 of ``max_seconds`` has passed), the
   last round spends exactly what remains, split 10% selection and 90% measurement.

The exponential mechanism draws a candidate (`_noise.choose_where`); a draw that fails the
(data-independent) size filter is set aside and the draw repeated among the rest, which is the
exponential mechanism restricted to the filtered set.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable

import numpy as np

from confidata.synth.dp._accountant import PrivacyAccountant
from confidata.synth.dp._base import DPSynthesizer, _int_at_least
from confidata.synth.dp._domain import Attribute
from confidata.synth.dp._measure import marginal, measure
from confidata.synth.dp._network import Network
from confidata.synth.dp._noise import Noise, choose_where
from confidata.synth.dp._pgm import GraphicalModel, estimate, model_megabytes
from confidata.table.schema import Schema

__all__ = ["AIM"]


class AIM(DPSynthesizer):
    """AIM under (epsilon, delta)-DP.

    Parameters are those of `MST` (epsilon, delta, seed, n_bins, bounds_share, max_levels,
    max_seconds, max_model_size, iters), and:

    degree:
        Size of the column sets in the workload (all sets of this many columns).
    rounds:
        Rounds planned (T); None means 16 x the number of columns, as in the paper (at
        least 2 x the number of columns).
    round_iters:
        Mirror-descent iterations after each measurement (warm-started). Too few and the model
        has not yet moved toward a new measurement when AIM checks whether it did, so the noise
        is cut (and the budget spent) too early.
    draws:
        Rows sampled from the current model to score candidates that no clique of it holds.
    """

    method = "aim"
    unit = "rho"
    # what a registry-wide suite must pass to run it: it refuses to run without a budget
    conformance_options = {"epsilon": 1.0, "delta": 1e-9, "iters": 200, "degree": 2,
                            "rounds": 6, "round_iters": 50, "draws": 2000}
    _parameter_constraints = {
        **DPSynthesizer._parameter_constraints,
        "iters": _int_at_least(1),
        "degree": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4,
        "rounds": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1),
        "round_iters": _int_at_least(1),
        "draws": _int_at_least(100),
    }
    _constraint_text = {
        **DPSynthesizer._constraint_text,
        "iters": "an int in the range [1, inf)",
        "degree": "an int in the range [1, 4]",
        "rounds": "None or an int in the range [1, inf)",
        "round_iters": "an int in the range [1, inf)",
        "draws": "an int in the range [100, inf)",
    }

    def __init__(self, schema: Schema | None = None, *, epsilon: float | None = None,
                 delta: float | None = None, seed: int | None = None, n_bins: int = 32,
                 bounds_share: float = 0.1, max_levels: int = 1000, max_seconds: float | None = None,
                 max_model_size: float = 80.0, levels_share: float | None = None,
                 iters: int = 3000, degree: int = 3,
                 rounds: int | None = None, round_iters: int = 300, draws: int = 100_000) -> None:
        super().__init__(schema, epsilon=epsilon, delta=delta, seed=seed, n_bins=n_bins,
                         bounds_share=bounds_share, max_levels=max_levels, max_seconds=max_seconds,
                         max_model_size=max_model_size, levels_share=levels_share)
        self.iters = iters
        self.degree = degree
        self.rounds = rounds
        self.round_iters = round_iters
        self.draws = draws

    def _fit_network(self, codes: dict[str, np.ndarray], attributes: list[Attribute],
                     accountant: PrivacyAccountant, noise: Noise, rng: np.random.Generator,
                     progress, deadline: float | None) -> Network:
        names = [a.name for a in attributes]
        sizes = {a.name: a.size for a in attributes}
        d = len(names)
        rho = accountant.remaining
        degree = min(self.degree, d)
        candidates = [c for k in range(1, degree + 1) for c in itertools.combinations(names, k)]
        # w_r = sum over workload sets s of |r & s| depends on |r| only: sum_j j C(k, j) C(d-k, degree-j)
        by_size = {k: float(sum(j * math.comb(k, j) * math.comb(d - k, degree - j) for j in range(k + 1)))
                   for k in range(1, degree + 1)}
        weight = {r: by_size[len(r)] for r in candidates}
        cells = {r: math.prod(sizes[a] for a in r) for r in candidates}
        sensitivity = max(weight.values())
        answers: dict[tuple[str, ...], np.ndarray] = {}

        def answer(clique: tuple[str, ...]) -> np.ndarray:
            if clique not in answers:
                answers[clique] = marginal(codes, sizes, clique)
            return answers[clique]

        # at least 2d rounds, so the 1-way measurements take at most 45% of the budget
        rounds = max(self.rounds or 16 * d, 2 * d)
        sigma = math.sqrt(rounds / (2 * 0.9 * rho))
        eps = math.sqrt(8 * 0.1 * rho / rounds)
        measurements = [measure(codes, sizes, (name,), 1.0 / (2 * sigma**2), accountant, noise)
                        for name in names]
        model, _ = estimate(sizes, measurements, iters=self.round_iters)
        if progress is not None:
            progress("fit", "1-way marginals measured")
        # with a deadline, selection stops at 3/4 of the time left so the final fit gets the rest
        select_until = None if deadline is None else deadline - 0.25 * (deadline - time.monotonic())
        t = 0
        terminate = False
        while not terminate:
            t += 1
            remaining = accountant.remaining
            late = select_until is not None and time.monotonic() > select_until
            if remaining < 2 * (1 / (2 * sigma**2) + eps**2 / 8) or late:
                terminate = True
                sigma = math.sqrt(1 / (2 * 0.9 * remaining))
                eps = math.sqrt(8 * 0.1 * remaining)
                if late:
                    self.notes_.append(f"max_seconds reached: the last round ({t}) spent the rest")
            used = accountant.spent + eps**2 / 8 + 1 / (2 * sigma**2)
            size_limit = self.max_model_size * used / accountant.total
            bias = math.sqrt(2 / math.pi) * sigma
            # a candidate too large on its own can never pass the size filter: the exponential
            # mechanism runs over the rest (a data-independent restriction)
            fitting = [r for r in candidates if cells[r] * 8 / 2**20 <= size_limit] or candidates
            estimates = _model_marginals(model, fitting, sizes, rng, self.draws)
            quality = np.array([weight[r] * (np.abs(answer(r) - estimates[r]).sum() - bias * cells[r])
                                for r in fitting])
            accountant.exponential(eps**2 / 8, "selection", f"AIM round {t}: choice of a marginal",
                                   sensitivity)
            # among the candidates that keep the model within its size limit
            i = choose_where(noise, quality, 2 * sensitivity / eps,
                             _keeps_model_within(sizes, model.cliques, fitting, size_limit))
            chosen = min(fitting, key=cells.__getitem__) if i is None else fitting[i]
            m_cost = accountant.remaining if terminate else 1 / (2 * sigma**2)
            m = measure(codes, sizes, chosen, m_cost, accountant, noise)
            measurements.append(m)
            if progress is not None:
                progress("fit", f"round {t}: {' x '.join(chosen)}")
            if terminate:  # the final estimation below fits this one
                break
            before = estimates[chosen]
            model, _ = estimate(sizes, measurements, iters=self.round_iters, warm_start=model,
                                deadline=select_until)
            after = model.project(chosen).ravel()  # measured now, so one clique holds it
            if np.abs(after - before).sum() <= math.sqrt(2 / math.pi) * m.sigma * cells[chosen]:
                sigma /= 2
                eps *= 2
        model, done = estimate(sizes, measurements, iters=self.iters, deadline=deadline, warm_start=model)
        if done < self.iters:
            self.notes_.append(f"max_seconds reached: final estimation stopped after {done} iterations")
        self.rounds_ = t
        return model.to_network()


def _keeps_model_within(sizes: dict[str, int], current: list[tuple[str, ...]],
                        candidates: list[tuple[str, ...]], limit: float) -> Callable[[int], bool]:
    """Whether adding candidate i to the model's cliques keeps it within `limit` MB (public)."""
    return lambda i: model_megabytes(sizes, [*current, candidates[i]]) <= limit


def _model_marginals(model: GraphicalModel, candidates: list[tuple[str, ...]], sizes: dict[str, int],
                     rng: np.random.Generator, draws: int) -> dict[tuple[str, ...], np.ndarray]:
    """Every candidate's counts under the model, flattened: exact where one junction-tree clique
    holds the candidate, else read off `draws` rows sampled from the model.

    Exact inference for a set that spans cliques costs a product over the subtree between them,
    which dominated AIM's time on 24 columns (about 4 s a round for 2,324 candidates). The sample
    depends only on the model, which is made of noisy answers, so the selection's privacy is
    unchanged; its error, about total * sqrt(cells / draws) in L1, only blurs the ranking.
    """
    out: dict[tuple[str, ...], np.ndarray] = {}
    sample = None
    for r in candidates:
        if model.tree.containing(r) >= 0:
            out[r] = model.project(r).ravel()
            continue
        if sample is None:
            sample = model.to_network().sample(draws, rng)
        out[r] = marginal(sample, sizes, r) * (model.total / draws)
    return out
