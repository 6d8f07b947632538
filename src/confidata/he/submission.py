"""A data holder's submission: its local table, secret-shared, packed and encrypted.

The holder first reduces its records to one small vector with the checks of a secure table
(`confidata.secure.local.aggregate`: study columns present, levels among the public ones, values
within the public bounds, at most ``max_records`` rows): the record count of every cell and, for
totals and means, the exact total at the public scale of 2**16. The vector is Shamir-shared
t-of-n, key holder i's shares are packed into ``w``-bit slots and encrypted under key holder i's
Paillier modulus with fresh randomness. The file holds only ciphertexts (base64 of fixed-width
big-endian integers), the holder's name and the digests of study and public key: no count, no
total, no size. Whoever reads it (the aggregator) learns who submitted and nothing else.
"""

from __future__ import annotations

import base64
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import gmpy2
import pandas as pd

from confidata.errors import ConfidataError, InputFileError
from confidata.he.config import HEStudy
from confidata.he.keys import PublicKey, tno, write_json
from confidata.he.packing import pack
from confidata.he.shares import share_vector
from confidata.secure.local import aggregate
from confidata.secure.scaling import plan_for

__all__ = ["Submission", "encrypt_frame", "load_submission", "local_vector"]

FORMAT = "confidata-he-submission/1"


@dataclass(frozen=True)
class Submission:
    holder: str
    path: str
    ciphertexts: dict[str, list[int]]  # key holder -> its ciphertexts, as integers mod n**2


def local_vector(he: HEStudy, frame: pd.DataFrame, key: PublicKey) -> list[int]:
    """The holder's exact vector: counts of every cell, then totals (at 2**fx) when planned."""
    agg = aggregate(he.study, frame, plan_for(he.study))
    vector = [int(v) for v in agg.n]
    if "total" in key.plan.quantities:
        vector += [int(v) for v in agg.S1]
    return vector


def ciphertext_bytes(key_bits: int) -> int:
    return 2 * key_bits // 8


def encrypt_vector(he: HEStudy, key: PublicKey, vector: list[int]) -> dict[str, list[int]]:
    """Shamir-share, pack and encrypt: {key holder: [ciphertext ints]}."""
    plan = key.plan
    if len(vector) != plan.length:
        raise ConfidataError(
            "The local vector does not have the planned length; the study changed after keygen."
        )
    Paillier, _, PaillierPublicKey, _ = tno()
    xs = [key.x(n) for n in key.names]
    shares = share_vector(vector, xs, key.threshold, plan.prime)
    out: dict[str, list[int]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, x in zip(key.names, xs, strict=True):
            n = key.modulus(name)
            scheme = Paillier(PaillierPublicKey(n, n + 1), None)
            out[name] = [int(scheme.encrypt(m).get_value()) for m in pack(shares[x], plan)]
    return out


def submission_content(he: HEStudy, key: PublicKey, holder: str, ciphertexts: dict[str, list[int]]) -> dict:
    width = ciphertext_bytes(he.key_bits)
    return {
        "format": FORMAT,
        "study": he.digest,
        "public_key": key.digest,
        "holder": holder,
        "ciphertexts": {
            name: [base64.b64encode(int(c).to_bytes(width, "big")).decode("ascii") for c in cts]
            for name, cts in ciphertexts.items()
        },
    }


def encrypt_frame(
    he: HEStudy, key: PublicKey, frame: pd.DataFrame, holder: str, output: Path, *, overwrite: bool = False
) -> dict:
    """Everything a holder does: check, aggregate locally, encrypt, write. Returns the content."""
    he.check_holder(holder, "--as")
    content = submission_content(he, key, holder, encrypt_vector(he, key, local_vector(he, frame, key)))
    write_json(output, content, overwrite=overwrite)
    return content


def decode_ciphertexts(encoded: object, key: PublicKey, key_bits: int) -> dict[str, list[int]] | str:
    """The ciphertexts as integers, or the reason they are not valid (a short phrase)."""
    if not isinstance(encoded, dict) or sorted(encoded) != sorted(key.names):
        return "it does not hold one ciphertext list per key holder of this study"
    width = ciphertext_bytes(key_bits)
    out: dict[str, list[int]] = {}
    for name in key.names:
        items = encoded[name]
        if not isinstance(items, list) or len(items) != key.plan.ciphertexts:
            return (
                f"it holds the wrong number of ciphertexts for key holder '{name}' "
                f"(the study's plan needs {key.plan.ciphertexts})"
            )
        n = gmpy2.mpz(key.modulus(name))
        n2 = n * n
        values = []
        for item in items:
            try:
                raw = base64.b64decode(item, validate=True) if isinstance(item, str) else b""
            except ValueError:
                raw = b""
            c = gmpy2.mpz(int.from_bytes(raw, "big")) if len(raw) == width else gmpy2.mpz(0)
            if not (0 < c < n2) or gmpy2.gcd(c, n) != 1:
                return (
                    f"a ciphertext for key holder '{name}' is not a valid Paillier ciphertext under its key"
                )
            values.append(int(c))
        out[name] = values
    return out


def load_submission(he: HEStudy, key: PublicKey, path: Path) -> Submission:
    """Read and check one submission; a garbage file is refused naming it (and its holder if known)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"Submission '{path}' does not exist; check the path.")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputFileError(
            f"Submission '{path}' is not a confidata HE submission (garbage or another format); "
            "ask its holder to run 'confidata he encrypt' again. Nothing was aggregated."
        )
    holder = data.get("holder")
    if not isinstance(holder, str):
        raise InputFileError(f"Submission '{path}' names no holder; ask its holder to encrypt again.")
    he.check_holder(holder, f"Submission '{path}'")
    who = f"Submission '{path}' of holder '{holder}'"
    if data.get("study") != he.digest:
        raise ConfidataError(
            f"{who} was made for another study (or another version of it); the holder must encrypt "
            "with this study file. Nothing was aggregated."
        )
    if data.get("public_key") != key.digest:
        raise ConfidataError(
            f"{who} is encrypted under another public key (wrong key); the holder must use the "
            "current public key file. Nothing was aggregated."
        )
    decoded = decode_ciphertexts(data.get("ciphertexts"), key, he.key_bits)
    if isinstance(decoded, str):
        raise ConfidataError(f"{who} is refused: {decoded}. Nothing was aggregated.")
    return Submission(holder, str(path), decoded)
