"""Input privacy for NSOs, the part that chooses and justifies: the use-case catalogue (WP1).

Kept apart from `secure/` (which computes) so that the catalogue is plain checked data that the
benchmark and the recommendations can read without starting any protocol.
"""

from confidata.ipp.catalogue import (
    Catalogue,
    Criterion,
    Party,
    Reference,
    Sizes,
    UnknownCaseError,
    UseCase,
    load_catalogue,
)

__all__ = [
    "Catalogue",
    "Criterion",
    "Party",
    "Reference",
    "Sizes",
    "UnknownCaseError",
    "UseCase",
    "load_catalogue",
]
