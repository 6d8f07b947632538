"""Hardening: transformations of the Bloom filters that defeat known attacks on them.

Plain Bloom-filter encodings leak: a bit set by the q-gram "an" is set in most records, so an
attacker with a public name list aligns frequent bit patterns with frequent q-grams and
re-identifies encodings (Christen, Schnell, Vatsalan, Ranbaduge 2017; Vidanage et al. 2020).
Each step here counters one such attack, at some cost in linkage quality; steps combine and are
applied in the order given (salting acts while hashing, before every other step):

- ``salt(FIELD)``: the tokens of every other field are hashed together with this record's value
  of FIELD (for a date field, its year): "smith" born in 1950 and "smith" born in 1980 set
  different bits. Counters frequency alignment of a q-gram's bits across the whole file (the
  frequent "smith" pattern splits into many rare ones). Cost: records whose salt differs (a
  typo in the year) cannot match. (Niedermeyer et al. 2014; Christen et al. 2018.)
- ``rule90``: each bit becomes the XOR of its two neighbours (cyclic), the elementary cellular
  automaton rule 90 (Schnell and Borgs 2016). Counters pattern mining that reads one q-gram's
  bits at fixed positions: every output bit depends on two inputs.
- ``diffusion``: Armknecht, Heng and Schnell's diffusion layer (PoPETs 2023): each output bit is
  the XOR of ``taps`` input bits chosen with the key. Counters pattern-mining and frequency
  attacks (no output bit belongs to one q-gram); similar filters stay similar.
- ``xor``: XOR folding, the filter's two halves XORed into one of half the length (Schnell,
  Borgs, Encarnacao 2016). Counters attacks that read q-grams from single bit positions: each
  output bit mixes two positions.
- ``balance``: append the complement of every bit, then permute with the key (Berger and
  Schnell's balanced Bloom filters). Every encoding then has exactly half its bits set, which
  counters attacks on the number of set bits (the length of names) and on frequent patterns of
  set bits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from confidata.pprl.errors import LinkageError
from confidata.pprl.keys import SecretKey

__all__ = ["STEPS", "HardeningStep", "apply_hardening", "output_bits", "parse_hardening"]

STEPS = ("salt", "rule90", "diffusion", "xor", "balance")
DIFFUSION_TAPS = 3
_CHUNK = 65_536
_STEP = re.compile(r"^(?P<name>[a-z0-9]+)\s*(?:\((?P<arg>[^)]*)\))?$")


@dataclass(frozen=True)
class HardeningStep:
    """One hardening step; `arg` is the salt field, or the diffusion taps."""

    name: str
    arg: str | None = None

    def public(self) -> dict:
        return {"name": self.name, "arg": self.arg}


def parse_hardening(text: str | None) -> tuple[HardeningStep, ...]:
    """Read ``"salt(dob),balance,xor"`` (empty or "none": no hardening)."""
    if text is None or text.strip().lower() in ("", "none"):
        return ()
    steps = []
    for entry in (e.strip() for e in text.split(",")):
        match = _STEP.match(entry)
        if not match or match["name"] not in STEPS:
            raise LinkageError(
                f"Unknown hardening step '{match['name'] if match else entry}'; use any of "
                f"{', '.join(STEPS)} (salt takes a field: salt(dob)), comma-separated."
            )
        name, arg = match["name"], (match["arg"] or "").strip() or None
        if name == "salt" and arg is None:
            raise LinkageError("Hardening 'salt' needs the field to salt by, e.g. salt(dob).")
        if name == "diffusion":
            arg = arg or str(DIFFUSION_TAPS)
            if not arg.isdigit() or not 2 <= int(arg) <= 16:
                raise LinkageError("Hardening 'diffusion(T)' takes 2 to 16 taps per output bit.")
        if name not in ("salt", "diffusion") and arg is not None:
            raise LinkageError(f"Hardening '{name}' takes no argument.")
        if any(s.name == name for s in steps):
            raise LinkageError(f"Hardening '{name}' is listed twice; list each step once.")
        steps.append(HardeningStep(name, arg))
    return tuple(steps)


def output_bits(bits: int, steps: tuple[HardeningStep, ...]) -> int:
    """The filter length after the steps (xor halves it, balance doubles it)."""
    for step in steps:
        if step.name == "xor":
            if bits % 128:
                raise LinkageError(f"XOR folding needs a filter length divisible by 128; got {bits}.")
            bits //= 2
        elif step.name == "balance":
            bits *= 2
    return bits


def apply_hardening(words: np.ndarray, steps: tuple[HardeningStep, ...], key: SecretKey) -> np.ndarray:
    """Apply the steps (salting excepted: it acts while hashing) to packed filters, in order."""
    for step in steps:
        if step.name == "rule90":
            words = _rule90(words)
        elif step.name == "diffusion":
            words = _diffusion(words, int(step.arg), key)
        elif step.name == "xor":
            half = words.shape[1] // 2
            words = words[:, :half] ^ words[:, half:]
        elif step.name == "balance":
            words = _balance(words, key)
    return np.ascontiguousarray(words)


def _rule90(words: np.ndarray) -> np.ndarray:
    """Bit j becomes bit j-1 XOR bit j+1, cyclically over the whole filter."""
    left_carry = np.roll(words, 1, axis=1) >> np.uint64(63)  # bit j-1 for j = 0 of each word
    right_carry = np.roll(words, -1, axis=1) << np.uint64(63)  # bit j+1 for j = 63
    previous = (words << np.uint64(1)) | left_carry
    following = (words >> np.uint64(1)) | right_carry
    return previous ^ following


def _unpack(chunk: np.ndarray) -> np.ndarray:
    return np.unpackbits(chunk.view(np.uint8), axis=1, bitorder="little")


def _pack(bits: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.packbits(bits, axis=1, bitorder="little")).view(np.uint64)


def _diffusion(words: np.ndarray, taps: int, key: SecretKey) -> np.ndarray:
    """Each output bit is the XOR of `taps` distinct input bits chosen with the key."""
    length = words.shape[1] * 64
    rng = key.rng(f"diffusion/{taps}")
    choice = np.stack([rng.permutation(length) for _ in range(taps)], axis=1)
    out = np.empty_like(words)
    for start in range(0, len(words), _CHUNK):
        bits = _unpack(np.ascontiguousarray(words[start:start + _CHUNK]))
        mixed = bits[:, choice[:, 0]]
        for t in range(1, taps):
            mixed ^= bits[:, choice[:, t]]
        out[start:start + _CHUNK] = _pack(mixed)
    return out


def _balance(words: np.ndarray, key: SecretKey) -> np.ndarray:
    """Append the complement bits and permute all of them with the key."""
    length = words.shape[1] * 64
    order = key.rng(f"balance/{length}").permutation(2 * length)
    out = np.empty((len(words), words.shape[1] * 2), dtype=np.uint64)
    for start in range(0, len(words), _CHUNK):
        bits = _unpack(np.ascontiguousarray(words[start:start + _CHUNK]))
        both = np.concatenate([bits, 1 - bits], axis=1)
        out[start:start + _CHUNK] = _pack(both[:, order])
    return out
