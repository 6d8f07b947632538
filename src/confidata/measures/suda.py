"""Special uniques on the key variables, after SUDA (Elliot, Manning & Ford 2002).

A *minimal sample unique* (MSU) of a record is a set of its key values that no other record in
the file shares, and none of whose proper subsets is unique on its own. A record with several
small MSUs is a *special unique*: an intruder needs to know little about that person to single
them out. `special_uniques` finds every MSU of up to `max_size` keys and scores each record.

The search runs over column subsets, never over rows: for each subset (itertools.combinations
of the key columns) every record's combination becomes one integer code and is counted with a
``bincount``. Uniqueness only grows as keys are added, so a unique subset is minimal exactly when
none of its subsets one key smaller is unique.

Score: an MSU of size k among M keys, searched up to size K = `max_size`, adds
``prod_{i=k}^{K-1} (M - i)`` (an empty product, 1, for k = K): Elliot et al.'s weighting without
the DIS sampling-fraction step. Smaller MSUs weigh more, and more MSUs add up.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from confidata.errors import SchemaError
from confidata.measures._result import Direction, MeasureResult
from confidata.measures._shared import require, require_rows, row_keys
from confidata.measures.disclosure import _resolve_keys
from confidata.table.schema import Schema

__all__ = ["special_uniques", "suda_weight"]

_SUDA = (
    "Elliot, M. J., Manning, A. M. & Ford, R. W. (2002). A computational algorithm for handling "
    "the special uniques problem. International Journal of Uncertainty, Fuzziness and "
    "Knowledge-Based Systems 10(5), 493-509; Manning, A. M., Haglin, D. J. & Keane, J. A. "
    "(2008). A recursive search algorithm for statistical disclosure assessment. Data Mining "
    "and Knowledge Discovery 16(2), 165-196 (SUDA2)."
)


def suda_weight(size: int, n_keys: int, max_size: int) -> int:
    """Score an MSU of `size` keys adds: prod_{i=size}^{max_size-1} (n_keys - i)."""
    return int(np.prod([n_keys - i for i in range(size, max_size)], dtype=np.int64))


def _msus(frames: Sequence[pd.DataFrame], keys: list[str], max_size: int,
          which: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MSUs of the records of frame `which` (uniqueness within that frame).

    Returns per record: MSU count, smallest MSU size (0 if none), score, per-key contribution
    (records x keys: how many of its MSUs hold each key), and whether some MSU's value
    combination also occurs in the other frames (codes are joint across `frames`).
    """
    n = len(frames[which])
    count = np.zeros(n, dtype=np.int64)
    smallest = np.zeros(n, dtype=np.int64)
    score = np.zeros(n, dtype=np.int64)
    per_key = np.zeros((n, len(keys)), dtype=np.int64)
    elsewhere = np.zeros(n, dtype=bool)
    unique: dict[tuple[int, ...], np.ndarray] = {}
    for size in range(1, max_size + 1):
        weight = suda_weight(size, len(keys), max_size)
        for subset in combinations(range(len(keys)), size):
            codes = row_keys(frames, [keys[i] for i in subset])
            own = codes[which]
            is_unique = np.bincount(own)[own] == 1
            unique[subset] = is_unique
            msu = is_unique.copy()
            if size > 1:
                for smaller in combinations(subset, size - 1):
                    msu &= ~unique[smaller]
            if not msu.any():
                continue
            count += msu
            smallest = np.where(msu & (smallest == 0), size, smallest)
            score += weight * msu
            per_key[:, list(subset)] += msu[:, None]
            others = [c for i, c in enumerate(codes) if i != which]
            if others:
                seen = np.zeros(int(max(c.max(initial=-1) for c in codes)) + 1, dtype=bool)
                for c in others:
                    seen[c] = True
                elsewhere |= msu & seen[own]
    return count, smallest, score, per_key, elsewhere


def special_uniques(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
                    keys: Sequence[str] | str | None = None, max_size: int = 3) -> MeasureResult:
    """Share of real records with at least one minimal sample unique (MSU) on the keys.

    The reference is the same share computed within the synthetic file on its own records: a
    synthesizer that keeps the real data's rare key combinations keeps its special uniques,
    while one that smooths them away scores lower. Also reported: the share of real records
    whose MSU value combination occurs in the synthetic file (an intruder can find it there),
    the mean SUDA-style score (module docstring), and per-key contributions.
    """
    keys, rule = _resolve_keys(schema, real, keys)
    if isinstance(max_size, bool) or not isinstance(max_size, int | np.integer) or max_size < 1:
        raise SchemaError("The 'max_size' option must be a whole number of 1 or more (the largest "
                          "MSU searched, in keys; 3 is usual).")
    require(real, keys, "real data", "keys")
    require(synthetic, keys, "synthetic data", "keys")
    require_rows(real, "real data")
    require_rows(synthetic, "synthetic data")
    size = min(int(max_size), len(keys))
    frames = [real, synthetic]
    count, smallest, score, per_key, in_syn = _msus(frames, keys, size, 0)
    count_s, _, score_s, _, _ = _msus(frames, keys, size, 1)
    n_r, n_s = len(real), len(synthetic)
    value = float(np.mean(count > 0))
    reference = float(np.mean(count_s > 0))
    n_with = int((count > 0).sum())
    in_syn_share = float(np.mean(in_syn))
    interpretation = (
        f"{100 * value:.1f}% of the real records ({n_with} of {n_r}) are unique on some "
        f"combination of at most {size} of the {len(keys)} key variables that needs no more "
        f"keys than it has (a minimal sample unique, MSU): an intruder who knows those few facts "
        f"can single the person out. The reference is {100 * reference:.1f}%, the same share "
        f"among the synthetic file's own records; a synthetic share well below it means rare key "
        f"combinations were smoothed away. For {100 * in_syn_share:.1f}% of the real records an "
        f"MSU's values also occur in the synthetic file. Records with more and smaller MSUs score "
        f"higher (mean SUDA score {score.mean():.2f} real, {score_s.mean():.2f} synthetic). "
        f"Lower is safer."
    )
    records = pd.DataFrame({"row": np.arange(n_r), "msu_count": count, "smallest_msu": smallest,
                            "suda_score": score, "msu_in_synthetic": in_syn})
    distribution = (records.groupby("suda_score").size().rename("records").reset_index())
    contribution = pd.DataFrame({"key": keys, "msu_memberships": per_key.sum(axis=0)})
    return MeasureResult(
        name="special_uniques",
        value=value,
        reference=reference,
        reference_kind="synthetic file's own records",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=interpretation,
        citation=_SUDA,
        n=n_r,  # a census of the file's records: no sampling, so no interval
        details={"keys_rule": rule,
                 "records_with_msu_n": n_with, "synthetic_records_with_msu_n": int((count_s > 0).sum()),
                 "msu_in_synthetic": in_syn_share, "msu_count_total": int(count.sum()),
                 "mean_score": float(score.mean()), "max_score": int(score.max()),
                 "synthetic_mean_score": float(score_s.mean()), "max_size": size,
                 "keys": list(keys), "n_real": n_r, "n_synthetic": n_s},
        tables={"records": records, "score_distribution": distribution,
                "key_contributions": contribution},
    )
