"""The errors of record linkage, in confidata's one family.

Kept in their own module so that every pprl module (and the attack, written beside them) can
raise them without importing the encoder.
"""

from __future__ import annotations

from confidata.errors import ConfidataError

__all__ = ["EncodingMismatchError", "KeyFileError", "LinkageError"]


class LinkageError(ConfidataError, ValueError):
    """Options or data that record linkage cannot work with (a missing field column, bad dates)."""


class KeyFileError(LinkageError):
    """The secret key file is missing, unreadable or too short to be a key."""


class EncodingMismatchError(LinkageError):
    """Two .clk files were encoded with different parameters, so their bits cannot be compared."""
