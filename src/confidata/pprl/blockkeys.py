"""Declared blocking fields, encoded separately: keyed block codes beside each record's CLK.

At a million records a side, MinHash LSH over the CLK bits proposes billions of candidate pairs
(look-alikes share many bits). Linkage units therefore block on cheap, error-tolerant codes:
a phonetic surname with the year of birth, and so on, in several passes so that a pair whose
surname changed is still found by another pass (multi-pass blocking, Christen 2012, ch. 4).
Here each holder computes such codes from its own normalised values and sends only a 62-bit
keyed code per pass: each part's value goes through HMAC-SHA256 under a key derived from the
shared secret for that pass and part, and the parts' outputs are mixed (splitmix64) into one
code. The linkage unit compares equal codes, never sees a surname or year, and without the key
cannot compute the code of a guessed value.

A pass is written ``soundex(last_name)+year(dob)``; passes are separated by ``;``. A part is
``soundex(COLUMN)`` (American Soundex of a text field), ``year(COLUMN)`` or ``month(COLUMN)`` (of a
date field), ``first(COLUMN)`` (the first letter) or ``COLUMN`` (the whole normalised value).
Every column must be one of --fields (so it is normalised the same way). A record with a part
missing has no code in that pass (it is found by the others).

What the linkage unit learns from the codes: which records share a code in each pass, and so
the sizes of the blocks: a frequency attack can guess that the largest block of pass 1 is the
commonest surname and year. Codes are never hardened; `secure.explain` says so.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from confidata.pprl.errors import LinkageError
from confidata.pprl.fields import FieldSpec
from confidata.pprl.keys import SecretKey
from confidata.pprl.normalise import NormalisedField

__all__ = ["BlockPart", "CODE_MASK", "NO_CODE", "block_codes", "header_of", "parse_blocks", "soundex"]

CODE_MASK = (1 << 62) - 1  # codes use 62 bits: the top two mark a record without a code
NO_CODE = 1 << 63  # + row: a record without a code in a pass (file B's become 2**62 + row at link)
FUNCTIONS = ("soundex", "year", "month", "first", "value")
_PART = re.compile(r"^(?:(?P<func>[a-z]+)\s*\(\s*(?P<inner>[^()]+?)\s*\)|(?P<column>[^()+;]+?))$")


@dataclass(frozen=True)
class BlockPart:
    function: str
    column: str


def header_of(passes, fields: tuple[FieldSpec, ...]) -> list[list[list]]:
    """The passes as the .clk header records them: [function, field position] per part (column
    names differ between holders; positions and functions must agree)."""
    position = {f.column: i for i, f in enumerate(fields)}
    return [[[part.function, position[part.column]] for part in parts] for parts in passes]


def parse_blocks(text: str | None, fields: tuple[FieldSpec, ...]) -> tuple[tuple[BlockPart, ...], ...]:
    """Read ``"soundex(last)+year(dob);soundex(first)+year(dob)"`` against the field list."""
    if not text or not text.strip():
        return ()
    kinds = {f.column: f.kind for f in fields}
    passes = []
    for number, entry in enumerate(text.split(";"), start=1):
        parts = []
        for raw in entry.split("+"):
            match = _PART.match(raw.strip())
            if not match:
                raise LinkageError(
                    f"Blocking pass {number} cannot be read; write parts joined by '+', e.g. "
                    "'soundex(last_name)+year(dob)', passes separated by ';'."
                )
            function = match["func"] or "value"
            column = (match["inner"] or match["column"]).strip()
            if function not in FUNCTIONS:
                raise LinkageError(
                    f"Blocking pass {number} uses '{function}'; use soundex, year, month, first or "
                    "a bare column."
                )
            if column not in kinds:
                raise LinkageError(
                    f"Blocking pass {number} names column '{column}', which is not among --fields; "
                    "block on encoded fields only (they are normalised alike at both holders)."
                )
            wants_date = function in ("year", "month")
            if wants_date != (kinds[column] == "date"):
                raise LinkageError(
                    f"Blocking pass {number}: {function}({column}) needs "
                    + ("a date field." if wants_date else "a text or exact field, not a date.")
                )
            parts.append(BlockPart(function, column))
        passes.append(tuple(parts))
    return tuple(passes)


def block_codes(passes, fields: tuple[FieldSpec, ...], normalised: list[NormalisedField],
                key: SecretKey) -> np.ndarray:
    """(records, passes) uint64: each record's keyed code per pass, or a no-code marker (2**63 +
    row) where a part is missing; the linkage code gives the other file's markers 2**62 + row,
    so markers never equal anything."""
    n = len(normalised[0].codes) if normalised else 0
    out = np.empty((n, len(passes)), dtype=np.uint64)
    by_column = {f.column: nf for f, nf in zip(fields, normalised, strict=True)}
    cache: dict[BlockPart, tuple[np.ndarray, list[str]]] = {}
    for index, parts in enumerate(passes):
        missing = np.zeros(n, dtype=bool)
        code = np.zeros(n, dtype=np.uint64)
        for position, part in enumerate(parts):
            if part not in cache:  # soundex of a column used by two passes is computed once
                cache[part] = _part_codes(part, by_column[part.column])
            rows, strings = cache[part]
            missing |= rows < 0
            # one HMAC per distinct value of the part (not per combination of parts), under a
            # key of this pass and position; the parts' PRF outputs are then mixed row by row
            part_key = key.derive(f"block/{index}/{position}")
            digests = b"".join(hmac.digest(part_key, v.encode("utf-8"), "sha256")[:8] for v in strings)
            prf = np.frombuffer(digests, dtype="<u8").astype(np.uint64) if strings else np.zeros(1, np.uint64)
            code = _mix(code ^ prf[np.maximum(rows, 0)])
        codes = code & np.uint64(CODE_MASK)
        out[:, index] = np.where(missing, np.uint64(NO_CODE) + np.arange(n, dtype=np.uint64), codes)
    return out


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection on 64 bits, so (code of earlier parts, this part's
    PRF output) pairs that differ give codes that differ but for chance collisions."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _part_codes(part: BlockPart, field: NormalisedField) -> tuple[np.ndarray, list[str]]:
    """Per row, a code into the part's distinct strings (-1: missing), and those strings."""
    if part.function in ("year", "month"):
        which = 0 if part.function == "year" else 1
        strings = [p[which] for p in field.parts]
    elif part.function == "soundex":
        strings = [soundex(v) for v in field.values]
    elif part.function == "first":
        strings = [v[:1] for v in field.values]
    else:
        strings = list(field.values)
    if not strings:
        return np.full(len(field.codes), -1, dtype=np.int64), []
    codes_of_value, uniques = pd.factorize(np.array(strings, dtype=object))
    empty = np.array([u == "" for u in uniques], dtype=bool)
    codes_of_value = np.where(empty[codes_of_value], -1, codes_of_value)
    rows = np.where(field.codes >= 0, codes_of_value[np.maximum(field.codes, 0)], -1)
    return rows.astype(np.int64), [str(u) for u in uniques]


def soundex(name: str) -> str:
    """American Soundex (letter and three digits) of the letters of a normalised name."""
    letters = [c for c in name.lower() if "a" <= c <= "z"]
    if not letters:
        return ""
    digits = {**dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"),
              **dict.fromkeys("dt", "3"), "l": "4", **dict.fromkeys("mn", "5"), "r": "6"}
    out, last = [letters[0]], digits.get(letters[0], "")
    for ch in letters[1:]:
        code = digits.get(ch, "")
        if code and code != last:
            out.append(code)
        if ch not in "hw":  # h and w do not part equal codes; vowels do
            last = code
    return ("".join(out) + "000")[:4]
