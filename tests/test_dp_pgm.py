"""The graphical-model engine under MST and AIM (`confidata.synth.dp._pgm`): its junction trees
are valid, its inference is exact against brute force over the full joint, its estimates match
mbi's mirror descent on the same measurements, and its Bayesian network has the model's joint."""

from __future__ import annotations

import itertools
import string

import numpy as np
import pytest

from confidata.errors import SynthesisError
from confidata.synth.dp._measure import marginal
from confidata.synth.dp._pgm import GraphicalModel, Measurement, estimate, junction_tree

SIZES = {"a": 3, "b": 4, "c": 2, "d": 5, "e": 3, "f": 2}


def _random_cliques(rng, names, count, largest=3):
    return [tuple(sorted(rng.choice(names, size=rng.integers(1, largest + 1), replace=False)))
            for _ in range(count)]


def _joint(model: GraphicalModel) -> np.ndarray:
    """The full joint over every column (in `sizes` order) by brute force from the potentials."""
    names = list(model.sizes)
    log = np.zeros([model.sizes[n] for n in names])
    for clique, theta in model.potentials.items():
        order = sorted(clique, key=names.index)
        values = np.transpose(theta, [clique.index(a) for a in order])
        log = log + values.reshape([model.sizes[n] if n in clique else 1 for n in names])
    p = np.exp(log - log.max())
    return p / p.sum() * model.total


def _brute(joint: np.ndarray, names: list[str], attrs: tuple[str, ...]) -> np.ndarray:
    letters = dict(zip(names, string.ascii_letters, strict=False))
    spec = "".join(letters[n] for n in names) + "->" + "".join(letters[a] for a in attrs)
    return np.einsum(spec, joint)


@pytest.mark.parametrize("seed", range(6))
def test_junction_tree_covers_cliques_and_has_running_intersection(seed):
    rng = np.random.default_rng(seed)
    names = list(SIZES)
    cliques = _random_cliques(rng, names, 6)
    tree = junction_tree(SIZES, cliques)
    assert all(tree.containing(c) >= 0 for c in cliques)
    assert {a for c in tree.cliques for a in c} == set(names)
    assert sorted(tree.order) == list(range(len(tree.cliques)))
    for a in names:  # the cliques holding a column form a connected subtree: one has no parent holding it
        holders = [i for i, c in enumerate(tree.cliques) if a in c]
        tops = [i for i in holders if tree.parent[i] < 0 or a not in tree.cliques[tree.parent[i]]]
        assert len(tops) == 1, (a, tree.cliques, tree.parent)


def test_per_cell_sigma_weights_each_cell_by_its_own_noise():
    # two readings of one column, each precise where the other is not
    truth = np.array([100.0, 200.0, 50.0])
    first = Measurement(("a",), np.array([100.0, 400.0, 50.0]), np.array([1.0, 50.0, 2.0]))
    second = Measurement(("a",), np.array([300.0, 200.0, 50.0]), np.array([50.0, 1.0, 2.0]))
    model, _ = estimate({"a": 3}, [first, second], iters=2000, total=350.0)
    np.testing.assert_allclose(model.project(("a",)), truth, atol=3.0)
    # one sigma for all cells cannot tell which reading to trust where
    same = [Measurement(("a",), m.noisy, 1.0) for m in (first, second)]
    flat, _ = estimate({"a": 3}, same, iters=2000, total=350.0)
    assert np.abs(flat.project(("a",)) - truth).max() > 30


def test_a_marginal_too_large_to_build_is_refused_before_any_table_is_made():
    rng = np.random.default_rng(0)
    chain = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")]  # (a, e) is in no clique
    model = GraphicalModel(SIZES, {c: rng.normal(0, 1, [SIZES[x] for x in c]) for c in chain}, total=10.0)
    # every table on the way holds one clique and a and e: at most 4 * 2 * 3 * 5 cells here
    assert model.project(("a", "e"), max_cells=3 * 5 * 2 * 4).shape == (3, 3)
    with pytest.raises(SynthesisError, match="fewer columns"):
        model.project(("a", "e"), max_cells=3 * 3)


@pytest.mark.parametrize("seed", range(4))
def test_inference_is_exact_against_the_full_joint(seed):
    rng = np.random.default_rng(seed)
    names = list(SIZES)
    cliques = list(dict.fromkeys(_random_cliques(rng, names, 5)))
    potentials = {c: rng.normal(0, 1.5, [SIZES[a] for a in c]) for c in cliques}
    model = GraphicalModel(SIZES, potentials, total=1000.0)
    joint = _joint(model)
    for k in (1, 2, 3):
        for attrs in itertools.combinations(names, k):
            attrs = tuple(rng.permutation(attrs))  # any axis order
            expected = _brute(joint, names, attrs)
            np.testing.assert_allclose(model.project(attrs), expected, rtol=1e-9, atol=1e-9)
    # the network it converts to has the same joint
    net = model.to_network()
    assert sorted(net.order) == sorted(names)
    log = np.zeros([SIZES[n] for n in names])
    for a in net.order:
        axes = [*net.parents[a], a]
        table = np.transpose(net.tables[a], np.argsort([names.index(x) for x in axes]))
        log = log + np.log(table.reshape([SIZES[n] if n in axes else 1 for n in names]))
    np.testing.assert_allclose(np.exp(log) * net.total, joint, rtol=1e-8, atol=1e-10)


def _survey(rng, n=4000):
    codes = {k: rng.integers(0, v, n) for k, v in SIZES.items()}
    codes["b"] = (codes["a"] + rng.integers(0, 2, n)) % SIZES["b"]
    codes["c"] = (codes["b"] > 1).astype(int)
    codes["e"] = (codes["d"] + codes["c"]) % SIZES["e"]
    return codes


def _measure_all(codes, cliques, rng, sigma=15.0):
    out = []
    for c in cliques:
        y = marginal(codes, SIZES, c)
        out.append(Measurement(c, y + rng.normal(0, sigma, y.size), sigma))
    return out


def test_estimate_matches_mbi_mirror_descent():
    mbi = pytest.importorskip("mbi", reason="mbi (the reference Private-PGM) is in the test extra")
    import jax

    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(7)
    cliques = [(n,) for n in SIZES] + [("a", "b"), ("b", "c"), ("c", "d", "e"), ("a", "f"), ("e", "f")]
    measurements = _measure_all(_survey(rng), cliques, rng)
    ours, done = estimate(SIZES, measurements, iters=1500)
    assert done == 1500
    domain = mbi.Domain(tuple(SIZES), tuple(SIZES.values()))
    theirs = mbi.estimation.MirrorDescent().estimate(
        domain, [mbi.LinearMeasurement(m.noisy, m.clique, stddev=m.sigma) for m in measurements], iters=1500)
    assert ours.total == pytest.approx(float(theirs.total), rel=1e-9)
    for attrs in [("a", "b"), ("c", "d", "e"), ("a", "e"), ("b", "f"), ("d",)]:
        reference = np.asarray(theirs.project(attrs).datavector(flatten=False))
        # both are iterative and not yet at the optimum in near-empty cells: agree to 0.1% of the mass
        assert np.abs(ours.project(attrs) - reference).sum() / ours.total < 1e-3, attrs


def test_estimate_fits_the_truth_better_than_the_noise_and_warm_starts():
    rng = np.random.default_rng(11)
    codes = _survey(rng)
    cliques = [(n,) for n in SIZES] + [("a", "b"), ("b", "c"), ("d", "e")]
    measurements = _measure_all(codes, cliques, rng, sigma=40.0)
    model, _ = estimate(SIZES, measurements, iters=1000)
    for m in measurements[len(SIZES):]:  # consistent estimates beat each noisy table on its own
        truth = marginal(codes, SIZES, m.clique)
        assert np.abs(model.project(m.clique).ravel() - truth).sum() < np.abs(m.noisy - truth).sum()
    # a warm start from the model keeps what it learnt: a few more steps stay close
    again, _ = estimate(SIZES, measurements, iters=5, warm_start=model)
    cold, _ = estimate(SIZES, measurements, iters=5)
    target = model.project(("a", "b"))
    assert np.abs(again.project(("a", "b")) - target).sum() < np.abs(cold.project(("a", "b")) - target).sum()


def test_aim_scores_candidates_off_the_model_within_sampling_error():
    from confidata.synth.dp.aim import _model_marginals

    rng = np.random.default_rng(5)
    cliques = [(n,) for n in SIZES] + [("a", "b"), ("b", "c"), ("d", "e")]
    model, _ = estimate(SIZES, _measure_all(_survey(rng), cliques, rng), iters=300)
    candidates = [c for k in (1, 2, 3) for c in itertools.combinations(SIZES, k)]
    draws = 20_000
    estimates = _model_marginals(model, candidates, SIZES, np.random.default_rng(0), draws)
    spanning = 0
    for r in candidates:
        exact = model.project(r).ravel()
        if model.tree.containing(r) >= 0:
            np.testing.assert_allclose(estimates[r], exact)  # exact where one clique holds it
            continue
        spanning += 1
        bound = 3 * model.total * np.sqrt(exact.size / draws)  # three times the expected L1 error
        assert np.abs(estimates[r] - exact).sum() < bound, r
    assert spanning > 10
