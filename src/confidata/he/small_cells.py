"""The small-cell rule on shares: which cells hold fewer than ``min_cell_size`` records, found
without any key holder seeing a count.

After decryption every participating key holder holds a Shamir share (mod P) of each cell's
count (`keyholder`); opening the counts to test them, as `release` did first, showed the key
holders every small count. Paillier cannot compare under encryption, and MPyC among the key
holders needs three of them for an honest majority (two decrypt in the usual 2-of-3 set-up,
and MPyC with two parties has threshold 0, no secrecy). So the comparison is turned into a set
membership that two parties can test privately, with the Diffie-Hellman machinery of the
intersection (`confidata.secure.psi_crypto`):

1. Every participant turns its Shamir share into an additive share (times its Lagrange
   coefficient at 0). A third or later participant q splits its share with a fresh uniform
   mask: ``a_q - r_q`` to the *opener* O (the first participant), ``r_q`` to the *keeper* K
   (the second). O and K now hold additive shares b_O + b_K = x (mod P) of each count x.
2. K draws a uniform r mod P per cell and sends O ``b_K + r``; O holds ``c = x + r (mod P)``,
   uniformly distributed whatever x.
3. The cell is small exactly when ``x`` lies in ``[low, k)`` (low = 0, or minus the public
   bound of the DP noise when the counts are noised), i.e. when c is one of the K = k - low
   values ``r + j``. K hashes those values (with the cell's number) to the curve and raises
   them to its secret key beta, shuffled within the cell; O hashes c and raises it to its key
   alpha; K raises O's element to beta; O raises K's elements to alpha and compares tags:
   ``H(c)^(alpha beta)`` is among ``H(r + j)^(beta alpha)`` exactly when the cell is small.
4. O tells every participant which cells are small; only the others' counts and totals are
   opened afterwards (`keyholder`).

What each key holder learns (semi-honest, as the rest of `confidata.he`): O sees c (uniform)
and the bit; K sees masked shares and O's hashed element (pseudorandom under DDH) and the bit;
a third participant only the bits. No single key holder ever holds a small count, its share
sum aside (uniform). O and K together could subtract r from c: with the usual threshold of 2
they could decrypt together anyway; with t >= 3 this rule lets two colluding key holders learn
the counts that are tested, which is stated in `explain`.

Cost: K hashes and exponentiates k - low points per cell (X25519, some 60 us each here): with
min_cell_size 10 and 1,000 cells about 1 s; with DP noise the range grows by the noise bound
(64 scales per key holder), i.e. with 1 / epsilon.
"""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np

from confidata.he.shares import lagrange_at_zero
from confidata.secure.engine import PartyFailure
from confidata.secure.psi_crypto import POINT, TAG, domain, exponentiate, hash_to_group, new_key, tags

__all__ = ["small_cells"]

_LABEL = b"confidata-he-small-cells-v1"


def _hex(values) -> list[str]:
    return [format(int(v), "x") for v in values]


def _ints(msg: Any, length: int, me: str, peer: str, prime: int) -> list[int]:
    try:
        if not isinstance(msg, list) or len(msg) != length:
            raise ValueError
        out = [int(v, 16) for v in msg]
        if any(not 0 <= v < prime for v in out):
            raise ValueError
        return out
    except (TypeError, ValueError):
        raise PartyFailure(
            f"Key holder '{me}' stopped: malformed small-cell shares from '{peer}'.", [peer]
        ) from None


def _elements(cell: int, values) -> list[bytes]:
    return [f"{cell}:{int(v)}".encode() for v in values]


async def small_cells(
    links: Any,
    name: str,
    digest: str,
    shares: list[int],
    xs: dict[str, int],
    ordered: list[str],
    prime: int,
    low: int,
    k: int,
) -> list[bool]:
    """Whether each cell's count lies in [low, k), from this key holder's Shamir shares of the
    counts (the participants in `ordered` all run this together); nothing else is revealed."""
    me = links.me
    opener, keeper, *rest = ordered
    cells = len(shares)
    lag = dict(zip(ordered, lagrange_at_zero([xs[n] for n in ordered], prime), strict=True))
    mine = [lag[me] * s % prime for s in shares]
    dst = domain(f"{name}/small-cells", digest) + _LABEL
    width = k - low

    if me not in (opener, keeper):  # a third participant hands its share on, split by a mask
        mask = [secrets.randbelow(prime) for _ in range(cells)]
        await links.send(opener, "sc-share", _hex((a - m) % prime for a, m in zip(mine, mask, strict=True)))
        await links.send(keeper, "sc-share", _hex(mask))
        return _bits(await links.recv(opener, "sc-bits"), cells, me, opener)

    for q in rest:
        got = _ints(await links.recv(q, "sc-share"), cells, me, q, prime)
        mine = [(a + b) % prime for a, b in zip(mine, got, strict=True)]

    if me == keeper:
        r = [secrets.randbelow(prime) for _ in range(cells)]
        await links.send(opener, "sc-mask", _hex((a + m) % prime for a, m in zip(mine, r, strict=True)))
        beta = new_key()

        def candidates() -> np.ndarray:
            rows = []
            for i in range(cells):
                values = [(r[i] + j) % prime for j in range(low, k)]
                pts = exponentiate(hash_to_group(_elements(i, values), dst), beta)
                rows.append(pts[np.random.default_rng(secrets.randbits(128)).permutation(width)])
            return np.concatenate(rows) if rows else np.empty((0, POINT), dtype=np.uint8)

        await links.send(opener, "sc-set", await links.compute(candidates))
        theirs = await links.recv(opener, "sc-elem", dtype=np.uint8, cols=POINT)
        if len(theirs) != cells:
            raise PartyFailure(
                f"Key holder '{me}' stopped: malformed small-cell elements from '{opener}'.", [opener]
            )
        await links.send(
            opener, "sc-both", await links.compute(lambda: exponentiate(theirs, beta, sender=opener))
        )
        return _bits(await links.recv(opener, "sc-bits"), cells, me, opener)

    # the opener
    masked = _ints(await links.recv(keeper, "sc-mask"), cells, me, keeper, prime)
    c = [(a + b) % prime for a, b in zip(mine, masked, strict=True)]
    alpha = new_key()
    own = await links.compute(
        lambda: exponentiate(
            hash_to_group([e for i in range(cells) for e in _elements(i, [c[i]])], dst), alpha
        )
    )
    await links.send(keeper, "sc-elem", own)
    their_set = await links.recv(keeper, "sc-set", dtype=np.uint8, cols=POINT)
    both = await links.recv(keeper, "sc-both", dtype=np.uint8, cols=POINT)
    if len(their_set) != cells * width or len(both) != cells:
        raise PartyFailure(
            f"Key holder '{me}' stopped: malformed small-cell elements from '{keeper}'.", [keeper]
        )

    def compare() -> list[bool]:
        mine_tags = tags(both)
        set_tags = tags(exponentiate(their_set, alpha, sender=keeper)).reshape(cells, width, TAG)
        return [bool((set_tags[i] == mine_tags[i]).all(axis=1).any()) for i in range(cells)]

    small = await links.compute(compare)
    for peer in [keeper, *rest]:
        await links.send(peer, "sc-bits", [int(b) for b in small])
    return small


def _bits(msg: Any, cells: int, me: str, peer: str) -> list[bool]:
    if not isinstance(msg, list) or len(msg) != cells or any(v not in (0, 1) for v in msg):
        raise PartyFailure(f"Key holder '{me}' stopped: malformed small-cell result from '{peer}'.", [peer])
    return [bool(v) for v in msg]
