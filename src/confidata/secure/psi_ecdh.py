"""Two-party private set intersection by commutative Diffie-Hellman (the classic construction of
Meadows 1986 / Huberman, Franklin and Hogg 1999, deployed by Ion et al. 2020), semi-honest.

Each holder X has a secret X25519 key k_X and hashes its identifiers to Curve25519 points
(`psi_crypto.hash_to_group`: no one knows their discrete logs); the clamped keys carry every
exponentiated point into the curve's prime-order subgroup, where DDH is assumed hard. Every
message is checked for its step, type and width (32-byte points, 16-byte tags, 512-byte
ciphertexts), and an exponentiation that yields the neutral element is refused.

Round 1. Each holder sends H(x)^k_X for its own set, shuffled with a secret permutation.
         (Intersection-sum: the value holder V also sends, in the same shuffled order, the
         Paillier encryptions of its values under its own fresh key, and its public key.)
Round 2. Each holder raises what it received to its own key: H(y)^(k_X k_Y). It sends these
         doubly-keyed elements back (as 16-byte tags) only to a holder that needs them: to a
         result party, in the order received for 'intersection' (so that party can tell which
         of its units matched) or shuffled again for 'intersection_size' (so it can only count);
         for a sum, V sends them shuffled to the other holder O.
         The receiver compares them with its own doubly-keyed copy of the other's set.
Sum.     O multiplies the ciphertexts of V's matched units (a homomorphic sum), re-randomises
         and sends it to V, who decrypts: V learns the sum and count when it is a result party;
         when only O is, O first adds a random mask r (Enc(S + r)), V returns S + r, O removes r.

What each party learns (semi-honest: both follow the protocol; DDH in the group):
* Both holders: the other's number of distinct identifiers (the length of its message); nothing
  else of the other's set, and nothing of the other's values.
* A result party of 'intersection_size': |A n B| (hence both coverage shares).
* A result party of 'intersection': which of its own units are in the other's set (its rows of
  the intersection); not the other's units outside it.
* 'intersection_sum': O learns |A n B| (it does the matching) and, if a result party, the sum;
  V learns the sum and count if it is a result party, otherwise nothing (it decrypts S + r with
  r uniform). Neither learns which units are in the intersection.
Not protected: a malicious holder could send other elements than its set's (for instance many
guesses) or lie about its set; the study's max_records bounds the number of guesses.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

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
from confidata.secure.study import Study

__all__ = ["ecdh_psi", "PAILLIER_BITS"]

PAILLIER_BITS = 2048
_CT = 2 * PAILLIER_BITS // 8  # bytes of a Paillier ciphertext (mod n**2)


def _int_rows(values: list[int], width: int) -> np.ndarray:
    data = b"".join(int(v).to_bytes(width, "big") for v in values)
    return np.frombuffer(data, dtype=np.uint8).reshape(len(values), width).copy()


def _row_ints(rows: np.ndarray) -> list[int]:
    return [int.from_bytes(r.tobytes(), "big") for r in rows]


def _paillier():
    # TNO's scheme warns when it draws randomness on the fly instead of from a precomputed pool
    # (a performance hint, not a fault); silence those hints from its modules only
    warnings.filterwarnings("ignore", module=r"tno\.mpc\.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tno.mpc.encryption_schemes.paillier import (  # noqa: PLC0415 - heavy, sums only
            Paillier,
            PaillierCiphertext,
            PaillierPublicKey,
        )
    return Paillier, PaillierCiphertext, PaillierPublicKey


def _encrypt_all(scheme, values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = [scheme.encrypt(int(v)).get_value() for v in values]
    return _int_rows(raw, _CT)


def _homomorphic_sum(n: int, rows: np.ndarray, mask: int) -> int:
    """prod(c_i) * Enc(mask) with fresh randomness, mod n**2: Enc(sum + mask), re-randomised."""
    Paillier, PaillierCiphertext, PaillierPublicKey = _paillier()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheme = Paillier(PaillierPublicKey(n, n + 1), None)
        total = scheme.encrypt(mask)  # fresh randomness re-randomises the whole sum
        for c in _row_ints(rows):
            total = total + PaillierCiphertext(c, scheme)
        return int(total.get_value())


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
    scheme = None
    if statistic == "intersection_sum" and me == study.value_holder:
        Paillier, _, _ = _paillier()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scheme = Paillier.from_security_parameter(key_length=PAILLIER_BITS)
        n = int(scheme.public_key.n)
        await links.send(other, "paillier", {"n": hex(n)})
        await links.send(other, "values", await links.compute(_encrypt_all, scheme, inp.values[perm]))
    theirs = await links.recv(other, "single", dtype=np.uint8, cols=POINT)
    theirs_double = await links.compute(lambda: tags(exponentiate(theirs, key, sender=other)))

    if statistic == "intersection_sum":
        return await _sum(links, study, inp, me, other, theirs_double, scheme)

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


async def _sum(links, study: Study, inp: PsiInput, me: str, other: str, theirs_double, scheme):
    results = set(study.results)
    sizes_known = {me: len(inp)}
    if me == study.value_holder:  # V: send O its doubly-keyed set, shuffled; decrypt what comes back
        await links.send(other, "double", theirs_double[secret_permutation(len(theirs_double))])
        sizes_known[other] = len(theirs_double)
        reply = await links.recv(other, "sum")
        _, PaillierCiphertext, _ = _paillier()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plain = int(scheme.decrypt(PaillierCiphertext(int(reply["c"], 16), scheme)))
        if me in results:
            res = PsiResult(study.name, study.statistic, "ecdh", sizes_known, reply["count"], total=plain)
            if other in results:
                await links.send(other, "result", {"sum": str(plain)})
            return res
        await links.send(other, "unmask", {"masked": str(plain)})  # S + r: uniform to V
        return None
    # O: match V's ciphertexts, add them up under encryption
    info = await links.recv(other, "paillier")
    n = int(info["n"], 16)
    if n.bit_length() != PAILLIER_BITS:
        raise PartyFailure(
            f"Party '{me}' stopped: party '{other}' sent a Paillier key of another size.",
            [other],
        )
    cts = await links.recv(other, "values", dtype=np.uint8, cols=_CT)
    mine_double = await links.recv(other, "double", dtype=np.uint8, cols=TAG)
    sizes_known[other] = len(cts)
    matched = np.isin(as_keys(theirs_double), as_keys(mine_double))  # V's units (its order) in A n B
    count = int(matched.sum())
    v_result = other in results
    mask = 0 if v_result else int.from_bytes(new_key(), "big") % n
    c = await links.compute(_homomorphic_sum, n, cts[matched], mask)
    await links.send(other, "sum", {"c": hex(c), "count": count if v_result else None})
    if me not in results:
        return None
    if v_result:
        total = int((await links.recv(other, "result"))["sum"])
    else:
        masked = int((await links.recv(other, "unmask"))["masked"])
        total = (masked - mask) % n
        if total > n // 2:  # negative sums wrap around n
            total -= n
    return PsiResult(study.name, study.statistic, "ecdh", sizes_known, count, total=total)
