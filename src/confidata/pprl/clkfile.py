"""The .clk file: encodings beside their record ids and the parameters that made them.

A .clk file is Parquet (never pickle: loading it runs no code) with two columns and a header:

- the record ids, under the holder's own id column name, as strings: they travel beside the
  encoding, never inside it, so the linkage unit can name the pairs it finds;
- ``clk``: one fixed-size binary value per record holding the encoding's bits as little-endian
  uint64 words (``bits / 64`` words; bit ``j`` is bit ``j % 64`` of word ``j // 64``);
- ``blocks`` (only with ``--block``): per record, one 8-byte keyed code per blocking pass
  (`blockkeys`), little-endian uint64;
- the Parquet schema metadata key ``confidata.pprl``: a JSON header with ``format``
  ("confidata-clk"), ``version`` (1), ``id_column``, ``records``, ``bits`` (length after
  hardening), ``words``, ``fields`` (column, kind, weight, q, date format, in order),
  ``hardening`` (the steps, in the order applied, with their parameters), ``encoding`` (filter
  length before hardening, hash: "hmac-sha256", token scheme), ``blocking`` (the passes, as
  [function, field position] parts; empty without --block) and ``key_check`` (a keyed check
  value equal in two files exactly when they were encoded under the same secret; it reveals
  nothing about the key).

The header holds no data value: no name, date or address, and no normalisation counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from confidata.pprl.errors import EncodingMismatchError, LinkageError

__all__ = ["FORMAT", "VERSION", "Encoding", "read_clk", "write_clk"]

FORMAT = "confidata-clk"
VERSION = 1
_META_KEY = b"confidata.pprl"


@dataclass
class Encoding:
    """One holder's encoded file: ids, packed bits (records x words, uint64) and the header."""

    ids: np.ndarray  # strings, one per record
    words: np.ndarray  # (records, bits // 64) uint64, C-contiguous
    header: dict = field(default_factory=dict)
    blocks: np.ndarray | None = None  # (records, passes) uint64 keyed block codes (`blockkeys`)

    @property
    def id_column(self) -> str:
        return self.header["id_column"]

    @property
    def bits(self) -> int:
        return int(self.header["bits"])

    def __len__(self) -> int:
        return len(self.ids)


# What two files must share for their bits to be compared, with the words a message uses.
_COMPARED = (
    ("bits", "the filter length (--bits)"),
    ("encoding", "the encoding scheme (q-gram length, filter length before hardening)"),
    ("hardening", "the hardening steps (--hardening)"),
    ("key_check", "the secret key (--secret-file): the files were encoded under different keys"),
    ("blocking", "the blocking passes (--block)"),
)


def check_compatible(a: Encoding, b: Encoding) -> None:
    """Refuse to compare two files whose bits do not mean the same, naming the parameter."""
    for key, words in _COMPARED:
        if (a.header.get(key) or None) != (b.header.get(key) or None):  # [] as absent
            raise EncodingMismatchError(
                f"The two .clk files differ in {words}; encode both files with the same "
                "parameters and key."
            )
    fa, fb = a.header.get("fields", []), b.header.get("fields", [])
    if len(fa) != len(fb):
        raise EncodingMismatchError(
            f"The two .clk files encode {len(fa)} and {len(fb)} fields; both holders must list "
            "the same fields, in the same order, in --fields."
        )
    for position, (x, y) in enumerate(zip(fa, fb, strict=True), start=1):
        for key in ("kind", "weight", "q"):
            if key == "q" and x["kind"] != "text":
                continue
            if _setting(x, key) != _setting(y, key):
                raise EncodingMismatchError(
                    f"Field {position} ('{x['column']}' and '{y['column']}') has {key} "
                    f"{_setting(x, key)} in one file and {_setting(y, key)} in the other; both "
                    "holders must use the same --fields."
                )


def _setting(field: dict, key: str):
    """A field's setting as a person wrote it: the weight is K bits per token or B per value."""
    if key != "weight":
        return field.get(key)
    if field.get("per_value"):
        return f"{field['per_value']} bits per value"
    return f"{field.get('weight')} bits per token"


def write_clk(path: str | Path, encoding: Encoding) -> None:
    """Write an encoding as a .clk file (Parquet with the JSON header in its metadata)."""
    words = np.ascontiguousarray(encoding.words, dtype="<u8")
    n, width = words.shape
    raw = pa.py_buffer(words.tobytes())
    clk = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width * 8), n, [None, raw])
    header = dict(encoding.header, format=FORMAT, version=VERSION, records=n, words=width)
    columns = {header["id_column"]: pa.array(encoding.ids, type=pa.string()), "clk": clk}
    if encoding.blocks is not None:
        blocks = np.ascontiguousarray(encoding.blocks, dtype="<u8")
        columns["blocks"] = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(blocks.shape[1] * 8), n, [None, pa.py_buffer(blocks.tobytes())])
    table = pa.table(columns)
    table = table.replace_schema_metadata({_META_KEY: json.dumps(header).encode("utf-8")})
    pq.write_table(table, str(path), compression="zstd")


def read_clk(path: str | Path) -> Encoding:
    """Read a .clk file written by `write_clk`, checking it is one."""
    path = Path(path)
    if not path.is_file():
        raise LinkageError(f"Encoding file '{path}' does not exist; make it with `confidata pprl encode`.")
    try:
        table = pq.read_table(str(path))
    except (pa.ArrowInvalid, OSError):
        raise LinkageError(
            f"'{path}' is not a .clk file (not Parquet); make it with `confidata pprl encode`."
        ) from None
    meta = (table.schema.metadata or {}).get(_META_KEY)
    if meta is None:
        raise LinkageError(
            f"'{path}' is Parquet but not a .clk file (no confidata.pprl header); make it with "
            "`confidata pprl encode`."
        )
    header = json.loads(meta)
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise LinkageError(
            f"'{path}' is a .clk file of version {header.get('version')}; this confidata reads "
            f"version {VERSION}: encode the file again."
        )
    id_column, width = header["id_column"], int(header["words"])
    clk = table.column("clk").combine_chunks()
    if clk.type != pa.binary(width * 8):
        raise LinkageError(f"'{path}' has a clk column of the wrong width; encode the file again.")
    buffer = clk.buffers()[1]
    start = clk.offset * width * 8
    words = np.frombuffer(buffer, dtype="<u8", count=len(clk) * width, offset=start)
    words = words.reshape(len(clk), width).astype(np.uint64, copy=True)
    ids = table.column(id_column).to_numpy(zero_copy_only=False).astype(object)
    blocks = None
    if header.get("blocking"):
        passes = len(header["blocking"])
        if "blocks" not in table.column_names or table.column("blocks").type != pa.binary(passes * 8):
            raise LinkageError(f"'{path}' declares blocking passes but lacks their codes; encode "
                               "the file again.")
        column = table.column("blocks").combine_chunks()
        blocks = np.frombuffer(column.buffers()[1], dtype="<u8", count=len(column) * passes,
                               offset=column.offset * passes * 8).reshape(len(column), passes).copy()
    return Encoding(ids=ids, words=words, header=header, blocks=blocks)


def ids_frame(encoding: Encoding) -> pd.Series:
    """The record ids as a Series named after the holder's id column."""
    return pd.Series(encoding.ids, name=encoding.id_column)
