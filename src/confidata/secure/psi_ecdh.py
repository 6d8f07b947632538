"""Two-party private set intersection by commutative Diffie-Hellman (the classic construction of
Meadows 1986 / Huberman, Franklin and Hogg 1999, deployed by Ion et al. 2020), semi-honest.

Each holder X has a secret X25519 key k_X and hashes its identifiers to Curve25519 points
(`psi_crypto.hash_to_group`: no one knows their discrete logs); the clamped keys carry every
exponentiated point into the curve's prime-order subgroup, where DDH is assumed hard. Every
message is checked for its step, type and width (32-byte points, 16-byte tags, 512-byte
ciphertexts), and an exponentiation that yields the neutral element is refused.

Round 1. Each holder sends H(x)^k_X for its own set, shuffled with a secret permutation.
         (Intersection-sum: the value holder V also sends, in the same shuffled order, its
         values packed into BFV ciphertexts under a fresh key, with the public key:
         `psi_sum_bfv`.)
Round 2. Each holder raises what it received to its own key: H(y)^(k_X k_Y). It sends these
         doubly-keyed elements back (as 16-byte tags) only to a holder that needs them: to a
         result party, in the order received for 'intersection' (so that party can tell which
         of its units matched) or shuffled again for 'intersection_size' (so it can only count);
         for a sum, V sends them shuffled to the other holder O.
         The receiver compares them with its own doubly-keyed copy of the other's set.
Sum.     O multiplies V's ciphertexts slot by slot by its 0/1 mask of V's matched units, adds
         them, masks the slots, re-randomises and floods the noise (`psi_sum_bfv.masked_sum`)
         and sends the one ciphertext to V, who decrypts and adds the slots: V learns the sum
         and count when it is a result party; when only O is, O first shifts the slots' total by
         a random r, V returns S + r (mod t), O removes r.

What each party learns (semi-honest: both follow the protocol; DDH in the group, ring-LWE):
* Both holders: the other's number of distinct identifiers (the length of its message); nothing
  else of the other's set, and nothing of the other's values.
* A result party of 'intersection_size': |A n B| (hence both coverage shares).
* A result party of 'intersection': which of its own units are in the other's set (its rows of
  the intersection); not the other's units outside it.
* 'intersection_sum': O learns |A n B| (it does the matching) and, if a result party, the sum;
  V learns the sum and count if it is a result party, otherwise nothing (it decrypts slots that
  are uniform given their total S + r, r uniform modulo t). Neither learns which units are in
  the intersection: the reply's noise is flooded (statistical distance 2^-40) and its second
  polynomial re-randomised, so it carries nothing of O's mask beyond the total.
Not protected: a malicious holder could send other elements than its set's (for instance many
guesses) or lie about its set; the study's max_records bounds the number of guesses. A
malicious V could send ciphertexts with oversized noise that the flooding no longer covers.
Until December 2026 the sum used Paillier, one 2048-bit encryption per value (16 s for 1,000
records); `psi_sum_bfv` says why BFV replaced it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from confidata.errors import ConfidataError
from confidata.secure.engine import PartyFailure
from confidata.secure.psi import PsiInput, PsiResult
from confidata.secure.psi_crypto import (
    POINT,
    TAG,
    as_keys,
    domain,
    exponentiate,
    hash_to_group,
    new_key,
    secret_permutation,
    tags,
)
from confidata.secure.psi_sum_bfv import ValueHolderKeys, masked_sum, plan_sum, read_total
from confidata.secure.study import Study

__all__ = ["ecdh_psi"]

_ROW = 4096  # bytes per row when a serialised key or ciphertext crosses the wire


async def _send_bytes(links: Any, peer: str, label: str, data: bytes, study: Study) -> None:
    """Send opaque bytes as uint8 rows of 4,096, in messages within the study's size limit."""
    rows = -(-len(data) // _ROW)
    arr = np.zeros(rows * _ROW, dtype=np.uint8)
    arr[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    arr = arr.reshape(rows, _ROW)
    per = study.max_records + 16
    for start in range(0, rows, per):
        await links.send(peer, label, arr[start : start + per])


async def _recv_bytes(links: Any, peer: str, label: str, size: int, study: Study, me: str) -> bytes:
    """Receive exactly `size` bytes sent by `_send_bytes` (the size is known to the receiver)."""
    rows = -(-size // _ROW)
    per = study.max_records + 16
    parts = [await links.recv(peer, label, dtype=np.uint8, cols=_ROW) for _ in range(-(-rows // per))]
    data = np.concatenate(parts).reshape(-1).tobytes() if parts else b""
    if len(data) != rows * _ROW or any(data[size:]):
        raise PartyFailure(
            f"Party '{me}' stopped: party '{peer}' sent a key or ciphertext of the wrong size.", [peer]
        )
    return data[:size]


async def ecdh_psi(links: Any, study: Study, inp: PsiInput) -> PsiResult | None:
    """Run this holder's side; returns its result if it is a result party, else None."""
    me = links.me
    other = next(p.name for p in study.holders if p.name != me)
    statistic = study.statistic
    results = set(study.results)
    key = new_key()
    dst = domain(study.name, study.digest)

    def single() -> tuple[np.ndarray, np.ndarray]:
        perm = secret_permutation(len(inp))
        return exponentiate(hash_to_group(inp.encoded, dst), key)[perm], perm

    mine, perm = await links.compute(single)
    await links.send(other, "single", mine)
    keys = None
    if statistic == "intersection_sum" and me == study.value_holder:
        plan = plan_sum(study, len(inp))
        keys = await links.compute(ValueHolderKeys, plan)
        cts = await links.compute(keys.encrypt, inp.values[perm])
        await links.send(other, "bfv", plan.to_dict())
        await _send_bytes(links, other, "bfvkey", keys.public_key, study)
        await _send_bytes(links, other, "values", b"".join(cts), study)
    theirs = await links.recv(other, "single", dtype=np.uint8, cols=POINT)
    theirs_double = await links.compute(lambda: tags(exponentiate(theirs, key, sender=other)))

    if statistic == "intersection_sum":
        return await _sum(links, study, inp, me, other, theirs_double, keys)

    if other in results:  # the other needs its doubly-keyed set to match against
        back = (
            theirs_double if statistic == "intersection" else theirs_double[secret_permutation(len(theirs))]
        )
        await links.send(other, "double", back)
    if me not in results:
        return None
    mine_double = await links.recv(other, "double", dtype=np.uint8, cols=TAG)
    if len(mine_double) != len(inp):
        raise PartyFailure(
            f"Party '{me}' stopped: party '{other}' returned a set of the wrong size.",
            [other],
        )
    matched = np.isin(as_keys(mine_double), as_keys(theirs_double))
    res = PsiResult(
        study.name,
        statistic,
        "ecdh",
        {me: len(inp), other: len(theirs)},
        intersection_size=int(matched.sum()),
    )
    if statistic == "intersection":
        own = np.sort(perm[matched])  # positions in this holder's key list
        res.members = [str(k) for k in inp.ids.keys[own]]
        res.member_rows = [int(r) for r in inp.ids.rows[own]]
    return res


async def _sum(links, study: Study, inp: PsiInput, me: str, other: str, theirs_double, keys):
    results = set(study.results)
    sizes_known = {me: len(inp)}
    if me == study.value_holder:  # V: send O its doubly-keyed set, shuffled; decrypt what comes back
        await links.send(other, "double", theirs_double[secret_permutation(len(theirs_double))])
        sizes_known[other] = len(theirs_double)
        reply = await links.recv(other, "sum")
        blob = await _recv_bytes(links, other, "sumct", keys.plan.ciphertext_bytes, study, me)
        try:
            residue = await links.compute(keys.slots_total, blob)
        except ValueError as exc:
            raise PartyFailure(
                f"Party '{me}' stopped: party '{other}' sent a bad sum ({exc}).", [other]
            ) from None
        if me in results:
            count = reply.get("count") if isinstance(reply, dict) else None
            if not isinstance(count, int) or not 0 <= count <= len(inp):
                raise PartyFailure(f"Party '{me}' stopped: party '{other}' sent a malformed count.", [other])
            plain = read_total(residue, keys.plan.plain_modulus)
            res = PsiResult(study.name, study.statistic, "ecdh", sizes_known, count, total=plain)
            if other in results:
                await links.send(other, "result", {"sum": str(plain)})
            return res
        await links.send(other, "unmask", {"masked": str(residue)})  # S + r mod t: uniform to V
        return None
    # O: match V's ciphertexts, add them up under encryption
    n_values = len(theirs_double)
    plan = await _check_plan(links, study, me, other, n_values)
    key = await _recv_bytes(links, other, "bfvkey", plan.public_key_bytes, study, me)
    blob = await _recv_bytes(links, other, "values", plan.ciphertexts * plan.ciphertext_bytes, study, me)
    size = plan.ciphertext_bytes
    cts = [blob[i * size : (i + 1) * size] for i in range(plan.ciphertexts)]
    mine_double = await links.recv(other, "double", dtype=np.uint8, cols=TAG)
    sizes_known[other] = n_values
    matched = np.isin(as_keys(theirs_double), as_keys(mine_double))  # V's units (its order) in A n B
    count = int(matched.sum())
    v_result = other in results
    r = 0 if v_result else int.from_bytes(new_key(), "big") % plan.plain_modulus
    try:
        c = await links.compute(masked_sum, plan, key, cts, matched, r)
    except ValueError as exc:
        raise PartyFailure(
            f"Party '{me}' stopped: party '{other}' sent a malformed key or ciphertext ({exc}).", [other]
        ) from None
    await links.send(other, "sum", {"count": count if v_result else None})
    await _send_bytes(links, other, "sumct", c, study)
    if me not in results:
        return None
    if v_result:
        got = (await links.recv(other, "result")).get("sum")
        total = int(got) if isinstance(got, str) and got.lstrip("-").isdigit() else None
    else:
        got = (await links.recv(other, "unmask")).get("masked")
        total = (
            read_total(int(got) - r, plan.plain_modulus) if isinstance(got, str) and got.isdigit() else None
        )
    if total is None:
        raise PartyFailure(f"Party '{me}' stopped: party '{other}' sent a malformed sum.", [other])
    return PsiResult(study.name, study.statistic, "ecdh", sizes_known, count, total=total)


async def _check_plan(links, study: Study, me: str, other: str, n_values: int):
    """O re-derives V's parameters from public facts (the bounds, V's set size seen in round 1);
    a V asking for other parameters is stopped, named."""
    got = await links.recv(other, "bfv")
    try:
        plan = plan_sum(study, n_values)
    except ConfidataError:
        plan = None  # V's set is too large for the bounds: V should have refused its own data
    if plan is None or got != plan.to_dict():
        raise PartyFailure(
            f"Party '{me}' stopped: party '{other}' proposed other encryption parameters than the "
            "study and its set size give (another confidata version?); run the same version at both.",
            [other],
        )
    return plan
