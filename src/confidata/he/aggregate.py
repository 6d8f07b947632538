"""The aggregator: the homomorphic sum of all submissions, per key holder, and the aggregate file.

Every submission is checked before anything is summed (`load_submission`: format, study, key,
lengths, each ciphertext a unit mod n**2); a holder that appears twice, two files with the same
ciphertexts (one submission copied under two names) or more submissions than the study's
``max_holders`` (the bound that keeps the packing exact) stop the aggregation naming the files.
The aggregator holds no key: it multiplies ciphertexts (Paillier's addition) with TNO's scheme,
and learns the list of holders and nothing about their values. The aggregate file names the
holders it sums, so the key holders can check what they are asked to decrypt.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

from confidata.errors import ConfidataError, InputFileError
from confidata.he.config import HEStudy
from confidata.he.keys import PublicKey, tno, write_json
from confidata.he.submission import (
    Submission,
    decode_ciphertexts,
    load_submission,
    submission_content,
)

__all__ = ["Aggregate", "aggregate_files", "aggregate_submissions", "load_aggregate"]

FORMAT = "confidata-he-aggregate/1"


@dataclass(frozen=True)
class Aggregate:
    holders: tuple[str, ...]
    ciphertexts: dict[str, list[int]]
    digest: str


def aggregate_submissions(he: HEStudy, key: PublicKey, submissions: list[Submission]) -> Aggregate:
    if not submissions:
        raise ConfidataError("No submissions to aggregate; pass at least one submission file.")
    if len(submissions) > he.max_holders:
        raise ConfidataError(
            f"{len(submissions):,} submissions exceed the study's [he] max_holders = {he.max_holders:,}, "
            "the bound that keeps the packed sums exact; aggregate fewer or raise max_holders (and "
            "run keygen again). Nothing was aggregated."
        )
    seen: dict[str, str] = {}
    fingerprints: dict[str, Submission] = {}
    for sub in submissions:
        if sub.holder in seen:
            raise ConfidataError(
                f"Holder '{sub.holder}' submitted twice ('{seen[sub.holder]}' and '{sub.path}'); keep "
                "one of its submissions. Nothing was aggregated."
            )
        seen[sub.holder] = sub.path
        fp = hashlib.sha256(json.dumps(sub.ciphertexts, sort_keys=True).encode()).hexdigest()
        if fp in fingerprints:
            first = fingerprints[fp]
            raise ConfidataError(
                f"Submissions '{first.path}' (holder '{first.holder}') and '{sub.path}' (holder "
                f"'{sub.holder}') hold the same ciphertexts: one submission copied under two names. "
                "Nothing was aggregated."
            )
        fingerprints[fp] = sub
    Paillier, PaillierCiphertext, PaillierPublicKey, _ = tno()
    sums: dict[str, list[int]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in key.names:
            n = key.modulus(name)
            scheme = Paillier(PaillierPublicKey(n, n + 1), None)
            totals = [PaillierCiphertext(c, scheme) for c in submissions[0].ciphertexts[name]]
            for sub in submissions[1:]:
                totals = [
                    t + PaillierCiphertext(c, scheme)
                    for t, c in zip(totals, sub.ciphertexts[name], strict=True)
                ]
            sums[name] = [int(t.get_value()) for t in totals]
    holders = tuple(sorted(seen))
    return Aggregate(holders, sums, _digest(he, key, holders, sums))


def _digest(he: HEStudy, key: PublicKey, holders: tuple[str, ...], sums: dict[str, list[int]]) -> str:
    canonical = json.dumps(
        {
            "study": he.digest,
            "key": key.digest,
            "holders": list(holders),
            "sums": {k: [format(c, "x") for c in v] for k, v in sums.items()},
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def aggregate_files(
    he: HEStudy, key: PublicKey, paths: list[Path], output: Path, *, overwrite: bool = False
) -> Aggregate:
    """Check every submission file, sum them, write the aggregate file."""
    agg = aggregate_submissions(he, key, [load_submission(he, key, p) for p in paths])
    content = submission_content(he, key, "aggregate", agg.ciphertexts)
    content.update({"format": FORMAT, "holders": list(agg.holders), "digest": agg.digest})
    del content["holder"]
    write_json(output, content, overwrite=overwrite)
    return agg


def load_aggregate(he: HEStudy, key: PublicKey, path: Path) -> Aggregate:
    path = Path(path)
    fix = "make it with 'confidata he aggregate STUDY SUBMISSION... -o AGG'."
    if not path.is_file():
        raise InputFileError(f"Aggregate file '{path}' does not exist; {fix}")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputFileError(f"Aggregate file '{path}' is not a confidata HE aggregate; {fix}")
    if data.get("study") != he.digest or data.get("public_key") != key.digest:
        raise ConfidataError(f"Aggregate file '{path}' was made for another study or public key; {fix}")
    holders = data.get("holders")
    if not isinstance(holders, list) or not holders or not all(isinstance(h, str) for h in holders):
        raise InputFileError(f"Aggregate file '{path}' lists no holders; {fix}")
    decoded = decode_ciphertexts(data.get("ciphertexts"), key, he.key_bits)
    if isinstance(decoded, str):
        raise ConfidataError(f"Aggregate file '{path}' is refused: {decoded}.")
    digest = _digest(he, key, tuple(holders), decoded)
    if data.get("digest") != digest:
        raise ConfidataError(f"Aggregate file '{path}' was altered after it was written; {fix}")
    return Aggregate(tuple(holders), decoded, digest)
