"""Start-up time of the command line and of `confidata serve`, wall and CPU, with the load.

Every party process of `confidata secure`, `he` and `pprl` starts by importing the command line,
and issue 18 asks `confidata serve` to be listening within 2 s. Wall time on a shared machine
is an upper bound (other work takes the cores), so each row also records the process's own CPU
seconds (user + system), which is close to the wall time an idle machine would show, and
`os.getloadavg()` before and after.

    .venv/bin/python bench/startup.py --runs 5
    .venv/bin/python bench/startup.py --runs 5 --compare /tmp/base/src   # e.g. a git worktree

With --compare, each run alternates the two source trees (PYTHONPATH), so load changes hit both.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = (["--version"], ["secure", "--help"], ["serve", "--help"], ["he", "--help"])
ENTRY = "import sys; from confidata.cli import main; sys.exit(main())"


def _cpu_of_children() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def _command(src: str, args: list[str]) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": src}
    cpu0, t0 = _cpu_of_children(), time.perf_counter()
    subprocess.run([sys.executable, "-c", ENTRY, *args], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, _cpu_of_children() - cpu0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve(src: str) -> tuple[float, float]:
    """Seconds until `confidata serve` accepts a connection, and its CPU seconds by then."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-c", ENTRY, "serve", "--port", str(port),
                                   "--data-dir", folder], env={**os.environ, "PYTHONPATH": src},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                if server.poll() is not None:
                    raise SystemExit(f"confidata serve ended with status {server.returncode}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
                    break
                except OSError:
                    time.sleep(0.02)
            wall = time.perf_counter() - t0
            return wall, _proc_cpu(server.pid)
        finally:
            server.terminate()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--src", default=str(Path(__file__).resolve().parents[1] / "src"))
    parser.add_argument("--compare", help="another source tree to time alternately (the baseline)")
    args = parser.parse_args()
    trees = {"this": args.src, **({"baseline": args.compare} if args.compare else {})}
    cases = [(" ".join(c), lambda src, c=c: _command(src, c)) for c in COMMANDS]
    cases.append(("serve (until listening)", _serve))
    rows: dict[tuple[str, str], list[tuple[float, float]]] = {}
    load_before = os.getloadavg()
    for _ in range(args.runs):
        for label, run in cases:
            for tree, src in trees.items():
                rows.setdefault((label, tree), []).append(run(src))
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} "
          f"({os.cpu_count()} CPUs); medians of {args.runs} alternating runs")
    print(f"{'command':26} {'tree':9} {'wall s':>7} {'CPU s':>6}")
    for (label, tree), values in rows.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print(f"{label:26} {tree:9} {wall:7.2f} {cpu:6.2f}")


if __name__ == "__main__":
    main()
