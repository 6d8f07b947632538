"""The holders' shared secret: read from a file, turned into one key per use.

The key is shared by the data holders only, never by the linkage unit: with it, anyone could
encode a list of common names and recognise them in the .clk files (a dictionary attack). From
the one secret, HMAC-SHA256 derives a separate key for each field (the field-level salt: the
same surname never sets the same bits as the same string in another field), one for each
hardening step that needs randomness (the balancing permutation, the diffusion taps), and a
short check value written into the .clk header. The check value is a PRF output, so it reveals
nothing about the key; it lets `link` refuse files encoded under different keys instead of
returning no matches in silence.
"""

from __future__ import annotations

import hmac
from pathlib import Path

import numpy as np

from confidata.pprl.errors import KeyFileError

__all__ = ["MIN_KEY_BYTES", "SecretKey", "read_key"]

MIN_KEY_BYTES = 16
_DOMAIN = b"confidata-pprl/v1/"


class SecretKey:
    """The holders' secret, with the derivations the encoder needs. Its repr shows no bytes."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_KEY_BYTES:
            raise KeyFileError(
                f"The secret key has {len(secret)} bytes; use at least {MIN_KEY_BYTES} random "
                "bytes (e.g. `head -c 32 /dev/urandom > pprl.key`), shared by the holders only."
            )
        self._secret = bytes(secret)

    def __repr__(self) -> str:
        return "SecretKey(<hidden>)"

    def derive(self, label: str) -> bytes:
        """A 32-byte key for one purpose, independent of every other label's."""
        return hmac.digest(self._secret, _DOMAIN + label.encode("utf-8"), "sha256")

    def check_value(self) -> str:
        """16 hex digits that two holders' files share exactly when their keys are equal."""
        return self.derive("key-check")[:8].hex()

    def rng(self, label: str) -> np.random.Generator:
        """A generator seeded from the key, for keyed permutations and taps."""
        seed = int.from_bytes(self.derive(label), "little")
        return np.random.Generator(np.random.PCG64(seed))


def read_key(path: str | Path) -> SecretKey:
    """Read a key file: its bytes, with surrounding whitespace (a trailing newline) removed."""
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(
            f"Secret key file '{path}' does not exist or is not a file; create one with "
            "`head -c 32 /dev/urandom > pprl.key` and give the same file to every holder."
        )
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise KeyFileError(
            f"Secret key file '{path}' cannot be read ({exc.strerror}); check its permissions."
        ) from None
    if len(secret) < MIN_KEY_BYTES:
        raise KeyFileError(
            f"Secret key file '{path}' holds {len(secret)} bytes; a key needs at least "
            f"{MIN_KEY_BYTES} random bytes (e.g. `head -c 32 /dev/urandom > {path.name}`)."
        )
    return SecretKey(secret)

