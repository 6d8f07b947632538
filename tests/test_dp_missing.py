"""A DP method writes missing cells only where the schema lets a column be missing (public
domain) or where the missing cells' noisy count cleared the threshold (bought domain): noise on
an always-present "missing" code used to put missing SEX and DEAR cells into NIST files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confidata import SynthesisError
from confidata.synth.dp import AIM, MST, PrivBayes
from confidata.table import Column, Kind, Schema, read_table
from conftest import SENTINEL

NIST_COLUMNS = ["SEX", "DEAR", "DEYE", "MSP", "EDU", "AGEP", "RAC1P"]
METHODS = [(MST, {"delta": 1e-9, "iters": 200}),
           (AIM, {"delta": 1e-9, "iters": 200, "degree": 2, "rounds": 6, "round_iters": 50,
                  "draws": 2000}),
           (PrivBayes, {})]


@pytest.fixture(scope="module")
def nist_part():
    from conftest import shared_dataset

    folder = shared_dataset("nist_national2019")
    frame, schema = read_table(folder / "data.csv", folder / "schema.json")  # the shipped schema
    frame = frame[NIST_COLUMNS].sample(6000, random_state=0).reset_index(drop=True)
    return frame, schema.select(NIST_COLUMNS)


@pytest.mark.parametrize("cls,options", METHODS)
def test_nist_columns_declared_never_missing_get_no_missing_cells(cls, options, nist_part):
    frame, schema = nist_part
    assert not schema["SEX"].missing_values and not schema["DEAR"].missing_values  # as shipped
    model = cls(schema, epsilon=1.0, seed=3, **options).fit(frame)
    out = model.sample(6000, seed=1)
    for name in ("SEX", "DEAR", "DEYE", "RAC1P", "AGEP"):
        assert out[name].notna().all(), name
    # MSP declares 'N' (under 15): a sixth of the real rows; the synthetic file keeps that share
    real, synthetic = frame["MSP"].isna().mean(), out["MSP"].isna().mean()
    assert real > 0.1 and abs(synthetic - real) < 0.05, (real, synthetic)
    sizes = {a.name: a.size for a in model.attributes_}
    assert sizes["SEX"] == 2 and sizes["DEAR"] == 2 and sizes["MSP"] == 7


def test_bought_levels_buy_the_missing_code_only_when_it_clears():
    rng = np.random.default_rng(0)
    n = 4000
    frame = pd.DataFrame({"never": rng.choice(["a", "b", "c"], n),
                          "often": rng.choice(["x", "y"], n).astype(object)})
    frame.loc[rng.random(n) < 0.3, "often"] = None
    schema = Schema((Column("never", Kind.CATEGORICAL, domain_public=False),
                     Column("often", Kind.CATEGORICAL, missing_values=("",), domain_public=False)))
    for seed in range(3):
        model = MST(schema, epsilon=1.0, delta=1e-9, seed=seed, levels_share=0.1, iters=100).fit(frame)
        out = model.sample(n, seed=seed)
        assert out["never"].notna().all()
        assert abs(out["often"].isna().mean() - 0.3) < 0.05


def test_missing_cells_in_a_column_declared_never_missing_are_refused_without_a_value():
    frame = pd.DataFrame({"region": ["north", "south", SENTINEL] * 300 + [None],
                          "age": np.arange(901) % 90})
    schema = Schema((Column("region", Kind.CATEGORICAL, levels=("north", "south", SENTINEL)),
                     Column("age", Kind.INTEGER, minimum=0, maximum=89)))
    with pytest.raises(SynthesisError) as caught:
        MST(schema, epsilon=1.0, delta=1e-9, seed=1).fit(frame)
    message = str(caught.value)
    assert "'region'" in message and "missing_values" in message and SENTINEL not in message
