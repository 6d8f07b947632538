"""The four use cases of synthetic data for official statistics, and what each requires.

`USE_CASES` holds the profiles (measures, thresholds with their reasons and sources, notes for
users); `recommend` says which methods measured runs favour for each.
"""

from __future__ import annotations

from confidata.errors import SchemaError, quote_names
from confidata.usecases.profiles import USE_CASES, Criterion, UseCase

__all__ = ["Criterion", "USE_CASES", "UseCase", "get_use_case"]


def get_use_case(name: str) -> UseCase:
    """The profile called `name`; an unknown name raises an error listing the four."""
    if name not in USE_CASES:
        raise SchemaError(f"There is no use case {quote_names([str(name)])}; choose one of "
                          f"{quote_names(sorted(USE_CASES))}.")
    return USE_CASES[name]
