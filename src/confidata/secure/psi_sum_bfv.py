"""The homomorphic part of the two-party intersection-sum: packed BFV (Microsoft SEAL), exact.

Why BFV and not Paillier. The value holder V must hand the other holder O its values, encrypted,
in the shuffled order of its blinded identifiers; O keeps those in the intersection and adds them
up. With Paillier every value is its own 2048-bit encryption (about 11 ms each here: 3 hours at a
million records). Packing several values into one Paillier plaintext does not help: O must drop
the values outside the intersection one by one, and Paillier can only scale a whole plaintext by
one public constant, not slot by slot. BFV (Brakerski/Fan-Vercauteren) with batching holds
N = 16,384 integers modulo a prime t in one ciphertext and multiplies by a plaintext vector slot
by slot, so O multiplies each ciphertext by its 0/1 intersection mask and adds the ciphertexts:
1.3 s for each holder at a million values (`bench/psi_sum_bench.py`, on the shared 2 cores at
load 15), where Paillier takes 3 to 10 hours (11 to 37 ms a value at load 2 to 15). Measured
and chosen over TenSEAL (its SEAL binding saves ciphertexts only to files, and its own vectors
to compressed protobuf: neither reaches a ciphertext's coefficients, which the noise flooding
below needs) and OpenFHE (its 1.6 wheel does not import on 3.11): `seal-python` wraps SEAL 4.1, ships
wheels, serialises to bytes that SEAL itself validates on loading (every coefficient below its
prime, parameters matching), and reads and writes numpy arrays. The slots are not summed
under encryption (that would need rotations and megabytes of Galois keys): V adds them after
decrypting, and O's random slot mask R (below) makes the per-slot sums it sees uniform given
their total.

The exchange (after the Diffie-Hellman rounds of `psi_ecdh`):

1. V derives the parameters from public facts only (`plan_sum`: the study's [value] bounds and
   V's number of identifiers, which O sees too), makes a fresh key pair and sends the public
   key and its values, encrypted under its secret key, in ceil(n / N) ciphertexts.
2. O derives the same parameters itself (a V asking for others is refused), multiplies each
   ciphertext by its mask, adds them, then sanitises the result before it leaves:
   a. adds a random plaintext vector R whose slots sum to 0 modulo t (or to a random r when V
      is not to learn the sum), so the decrypted slots are uniform given their total;
   b. adds a fresh public-key encryption of zero, so the ciphertext's second polynomial
      (otherwise V's own random polynomials times O's mask polynomials, from which V could
      solve for the mask) is pseudorandom under ring-LWE;
   c. floods the noise: adds to the first polynomial a polynomial with coefficients uniform in
      [-2^f, 2^f), with 2^f >= 2^40 * N * (the proven bound on the noise so far), so the
      decryption noise V can compute with its secret key is within statistical distance 2^-40
      of one that does not depend on the mask (the smudging lemma, over all N coefficients).
   It sends back that one ciphertext.
3. V decrypts and adds the slots modulo t: the sum S (or S + r, which it returns to O).

Exactness. t is a prime of the smallest size with t > 2 * max|value| * n (so the sum, whatever
the intersection, is read back from its residue exactly, negative sums too), at most 60 bits
(SEAL's limit): beyond that `check_sum_range` refuses with the fix before anything is sent. The
ciphertext modulus q is chosen from the worst-case noise bound, not from a measurement:
t * 2 * (noise bound + flood) < q, so decryption is always right, and the ring dimension 16,384
keeps q within the 128-bit security of the homomorphic-encryption standard (SEAL checks it).

What leaks, semi-honest (both follow the protocol):
* O sees V's public key and ciphertexts (ring-LWE: nothing of the values) and V's count (it sees
  that in the Diffie-Hellman round anyway).
* V sees one sanitised ciphertext: the sum S (or S + r), nothing of which slots were kept.
Not covered: a malicious V could send ciphertexts with large noise so that the flooding no
longer hides the mask; a malicious O could return any sum. A study needing that needs
zero-knowledge proofs of well-formedness, which this module does not give.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

import numpy as np

from confidata.errors import SchemaError

__all__ = [
    "FLOOD_SECURITY",
    "MAX_PLAIN_BITS",
    "SLOTS",
    "BfvPlan",
    "ValueHolderKeys",
    "check_sum_range",
    "masked_sum",
    "plan_sum",
    "read_total",
    "sum_limit",
]

SLOTS = 16_384  # ring dimension N: slots per ciphertext
MAX_PLAIN_BITS = 60  # SEAL's largest plaintext modulus
FLOOD_SECURITY = 40  # statistical security of the noise flooding, in bits
_ERROR = 21  # SEAL's error distribution (centred binomial, sigma 3.2) never exceeds 21 in size
_SPECIAL_BITS = 60  # SEAL keeps the last prime for key switching; this protocol never switches keys
_SERIAL_HEAD = 113  # bytes before the coefficients in SEAL's uncompressed ciphertext format


def sum_limit() -> int:
    """The largest |sum| the scheme can carry: t must exceed twice it and have at most 60 bits."""
    return (1 << (MAX_PLAIN_BITS - 1)) // 2 - 1


def _bound(study, n_values: int) -> int:
    return math.ceil(max(abs(study.value_min), abs(study.value_max))) * max(1, n_values)


def check_sum_range(study, n_values: int) -> None:
    """Refuse, with the fix, a study whose sum over `n_values` values could wrap around t."""
    if _bound(study, n_values) > sum_limit():
        raise SchemaError(
            f"Column '{study.value}' (value): with the study's [value] bounds and {n_values:,} distinct "
            f"identifiers, the sum over the intersection could exceed 2**{MAX_PLAIN_BITS - 2} in size, "
            "beyond what the two-party (ecdh) sum carries exactly; rescale the value (thousands "
            "instead of units, say), narrow the [value] min/max, or use technique 'helper'."
        )


@dataclass(frozen=True)
class BfvPlan:
    """Public parameters of one intersection-sum, derived by each holder from public facts."""

    slots: int
    plain_modulus: int
    coeff_bits: tuple[int, ...]  # the data primes' sizes, then the special prime's
    ciphertexts: int
    flood_bits: int

    def to_dict(self) -> dict:
        return {
            "slots": self.slots,
            "plain_modulus": str(self.plain_modulus),
            "coeff_bits": list(self.coeff_bits),
            "ciphertexts": self.ciphertexts,
            "flood_bits": self.flood_bits,
        }

    @property
    def data_primes(self) -> int:
        return len(self.coeff_bits) - 1

    @property
    def ciphertext_bytes(self) -> int:
        """Length of one serialised ciphertext (two polynomials at the data level)."""
        return _SERIAL_HEAD + 2 * self.data_primes * self.slots * 8

    @property
    def public_key_bytes(self) -> int:
        """Length of the serialised public key (two polynomials at the key level)."""
        return _SERIAL_HEAD + 2 * (self.data_primes + 1) * self.slots * 8

    def context(self):
        seal = _seal()
        parms = seal.EncryptionParameters(seal.scheme_type.bfv)
        parms.set_poly_modulus_degree(self.slots)
        parms.set_plain_modulus(seal.Modulus(self.plain_modulus))
        parms.set_coeff_modulus(seal.CoeffModulus.Create(self.slots, list(self.coeff_bits)))
        ctx = seal.SEALContext(parms, True, seal.sec_level_type.tc128)
        if not ctx.parameters_set():
            raise RuntimeError(f"SEAL refused the parameters: {ctx.parameter_error_message()}")
        return ctx


def _seal():
    import seal  # noqa: PLC0415 - loaded only for an intersection-sum

    return seal


def _noise_bound(plan_t: int, ciphertexts: int, n: int = SLOTS) -> int:
    """Twice the worst-case size of the decryption noise of O's sum before flooding (an integer).

    In units where c0 + c1*s = (q/t)(m + t*k) + e: V's fresh symmetric encryption has |e| <= 21 +
    1/2; a product with a plaintext whose coefficients SEAL centres in (-t/2, t/2] gives at most
    N * t/2 times that; K of them add up; adding R rounds by 1/2; a fresh public-key encryption of
    zero, switched down from the key level, adds at most (2N + 1) * 21 + N + 2.
    """
    return ciphertexts * n * plan_t * (2 * _ERROR + 1) + 1 + 2 * ((2 * n + 1) * _ERROR + n + 2)


def plan_sum(study, n_values: int) -> BfvPlan:
    """The parameters for V's `n_values` values under the study's bounds (both holders agree)."""
    check_sum_range(study, n_values)
    seal = _seal()
    need = 2 * _bound(study, n_values) + 1  # t must exceed 2 * |sum|
    t = _batching_prime(max(need.bit_length(), 20))
    ciphertexts = max(1, -(-n_values // SLOTS))
    twice_noise = _noise_bound(t, ciphertexts)
    flood_bits = (SLOTS * twice_noise).bit_length() + FLOOD_SECURITY  # 2^f >= 2^40 * N * bound
    # decryption is right while t * 2 * (noise + flood) < q; primes of b bits exceed 2^(b-1)
    data_bits = (t * (twice_noise + (2 << flood_bits))).bit_length() + 1
    primes = -(-data_bits // (MAX_PLAIN_BITS - 1))
    bits = -(-data_bits // primes) + 1
    coeff_bits = (bits,) * primes + (_SPECIAL_BITS,)
    if sum(coeff_bits) > seal.CoeffModulus.MaxBitCount(SLOTS, seal.sec_level_type.tc128):
        raise SchemaError(
            f"The two-party sum over {n_values:,} values needs a larger ring than this scheme uses; "
            "split the value holder's file or use technique 'helper'."
        )
    return BfvPlan(SLOTS, t, coeff_bits, ciphertexts, flood_bits)


def _batching_prime(bits: int) -> int:
    """The smallest prime above 2^bits that is 1 modulo 2N (so slots exist). SEAL's own choice is
    the largest below 2^bits, the same rule as for the ciphertext primes, which could then
    collide with one of them."""
    seal = _seal()
    step = 2 * SLOTS
    candidate = (1 << bits) + 1
    while not seal.Modulus(candidate).is_prime():
        candidate += step
    return candidate


def _primes(ctx) -> list[int]:
    return [m.value() for m in ctx.first_context_data().parms().coeff_modulus()]


def _check_plan(plan: BfvPlan, ctx) -> None:
    q = math.prod(_primes(ctx))
    if (
        plan.plain_modulus * (_noise_bound(plan.plain_modulus, plan.ciphertexts) + (2 << plan.flood_bits))
        >= q
    ):
        raise RuntimeError("the ciphertext modulus leaves no room for the flooding noise")


class ValueHolderKeys:
    """V's side: a fresh key pair for one run; encrypts the values and reads the total back."""

    def __init__(self, plan: BfvPlan) -> None:
        seal = _seal()
        self.plan = plan
        self._ctx = plan.context()
        _check_plan(plan, self._ctx)
        keys = seal.KeyGenerator(self._ctx)
        self._secret = keys.secret_key()
        self.public_key = keys.create_public_key().to_string()
        self._encoder = seal.BatchEncoder(self._ctx)
        self._encryptor = seal.Encryptor(self._ctx, self._secret)
        self._decryptor = seal.Decryptor(self._ctx, self._secret)

    def encrypt(self, values: np.ndarray) -> list[bytes]:
        """The values (int64, |v| < t/2), N to a ciphertext, zero-padded, in the order given."""
        out = []
        for k in range(self.plan.ciphertexts):
            chunk = np.ascontiguousarray(values[k * SLOTS : (k + 1) * SLOTS], dtype=np.int64)
            plain = self._encoder.encode(chunk)
            out.append(self._encryptor.encrypt_symmetric(plain).to_string())
        return out

    def _load(self, blob: bytes):
        seal = _seal()
        ct = seal.Ciphertext()
        try:
            ct.load_bytes(self._ctx, blob)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise ValueError("the reply does not load under the plan's parameters") from exc
        if ct.size() != 2:
            raise ValueError("the reply is not a two-polynomial ciphertext")
        return ct

    def noise_budget(self, blob: bytes) -> int:
        """Bits of noise budget left in a reply (SEAL's measure): 0 means it would decrypt wrongly."""
        return self._decryptor.invariant_noise_budget(self._load(blob))

    def slots(self, blob: bytes) -> np.ndarray:
        """The decrypted slots of a reply, each modulo t (uniform given their total)."""
        ct = self._load(blob)
        if self._decryptor.invariant_noise_budget(ct) <= 0:
            raise ValueError("the reply's noise exceeds what decrypts correctly")
        return np.mod(self._encoder.decode(self._decryptor.decrypt(ct)), self.plan.plain_modulus)

    def slots_total(self, blob: bytes) -> int:
        """The sum of the decrypted slots modulo t (S, or S + r when O masked it)."""
        return sum(int(v) for v in self.slots(blob)) % self.plan.plain_modulus


def read_total(residue: int, t: int) -> int:
    """The signed integer whose residue modulo t this is (|sum| < t/2 by the plan)."""
    residue %= t
    return residue - t if residue > t // 2 else residue


def _uniform_mod(t: int, size: int) -> np.ndarray:
    """`size` integers uniform in [0, t) from the OS's CSPRNG (rejection, no modulo bias)."""
    bits = t.bit_length()
    out = np.empty(0, dtype=np.uint64)
    while len(out) < size:
        draw = np.frombuffer(secrets.token_bytes(8 * 2 * size), dtype=np.uint64) >> np.uint64(64 - bits)
        out = np.concatenate([out, draw[draw < np.uint64(t)]])
    return out[:size]


def masked_sum(plan: BfvPlan, public_key: bytes, cts: list[bytes], mask: np.ndarray, target: int) -> bytes:
    """O's side: Enc(sum of the masked slots), sanitised; its slots sum to S + target modulo t.

    `mask` is O's 0/1 intersection mask over V's values in the order V sent them. Raises
    ValueError when a key or ciphertext is malformed or for other parameters than the plan's.
    """
    seal = _seal()
    ctx = plan.context()
    _check_plan(plan, ctx)
    if len(cts) != plan.ciphertexts:
        raise ValueError("another number of ciphertexts than the plan's")
    try:
        pk = ctx.from_public_str(public_key)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ValueError("the public key does not load under the plan's parameters") from exc
    if list(pk.parms_id()) != list(ctx.key_context_data().parms_id()):
        raise ValueError("the public key is for other parameters")
    encoder, evaluator = seal.BatchEncoder(ctx), seal.Evaluator(ctx)
    first = list(ctx.first_parms_id())
    mask = np.asarray(mask, dtype=np.int64)
    acc = None
    for k, blob in enumerate(cts):
        ct = seal.Ciphertext()
        try:
            ct.load_bytes(ctx, blob)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise ValueError(f"ciphertext {k + 1} does not load under the plan's parameters") from exc
        if ct.size() != 2 or list(ct.parms_id()) != first or ct.is_ntt_form():
            raise ValueError(f"ciphertext {k + 1} is not a fresh BFV ciphertext of the plan")
        chunk = np.zeros(SLOTS, dtype=np.int64)
        part = mask[k * SLOTS : (k + 1) * SLOTS]
        chunk[: len(part)] = part
        if not chunk.any():
            continue
        evaluator.multiply_plain_inplace(ct, encoder.encode(chunk))
        acc = ct if acc is None else evaluator.add(acc, ct)
    if acc is None:  # nothing matched: still answer with a sanitised encryption, of zero
        acc = seal.Encryptor(ctx, pk).encrypt_zero()
    t = plan.plain_modulus
    shift = _uniform_mod(t, SLOTS)  # (a) R, its slots summing to `target` modulo t
    shift[-1] = (target - int(shift[:-1].astype(object).sum())) % t
    evaluator.add_plain_inplace(acc, encoder.encode(shift.astype(np.uint64)))
    evaluator.add_inplace(acc, seal.Encryptor(ctx, pk).encrypt_zero())  # (b) re-randomise c1
    return _flood(acc.to_string(), _primes(ctx), plan.flood_bits)  # (c)


def _flood(blob: bytes, primes: list[int], flood_bits: int) -> bytes:
    """Add a polynomial with coefficients uniform in [-2^f, 2^f) to c0 of a serialised ciphertext.

    SEAL's uncompressed layout ends with the coefficients, polynomial by polynomial, prime by
    prime, N 64-bit words each; the result is loaded again by V, and SEAL checks every word.
    """
    k = len(primes)
    if len(blob) != _SERIAL_HEAD + 2 * k * SLOTS * 8:
        raise RuntimeError("unexpected SEAL ciphertext layout")
    words = np.frombuffer(blob, dtype="<u8", offset=_SERIAL_HEAD).reshape(2, k, SLOTS).copy()
    half = 1 << flood_bits
    noise = [secrets.randbits(flood_bits + 1) - half for _ in range(SLOTS)]
    for j, q in enumerate(primes):
        residues = np.array([e % q for e in noise], dtype=np.uint64)
        words[0, j] = (words[0, j] + residues) % np.uint64(q)  # both below 2^60: no overflow
    return blob[:_SERIAL_HEAD] + words.tobytes()
