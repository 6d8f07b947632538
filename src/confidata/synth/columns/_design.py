"""The design matrix a regression-based column method fits on, from the predictor parts.

synthpop hands its regressions a data frame: numbers as they are, factors as dummy columns
(R's treatment contrasts). Here a categorical part (a category, or the missing-value state of
a number) becomes one 0/1 column per level after its first; a value part is its number, 0
where the row has none (its state part, a predictor too, tells the model so). Every column is
then centred and scaled by its mean and spread on the fitting rows, so that the small ridge and
L2 penalties below weigh all predictors alike, as synthpop's rescaling to [0, 1] does for
polyreg. A categorical part with more than `MAX_DUMMY_LEVELS` levels enters as its level code
instead of as dummies: a thousand dummy columns would make a multinomial fit take minutes
(synthpop's parametric method stalls on such factors for the same reason).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from confidata.synth._encode import Part

__all__ = ["Design", "MAX_DUMMY_LEVELS"]

MAX_DUMMY_LEVELS = 64


@dataclass
class Design:
    """How predictor arrays become a standardised matrix: learned at fit, reused at draw."""

    widths: np.ndarray  # int64 per predictor: number of dummy columns, 0 for a number
    center: np.ndarray  # float64 per matrix column
    scale: np.ndarray  # float64 per matrix column

    @classmethod
    def fit(cls, predictors: list[np.ndarray], parts: list[Part],
            n: int) -> tuple[Design, np.ndarray]:
        widths = np.array([_width(p) for p in parts], dtype=np.int64)
        raw = _raw(predictors, widths, n)
        center = raw.mean(axis=0) if raw.shape[0] else np.zeros(raw.shape[1])
        scale = raw.std(axis=0) if raw.shape[0] else np.ones(raw.shape[1])
        scale = np.where(scale > 0, scale, 1.0)
        design = cls(widths, center, scale)
        return design, (raw - center) / scale

    def matrix(self, predictors: list[np.ndarray], n: int) -> np.ndarray:
        return (_raw(predictors, self.widths, n) - self.center) / self.scale

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}widths": self.widths, f"{prefix}center": self.center,
                f"{prefix}scale": self.scale}

    @classmethod
    def restore(cls, arrays: dict[str, np.ndarray], prefix: str, n_predictors: int) -> Design:
        design = cls(arrays[f"{prefix}widths"].astype(np.int64), arrays[f"{prefix}center"],
                     arrays[f"{prefix}scale"])
        columns = int(np.where(design.widths > 0, design.widths, 1).sum())
        if len(design.widths) != n_predictors or len(design.center) != columns \
                or len(design.scale) != columns or (design.widths < 0).any():
            raise ValueError("a design that does not fit its predictors")
        return design


def _width(part: Part) -> int:
    if not part.is_categorical or len(part.levels) > MAX_DUMMY_LEVELS:
        return 0
    return max(len(part.levels) - 1, 0) or 0


def _raw(predictors: list[np.ndarray], widths: np.ndarray, n: int) -> np.ndarray:
    blocks = []
    for array, width in zip(predictors, widths, strict=True):
        if width == 0:
            blocks.append(np.nan_to_num(np.asarray(array, dtype=np.float64), nan=0.0)[:, None])
        else:
            codes = np.asarray(array, dtype=np.int64)
            dummies = np.zeros((n, int(width)))
            hit = (codes >= 1) & (codes <= width)
            dummies[np.flatnonzero(hit), codes[hit] - 1] = 1.0
            blocks.append(dummies)
    return np.hstack(blocks) if blocks else np.zeros((n, 0))
