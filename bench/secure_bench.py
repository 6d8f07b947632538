"""Benchmark: secure tables with 3 parties on this machine, against the plain computation and
against MPyC used directly (a minimal script summing the same count vectors).

    .venv/bin/python bench/secure_bench.py [--rows 1000000] [--quick]

Writes bench/RESULTS_SECURE.md. Latency is added in the transport (every message is held back
50 ms before it is written), not with netem: shaping the shared loopback would slow the other
programs on this machine. Times are from "all parties connected" to "result opened".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from confidata.secure import load_study, parse_study
from confidata.secure.runner import free_ports, start_parties, wait_parties
from confidata.secure.study import study_toml

HERE = Path(__file__).resolve().parent
NAMES = ["p1", "p2", "p3"]

DIRECT = r"""
import sys, time
import numpy as np
from mpyc.runtime import mpc
delay = float(sys.argv[1]); vec = np.load(sys.argv[2], allow_pickle=False); mode = sys.argv[3]
if delay:
    from mpyc import asyncoro
    base_send = asyncoro.MessageExchanger.send
    def send(self, pc, payload):
        frame = pc.to_bytes(8, "little", signed=True) + len(payload).to_bytes(4, "little") + payload
        mpc._loop.call_later(delay, self.transport.write, frame)
        self.nbytes_sent += len(frame)
    asyncoro.MessageExchanger.send = send
    asyncoro.MessageExchanger.close_connection = lambda self: mpc._loop.call_later(
        delay + 0.01, self.transport.close)
async def main():
    await mpc.start()
    t0 = time.perf_counter()
    secint = mpc.SecInt(int(mode[2:]) if mode.startswith("lt") else 32)
    xs = mpc.input(secint.array(vec.astype(object)))
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    if mode.startswith("lt"):  # the secure comparison count < 5 on l-bit integers
        total = total < 5
    elif mode == "poly":  # n (n - 1) ... (n - 4) * mask: zero exactly when n < 5
        f = [total - j for j in range(5)] + [mpc._np_randoms(secint, total.size)]
        while len(f) > 1:
            f = [f[i] * f[i + 1] for i in range(0, len(f) - 1, 2)] + ([f[-1]] if len(f) % 2 else [])
        total = f[0]
    out = await mpc.output(total, receivers=[0])
    dt = time.perf_counter() - t0
    sent = sum(p.protocol.nbytes_sent for p in mpc.parties if p.pid != mpc.pid)
    if mpc.pid == 0:
        print("RESULT", dt, sent, int(np.asarray(out).sum()))
    await mpc.shutdown()
mpc.run(main())
"""


def make_case(folder: Path, cells: int, rows: int, seed: int) -> tuple[Path, dict[str, Path], list]:
    side = int(round(cells**0.5))
    a_levels = [f"a{i:03d}" for i in range(side)]
    b_levels = [f"b{i:03d}" for i in range(side)]
    ports = free_ports(3)
    data = {
        "study": {"name": f"bench-{cells}", "statistic": "table", "by": ["a", "b"], "results": [NAMES[0]]},
        "levels": {"a": a_levels, "b": b_levels},
        "protection": {"min_cell_size": 5, "small_cells": "suppress"},
        "limits": {"connect_timeout": 60, "step_timeout": 120},
        "tls": {"enabled": False},
        "party": [{"name": n, "host": "127.0.0.1", "port": p} for n, p in zip(NAMES, ports, strict=True)],
    }
    study = parse_study(data, folder=folder)
    (folder / "study.toml").write_text(study_toml(study))
    rng = np.random.default_rng(seed)
    paths, frames = {}, []
    for name in NAMES:
        frame = pd.DataFrame(
            {
                "a": pd.Categorical.from_codes(rng.integers(0, side, rows), a_levels),
                "b": pd.Categorical.from_codes(rng.integers(0, side, rows), b_levels),
            }
        )
        frame = frame.astype(str)
        paths[name] = folder / f"{name}.parquet"
        frame.to_parquet(paths[name], index=False)
        frames.append(frame)
    return folder / "study.toml", paths, frames


def run_direct(
    folder: Path, frames: list, levels: tuple[list, list], delay: float, mode: str = "sum"
) -> tuple[float, int]:
    script = folder / "direct.py"
    script.write_text(DIRECT)
    port = free_ports(1)[0]
    procs = []
    for i, frame in enumerate(frames):
        counts = (
            pd.crosstab(pd.Categorical(frame.a, levels[0]), pd.Categorical(frame.b, levels[1]), dropna=False)
            .to_numpy()
            .reshape(-1)
        )
        np.save(folder / f"direct{i}.npy", counts)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(script),
                    str(delay),
                    str(folder / f"direct{i}.npy"),
                    mode,
                    "-M3",
                    "-I",
                    str(i),
                    "-B",
                    str(port),
                    "--no-log",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outs = [p.communicate(timeout=120) for p in procs]
    line = next(li for li in outs[0][0].splitlines() if li.startswith("RESULT"))
    _, dt, sent, _ = line.split()
    return float(dt), int(sent)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="records per party")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS_SECURE.md")
    args = ap.parse_args()
    cpu = next(
        (
            li.split(":", 1)[1].strip()
            for li in Path("/proc/cpuinfo").read_text().splitlines()
            if li.startswith("model name")
        ),
        platform.processor(),
    )
    rows, compare = [], []
    for cells in (100, 10_000):
        with tempfile.TemporaryDirectory(prefix="secure-bench-") as tmp:
            folder = Path(tmp)
            study_path, paths, frames = make_case(folder, cells, args.rows, seed=cells)
            study = load_study(study_path)
            t0 = time.perf_counter()
            everything = pd.concat(frames, ignore_index=True)
            plain = pd.crosstab(everything.a, everything.b)
            plain_s = time.perf_counter() - t0
            for delay_ms in (0, 50):
                extra = {n: ["--added-delay-ms", str(delay_ms)] for n in NAMES}
                procs = wait_parties(start_parties(study_path, study, paths, folder, extra=extra), 600)
                if any(p.code != 0 for p in procs):
                    raise SystemExit(f"party failed: {procs[0].stderr} {procs[1].stderr}")
                rep = procs[0].report()
                secure = [c["value"] for c in rep["result"]["cells"]]
                expected = [int(v) if v >= 5 else None for v in plain.to_numpy().reshape(-1)]
                direct_s, direct_bytes = run_direct(
                    folder, frames, (study.levels["a"], study.levels["b"]), delay_ms / 1000
                )
                rows.append(
                    {
                        "cells": cells,
                        "delay": delay_ms,
                        "secure": rep["seconds_secure"],
                        "process": max(p.seconds for p in procs),
                        "bytes": rep["bytes_sent"]["p1"],
                        "messages": rep["messages_sent"]["p1"],
                        "rounds": max(rep["rounds"].values()),
                        "direct": direct_s,
                        "direct_bytes": direct_bytes,
                        "plain": plain_s,
                        "equal": secure == expected,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
            if cells == 10_000:  # what the small-cell test costs, alone, at 0 ms
                for mode in ("lt32", "lt16", "poly"):
                    levels = (study.levels["a"], study.levels["b"])
                    seconds, sent = run_direct(folder, frames, levels, 0, mode)
                    compare.append({"mode": mode, "seconds": seconds, "bytes": sent})
                    print(json.dumps(compare[-1]), flush=True)
    lines = [
        "# Secure tables: 3 MPyC parties on one machine",
        "",
        f"Machine: {os.cpu_count()} cores ({cpu}), shared with other work; "
        f"Python {platform.python_version()}, "
        f"MPyC 0.11. {args.rows:,} records per party (3 parties), table of counts by two columns, "
        "small cells (< 5) suppressed inside the computation (flags and values opened to party 1 only), "
        "TLS off. Latency: added in the transport by confidata itself (each message held back for the delay "
        "before it is written), not with tc netem, which would slow the other programs on the shared "
        "machine; a 50 ms delay therefore costs one delay per communication round. "
        "'secure' = `confidata secure party`, from all connected to result opened; 'process' = slowest "
        "party's whole process (reading 1M rows and local aggregation included); 'rounds' = the longest "
        "chain of dependent messages (a Lamport clock carried by every message), from the study check "
        "to the opened result: what an added latency multiplies; 'MPyC direct' = a minimal "
        "script: input the 3 count vectors as SecInt(32) arrays, add, open (no small-cell check); bytes = "
        "party 1's MPyC payload bytes sent (framing included, before TLS); 'plain' = pandas crosstab of all "
        "records in one process.",
        "",
        "| cells | added latency | secure (s) | process (s) | bytes sent p1 | messages p1 | rounds | "
        "MPyC direct (s) | "
        "direct bytes p1 | plain (s) | secure = plain |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['cells']:,} | {r['delay']} ms | {r['secure']:.3f} | {r['process']:.2f} | "
            f"{r['bytes']:,} | {r['messages']} | {r['rounds']} | {r['direct']:.3f} | {r['direct_bytes']:,} | "
            f"{r['plain']:.3f} | {'yes' if r['equal'] else 'NO'} |"
        )
    lines += [
        "",
        "Targets: 100 cells < 0.5 s at 0 ms and < 1 s at 50 ms; 10,000 cells likewise.",
        "",
        "The small-cell test alone, 10,000 cells, 0 ms, MPyC direct (input, add, test, open to party 1):",
        "",
        "| test | seconds | bytes sent p1 |",
        "|:---|---:|---:|",
    ]
    label = {
        "lt32": "`count < 5` on SecInt(32) (MPyC's vectorised comparison, the previous protocol)",
        "lt16": "`count < 5` on SecInt(16)",
        "poly": "`n (n-1) (n-2) (n-3) (n-4) * mask` on SecInt(32) (zero iff n < 5; the protocol now)",
    }
    for c in compare:
        lines.append(f"| {label[c['mode']]} | {c['seconds']:.3f} | {c['bytes']:,} |")
    lines.append("")
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
