"""`confidata pprl encode | link | evaluate` as a user runs them, with planted sentinels.

Two holders encode FEBRL4 extracts in different date formats and column names; the linkage
unit links the .clk files; evaluate scores the links against FEBRL's true pairs. Sentinel names,
dates and addresses are planted in the data: none may appear in a .clk file (beside the ids),
the matches, the report, or any message.
"""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
from typer.testing import CliRunner

from _febrl import febrl4, true_partner
from confidata.cli import app
from conftest import SENTINEL, CliResult, run_cli

N = 600


def _holders(tmp_path):
    a, b = febrl4()
    a = a.head(N).copy()
    b = b[b["rec_id"].map(true_partner).isin(set(a["rec_id"]))].copy()
    # plant sentinels in records of both files (a name, an address, a suburb)
    a.loc[a.index[0], "surname"] = SENTINEL.lower()
    a.loc[a.index[1], "address_1"] = f"{SENTINEL} street"
    b.loc[b.index[2], "suburb"] = SENTINEL
    # holder B writes dates day first and calls its columns otherwise
    b["date_of_birth"] = pd.to_datetime(b["date_of_birth"], format="%Y%m%d", errors="coerce").dt.strftime(
        "%d/%m/%Y")
    b = b.rename(columns={"given_name": "first", "surname": "last", "rec_id": "person"})
    a.to_csv(tmp_path / "a.csv", index=False)
    b.to_csv(tmp_path / "b.csv", index=False)
    truth = pd.DataFrame({"a": b["person"].map(true_partner), "b": b["person"]})
    truth.to_csv(tmp_path / "truth.csv", index=False)
    (tmp_path / "holders.key").write_bytes(b"0123456789abcdef0123456789abcdef\n")
    return tmp_path


def test_encode_link_evaluate_end_to_end_leaks_no_value(tmp_path):
    folder = _holders(tmp_path)
    key = folder / "holders.key"
    outputs = []
    r = run_cli("pprl", "encode", folder / "a.csv", "--id", "rec_id", "--fields",
                "given_name,surname,date_of_birth:date,postcode:exact,suburb,address_1",
                "--secret-file", key, "-o", folder / "a.clk", "--bad-dates", "missing")
    assert r.code == 0, r.output
    outputs.append(r.output)
    r = run_cli("pprl", "encode", folder / "b.csv", "--id", "person", "--fields",
                "first,last,date_of_birth:date(%d/%m/%Y),postcode:exact,suburb,address_1",
                "--secret-file", key, "-o", folder / "b.clk", "--bad-dates", "missing")
    assert r.code == 0, r.output
    assert "dates unreadable" in r.output
    outputs.append(r.output)
    r = run_cli("pprl", "link", folder / "a.clk", folder / "b.clk", "-o", folder / "matches.csv", "--auto")
    assert r.code == 0, r.output
    outputs.append(r.output)
    matches = pd.read_csv(folder / "matches.csv", dtype=str)
    assert list(matches.columns) == ["rec_id", "person", "score"]
    r = run_cli("pprl", "evaluate", folder / "matches.csv", "--truth", folder / "truth.csv",
                "--encodings", folder / "a.clk", "--encodings", folder / "b.clk")
    assert r.code == 0, r.output
    outputs.append(r.output)
    f1 = float(r.stdout.split("│")[3]) if "│" in r.stdout else None
    assert f1 is not None and f1 >= 0.95, r.stdout
    html = (folder / "matches.quality.html").read_text()
    assert 'id="fig-link-scores"' in html and 'id="fig-pair-scores"' in html
    body = html.split("</style>")[1]
    assert "Content-Security-Policy" in html and "<script" not in html and "http" not in body
    # no sentinel anywhere: messages, matches, report, .clk header and columns other than the ids
    texts = outputs + [html, (folder / "matches.csv").read_text()]
    for clk in ("a.clk", "b.clk"):
        table = pq.read_table(folder / clk)
        texts.append(table.schema.metadata[b"confidata.pprl"].decode())
        texts.append(table.column("clk").to_pandas().map(bytes.hex).str.cat())
        texts.append((folder / clk).read_bytes().decode("latin-1"))
    for text in texts:
        assert SENTINEL.lower() not in text.lower()


def _in_process(*args) -> CliResult:
    """The same command line in this process (the errors need no fresh interpreter)."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    return CliResult(result.exit_code, result.stdout, result.stderr)


def test_errors_are_one_line_and_name_the_fix(tmp_path):
    run_cli = _in_process
    folder = _holders(tmp_path)
    key = folder / "holders.key"
    r = run_cli("pprl", "encode", folder / "a.csv", "--id", "rec_id", "--fields", "given_name,nickname",
                "--secret-file", key, "-o", folder / "a.clk")
    assert r.code == 2 and "'nickname'" in r.stderr and "Traceback" not in r.output
    (folder / "bad.key").write_bytes(b"short")
    r = run_cli("pprl", "encode", folder / "a.csv", "--id", "rec_id", "--fields", "given_name",
                "--secret-file", folder / "bad.key", "-o", folder / "a.clk")
    assert r.code == 2 and "at least 16" in r.stderr
    # FEBRL's corrupted dates: refused by default, counted, never shown
    r = run_cli("pprl", "encode", folder / "b.csv", "--id", "person", "--fields",
                "date_of_birth:date(%Y-%m-%d)", "--secret-file", key, "-o", folder / "b.clk")
    assert r.code == 2 and "rows hold a date that cannot be read" in r.stderr and "--bad-dates" in r.stderr
    # different parameters at the linkage unit
    for name, bits in (("a.clk", "1024"), ("b.clk", "512")):
        source = "a.csv" if name == "a.clk" else "b.csv"
        column = "rec_id" if name == "a.clk" else "person"
        r = run_cli("pprl", "encode", folder / source, "--id", column, "--fields", "postcode:exact",
                    "--secret-file", key, "-o", folder / name, "--bits", bits)
        assert r.code == 0, r.output
    r = run_cli("pprl", "link", folder / "a.clk", folder / "b.clk", "-o", folder / "m.csv")
    assert r.code == 2 and "filter length" in r.stderr
    assert SENTINEL.lower() not in r.output.lower()
