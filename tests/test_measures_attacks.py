"""Attack-style risk measures and SUDA special uniques: hand-computed cases, known truths on
real data (a copy of the training data, an independent real sample), and sdcMicro's francdat."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confidata import Schema, SchemaError
from confidata.measures import MEASURES, Family, MeasureResult
from confidata.measures.attacks import _auc_delong, membership_inference, nndr
from confidata.measures.suda import special_uniques, suda_weight
from confidata.table.schema import Column, Kind, Role
from conftest import SENTINEL, SHARED

SYNTHPOP = SHARED / "reference" / "synthpop"
FRANCDAT = SHARED / "reference" / "sdcmicro" / "francdat"


def schema_for(frame: pd.DataFrame, keys: tuple[str, ...] = ()) -> Schema:
    columns = []
    for name in frame.columns:
        kind = Kind.CONTINUOUS if pd.api.types.is_numeric_dtype(frame[name]) else Kind.CATEGORICAL
        columns.append(Column(name=name, kind=kind, roles=(Role.KEY,) if name in keys else ()))
    return Schema(tuple(columns))


@pytest.fixture(scope="module")
def sd12() -> pd.DataFrame:
    path = SYNTHPOP / "sd2011_real12.csv"
    if not path.is_file():
        pytest.skip(f"synthpop reference files are absent ({SYNTHPOP}); they live beside the checkout")
    return pd.read_csv(path)


# -- registry ----------------------------------------------------------------------------------
def test_registered_as_risk_measures():
    for name in ("membership_inference", "nndr", "special_uniques"):
        spec = MEASURES[name]
        assert spec.family is Family.RISK and spec.summary and spec.applies_when


# -- AUC by hand -------------------------------------------------------------------------------
def test_auc_from_ranks_by_hand():
    # pairs (member, non-member): 3>1, 3>2, 3>2, 2=2 (half), 2=2 (half), 2>1 ... 3 x 3 = 9 pairs
    pos, neg = np.array([3.0, 2.0, 1.0]), np.array([1.0, 2.0, 0.0])
    auc, se = _auc_delong(pos, neg)
    # 3 beats all 3; 2 beats 1 and 0, ties 2; 1 ties 1, beats 0 -> (3 + 2.5 + 1.5) / 9
    assert auc == pytest.approx(7 / 9)
    assert se > 0
    assert _auc_delong(np.array([5.0, 6.0]), np.array([1.0, 2.0]))[0] == 1.0


# -- known truths on real data -----------------------------------------------------------------
def test_membership_inference_copy_and_fresh(sd12):
    schema = schema_for(sd12)
    train, hold, fresh = sd12.iloc[:1500], sd12.iloc[1500:3000], sd12.iloc[3000:4500]
    copy = membership_inference(train, train.copy(), schema, holdout=hold, max_rows=400, seed=1)
    assert isinstance(copy, MeasureResult)
    assert copy.value > 0.95 and copy.reference == 0.5 and copy.n == 800
    assert copy.details["member_median_distance"] == 0.0
    assert set(copy.tables["scores"]["rows"]) == {"member", "non-member"}
    assert f"{copy.value:.3f}" in copy.interpretation
    indep = membership_inference(train, fresh, schema, holdout=hold, max_rows=400, seed=1)
    assert indep.ci[0] < 0.5 < indep.ci[1]
    assert indep.ci[1] - indep.ci[0] < 0.12
    again = membership_inference(train, fresh, schema, holdout=hold, max_rows=400, seed=1)
    assert again.value == indep.value  # same seed, same figure


def test_nndr_copy_and_fresh(sd12):
    schema = schema_for(sd12)
    train, hold, fresh = sd12.iloc[:1500], sd12.iloc[1500:3000], sd12.iloc[3000:4500]
    copy = nndr(train, train.copy(), schema, holdout=hold, max_rows=400, seed=2)
    assert copy.value == 0.0 and copy.details["synthetic_zero_share"] > 0.95
    assert copy.reference > 0.3 and copy.value < copy.reference
    indep = nndr(train, fresh, schema, holdout=hold, max_rows=400, seed=2)
    # the interval covers the synthetic side's sampling only; the holdout median varies as much
    # (0.773 against 0.816 here, 0.778 against 0.811 on all 1,500 rows), hence the margin
    assert indep.ci[0] - 0.05 < indep.reference < indep.ci[1] + 0.05
    assert abs(indep.value - indep.reference) < 0.08 and indep.value > copy.value + 0.5
    assert indep.details["synthetic_p5"] >= 0 and len(indep.tables["ratios"]) == 800


def test_nndr_tiny_by_hand():
    # one numeric column, range 10: training 0, 4, 10; synthetic 1 -> d1 0.1, d2 0.3, ratio 1/3
    train = pd.DataFrame({"x": [0.0, 4.0, 10.0]})
    syn = pd.DataFrame({"x": [1.0, 4.0]})
    hold = pd.DataFrame({"x": [2.0]})  # d1 = d2 = 0.2 -> ratio 1
    r = nndr(train, syn, schema_for(train), holdout=hold, seed=0)
    ratios = r.tables["ratios"]
    assert ratios["nndr"].tolist() == pytest.approx([1 / 3, 0.0, 1.0])
    assert r.value == pytest.approx(1 / 6) and r.reference == pytest.approx(1.0)


# -- SUDA --------------------------------------------------------------------------------------
TINY = pd.DataFrame({"A": list("aaabbc"), "B": list("xxyyxy"), "C": [1, 1, 1, 2, 2, 2]})


def test_suda_weights():
    assert [suda_weight(k, 3, 3) for k in (1, 2, 3)] == [2, 1, 1]
    assert [suda_weight(k, 4, 3) for k in (1, 2, 3)] == [6, 2, 1]


def test_special_uniques_tiny_by_hand():
    # row 2 (a,y,1): {A,B} and {B,C} unique; row 3 (b,y,2): {A,B}; row 4 (b,x,2): {A,B}, {B,C};
    # row 5 (c,y,2): {A} (so no pair holding A counts); rows 0 and 1 are twins: no MSU.
    schema = schema_for(TINY, keys=("A", "B", "C"))
    r = special_uniques(TINY, TINY, schema)
    rec = r.tables["records"]
    assert rec["msu_count"].tolist() == [0, 0, 2, 1, 2, 1]
    assert rec["smallest_msu"].tolist() == [0, 0, 2, 2, 2, 1]
    assert rec["suda_score"].tolist() == [0, 0, 2, 1, 2, 2]  # size 1 weighs 2, size 2 weighs 1
    assert r.value == pytest.approx(4 / 6) and r.reference == pytest.approx(4 / 6)
    assert r.direction.value == "lower is better" and "66.7%" in r.interpretation
    contrib = dict(zip(r.tables["key_contributions"]["key"],
                       r.tables["key_contributions"]["msu_memberships"], strict=True))
    assert contrib == {"A": 4, "B": 5, "C": 2}
    assert special_uniques(TINY, TINY, schema, max_size=1).value == pytest.approx(1 / 6)


def test_special_uniques_reference_and_synthetic_matches():
    syn = pd.DataFrame({"A": ["c", "a"], "B": ["x", "x"], "C": [1, 1]})
    r = special_uniques(TINY, syn, schema_for(TINY), keys=["A", "B", "C"])
    assert r.reference == 1.0  # in two rows, A alone tells each apart
    assert r.details["msu_in_synthetic"] == pytest.approx(1 / 6)  # only row 5's {A = c}
    assert r.tables["records"]["msu_in_synthetic"].tolist() == [False] * 5 + [True]


def test_francdat_special_uniques():
    if not (FRANCDAT / "data.csv").is_file():
        pytest.skip(f"sdcMicro's francdat is absent ({FRANCDAT}); it lives beside the checkout")
    data = pd.read_csv(FRANCDAT / "data.csv")
    schema = Schema.load(FRANCDAT / "schema.json")
    for key in ("Key1", "Key2", "Key3", "Key4"):
        schema = schema.replace_column(key, roles=(Role.KEY,))
    r = special_uniques(data, data, schema)
    rec = r.tables["records"]
    # by hand: row 4 {Key1}, {Key2,Key4}; row 5 {Key4}; row 6 {Key1,Key4}, {Key2,Key4};
    # row 7 {Key1}, {Key2,Key4}; rows 1/8 and 2/3 are twins. Weights (4 keys, size <= 3): 6, 2, 1.
    assert rec["msu_count"].tolist() == [0, 0, 0, 2, 1, 2, 2, 0]
    assert rec["smallest_msu"].tolist() == [0, 0, 0, 1, 1, 2, 1, 0]
    assert rec["suda_score"].tolist() == [0, 0, 0, 8, 6, 4, 8, 0]
    assert r.value == 0.5 and r.details["max_score"] == 8


# -- errors ------------------------------------------------------------------------------------
def test_errors_name_the_option_never_a_value():
    real = pd.DataFrame({"k": ["a", SENTINEL, "b"], "x": [1.0, 2.0, 3.0]})
    schema = schema_for(real, keys=("k",))
    for call in (lambda: membership_inference(real, real, schema),
                 lambda: nndr(real, real, schema)):
        with pytest.raises(SchemaError, match="holdout") as info:
            call()
        assert SENTINEL not in str(info.value)
    with pytest.raises(SchemaError, match="max_rows"):
        nndr(real, real, schema, holdout=real, max_rows=0)
    with pytest.raises(SchemaError, match="max_size"):
        special_uniques(real, real, schema, max_size=0)
    with pytest.raises(SchemaError, match="'nokey'") as info:
        special_uniques(real, real, schema, keys=["k", "nokey"])
    assert SENTINEL not in str(info.value)
    with pytest.raises(SchemaError, match="'x'"):
        membership_inference(real, real.drop(columns="x"), schema, holdout=real)
