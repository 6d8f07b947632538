"""Input privacy for NSOs, the part that chooses and justifies: the use-case catalogue (WP1).

Kept apart from `secure/` (which computes) so that the catalogue is plain checked data that the
benchmark and the recommendations can read without starting any protocol.

Modules: `catalogue` (the cases, WP1); `bench`, `techniques`, `runs` (the measured grid and its
records, WP2); `scaling_law` (cost against records, parties and latency, fitted to the runs),
`trust` (what each technique assumes, what each case offers), `report` (the runs as a page),
`recommend` and `chapter` (which technique for which case, WP3).
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
