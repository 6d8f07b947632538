"""Helper-assisted private set intersection: two (or, for the intersection and its size, more)
holders send keyed pseudonyms to a helper that holds no data and matches them (the "trusted
third party" linkage model of many NSOs, with the third party blinded by a key it never sees).
Semi-honest, and the helper must not collude with a holder (a colluding helper and holder could
test guesses of another holder's identifiers).

Round 1. The holders agree on a key: each sends the other an ephemeral X25519 public key over
         their TLS link; K = SHA-256 of the shared secret, both public keys and the study digest.
         The helper never sees K. With more than two holders, each agrees such a key k_i with
         the first holder, who draws a random group key K and sends holder i K XOR HMAC(k_i).
         (Intersection-sum, two holders only: the value holder V also sends the other holder O
         a 32-byte seed; SHAKE-256(seed) expands to one 64-bit mask s_j per record.)
Round 2. Each holder sends the helper HMAC-SHA256(K, identifier) truncated to 16 bytes, for its
         distinct identifiers, shuffled with a secret permutation. V also sends, per record in
         the same order, c_j = v_j - s_j mod 2**64 (uniform to the helper, who lacks the seed).
Round 3. The helper matches the pseudonyms (numpy sort-based intersection) and sends:
         'intersection_size': |A n B| to the result parties; 'intersection': to each result party
         a 0/1 flag per pseudonym it sent, in its own order; 'intersection_sum': C = sum of c_j
         over the matched records and the count to each result party, and to O the positions
         (in V's shuffled order) of V's matched records.
Round 4. (sum only) O adds the masks of those positions, D = sum s_j, and sends D to the result
         parties (a result party O keeps it): sum = C + D mod 2**64.

What each party learns:
* Helper: both set sizes and the equality pattern of the pseudonyms (which of A's shuffled
  entries equal which of B's): hence |A n B|; never an identifier, never a value (the c_j are
  masked), never the sum (C is masked by D). With more than two holders the equality pattern
  spans all of them: the helper learns the size of every sub-intersection (which pseudonyms two
  or three holders share, not only the one all share).
* Holders: the other's set size (from the helper's flags or the count) and their output:
  'intersection_size': the count; 'intersection': which of their own units matched;
  'intersection_sum': sum and count. O also receives positions in V's secretly shuffled list,
  which tell it no more than the count. A holder that is not a result party learns only sizes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import numpy as np

from confidata.secure.engine import PartyFailure
from confidata.secure.psi import PsiInput, PsiResult
from confidata.secure.psi_crypto import PSEUDONYM, match, pseudonyms, secret_permutation
from confidata.secure.study import Study

__all__ = ["helper_psi", "holder_psi", "masks"]


def masks(seed: bytes, n: int) -> np.ndarray:
    """n uniform 64-bit masks expanded from a 32-byte seed with SHAKE-256 (an extendable hash)."""
    if n == 0:
        return np.zeros(0, dtype="<u8")
    return np.frombuffer(hashlib.shake_256(seed).digest(8 * n), dtype="<u8").copy()


def _agree(study: Study, mine_sk: bytes, mine_pk: bytes, theirs_pk: bytes) -> bytes:
    from nacl.bindings import crypto_scalarmult  # noqa: PLC0415

    shared = crypto_scalarmult(mine_sk, theirs_pk)
    first, second = sorted([mine_pk, theirs_pk])
    material = b"confidata-psi-helper-v1" + shared + first + second + bytes.fromhex(study.digest)
    return hashlib.sha256(material).digest()


def _wrap(key: bytes, pairwise: bytes) -> bytes:
    """The group key XOR a pad only the two holders of `pairwise` can derive (one-time: each
    pairwise key comes from fresh ephemeral keys and wraps one group key)."""
    if len(key) != 32:
        raise ValueError
    pad = hmac.digest(pairwise, b"group key", "sha256")
    return bytes(x ^ y for x, y in zip(key, pad, strict=True))


async def _pairwise_key(links: Any, study: Study, other: str, sk: bytes, pk: bytes) -> bytes:
    got = await links.recv(other, "keyshare")
    try:
        their_pk = bytes.fromhex(got["pk"])
        if len(their_pk) != 32:
            raise ValueError
        return _agree(study, sk, pk, their_pk)
    except Exception:  # any malformed share, including a small-order point nacl refuses
        raise PartyFailure(
            f"Party '{links.me}' stopped: malformed key share from party '{other}'.", [other]
        ) from None


async def holder_psi(links: Any, study: Study, inp: PsiInput) -> PsiResult | None:
    """A data holder's side of the helper technique."""
    from nacl.bindings import crypto_scalarmult_base  # noqa: PLC0415

    me = links.me
    holders = [p.name for p in study.holders]
    leader = holders[0]
    # two holders agree on the key directly; with more, each agrees a key with the first holder,
    # who sends every other holder one group key under their pairwise key
    other = leader if me != leader else holders[1]
    helper = study.helper.name
    results = set(study.results)
    sk = secrets.token_bytes(32)
    pk = crypto_scalarmult_base(sk)
    partners = [h for h in holders if h != me] if me == leader else [leader]
    for h in partners:
        await links.send(h, "keyshare", {"pk": pk.hex()})
    sum_study = study.statistic == "intersection_sum"
    is_v = sum_study and me == study.value_holder
    seed = secrets.token_bytes(32) if is_v else None
    if is_v:
        await links.send(other, "seed", {"seed": seed.hex()})
    pairwise = {h: await _pairwise_key(links, study, h, sk, pk) for h in partners}
    if len(holders) == 2:
        key = pairwise[other]
    elif me == leader:
        key = secrets.token_bytes(32)
        for h, k in pairwise.items():
            await links.send(h, "groupkey", {"wrapped": _wrap(key, k).hex()})
    else:
        wrapped = (await links.recv(leader, "groupkey"))["wrapped"]
        try:
            key = _wrap(bytes.fromhex(wrapped), pairwise[leader])
        except (TypeError, ValueError):
            raise PartyFailure(
                f"Party '{me}' stopped: malformed group key from party '{leader}'.", [leader]
            ) from None
    if sum_study and not is_v:
        seed = bytes.fromhex((await links.recv(other, "seed"))["seed"])
    pseudo_key = hmac.digest(key, b"pseudonyms", "sha256")

    def prepare():
        perm = secret_permutation(len(inp))
        return pseudonyms(inp.encoded, pseudo_key)[perm], perm

    sent, perm = await links.compute(prepare)
    await links.send(helper, "pseudo", sent)
    if is_v:
        shares = (inp.values[perm].astype("<u8") - masks(seed, len(inp))).astype("<u8")  # wraps mod 2**64
        await links.send(helper, "masked", shares)

    if not sum_study:
        if me not in results:
            return None
        if study.statistic == "intersection_size":
            info = await links.recv(helper, "size")
            return PsiResult(study.name, study.statistic, "helper", info["sizes"], info["size"])
        flags = await links.recv(helper, "flags", dtype=np.uint8)
        info = await links.recv(helper, "size")
        if len(flags) != len(inp) or flags.max(initial=0) > 1:
            raise PartyFailure(f"Party '{me}' stopped: malformed flags from the helper '{helper}'.", [helper])
        own = np.sort(perm[flags.astype(bool)])
        res = PsiResult(study.name, study.statistic, "helper", info["sizes"], int(flags.sum()))
        res.members = [str(k) for k in inp.ids.keys[own]]
        res.member_rows = [int(r) for r in inp.ids.rows[own]]
        return res

    # intersection-sum
    share_d = None
    if not is_v:
        positions = await links.recv(helper, "matched", dtype="<u8")
        n_v = (await links.recv(helper, "size"))["sizes"][other]
        if len(positions) and int(positions.max()) >= n_v:
            raise PartyFailure(
                f"Party '{me}' stopped: malformed positions from the helper '{helper}'.", [helper]
            )
        share_d = int(masks(seed, n_v)[positions.astype(np.int64)].sum(dtype="<u8"))
        if other in results:
            await links.send(other, "share", {"d": str(share_d)})
    if me not in results:
        return None
    info = await links.recv(helper, "total")
    if share_d is None:
        share_d = int((await links.recv(other, "share"))["d"])
    total = (int(info["c"]) + share_d) % 2**64
    if total >= 2**63:
        total -= 2**64
    return PsiResult(study.name, study.statistic, "helper", info["sizes"], int(info["count"]), total=total)


def match_all(sets: list[np.ndarray]) -> list[np.ndarray]:
    """Positions, in each of several (n, 16) pseudonym arrays, of the rows all of them hold,
    aligned (the k-th position of every array is the same pseudonym)."""
    common = sets[0]
    positions = [np.arange(len(common))]
    for other in sets[1:]:
        ia, ib = match(common, other)
        positions = [p[ia] for p in positions] + [ib]
        common = common[ia]
    return positions


async def helper_psi(links: Any, study: Study) -> None:
    """The helper's side: match the pseudonyms, send each result party its output."""
    names = [p.name for p in study.holders]
    a, b = names[:2]
    got = {}
    for name in names:
        got[name] = await links.recv(name, "pseudo", dtype=np.uint8, cols=PSEUDONYM)
    sizes = {n: len(v) for n, v in got.items()}
    masked = None
    if study.statistic == "intersection_sum":
        v = study.value_holder
        masked = await links.recv(v, "masked", dtype="<u8")
        if len(masked) != sizes[v]:
            raise PartyFailure(
                f"Party '{links.me}' stopped: party '{v}' sent masked values of the wrong length.", [v]
            )

    positions = await links.compute(match_all, [got[n] for n in names])
    positions = dict(zip(names, positions, strict=True))
    count = len(positions[a])
    for name in study.results:
        if study.statistic == "intersection":
            flags = np.zeros(sizes[name], dtype=np.uint8)
            flags[positions[name]] = 1
            await links.send(name, "flags", flags)
        if study.statistic != "intersection_sum":
            await links.send(name, "size", {"size": count, "sizes": sizes})
    if study.statistic == "intersection_sum":
        v = study.value_holder
        o = a if v == b else b
        await links.send(o, "matched", np.sort(positions[v]).astype("<u8"))
        await links.send(o, "size", {"size": count, "sizes": sizes})
        c = int(masked[positions[v]].sum(dtype="<u8"))
        for name in study.results:
            await links.send(name, "total", {"c": str(c), "count": count, "sizes": sizes})
