"""The peers of bench/he_bench.py, run in bench/.venv-he (made by bench/setup_he_peers.sh).

    bench/.venv-he/bin/python bench/peers/he_peers_run.py --cells 100 --holders 1000 --records 1000

Prints one JSON document. For each peer: time and bytes for one holder's vector of `cells`
counts, the aggregator's sum over `holders` vectors (the same ciphertext vector added `holders`
times: the cost is the same as with distinct ones) and one decryption of the sum, by a single
key (neither peer has threshold decryption).

* python-paillier (phe, 2048-bit, gmpy2): one ciphertext per value. "cell-wise" encrypts the
  holder's `cells` counts one by one; "record-wise" encrypts every record's value (`records`
  ciphertexts per holder), extrapolated from the measured time per encryption.
* TenSEAL CKKS (poly modulus 8192, 4096 slots, scale 2**40): one ciphertext holds the whole
  vector; approximate arithmetic, so the decrypted sum is rounded and its largest error shown.
  Also 1,000,000 values encrypted (245 ciphertexts) for the issue's reference figure.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def paillier(cells: int, holders: int, records: int) -> dict:
    import phe  # noqa: PLC0415

    t0 = time.perf_counter()
    public, private = phe.paillier.generate_paillier_keypair(n_length=2048)
    keygen = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    vector = [int(v) for v in rng.integers(0, 20, cells)]
    t0 = time.perf_counter()
    cts = [public.encrypt(v) for v in vector]
    enc = time.perf_counter() - t0
    width = 2 * 2048 // 8
    t0 = time.perf_counter()
    total = list(cts)
    for _ in range(holders - 1):
        total = [a + b for a, b in zip(total, cts, strict=True)]
    agg = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = [private.decrypt(c) for c in total]
    dec = time.perf_counter() - t0
    assert out == [v * holders for v in vector]
    per = enc / cells
    return {
        "keygen_s": keygen,
        "encrypt_per_value_s": per,
        "cellwise": {"encrypt_s": enc, "bytes": cells * width},
        "recordwise": {"encrypt_s": per * records, "bytes": records * width, "extrapolated": True},
        "aggregate_s": agg,
        "decrypt_s": dec,
        "exact": True,
    }


def ckks(cells: int, holders: int) -> dict:
    import tenseal as ts  # noqa: PLC0415

    t0 = time.perf_counter()
    ctx = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=8192, coeff_mod_bit_sizes=[60, 40, 40, 60])
    ctx.global_scale = 2**40
    keygen = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    vector = rng.integers(0, 20, cells).astype(float)
    t0 = time.perf_counter()
    ct = ts.ckks_vector(ctx, vector.tolist())
    enc = time.perf_counter() - t0
    size = len(ct.serialize())
    t0 = time.perf_counter()
    total = ct.copy()
    for _ in range(holders - 1):
        total += ct
    agg = time.perf_counter() - t0
    t0 = time.perf_counter()
    got = np.array(total.decrypt())
    dec = time.perf_counter() - t0
    err = float(np.max(np.abs(got - vector * holders)))
    million = rng.integers(0, 20, 1_000_000).astype(float)
    slots = 4096
    t0 = time.perf_counter()
    blobs = [
        ts.ckks_vector(ctx, million[i : i + slots].tolist()).serialize()
        for i in range(0, len(million), slots)
    ]
    m_enc = time.perf_counter() - t0
    return {
        "keygen_s": keygen,
        "encrypt_s": enc,
        "bytes": size,
        "aggregate_s": agg,
        "decrypt_s": dec,
        "max_abs_error": err,
        "exact_after_rounding": bool(np.all(np.rint(got) == vector * holders)),
        "million": {"encrypt_s": m_enc, "bytes": sum(len(b) for b in blobs), "ciphertexts": len(blobs)},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=100)
    ap.add_argument("--holders", type=int, default=1000)
    ap.add_argument("--records", type=int, default=1000)
    a = ap.parse_args()
    print(json.dumps({"paillier": paillier(a.cells, a.holders, a.records), "ckks": ckks(a.cells, a.holders)}))


if __name__ == "__main__":
    main()
