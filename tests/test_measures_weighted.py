"""Weighted estimates with CI overlap, individual (Benedetti-Franconi) risk, and key resolution:
hand-computed cases, sdcMicro's francdat worked by hand, and known truths on NIST ACS 2019."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from confidata import Schema, SchemaError
from confidata.measures import MEASURES, Direction, Family
from confidata.measures.keys import resolve_keys
from confidata.measures.weighted import individual_risk, risk_from_counts, weighted_estimates
from confidata.table.readers import read_table
from confidata.table.schema import Column, Kind, Role
from conftest import SENTINEL, SHARED

NIST_KEYS = ["PUMA", "AGEP", "SEX", "RAC1P"]


def small_schema(keys=("k",), weight="w") -> Schema:
    return Schema((
        Column(name="k", kind=Kind.CATEGORICAL, roles=(Role.KEY,) if "k" in keys else ()),
        Column(name="c", kind=Kind.CATEGORICAL),
        Column(name="y", kind=Kind.CONTINUOUS),
        Column(name="s", kind=Kind.CATEGORICAL, roles=(Role.SENSITIVE,)),
        Column(name="w", kind=Kind.CONTINUOUS, roles=(Role.WEIGHT,) if weight else ()),
    ))


def small_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "k": ["a", "a", "b", "b", "b", "c"], "c": ["x", "y", "x", "x", "y", "y"],
        "y": [1.0, 3.0, 2.0, 4.0, 6.0, 5.0], "s": list("pqpqpq"),
        "w": [10.0, 30.0, 5.0, 5.0, 10.0, 40.0],
    })


@pytest.fixture(scope="module")
def nist_frame():
    folder = SHARED / "data" / "nist_national2019"
    if not (folder / "data.csv").is_file():
        pytest.skip(f"shared data set nist_national2019 is absent ({folder}); it lives beside the checkout")
    return read_table(folder / "data.csv")


# -- keys ---------------------------------------------------------------------------------------
def test_resolve_keys_rules():
    frame = small_frame()
    keys, rule = resolve_keys(small_schema(), frame, ["c", "k", "c"])
    assert keys == ["c", "k"] and "caller" in rule
    keys, rule = resolve_keys(small_schema(), frame)
    assert keys == ["k"] and "role 'key'" in rule
    keys, rule = resolve_keys(small_schema(keys=()), frame)  # default: categorical, not sensitive
    assert keys == ["k", "c"] and "default" in rule and "50 levels" in rule
    with pytest.raises(SchemaError, match="'nokey'") as info:
        resolve_keys(small_schema(), frame.assign(k=SENTINEL), ["k", "nokey"])
    assert SENTINEL not in str(info.value)
    with pytest.raises(SchemaError, match="key"):
        resolve_keys(small_schema(keys=()), frame, allow_default=False)


# -- weighted estimates ------------------------------------------------------------------------
def test_weighted_estimates_by_hand():
    real = small_frame()
    r = weighted_estimates(real, real, small_schema(), variables=["y"])
    t = r.tables["estimates"].set_index(["domain", "domain_level", "variable", "statistic"])
    w, y = real["w"].to_numpy(), real["y"].to_numpy()
    n = len(w)
    # overall total, Hansen-Hurwitz with replacement: n/(n-1) sum (w y - T/n)^2
    total = float((w * y).sum())
    se_total = math.sqrt(n / (n - 1) * ((w * y - total / n) ** 2).sum())
    row = t.loc[("(all)", "(all)", "y", "total")]
    assert row["real"] == pytest.approx(total) and row["real_se"] == pytest.approx(se_total)
    # domain mean for k = b, linearised: u_i = w_i 1{b} (y_i - R) / N_b
    inb = (real["k"] == "b").to_numpy()
    mean_b = float((w * y)[inb].sum() / w[inb].sum())
    u = np.where(inb, w * (y - mean_b), 0.0) / w[inb].sum()
    se_mean = math.sqrt(n / (n - 1) * ((u - u.mean()) ** 2).sum())
    row = t.loc[("k", "b", "y", "mean")]
    assert row["real"] == pytest.approx(mean_b) and row["real_se"] == pytest.approx(se_mean)
    assert t.loc[("k", "c", "(population)", "total")]["real"] == pytest.approx(40.0)
    # a copy overlaps completely
    assert r.value == pytest.approx(1.0) and r.reference == 1.0
    assert r.direction is Direction.HIGHER_IS_BETTER
    assert "own weight column 'w'" in r.details["synthetic_weighting"]
    assert f"{r.value:.1%}" in r.interpretation


def test_unweighted_synthetic_is_scaled_to_the_real_total():
    real = small_frame()
    syn = real.drop(columns="w")
    r = weighted_estimates(real, syn, small_schema(), variables=["c"])
    t = r.tables["estimates"]
    pop = t[(t["domain"] == "(all)") & (t["variable"] == "(population)")].iloc[0]
    assert pop["synthetic"] == pytest.approx(real["w"].sum())
    assert "equal weights" in r.details["synthetic_weighting"]
    share = t[(t["domain"] == "(all)") & (t["category"] == "x")].iloc[0]
    assert share["synthetic"] == pytest.approx(0.5) and share["real"] == pytest.approx(20 / 100)


def test_weighted_estimates_errors_name_columns():
    real = small_frame()
    bad = real.assign(w=[1.0, -1.0, 1.0, 1.0, 1.0, 1.0], k=SENTINEL)
    with pytest.raises(SchemaError, match="'w'") as info:
        weighted_estimates(bad, real, small_schema())
    assert SENTINEL not in str(info.value)
    with pytest.raises(SchemaError, match="weight="):
        weighted_estimates(real, real, small_schema(weight=None))
    with pytest.raises(SchemaError, match="'nothere'"):
        weighted_estimates(real, real, small_schema(), domains=["nothere"])


def test_nist_weighted_estimates_known_truths(nist_frame):
    frame, schema = nist_frame
    with pytest.raises(SchemaError, match="'PWGTP', 'WGTP'"):
        weighted_estimates(frame, frame, schema)  # two weights: the user must choose
    variables = ["AGEP", "PINCP", "HOUSING_TYPE"]
    copy = weighted_estimates(frame, frame, schema, weight="PWGTP", variables=variables)
    assert copy.value == pytest.approx(1.0)
    assert copy.details["domains"] == ["PUMA", "SEX", "MSP", "HISP", "RAC1P"]
    # PUMA shuffled, rows resampled ignoring the weights: PUMA-domain estimates fall apart
    rng = np.random.default_rng(7)
    shuffled = frame.assign(PUMA=frame["PUMA"].to_numpy()[rng.permutation(len(frame))])
    shuffled = shuffled.iloc[rng.integers(0, len(frame), len(frame))].drop(columns="PWGTP")
    r = weighted_estimates(frame, shuffled, schema, weight="PWGTP", domains=["PUMA", "SEX"],
                           variables=variables)
    by = r.details["overlap_by_domain"]
    assert by["PUMA"] < 0.5 < copy.details["overlap_by_domain"]["PUMA"]
    assert r.value < 0.7
    table = r.tables["estimates"]
    needed = {"real", "real_lower", "real_upper", "synthetic", "synthetic_lower",
              "synthetic_upper", "ci_overlap"}
    assert needed <= set(table.columns) and table["ci_overlap"].between(0, 1).all()
    # PUMA shuffled but the weights kept: overall estimates stay, PUMA estimates do not
    kept = frame.assign(PUMA=frame["PUMA"].to_numpy()[rng.permutation(len(frame))])
    r = weighted_estimates(frame, kept, schema, weight="PWGTP", domains=["PUMA"],
                           variables=variables)
    assert r.details["overlap_by_domain"]["(all)"] == pytest.approx(1.0)
    assert r.details["overlap_by_domain"]["PUMA"] < 0.6


# -- individual risk ---------------------------------------------------------------------------
def closed_form(f: int, big_f: float) -> float:
    """Benedetti & Franconi (1998) closed forms, written out independently of the module."""
    p = f / big_f
    q = 1 - p
    if f == 1:
        return p / q * math.log(1 / p)
    if f == 2:
        return p / q**2 * (p * math.log(p) + q)
    return p / (2 * q**3) * (q * (3 * q - 2) - 2 * p**2 * math.log(p))


def test_risk_formula_closed_forms_series_and_limits():
    for f, big_f in [(1, 17), (2, 110), (3, 50), (1, 3), (2, 84.5)]:
        assert risk_from_counts(np.array([f]), np.array([big_f]))[0] == pytest.approx(closed_form(f, big_f))
    # the series near q = 0 against the closed form; F = f gives 1/f; large F gives about 1/F
    assert risk_from_counts(np.array([2]), np.array([2.2]))[0] == pytest.approx(closed_form(2, 2.2))
    assert risk_from_counts(np.array([1, 3, 5]), np.array([1.0, 3.0, 5.0])) == pytest.approx([1, 1 / 3, 0.2])
    big = risk_from_counts(np.array([100]), np.array([10_000.0]))[0]
    assert 1e-4 < big < 1.02e-4
    # f = 4 by numerical integration of E[1/F] = p^f int_0^1 t^(f-1) (1 - q t)^(-f) dt
    t = np.linspace(0, 1, 200_001)
    p, q = 4 / 40, 0.9
    integral = np.trapezoid(t**3 / (1 - q * t) ** 4, t) * p**4
    assert risk_from_counts(np.array([4]), np.array([40.0]))[0] == pytest.approx(integral, rel=1e-6)


def test_francdat_individual_risk_by_hand(francdat):
    data, schema = francdat
    r = individual_risk(data, data, schema)
    table = r.tables["individual_risk"]
    assert table["fk"].tolist() == [2, 2, 2, 1, 1, 1, 1, 2]
    assert table["Fk"].tolist() == pytest.approx([110, 84.5, 84.5, 17, 541, 8, 5, 110])
    # by hand: f=1 -> ln(F)/(F-1); f=2 -> p/q^2 (p ln p + q)
    by_hand = [closed_form(2, 110), closed_form(2, 84.5), closed_form(2, 84.5),
               math.log(17) / 16, math.log(541) / 540, math.log(8) / 7, math.log(5) / 4,
               closed_form(2, 110)]
    assert table["risk"].tolist() == pytest.approx(by_hand)
    assert table["risk"].tolist() == pytest.approx(
        [0.0171443, 0.0220423, 0.0220423, 0.1770758, 0.0116537, 0.2970631, 0.4023595, 0.0171443],
        abs=1e-6)
    assert r.value == pytest.approx(sum(by_hand)) and r.value == pytest.approx(0.9665260, abs=1e-6)
    assert r.reference == 4.0 and r.direction is Direction.LOWER_IS_BETTER
    assert "role 'key'" in r.details["keys_rule"]
    assert f"{r.value:.2f}" in r.interpretation and "4" in r.interpretation


def test_unweighted_risk_is_one_over_fk():
    real = small_frame()
    r = individual_risk(real, real, small_schema(weight=None))
    assert r.tables["individual_risk"]["risk"].tolist() == pytest.approx([0.5, 0.5, 1 / 3, 1 / 3, 1 / 3, 1])
    assert r.value == pytest.approx(3.0) and r.reference == 1.0


def test_nist_individual_risk_plausible(nist_frame):
    frame, schema = nist_frame
    r = individual_risk(frame, frame, schema, keys=NIST_KEYS, weight="PWGTP")
    table = r.tables["individual_risk"]
    assert table["risk"].between(0, 1).all()
    by_fk = table.groupby(table["fk"].clip(upper=3))["risk"].mean()
    assert by_fk[1] > by_fk[2] > by_fk[3]
    assert 0 < r.value < r.reference == (table["fk"] == 1).sum()
    assert r.details["keys"] == NIST_KEYS and "caller" in r.details["keys_rule"]


def test_registered():
    assert MEASURES["weighted_estimates"].family is Family.UTILITY_GENERAL
    assert MEASURES["weighted_estimates"].applies_when == "a survey weight is declared"
    assert MEASURES["individual_risk"].family is Family.RISK
