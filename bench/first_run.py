"""The first `confidata synth` / `evaluate` a user runs, against a warm one, on the demo's acs12.

Each scenario starts from an empty numba cache (a fresh folder given as NUMBA_CACHE_DIR, so the
checkout's own caches are left alone) and times, back to back, the first command and the same
command again (warm):

- ``cold``: nothing compiled in advance (what a user met before ``make install`` warmed up);
- ``installed``: after ``python -m confidata._warmup``, which ``make install`` runs.

Wall time and the children's CPU time (user + system, from os.wait4) are both printed: on a shared
machine wall time swings with the load, CPU time much less. The ratio first / warm is the figure
the issue asks for (it must stay under 2 after installation).

    .venv/bin/python bench/first_run.py [--reps 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "build" / "demo"
CONFIDATA = [sys.executable, "-m", "confidata.cli"]


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process (which must succeed)."""
    started = time.perf_counter()
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{child.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def _commands(out: Path) -> dict[str, list[str]]:
    synthetic = out / "synthetic.csv"
    return {
        "synth": [*CONFIDATA, "synth", str(DEMO / "acs12.csv"), "-o", str(synthetic), "--overwrite",
                  "--seed", "1"],
        "evaluate": [*CONFIDATA, "evaluate", str(DEMO / "acs12.csv"), str(synthetic), "--holdout",
                     str(DEMO / "acs12_holdout.csv"), "--use-case", "public-release", "--target",
                     "income", "--seed", "1", "-o", str(out / "report.html"), "--overwrite"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    reps = parser.parse_args().reps
    if not (DEMO / "acs12.csv").is_file():
        subprocess.run([sys.executable, str(ROOT / "demo" / "fetch_data.py"), str(DEMO / "acs12.csv")],
                       check=True)
    print("| rep | scenario | command | first wall s | warm wall s | first/warm wall "
          "| first CPU s | warm CPU s | first/warm CPU | load |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for rep in range(1, reps + 1):
        for scenario in ("cold", "installed"):
            with tempfile.TemporaryDirectory(prefix="confidata-first-run-") as tmp:
                env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba")}
                if scenario == "installed":
                    _timed([sys.executable, "-m", "confidata._warmup"], env)
                for name, args in _commands(Path(tmp)).items():
                    first, first_cpu = _timed(args, env)
                    warm, warm_cpu = _timed(args, env)
                    print(f"| {rep} | {scenario} | {name} | {first:.1f} | {warm:.1f} | {first / warm:.2f} "
                          f"| {first_cpu:.1f} | {warm_cpu:.1f} | {first_cpu / warm_cpu:.2f} "
                          f"| {os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
