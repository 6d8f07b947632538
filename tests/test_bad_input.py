"""Bad input: one clear line naming the file or column and the fix, exit 2, no traceback, no
data value. Awkward but valid files simply work."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from confidata import ConfidataWarning, InputFileError, Schema, SchemaError, read_table
from conftest import SENTINEL


def assert_clean_failure(result, *names: str) -> None:
    """Exit 2, one line on stderr, no traceback, no planted value, and it names what's wrong."""
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    assert SENTINEL not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip() and not ln.startswith("Warning:")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error:")
    for name in names:
        assert name in lines[0], (name, lines[0])


def good_rows(n: int = 30) -> str:
    rows = [f"{i},{['a', 'b', 'c'][i % 3]},{SENTINEL if i == 3 else i * 1.5}" for i in range(n)]
    return "\n".join(rows) + "\n"


def test_missing_path(tmp_path, cli):
    result = cli("inspect", tmp_path / "nowhere.csv")
    assert_clean_failure(result, "nowhere.csv", "does not exist")


def test_file_that_is_not_what_its_extension_says(tmp_path, cli):
    fake = tmp_path / "table.csv"
    pd.DataFrame({"x": [1, 2, 3]}).to_parquet(tmp_path / "real.parquet")
    fake.write_bytes((tmp_path / "real.parquet").read_bytes())
    assert_clean_failure(cli("inspect", fake), "table.csv", "Parquet")
    fake_sav = tmp_path / "survey.sav"
    fake_sav.write_text(f"a,b\n1,{SENTINEL}\n2,3\n")
    assert_clean_failure(cli("inspect", fake_sav), "survey.sav", "SPSS")


def test_empty_file(tmp_path, cli):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert_clean_failure(cli("inspect", empty), "empty.csv", "empty")


def test_header_only(tmp_path, cli):
    header = tmp_path / "header.csv"
    header.write_text("age,sex,income\n")
    assert_clean_failure(cli("inspect", header), "header.csv", "no data rows")


def test_one_row(tmp_path, cli):
    one = tmp_path / "one.csv"
    one.write_text(f"age,sex,income\n34,F,{SENTINEL}\n")
    assert_clean_failure(cli("inspect", one), "one.csv", "only 1 data row")


def test_duplicate_column_names(tmp_path, cli):
    dup = tmp_path / "dup.csv"
    dup.write_text("id,age,age\n" + good_rows())
    assert_clean_failure(cli("inspect", dup), "dup.csv", "'age'", "duplicate")


def test_ragged_rows(tmp_path, cli):
    ragged = tmp_path / "ragged.csv"
    lines = good_rows().splitlines()
    lines[6] = lines[6] + f",{SENTINEL}"  # data row 7 = line 8 of the file
    ragged.write_text("id,group,value\n" + "\n".join(lines) + "\n")
    assert_clean_failure(cli("inspect", ragged), "ragged.csv", "line 8", "4 field")


def test_short_row_is_ragged_too(tmp_path):
    short = tmp_path / "short.csv"
    lines = good_rows().splitlines()
    lines[10] = "10,a"
    short.write_text("id,group,value\n" + "\n".join(lines) + "\n")
    with pytest.raises(InputFileError, match="line 12 has 2 field"):
        read_table(short)


def test_undecodable_bytes(tmp_path, cli):
    bad = tmp_path / "bytes.csv"
    # 0x81 and 0x8d are invalid in UTF-8 here and undefined in Windows-1252.
    bad.write_bytes(b"name,value\nab\x81\x8d,1\ncd,2\nef,3\n")
    assert_clean_failure(cli("inspect", bad), "bytes.csv", "--encoding", "line 2")


def test_schema_naming_columns_the_file_lacks(tmp_path, cli):
    data = tmp_path / "data.csv"
    data.write_text("id,group,value\n" + good_rows())
    schema = tmp_path / "schema.json"
    schema.write_text(
        '{"columns": [{"name": "group", "type": "categorical"},'
        ' {"name": "postcode", "type": "categorical"}]}'
    )
    assert_clean_failure(cli("inspect", data, "--schema", schema, "-o", tmp_path / "o.json"),
                         "'postcode'", "data.csv")


def test_existing_output_without_overwrite(tmp_path, cli):
    data = tmp_path / "data.csv"
    data.write_text("id,group,value\n" + good_rows())
    target = tmp_path / "mine.json"
    target.write_text("precious")
    assert_clean_failure(cli("inspect", data, "-o", target), "mine.json", "--overwrite")
    assert target.read_text() == "precious"
    out = tmp_path / "out.parquet"
    out.write_bytes(b"precious")
    assert_clean_failure(cli("convert", data, out), "out.parquet", "--overwrite")
    assert out.read_bytes() == b"precious"
    ok = cli("inspect", data, "-o", target, "--overwrite")
    assert ok.code == 0, ok.output
    assert Schema.load(target).names == ["id", "group", "value"]


def test_value_outside_schema_levels_names_column_and_row_not_value(tmp_path, cli):
    data = tmp_path / "data.csv"
    data.write_text("id,group,value\n" + good_rows().replace(",b,", f",{SENTINEL},", 1))
    schema = tmp_path / "schema.json"
    schema.write_text('{"columns": [{"name": "group", "type": "categorical",'
                      ' "allowed_values": ["a", "b", "c"]}]}')
    result = cli("inspect", data, "--schema", schema, "-o", tmp_path / "o.json")
    assert_clean_failure(result, "'group'", "data row 2", "allowed_values")


def test_text_in_a_numeric_column_of_the_schema(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("id,group,value\n" + good_rows())
    schema = Schema.from_dict({"columns": [{"name": "value", "type": "continuous"}]})
    with pytest.raises(SchemaError) as info:
        read_table(data, schema=schema)
    assert "'value'" in str(info.value) and "data row 4" in str(info.value)
    assert SENTINEL not in str(info.value)


def test_database_with_several_tables_needs_table(tmp_path, cli):
    db = tmp_path / "register.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE persons (id INTEGER, age INTEGER)")
        con.execute("CREATE TABLE jobs (id INTEGER, wage REAL)")
        con.executemany("INSERT INTO persons VALUES (?, ?)", [(i, 20 + i) for i in range(10)])
    assert_clean_failure(cli("inspect", db), "--table", "'persons'", "'jobs'")
    ok = cli("inspect", db, "--table", "persons", "-o", tmp_path / "p.json")
    assert ok.code == 0, ok.output


# -- awkward files that simply work ------------------------------------------------------------

AWKWARD_ROWS = [
    ("Zürich", "Müller, Anna", "12.5"),
    ("Genève", "Dubois", "7"),
    ("São Paulo", 'Silva "Zé"', "3.25"),
    ("Kraków", "Nowak", "18"),
] * 5


def _awkward_text(delimiter: str, newline: str) -> str:
    def quote(v: str) -> str:
        if delimiter in v or '"' in v or "," in v:
            return '"' + v.replace('"', '""') + '"'
        return v

    lines = [delimiter.join(["city", "name", "score"])]
    lines += [delimiter.join(quote(v) for v in row) for row in AWKWARD_ROWS]
    return newline.join(lines) + newline


@pytest.mark.parametrize(
    ("encoding", "delimiter", "newline", "bom"),
    [
        ("utf-8", ",", "\n", False),
        ("utf-8", ";", "\r\n", True),
        ("cp1252", ";", "\r\n", False),
        ("latin-1", "\t", "\n", False),
        ("utf-8", "|", "\n", False),
    ],
    ids=["utf8-comma", "utf8-bom-semicolon-crlf", "cp1252-semicolon", "latin1-tab", "pipe"],
)
def test_awkward_csv_reads_correctly(tmp_path, encoding, delimiter, newline, bom):
    if encoding == "cp1252" or encoding == "latin-1":
        rows = [r for r in AWKWARD_ROWS if r[0] != "Kraków"]  # ó is fine, but ł is not latin-1
    else:
        rows = AWKWARD_ROWS
    text = _awkward_text(delimiter, newline)
    if encoding != "utf-8":
        text = text.replace("Kraków,Nowak,18" + newline, "")
        text = "".join(ln + newline for ln in text.split(newline) if ln and "Kraków" not in ln)
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)
    path = tmp_path / "awkward.csv"
    path.write_bytes(data)
    frame, schema = read_table(path)
    assert schema.names == ["city", "name", "score"]
    assert list(frame["city"].astype(str)) == [r[0] for r in rows]
    assert list(frame["name"].astype(str)) == [r[1] for r in rows]
    assert frame["score"].tolist() == [float(r[2]) for r in rows]


def test_quoted_newline_inside_a_value(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('id,note\n1,"first line\nsecond line"\n2,plain\n3,"a, b"\n')
    frame, _ = read_table(path)
    assert frame["note"].astype(str).tolist() == ["first line\nsecond line", "plain", "a, b"]


def test_all_missing_column_is_kept_with_a_warning(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("id,empty,value\n" + "".join(f"{i},,{i % 4}\n" for i in range(20)))
    with pytest.warns(ConfidataWarning, match="'empty'.*entirely missing"):
        frame, schema = read_table(path)
    assert "empty" in schema.names
    assert frame["empty"].isna().all() and len(frame) == 20


def test_all_missing_column_warning_on_the_cli(tmp_path, cli):
    path = tmp_path / "gaps.csv"
    path.write_text("id,empty,value\n" + "".join(f"{i},,{i % 4}\n" for i in range(20)))
    result = cli("inspect", path)
    assert result.code == 0, result.output
    assert "Warning:" in result.stderr and "'empty'" in result.stderr
    assert (tmp_path / "gaps.schema.json").is_file()


def test_numeric_codes_written_as_floats_match_integer_levels(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("a,b\n" + "".join(f"{['1.0', '2.0', '3.0'][i % 3]},{i}\n" for i in range(30)))
    schema = Schema.from_dict({"columns": [{"name": "a", "type": "categorical",
                                            "allowed_values": ["1", "2", "3"]},
                                           {"name": "b", "type": "integer"}]})
    frame, _ = read_table(path, schema=schema)
    assert frame["a"].astype(str).tolist()[:3] == ["1", "2", "3"]


def test_infinite_numbers_are_refused_by_column_and_row(tmp_path):
    path = tmp_path / "inf.csv"
    path.write_text("x,y\n" + "".join(f"{i},{'inf' if i == 4 else i}\n" for i in range(20)))
    schema = Schema.from_dict({"columns": [{"name": "x", "type": "integer"},
                                           {"name": "y", "type": "continuous"}]})
    with pytest.raises(SchemaError, match="'y' has 1 infinite value.*data row 5"):
        read_table(path, schema=schema)


def test_utf16_text_export_is_read(tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_bytes(("city\tscore\n" + "".join(f"Zürich\t{i}\n" for i in range(10))).encode("utf-16"))
    frame, _ = read_table(path)
    assert frame["city"].astype(str).tolist() == ["Zürich"] * 10
