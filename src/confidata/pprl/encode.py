"""Keyed CLK encoding: each record's fields hashed into one Bloom filter with the holders' key.

A cryptographic long-term key (CLK, Schnell, Bachteler, Reiher 2011) puts the tokens of every
field (q-grams of names, whole codes, the parts of a date) into one bit vector: each token sets
``weight`` bits (or its share of the field's bits per value) chosen by double hashing,
position_i = (h1 + i * h2) mod bits, where (h1, h2) are the first 16 bytes of HMAC-SHA256 under
that field's key (the field-level salt, derived from the shared secret). Similar records share
most tokens, so their filters share most bits, and the linkage unit compares filters by Dice
similarity without ever seeing a name.

Speed: the HMAC runs once per distinct token per field (a few thousand bigrams), not per row,
and each distinct field value's bits are set once (names repeat); rows then OR their fields'
vectors together with numpy. At a million rows the cost is normalisation of the distinct values
and memory traffic, not hashing.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from confidata.errors import quote_names
from confidata.pprl.blockkeys import block_codes, header_of, parse_blocks
from confidata.pprl.clkfile import Encoding
from confidata.pprl.errors import LinkageError
from confidata.pprl.fields import FieldSpec
from confidata.pprl.hardening import HardeningStep, apply_hardening, output_bits
from confidata.pprl.keys import SecretKey
from confidata.pprl.normalise import FieldReport, NormalisedField, normalise_field

__all__ = ["EncodeResult", "encode"]

TOKEN_SCHEME = "text: padded q-grams; exact: whole value; date: year, month, day tokens"


@dataclass
class EncodeResult:
    """The encoding and what normalisation did (counts per field, never values)."""

    encoding: Encoding
    report: list[FieldReport]


def encode(
    frame: pd.DataFrame,
    *,
    id_column: str,
    fields: tuple[FieldSpec, ...],
    key: SecretKey,
    bits: int = 1024,
    hardening: tuple[HardeningStep, ...] = (),
    bad_dates: str = "error",
    blocking: str | None = None,
) -> EncodeResult:
    """Encode every row of `frame` into a keyed CLK; see the module docstring. `blocking`: the
    declared blocking passes (`blockkeys.parse_blocks`), whose keyed codes travel beside."""
    passes = parse_blocks(blocking, fields)
    _check_inputs(frame, id_column, fields, bits, hardening, bad_dates)
    final_bits = output_bits(bits, hardening)
    normalised = [normalise_field(frame[spec.column], spec, bad_dates=bad_dates) for spec in fields]
    salt_codes, salt_values = _salt(frame, fields, normalised, hardening)
    words = np.zeros((len(frame), bits // 64), dtype=np.uint64)
    for position, (spec, field) in enumerate(zip(fields, normalised, strict=True)):
        if salt_codes is not None and spec.column == _salt_column(hardening):
            salted = (None, None)  # the salt field itself is hashed unsalted
        else:
            salted = (salt_codes, salt_values)
        field_key = key.derive(f"field/{position}/{spec.kind}")
        _add_field(words, spec, field, field_key, bits, *salted)
    words = apply_hardening(words, hardening, key)
    blocks = block_codes(passes, fields, normalised, key) if passes else None
    ids = frame[id_column].astype("string").to_numpy(dtype=object, na_value="")
    header = {
        "id_column": id_column,
        "bits": final_bits,
        "fields": [spec.public() for spec in fields],
        "hardening": [step.public() for step in hardening],
        "encoding": {"filter_bits": bits, "hash": "hmac-sha256", "double_hashing": True,
                     "q": fields[0].q if fields else 2, "tokens": TOKEN_SCHEME},
        "key_check": key.check_value(),
        "blocking": header_of(passes, fields),
    }
    return EncodeResult(Encoding(ids=ids, words=words, header=header, blocks=blocks),
                        [f.report for f in normalised])


def _check_inputs(frame, id_column, fields, bits, hardening, bad_dates) -> None:
    if id_column not in frame.columns:
        raise LinkageError(
            f"Record id column '{id_column}' is not in the file; pass --id with one of its columns."
        )
    missing = [spec.column for spec in fields if spec.column not in frame.columns]
    if missing:
        raise LinkageError(
            f"Field column(s) {quote_names(missing)} are not in the file; check --fields against "
            "the file's header (names are case-sensitive)."
        )
    if id_column in [spec.column for spec in fields]:
        raise LinkageError(
            f"'{id_column}' is both the record id and a field; the id travels beside the encoding "
            "and is never encoded: remove it from --fields."
        )
    ids = frame[id_column]
    if ids.isna().any():
        raise LinkageError(
            f"Record id column '{id_column}' is empty in {int(ids.isna().sum())} rows; every row "
            "needs an id so that its matches can be named."
        )
    if ids.duplicated().any():
        raise LinkageError(
            f"Record id column '{id_column}' repeats an id in {int(ids.duplicated().sum())} rows; "
            "ids must be unique."
        )
    if bits < 64 or bits % 64:
        raise LinkageError(f"--bits must be a positive multiple of 64; got {bits}.")
    if bad_dates not in ("error", "missing"):
        raise LinkageError(f"bad_dates must be 'error' or 'missing'; got '{bad_dates}'.")
    salt = _salt_column(hardening)
    if salt is not None and salt not in [spec.column for spec in fields]:
        raise LinkageError(
            f"Hardening salt({salt}) names a column that is not among --fields; salt by one of "
            "the encoded fields, e.g. salt(dob)."
        )


def _salt_column(hardening: tuple[HardeningStep, ...]) -> str | None:
    return next((step.arg for step in hardening if step.name == "salt"), None)


def _salt(frame, fields, normalised, hardening) -> tuple[np.ndarray | None, list[str] | None]:
    """Per row, the salt value's code (a date field salts by its year), or (None, None)."""
    column = _salt_column(hardening)
    if column is None:
        return None, None
    position = [spec.column for spec in fields].index(column)
    field = normalised[position]
    if field.parts is not None:  # a date: the year
        years = [p[0] for p in field.parts]
        year_codes, year_values = pd.factorize(pd.Series(years, dtype=object))
        codes = np.where(field.codes >= 0, year_codes[np.maximum(field.codes, 0)] if years else -1, -1)
        return codes.astype(np.int64), [str(v) for v in year_values]
    return field.codes, list(field.values)


def _tokens(spec: FieldSpec, field: NormalisedField, index: int) -> list[str]:
    if spec.kind == "date":
        year, month, day = field.parts[index]
        return ["y" + year, "m" + month, "d" + day]
    value = field.values[index]
    if spec.kind == "exact":
        return [value]
    padded = f" {value} "
    return [padded[i:i + spec.q] for i in range(len(padded) - spec.q + 1)] or [padded]


def _add_field(words, spec, field, field_key, bits, salt_codes, salt_values) -> None:
    """OR one field's bits into every row's filter."""
    if spec.kind == "text":
        value_ptr, value_tokens, tokens = _qgrams(field.values, spec.q)
    else:
        vocabulary: dict[str, int] = {}
        indptr = [0]
        flat: list[int] = []
        for index in range(len(field.values)):
            for token in _tokens(spec, field, index):
                flat.append(vocabulary.setdefault(token, len(vocabulary)))
            indptr.append(len(flat))
        value_ptr = np.asarray(indptr, dtype=np.int64)
        value_tokens = np.asarray(flat, dtype=np.int64)
        tokens = list(vocabulary)
    rows = np.flatnonzero(field.codes >= 0)
    if salt_codes is None:
        unit_of_row = field.codes[rows]
        unit_ptr, unit_items = value_ptr, value_tokens
        messages = [t.encode("utf-8") for t in tokens]
    else:
        n_salts = len(salt_values) + 1  # code 0: no salt value (missing)
        combined = field.codes[rows] * n_salts + (salt_codes[rows] + 1)
        units, unit_of_row = np.unique(combined, return_inverse=True)
        unit_value, unit_salt = units // n_salts, units % n_salts
        unit_ptr, items = _gather(value_ptr, value_tokens, unit_value)
        keyed = items * n_salts + np.repeat(unit_salt, np.diff(unit_ptr))
        distinct, unit_items = np.unique(keyed, return_inverse=True)
        salts = [""] + salt_values
        messages = [(salts[d % n_salts] + "\x1f" + tokens[d // n_salts]).encode("utf-8")
                    for d in distinct.tolist()]
    most = spec.per_value if spec.per_value else spec.weight
    positions = _positions(messages, field_key, most, bits)
    unit_bits = _fill(unit_ptr, unit_items.astype(np.int64), positions, bits // 64,
                      int(spec.per_value or 0))
    words[rows] |= unit_bits[unit_of_row]


_QGRAM_CHUNK = 100_000


def _qgrams(values: list[str], q: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The padded q-grams of each distinct value as CSR (value -> token ids), and the tokens.

    Vectorised: values become a fixed-width array of code points, each q-gram one integer
    (21 bits per code point, q <= 3), found by numpy in chunks of `_QGRAM_CHUNK` values.
    A q-gram repeated within a value is kept: it sets the same bits again, which changes nothing.
    """
    counts, codes = [], []
    for start in range(0, len(values), _QGRAM_CHUNK):
        chunk = [f" {v} " for v in values[start:start + _QGRAM_CHUNK]]
        lengths = np.fromiter((len(v) for v in chunk), dtype=np.int64, count=len(chunk))
        points = np.array(chunk, dtype=str)
        points = points.view(np.uint32).reshape(len(chunk), -1).astype(np.uint64)
        width = points.shape[1] - q + 1
        gram = np.zeros((len(chunk), max(width, 0)), dtype=np.uint64)
        for t in range(q):
            gram = (gram << np.uint64(21)) | points[:, t:t + width]
        valid = np.arange(max(width, 0))[None, :] < (lengths - q + 1)[:, None]
        counts.append(valid.sum(axis=1))
        codes.append(gram[valid])
    if not codes:
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), []
    unique, items = np.unique(np.concatenate(codes), return_inverse=True)
    ptr = np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.int64)
    mask = (1 << 21) - 1
    tokens = ["".join(chr((int(c) >> (21 * (q - 1 - t))) & mask) for t in range(q)) for c in unique]
    return ptr, items.astype(np.int64), tokens


def _gather(ptr: np.ndarray, items: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR rows `which` of (ptr, items), as a new CSR."""
    lengths = ptr[which + 1] - ptr[which]
    new_ptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    starts = np.repeat(ptr[which] - new_ptr[:-1], lengths)
    return new_ptr, items[np.arange(new_ptr[-1]) + starts]


def _positions(messages: list[bytes], field_key: bytes, weight: int, bits: int) -> np.ndarray:
    """Bit positions (tokens x weight) by double hashing on HMAC-SHA256 under the field key."""
    digests = b"".join(hmac.digest(field_key, m, "sha256")[:16] for m in messages)
    pairs = np.frombuffer(digests, dtype="<u8").reshape(-1, 2) if messages else np.zeros((0, 2), np.uint64)
    h1, h2 = pairs[:, 0].astype(np.uint64), pairs[:, 1].astype(np.uint64) | np.uint64(1)
    steps = np.arange(weight, dtype=np.uint64)
    with np.errstate(over="ignore"):
        spots = h1[:, None] + steps[None, :] * h2[:, None]  # wraps mod 2**64
    return (spots % np.uint64(bits)).astype(np.int64)


@njit(cache=True)
def _fill(ptr, items, positions, width, per_value):  # pragma: no cover - compiled
    """Set each unit's bits: every token's first k positions, k the weight, or with a budget of
    bits per value, round(per_value / tokens) (at least 1)."""
    out = np.zeros((len(ptr) - 1, width), dtype=np.uint64)
    most = positions.shape[1]
    for unit in range(len(ptr) - 1):
        count = ptr[unit + 1] - ptr[unit]
        k = most
        if per_value > 0 and count > 0:
            k = min(most, max(1, (per_value + count // 2) // count))
        for j in range(ptr[unit], ptr[unit + 1]):
            for t in range(k):
                p = positions[items[j], t]
                out[unit, p >> 6] |= np.uint64(1) << np.uint64(p & 63)
    return out
