"""The vertical table's join and secure product, by the helper technique: no holder learns which
of its units are in the join, and the per-record work is vectorised numpy.

Parties: holders A (``study.by_holders[0]``) and B, and a helper H that holds no data. Each
holder's data for the table are a feature matrix F (one row per unit): the one-hot of its level,
and for the value holder also value * one-hot. The table is ``F_A^T F_B`` summed over the joined
units: a count block and, with a value, a total block. All arithmetic on shares is in the ring
of integers modulo 2**bits (`vertical.ring_bits`: 32 for counts, 64 with a value).

Round 1. A and B agree on a key K over their TLS link (ephemeral X25519, as `psi_helper`); H
         sends A a seed s_HA and B a seed s_HB. Pairwise seeds are thus known to exactly two
         parties each: K to A and B, s_HA to H and A, s_HB to H and B.
Round 2. Each holder shuffles its units with a secret permutation and sends H, in that order,
         HMAC-SHA256(K, identifier) (16 bytes) and its features masked, M = F - R, where
         R = SHAKE-256(K, ...) is a mask the *other holder* can also expand (H never can).
Round 3. H matches the pseudonyms, puts the n matched pairs in a secret random order, and sends
         A the positions of the matched units in *B's* shuffled list, and B those in A's.
         Each holder learns n and positions in the other's secret shuffle: nothing about which
         of its own units matched. Now A's features of the k-th joined unit are x_k =
         M_A[ia_k] + R_A[ia_k], the first part at H, the second computable by B; likewise
         y_k = M_B[ib_k] (H) + R_B[ib_k] (A).
Round 4. Re-sharing into replicated shares (three additive shares, each held by two parties):
         x = x1 + x2 + x3 with x2 = SHAKE(s_HA) (H, A), x3 = SHAKE(K) (A, B) and x1 held by
         H and B: H sends B ``M_A[ia] - x2`` and B sends H ``R_A[ia] - x3`` (each masked by a
         share the receiver lacks), both add them. y = y1 + y2 + y3 the same way with y1 from
         s_HB (H, B), y3 from K (A, B) and y2 exchanged between H and A.
Round 5. The product: each party computes locally the 3 of the 9 terms ``x_i^T y_j`` whose shares
         it holds (H: shares 1, 2; A: 2, 3; B: 3, 1), as matrix products over all n joined units
         at once, and adds its part of a zero-sharing (from the pairwise seeds), so that the three
         results are a fresh additive sharing of the table. B sends its part to A. A and H now
         hold a and h with a + h = table (mod 2**bits); `vertical_party` turns them into exact
         integers on MPyC (`reconstruct_carry`) and applies the output protection.

What each party learns (semi-honest; the helper does not collude with a holder, which is the
honest majority of three):
* H: both set sizes and the equality pattern of the pseudonyms (which of A's shuffled entries
  equal which of B's), hence n; never an identifier; every feature it receives is masked by a
  SHAKE-256 stream it cannot compute.
* A and B: the other's set size and n (the number of joined units); positions in the other's
  secret shuffle, which say nothing; every array they receive is masked by a share they lack.
  Neither learns which of its units, or of the other's, are in the join.
* The table goes to the result parties only, after the output protection.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import numpy as np

from confidata.secure.engine import PartyFailure
from confidata.secure.psi_crypto import PSEUDONYM, match, pseudonyms, secret_permutation
from confidata.secure.study import Study
from confidata.secure.vertical import VerticalInput, holder_columns, ring_bits

__all__ = [
    "cells",
    "features",
    "helper_join",
    "holder_join",
    "reconstruct_carry",
    "ring_matmul",
    "stream",
    "widths",
]

def _dtype(bits: int) -> np.dtype:
    return np.dtype("<u4" if bits == 32 else "<u8")


def stream(seed: bytes, label: str, shape: tuple[int, int], bits: int) -> np.ndarray:
    """A pseudorandom ring matrix: SHAKE-256 of (seed, label), an extendable-output hash."""
    dt = _dtype(bits)
    size = int(np.prod(shape)) * dt.itemsize
    if size == 0:
        return np.zeros(shape, dtype=dt)
    material = hashlib.shake_256(b"confidata-vertical-v1" + seed + label.encode()).digest(size)
    return np.frombuffer(material, dtype=dt).reshape(shape).copy()


def widths(study: Study) -> tuple[int, int]:
    """Columns of A's and B's feature matrices."""
    out = []
    for holder, col in zip(study.by_holders, study.by, strict=True):
        k = len(study.levels[col])
        out.append(2 * k if study.value and study.value_holder == holder else k)
    return out[0], out[1]


def features(study: Study, holder: str, inp: VerticalInput) -> np.ndarray:
    """The holder's feature matrix in the ring: one-hot of its level (and value * one-hot)."""
    bits = ring_bits(study)
    column, value = holder_columns(study, holder)
    k = len(study.levels[column])
    n = len(inp)
    onehot = np.zeros((n, k), dtype=_dtype(bits))
    onehot[np.arange(n), inp.codes] = 1
    if not value:
        return onehot
    scaled = np.zeros((n, k), dtype=np.int64)
    scaled[np.arange(n), inp.codes] = inp.values
    return np.hstack([onehot, scaled.astype(_dtype(bits))])  # negatives wrap: two's complement


def ring_matmul(x: np.ndarray, y: np.ndarray, bits: int) -> np.ndarray:
    """x^T y modulo 2**bits, exactly: numpy's unsigned-integer matmul wraps (C unsigned arithmetic).

    Tried and measured slower here: exact float64 BLAS products of 16-bit limbs (3 products for 32
    bits, 10 for 64; 2.9 s against 1.2 s for 10 x 1M by 1M x 10 in 32 bits, at load 18), as the
    limbs' shifts, masks and conversions cost more than the small products themselves.
    """
    dt = _dtype(bits)
    return np.ascontiguousarray(x.T, dtype=dt) @ y.astype(dt, copy=False)


def cells(study: Study, product: np.ndarray) -> np.ndarray:
    """The table's cells from a (share of the) product F_A^T F_B: counts, then totals, C order."""
    la, lb = (len(study.levels[c]) for c in study.by)
    blocks = [product[:la, :lb]]
    if study.value:
        blocks.append(product[:la, lb:] if study.value_holder == study.by_holders[1] else product[la:, :lb])
    return np.concatenate([b.reshape(-1) for b in blocks])


def reconstruct_carry(a: np.ndarray, h: np.ndarray, bits: int) -> np.ndarray:
    """The exact integers from a + h = t (mod 2**bits), where A added 2**(bits-2) to its share.

    With t + 2**(bits-2) in [0, 2**(bits-1)), the sum a + h wrapped exactly when the top bit of a
    or of h is set (a sum of two numbers below 2**(bits-1) cannot reach it; a sum with one top bit
    set and no wrap would be at least 2**(bits-1)). That rule needs one secure product of two
    private bits on MPyC (`vertical_party`); this is the same formula in the clear, for tests.
    """
    a = [int(v) for v in np.asarray(a, dtype=np.uint64)]
    h = [int(v) for v in np.asarray(h, dtype=np.uint64)]
    top = bits - 1
    out = []
    for x, y in zip(a, h, strict=True):
        alpha, eta = x >> top, y >> top
        out.append(x + y - (1 << bits) * (alpha + eta - alpha * eta) - (1 << (bits - 2)))
    return np.array(out, dtype=object)


def _agree(study: Study, mine_sk: bytes, mine_pk: bytes, theirs_pk: bytes) -> bytes:
    from nacl.bindings import crypto_scalarmult  # noqa: PLC0415

    shared = crypto_scalarmult(mine_sk, theirs_pk)
    first, second = sorted([mine_pk, theirs_pk])
    material = b"confidata-vertical-v1" + shared + first + second + bytes.fromhex(study.digest)
    return hashlib.sha256(material).digest()


async def _send_ring(links: Any, peer: str, label: str, arr: np.ndarray) -> None:
    arr = np.ascontiguousarray(arr)
    await links.send(peer, label, arr.view(np.uint8).reshape(arr.shape[0], arr.shape[1] * arr.itemsize))


async def _recv_ring(links: Any, peer: str, label: str, rows: int | None, cols: int, bits: int) -> np.ndarray:
    dt = _dtype(bits)
    got = await links.recv(peer, label, dtype=np.uint8, cols=cols * dt.itemsize)
    got = np.ascontiguousarray(got).reshape(-1, cols * dt.itemsize)
    if rows is not None and got.shape[0] != rows:
        raise PartyFailure(
            f"Party '{links.me}' stopped: party '{peer}' sent {got.shape[0]:,} rows in step '{label}' "
            f"where {rows:,} were due.",
            [peer],
        )
    return got.view(dt).reshape(-1, cols)


async def holder_join(
    links: Any, study: Study, inp: VerticalInput, *, feats: np.ndarray | None = None, dims=None,
    units: bool = False,
) -> tuple[np.ndarray | None, int]:
    """A holder's side: A's share of the cells (offset added), or None at B; and the join size.

    With `feats` (this holder's ring matrix) and `dims` (ring bits, A's and B's widths) the same
    protocol multiplies other features and A gets its share of the whole product F_A^T F_B
    (`vertical_regression`). With `units`, no product: A gets its share of the joined units'
    features themselves, ``[x2 + x3 | y2 + y3]`` in the join order (offset added), the helper
    holding ``[x1 | y1]`` (`vertical_logistic`)."""
    from nacl.bindings import crypto_scalarmult_base  # noqa: PLC0415

    me = links.me
    a_name, b_name = study.by_holders
    is_a = me == a_name
    other = b_name if is_a else a_name
    helper = study.helper.name
    bits, pa, pb = dims or (ring_bits(study), *widths(study))
    mine_w, other_w = (pa, pb) if is_a else (pb, pa)

    sk = secrets.token_bytes(32)
    pk = crypto_scalarmult_base(sk)
    await links.send(other, "keyshare", {"pk": pk.hex()})
    got = await links.recv(other, "keyshare")
    try:
        their_pk = bytes.fromhex(got["pk"])
        if len(their_pk) != 32:
            raise ValueError
        key = _agree(study, sk, pk, their_pk)
    except Exception:  # a malformed share, including a small-order point nacl refuses
        raise PartyFailure(
            f"Party '{me}' stopped: malformed key share from party '{other}'.", [other]
        ) from None
    pseudo_key = hmac.digest(key, b"pseudonyms", "sha256")
    kab = hmac.digest(key, b"shares", "sha256")
    try:
        seed_h = bytes.fromhex((await links.recv(helper, "seed"))["seed"])
        if len(seed_h) != 32:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise PartyFailure(
            f"Party '{me}' stopped: malformed seed from the helper '{helper}'.", [helper]
        ) from None

    def prepare():
        perm = secret_permutation(len(inp))
        sent = pseudonyms(inp.ids.encoded(), pseudo_key)[perm]
        mine = features(study, me, inp) if feats is None else feats
        masked = mine[perm] - stream(kab, f"mask-{me}", (len(inp), mine_w), bits)
        return sent, masked

    sent, masked = await links.compute(prepare)
    await links.send(helper, "pseudo", sent)
    await _send_ring(links, helper, "masked", masked)
    del sent, masked

    info = await links.recv(helper, "sizes")
    pos = await links.recv(helper, "pos", dtype="<u8")
    try:
        n_other, n = int(info["other"]), int(info["join"])
    except (KeyError, TypeError, ValueError):
        raise PartyFailure(
            f"Party '{me}' stopped: malformed sizes from the helper '{helper}'.", [helper]
        ) from None
    if len(pos) != n or not 0 <= n <= min(n_other, len(inp)) or (n and int(pos.max()) >= n_other):
        raise PartyFailure(f"Party '{me}' stopped: malformed positions from the helper '{helper}'.", [helper])
    pos = pos.astype(np.int64)

    def other_mask():  # the other holder's mask at the joined positions: our share of its features
        return stream(kab, f"mask-{other}", (n_other, other_w), bits)[pos]

    theirs = await links.compute(other_mask)
    if is_a:  # y (B's features): y2 is exchanged with H; y3 from K
        y3 = stream(kab, "y3", (n, pb), bits)
        await _send_ring(links, helper, "y2part", theirs - y3)
        y2 = (await _recv_ring(links, helper, "y2part", n, pb, bits)) + (theirs - y3)
        del theirs
        x2 = stream(seed_h, "x2", (n, pa), bits)
        x3 = stream(kab, "x3", (n, pa), bits)
        if units:
            return np.hstack([x2 + x3, y2 + y3]) + _dtype(bits).type(1 << (bits - 2)), n

        def product_a():
            z = ring_matmul(x2, y2 + y3, bits) + ring_matmul(x3, y2, bits)
            return z + stream(kab, "zero", (pa, pb), bits) - stream(seed_h, "zero", (pa, pb), bits)

        z = await links.compute(product_a)
        z_b = await _recv_ring(links, other, "z", pa, pb, bits)
        share = cells(study, z + z_b) if dims is None else z + z_b
        return share + _dtype(bits).type(1 << (bits - 2)), n

    # B: x (A's features): x1 is exchanged with H; x3 from K
    x3 = stream(kab, "x3", (n, pa), bits)
    await _send_ring(links, helper, "x1part", theirs - x3)
    x1 = (await _recv_ring(links, helper, "x1part", n, pa, bits)) + (theirs - x3)
    del theirs
    if units:
        return None, n
    y1 = stream(seed_h, "y1", (n, pb), bits)
    y3 = stream(kab, "y3", (n, pb), bits)

    def product_b():
        z = ring_matmul(x3, y3 + y1, bits) + ring_matmul(x1, y3, bits)
        return z + stream(seed_h, "zero", (pa, pb), bits) - stream(kab, "zero", (pa, pb), bits)

    z = await links.compute(product_b)
    await _send_ring(links, other, "z", z)
    return None, n


async def helper_join(links: Any, study: Study, *, dims=None, units: bool = False) -> tuple[np.ndarray, int]:
    """The helper's side: match, hand out positions, re-share, multiply; its share h, the join size
    (with `dims`, of the whole product, as `holder_join`; with `units`, of the units' features)."""
    a_name, b_name = study.by_holders
    bits, pa, pb = dims or (ring_bits(study), *widths(study))
    seeds = {a_name: secrets.token_bytes(32), b_name: secrets.token_bytes(32)}
    for name in (a_name, b_name):
        await links.send(name, "seed", {"seed": seeds[name].hex()})
    got, masked = {}, {}
    for name, w in ((a_name, pa), (b_name, pb)):
        got[name] = await links.recv(name, "pseudo", dtype=np.uint8, cols=PSEUDONYM)
        got[name] = np.ascontiguousarray(got[name]).reshape(-1, PSEUDONYM)
        masked[name] = await _recv_ring(links, name, "masked", len(got[name]), w, bits)

    def join():
        ia, ib = match(got[a_name], got[b_name])
        order = secret_permutation(len(ia))
        return ia[order], ib[order]

    ia, ib = await links.compute(join)
    n = len(ia)
    sizes = {a_name: len(got[a_name]), b_name: len(got[b_name])}
    await links.send(b_name, "sizes", {"other": sizes[a_name], "join": n})
    await links.send(b_name, "pos", ia.astype("<u8"))
    await links.send(a_name, "sizes", {"other": sizes[b_name], "join": n})
    await links.send(a_name, "pos", ib.astype("<u8"))
    s_ha, s_hb = seeds[a_name], seeds[b_name]

    x2 = stream(s_ha, "x2", (n, pa), bits)
    part_x = masked[a_name][ia] - x2
    await _send_ring(links, b_name, "x1part", part_x)
    y1 = stream(s_hb, "y1", (n, pb), bits)
    part_y = masked[b_name][ib] - y1
    await _send_ring(links, a_name, "y2part", part_y)
    del masked
    x1 = part_x + await _recv_ring(links, b_name, "x1part", n, pa, bits)
    y2 = part_y + await _recv_ring(links, a_name, "y2part", n, pb, bits)
    if units:
        return np.hstack([x1, y1]), n

    def product_h():
        z = ring_matmul(x1, y1 + y2, bits) + ring_matmul(x2, y1, bits)
        return z + stream(s_ha, "zero", (pa, pb), bits) - stream(s_hb, "zero", (pa, pb), bits)

    product = await links.compute(product_h)
    return (cells(study, product) if dims is None else product), n
