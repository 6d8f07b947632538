"""Benchmark: the homomorphic part of the two-party intersection-sum alone, BFV against Paillier.

    .venv/bin/python bench/psi_sum_bench.py [--sizes 10000 100000 1000000] [--paillier 300]
    .venv/bin/python bench/psi_sum_bench.py --e2e 1000000

`psi_bench.py` times whole runs, where the Diffie-Hellman part dominates; this times only what
the sum adds, in one process, for the value holder V (key generation, encrypting its values,
decrypting the reply) and the other holder O (checking and loading V's ciphertexts, the masked
sum, re-randomising and flooding): `secure/psi_sum_bfv.py`, half of the values in the
intersection, bounds [0, 500000] as in the demo. The same steps with TNO's 2048-bit Paillier
(what the sum used before: one encryption per value) run on a few hundred values, and their
per-value cost is scaled to the same sizes. Prints a Markdown table; the load average is in each
row, since other programs share the machine.

With --e2e, whole runs instead (`psi_bench.one`: real processes over TLS, 50% overlap), the
size-only intersection and then the sum on the same sizes, each with the CPU seconds its
processes used (user + system, from the operating system's account of finished children): on a
machine shared with other jobs the wall time grows with the load, the CPU seconds do not.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import types
import warnings

import numpy as np

from confidata.secure.psi_sum_bfv import ValueHolderKeys, masked_sum, plan_sum, read_total

BOUNDS = types.SimpleNamespace(value_min=0, value_max=500_000, value="income")


def bfv(n: int, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 500_001, n)
    mask = rng.random(n) < 0.5
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    plan = plan_sum(BOUNDS, n)
    keys = ValueHolderKeys(plan)
    t1 = time.perf_counter()
    cts = keys.encrypt(values)
    t2 = time.perf_counter()
    reply = masked_sum(plan, keys.public_key, cts, mask, 0)
    t3 = time.perf_counter()
    total = read_total(keys.slots_total(reply), plan.plain_modulus)
    t4 = time.perf_counter()
    sent = len(keys.public_key) + sum(len(c) for c in cts)
    return {
        "n": n,
        "v_seconds": (t1 - t0) + (t2 - t1) + (t4 - t3),
        "o_seconds": t3 - t2,
        "bytes_v": sent,
        "bytes_o": len(reply),
        "exact": total == int(values[mask].sum()),
        "plan": f"t {plan.plain_modulus.bit_length()} bits, q {sum(plan.coeff_bits[:-1])} bits, "
        f"{plan.ciphertexts} ct",
        "load": (load, os.getloadavg()[0]),
    }


def paillier(n: int, seed: int = 1) -> dict:
    """TNO Paillier, 2048 bits, as the sum used before: per-value cost on `n` values."""
    warnings.filterwarnings("ignore", module=r"tno\.mpc\.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tno.mpc.encryption_schemes.paillier import Paillier  # noqa: PLC0415 - peer of the bench

        rng = np.random.default_rng(seed)
        values = rng.integers(0, 500_001, n)
        mask = rng.random(n) < 0.5
        load = os.getloadavg()[0]
        scheme = Paillier.from_security_parameter(key_length=2048)
        t0 = time.perf_counter()
        cts = [scheme.encrypt(int(v)) for v in values]
        t1 = time.perf_counter()
        total = scheme.encrypt(0)
        for c, keep in zip(cts, mask, strict=True):
            if keep:
                total = total + c
        t2 = time.perf_counter()
        ok = int(scheme.decrypt(total)) == int(values[mask].sum())
    return {
        "n": n,
        "v_per_value": (t1 - t0) / n,
        "o_per_value": (t2 - t1) / n,
        "exact": ok,
        "load": (load, os.getloadavg()[0]),
    }


def end_to_end(sizes: list[int], statistics: tuple[str, ...]) -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import psi_bench  # noqa: PLC0415 - the whole-run harness beside this file

    print(
        "| records per holder | statistic | wall s | nso s | register s | CPU s (all processes) | "
        "bytes nso | bytes register | rounds | = plain | load avg before/after |"
    )
    print("|---:|:---|---:|---:|---:|---:|---:|---:|---:|:---:|:---|")
    for n in sizes:
        for statistic in statistics:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            r = psi_bench.one(n, "ecdh", statistic)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            s, b = r["seconds"], r["bytes"]
            print(
                f"| {n:,} | {statistic} | {r['wall']:.1f} | {s['nso']:.1f} | {s['register']:.1f} | "
                f"{cpu:.1f} | "
                f"{b['nso']:,} | {b['register']:,} | {r['rounds']} | {'yes' if r['same'] else 'NO'} | "
                f"{r['load'][0]:.1f} / {r['load'][1]:.1f} |",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--paillier", type=int, default=300, help="values to time Paillier on")
    ap.add_argument("--e2e", nargs="+", type=int, help="whole runs at these sizes instead")
    ap.add_argument("--sum-only", action="store_true", help="with --e2e: no size-only baseline")
    args = ap.parse_args()
    if args.e2e:
        baseline = () if args.sum_only else ("intersection_size",)
        end_to_end(args.e2e, (*baseline, "intersection_sum"))
        return
    pai = paillier(args.paillier) if args.paillier else None
    print(
        "| values (V) | BFV plan | V s | O s | bytes V to O | bytes O to V | exact | "
        "Paillier V+O s (scaled) | ratio | load avg before/after |"
    )
    print("|---:|:---|---:|---:|---:|---:|:---:|---:|---:|:---|")
    for n in args.sizes:
        r = bfv(n)
        both = r["v_seconds"] + r["o_seconds"]
        old = (pai["v_per_value"] + pai["o_per_value"]) * n if pai else float("nan")
        print(
            f"| {n:,} | {r['plan']} | {r['v_seconds']:.2f} | {r['o_seconds']:.2f} | {r['bytes_v']:,} | "
            f"{r['bytes_o']:,} | {'yes' if r['exact'] else 'NO'} | {old:,.0f} | {old / both:,.0f}x | "
            f"{r['load'][0]:.1f} / {r['load'][1]:.1f} |",
            flush=True,
        )
    if pai:
        print(
            f"\nPaillier on {pai['n']} values: V {pai['v_per_value'] * 1e3:.1f} ms and O "
            f"{pai['o_per_value'] * 1e3:.2f} ms per value, exact: {'yes' if pai['exact'] else 'NO'}, "
            f"load {pai['load'][0]:.1f} / {pai['load'][1]:.1f}."
        )


if __name__ == "__main__":
    main()
