"""The fitted state of a sequential synthesizer: one step per modelled part, per stratum."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from confidata._tree import Tree
from confidata.synth._encode import Part

__all__ = ["CONFIDENTIAL_NOTE", "FittedModel", "Step"]

CONFIDENTIAL_NOTE = (
    "This CART model contains real observed values of the training data in its leaves. Treat "
    "it as confidential as the data itself: do not publish or share it."
)


@dataclass
class Step:
    """One fitted part: its predictors, tree, and the real target values of each leaf."""

    part: Part
    predictors: list[int]
    tree: Tree | None = None
    leaf_values: np.ndarray | None = None
    leaf_weights: np.ndarray | None = None  # cumulative case weights in leaf order
    derived: bool = False
    # a sequential synthesizer with per-column methods (`confidata.synth.sequential`): the
    # method of this part, its fitted column model (None where the tree above is the model),
    # and the parts its predictors are (their encoding: levels, bin edges)
    method: str = "cart"
    model: object | None = None
    predictor_parts: list[Part] = field(default_factory=list)


@dataclass
class FittedModel:
    """The fitted sequence for one stratum (or the whole file)."""

    steps: list[Step] = field(default_factory=list)
    n_rows: int = 0
    weight_total: float = 0.0
