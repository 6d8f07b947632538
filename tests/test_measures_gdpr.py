"""GDPR attack risks (singling out, linkability, inference; Giomi et al. 2023): hand-computed
pieces, and known truths on SD2011 (a copy of the training data leaks, an independent real
sample does not)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confidata import Schema, SchemaError, read_table
from confidata.measures import MEASURES, Family, MeasureResult
from confidata.measures.gdpr import inference, linkability, risk_from_rates, singling_out, wilson
from confidata.table.schema import Column, Kind
from conftest import SENTINEL

ATTACKS = {"singling_out": {}, "linkability": {}, "inference": {"secret": "income"}}


@pytest.fixture(scope="module")
def parts():
    from conftest import shared_dataset

    folder = shared_dataset("SD2011")
    frame, schema = read_table(folder / "data.csv", folder / "schema.json")
    frame = frame.sample(frac=1.0, random_state=7).reset_index(drop=True)
    train, hold, fresh = frame.iloc[:1000], frame.iloc[1000:2000], frame.iloc[2000:3000]
    return train, hold, fresh, schema


def small() -> tuple[pd.DataFrame, Schema]:
    frame = pd.DataFrame({"colour": ["red", "blue", "blue", "green", "red", "blue"],
                          "size": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                          "shape": ["a", "b", "a", "b", "a", "b"]})
    schema = Schema((Column(name="colour", kind=Kind.CATEGORICAL),
                     Column(name="size", kind=Kind.CONTINUOUS),
                     Column(name="shape", kind=Kind.CATEGORICAL)))
    return frame, schema


# -- registry and hand-computed pieces -------------------------------------------------------
def test_registered_as_risk_measures_with_holdout():
    for name in ATTACKS:
        spec = MEASURES[name]
        assert spec.family is Family.RISK and spec.applies_when == "a holdout is given"


def test_wilson_interval_by_hand():
    # Wilson (1927) score interval, z = 1.96: 0 of 10 -> (0, 0.2775); 5 of 10 -> 0.2366-0.7634
    assert wilson(0, 10) == pytest.approx((0.0, 0.27754), abs=1e-4)
    assert wilson(5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-4)
    assert wilson(10, 10)[1] == 1.0
    assert wilson(0, 0) == (0.0, 1.0)


def test_risk_formula_by_hand():
    risk, ci = risk_from_rates(0.6, 0.2, (0.6, 0.6), (0.2, 0.2))
    assert risk == pytest.approx(0.5) and ci == pytest.approx((0.5, 0.5))  # (0.6-0.2)/(1-0.2)
    risk, ci = risk_from_rates(0.1, 0.3, (0.05, 0.15), (0.25, 0.35))
    assert risk == 0.0 and ci[0] == 0.0  # main below control: clipped at 0
    # errors: main 0.05/0.8, control 0.05*0.4/0.64 -> hypot(0.0625, 0.03125) = 0.06988
    risk, ci = risk_from_rates(0.6, 0.2, (0.55, 0.65), (0.15, 0.25))
    assert ci == pytest.approx((0.5 - 0.069877, 0.5 + 0.069877), abs=1e-5)


def test_singling_out_toy_copy():
    # univariate predicates unique in the synthetic data: colour=green, size=each of 6 values,
    # size<=1, size>=6: 9 in all; on the same 6 rows each isolates exactly one record
    frame, schema = small()
    result = singling_out(frame, frame.copy(), schema, holdout=frame.iloc[::-1].copy(),
                          mode="univariate", n_attacks=100, seed=0)
    assert result.details["n_attacks"] == 9 and result.details["main_rate"] == 1.0
    # the holdout holds the same rows, so the control succeeds as often: no leak beyond it
    assert result.details["control_rate"] == 1.0 and result.value == 0.0


def test_inference_numeric_tolerance_and_baseline():
    frame, schema = small()
    frame["shape"] = list("abcdef")  # known columns tell the rows apart: no tied neighbours
    hold = frame.copy()
    hold["size"] = hold["size"] * 1.04  # within 5% of the truth: still a right guess
    result = inference(frame, frame.copy(), schema, holdout=hold, secret="size", seed=3)
    assert result.details["main_rate"] == 1.0 and result.details["control_rate"] == 1.0
    strict = inference(frame, frame.copy(), schema, holdout=hold, secret="size", tolerance=0.01,
                       seed=3)
    assert strict.details["control_rate"] == 0.0 and strict.value == 1.0


def test_inconclusive_when_main_does_not_beat_baseline():
    # one category everywhere: every guess, random or not, is right
    frame = pd.DataFrame({"a": ["x"] * 20, "b": np.arange(20.0)})
    schema = Schema((Column(name="a", kind=Kind.CATEGORICAL),
                     Column(name="b", kind=Kind.CONTINUOUS)))
    result = inference(frame, frame.copy(), schema, holdout=frame.copy(), secret="a", seed=0)
    assert result.details["inconclusive"] is True and result.details["baseline_rate"] == 1.0
    assert "INCONCLUSIVE" in result.interpretation


def test_bad_options_name_the_fix_and_no_value():
    frame, schema = small()
    frame.loc[0, "colour"] = SENTINEL
    cases = [
        (singling_out, {"n_attacks": 0}, "n_attacks"),
        (singling_out, {"mode": "bivariate"}, "mode"),
        (singling_out, {"n_cols": 9}, "n_cols"),
        (linkability, {"aux_cols": (["colour"], ["colour", "size"])}, "share"),
        (linkability, {"aux_cols": (["colour"], ["nope"])}, "nope"),
        (linkability, {"n_neighbors": 99}, "n_neighbors"),
        (inference, {}, "secret"),
        (inference, {"secret": "size", "tolerance": -1.0}, "tolerance"),
        (inference, {"secret": "size", "aux_cols": ["size"]}, "aux_cols"),
    ]
    for function, options, word in cases:
        with pytest.raises(SchemaError) as info:
            function(frame, frame.copy(), schema, holdout=frame.copy(), seed=0, **options)
        assert word in str(info.value) and SENTINEL not in str(info.value)
    with pytest.raises(SchemaError, match="holdout"):
        singling_out(frame, frame.copy(), schema)


# -- known truths on SD2011 -----------------------------------------------------------------
@pytest.mark.parametrize("name", list(ATTACKS))
def test_copy_of_training_data_leaks(parts, name):
    train, hold, _, schema = parts
    result = MEASURES[name].function(train, train.copy(), schema, holdout=hold, n_attacks=300,
                                     seed=11, **ATTACKS[name])
    assert isinstance(result, MeasureResult) and result.reference == 0.0
    d = result.details
    # copy: main 1.000 / 0.987 / 1.000 vs control 0.227 / 0.003 / 0.133 on this split
    assert d["main_rate"] > 0.95 and d["main_rate"] - d["control_rate"] > 0.5
    assert result.value > 0.9 and result.ci[0] > 0.8 and not d["inconclusive"]
    assert d["main_ci"][0] <= d["main_rate"] <= d["main_ci"][1]
    assert d["n_attacks"] == 300 and set(result.tables["success_rates"]["attack"]) == {
        "main (training)", "control (holdout)", "baseline (random)"}
    assert f"{result.value:.3f}" in result.interpretation


@pytest.mark.parametrize("name", list(ATTACKS))
def test_independent_sample_does_not_leak(parts, name):
    train, hold, fresh, schema = parts
    result = MEASURES[name].function(train, fresh, schema, holdout=hold, n_attacks=300, seed=11,
                                     **ATTACKS[name])
    # an independent real sample: risk about 0 (0.036 / 0.003 / 0.000 here), 0 within its interval,
    # or the attack is no better than guessing
    assert result.details["inconclusive"] or (result.ci[0] == 0.0 and result.value < 0.15)
    again = MEASURES[name].function(train, fresh, schema, holdout=hold, n_attacks=300, seed=11,
                                    **ATTACKS[name])
    assert again.value == result.value and again.details == result.details  # same seed


def test_inference_categorical_secret_on_sd2011(parts):
    train, hold, fresh, schema = parts
    copy = inference(train, train.copy(), schema, holdout=hold, secret="depress", n_attacks=300,
                     seed=5)
    indep = inference(train, fresh, schema, holdout=hold, secret="depress", n_attacks=300, seed=5)
    assert copy.value > 0.9 and copy.details["main_rate"] == 1.0
    assert indep.details["inconclusive"] or indep.ci[0] == 0.0
