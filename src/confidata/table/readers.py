"""Readers: every format an NSO keeps microdata in, turned into one raw frame plus metadata.

A reader does not decide column kinds. Text formats (CSV, TSV) give every column as strings,
exactly as written, so that inference can see the raw tokens ("N", "-8", "") that mean
missing. Typed formats (Parquet, Excel, SAS, SPSS, Stata, databases) keep their types and hand
over what their metadata says: variable labels, value labels, SPSS measure levels and
user-defined missing values. `read_table` then infers or checks the schema and conforms the
frame to it.
"""

from __future__ import annotations

import csv
import datetime
import io
import sqlite3
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from confidata.errors import ConfidataWarning, InputFileError, SchemaError, quote_names
from confidata.table._files import FORMATS, decode_text, detect_format, format_name, sniff_delimiter
from confidata.table.conform import conform, value_text
from confidata.table.infer import ColumnHints, infer_schema
from confidata.table.schema import Schema

__all__ = ["MIN_ROWS", "READABLE", "RawTable", "from_raw", "read_raw", "read_table"]

# file extension -> format name, for every format `read_raw` reads (the counterpart of
# writers.WRITABLE): what an upload form or a file dialog may offer
READABLE: dict[str, str] = FORMATS

# A table with fewer rows cannot be synthesised or assessed; a one-row "table" is nearly
# always a wrong export (a header plus a totals row, a transposed sheet).
MIN_ROWS = 2


@dataclass
class RawTable:
    """What a reader found: the frame as stored, per-column metadata, and where it came from."""

    frame: pd.DataFrame
    hints: dict[str, ColumnHints] = field(default_factory=dict)
    source: str = ""
    format: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    name: str = ""  # the file's stem: the dataset's name in an inferred schema
    stored_schema: Schema | None = None  # a schema the file carries (confidata's Parquet)


def read_table(
    path: str | Path,
    schema: Schema | str | Path | None = None,
    *,
    table: str | None = None,
    encoding: str | None = None,
) -> tuple[pd.DataFrame, Schema]:
    """Read a data file into a typed DataFrame and its `Schema`.

    With no schema, one is inferred from the data (see `confidata.table.infer`). A given schema
    is checked against the file: columns it names that the file lacks, and values that
    contradict it, raise `SchemaError`; file columns it does not describe are inferred, with a
    warning.
    """
    return from_raw(read_raw(path, table=table, encoding=encoding), schema)


def from_raw(raw: RawTable, schema: Schema | str | Path | None = None) -> tuple[pd.DataFrame, Schema]:
    """The typed frame and schema of an already-read `RawTable` (see `read_table`)."""
    if isinstance(schema, str | Path):
        schema = Schema.load(schema)
    if schema is None and raw.stored_schema is not None:
        schema = raw.stored_schema
    if schema is None:
        schema = infer_schema(raw.frame, raw.hints, dataset=raw.name)
    else:
        schema = _reconcile(schema, raw)
    frame = conform(raw.frame, schema, source=raw.source)
    empty = [c.name for c in schema if frame[c.name].isna().all()]
    if empty:
        warnings.warn(
            f"{raw.source}: column(s) {quote_names(empty)} are entirely missing; they are kept "
            "as missing. Drop them if they carry nothing.",
            ConfidataWarning,
            stacklevel=3,
        )
    return frame, schema


def _reconcile(schema: Schema, raw: RawTable) -> Schema:
    lacking = [n for n in schema.names if n not in raw.frame.columns]
    if lacking:
        raise SchemaError(
            f"The schema names column(s) {quote_names(lacking)} that {raw.source} lacks. "
            "Remove them from the schema, or check that schema and file belong together."
        )
    extra = [c for c in raw.frame.columns if c not in schema]
    if not extra:
        return schema.select(raw.frame.columns)
    inferred = infer_schema(raw.frame[extra], {k: raw.hints[k] for k in extra if k in raw.hints})
    warnings.warn(
        f"{raw.source}: column(s) {quote_names(extra)} are not in the schema; their kinds were "
        "inferred. Add them to the schema to fix their kinds.",
        ConfidataWarning,
        stacklevel=3,
    )
    by_name = {c.name: c for c in (*schema.columns, *inferred.columns)}
    return Schema(
        columns=tuple(by_name[n] for n in raw.frame.columns),
        dataset=schema.dataset,
        extra=schema.extra,
    )


def read_raw(
    path: str | Path, *, table: str | None = None, encoding: str | None = None
) -> RawTable:
    """Read any supported file into a `RawTable`, refusing files that are not a usable table."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"'{path}' does not exist; check the path and the current folder.")
    if path.is_dir():
        raise InputFileError(f"'{path}' is a folder; give the path of a data file.")
    fmt = detect_format(path)
    if table is not None and fmt not in ("sqlite", "duckdb"):
        raise InputFileError(
            f"--table only applies to database files; '{path}' is a {format_name(fmt)} file."
        )
    reader = _READERS[fmt]
    try:
        raw = reader(path, table=table, encoding=encoding)
    except (InputFileError, SchemaError):
        raise
    except Exception as exc:  # a library failing on a corrupt file: say which file, not its bytes
        raise InputFileError(
            f"'{path}' could not be read as {format_name(fmt)} ({type(exc).__name__}); the file "
            "may be damaged or truncated. Export it again."
        ) from None
    raw.source = f"'{path}'"
    raw.name = path.stem
    raw.format = fmt
    _check_shape(raw.frame, path)
    return raw


def _check_shape(frame: pd.DataFrame, path: Path) -> None:
    names = [str(c) for c in frame.columns]
    blank = [i + 1 for i, n in enumerate(names) if not n.strip()]
    if blank:
        raise InputFileError(
            f"'{path}' has a column with no name (column {blank[0]}); give every column a header."
        )
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})
    if dupes:
        raise InputFileError(
            f"'{path}' has duplicate column name(s) {quote_names(dupes)}; rename them so that "
            "each column has its own name."
        )
    if len(frame) == 0:
        raise InputFileError(
            f"'{path}' has a header but no data rows; export the table again with its rows."
        )
    if len(frame) < MIN_ROWS:
        raise InputFileError(
            f"'{path}' has only {len(frame)} data row; confidata needs at least {MIN_ROWS} "
            "(synthesis and risk measures need many more). Check that the export is complete."
        )


# -- text ---------------------------------------------------------------------------------


def _read_csv(path: Path, *, table: str | None, encoding: str | None) -> RawTable:
    text, used = decode_text(path.read_bytes(), path, encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise InputFileError(f"'{path}' holds no text (only blank lines); export the table again.")
    if "\x00" in text:
        raise InputFileError(
            f"'{path}' contains NUL bytes, so it is not a text table; check that it really is CSV."
        )
    delimiter = sniff_delimiter(text, path.suffix.lower())
    header_line = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    names = [h.strip() for h in header_line]
    _check_shape(pd.DataFrame(columns=names, index=[0, 1]), path)  # names only
    data = text.encode("utf-8")
    bad_rows: list[tuple[int | None, int, int]] = []

    def on_bad(row: Any) -> str:
        bad_rows.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    def parse(use_threads: bool) -> pa.Table:
        return pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, use_threads=use_threads, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_bad
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )

    arrow = parse(use_threads=True)
    if bad_rows:
        bad_rows.clear()
        parse(use_threads=False)  # single-threaded parsing knows the line numbers
        line, expected, actual = bad_rows[0]
        raise InputFileError(
            f"'{path}' has rows with the wrong number of fields: line {line} has {actual} "
            f"field(s) where the header has {expected} ({len(bad_rows)} such row(s) in all). "
            "Fix the export (often an unquoted delimiter inside a value) and try again."
        )
    frame = arrow.to_pandas()
    frame.columns = names
    return RawTable(frame=frame, encoding=used, delimiter=delimiter)


# -- typed formats ------------------------------------------------------------------------


def _read_parquet(path: Path, *, table: str | None, encoding: str | None) -> RawTable:
    import pyarrow.parquet as pq

    arrow = pq.read_table(path)
    frame = arrow.to_pandas()
    stored = (arrow.schema.metadata or {}).get(b"confidata.schema")
    raw = RawTable(frame=frame)
    if stored:
        raw.stored_schema = Schema.from_json(
            stored.decode("utf-8"), where=f"the schema stored in '{path}'"
        )
    return raw


def _read_excel(path: Path, *, table: str | None, encoding: str | None) -> RawTable:
    # calamine (Rust) reads .xlsx, .xls and .ods alike, and fast
    frame = pd.read_excel(path, sheet_name=0, dtype=object, engine="calamine")
    frame.columns = [str(c) for c in frame.columns]
    unnamed = [c for c in frame.columns if c.startswith("Unnamed: ")]
    if unnamed:
        raise InputFileError(
            f"'{path}' has a column with no header in its first sheet; give every column a "
            "name in the first row."
        )
    filled = np.flatnonzero(frame.notna().any(axis=1).to_numpy())
    # Formatted-but-empty rows after the data are not rows; empty rows inside the data are.
    frame = frame.iloc[: filled[-1] + 1 if len(filled) else 0].reset_index(drop=True)
    for name in frame.columns:
        frame[name] = _excel_column(frame[name])
    return RawTable(frame=frame)


def _excel_column(values: pd.Series) -> pd.Series:
    """Excel cells are typed one by one; give pandas one type per column where one fits."""
    non_null = values.dropna()
    if non_null.map(lambda v: isinstance(v, bool | np.bool_)).all() and len(non_null):
        return values.map(lambda v: "" if pd.isna(v) else str(v).upper())
    if non_null.map(lambda v: isinstance(v, int | float | np.number) and not isinstance(v, bool)).all():
        return pd.to_numeric(values)
    if non_null.map(lambda v: isinstance(v, datetime.date | np.datetime64)).all() and len(non_null):
        return pd.to_datetime(values)
    return values.map(lambda v: "" if pd.isna(v) else str(v))


def _read_stat(path: Path, *, table: str | None, encoding: str | None) -> RawTable:
    """SAS, SPSS and Stata files through pyreadstat, with their labels and missing codes."""
    import pyreadstat

    fmt = detect_format(path)
    kwargs: dict[str, Any] = {}
    if encoding:
        kwargs["encoding"] = encoding
    if fmt == "spss":
        frame, meta = pyreadstat.read_sav(path, user_missing=True, **kwargs)
    elif fmt == "stata":
        frame, meta = pyreadstat.read_dta(path, **kwargs)
    elif fmt == "sas7bdat":
        frame, meta = pyreadstat.read_sas7bdat(path, **kwargs)
    else:
        frame, meta = pyreadstat.read_xport(path, **kwargs)
    labels = dict(zip(meta.column_names, meta.column_labels or [], strict=False))
    value_labels: Mapping[str, Mapping[Any, str]] = meta.variable_value_labels or {}
    measures = getattr(meta, "variable_measure", {}) or {}
    missing_ranges = getattr(meta, "missing_ranges", {}) or {}
    hints: dict[str, ColumnHints] = {}
    for name in frame.columns:
        user_missing = []
        for rng in missing_ranges.get(name, []):
            if rng["lo"] == rng["hi"]:
                user_missing.append(rng["lo"])
            else:
                warnings.warn(
                    f"'{path}': column '{name}' declares a range of user-missing values; confidata "
                    "keeps only single missing codes, so values in that range are read as data. "
                    "List the codes in the schema's missing_values.",
                    ConfidataWarning,
                    stacklevel=4,
                )
        hints[name] = ColumnHints(
            label=labels.get(name) or "",
            value_labels={value_text(k): str(v) for k, v in value_labels.get(name, {}).items()},
            measure=measures.get(name, "unknown"),
            user_missing=tuple(value_text(v) for v in user_missing),
        )
        frame[name] = _text_or_typed(frame[name])
    return RawTable(frame=frame, hints=hints, encoding=encoding)


def _text_or_typed(values: pd.Series) -> pd.Series:
    """Object columns (text) as plain strings with '' for missing; typed columns unchanged."""
    if values.dtype != object:
        return values
    return values.where(values.notna(), "").astype(str)




# -- databases ----------------------------------------------------------------------------


def _read_sqlite(path: Path, *, table: str | None, encoding: str | None) -> RawTable:
    uri = f"file:{path.resolve()}?mode=ro"
    con = sqlite3.connect(uri, uri=True)
    try:
        names = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table','view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )]
        table = _pick_table(path, names, table)
        quoted = '"' + table.replace('"', '""') + '"'
        frame = pd.read_sql_query(f"SELECT * FROM {quoted}", con)
    finally:
        con.close()
    return RawTable(frame=_db_frame(frame))


def _read_duckdb(path: Path, *, table: str | None, encoding: str | None) -> RawTable:
    try:
        import duckdb
    except ImportError:
        raise InputFileError(
            f"Reading '{path}' needs DuckDB: install it with pip install 'confidata[db]'."
        ) from None
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables ORDER BY table_name"
        ).fetchall()]
        table = _pick_table(path, names, table)
        quoted = '"' + table.replace('"', '""') + '"'
        frame = con.execute(f"SELECT * FROM {quoted}").df()
    finally:
        con.close()
    return RawTable(frame=_db_frame(frame))


def _pick_table(path: Path, names: list[str], table: str | None) -> str:
    if not names:
        raise InputFileError(f"Database '{path}' has no tables.")
    if table is None:
        if len(names) == 1:
            return names[0]
        raise InputFileError(
            f"Database '{path}' has {len(names)} tables ({quote_names(names)}); "
            "choose one with --table NAME."
        )
    if table not in names:
        raise InputFileError(
            f"Database '{path}' has no table '{table}'; its tables are {quote_names(names)}."
        )
    return table


def _db_frame(frame: pd.DataFrame) -> pd.DataFrame:
    for name in frame.columns:
        frame[name] = _text_or_typed(frame[name])
    return frame


_READERS = {
    "csv": _read_csv,
    "parquet": _read_parquet,
    "excel": _read_excel,
    "sas7bdat": _read_stat,
    "xport": _read_stat,
    "spss": _read_stat,
    "stata": _read_stat,
    "sqlite": _read_sqlite,
    "duckdb": _read_duckdb,
}
