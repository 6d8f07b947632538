"""The independence baseline (registry name ``sample``): every column from its own marginal.

synthpop's ``sample`` method draws a column from its observed values, ignoring every other
column. Used for every column at once it gives the file that keeps each 1-way distribution and
no relationship at all: the floor every method must beat on two-way utility, and a reference
point in `confidata compare`.

It is the Gaussian copula (`confidata.synth.copula`) with the identity as correlation, so it
shares the marginals, the model file, and the handling of missing cells, rules, derived columns
and the schema's relations (which it holds in every row: they are the schema's, not a model's).
Numbers are real observed values by default, as synthpop draws them (``interpolate=True``
draws continuous numbers between neighbouring real values instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from confidata.synth.copula import GaussianCopula
from confidata.table.schema import Schema

__all__ = ["Independent"]


class Independent(GaussianCopula):
    """Every column drawn from its own empirical marginal, independently of the others."""

    method = "sample"
    _correlated = False

    def __init__(self, schema: Schema | None = None, *, visit_sequence: Sequence[str] | None = None,
                 rules: str | Path | Sequence[str] | None = None, interpolate: bool = False,
                 identifiers: str = "drop") -> None:
        super().__init__(schema, visit_sequence=visit_sequence, rules=rules,
                         interpolate=interpolate, identifiers=identifiers)
