"""Benchmark: the vertical table (issue 13) as three processes on this machine, beside MPyC used
record-wise (the naive baseline), and pandas in the clear.

    .venv/bin/python bench/vertical_bench.py [--records 1000000] [--delays 0,50]
        [--baseline 10000,100000] [--out bench/results/vertical_bench.json]

Ours: ``confidata secure party`` for the NSO (1.2 x records units, region), the register
(records units, income band) and the helper, over TLS, with every one of the register's units
also the NSO's (records linked records); a 10 x 10 count table with minimum cell size 5.
Latency is added in the transport (every message held back the given milliseconds), as in
secure_bench.py. Times: "secure" from all parties connected to the result (reading the files
excluded), "process" the slowest whole process (Python start and reading included).

Baseline: MPyC (``-M3``, no TLS) with the records given *already aligned* (the k-th record of
A and of B are candidates for the same unit), each holder secret-sharing a 40-bit identifier
and its one-hot level; the table is T = A^T (eq * B) with eq_k = [id_A,k == id_B,k] by MPyC's
secure equality, one secure matrix product. A real record-wise join must also align the
records, so this is a lower bound on its cost.

The machine is shared: the load average before and after each row is recorded; a time is an
upper bound of what the code needs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from confidata.secure.runner import free_ports, wait_parties
from confidata.secure.vertical_demo import demo_vertical_data, demo_vertical_study, start_vertical_parties

HERE = Path(__file__).resolve().parent

RECORDWISE = r"""
import sys, time
import numpy as np
from mpyc.runtime import mpc
delay, n = float(sys.argv[1]), int(sys.argv[2])
if delay:
    from mpyc import asyncoro
    def send(self, pc, payload):
        frame = pc.to_bytes(8, "little", signed=True) + len(payload).to_bytes(4, "little") + payload
        mpc._loop.call_later(delay, self.transport.write, frame)
        self.nbytes_sent += len(frame)
    asyncoro.MessageExchanger.send = send
    asyncoro.MessageExchanger.close_connection = lambda self: mpc._loop.call_later(
        delay + 0.01, self.transport.close)
async def main():
    await mpc.start()
    rng = np.random.default_rng(7)  # both holders' aligned records; only the sender's are used
    ida = rng.integers(0, 2**40, n)
    idb = np.where(rng.random(n) < 0.8, ida, rng.integers(0, 2**40, n))
    a, b = rng.integers(0, 10, n), rng.integers(0, 10, n)
    oa, ob = np.eye(10, dtype=np.int64)[a], np.eye(10, dtype=np.int64)[b]
    secint = mpc.SecInt(48)
    t0 = time.perf_counter()
    xa = mpc.input(secint.array(ida.astype(object)), senders=0)
    xb = mpc.input(secint.array(idb.astype(object)), senders=1)
    sa = mpc.input(secint.array(oa.astype(object)), senders=0)
    sb = mpc.input(secint.array(ob.astype(object)), senders=1)
    eq = xa == xb
    table = mpc.np_matmul(mpc.np_transpose(sa), sb * eq.reshape(n, 1))
    out = await mpc.output(table, receivers=[0])
    dt = time.perf_counter() - t0
    sent = sum(p.protocol.nbytes_sent for p in mpc.parties if p.pid != mpc.pid)
    if mpc.pid == 0:
        matched = ida == idb
        plain = np.zeros((10, 10), dtype=np.int64)
        np.add.at(plain, (a[matched], b[matched]), 1)
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print("RESULT", dt, sent, int((np.asarray(out) == plain).all()), peak)
    await mpc.shutdown()
mpc.run(main())
"""


def run_ours(records: int, delay_ms: int, seed: int = 1) -> dict:
    with tempfile.TemporaryDirectory(prefix="vertical-bench-") as tmp:
        folder = Path(tmp)
        timeout = 120.0 + records * 0.0005
        study = demo_vertical_study(folder, cell="count", tls=True, timeout=timeout, max_records=2 * records)
        frames = demo_vertical_data(records, seed, overlap=1.0)
        paths = {}
        for n, frame in frames.items():
            paths[n] = folder / f"{n}.csv"
            frame.to_csv(paths[n], index=False)
        extra = {n: ["--added-delay-ms", str(delay_ms)] for n in ("nso", "register", "helper")}
        load = os.getloadavg()[0]
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        procs = wait_parties(
            start_vertical_parties(folder / "study.toml", study, paths, folder, extra=extra), 1800
        )
        load_after = os.getloadavg()[0]
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
        if any(p.code != 0 for p in procs):
            raise SystemExit("party failed: " + " | ".join(p.stderr[-500:] for p in procs))
        rep = procs[0].report()
        from confidata.secure.plain import plain_result  # noqa: PLC0415
        from confidata.secure.scaling import plan_for  # noqa: PLC0415
        from confidata.secure.vertical import plain_vertical  # noqa: PLC0415

        t0 = time.perf_counter()
        plan = plan_for(study)
        plain = plain_result(study, plain_vertical(study, frames, plan), plan)
        plain_s = time.perf_counter() - t0
        secure = [c["value"] for c in rep["result"]["cells"]]
        return {
            "technique": "helper + replicated shares + MPyC",
            "records": records,
            "nso_units": len(frames["nso"]),
            "delay_ms": delay_ms,
            "secure_s": rep["seconds_secure"],
            "join_s": rep["seconds_join"],
            "process_s": max(p.seconds for p in procs),
            "cpu_s": cpu_s,
            "bytes": rep["bytes_sent"],
            "messages": rep["messages_sent"],
            "rounds": rep["rounds"],
            "join_size": rep["join_size"],
            "plain_s": plain_s,
            "equal": secure == plain.values,
            "load": [load, load_after],
        }


def run_recordwise(records: int, delay_ms: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="vertical-naive-") as tmp:
        script = Path(tmp) / "recordwise.py"
        script.write_text(RECORDWISE)
        port = free_ports(1)[0]
        load = os.getloadavg()[0]
        started = time.perf_counter()
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        procs = [
            subprocess.Popen(
                [sys.executable, str(script), str(delay_ms / 1000), str(records), "-M3", "-I", str(i)]
                + ["-B", str(port), "--no-log"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(3)
        ]
        outs = [p.communicate(timeout=3600) for p in procs]
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        line = next((li for li in outs[0][0].splitlines() if li.startswith("RESULT")), None)
        if line is None:
            raise SystemExit("record-wise baseline failed: " + outs[0][1][-800:])
        _, dt, sent, ok, peak_kb = line.split()
        return {
            "technique": "MPyC record-wise (records pre-aligned)",
            "records": records,
            "delay_ms": delay_ms,
            "secure_s": float(dt),
            "process_s": wall,
            "cpu_s": after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime,
            "bytes_party0": int(sent),
            "equal": ok == "1",
            "peak_mb_party0": int(peak_kb) / 1024,
            "load": [load, os.getloadavg()[0]],
        }


def markdown(rows: list[dict], cpu: str) -> str:
    lines = [
        f"Machine: {cpu}, {os.cpu_count()} cores shared with other jobs (load average before/after each "
        "row in the last column); Python " + platform.python_version() + ".",
        "",
        "| technique | linked records | added latency | secure s | process s | CPU s, all processes "
        "| bytes sent per party | rounds per party | equal to plain | load before/after |",
        "|---|---:|---:|---:|---:|---:|---|---|---|---|",
    ]
    for r in rows:
        if "bytes" in r:
            sent = ", ".join(f"{n} {b / 1e6:.1f} MB" for n, b in r["bytes"].items())
            rounds = ", ".join(f"{n} {v}" for n, v in r["rounds"].items())
        else:
            sent, rounds = f"party 0: {r['bytes_party0'] / 1e6:.1f} MB", "-"
        lines.append(
            f"| {r['technique']} | {r['records']:,} | {r['delay_ms']} ms | {r['secure_s']:.1f} | "
            f"{r['process_s']:.1f} | {r['cpu_s']:.1f} | {sent} | {rounds} | "
            f"{'yes' if r['equal'] else 'NO'} | "
            f"{r['load'][0]:.1f} / {r['load'][1]:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000, help="linked records (the register's units)")
    ap.add_argument("--delays", default="0,50", help="added latency in ms, comma-separated")
    ap.add_argument("--baseline", default="10000,100000", help="record-wise sizes ('' for none)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "vertical_bench.json")
    args = ap.parse_args()
    cpu = next(
        (
            li.split(":", 1)[1].strip()
            for li in Path("/proc/cpuinfo").read_text().splitlines()
            if li.startswith("model name")
        ),
        platform.processor(),
    )
    rows = []
    for delay in (int(d) for d in args.delays.split(",") if d):
        rows.append(run_ours(args.records, delay))
        print(json.dumps(rows[-1]), flush=True)
    for n in (int(v) for v in args.baseline.split(",") if v):
        rows.append(run_recordwise(n, 0))
        print(json.dumps(rows[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"cpu": cpu, "rows": rows}, indent=2) + "\n")
    print(markdown(rows, cpu))


if __name__ == "__main__":
    main()
