"""Which local step and which secure protocol compute each statistic of a study.

The tables (count, total, mean, variance, table) reduce each party's rows to per-cell sums
(`local.aggregate`) and run `protocol.secure_table`; a regression reduces them to a scaled
design (`regression.local_design`) and solves the model on shares; quantiles count the values
below every candidate of a public grid (`quantiles.local_counts`) and search it on shares. One
entry per statistic: a party's process (`party`) calls these two functions and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from confidata.secure.local import aggregate
from confidata.secure.protocol import secure_table
from confidata.secure.quantiles import local_counts, secure_quantiles
from confidata.secure.regression import local_design, secure_regression
from confidata.secure.scaling import FixedPointPlan
from confidata.secure.study import Study

__all__ = ["MODELS", "local_input", "secure_statistic"]

# statistic -> (local step on the party's frame, secure protocol on the local step's output)
MODELS: dict[str, tuple[Callable[[Study, pd.DataFrame], Any], Callable[..., Any]]] = {
    "regression": (local_design, secure_regression),
    "quantiles": (local_counts, secure_quantiles),
}


def local_input(study: Study, frame: pd.DataFrame, plan: FixedPointPlan) -> Any:
    """Check a party's rows against the study and reduce them to what it will secret-share."""
    if study.statistic in MODELS:
        return MODELS[study.statistic][0](study, frame)
    return aggregate(study, frame, plan)


async def secure_statistic(
    engine, study: Study, plan: FixedPointPlan, local: Any, noise: dict[str, np.ndarray]
) -> Any:
    """The study's secure protocol; the result parties get its result object, the others None."""
    if study.statistic in MODELS:
        return await MODELS[study.statistic][1](engine, study, local)
    return await secure_table(engine, study, plan, local, noise)
