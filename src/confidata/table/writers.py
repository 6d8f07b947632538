"""Writers: a typed frame and its schema out to CSV, Parquet, Excel, SPSS, Stata or SAS transport.

Column order is kept; so are variable labels (the schema's descriptions) and value labels where
the format has them (SPSS, Stata; Parquet stores the whole schema in its metadata). Every write
goes to a temporary file first and replaces the target only when complete, and an existing
file is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from confidata.errors import ConfidataWarning, InputFileError, SchemaError, quote_names
from confidata.table._files import atomic_write
from confidata.table.conform import code_text, is_number
from confidata.table.schema import Kind, Schema

__all__ = ["WRITABLE", "write_table"]

WRITABLE = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".xlsx": "excel",
    ".sav": "spss",
    ".dta": "stata",
    ".xpt": "xport",
}


def write_table(
    frame: pd.DataFrame, path: str | Path, schema: Schema, *, overwrite: bool = False
) -> Path:
    """Write `frame` (conformed to `schema`) to `path`, in the format its extension names."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".sas7bdat":
        raise InputFileError(
            "confidata cannot write .sas7bdat: no open library writes that format (pyreadstat "
            "reads it only). Write SAS transport instead (.xpt), which SAS reads with "
            "'libname x xport \"file.xpt\";', or Parquet/CSV."
        )
    if suffix not in WRITABLE:
        raise InputFileError(
            f"confidata cannot write '{suffix or '(no extension)'}' files; use one of "
            f"{', '.join(sorted(WRITABLE))}."
        )
    lacking = [n for n in schema.names if n not in frame.columns]
    if lacking:
        raise SchemaError(f"The frame lacks column(s) {quote_names(lacking)} that the schema names.")
    frame = frame[schema.names]
    writer = _WRITERS[WRITABLE[suffix]]
    return atomic_write(path, lambda tmp: writer(frame, tmp, schema, suffix), overwrite=overwrite)


def _na_token(column: Any) -> str:
    """The token a missing cell is written as: the column's first non-value missing token."""
    for token in column.missing_values:
        if column.kind.is_numeric and is_number(token):
            continue
        if column.kind.is_categorical and token in column.levels:
            continue
        return token
    return ""




def _write_csv(frame: pd.DataFrame, path: Path, schema: Schema, suffix: str) -> None:
    """RFC 4180 CSV: a value is quoted only when it must be (delimiter, quote, line break).

    Numbers keep their shortest exact form (170, not 170.0; 27.68166089965398 in full), and a
    missing cell is written as the column's own missing token (``""``, ``"N"``...).
    """
    delimiter = "\t" if suffix == ".tsv" else ","
    texts = []
    for column in schema:
        values = frame[column.name]
        if column.kind is Kind.DATE:
            array = pc.strftime(pa.array(values), format="%Y-%m-%d")
        elif column.kind.is_categorical or column.kind in (Kind.IDENTIFIER, Kind.TEXT):
            array = pa.array(code_text(values).where(values.notna()), type=pa.string())
        else:
            array = pc.cast(pa.array(values), pa.string())
        texts.append(_quoted(pc.fill_null(array, _na_token(column)), delimiter))
    header = delimiter.join(_quoted(pa.array(schema.names), delimiter).to_pylist())
    lines = pc.binary_join_element_wise(*texts, delimiter) if len(texts) > 1 else texts[0]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(header + "\n")
        chunk = 200_000
        for begin in range(0, len(lines), chunk):
            part = lines[begin : begin + chunk].to_pylist()
            fh.write("\n".join(part) + "\n")


def _quoted(array: pa.Array, delimiter: str) -> pa.Array:
    pattern = '["\\r\\n' + ("\\t" if delimiter == "\t" else delimiter) + "]"
    needs = pc.match_substring_regex(array, pattern)
    wrapped = pc.binary_join_element_wise('"', pc.replace_substring(array, '"', '""'), '"', "")
    return pc.if_else(needs, wrapped, array)


def _write_parquet(frame: pd.DataFrame, path: Path, schema: Schema, suffix: str) -> None:
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"confidata.schema"] = schema.to_json().encode("utf-8")
    pq.write_table(table.replace_schema_metadata(meta), path)


def _write_excel(frame: pd.DataFrame, path: Path, schema: Schema, suffix: str) -> None:
    out = pd.DataFrame(index=frame.index)
    for column in schema:
        values = frame[column.name]
        if column.kind.is_categorical:
            out[column.name] = code_text(values).where(values.notna())
        elif column.kind is Kind.INTEGER:
            out[column.name] = values.astype(object).where(values.notna())
        else:
            out[column.name] = values
    out.to_excel(path, index=False, engine="openpyxl")


# -- SPSS, Stata, SAS transport (pyreadstat) --------------------------------------------------

_STATA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")


def _stat_frame(frame: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Numeric codes for categoricals whose levels are numbers (with their value labels);
    text for the others; floats with NaN for nullable integers."""
    out = pd.DataFrame(index=frame.index)
    value_labels: dict[str, dict] = {}
    for column in schema:
        values = frame[column.name]
        if column.kind.is_categorical:
            text = code_text(values)
            if column.levels and all(is_number(lv) for lv in column.levels):
                out[column.name] = pd.to_numeric(text.replace("", np.nan))
                labels = {float(k): v for k, v in column.value_labels.items() if is_number(k)}
                if labels:
                    value_labels[column.name] = labels
            else:
                out[column.name] = text
        elif column.kind is Kind.INTEGER or column.kind is Kind.CONTINUOUS:
            out[column.name] = values.astype(float)
        elif column.kind in (Kind.IDENTIFIER, Kind.TEXT):
            out[column.name] = code_text(values)
        else:
            out[column.name] = values
    return out, value_labels


def _labels(schema: Schema, limit: int = 256, fmt: str = "SPSS") -> list[str]:
    """Variable labels, shortened with a warning where the format has a lower limit."""
    long = [c.name for c in schema if len(c.description) > limit]
    if long:
        warnings.warn(
            f"{fmt} keeps variable labels of at most {limit} characters; the labels of "
            f"{quote_names(long)} were shortened. The full text stays in the schema file.",
            ConfidataWarning,
            stacklevel=5,
        )
    return [c.description[:limit] for c in schema]


def _write_spss(frame: pd.DataFrame, path: Path, schema: Schema, suffix: str) -> None:
    import pyreadstat

    out, value_labels = _stat_frame(frame, schema)
    measure = {
        c.name: "ordinal" if c.kind is Kind.ORDINAL else
        "nominal" if c.kind.is_categorical or c.kind in (Kind.IDENTIFIER, Kind.TEXT) else "scale"
        for c in schema
    }
    missing: dict[str, list] = {}
    for column in schema:
        codes = [float(t) for t in column.missing_values if t and is_number(t)]
        if codes and pd.api.types.is_numeric_dtype(out[column.name].dtype):
            missing[column.name] = codes[:3]  # SPSS allows three discrete missing values
    pyreadstat.write_sav(
        out, str(path), column_labels=_labels(schema), variable_value_labels=value_labels,
        variable_measure=measure, missing_ranges=missing or None,
    )


def _write_stata(frame: pd.DataFrame, path: Path, schema: Schema, suffix: str) -> None:
    import pyreadstat

    bad = [n for n in schema.names if not _STATA_NAME.match(n)]
    if bad:
        raise SchemaError(
            f"Stata cannot store column name(s) {quote_names(bad)}: names must be at most 32 "
            "letters, digits or underscores and not start with a digit. Rename them first."
        )
    out, value_labels = _stat_frame(frame, schema)
    value_labels = {
        name: {int(k): v for k, v in labels.items() if float(k).is_integer()}
        for name, labels in value_labels.items()
    }
    pyreadstat.write_dta(
        out, str(path), column_labels=_labels(schema, limit=80, fmt="Stata"),
        variable_value_labels=value_labels or None,
        version=15,
    )


def _write_xport(frame: pd.DataFrame, path: Path, schema: Schema, suffix: str) -> None:
    import pyreadstat

    bad = [n for n in schema.names if not _STATA_NAME.match(n)]
    if bad:
        raise SchemaError(
            f"SAS cannot store column name(s) {quote_names(bad)}: names must be at most 32 "
            "letters, digits or underscores and not start with a digit. Rename them first."
        )
    out, _ = _stat_frame(frame, schema)
    table_name = re.sub(r"[^A-Za-z0-9_]", "_", schema.dataset)[:8] or "DATA"
    if not table_name[0].isalpha():
        table_name = "D" + table_name[:7]
    pyreadstat.write_xport(
        out, str(path), column_labels=_labels(schema), table_name=table_name.upper(),
        file_format_version=8,
    )


_WRITERS = {
    "csv": _write_csv,
    "parquet": _write_parquet,
    "excel": _write_excel,
    "spss": _write_spss,
    "stata": _write_stata,
    "xport": _write_xport,
}
