"""The secure table protocol over MPyC: sum the parties' local aggregates, apply the output
protection inside the secure computation, and open the result to the result parties only.

1. Each party secret-shares its per-cell vectors (record counts as secure integers; weighted
   sums as secure fixed-point numbers at the plan's scale; its own DP noise, if any).
2. The shares are added: no interaction.
3. ``count < min_cell_size`` (and ``count < 1`` or ``< 2`` where a mean or variance would not
   exist) is compared securely; only these bits are opened, to every party.
4. For the cells that may be opened, the statistic is evaluated on shares (one secure
   reciprocal per cell for means and variances) and opened to the result parties; the other
   parties receive nothing.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from confidata.secure.engine import Engine
from confidata.secure.local import LocalAggregates
from confidata.secure.plain import TableResult
from confidata.secure.protection import defined_minimum, noise_plan, privacy_loss
from confidata.secure.scaling import FixedPointPlan
from confidata.secure.study import Study

__all__ = ["secure_table"]


def _obj(values) -> np.ndarray:
    return np.array([int(v) for v in values], dtype=object)


async def secure_table(
    engine: Engine, study: Study, plan: FixedPointPlan, agg: LocalAggregates, noise: dict[str, np.ndarray]
) -> TableResult | None:
    """Run the protocol; the result parties get a `TableResult`, the others None."""
    rt = engine.rt
    m = len(study.parties)
    everyone = list(range(m))
    receivers = [study.index(r) for r in study.results]
    C = study.n_cells
    secint = rt.SecInt(plan.count_bits)
    secfxp = rt.SecFxp(plan.l, plan.f)
    f = plan.f
    weighted_count = study.cell == "count" and study.weight is not None
    noised = noise_plan(study)

    # 1-2. inputs and their sums -----------------------------------------------------------
    int_rows = [_obj(agg.n)]
    if study.cell == "count" and not study.weight and "value" in noised:
        int_rows.append(_obj(noise["value"]))
    if "count" in noised:
        int_rows.append(_obj(noise["count"]))
    shared = rt.input(secint.array(np.vstack(int_rows)), senders=everyone)
    ints = shared[0]
    for s in shared[1:]:
        ints = ints + s

    fxp_names: list[str] = []
    fxp_rows: list[np.ndarray] = []
    if weighted_count or study.cell in ("mean", "variance"):
        fxp_names.append("W")
        fxp_rows.append(agg.W << (f - plan.scale_of("W")))
    if study.cell in ("total", "mean", "variance"):
        fxp_names.append("S1")
        fxp_rows.append(agg.S1 << (f - plan.scale_of("S1")))
    if study.cell == "variance":
        fxp_names.append("S2")
        fxp_rows.append(agg.S2 << (f - plan.scale_of("S2")))
    if "value" in noised and (weighted_count or study.cell == "total"):
        fxp_names.append("noise")
        fxp_rows.append(_obj(noise["value"]) << f)
    fx = {}
    if fxp_rows:
        raw = secfxp.field.array(np.vstack([_obj(r) for r in fxp_rows]))
        shared = rt.input(secfxp.array(raw, integral=False), senders=everyone)
        total = shared[0]
        for s in shared[1:]:
            total = total + s
        fx = {name: total[i] for i, name in enumerate(fxp_names)}

    # 3. which cells may be opened -------------------------------------------------------------
    n_row = ints[0]
    count_for_rule = n_row
    if "count" in noised:
        count_for_rule = n_row + ints[len(int_rows) - 1]
    elif study.cell == "count" and not study.weight and "value" in noised:
        count_for_rule = n_row + ints[1]
    kmin = defined_minimum(study)
    small = np.zeros(C, dtype=bool)
    undefined = np.zeros(C, dtype=bool)
    rules = []  # (which flag, counts compared, threshold)
    if study.min_cell_size > 0:
        rules.append((small, count_for_rule, study.min_cell_size))
    if kmin > 0:
        rules.append((undefined, n_row, kmin))
    if rules:
        counts = rules[0][1] if len(rules) == 1 else rt.np_vstack(tuple(r[1].reshape(1, C) for r in rules))
        limits = np.array([[r[2]] for r in rules], dtype=np.int64).reshape(len(rules), 1)
        below = counts.reshape(len(rules), C) < limits
        opened = await engine.step(rt.output(below), "the small-cell check")
        opened = np.asarray(opened, dtype=np.int64).reshape(len(rules), C)
        for (flags, _, _), bits in zip(rules, opened, strict=True):
            flags[:] = bits != 0
    suppressed = small & ~undefined & (study.small_cells == "suppress")
    flagged = small & ~undefined & (study.small_cells == "flag")
    open_idx = np.flatnonzero(~(suppressed | undefined))

    # 4. the statistic on the cells that may be opened, opened to the result parties -----------
    values: list[float | int | None] = [None] * C
    if len(open_idx):
        if study.cell == "count" and not study.weight:
            v = n_row if "value" not in noised else n_row + ints[1]
            out = await engine.step(rt.output(v[open_idx], receivers=receivers), "opening the result")
            got = None if out is None else [int(a) for a in np.asarray(out).reshape(-1)]
        else:
            v = _fixed_point_statistic(study, fx, open_idx, undefined)
            out = await engine.step(rt.output(v, receivers=receivers, raw=True), "opening the result")
            if out is None:
                got = None
            else:
                ints_out = secfxp.field.array.intarray(out).reshape(-1)
                integral = study.cell in ("count", "total")
                got = [_convert(Fraction(int(a), 2**f), integral) for a in ints_out]
        if got is None:
            return None
        for i, val in zip(open_idx, got, strict=True):
            values[int(i)] = val
    elif engine.pid not in receivers:
        return None
    result = TableResult(
        study.name,
        study.cell,
        study.by,
        study.cell_labels(),
        values,
        [bool(b) for b in suppressed],
        [bool(b) for b in flagged],
        [bool(b) for b in undefined],
    )
    loss = privacy_loss(study)
    if loss is not None:
        result.notes.append(f"differential privacy: epsilon = {loss:g} in total (noise from every party)")
    return result


def _convert(q: Fraction, integral: bool) -> float | int:
    return int(q) if integral and q.denominator == 1 else float(q)


def _fixed_point_statistic(study: Study, fx: dict, idx: np.ndarray, undefined: np.ndarray):
    if study.cell == "count":
        v = fx["W"][idx]
        return v + fx["noise"][idx] if "noise" in fx else v
    if study.cell == "total":
        v = fx["S1"][idx]
        return v + fx["noise"][idx] if "noise" in fx else v
    pad = undefined[idx].astype(np.int64) * 2  # keeps denominators nonzero; such cells are not opened
    w = fx["W"][idx] + pad
    s1 = fx["S1"][idx]
    mean = s1 / w
    if study.cell == "mean":
        return mean
    numerator = fx["S2"][idx] - s1 * mean
    return numerator / (w if study.weight else w - 1)
