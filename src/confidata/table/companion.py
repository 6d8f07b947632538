"""Reading the files judged against a real file: a synthetic file and a holdout, with its schema.

A synthetic file or a holdout is read with the real (training) file's schema, so its types are
judged the same way. The command line (`evaluate`, `measures run`, `compare`) and the web service
(`serve`) both read their inputs through here, which is why this sits in `table`, below both.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from confidata.errors import SchemaError
from confidata.table.conform import unseen_tokens, widen
from confidata.table.readers import from_raw, read_raw, read_table
from confidata.table.schema import Kind, Role, Schema

__all__ = ["file_sha256", "read_companion", "read_evaluation_files"]


def file_sha256(path: Path) -> str:
    """The file's SHA-256 for a report's provenance, read in blocks so a large file never sits in
    memory whole."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_companion(path: Path, schema: Schema, role: str) -> pd.DataFrame:
    """Read one input with the real file's schema; `role` ("synthetic", "holdout") names it in errors.

    Identifying columns the file lacks are left out of its schema: a synthesizer drops direct
    identifiers (or makes fresh ones), and no measure compares them. Category levels the real
    (training) file lacks are read as levels of their own (see `conform_together`), since every
    split of a file with a many-level code leaves some only in the holdout.
    """
    raw = read_raw(path)
    present = set(raw.frame.columns)
    keep = [c.name for c in schema if c.name in present or not (
        c.kind in (Kind.IDENTIFIER, Kind.TEXT) or c.has_role(Role.DIRECT_IDENTIFIER))]
    own = schema.select(keep)
    try:
        return from_raw(raw, widen(own, unseen_tokens(raw.frame, own)))[0]
    except SchemaError as exc:
        raise SchemaError(f"The {role} file does not fit the real file's schema: {exc}") from None


def read_evaluation_files(real: Path, synthetic: Path, schema: Path | None, holdout: Path | None,
                          ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, Schema]:
    """The real, synthetic and holdout files, each read as it is, and the real file's schema.

    The schema is the real file's (from `schema`, or inferred); evaluate and the measures widen it
    by what the other files hold.
    """
    real_frame, used = read_table(real, schema)
    synth_frame = read_companion(synthetic, used, "synthetic")
    hold_frame = read_companion(holdout, used, "holdout") if holdout is not None else None
    return real_frame, synth_frame, hold_frame, used
