"""What a fitted DP synthesizer keeps: a Bayesian network over the discretised columns.

Every method ends here. PrivBayes learns one directly; for MST and AIM the graphical model
estimated by `confidata.synth.dp._pgm` is turned into one (junction-tree cliques root first,
each new column conditioned on its clique's separator and earlier new columns, so the joint is
the model's own). Each table is a conditional distribution made from noisy measurements only: the
network holds no real record, and sampling needs neither the estimation engine nor the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Network", "conditional"]


def conditional(joint: np.ndarray) -> np.ndarray:
    """Normalise the last axis of non-negative `joint` into conditional distributions; a
    parent state with no mass gets the uniform distribution."""
    joint = np.clip(np.asarray(joint, dtype=float), 0.0, None)
    total = joint.sum(axis=-1, keepdims=True)
    size = joint.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, joint / np.where(total > 0, total, 1.0), 1.0 / size)
    return out


@dataclass
class Network:
    """Columns in sampling order, each with its parents and P(column | parents)."""

    order: list[str]
    parents: dict[str, list[str]]
    tables: dict[str, np.ndarray]  # shape (*parent sizes, size), last axis sums to 1
    total: float  # the estimated (noisy) number of records

    @property
    def cells(self) -> int:
        return int(sum(t.size for t in self.tables.values()))

    @property
    def megabytes(self) -> float:
        return self.cells * 8 / 2**20

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """`n` rows of codes, drawn column by column (vectorised inverse-CDF per parent state)."""
        codes: dict[str, np.ndarray] = {}
        for name in self.order:
            table = self.tables[name]
            size = table.shape[-1]
            flat = table.reshape(-1, size)
            parents = self.parents[name]
            if parents:
                row = np.ravel_multi_index([codes[p] for p in parents], table.shape[:-1])
            else:
                row = np.zeros(n, dtype=np.int64)
            cdf = np.cumsum(flat, axis=1)
            cdf[:, -1] = 1.0
            # rows laid end to end: row r's cdf spans (r, r + 1], so one search serves all rows
            stacked = (cdf + np.arange(flat.shape[0])[:, None]).ravel()
            position = np.searchsorted(stacked, row + rng.random(n), side="right")
            codes[name] = np.clip(position - row * size, 0, size - 1).astype(np.int64)
        return codes

