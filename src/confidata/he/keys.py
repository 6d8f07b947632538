"""Key material: each key holder's own Paillier key, and the joint public key file.

Why not one jointly generated Paillier modulus (TNO's ``tno.mpc.protocols.distributed_keygen``)?
Its release 4.3.0 pins ``tno.mpc.encryption_schemes.paillier ~= 3.0`` while confidata depends on
4.x (the PSI sum uses it), and it brings its own HTTP transport (``tno.mpc.communication``, with
a pickle fallback) that would run beside our TLS links; see bench/RESULTS_SECURE.md for what was
tried. We use a construction with the same guarantee and no dealer, on TNO's Paillier:

* every key holder generates an ordinary Paillier key pair (``Paillier.generate_key_material``)
  on its own machine; the secret key never leaves it;
* the joint public key is the list of the n key holders' public moduli, the threshold t and the
  packing plan, hashed; every key holder checks over TLS that all hold the same file;
* a data holder Shamir-shares its vector t-of-n (`confidata.he.shares`) and encrypts key holder
  i's share under key holder i's modulus; the aggregator multiplies ciphertexts per key holder,
  so key holder i can decrypt only the *sum* of its shares, a uniformly random vector;
* t key holders together combine their decrypted share sums into the aggregate; fewer learn
  nothing about it (Shamir), and no one ever holds a key that decrypts it alone.

What it costs against a single threshold modulus: n ciphertexts per packed plaintext instead of
one (bytes and encryption time grow with the number of key holders, not with the data holders).
What it gains: key generation in about a second instead of a distributed biprime search, and
decryption with the standard Paillier algorithm. The files are JSON (never pickle); the secret
key file is written with mode 0600.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from confidata.errors import ConfidataError, InputFileError, OutputExistsError
from confidata.he.config import HEStudy
from confidata.he.packing import PackingPlan, packing_plan

__all__ = [
    "PublicKey",
    "SecretKey",
    "generate_key",
    "load_public_key",
    "load_secret_key",
    "public_key_bundle",
    "write_json",
]

PUBLIC_FORMAT = "confidata-he-public-key/1"
SECRET_FORMAT = "confidata-he-secret-key/1"


def tno():
    """TNO's Paillier classes (its 'randomness made on the fly' hints silenced: not a fault)."""
    warnings.filterwarnings("ignore", module=r"tno\.mpc\.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tno.mpc.encryption_schemes.paillier import (  # noqa: PLC0415 - heavy import
            Paillier,
            PaillierCiphertext,
            PaillierPublicKey,
            PaillierSecretKey,
        )
    return Paillier, PaillierCiphertext, PaillierPublicKey, PaillierSecretKey


@dataclass(frozen=True)
class PublicKey:
    """The joint public key: every key holder's modulus (in study order), t and the packing."""

    study: str  # the HE study digest
    threshold: int
    names: tuple[str, ...]
    moduli: tuple[int, ...]
    plan: PackingPlan
    digest: str

    def x(self, name: str) -> int:
        """Key holder `name`'s Shamir position (1-based)."""
        return self.names.index(name) + 1

    def modulus(self, name: str) -> int:
        return self.moduli[self.names.index(name)]

    def to_dict(self) -> dict:
        return _public_content(self.study, self.threshold, self.names, self.moduli, self.plan)


@dataclass(frozen=True)
class SecretKey:
    study: str
    key_holder: str
    public_key: str  # digest of the joint public key it belongs to
    lambda_: int
    mu: int
    n: int


def generate_key(key_bits: int) -> tuple[int, int, int]:
    """A fresh Paillier key of this key holder: (n, lambda, mu), g = n + 1."""
    Paillier, _, _, _ = tno()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        public, secret = Paillier.generate_key_material(key_bits)
    return int(public.n), int(secret.lambda_), int(secret.mu)


def _public_content(study: str, threshold: int, names, moduli, plan: PackingPlan) -> dict:
    return {
        "format": PUBLIC_FORMAT,
        "study": study,
        "threshold": threshold,
        "key_holders": [
            {"name": n, "x": i + 1, "n": format(m, "x")}
            for i, (n, m) in enumerate(zip(names, moduli, strict=True))
        ],
        "packing": plan.to_dict(),
    }


def _digest(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def public_key_bundle(he: HEStudy, moduli: dict[str, int]) -> PublicKey:
    """The joint public key from every key holder's modulus; checks each modulus's size."""
    names = he.key_holders
    missing = [n for n in names if n not in moduli]
    if missing:
        raise ConfidataError(
            f"No public modulus from key holder(s) {', '.join(missing)}; run keygen with all of them."
        )
    for name in names:
        m = moduli[name]
        if m.bit_length() != he.key_bits or m % 2 == 0:
            raise ConfidataError(
                f"Key holder '{name}' sent a modulus that is not an odd {he.key_bits}-bit number; "
                "it runs another study or version. Nothing was written."
            )
    if len(set(moduli.values())) != len(moduli):
        raise ConfidataError(
            "Two key holders sent the same modulus; each must generate its own key. Nothing was written."
        )
    plan = packing_plan(he)
    ordered = tuple(moduli[n] for n in names)
    content = _public_content(he.digest, he.threshold, names, ordered, plan)
    return PublicKey(he.digest, he.threshold, names, ordered, plan, _digest(content))


def write_json(path: Path, content: dict, *, private: bool = False, overwrite: bool = True) -> None:
    """Write atomically (a temporary file renamed over the target); mode 0600 when private."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"'{path}' already exists; pass --overwrite to replace it, or -o to write elsewhere."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(content, fh, sort_keys=True, separators=(",", ":"))
        os.chmod(tmp, 0o600 if private else 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def secret_content(key: SecretKey) -> dict:
    return {
        "format": SECRET_FORMAT,
        "study": key.study,
        "key_holder": key.key_holder,
        "public_key": key.public_key,
        "lambda": format(key.lambda_, "x"),
        "mu": format(key.mu, "x"),
        "n": format(key.n, "x"),
    }


def _read(path: Path, what: str, fix: str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"The {what} '{path}' does not exist; {fix}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise InputFileError(f"The {what} '{path}' is not valid JSON; {fix}") from None
    if not isinstance(data, dict):
        raise InputFileError(f"The {what} '{path}' is not a confidata key file; {fix}")
    return data


def load_public_key(he: HEStudy, path: Path | None = None) -> PublicKey:
    """Read the joint public key and check it belongs to this study (same digest, same plan)."""
    path = Path(path) if path else he.public_key_path
    fix = "run 'confidata he keygen STUDY --as KEYHOLDER' at every key holder first."
    data = _read(path, "public key file", fix)
    try:
        if data.get("format") != PUBLIC_FORMAT:
            raise ValueError
        names = tuple(k["name"] for k in data["key_holders"])
        moduli = tuple(int(k["n"], 16) for k in data["key_holders"])
        threshold = int(data["threshold"])
        study = str(data["study"])
    except (ValueError, KeyError, TypeError):
        raise InputFileError(f"The public key file '{path}' is malformed; {fix}") from None
    if study != he.digest or names != he.key_holders or threshold != he.threshold:
        raise ConfidataError(
            f"The public key file '{path}' was made for another study (or another version of this "
            "one); run keygen again with this study file."
        )
    key = public_key_bundle(he, dict(zip(names, moduli, strict=True)))
    if key.to_dict() != {k: data.get(k) for k in key.to_dict()}:
        raise ConfidataError(
            f"The public key file '{path}' does not match this study's packing plan; run keygen again."
        )
    return key


def load_secret_key(he: HEStudy, key_holder: str, path: Path | None = None) -> SecretKey:
    path = Path(path) if path else he.secret_key_path(key_holder)
    fix = f"pass key holder '{key_holder}''s own file with --secret-key, or run keygen."
    data = _read(path, "secret key file", fix)
    try:
        if data.get("format") != SECRET_FORMAT:
            raise ValueError
        key = SecretKey(
            str(data["study"]),
            str(data["key_holder"]),
            str(data["public_key"]),
            int(data["lambda"], 16),
            int(data["mu"], 16),
            int(data["n"], 16),
        )
    except (ValueError, KeyError, TypeError):
        raise InputFileError(f"The secret key file '{path}' is malformed; {fix}") from None
    if key.key_holder != key_holder or key.study != he.digest:
        raise ConfidataError(f"The secret key file '{path}' belongs to another key holder or study; {fix}")
    return key
