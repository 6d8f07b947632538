"""The threshold-HE study: a secure study file plus an ``[he]`` section.

The key holders are the study's ``[[party]]`` entries (host, port and TLS certificate, exactly as
for a secure table); the data holders are not parties at all: they only write a submission file.
The ``[he]`` section says how many key holders must come to decrypt, how many data holders may
submit, the Paillier key size and where the joint public key file lives::

    [he]
    threshold = 2              # t: key holders needed to decrypt (default: a majority of n)
    max_holders = 1000         # most submissions an aggregate may hold (sizes the packing)
    holders = ["h001", "h002"] # optional: the only data holder names accepted
    key_bits = 2048            # each key holder's Paillier modulus (2048: 112-bit security)
    public_key = "he_public_key.json"   # where keygen writes, and encrypt reads, the public key

The rest of the file is an ordinary study (`confidata.secure.study`), read by its parser once
the ``[he]`` section is taken out: the statistic (count, total, mean or a table of one of them),
the public levels, the value's public bounds, min_cell_size and epsilon. The digest that every
process checks covers both parts.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confidata.errors import InputFileError, SchemaError
from confidata.secure.study import Study, parse_study

__all__ = ["HEStudy", "KEY_BITS", "has_he_section", "load_he_study", "parse_he_study"]

KEY_BITS = (2048, 3072)  # NIST SP 800-57: 112-bit and 128-bit security
_HOLDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_KEYS = {"threshold", "max_holders", "holders", "key_bits", "public_key"}


@dataclass(frozen=True)
class HEStudy:
    """A validated threshold-HE study: the secure study and the ``[he]`` options."""

    study: Study
    threshold: int
    max_holders: int
    holders: tuple[str, ...]
    key_bits: int
    public_key: str
    digest: str

    @property
    def key_holders(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.study.parties)

    @property
    def public_key_path(self) -> Path:
        return self.study.resolve(self.public_key)

    def secret_key_path(self, key_holder: str) -> Path:
        """Default place of a key holder's secret key share, beside the public key."""
        self.study.party(key_holder)
        return self.public_key_path.with_name(f"he_secret_{key_holder}.json")

    def check_holder(self, name: str, where: str) -> None:
        if not _HOLDER.match(name):
            raise SchemaError(
                f"{where}: the data holder name must be 1-63 letters, digits, '_', '.' or '-'; "
                "pass another with --as."
            )
        if self.holders and name not in self.holders:
            raise SchemaError(
                f"{where}: data holder '{name}' is not listed in the study's [he] holders; add it "
                "there or pass a listed name with --as."
            )


def has_he_section(path: str | Path) -> bool:
    """Whether a study file is a threshold-HE one (so commands shared with the secure studies,
    such as ``secure certs``, read it with `load_he_study`); False where it cannot be read, and
    the loader then says why."""
    try:
        return "he" in tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


def load_he_study(path: str | Path) -> HEStudy:
    """Read and validate a threshold-HE study TOML file."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(
            f"Study file '{path}' does not exist; write one "
            "(see 'confidata secure demo --scenario he-aggregate')."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"Study file '{path}' is not valid TOML ({exc}); fix the syntax.") from None
    return parse_he_study(data, folder=path.resolve().parent, where=str(path))


def parse_he_study(data: Mapping[str, Any], *, folder: str | Path = ".", where: str = "study") -> HEStudy:
    """Validate a threshold-HE study given as a dict (a parsed TOML document)."""
    he = data.get("he")
    if not isinstance(he, Mapping):
        raise SchemaError(
            f"{where}: a threshold-HE study needs an [he] section (threshold, max_holders, key_bits); add it."
        )
    rest = {k: v for k, v in data.items() if k != "he"}
    study = parse_study(rest, folder=folder, where=where)
    w = f"{where} [he]"
    unknown = sorted(set(he) - _KEYS)
    if unknown:
        raise SchemaError(
            f"{w}: unknown key(s) {', '.join(unknown)}; the keys are {', '.join(sorted(_KEYS))}."
        )
    if study.is_psi:
        raise SchemaError(f"{w}: threshold HE sums tables; statistic '{study.statistic}' is an intersection.")
    if study.cell == "variance" or study.statistic == "variance":
        raise SchemaError(
            f"{w}: statistic 'variance' is not supported under threshold HE (it needs sums of "
            "squares); ask for count, total, mean or a table of them."
        )
    if study.weight:
        raise SchemaError(f"{w}: survey weights are not supported under threshold HE; remove [weight].")
    n = len(study.parties)
    threshold = _int(he, "threshold", n // 2 + 1, w, "give the number of key holders needed to decrypt.")
    if not 2 <= threshold <= n:
        raise SchemaError(
            f"{w}: key 'threshold' must be between 2 (no key holder decrypts alone) and the {n} "
            "key holders ([[party]] entries)."
        )
    max_holders = _int(he, "max_holders", 1000, w, "give the most data holders, e.g. max_holders = 1000.")
    if not 1 <= max_holders <= 1_000_000:
        raise SchemaError(f"{w}: key 'max_holders' must be between 1 and 1,000,000.")
    key_bits = _int(he, "key_bits", 2048, w, "give 2048 or 3072.")
    if key_bits not in KEY_BITS:
        raise SchemaError(f"{w}: key 'key_bits' must be 2048 (112-bit security) or 3072 (128-bit).")
    holders = he.get("holders", [])
    if not isinstance(holders, list) or not all(isinstance(h, str) and _HOLDER.match(h) for h in holders):
        raise SchemaError(
            f"{w}: key 'holders' must list data holder names of letters, digits, '_', '.' or '-'."
        )
    if len(set(holders)) != len(holders):
        raise SchemaError(f"{w}: key 'holders' lists a name twice; list each data holder once.")
    if len(holders) > max_holders:
        raise SchemaError(f"{w}: key 'holders' lists more names than max_holders; raise max_holders.")
    public_key = he.get("public_key", "he_public_key.json")
    if not isinstance(public_key, str) or not public_key:
        raise SchemaError(f"{w}: key 'public_key' must be a path, e.g. public_key = \"he_public_key.json\".")
    options = {
        "threshold": threshold,
        "max_holders": max_holders,
        "holders": holders,
        "key_bits": key_bits,
    }
    canonical = json.dumps({"study": study.digest, **options}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return HEStudy(study, threshold, max_holders, tuple(holders), key_bits, public_key, digest)


def _int(table: Mapping[str, Any], key: str, default: int, where: str, hint: str) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(f"{where}: key '{key}' must be a whole number; {hint}")
    return value


def he_toml(he: HEStudy, study_text: str) -> str:
    """The study text with its [he] section appended (used by the demo)."""
    lines = [
        "",
        "[he]",
        f"threshold = {he.threshold}",
        f"max_holders = {he.max_holders}",
        f"key_bits = {he.key_bits}",
        f"public_key = {json.dumps(he.public_key)}",
    ]
    if he.holders:
        lines.append(f"holders = {json.dumps(list(he.holders))}")
    return study_text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
