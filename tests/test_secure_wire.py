"""What MPyC parties send each other (secure/mpyc_wire.py): share vectors and plain data round
trip exactly, nothing is unpickled, and a malformed or oversize payload is refused before
anything is built from it. No processes here; the end-to-end refusals are in
test_secure_parties.py (a faulty party process naming itself in the others' errors).
"""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from confidata.secure import parse_study
from confidata.secure.mpyc_wire import (
    MPYC_FRAME_MAX,
    MalformedPayload,
    decode_plain,
    decode_shares,
    encode_plain,
    encode_shares,
    max_frame_bytes,
)


def test_share_vectors_of_field_elements_round_trip_exactly():
    rng = np.random.default_rng(4)
    p = 2**127 - 1  # a Mersenne prime of the size MPyC picks for secure fixed point
    big = np.array(
        [int(a) * 2**64 + int(b) for a, b in zip(*rng.integers(0, 2**63, (2, 500)), strict=True)],
        dtype=object,
    )
    for x in (
        big % p,
        np.array([0, 1, p - 1], dtype=object),
        np.array([-5, 3, -(2**200), 2**200], dtype=object),  # signed, several limbs
        np.zeros(0, dtype=object),
        rng.integers(-(2**62), 2**62, 100),
        rng.integers(0, 2**63, 10).astype(np.uint64),
    ):
        y = decode_shares(encode_shares(x))
        assert y.dtype == (object if x.dtype == object else x.dtype.newbyteorder("<"))
        assert len(y) == len(x) and all(int(a) == int(b) for a, b in zip(x, y, strict=True))


def test_plain_data_comes_back_as_sent_types_included():
    sent = (
        ("a" * 64, "fingerprint", "ok"),
        [1, -(2**80), 2.5, None, True],
        {"bytes": b"\x00\xff", "nested": (1, [2, (3,)])},
        np.array([1, 2, 3], dtype=np.int64),
        np.arange(6, dtype=np.float64).reshape(2, 3),
    )
    got = decode_plain(encode_plain(sent))
    assert isinstance(got, tuple) and isinstance(got[0], tuple) and isinstance(got[2]["nested"][1][1], tuple)
    assert got[:3] == sent[:3]
    assert got[3].dtype == np.int64 and got[3].tolist() == [1, 2, 3]
    assert got[4].shape == (2, 3) and got[4].dtype == np.float64 and (got[4] == sent[4]).all()
    with pytest.raises(TypeError, match="plain data only"):
        encode_plain({1: "not a str key"})
    with pytest.raises(TypeError, match="1-D"):
        encode_shares(np.zeros((2, 3), dtype=object))


class _Boom:
    """A pickle that creates a folder when unpickled: what a malicious peer could send MPyC."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_a_pickle_is_refused_and_never_run(tmp_path):
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_Boom(str(control))))  # the positive control: unpickling runs it
    assert control.is_dir()
    target = tmp_path / "ran"
    evil = pickle.dumps(_Boom(str(target)))
    for decode in (decode_shares, decode_plain):
        for payload in (evil, b"S" + evil, b"P" + evil):
            with pytest.raises(MalformedPayload):
                decode(payload)
    assert not target.exists()


def test_malformed_share_headers_are_refused_before_allocating():
    good = encode_shares(np.arange(10, dtype=np.int64))
    huge = good[:5] + (10**15).to_bytes(8, "little") + good[13:]  # a count no payload carries
    for bad in (huge, good[:-1], b"S", b"X" + good[1:], good[:1] + b"\x09" + good[2:], encode_plain(1)):
        with pytest.raises(MalformedPayload):
            decode_shares(bad)
    bad_shape = b'P{"a":"i","s":[1000000000],"v":[1]}'
    for bad in (b'P{"t": 1}', b'P{"zz": []}', b"P" + b"[" * 100_000, b"P\xff", good, bad_shape):
        with pytest.raises(MalformedPayload):
            decode_plain(bad)


def test_the_frame_limit_follows_the_study_and_mpycs_header():
    data = {
        "study": {"name": "s", "statistic": "count", "by": ["r"], "results": ["a"]},
        "levels": {"r": ["x", "y"]},
        "limits": {"max_records": 1000},
        "tls": {"enabled": False},
        "party": [{"name": n, "host": "127.0.0.1", "port": 20000 + i} for i, n in enumerate("abc")],
    }
    small = max_frame_bytes(parse_study(data))
    assert 2**20 < small < 2**20 + 64 * 16 * 1000 * 2
    data["limits"]["max_records"] = 10**9
    assert max_frame_bytes(parse_study(data)) == MPYC_FRAME_MAX
