"""Disclosure-risk measures: hand-computed cases, known truths, and agreement with synthpop
1.9.3's disclosure() on SD2011 and with sdcMicro's francdat frequency counts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from confidata import Schema, SchemaError
from confidata.measures import MEASURES, Family, MeasureResult
from confidata.measures.disclosure import (
    attribute_disclosure,
    correct_attribution_probability,
    identity_disclosure,
    k_anonymity,
)
from confidata.measures.distance import distance_to_closest_record, exact_matches
from confidata.table.schema import Column, Kind, Role
from conftest import SENTINEL, SHARED

SYNTHPOP = SHARED / "reference" / "synthpop"
KEYS = ["sex", "age", "edu", "marital"]


def schema_for(frame: pd.DataFrame, keys: tuple[str, ...] = (), sensitive: tuple[str, ...] = ()) -> Schema:
    columns = []
    for name in frame.columns:
        kind = Kind.CONTINUOUS if pd.api.types.is_numeric_dtype(frame[name]) else Kind.CATEGORICAL
        roles = (Role.KEY,) if name in keys else (Role.SENSITIVE,) if name in sensitive else ()
        columns.append(Column(name=name, kind=kind, roles=roles))
    return Schema(tuple(columns))


@pytest.fixture(scope="module")
def sd12() -> tuple[pd.DataFrame, pd.DataFrame]:
    real, syn = SYNTHPOP / "sd2011_real12.csv", SYNTHPOP / "sd2011_syn_cart.csv"
    if not (real.is_file() and syn.is_file()):
        pytest.skip(f"synthpop reference files are absent ({SYNTHPOP}); they live beside the checkout")
    return pd.read_csv(real), pd.read_csv(syn)


def synthpop_raw() -> dict[str, float]:
    raw = pd.read_csv(SYNTHPOP / "results_raw.csv")
    raw = raw[raw["part"] == "disclosure"]
    return {k: float(v) for k, v in zip(raw["key"], raw["value"], strict=True)
            if v.replace(".", "", 1).isdigit()}


# -- hand-computed tiny cases -----------------------------------------------------------------
def test_identity_tiny_by_hand():
    # real counts: x1 2, x2 1, x3 1, x4 1, NA 1; synthetic: x1 1, x2 2, x3 1, x5 1, NA 1
    real = pd.DataFrame({"k": ["x1", "x1", "x2", "x3", "x4", None]})
    syn = pd.DataFrame({"k": ["x1", "x2", "x2", "x3", "x5", None]})
    r = identity_disclosure(real, syn, schema_for(real, keys=("k",)))
    d = r.details
    assert d["UiO"] == pytest.approx(100 * 4 / 6)  # x2 x3 x4 NA
    assert d["UiS"] == pytest.approx(100 * 4 / 6)  # x1 x3 x5 NA
    assert d["UiOiS"] == pytest.approx(100 * 3 / 6)  # x2 x3 NA appear in synthetic
    assert d["repU"] == pytest.approx(100 * 2 / 6)  # x3 and NA unique in both: NA is a level
    assert d["synthetic_uniques_in_original_n"] == 3  # x1 x3 NA
    assert r.value == d["repU"] and r.reference == d["UiO"]


def test_attribute_and_cap_tiny_by_hand():
    real = pd.DataFrame({"k": list("aabbcd"), "t": [1, 1, 1, 2, 1, 1]})
    syn = pd.DataFrame({"k": list("aabcce"), "t": [1, 1, 2, 2, 2, 1]})
    schema = schema_for(real, keys=("k",), sensitive=("t",))
    d = attribute_disclosure(real, syn, schema).details
    assert d["Dorig"] == pytest.approx(100 * 4 / 6)  # groups a, c, d hold one value
    assert d["Dsyn"] == pytest.approx(100.0)
    assert d["iS"] == pytest.approx(100 * 5 / 6)  # d is not in the synthetic data
    assert d["DiS"] == pytest.approx(100 * 5 / 6)
    assert d["DiSCO"] == pytest.approx(100 * 3 / 6)  # a, a and b's t=2
    assert d["DiSDiO"] == pytest.approx(100 * 2 / 6)  # a, a
    assert d["max_denom"] == 2 and d["mean_denom"] == pytest.approx(1.5)  # cells (a,1) (b,2)
    cap = correct_attribution_probability(real, syn, schema)
    c = cap.details
    assert c["baseCAPd"] == pytest.approx(100 * 26 / 36)
    assert c["CAPd"] == pytest.approx(100 * 5 / 6)
    assert c["CAPs"] == pytest.approx(100.0)
    assert c["DCAP"] == pytest.approx(100 * 3 / 6)
    assert cap.value == pytest.approx(100 * 3 / 5)  # TCAP: DiSCO records over iS records
    assert cap.reference == pytest.approx(c["baseCAPd"])


def test_k_anonymity_tiny_by_hand():
    real = pd.DataFrame({"k": list("aabbcd"), "t": [1, 1, 1, 2, 1, 1]})
    r = k_anonymity(real, real, schema_for(real, keys=("k",), sensitive=("t",)))
    assert r.value == 1 and r.reference == 3
    assert r.tables["equivalence_classes"]["fk"].tolist() == [2, 2, 2, 2, 1, 1]
    assert r.tables["equivalence_classes"]["l"].tolist() == [1, 1, 2, 2, 1, 1]
    assert r.details["below_k3_percent"] == pytest.approx(100.0)
    assert r.details["below_k2_n"] == 2 and r.details["l_diversity"] == 1


def test_exact_matches_tiny_by_hand():
    train = pd.DataFrame({"x": [1.0, 2.0, np.nan], "c": ["a", "b", "c"]})
    syn = pd.DataFrame({"x": [1, np.nan, 1, 2], "c": ["a", "c", "b", "b"]})
    hold = pd.DataFrame({"x": [2.0, 3.0], "c": ["b", "a"]})
    r = exact_matches(train, syn, schema_for(train), holdout=hold)
    assert r.value == pytest.approx(0.75)  # (1,a), (NA,c) and (2,b) with 2 == 2.0
    assert r.reference == pytest.approx(0.5)
    assert r.n == 4 and r.ci is not None


def test_gower_distances_tiny_by_hand():
    train = pd.DataFrame({"x": [0.0, 10.0, np.nan], "c": ["a", "b", "a"]})
    syn = pd.DataFrame({"x": [5.0, np.nan, np.nan], "c": ["a", "b", "a"]})
    hold = pd.DataFrame({"x": [20.0], "c": ["b"]})
    r = distance_to_closest_record(train, syn, schema_for(train), holdout=hold, seed=1)
    dist = r.tables["distances"]
    # (5,a): |5-0|/10 = 0.5 plus no mismatch over 2 columns; (NA,b): missing vs present 1,
    # category match 0; (NA,a): both missing 0. Holdout (20,b): range-scaled gap capped at 1.
    assert dist.loc[dist["rows"] == "synthetic", "distance"].tolist() == pytest.approx([0.25, 0.5, 0.0])
    assert dist.loc[dist["rows"] == "holdout", "distance"].tolist() == pytest.approx([0.5])


# -- known truths ------------------------------------------------------------------------------
def test_copy_is_maximal_risk(sd12):
    real, _ = sd12
    schema = schema_for(real, keys=tuple(KEYS))
    ident = identity_disclosure(real, real.copy(), schema)
    assert ident.value == pytest.approx(ident.reference)  # repU = UiO
    attr = attribute_disclosure(real, real.copy(), schema, target="depress")
    assert attr.value == pytest.approx(attr.reference) and attr.value > 5  # DiSCO = Dorig
    train, hold = real.iloc[:2500], real.iloc[2500:]
    assert exact_matches(train, train.copy(), schema, holdout=hold).value == 1.0
    near = distance_to_closest_record(train, train.copy(), schema, holdout=hold, max_rows=500, seed=3)
    assert near.value > 0.95 and near.details["copy_score"] == 1.0


def test_shuffled_columns_are_low_risk(sd12):
    real, _ = sd12
    rng = np.random.default_rng(7)
    shuffled = pd.DataFrame({c: real[c].to_numpy()[rng.permutation(len(real))] for c in real.columns})
    schema = schema_for(real, keys=tuple(KEYS))
    ident = identity_disclosure(real, shuffled, schema)
    # Independent columns break the link between a real person and a synthetic row, but they
    # also create many rare key combinations, some of which hit real uniques by chance: repU is
    # 2.1% here (105 of 430 real uniques), so the check is "well below UiO", not "zero".
    assert ident.value < ident.reference / 3
    assert ident.details["UiS"] > ident.details["UiO"]  # shuffling makes more combinations unique
    train, hold = real.iloc[:4000], real.iloc[4000:]
    assert exact_matches(train, shuffled, schema, holdout=hold).value < 0.005


def test_fresh_sample_scores_about_half(sd12):
    real, _ = sd12
    train, hold, fresh = real.iloc[:2000], real.iloc[2000:3000], real.iloc[3000:]
    r = distance_to_closest_record(train, fresh, schema_for(real), holdout=hold, max_rows=1000, seed=5)
    assert r.ci[0] - 0.02 < 0.5 < r.ci[1] + 0.02
    assert r.n == 1000 and r.details["chunks"] == 2
    again = distance_to_closest_record(train, fresh, schema_for(real), holdout=hold, max_rows=1000, seed=5)
    assert again.value == r.value  # same seed, same figure


# -- agreement with synthpop 1.9.3 ---------------------------------------------------------------
def test_identity_matches_synthpop(sd12):
    real, syn = sd12
    d = identity_disclosure(real, syn, schema_for(real, keys=tuple(KEYS))).details
    assert (d["UiO"], d["UiS"], d["UiOiS"], d["repU"]) == pytest.approx((8.6, 8.38, 4.02, 2.32))
    raw = synthpop_raw()
    assert d["UiO_n"] == raw["uniques_in_orig_n"] and d["UiS_n"] == raw["uniques_in_syn_n"]
    assert d["repU_n"] == raw["replicated_uniques_n"]
    assert d["synthetic_uniques_in_original"] == pytest.approx(4.22)  # replicated.uniques()' figure


@pytest.mark.parametrize("target", ["depress", "income"])
def test_attribute_and_cap_match_synthpop(sd12, target):
    real, syn = sd12
    schema = schema_for(real, keys=tuple(KEYS))
    raw = synthpop_raw()
    attr = attribute_disclosure(real, syn, schema, target=target).details
    for name in ("Dorig", "Dsyn", "iS", "DiS", "DiSCO", "DiSDiO", "max_denom", "mean_denom"):
        # results_raw.csv holds 6 significant digits
        assert attr[name] == pytest.approx(raw[f"disclosure_{target}_attrib_{name}"], rel=1e-5), name
    cap = correct_attribution_probability(real, syn, schema, target=target).details
    for name in ("baseCAPd", "CAPd", "CAPs", "DCAP", "TCAP"):
        assert cap[name] == pytest.approx(raw[f"disclosure_{target}_cap_{name}"], rel=1e-5), name


# -- agreement with sdcMicro on francdat ---------------------------------------------------------
def test_francdat_frequency_counts(francdat):
    data, schema = francdat
    r = k_anonymity(data, data, schema, k=2)
    table = r.tables["equivalence_classes"]
    # sdcMicro's freqCalc(francdat, keyVars = 2, 4, 5, 6, w = 8): fk and Fk per record
    assert table["fk"].tolist() == [2, 2, 2, 1, 1, 1, 1, 2]
    assert table["Fk"].tolist() == pytest.approx([110, 84.5, 84.5, 17, 541, 8, 5, 110])
    # print(sdcObj): observations violating 2-anonymity 4, 3-anonymity 8
    assert r.details["below_k2_n"] == 4 and r.details["below_k3_n"] == 8
    assert r.value == 1


# -- errors -----------------------------------------------------------------------------------
def test_missing_keys_and_target_name_the_column():
    real = pd.DataFrame({"k": ["a", SENTINEL], "t": [1, 2]})
    schema = schema_for(real, keys=("k",))
    with pytest.raises(SchemaError, match="'nokey'") as info:
        identity_disclosure(real, real, schema, keys=["k", "nokey"])
    assert SENTINEL not in str(info.value)
    with pytest.raises(SchemaError, match="'notarget'") as info:
        attribute_disclosure(real, real, schema, target="notarget")
    assert SENTINEL not in str(info.value)
    with pytest.raises(SchemaError, match="'k'") as info:
        identity_disclosure(real, real.drop(columns="k"), schema)
    assert "synthetic" in str(info.value) and SENTINEL not in str(info.value)
    with pytest.raises(SchemaError, match="target"):
        attribute_disclosure(real, real, schema)  # no target given, none marked sensitive
    numbers = pd.DataFrame({"t": [1.0, 2.0]})
    with pytest.raises(SchemaError, match="key"):
        identity_disclosure(numbers, numbers, schema_for(numbers))  # no key can be chosen


def test_keys_rule_is_stated_in_every_key_based_result():
    real = pd.DataFrame({"k": list("aabbc"), "j": list("xyxyx"), "t": [1.0, 2, 3, 4, 5]})
    syn = real.iloc[[0, 1, 2, 2, 4]].reset_index(drop=True)
    by_role = schema_for(real, keys=("k",), sensitive=("t",))
    no_roles = schema_for(real, sensitive=("t",))
    for name in ("identity_disclosure", "k_anonymity", "special_uniques", "attribute_disclosure",
                 "correct_attribution_probability"):
        extra = {"target": "t"} if "attribut" in name else {}
        role = MEASURES[name].function(real, syn, by_role, **extra).details
        assert role["keys"] == ["k"] and "role 'key'" in role["keys_rule"], name
        given = MEASURES[name].function(real, syn, by_role, keys=["j"], **extra).details
        assert given["keys"] == ["j"] and "caller" in given["keys_rule"], name
        default = MEASURES[name].function(real, syn, no_roles, **extra).details
        # the stated default: low-cardinality categorical columns that are not sensitive
        assert default["keys"] == ["k", "j"] and "by default" in default["keys_rule"], name


def test_distance_errors_never_show_values():
    real = pd.DataFrame({"x": [1.0, 2.0], "c": [SENTINEL, "b"]})
    with pytest.raises(SchemaError, match="holdout") as info:
        exact_matches(real, real, schema_for(real))
    assert SENTINEL not in str(info.value)
    with pytest.raises(SchemaError, match="'c'") as info:
        distance_to_closest_record(real, real, schema_for(real), holdout=real.drop(columns="c"))
    assert SENTINEL not in str(info.value)
    with pytest.raises(SchemaError, match="max_rows"):
        distance_to_closest_record(real, real, schema_for(real), holdout=real, max_rows=0)


# -- registry ---------------------------------------------------------------------------------
RISK = ["identity_disclosure", "attribute_disclosure", "correct_attribution_probability",
        "k_anonymity", "exact_matches", "distance_to_closest_record"]


@pytest.mark.parametrize("name", RISK)
def test_registered_and_complete(name):
    spec = MEASURES[name]
    assert spec.family is Family.RISK and spec.summary and spec.applies_when
    real = pd.DataFrame({"k": list("aabbcd"), "t": [1, 1, 1, 2, 1, 1], "x": [1.0, 2, 3, 4, 5, 6]})
    syn = pd.DataFrame({"k": list("aabcce"), "t": [1, 1, 2, 2, 2, 1], "x": [1.0, 2, 2, 4, 5, 7]})
    result = spec.function(real, syn, schema_for(real, keys=("k",), sensitive=("t",)),
                           **({"holdout": real.iloc[:3]} if "holdout" in spec.applies_when else {}))
    assert isinstance(result, MeasureResult) and result.name == name
    assert result.reference is not None and result.citation and result.tables
    assert f"{result.value:.2f}" in result.interpretation or f"{100 * result.value:.1f}" in (
        result.interpretation) or f"{result.value:.0f}" in result.interpretation
    assert not math.isnan(result.value)
    result.to_dict()


def test_default_keys_leave_out_the_target():
    real = pd.DataFrame({"k": list("aabbc"), "j": list("xyxyx")})
    r = attribute_disclosure(real, real, schema_for(real), target="j")
    assert r.details["keys"] == ["k"] and "'j' left out" in r.details["keys_rule"]
