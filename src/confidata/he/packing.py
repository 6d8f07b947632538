"""Packing many table cells into one Paillier plaintext, with the bound that keeps it exact.

A data holder's table is a vector of integers: the record count of every cell and, with a value
column, the exact total of every cell at the public fixed-point scale of
`confidata.secure.scaling` (values times 2**16, rounded). Each entry is secret-shared (Shamir,
`confidata.he.shares`) over the prime field Z_P, and the shares are laid side by side in
``w``-bit slots of one big integer, which is encrypted once instead of once per cell.

Why the sizes are what they are (all derived from public study facts, never from data):

* ``M`` bounds the magnitude of any aggregate entry: ``max_holders x per-holder bound`` (a
  holder's count per cell is at most ``max_records``; its total at most ``max_records x
  max|value| x 2**16``), plus, when epsilon is set, 64 noise scales per key holder (a
  discrete-Laplace draw exceeds 64 scales with probability below e**-64).
* ``P`` is the first prime above ``2M + 1``, so a signed aggregate in [-M, M] is recovered
  exactly from its residue mod P.
* A slot adds up one share (< P) from each of at most ``max_holders`` submissions under
  encryption, so it needs ``w = bits(max_holders x (P - 1))`` bits: **holders x largest share <
  2**w**, i.e. no slot ever carries into its neighbour. The aggregator refuses more than
  ``max_holders`` submissions, which is what keeps this bound true.
* ``s = (key_bits - 3) // w`` slots fit one plaintext, which then stays below N / 2 for a
  modulus of at least ``key_bits - 1`` bits (the range TNO's Paillier encodes without wrapping).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gmpy2

from confidata.he.config import HEStudy
from confidata.secure.protection import noise_plan
from confidata.secure.scaling import plan_for

__all__ = ["PackingPlan", "pack", "packing_plan", "unpack"]

NOISE_SCALES = 64  # a discrete-Laplace draw beyond 64 scales has probability < e**-64


@dataclass(frozen=True)
class PackingPlan:
    quantities: tuple[str, ...]  # "count" and, with a value column, "total": one block of cells each
    n_cells: int
    fx: int  # fixed-point bits of the totals (values times 2**fx)
    bound: int  # M: the largest magnitude an aggregate entry can take
    prime: int  # P > 2M + 1
    slot_bits: int  # w
    slots: int  # s, slots per plaintext
    ciphertexts: int  # per key holder per submission

    @property
    def length(self) -> int:
        return self.n_cells * len(self.quantities)

    def to_dict(self) -> dict:
        return {
            "quantities": list(self.quantities),
            "n_cells": self.n_cells,
            "fx": self.fx,
            "bound": str(self.bound),
            "prime": str(self.prime),
            "slot_bits": self.slot_bits,
            "slots": self.slots,
            "ciphertexts": self.ciphertexts,
        }


def holder_bounds(he: HEStudy) -> dict[str, int]:
    """The largest magnitude one holder's entry can have, per quantity (public facts only)."""
    study = he.study
    out = {"count": study.max_records}
    if study.cell in ("total", "mean"):
        fx = plan_for(study).fx
        biggest = max(abs(study.value_min), abs(study.value_max))
        out["total"] = study.max_records * math.ceil(biggest * 2**fx)
    return out


def noise_bounds(he: HEStudy) -> dict[str, int]:
    """Largest noise magnitude per quantity, in the quantity's integer units (0 without epsilon)."""
    study = he.study
    plan = noise_plan(study)
    if not plan:
        return {}
    fx = plan_for(study).fx if study.value else 0
    out = {}
    for name, sensitivity in plan.items():
        quantity = "count" if (name == "count" or study.cell == "count") else "total"
        units = sensitivity * (2**fx if quantity == "total" else 1)
        scale = units / study.epsilon
        out[quantity] = math.ceil(len(study.parties) * NOISE_SCALES * scale) + 1
    return out


def packing_plan(he: HEStudy) -> PackingPlan:
    study = he.study
    per_holder = holder_bounds(he)
    noise = noise_bounds(he)
    bound = max(he.max_holders * b + noise.get(q, 0) for q, b in per_holder.items())
    prime = int(gmpy2.next_prime(2 * bound + 1))
    slot_bits = (he.max_holders * (prime - 1)).bit_length()
    slots = (he.key_bits - 3) // slot_bits
    quantities = tuple(per_holder)
    length = study.n_cells * len(quantities)
    return PackingPlan(
        quantities=quantities,
        n_cells=study.n_cells,
        fx=plan_for(study).fx if "total" in quantities else 0,
        bound=bound,
        prime=prime,
        slot_bits=slot_bits,
        slots=slots,
        ciphertexts=math.ceil(length / slots),
    )


def pack(values: list[int], plan: PackingPlan) -> list[int]:
    """Non-negative slot values (each < 2**w) into ``plan.ciphertexts`` plaintext integers."""
    out = []
    w = plan.slot_bits
    for start in range(0, plan.length, plan.slots):
        m = 0
        for v in reversed(values[start : start + plan.slots]):
            m = (m << w) | v
        out.append(m)
    return out


def unpack(plaintexts: list[int], plan: PackingPlan) -> list[int]:
    """The slot values back from the plaintexts (the inverse of `pack` on sums of packs)."""
    mask = (1 << plan.slot_bits) - 1
    values: list[int] = []
    for m in plaintexts:
        for _ in range(plan.slots):
            values.append(m & mask)
            m >>= plan.slot_bits
    return values[: plan.length]
