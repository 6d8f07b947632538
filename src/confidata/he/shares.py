"""Shamir secret sharing over Z_P: how a data holder's vector is split among the key holders.

Key holder i (1-based position in the study's [[party]] list) gets the evaluation at x = i of a
random polynomial of degree t - 1 whose constant term is the secret. Any t shares give the
secret back by Lagrange interpolation at 0; any t - 1 shares are uniformly distributed whatever
the secret (Shamir 1979), which is why one key holder's decrypted share says nothing. Sharing is
linear, so shares summed under encryption are shares of the sum. Randomness comes from the
operating system (``secrets``), never from a seeded generator: a seed would let anyone recompute
the polynomials.
"""

from __future__ import annotations

import secrets

from confidata.errors import ConfidataError

__all__ = ["lagrange_at_zero", "reconstruct", "share_vector"]


def share_vector(values: list[int], xs: list[int], threshold: int, prime: int) -> dict[int, list[int]]:
    """Shares of every value (signed ints, reduced mod P) for each x in xs: {x: [share, ...]}."""
    out: dict[int, list[int]] = {x: [] for x in xs}
    for v in values:
        coefficients = [v % prime] + [secrets.randbelow(prime) for _ in range(threshold - 1)]
        for x in xs:
            acc = 0
            for c in reversed(coefficients):  # Horner
                acc = (acc * x + c) % prime
            out[x].append(acc)
    return out


def lagrange_at_zero(xs: list[int], prime: int) -> list[int]:
    """Coefficients l_j with f(0) = sum l_j f(x_j) mod P for any polynomial of degree < len(xs)."""
    if len(set(xs)) != len(xs) or any(x % prime == 0 for x in xs):
        raise ConfidataError("Shamir reconstruction needs distinct non-zero share positions.")
    out = []
    for j, xj in enumerate(xs):
        num, den = 1, 1
        for m, xm in enumerate(xs):
            if m != j:
                num = num * (-xm) % prime
                den = den * (xj - xm) % prime
        out.append(num * pow(den, -1, prime) % prime)
    return out


def _combine(shares: dict[int, list[int]], xs: list[int], prime: int) -> list[int]:
    coefficients = lagrange_at_zero(xs, prime)
    length = len(shares[xs[0]])
    return [
        sum(c * shares[x][k] for c, x in zip(coefficients, xs, strict=True)) % prime for k in range(length)
    ]


def reconstruct(
    shares: dict[int, list[int]], prime: int, bound: int, threshold: int | None = None
) -> list[int]:
    """The secrets from shares at len(shares) >= t positions, as signed ints in [-bound, bound].

    With more than t shares, the secret from the first t must equal the one from all of them
    (shares of a degree t - 1 polynomial agree): a key holder that decrypted another aggregate or
    sent altered shares is caught instead of moving the result. A value outside the bound is
    refused too, rather than returned as a wrong number.
    """
    xs = sorted(shares)
    values = _combine(shares, xs, prime)
    if threshold is not None and len(xs) > threshold and _combine(shares, xs[:threshold], prime) != values:
        raise ConfidataError(
            "The key holders' decrypted shares disagree (they do not lie on one polynomial of the "
            "threshold's degree): one of them decrypted another aggregate or altered its shares. "
            "Nothing is released."
        )
    out = []
    for v in values:
        if v > prime // 2:
            v -= prime
        if abs(v) > bound:
            raise ConfidataError(
                "The decrypted shares do not combine to a value within the study's bounds: the key "
                "holders did not decrypt the same aggregate under the same key. Nothing is released."
            )
        out.append(v)
    return out
