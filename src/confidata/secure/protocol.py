"""The secure table protocol over MPyC: sum the parties' local aggregates, apply the output
protection inside the secure computation, and open the result to the result parties only.

1. Each party secret-shares, in one array input, its per-cell vectors: record counts, its own DP
   noise (if any) and a uniformly random mask per cell and rule; weighted sums go in as secure
   fixed-point numbers at the plan's scale, in the *same* prime field (so that counts, masks
   and fixed-point values can be multiplied as field elements, without truncation).
2. The shares are added: no interaction.
3. Small cells, without comparisons. A count ``n`` is an exact whole number in
   ``[0, m * max_records]``, far below the field's prime, so ``n < k`` exactly when
   ``P_k(n) = n (n - 1) ... (n - k + 1)`` is 0. Each rule gives ``z = P_k(n) * r`` with ``r`` the
   sum of every party's random mask: 0 for a cell below the threshold, a uniformly random
   nonzero field element otherwise (it tells nothing else about ``n``). That is k - 1 secure
   products per cell (log2 k rounds) instead of a bit decomposition of ``n``. Where the rule
   applies to a *noisy* count (differential privacy), which may be negative, a secure comparison
   (``np_sgn`` on ``count_bits`` bits) gives the bit ``b`` and ``z = (1 - b) * r``. Thresholds
   above `POLY_MAX` also use the comparison.
4. The statistic is evaluated on shares for every cell and multiplied by ``g``, the product of
   the ``z`` of the rules that hide a cell. Means and variances are ratios ``a / b`` of exact
   integer sums (mean: ``S1 / W``; variance: ``(W S2 - S1**2) / (W (W - 1))``, or ``/ W**2``
   with weights), and no division is computed on shares: the result parties receive
   ``a t`` and ``b t`` with ``t = g r`` and ``r`` a fresh uniformly random field element, which
   tells them the field element ``a / b`` and nothing else, and they recover the exact rational
   ``a / b`` from it (rational reconstruction: the field's prime exceeds ``2 |a|max b_max``).
   That is two rounds of products for the whole table, where a secure reciprocal per cell
   took a bit decomposition of every denominator (1,000 cells: 83 s and 104 MB per party
   before, see bench/RESULTS_SECURE.md), and the value is the exact one, not a fixed-point
   approximation. The result parties alone
   receive the ``z`` and ``v * g`` (``mpc.output(..., receivers=...)``): ``z == 0`` is the flag,
   and ``v = (v g) / g`` where ``g != 0``; where a cell is hidden ``v g = 0`` and the value is
   lost. Which cells are small is never opened to the other parties, who receive nothing.
   A mask of 0 (probability at most cells / 2**60) would wrongly hide one cell; it never
   reveals one.
"""

from __future__ import annotations

import math
import secrets
from fractions import Fraction

import numpy as np

from confidata.secure.engine import Engine
from confidata.secure.local import LocalAggregates
from confidata.secure.plain import TableResult
from confidata.secure.protection import defined_minimum, noise_plan, noise_variance, privacy_loss
from confidata.secure.scaling import FixedPointPlan
from confidata.secure.study import Study

__all__ = ["POLY_MAX", "ratio_bits", "secure_table"]

POLY_MAX = 64  # largest threshold tested by the product polynomial; larger ones compare


def _obj(values) -> np.ndarray:
    return np.array([int(v) for v in values], dtype=object)


def _product(factors: list, v=None):
    """Product z of secure arrays as a balanced tree (log2 rounds), and v * z if v is given.

    v rides along where a level has an odd node out (a free slot); the nodes above it are
    computed with and without v, so v * z costs about one product per level and no extra round
    unless no level has a free slot.
    """
    nodes = [(a, None) for a in factors]
    while len(nodes) > 1:
        nxt = []
        for (a, av), (b, bv) in zip(nodes[0::2], nodes[1::2], strict=False):
            nxt.append((a * b, av * b if av is not None else a * bv if bv is not None else None))
        if len(nodes) % 2:
            last, last_v = nodes[-1]
            if v is not None and last_v is None and all(n[1] is None for n in nodes):
                last_v = last * v
            nxt.append((last, last_v))
        nodes = nxt
    z, zv = nodes[0]
    if v is None:
        return z
    return z, (zv if zv is not None else z * v)


async def secure_table(
    engine: Engine, study: Study, plan: FixedPointPlan, agg: LocalAggregates, noise: dict[str, np.ndarray]
) -> TableResult | None:
    """Run the protocol; the result parties get a `TableResult`, the others None."""
    rt = engine.rt
    m = len(study.parties)
    everyone = list(range(m))
    receivers = [study.index(r) for r in study.results]
    C = study.n_cells
    f = plan.f
    weighted_count = study.cell == "count" and study.weight is not None
    noised = noise_plan(study)
    ratio = study.cell in ("mean", "variance")
    uses_fxp = weighted_count or study.cell == "total"
    secfxp = rt.SecFxp(plan.l, plan.f) if uses_fxp else None
    # counts, masks and fixed-point values in one field (a SecInt over the SecFxp's prime); a
    # ratio needs a field larger than twice its numerator times its denominator bound
    if uses_fxp:
        secint = rt.SecInt(plan.count_bits, p=secfxp.field.modulus)
    elif ratio:
        num_bits, den_bits = ratio_bits(study, plan)
        secint = rt.SecInt(num_bits + den_bits + 2)
    else:
        secint = rt.SecInt(plan.count_bits)
    field = secint.field

    # which rules hide or flag cells: (name, count row, threshold, exact?)
    count_noise = "count" in noised or (study.cell == "count" and not study.weight and "value" in noised)
    kmin = defined_minimum(study)
    rules: list[tuple[str, str, int, bool]] = []
    if study.min_cell_size > 0:
        rules.append(("small", "rule", study.min_cell_size, not count_noise))
    if kmin > 0:
        rules.append(("undefined", "n", kmin, True))

    # 1-2. inputs and their sums -----------------------------------------------------------
    rows: dict[str, np.ndarray] = {"n": _obj(agg.n)}
    if study.cell == "count" and not study.weight and "value" in noised:
        rows["value_noise"] = _obj(noise["value"])
    if "count" in noised:
        rows["count_noise"] = _obj(noise["count"])
    if ratio:
        rows["W"], rows["S1"] = _obj(agg.W), _obj(agg.S1)
        if study.cell == "variance":
            rows["S2"] = _obj(agg.S2)
        rows["mask_ratio"] = np.array([secrets.randbelow(field.order) for _ in range(C)], dtype=object)
    for name, *_ in rules:
        rows[f"mask_{name}"] = np.array([secrets.randbelow(field.order) for _ in range(C)], dtype=object)
    names = list(rows)
    shared = rt.input(secint.array(np.vstack([rows[k] for k in names])), senders=everyone)
    total = shared[0]
    for s in shared[1:]:
        total = total + s
    ints = {k: total[i] for i, k in enumerate(names)}

    fx = {}
    if uses_fxp:
        fxp_rows: dict[str, np.ndarray] = {}
        if weighted_count:
            fxp_rows["W"] = agg.W << (f - plan.scale_of("W"))
        if study.cell == "total":
            fxp_rows["S1"] = agg.S1 << (f - plan.scale_of("S1"))
        if "value" in noised and (weighted_count or study.cell == "total"):
            fxp_rows["noise"] = _obj(noise["value"]) << f
        raw = secfxp.field.array(np.vstack([_obj(r) for r in fxp_rows.values()]))
        shared = rt.input(secfxp.array(raw, integral=False), senders=everyone)
        summed = shared[0]
        for s in shared[1:]:
            summed = summed + s
        fx = {name: summed[i] for i, name in enumerate(fxp_rows)}

    # 3. the rules, as z = 0 below the threshold and uniformly random nonzero otherwise -------
    n_row = ints["n"]
    rule_count = n_row
    if "count_noise" in ints:
        rule_count = n_row + ints["count_noise"]
    elif "value_noise" in ints:
        rule_count = n_row + ints["value_noise"]
    leaves = {}
    for name, which, k, exact in rules:
        counts = n_row if which == "n" else rule_count
        if exact and k <= POLY_MAX:
            leaves[name] = [counts - j for j in range(k)] + [ints[f"mask_{name}"]]
        else:
            below = rt.np_sgn(counts - k, l=plan.count_bits, LT=True)
            leaves[name] = [1 - below, ints[f"mask_{name}"]]

    # 4. the statistic for every cell, hidden where a rule says so ------------------------------
    if ratio:
        a, b = _ratio_terms(rt, study, ints)
        v = ints["mask_ratio"]  # rides in the hiding tree: t = g r
    elif study.cell == "count" and not study.weight:
        v = n_row if "value_noise" not in ints else n_row + ints["value_noise"]
    else:
        statistic = rt.gather(_fixed_point_statistic(study, fx))
        v = secint.array(await engine.step(statistic, "the statistic"))  # same field: raw shares
    hide = [name for name in ("small", "undefined") if name in leaves]
    if study.small_cells != "suppress" and "small" in hide:
        hide.remove("small")
    z, y = {}, v
    for name, factors in leaves.items():
        if name == (hide[0] if hide else None):
            z[name], y = _product(factors, v)  # v times the first hiding rule's z, in its tree
        else:
            z[name] = _product(factors)
    for name in hide[1:]:
        y = y * z[name]
    shown = [a * y, b * y] if ratio else [y]
    opened = rt.np_vstack(tuple(x.reshape(1, C) for x in [*shown, *z.values()]))
    out = await engine.step(rt.output(opened, receivers=receivers, raw=True), "opening the result")
    if engine.pid not in receivers or out is None:
        return None
    p = field.order
    out = np.asarray(out.value, dtype=object).reshape(len(z) + len(shown), C)
    zs = {name: out[len(shown) + i] for i, name in enumerate(z)}
    lost = np.zeros(C, dtype=bool)  # a ratio whose denominator is 0 (weights all 0): undefined
    integral = study.cell in ("count", "total")
    scale = 1 if study.cell == "count" and not study.weight else 2**f
    values: list[float | int | None] = [None] * C
    for i in range(C):
        g = 1
        for name in hide:
            g = g * int(zs[name][i]) % p
        if not g:
            continue
        if ratio:
            q = _reconstruct(int(out[0][i]), int(out[1][i]), p, num_bits, den_bits)
            if q is None:
                lost[i] = True
            else:
                values[i] = float(q / 2 ** (plan.fx * (1 if study.cell == "mean" else 2)))
            continue
        a = int(out[0][i]) * pow(g, -1, p) % p
        values[i] = _convert(Fraction(a - p if a > p // 2 else a, scale), integral)
    below = {name: zs[name] == 0 for name in zs}
    small = below.get("small", np.zeros(C, dtype=bool))
    undefined = below.get("undefined", np.zeros(C, dtype=bool)) | lost
    suppressed = small & ~undefined & (study.small_cells == "suppress")
    flagged = small & ~undefined & (study.small_cells == "flag")
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
        for name, sens in noised.items():
            scale = sens / study.epsilon
            result.notes.append(
                f"noise on the {'released value' if name == 'value' else 'count for the small-cell rule'}: "
                f"discrete Laplace, scale {scale:g} (sensitivity {sens:g} / epsilon {study.epsilon:g}) "
                f"from each of {m} parties, variance {m * noise_variance(scale):.6g} per cell"
            )
    return result


def ratio_bits(study: Study, plan: FixedPointPlan) -> tuple[int, int]:
    """Bits of the largest |numerator| and denominator of a mean or variance (public bounds only).

    The integer sums are at the plan's scales: W at 2**fw, S1 at 2**(fw + fx), S2 at
    2**(fw + 2 fx); their bounds follow from max_records, the number of parties, the weight and
    value bounds.
    """
    m = len(study.parties)
    w_one = math.ceil(study.weight_max * 2**plan.fw) if study.weight else 1
    wb = (m * study.max_records * w_one).bit_length()
    xb = math.ceil(max(abs(study.value_min), abs(study.value_max)) * 2**plan.fx).bit_length()
    if study.cell == "mean":
        return wb + xb, wb
    return 2 * wb + 2 * xb, 2 * wb


def _ratio_terms(rt, study: Study, ints: dict):
    """Numerator and denominator of each cell's mean or variance, on shares (one product round)."""
    w, s1 = ints["W"], ints["S1"]
    if study.cell == "mean":
        return s1, w
    left = rt.np_vstack((w.reshape(1, -1), s1.reshape(1, -1), w.reshape(1, -1)))
    right = rt.np_vstack(
        (ints["S2"].reshape(1, -1), s1.reshape(1, -1), (w if study.weight else w - 1).reshape(1, -1))
    )
    prod = left * right
    return prod[0] - prod[1], prod[2]


def _reconstruct(at: int, bt: int, p: int, num_bits: int, den_bits: int) -> Fraction | None:
    """The rational a / b from a t and b t modulo p (t unknown, nonzero), given |a| < 2**num_bits
    and 0 < b < 2**den_bits, with p > 2**(num_bits + den_bits + 1): the unique such fraction
    congruent to (a t) / (b t), found by the extended Euclidean algorithm (Wang's rational
    reconstruction). None where b t is 0 (a denominator of 0)."""
    if bt % p == 0:
        return None
    q = at * pow(bt, -1, p) % p
    bound = 2**num_bits
    r0, r1, s0, s1 = p, q, 0, 1
    while r1 >= bound:
        k = r0 // r1
        r0, r1, s0, s1 = r1, r0 - k * r1, s1, s0 - k * s1
    if s1 == 0 or abs(s1) >= 2**den_bits:
        return None
    return Fraction(r1, s1)


def _convert(q: Fraction, integral: bool) -> float | int:
    return int(q) if integral and q.denominator == 1 else float(q)


def _fixed_point_statistic(study: Study, fx: dict):
    """A weighted count or a total (means and variances are ratios, see `_ratio_terms`)."""
    key = "W" if study.cell == "count" else "S1"
    return fx[key] + fx["noise"] if "noise" in fx else fx[key]
