"""File-level chores shared by readers and writers: formats, magic bytes, text decoding, safe writes.

Kept apart from the readers so that each reader is only about turning one format into a frame.
"""

from __future__ import annotations

import codecs
import csv
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from confidata.errors import InputFileError, OutputExistsError

__all__ = [
    "FORMATS",
    "atomic_write",
    "atomic_write_bytes",
    "check_output_path",
    "decode_text",
    "detect_format",
    "sniff_delimiter",
]

# extension -> format name
FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".ods": "excel",
    ".sas7bdat": "sas7bdat",
    ".xpt": "xport",
    ".sav": "spss",
    ".zsav": "spss",
    ".dta": "stata",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
    ".duckdb": "duckdb",
}

_FORMAT_NAMES = {
    "csv": "CSV/TSV text",
    "parquet": "Parquet",
    "excel": "spreadsheet (Excel/OpenDocument)",
    "sas7bdat": "SAS data set (.sas7bdat)",
    "xport": "SAS transport (.xpt)",
    "spss": "SPSS (.sav)",
    "stata": "Stata (.dta)",
    "sqlite": "SQLite database",
    "duckdb": "DuckDB database",
}


def format_name(fmt: str) -> str:
    return _FORMAT_NAMES.get(fmt, fmt)


def detect_format(path: Path) -> str:
    """The format named by the file's extension, checked against its first bytes."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise InputFileError(
            f"'{path}' has extension '{suffix or '(none)'}', which confidata does not read. "
            f"Rename it or convert it to one of: {known}."
        )
    fmt = FORMATS[suffix]
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head:
        raise InputFileError(f"'{path}' is empty (0 bytes); export the table again.")
    if not _looks_like(fmt, head, suffix):
        found = _guess_from_magic(head)
        hint = f" It looks like {format_name(found)}." if found and found != fmt else ""
        raise InputFileError(
            f"'{path}' is not a {format_name(fmt)} file although its extension says so.{hint} "
            "Give it the extension of its real format, or export it again."
        )
    return fmt


def _looks_like(fmt: str, head: bytes, suffix: str) -> bool:
    if fmt == "csv":
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return True  # Excel's "Unicode text" export
        return _guess_from_magic(head) is None and b"\x00" not in head.lstrip(codecs.BOM_UTF8)[:4096]
    if fmt == "parquet":
        return head.startswith(b"PAR1")
    if fmt == "excel":
        if suffix == ".xls":
            return head.startswith(b"\xd0\xcf\x11\xe0")
        return head.startswith(b"PK\x03\x04")
    if fmt == "spss":
        return head[:4] in (b"$FL2", b"$FL3")
    if fmt == "stata":
        return head.startswith(b"<stata_dta>") or (len(head) > 1 and 0x66 <= head[0] <= 0x77)
    if fmt == "sas7bdat":
        return len(head) >= 32 and head[:32] == _SAS7BDAT_MAGIC
    if fmt == "xport":
        return head.startswith(b"HEADER RECORD*******LIB")
    if fmt == "sqlite":
        return head.startswith(b"SQLite format 3\x00")
    if fmt == "duckdb":
        return head[8:12] == b"DUCK"
    return True


_SAS7BDAT_MAGIC = bytes(
    [0] * 12 + [0xC2, 0xEA, 0x81, 0x60, 0xB3, 0x14, 0x11, 0xCF, 0xBD, 0x92, 0x08, 0x00,
                0x09, 0xC7, 0x31, 0x8C, 0x18, 0x1F, 0x10, 0x11]
)


def _guess_from_magic(head: bytes) -> str | None:
    """A binary format recognisable from its first bytes, or None (perhaps text)."""
    checks: list[tuple[str, Callable[[bytes], bool]]] = [
        ("parquet", lambda h: h.startswith(b"PAR1")),
        ("excel", lambda h: h.startswith(b"PK\x03\x04") or h.startswith(b"\xd0\xcf\x11\xe0")),
        ("spss", lambda h: h[:4] in (b"$FL2", b"$FL3")),
        ("stata", lambda h: h.startswith(b"<stata_dta>")),
        ("sas7bdat", lambda h: h[:32] == _SAS7BDAT_MAGIC),
        ("xport", lambda h: h.startswith(b"HEADER RECORD*******LIB")),
        ("sqlite", lambda h: h.startswith(b"SQLite format 3\x00")),
        ("duckdb", lambda h: h[8:12] == b"DUCK"),
    ]
    for fmt, check in checks:
        if check(head):
            return fmt
    return None


def decode_text(raw: bytes, path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Decode a text file: UTF-8 (with or without BOM) first, then Windows-1252.

    Returns the text and the encoding used. Windows-1252 is tried second because it is what
    Excel writes on Western European Windows and it is a superset of latin-1's printable
    characters; a file valid in neither is refused rather than read as mojibake.
    """
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except LookupError:
            raise InputFileError(
                f"Encoding '{encoding}' is unknown; use a Python codec name such as "
                "utf-8, cp1252, latin-1 or cp1250."
            ) from None
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"'{path}' cannot be decoded as {encoding} (byte offset {exc.start}); "
                "check the --encoding option."
            ) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        line = raw.count(b"\n", 0, first_bad) + 1
        raise InputFileError(
            f"'{path}' has bytes that are neither UTF-8 nor Windows-1252 text (first at line "
            f"{line}). Pass its encoding with --encoding (for example cp1250 or latin-1), or "
            "export it again as UTF-8."
        ) from None
    return text, "cp1252"


def sniff_delimiter(text: str, suffix: str) -> str:
    """The delimiter (, ; tab |) that splits the first lines into the most consistent fields."""
    if suffix in (".tsv", ".tab"):
        return "\t"
    sample_lines = text[:65536].splitlines()[:50]
    if len(sample_lines) > 1 and not text[:65536].endswith(("\n", "\r")) and len(text) > 65536:
        sample_lines = sample_lines[:-1]  # the last line may be cut in half
    sample = "\n".join(sample_lines)
    best, best_score = ",", (0, 0)
    for delim in (",", ";", "\t", "|"):
        try:
            counts = [len(r) for r in csv.reader(sample.splitlines(), delimiter=delim) if r]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts)
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = delim, score
    return best


def check_output_path(path: Path, *, overwrite: bool) -> None:
    """Refuse to replace an existing file unless asked; refuse a missing or unwritable folder."""
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"'{path}' already exists; pass --overwrite to replace it, or choose another path."
        )
    if path.is_dir():
        raise OutputExistsError(f"'{path}' is a folder; give a file name for the output.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputFileError(f"Folder '{parent}' does not exist; create it or choose another path.")
    if not os.access(parent, os.W_OK):
        raise InputFileError(
            f"Folder '{parent}' is not writable; choose an output path in a folder you can write to."
        )


def atomic_write(path: Path, write: Callable[[Path], None], *, overwrite: bool) -> Path:
    """Write via `write(tmp)` to a temporary file beside `path`, then rename it into place.

    A failed or interrupted write never leaves a half-written file where the user's was.
    """
    path = Path(path)
    check_output_path(path, overwrite=overwrite)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix,
                                    dir=path.parent if str(path.parent) else ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_bytes(path: Path, data: bytes, *, overwrite: bool) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), overwrite=overwrite)
