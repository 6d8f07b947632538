"""Graphical-model estimation from noisy marginals: Private-PGM (McKenna, Sheldon & Miklau 2019).

Given noisy answers to marginal queries, find the distribution that fits them best in weighted
least squares: ``min over mu in the marginal polytope of 0.5 * sum_i ||(mu_{r_i} - y_i) / sigma_i||^2``.
The solution is a graphical model whose potentials live on the measured column sets; it is
found by entropic mirror descent (Algorithm 1 of the paper) with the Armijo step-size rule of
mbi's ``MirrorDescent``, marginals coming from sum-product belief propagation on a junction
tree. Everything here is post-processing of the noisy answers: it never sees the
data.

Why not mbi itself: mbi 2 runs on JAX and compiles a new program for every new set of cliques
and every projected marginal. AIM changes the model every round and asks for the marginal of
every candidate every round; under mbi 2 that cost about 35 s a round on NIST's 10 demographic
columns and then exhausted the process's memory maps (LLVM "Cannot allocate memory", SIGSEGV).
The same algorithm on numpy needs no compilation. ``tests/test_dp_pgm.py`` checks it against
mbi's mirror descent on the same measurements.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from confidata.errors import SynthesisError
from confidata.synth.dp._network import Network, conditional

PROJECT_MAX_CELLS = 2**28  # 2 GiB of float64: the largest table `project` may build

__all__ = ["GraphicalModel", "JunctionTree", "Measurement", "estimate", "junction_tree", "model_megabytes"]

Clique = tuple[str, ...]


@dataclass(frozen=True)
class Measurement:
    """A noisy marginal: counts over `clique` (C order of the clique's sizes) plus N(0, sigma^2);
    `sigma` is one number, or one per cell (a cell that sums k cells measured with sigma has
    sigma * sqrt(k), as after MST's domain compression)."""

    clique: Clique
    noisy: np.ndarray
    sigma: float | np.ndarray

    @property
    def variances(self) -> np.ndarray:
        """The noise variance of every cell, flat in the order of `noisy`."""
        return np.broadcast_to(np.asarray(self.sigma, dtype=float) ** 2, (np.asarray(self.noisy).size,))


# -- arrays with named axes ------------------------------------------------------------------
def _aligned(values: np.ndarray, names: Sequence[str], target: Sequence[str]) -> np.ndarray:
    """`values` (axes `names`) as a view that broadcasts against an array with axes `target`."""
    present = [n for n in target if n in names]
    if list(names) != present:
        values = np.transpose(values, [list(names).index(n) for n in present])
    shape = [values.shape[present.index(n)] if n in present else 1 for n in target]
    return values.reshape(shape)


def _sum_to(values: np.ndarray, names: Sequence[str], keep: Sequence[str]) -> np.ndarray:
    """Sum out the axes not in `keep`; the result has the axes of `keep`, in that order."""
    axes = tuple(i for i, n in enumerate(names) if n not in keep)
    out = values.sum(axis=axes) if axes else values
    left = [n for n in names if n in keep]
    if left != list(keep):
        out = np.transpose(out, [left.index(n) for n in keep])
    return out


def _product(a: np.ndarray, a_names: Sequence[str], b: np.ndarray, b_names: Sequence[str]):
    names = list(a_names) + [n for n in b_names if n not in a_names]
    return _aligned(a, a_names, names) * _aligned(b, b_names, names), names


# -- junction tree ---------------------------------------------------------------------------
@dataclass
class JunctionTree:
    """Maximal cliques of a triangulation of the model's graph, joined in a tree whose
    separators have the running-intersection property. `parent` roots it at clique 0;
    `order` lists cliques parents first."""

    cliques: list[Clique]
    parent: list[int]
    order: list[int]

    def __post_init__(self) -> None:
        self._sets = [frozenset(c) for c in self.cliques]  # asked for every candidate, every round

    def separator(self, i: int) -> Clique:
        p = self.parent[i]
        return () if p < 0 else tuple(a for a in self.cliques[i] if a in self.cliques[p])

    def containing(self, attrs: Iterable[str]) -> int:
        """The smallest clique that holds all of `attrs`, or -1."""
        want = set(attrs)
        best, size = -1, math.inf
        for i, c in enumerate(self._sets):
            if want <= c and len(c) < size:
                best, size = i, len(c)
        return best

    def path_to_root(self, i: int) -> list[int]:
        out = [i]
        while self.parent[out[-1]] >= 0:
            out.append(self.parent[out[-1]])
        return out


def junction_tree(sizes: dict[str, int], cliques: Iterable[Clique]) -> JunctionTree:
    """A junction tree covering every column of `sizes` and every clique given.

    Triangulation by greedy elimination (eliminate the column whose elimination clique has the
    fewest cells), then a maximum spanning tree of the maximal cliques weighted by separator
    size, which is a junction tree for a chordal graph.
    """
    names = list(sizes)
    rank = {n: i for i, n in enumerate(names)}
    adjacent: dict[str, set[str]] = {n: set() for n in names}
    for clique in cliques:
        for a, b in itertools.combinations(clique, 2):
            adjacent[a].add(b)
            adjacent[b].add(a)
    remaining = set(names)
    found: list[frozenset[str]] = []
    while remaining:
        def cells(v: str) -> float:
            return math.prod(sizes[u] for u in adjacent[v] | {v})
        v = min(remaining, key=lambda u: (cells(u), rank[u]))
        found.append(frozenset(adjacent[v] | {v}))
        for a, b in itertools.combinations(adjacent[v], 2):
            adjacent[a].add(b)
            adjacent[b].add(a)
        for u in adjacent[v]:
            adjacent[u].discard(v)
        remaining.discard(v)
        del adjacent[v]
    ordered = maximal_cliques(found, rank)
    maximal = [frozenset(c) for c in ordered]
    # Kruskal on separator sizes (zero-size edges join separate components)
    pairs = itertools.combinations(range(len(maximal)), 2)
    edges = sorted(((len(maximal[i] & maximal[j]), i, j) for i, j in pairs), key=lambda e: -e[0])
    root = list(range(len(maximal)))

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x
    neighbours: list[list[int]] = [[] for _ in maximal]
    for _, i, j in edges:
        a, b = find(i), find(j)
        if a != b:
            root[a] = b
            neighbours[i].append(j)
            neighbours[j].append(i)
    parent = [-1] * len(maximal)
    order, seen = [0], {0}
    for i in order:  # breadth first from clique 0
        for j in neighbours[i]:
            if j not in seen:
                seen.add(j)
                parent[j] = i
                order.append(j)
    return JunctionTree(ordered, parent, order)


def model_megabytes(sizes: dict[str, int], cliques: Iterable[Clique]) -> float:
    """Megabytes (float64) of the junction-tree cliques a model on these cliques would hold."""
    tree = junction_tree(sizes, cliques)
    return sum(math.prod(sizes[a] for a in c) for c in tree.cliques) * 8 / 2**20


def maximal_cliques(cliques: Iterable[Clique], rank: dict[str, int]) -> list[Clique]:
    """The column sets not contained in another, each in domain order."""
    out: list[frozenset[str]] = []
    unique = {frozenset(c) for c in cliques}
    for c in sorted(unique, key=lambda c: (-len(c), sorted(rank[a] for a in c))):
        if not any(c <= m for m in out):
            out.append(c)
    return [tuple(sorted(c, key=rank.__getitem__)) for c in out]


# -- the model ---------------------------------------------------------------------------------
class GraphicalModel:
    """Potentials (log scale) on column sets, calibrated on a junction tree: the clique
    marginals are exact, and any other marginal is computed from them."""

    def __init__(self, sizes: dict[str, int], potentials: dict[Clique, np.ndarray], total: float,
                 tree: JunctionTree | None = None) -> None:
        self.sizes = dict(sizes)
        self.potentials = potentials
        self.total = float(total)
        self.tree = tree if tree is not None else junction_tree(self.sizes, potentials)
        self.stepsize = 0.0  # mirror descent's last step size, for a warm start
        self._route = {c: self.tree.containing(c) for c in potentials}
        self.marginals = self._calibrate()  # probabilities per junction-tree clique

    @property
    def cliques(self) -> list[Clique]:
        return list(self.potentials)

    def _calibrate(self) -> list[np.ndarray]:
        """Clique marginals (probabilities) by sum-product on the junction tree.

        The potentials are summed in log space, then each clique takes one ``exp`` (shifted by
        its maximum) and the messages are plain sums and products, rescaled to a maximum of 1:
        a third of the ``exp`` calls of passing messages in log space, with the same result
        (cells below e^-745 of a clique's largest become 0, which they are to double precision).
        """
        tree, sizes = self.tree, self.sizes
        log = [np.zeros([sizes[a] for a in c]) for c in tree.cliques]
        for clique, theta in self.potentials.items():
            i = self._route[clique]
            log[i] = log[i] + _aligned(theta, clique, tree.cliques[i])
        belief = [np.exp(v - v.max()) for v in log]
        up: dict[int, np.ndarray] = {}
        for i in reversed(tree.order[1:]):  # children before parents
            sep = tree.separator(i)
            message = _sum_to(belief[i], tree.cliques[i], sep)
            up[i] = message / message.max()
            p = tree.parent[i]
            belief[p] = belief[p] * _aligned(up[i], sep, tree.cliques[p])
        for i in tree.order[1:]:  # parents before children: belief[p] is now complete
            p, sep = tree.parent[i], tree.separator(i)
            total = _sum_to(belief[p], tree.cliques[p], sep)
            with np.errstate(divide="ignore", invalid="ignore"):  # take out what i sent up
                down = np.where(up[i] > 0, total / np.where(up[i] > 0, up[i], 1.0), 0.0)
            top = down.max()
            belief[i] = belief[i] * _aligned(down / (top if top > 0 else 1.0), sep, tree.cliques[i])
        return [b / b.sum() for b in belief]

    def project(self, attrs: Sequence[str], max_cells: int = PROJECT_MAX_CELLS) -> np.ndarray:
        """Estimated counts over `attrs` (axes in that order). A set no clique holds is summed
        out of the subtree between its columns; every table on the way has at most the cells of
        one clique joined with `attrs`, and `SynthesisError` is raised before any exceeds
        `max_cells` (the default: 2 GiB of float64)."""
        attrs = tuple(attrs)
        tree = self.tree
        i = tree.containing(attrs)
        if i >= 0:
            return _sum_to(self.marginals[i], tree.cliques[i], attrs) * self.total
        # variable elimination on the smallest subtree that touches every column of attrs
        holders = [tree.containing((a,)) for a in attrs]
        paths = [tree.path_to_root(h) for h in holders]
        common = set(paths[0]).intersection(*map(set, paths[1:]))
        top = next(n for n in paths[0] if n in common)
        nodes = set()
        for path in paths:
            for n in path:
                nodes.add(n)
                if n == top:
                    break
        keep = set(attrs)
        largest = max(math.prod(self.sizes[v] for v in set(tree.cliques[n]) | keep) for n in nodes)
        if largest > max_cells:
            raise SynthesisError(
                f"The estimated marginal of {len(attrs)} columns would need a table of {largest:,} cells "
                f"(more than {max_cells:,}); ask for fewer columns at once, or use fewer bins."
            )
        factor: dict[int, tuple[np.ndarray, list[str]]] = {}
        for i in reversed(tree.order):
            if i not in nodes:
                continue
            values, names = self.marginals[i], list(tree.cliques[i])
            for j in nodes:
                if tree.parent[j] == i:
                    msg, msg_names = factor.pop(j)
                    sep = tree.separator(j)
                    sep_p = _sum_to(self.marginals[i], tree.cliques[i], sep)
                    with np.errstate(divide="ignore", invalid="ignore"):
                        inverse = np.where(sep_p > 0, 1.0 / np.where(sep_p > 0, sep_p, 1.0), 0.0)
                    values, names = _product(values, names, inverse, sep)
                    values, names = _product(values, names, msg, msg_names)
            if i == top:
                return _sum_to(values, names, attrs) * self.total
            out = set(tree.separator(i)) | keep
            kept = [n for n in names if n in out]
            factor[i] = (_sum_to(values, names, kept), kept)
        raise AssertionError("the subtree has no top")  # unreachable: top is in nodes

    def to_network(self) -> Network:
        """A Bayesian network with this model's joint: cliques taken root first, each new column
        conditioned on its clique's separator and the clique's earlier new columns."""
        tree = self.tree
        order: list[str] = []
        parents: dict[str, list[str]] = {}
        tables: dict[str, np.ndarray] = {}
        for i in tree.order:
            clique, sep = tree.cliques[i], list(tree.separator(i))
            given = list(sep)
            for a in clique:
                if a in sep:
                    continue
                joint = _sum_to(self.marginals[i], clique, [*given, a])
                parents[a] = list(given)
                tables[a] = conditional(joint)
                order.append(a)
                given.append(a)
        return Network(order, parents, tables, self.total)


# -- estimation --------------------------------------------------------------------------------
def _total(measurements: Sequence[Measurement]) -> float:
    """Inverse-variance weighted estimate of the number of records from the noisy tables."""
    weights = np.array([1.0 / float(m.variances.sum()) for m in measurements])
    totals = np.array([float(np.sum(m.noisy)) for m in measurements])
    return max(float(weights @ totals / weights.sum()), 1.0)


def estimate(sizes: dict[str, int], measurements: Sequence[Measurement], *, iters: int,
             warm_start: GraphicalModel | None = None, deadline: float | None = None,
             total: float | None = None) -> tuple[GraphicalModel, int]:
    """Fit a graphical model to the measurements: `iters` mirror-descent steps, or fewer when
    the monotonic clock passes `deadline` (stopping early costs accuracy, never privacy).
    Returns the model and the number of steps taken."""
    rank = {n: i for i, n in enumerate(sizes)}
    cells = {m.clique: m.noisy.size for m in measurements}
    maximal = maximal_cliques([m.clique for m in measurements] + [(n,) for n in sizes], rank)

    def home_of(clique: Clique) -> Clique:
        return next(c for c in maximal if set(clique) <= set(c))
    route = {m.clique: home_of(m.clique) for m in measurements}
    if total is None:
        total = _total(measurements)
    theta = {c: np.zeros([sizes[a] for a in c]) for c in maximal}
    if warm_start is not None:
        for c, old in warm_start.potentials.items():
            home = home_of(c)
            theta[home] = theta[home] + _aligned(old, c, home)
    # Lipschitz constant of the gradient, as mbi computes it for marginal queries
    blocks: dict[Clique, float] = {}
    for m in measurements:
        home = route[m.clique]
        size = math.prod(sizes[a] for a in home)
        blocks[home] = blocks.get(home, 0.0) + size / cells[m.clique] / max(float(m.variances.min()), 1e-24)
    alpha = 2.0 / (max(blocks.values()) * total)
    if warm_start is not None:  # the step the last run had grown to; Armijo halves it if too long
        alpha = max(alpha, warm_start.stepsize)
    tree = junction_tree(sizes, maximal)
    shaped = []
    for m in measurements:
        shape = [sizes[a] for a in m.clique]
        weight = 1.0 / np.maximum(m.variances, 1e-24)
        shaped.append((m.clique, np.asarray(m.noisy, dtype=float).reshape(shape),
                       float(weight[0]) if np.ndim(m.sigma) == 0 else weight.reshape(shape)))

    def evaluate(model: GraphicalModel):
        """Loss, gradient by home clique, and the home-clique marginals."""
        mus = {c: _sum_to(model.marginals[model._route[c]], model.tree.cliques[model._route[c]], c)
               * model.total for c in maximal}
        loss = 0.0
        grad = {c: np.zeros_like(mus[c]) for c in maximal}
        for clique, y, weight in shaped:
            home = route[clique]
            diff = _sum_to(mus[home], home, clique) - y
            loss += 0.5 * float(np.vdot(diff, weight * diff))
            grad[home] = grad[home] + _aligned(weight * diff, clique, home)
        return loss, grad, mus

    model = GraphicalModel(sizes, theta, total, tree)
    loss, grad, mus = evaluate(model)
    done = 0
    while done < iters:
        step = {c: theta[c] - alpha * grad[c] for c in maximal}
        trial = GraphicalModel(sizes, step, total, tree)
        loss2, grad2, mus2 = evaluate(trial)
        expected = sum(float(np.vdot(grad[c], mus[c] - mus2[c])) for c in maximal)
        if loss - loss2 >= 0.5 * alpha * expected:
            theta, model, loss, grad, mus = step, trial, loss2, grad2, mus2
            alpha *= 1.01
        else:
            alpha *= 0.5
        done += 1
        if deadline is not None and time.monotonic() > deadline:
            break
    model.stepsize = alpha
    return model, done
