"""What the MPyC parties send each other, encoded without pickle.

MPyC 0.11 pickles two kinds of payload (``mpyc/runtime.py``): the share vectors of
``input``/``output``/``_reshare`` on NumPy arrays, and the Python objects of ``transfer``.
Unpickling a peer's bytes would let a malicious peer run code in our process, so the engine
(`engine.py`) replaces both encoders with the two below; nothing received is ever unpickled or
evaluated.

* **Shares** are 1-D vectors of integers (field elements, Python ints in an object array, or a
  fixed-width integer dtype). Encoded as ``b"S"``, a dtype code, a sign flag, the number of
  64-bit limbs per element and the element count, then the limbs little-endian. The receiver
  checks that count x limbs x 8 equals the bytes that follow *before* it builds anything, so a
  payload cannot make it allocate more than it already received; any other shape or type is
  refused (`MalformedPayload`).
* **Plain data** (``transfer``: the study check, counts, a party's pid at shutdown) is JSON
  behind ``b"P"``, with tuples, bytes, dicts and 1-D numeric arrays tagged so that they come back
  as what was sent (arrays as int64, uint64, float64 or bool). JSON decoding builds only
  str/int/float/list/dict/None.

The engine also bounds every MPyC frame by `max_frame_bytes` before the frame is buffered.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np

from confidata.errors import ConfidataError

__all__ = [
    "MalformedPayload",
    "decode_plain",
    "decode_shares",
    "encode_plain",
    "encode_shares",
    "max_frame_bytes",
]

_SHARES = b"S"
_PLAIN = b"P"
_HEAD = 1 + 1 + 1 + 2 + 8  # kind, dtype code, signed, limbs (u16), count (u64)
_OBJECT, _INT64, _UINT64 = 0, 1, 2
_MASK = (1 << 64) - 1
_KINDS = {"b": np.bool_, "i": np.int64, "u": np.uint64, "f": np.float64}
MPYC_FRAME_MAX = (1 << 32) - 1  # MPyC's frame header gives the payload size in 4 bytes


class MalformedPayload(ConfidataError, ValueError):
    """A peer's payload is not what MPyC parties exchange (shares or plain data)."""


def max_frame_bytes(study) -> int:
    """The largest MPyC frame this study's parties may send, known to every party up front.

    A party sends at most one field element (64 bytes covers a 512-bit prime) per record and per
    column of 16 public levels, or per cell and stacked row of a table; 1 MiB covers the study
    check and the counts. A frame announcing more is refused before it is read. A study keeping
    the default ``max_records`` (10 million) reaches the 4 GiB MPyC's header can carry.
    """
    cells = max(1, getattr(study, "n_cells", 1))
    return min(MPYC_FRAME_MAX, (1 << 20) + 64 * 16 * max(study.max_records, 64 * cells))


# -- shares -------------------------------------------------------------------------------------


def encode_shares(x: Any) -> bytes:
    """A 1-D integer vector as bytes (what MPyC sends in place of ``pickle.dumps``)."""
    if not isinstance(x, np.ndarray) or x.ndim != 1:
        raise TypeError("MPyC shares must be a 1-D NumPy array (the engine's wire format)")
    n = len(x)
    if x.dtype == object:
        if not all(type(v) is int for v in x):  # a bug on this side, never a peer's data
            raise TypeError("MPyC shares must hold Python ints")
        signed = bool(n) and bool((x < 0).any())
        top = int(max(abs(int(x.max())), abs(int(x.min())))) if n else 0
        limbs = max(1, (top.bit_length() + (1 if signed else 0) + 63) // 64)
        v = x % (1 << (64 * limbs)) if signed else x
        words = np.empty((n, limbs), dtype="<u8")
        for k in range(limbs):
            words[:, k] = ((v >> (64 * k)) & _MASK).astype(np.uint64)
        code, body = _OBJECT, words.tobytes()
    elif x.dtype.kind in "iu" and x.dtype.itemsize <= 8:
        signed, limbs = x.dtype.kind == "i", 1
        code = _INT64 if signed else _UINT64
        body = x.astype("<i8" if signed else "<u8", copy=False).tobytes()
    else:
        raise TypeError(f"MPyC shares of dtype {x.dtype} have no wire format")
    head = _SHARES + bytes([code, int(signed)]) + limbs.to_bytes(2, "little") + n.to_bytes(8, "little")
    return head + body


def decode_shares(data: bytes) -> np.ndarray:
    """The vector `encode_shares` made; `MalformedPayload` for anything else, before allocating."""
    if len(data) < _HEAD or data[:1] != _SHARES:
        raise MalformedPayload("not a share vector")
    code, signed = data[1], data[2]
    limbs = int.from_bytes(data[3:5], "little")
    n = int.from_bytes(data[5:13], "little")
    if code not in (_OBJECT, _INT64, _UINT64) or signed > 1 or not 1 <= limbs <= 64:
        raise MalformedPayload("unknown share encoding")
    if (code != _OBJECT and limbs != 1) or n * limbs * 8 != len(data) - _HEAD:
        raise MalformedPayload("share count does not match the payload's length")
    if code != _OBJECT:
        return np.frombuffer(data, dtype="<i8" if code == _INT64 else "<u8", offset=_HEAD).copy()
    words = np.frombuffer(data, dtype="<u8", offset=_HEAD).reshape(n, limbs)
    out = words[:, limbs - 1].astype(object)
    for k in range(limbs - 2, -1, -1):
        out = (out << 64) | words[:, k].astype(object)
    if signed:
        half, full = 1 << (64 * limbs - 1), 1 << (64 * limbs)
        out = np.where(out >= half, out - full, out)
    return out


# -- plain data ---------------------------------------------------------------------------------


def _tag(obj: Any, depth: int = 0) -> Any:
    if depth > 16:
        raise TypeError("plain data nested deeper than 16 levels")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, list):
        return [_tag(v, depth + 1) for v in obj]
    if isinstance(obj, tuple):
        return {"t": [_tag(v, depth + 1) for v in obj]}
    if isinstance(obj, (bytes, bytearray)):
        return {"b": base64.b64encode(bytes(obj)).decode("ascii")}
    if isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
        return {"d": [[k, _tag(v, depth + 1)] for k, v in obj.items()]}
    if isinstance(obj, np.ndarray) and obj.dtype.kind in "biuf":
        return {"a": obj.dtype.kind, "s": list(obj.shape), "v": obj.reshape(-1).tolist()}
    raise TypeError(
        f"the engine sends plain data only (None, bool, int, float, str, bytes, tuple, list, dict "
        f"with str keys, numeric arrays); got {type(obj).__name__}"
    )


def _untag(obj: dict) -> Any:
    if len(obj) == 1 and "t" in obj and isinstance(obj["t"], list):
        return tuple(obj["t"])
    if len(obj) == 1 and "b" in obj and isinstance(obj["b"], str):
        return base64.b64decode(obj["b"], validate=True)
    if len(obj) == 1 and "d" in obj and isinstance(obj["d"], list):
        pairs = obj["d"]
        if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
            raise MalformedPayload("a mapping that is not a list of (name, value) pairs")
        return dict(pairs)
    if len(obj) == 3 and obj.get("a") in _KINDS and isinstance(obj.get("v"), list):
        values, shape = obj["v"], obj.get("s")
        if not all(type(v) in (int, float, bool) for v in values):
            raise MalformedPayload("array of something else than numbers")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise MalformedPayload("array without a valid shape")
        if math.prod(shape) != len(values):
            raise MalformedPayload("array whose shape does not match its values")
        return np.array(values, dtype=_KINDS[obj["a"]]).reshape(shape)
    raise MalformedPayload("unknown tag in plain data")


def encode_plain(obj: Any) -> bytes:
    """Plain data as tagged JSON (what `Engine`'s transfer sends in place of ``pickle.dumps``)."""
    return _PLAIN + json.dumps(_tag(obj), separators=(",", ":"), allow_nan=True).encode("utf-8")


def decode_plain(data: bytes) -> Any:
    """The object `encode_plain` made; `MalformedPayload` for anything else."""
    if data[:1] != _PLAIN:
        raise MalformedPayload("not plain data")
    try:
        return json.loads(bytes(data[1:]).decode("utf-8"), object_hook=_untag)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        if isinstance(exc, MalformedPayload):
            raise
        raise MalformedPayload("plain data that is not tagged JSON") from None
