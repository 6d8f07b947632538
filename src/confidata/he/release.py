"""Output protection by the key holders, and the released table.

What is opened, in order, and to whom (the t or more key holders that decrypt; nobody else):

1. **Noise first.** With ``epsilon``, every decrypting key holder draws its own discrete-Laplace
   vector (scale = sensitivity / epsilon, `confidata.secure.protection.discrete_laplace`) for
   each noised quantity, Shamir-shares it among the decrypting key holders and adds the shares
   it receives to its own share of the aggregate *before anything is opened*. No one ever sees
   an un-noised cell: the release carries the sum of all k draws, so each key holder's draw
   alone makes it epsilon-DP, against every coalition that lacks one of them, at k times the
   variance of one draw (the rule of the secure tables, `protection.py`). Counts have
   sensitivity 1, totals max|value| (per record); a count used only for the small-cell rule of
   a total costs another epsilon, stated in the notes.
2. **The small-cell rule, on shares.** With ``min_cell_size`` and ``small_cells = "suppress"``
   (or a mean, whose empty cells are undefined), the key holders find which cells fall below
   the minimum without opening a count (`small_cells`: a masked value at one key holder, a
   set of candidates at another, compared by Diffie-Hellman set membership); every
   participant learns only which cells are suppressed. The counts of the released cells are
   then opened when the statistic shows them (count) or divides by them (mean); a suppressed
   cell's count is never opened. With ``small_cells = "flag"`` every cell is released, so the
   counts are opened as the rule needs them (the small ones are published, flagged, anyway).
3. **Totals of the cells that pass** the rule (count >= min_cell_size; >= 1 for a mean): the
   total of a suppressed cell is never opened, not even to the key holders.

The result file then holds the protected table only: suppressed cells have no value.
"""

from __future__ import annotations

from fractions import Fraction

from confidata.he.config import HEStudy
from confidata.he.packing import PackingPlan
from confidata.secure.plain import TableResult
from confidata.secure.protection import noise_plan

__all__ = ["hides_small_counts", "noise_scales", "opens_counts", "protected_table", "rule_threshold"]


def rule_threshold(he: HEStudy) -> int:
    """The count a cell needs to be released: min_cell_size, and at least 1 for a mean."""
    return max(he.study.min_cell_size, 1 if he.study.cell == "mean" else 0)


def hides_small_counts(he: HEStudy) -> bool:
    """Whether the rule runs on shares (`small_cells`): a rule that suppresses cells."""
    return rule_threshold(he) > 0 and (he.study.small_cells == "suppress" or he.study.min_cell_size == 0)


def opens_counts(he: HEStudy) -> bool:
    """Whether counts are opened: the statistic shows or divides by them, or a flagging rule
    needs them (with a suppressing rule, only the released cells' counts, see step 2)."""
    if hides_small_counts(he):
        return he.study.cell in ("count", "mean")
    return he.study.cell in ("count", "mean") or he.study.min_cell_size > 0


def noise_scales(he: HEStudy, plan: PackingPlan) -> dict[str, float]:
    """Discrete-Laplace scale per quantity ('count', 'total') in the vector's integer units."""
    study = he.study
    out: dict[str, float] = {}
    for name, sensitivity in noise_plan(study).items():
        quantity = "count" if (name == "count" or study.cell == "count") else "total"
        units = sensitivity * (2**plan.fx if quantity == "total" else 1)
        out[quantity] = units / study.epsilon
    return out


def protected_table(
    he: HEStudy,
    plan: PackingPlan,
    counts: list[int | None] | None,
    totals: dict[int, int],
    participants: list[str],
    failed: list[bool] | None = None,
) -> TableResult:
    """The released table from the opened counts and the totals of the cells that passed;
    `failed` marks the cells the rule on shares held back (their counts were never opened)."""
    study = he.study
    k = study.min_cell_size
    values: list[float | int | None] = []
    sup, flag, undef = [], [], []
    for i in range(study.n_cells):
        n = counts[i] if counts is not None else None
        if failed is not None and failed[i]:
            u, small = k == 0, k > 0  # below the minimum (or, for a mean without one, empty)
        else:
            u = study.cell == "mean" and n is not None and n < 1
            small = k > 0 and n is not None and n < k and not u
        undef.append(u)
        sup.append(small and study.small_cells == "suppress")
        flag.append(small and study.small_cells == "flag")
        if u or sup[-1]:
            values.append(None)
        elif study.cell == "count":
            values.append(int(n))
        elif study.cell == "total":
            q = Fraction(totals[i], 2**plan.fx)
            values.append(int(q) if q.denominator == 1 else float(q))
        else:
            values.append(float(Fraction(totals[i], 2**plan.fx) / n))
    if failed is not None:
        seen = "no count of a held-back cell (the small-cell rule ran on shares)"
        if counts is not None:
            seen += ", the counts of the released cells"
    else:
        seen = "the counts of every cell" if counts is not None else "no counts"
        seen += ", small cells included" if k and counts is not None else ""
    notes = [
        f"Decrypted by key holders {', '.join(participants)} ({he.threshold} of {len(he.key_holders)} "
        f"needed); they saw {seen}"
        + ("" if study.cell == "count" else ", and the totals of the cells released")
        + "."
    ]
    if study.epsilon is not None:
        quantities = ", ".join(noise_plan(study))
        notes.append(
            f"Differential privacy: each of the {len(participants)} decrypting key holders added a "
            f"discrete-Laplace draw with scale sensitivity/{study.epsilon:g} to the {quantities} "
            f"under secret sharing; total privacy loss epsilon = {study.epsilon * len(noise_plan(study)):g}. "
            "Noise is drawn with floating-point arithmetic; treat epsilon as nominal."
        )
    if k:
        notes.append(
            f"Cells with fewer than {k} records ({'noised ' if study.epsilon is not None else ''}count) are "
            f"{'suppressed' if study.small_cells == 'suppress' else 'flagged'}."
        )
    return TableResult(study.name, study.cell, study.by, study.cell_labels(), values, sup, flag, undef, notes)
