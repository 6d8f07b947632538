"""The table layer: `Schema`, readers and writers for every format, and schema inference.

Typical use::

    from confidata.table import read_table, write_table

    frame, schema = read_table("survey.sav")          # kinds, labels, missing codes inferred
    write_table(frame, "survey.parquet", schema)
"""

from confidata.table.conform import conform, missing_mask
from confidata.table.infer import infer_schema
from confidata.table.readers import read_raw, read_table
from confidata.table.schema import Column, Kind, Role, Schema
from confidata.table.writers import write_table

__all__ = [
    "Column",
    "Kind",
    "Role",
    "Schema",
    "conform",
    "infer_schema",
    "missing_mask",
    "read_raw",
    "read_table",
    "write_table",
]
