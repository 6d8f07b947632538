"""Exact secure quantiles (median, quartiles, deciles, any probabilities), overall or by group,
over the rows of all parties, opening nothing but the quantiles.

Definition. The quantile at probability ``p`` is the smallest value ``v`` with ``F(v) >= p``
(``F`` the empirical distribution function of the pooled values): numpy's
``np.quantile(x, p, method="inverted_cdf")``, always a value of the data, exact.

The values lie on a public grid ``min + k * step`` (``k = 0 .. R-1``: the study's [value]
bounds and the [quantiles] step). The quantile's grid index is found digit by digit in base
``B`` (``B**L >= R``, ``L`` levels) with the path kept secret:

1. Each party counts, locally, its values below every candidate of every level: at level ``l``
   the candidates are ``(P * B + i) * B**(L - 1 - l)`` for every prefix ``P`` (``B**l`` of them)
   and ``i = 1 .. B-1``; about ``R`` numbers per group in all. These are secret-shared once and
   added (one round).
2. Level by level, the secret prefix is held as a secret unit vector ``e`` over the ``B**l``
   prefixes. The pooled counts below the ``B - 1`` candidates under the secret prefix are
   ``e @ counts`` (one round: a dot product costs one resharing), compared securely with the
   rank (``b * count < a * n`` for ``p = a / b``: no division, exact), which gives bits
   ``s_1 >= ... >= s_{B-1}``; the next digit is their sum and its unit vector the differences
   ``s_i - s_{i+1}``, both linear (free). The next level's ``e`` is ``e`` (x) that unit
   vector: ``B**(l+1)`` products in one round.
3. The index is the sum of the digits times their place values (linear); only it is opened,
   to the result parties, for groups with at least ``max(1, min_cell_size)`` records (a
   secure comparison, its bit multiplied into a random mask: a small group's quantile is lost,
   and only the result parties learn that it was small). With ``small_cells = "flag"`` a small
   group is opened and its bit goes to the result parties as a flag; empty groups stay hidden.

Why this and not a secure sort: sorting 3 million shared values takes O(n log^2 n) secure
comparisons; here the secure work is about ``R`` shared numbers per group and
``L * (B - 1)`` comparisons per quantile, in about ``L * (c + 2)`` rounds, ``c`` the rounds of
one comparison (about 7 in MPyC): for ``R = 100,000`` (``B = 47``, ``L = 3``) 40 rounds
measured, 2 s of latency at 50 ms (bench/RESULTS_SECURE.md: the median of 3 x 1M values).
What the parties learn: nothing but their own data; the result
parties the quantiles (and which groups were too small). Each party's counts stay secret.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd

from confidata.errors import SchemaError
from confidata.secure.local import _cell_codes
from confidata.secure.study import Study

__all__ = [
    "MAX_BASE",
    "MAX_SHARED",
    "QuantileInput",
    "QuantileResult",
    "layout",
    "local_counts",
    "plain_quantiles",
    "secure_quantiles",
]

MAX_BASE = 64  # largest digit base; a level costs B - 1 comparisons per quantile and group
MAX_SHARED = 2**23  # groups times grid points: the counts each party shares (memory, bytes)


@dataclass
class QuantileInput:
    """One party's counts below every candidate, per group (as Python ints), and its row count."""

    counts: np.ndarray  # object ints: per level, per group, per prefix, per candidate; then n per group
    rows: int


@dataclass
class QuantileResult:
    study: str
    column: str
    by: tuple[str, ...]
    labels: list[tuple[str, ...]]
    probabilities: list[str]
    values: list[list[float | None]]  # per group, per probability; None where the group is too small
    suppressed: list[bool]
    flagged: list[bool] = field(default_factory=list)  # opened although below min_cell_size ("flag")
    statistic: str = "quantiles"
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "study": self.study,
            "statistic": self.statistic,
            "column": self.column,
            "by": list(self.by),
            "probabilities": self.probabilities,
            "groups": [
                {
                    **dict(zip(self.by, lab, strict=True)),
                    "quantiles": vals,
                    "suppressed": sup,
                    "flagged": bool(self.flagged[i]) if self.flagged else False,
                }
                for i, (lab, vals, sup) in enumerate(
                    zip(self.labels, self.values, self.suppressed, strict=True)
                )
            ],
            "notes": self.notes,
        }


def layout(points: int) -> tuple[int, int]:
    """(B, L): the fewest levels L whose base B = ceil(points ** (1 / L)) is at most MAX_BASE."""
    levels = 1
    while True:
        base = max(2, math.ceil(points ** (1 / levels) - 1e-9))
        while base**levels < points:
            base += 1
        if base <= MAX_BASE:
            return base, levels
        levels += 1


def _grid_index(study: Study, frame: pd.DataFrame) -> np.ndarray:
    col = study.value
    values = pd.to_numeric(frame[col], errors="coerce")
    missing = int(values.isna().sum())
    if missing:
        raise SchemaError(
            f"Column '{col}': {missing} row(s) are missing or not numbers; impute or drop them first."
        )
    x = values.to_numpy(dtype=np.float64)
    lo, hi = study.value_min, study.value_max
    outside = int(((x < lo) | (x > hi)).sum())
    if outside:
        raise SchemaError(
            f"Column '{col}': {outside} row(s) lie outside the study's public bounds [{lo:g}, {hi:g}]; "
            "widen the bounds in the study or top-code the data."
        )
    step = study.spec["step"]
    k = np.rint((x - lo) / step)
    off = int((np.abs(lo + k * step - x) > 1e-9 * np.maximum(1.0, np.abs(x))).sum())
    if off:
        raise SchemaError(
            f"Column '{col}': {off} row(s) are not on the study's grid (min + k * step, step {step:g}); "
            "round the values to the step or declare a finer step in [quantiles]."
        )
    return k.astype(np.int64)


def _candidates(base: int, levels: int, level: int) -> np.ndarray:
    """Grid indices of the candidates of one level, shape (base**level, base - 1)."""
    place = base ** (levels - 1 - level)
    prefixes = np.arange(base**level, dtype=np.int64)[:, None]
    return (prefixes * base + np.arange(1, base, dtype=np.int64)[None, :]) * place


def local_counts(study: Study, frame: pd.DataFrame) -> QuantileInput:
    """Check the party's rows and count, per group, the values below every candidate."""
    if len(frame) > study.max_records:
        raise SchemaError("The data hold more rows than the study's [limits] max_records; raise max_records.")
    groups = study.n_cells
    codes = _cell_codes(study, frame)
    k = _grid_index(study, frame)
    base, levels = layout(study.spec["points"])
    padded = base**levels
    if groups * padded > MAX_SHARED:
        raise SchemaError(
            f"The study's {groups} group(s) times {padded:,} grid points exceed {MAX_SHARED:,} shared "
            "counts per party; use a coarser [quantiles] step, narrower [value] bounds or fewer groups."
        )
    hist = np.bincount(codes * padded + k, minlength=groups * padded).reshape(groups, padded)
    below = np.zeros((groups, padded + 1), dtype=np.int64)  # below[:, c] = values with index < c
    np.cumsum(hist, axis=1, out=below[:, 1:])
    parts = [below[:, _candidates(base, levels, lev)].reshape(-1) for lev in range(levels)]
    parts.append(below[:, padded])
    return QuantileInput(np.concatenate(parts).astype(object), len(frame))


def _count_bits(study: Study) -> int:
    return (len(study.parties) * study.max_records).bit_length() + 1


async def secure_quantiles(engine, study: Study, local: QuantileInput) -> QuantileResult | None:
    """Run the protocol; the result parties get a `QuantileResult`, the others None."""
    rt = engine.rt
    m = len(study.parties)
    everyone = list(range(m))
    receivers = [study.index(r) for r in study.results]
    probs = [Fraction(p) for p in study.spec["probabilities"]]
    G, Q = study.n_cells, len(probs)
    base, levels = layout(study.spec["points"])
    cmp_bits = _count_bits(study) + max(q.denominator for q in probs).bit_length() + 2
    secint = rt.SecInt(cmp_bits + 2)
    field = secint.field
    p = field.order

    async def reshare(x: np.ndarray) -> np.ndarray:
        if rt.threshold == 0:
            return x % p
        return (await rt._reshare(field.array(x % p))).value

    async def less_than_zero(x: np.ndarray) -> np.ndarray:
        bits = rt.np_sgn(secint.array(field.array(x.reshape(-1) % p)), l=cmp_bits, LT=True)
        return (await rt.gather(bits)).value.reshape(x.shape)

    # 1. the counts, shared and added, with a random mask per group for the small-group rule
    masks = np.array([secrets.randbelow(p) for _ in range(G)], dtype=object)
    vec = np.concatenate([local.counts, masks])
    shared = rt.input(secint.array(field.array(vec % p)), senders=everyone)
    total = shared[0]
    for s in shared[1:]:
        total = total + s
    total = (await engine.step(rt.gather(total), "the secure counts")).value
    sizes = [G * base**lev * (base - 1) for lev in range(levels)]
    offsets = np.cumsum([0, *sizes])
    n = total[offsets[-1] : offsets[-1] + G]
    mask = total[offsets[-1] + G :]

    a = np.array([q.numerator for q in probs], dtype=object)[None, :, None]
    b = np.array([q.denominator for q in probs], dtype=object)[None, :, None]
    index = np.zeros((G, Q), dtype=object)
    e = None  # shares of the unit vector of the secret prefix, shape (G, Q, base**level)
    for lev in range(levels):
        counts = total[offsets[lev] : offsets[lev + 1]].reshape(G, base**lev, base - 1)
        if e is None:
            below = np.repeat(counts.reshape(G, 1, base - 1), Q, axis=1)
        else:
            below = await reshare(np.matmul(e, counts))  # (G, Q, base - 1)
        s = await engine.step(
            less_than_zero(b * below - a * n.reshape(G, 1, 1)), f"the comparisons of level {lev + 1}"
        )
        index = (index + s.sum(axis=2) * base ** (levels - 1 - lev)) % p
        if lev < levels - 1:
            zero = np.zeros((G, Q, 1), dtype=object)
            one = np.ones((G, Q, 1), dtype=object)
            unit = np.concatenate([one, s], axis=2) - np.concatenate([s, zero], axis=2)
            e = (
                unit
                if e is None
                else await reshare((e[:, :, :, None] * unit[:, :, None, :]).reshape(G, Q, -1))
            )

    # 3. the small-group rule: z = [n >= k] * mask, and the index times z; with small_cells =
    # "flag", only empty groups are hidden and the small bit is opened beside the quantiles
    k = max(1, study.min_cell_size)
    flag = study.small_cells == "flag" and k > 1
    tests = np.stack([n - k, n - 1], axis=1) if flag else (n - k).reshape(G, 1)
    bits = await engine.step(less_than_zero(tests), "the small-group rule")
    z = await reshare((1 - bits[:, -1]) * mask)
    y = await reshare(index * z.reshape(G, 1))
    opened = field.array(np.concatenate([y.reshape(-1), z, bits[:, 0] if flag else []]) % p)
    out = await engine.step(rt.output(opened, receivers=receivers), "opening the quantiles")
    if engine.pid not in receivers or out is None:
        return None
    out = [int(v) for v in out.value]
    ys, zs = out[: G * Q], out[G * Q : G * Q + G]
    small = out[G * Q + G :] if flag else [0] * G
    lo, step = Fraction(str(study.value_min)), Fraction(str(study.spec["step"]))
    values, suppressed, flagged = [], [], []
    for g in range(G):
        if zs[g] == 0:
            values.append([None] * Q)
            suppressed.append(True)
            flagged.append(False)
            continue
        inv = pow(zs[g], -1, p)
        values.append([float(lo + (ys[g * Q + j] * inv % p) * step) for j in range(Q)])
        suppressed.append(False)
        flagged.append(bool(small[g]))
    result = QuantileResult(
        study.name,
        study.value,
        study.by,
        study.cell_labels(),
        list(study.spec["probabilities"]),
        values,
        suppressed,
        flagged,
    )
    result.notes.append(
        f"exact inverted-CDF quantiles on the grid min + k * {float(step):g}; base {base}, {levels} levels; "
        + (
            f"groups with fewer than {k} records are flagged, empty groups not opened."
            if flag
            else f"groups with fewer than {k} records are not opened."
        )
    )
    return result


def plain_quantiles(study: Study, frame: pd.DataFrame) -> QuantileResult:
    """Inverted-CDF quantiles of the pooled rows in the clear, per group: the reference."""
    codes = _cell_codes(study, frame)
    x = pd.to_numeric(frame[study.value]).to_numpy(dtype=np.float64)
    probs = [Fraction(p) for p in study.spec["probabilities"]]
    k = max(1, study.min_cell_size)
    flag = study.small_cells == "flag"
    values, suppressed, flagged = [], [], []
    for g in range(study.n_cells):
        xs = np.sort(x[codes == g])
        flagged.append(flag and 0 < len(xs) < k)
        if len(xs) < (1 if flag else k):
            values.append([None] * len(probs))
            suppressed.append(True)
        else:  # the ceil(p n)-th smallest value, in exact arithmetic (numpy's float p n may round)
            values.append([float(xs[-(-q.numerator * len(xs) // q.denominator) - 1]) for q in probs])
            suppressed.append(False)
    return QuantileResult(
        study.name,
        study.value,
        study.by,
        study.cell_labels(),
        list(study.spec["probabilities"]),
        values,
        suppressed,
        flagged,
    )
