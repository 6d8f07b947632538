"""Process management for local runs: start every party of a study as its own OS process on
this machine, wait for all, collect their reports. Used by the demo, the tests and the
benchmark; a real deployment runs ``confidata secure party`` on each party's own machine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from confidata.secure.certs import make_certificates
from confidata.secure.study import Study, parse_study, study_toml

__all__ = [
    "PartyProcess",
    "demo_data",
    "demo_study",
    "free_ports",
    "launch",
    "party_args",
    "start_parties",
    "wait_parties",
]


@dataclass
class PartyProcess:
    name: str
    proc: subprocess.Popen
    output: Path
    started: float
    code: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    log: Path | None = None

    def report(self) -> dict | None:
        return json.loads(self.output.read_text()) if self.output.is_file() else None


def free_ports(k: int) -> list[int]:
    """k distinct TCP ports free on 127.0.0.1 right now."""
    socks, ports = [], []
    for _ in range(k):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def local_sections(
    names: list[str],
    ports: list[int],
    *,
    tls: bool,
    timeout: float,
    max_records: int,
    helper: str | None = None,
) -> dict:
    """The [limits], [tls] and [[party]] sections of a study whose parties all run on 127.0.0.1
    (every demo and benchmark builds its study from these); `helper` names the party that holds
    no data, if any."""
    return {
        "limits": {"connect_timeout": timeout, "step_timeout": timeout, "max_records": max_records},
        "tls": {"enabled": tls, **({"ca": "certs/mpyc_ca.crt"} if tls else {})},
        "party": [
            {
                "name": n,
                "host": "127.0.0.1",
                "port": p,
                **({"certificate": f"certs/party_{i}.crt"} if tls else {}),
                **({"role": "helper"} if n == helper else {}),
            }
            for i, (n, p) in enumerate(zip(names, ports, strict=True))
        ],
    }


def write_local_study(data: dict, folder: Path, *, tls: bool) -> Study:
    """Parse a local study, write it to folder/study.toml and, with TLS, its certificates."""
    study = parse_study(data, folder=folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "study.toml").write_text(study_toml(study))
    if tls:
        make_certificates(study, folder / "certs", overwrite=True)
    return study


def demo_study(
    folder: Path,
    names: list[str],
    *,
    statistic: str = "mean",
    tls: bool = True,
    min_cell_size: int = 5,
    ports: list[int] | None = None,
    timeout: float = 20.0,
    max_records: int = 10_000_000,
) -> Study:
    """A study of income by region and sex over parties on 127.0.0.1, written to folder/study.toml."""
    ports = ports or free_ports(len(names))
    data = {
        "study": {
            "name": "demo-income",
            "statistic": statistic,
            "by": ["region", "sex"],
            "results": [names[0]],
        },
        "levels": {"region": ["North", "East", "South", "West"], "sex": ["F", "M"]},
        "protection": {"min_cell_size": min_cell_size, "small_cells": "suppress"},
        **local_sections(names, ports, tls=tls, timeout=timeout, max_records=max_records),
    }
    if statistic != "count":
        data["value"] = {"column": "income", "min": 0, "max": 500000}
    return write_local_study(data, folder, tls=tls)


def demo_data(rows: int, seed: int, party_index: int) -> pd.DataFrame:
    """Synthetic records of one party: region, sex and a log-normal income in whole euros."""
    rng = np.random.default_rng([seed, party_index])
    region = rng.choice(["North", "East", "South", "West"], size=rows, p=[0.4, 0.3, 0.2, 0.1])
    sex = rng.choice(["F", "M"], size=rows)
    income = np.clip(np.round(rng.lognormal(10 + 0.1 * party_index, 0.6, size=rows)), 0, 500000)
    return pd.DataFrame({"region": region, "sex": sex, "income": income.astype(np.int64)})


def party_args(
    study_path: Path, name: str, data: Path | None, output: Path, extra: list[str] | None = None
) -> list[str]:
    """The command-line arguments of ``confidata secure party`` for one party (a helper of an
    intersection study has no data file)."""
    args = ["secure", "party", str(study_path), "--as", name]
    if data is not None:
        args += ["--data", str(data)]
    return [*args, "--output", str(output), *(extra or [])]


def launch(command: list[str], name: str, folder: Path, *, env: dict[str, str] | None = None) -> PartyProcess:
    """Start one party's process, its output file cleared and its stdout/stderr kept in folder."""
    out = folder / f"result-{name}.json"
    out.unlink(missing_ok=True)
    with open(folder / f"{name}.stdout", "w") as so, open(folder / f"{name}.stderr", "w") as se:
        proc = subprocess.Popen(command, stdout=so, stderr=se, text=True, env={**os.environ, **(env or {})})
    return PartyProcess(name, proc, out, time.perf_counter(), log=folder / name)


def start_parties(
    study_path: Path,
    study: Study,
    data: dict[str, Path],
    folder: Path,
    *,
    extra: dict[str, list[str]] | None = None,
    env: dict[str, str] | None = None,
    only: list[str] | None = None,
) -> list[PartyProcess]:
    """Start ``confidata secure party`` for every party of the study (or those in `only`), tables
    and intersections alike; a party absent from `data` (an intersection's helper) gets no file."""
    procs = []
    for p in study.parties:
        if only is not None and p.name not in only:
            continue
        args = party_args(
            study_path, p.name, data.get(p.name), folder / f"result-{p.name}.json", (extra or {}).get(p.name)
        )
        procs.append(launch([sys.executable, "-m", "confidata.cli", *args], p.name, folder, env=env))
    return procs


def wait_parties(procs: list[PartyProcess], timeout: float) -> list[PartyProcess]:
    """Wait for every process (killing those past the timeout); note when each one ended."""
    deadline = time.perf_counter() + timeout
    running = list(procs)
    while running:
        for pp in list(running):
            if pp.proc.poll() is not None:
                pp.seconds = time.perf_counter() - pp.started
                running.remove(pp)
        if time.perf_counter() > deadline:
            for pp in running:
                pp.proc.kill()
                pp.proc.wait()
                pp.seconds = time.perf_counter() - pp.started
            running = []
        time.sleep(0.02)
    for pp in procs:
        pp.code = pp.proc.returncode
        pp.stdout = Path(f"{pp.log}.stdout").read_text()
        pp.stderr = Path(f"{pp.log}.stderr").read_text()
    return procs
