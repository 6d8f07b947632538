"""The threshold-HE scenario end to end on 127.0.0.1 (``confidata secure demo --scenario he-aggregate``).

Key holders are real processes (``confidata he keygen`` / ``he decrypt``) over TLS; the data
holders and the aggregator are the same code the ``he encrypt`` / ``he aggregate`` commands run,
called in this process so that each holder can be timed on its own without paying an
interpreter start per holder. The result is compared with the plain computation on the pooled
records (`confidata.secure.plain.plain_result`), which it must equal exactly when no noise is
asked for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from confidata.he.aggregate import aggregate_files
from confidata.he.config import HEStudy, he_toml, load_he_study, parse_he_study
from confidata.he.keys import load_public_key
from confidata.he.submission import encrypt_frame
from confidata.secure.certs import make_certificates
from confidata.secure.local import aggregate
from confidata.secure.plain import TableResult, plain_result
from confidata.secure.runner import free_ports, local_sections
from confidata.secure.scaling import plan_for
from confidata.secure.study import study_toml

__all__ = ["HEDemo", "demo_he_study", "run_he_demo", "start_key_holders", "wait_key_holders"]


def demo_he_study(
    folder: Path,
    *,
    key_holders: int = 3,
    threshold: int = 2,
    max_holders: int = 1000,
    statistic: str = "table",
    cell: str = "count",
    by: dict[str, list[str]] | None = None,
    value: tuple[str, float, float] | None = None,
    min_cell_size: int = 0,
    epsilon: float | None = None,
    max_records: int = 1_000_000,
    tls: bool = True,
    timeout: float = 60.0,
    key_bits: int = 2048,
) -> HEStudy:
    """A threshold-HE study over key holders on 127.0.0.1, written to folder/study.toml (+ certs)."""
    by = by if by is not None else {"region": ["North", "East", "South", "West"], "sex": ["F", "M"]}
    names = [f"keyholder{i + 1}" for i in range(key_holders)]
    ports = free_ports(key_holders)
    data: dict = {
        "study": {"name": "he-demo", "statistic": statistic, "by": list(by), "results": [names[0]]},
        "levels": by,
        "protection": {"min_cell_size": min_cell_size, "small_cells": "suppress"},
        **local_sections(names, ports, tls=tls, timeout=timeout, max_records=max_records),
        "he": {"threshold": threshold, "max_holders": max_holders, "key_bits": key_bits},
    }
    if statistic == "table":
        data["study"]["cell"] = cell
    if value:
        data["value"] = {"column": value[0], "min": value[1], "max": value[2]}
    if epsilon is not None:
        data["protection"]["epsilon"] = epsilon
    he = parse_he_study(data, folder=folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "study.toml").write_text(he_toml(he, study_toml(he.study)))
    if tls:
        make_certificates(he.study, folder / "certs", overwrite=True)
    return load_he_study(folder / "study.toml")


@dataclass
class KeyHolderProcess:
    name: str
    proc: subprocess.Popen
    started: float
    log: Path
    code: int | None = None
    seconds: float = 0.0
    stderr: str = ""


def start_key_holders(
    study_path: Path, command: str, names: list[str], extra: list[str]
) -> list[KeyHolderProcess]:
    """Start `confidata he <command>` for each key holder, each its own process."""
    procs = []
    for name in names:
        cmd = [sys.executable, "-m", "confidata.cli", "he", command, str(study_path), "--as", name, *extra]
        if command == "decrypt":
            cmd += ["-o", str(study_path.parent / f"result-{name}.json"), "--overwrite"]
        log = study_path.parent / f"{command}-{name}"
        with open(f"{log}.stdout", "w") as so, open(f"{log}.stderr", "w") as se:
            proc = subprocess.Popen(cmd, stdout=so, stderr=se, text=True, env=dict(os.environ))
        procs.append(KeyHolderProcess(name, proc, time.perf_counter(), log))
    return procs


def wait_key_holders(procs: list[KeyHolderProcess], timeout: float) -> list[KeyHolderProcess]:
    deadline = time.perf_counter() + timeout
    for p in procs:
        try:
            p.proc.wait(timeout=max(0.1, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            p.proc.kill()
            p.proc.wait()
        p.seconds = time.perf_counter() - p.started
        p.code = p.proc.returncode
        p.stderr = Path(f"{p.log}.stderr").read_text()
    return procs


@dataclass
class HEDemo:
    result: TableResult
    plain: TableResult
    keygen_seconds: float
    encrypt_seconds: list[float]
    submission_bytes: list[int]
    aggregate_seconds: float
    decrypt_seconds: float
    decrypt_secure_seconds: float
    key_holder_bytes: dict[str, int] = field(default_factory=dict)
    key_holder_rounds: int = 0

    @property
    def equal(self) -> bool:
        return self.result.values == self.plain.values


class DemoFailure(RuntimeError):
    def __init__(self, step: str, procs: list[KeyHolderProcess]) -> None:
        self.step, self.procs = step, procs
        super().__init__(step)


def run_he_demo(
    folder: Path, he: HEStudy, frames: list[pd.DataFrame], *, participants: list[str] | None = None
) -> HEDemo:
    """Keygen (processes), encrypt per holder (timed), aggregate, decrypt by t (processes)."""
    study_path = folder / "study.toml"
    timeout = he.study.connect_timeout + 4 * he.study.step_timeout
    procs = wait_key_holders(
        start_key_holders(study_path, "keygen", list(he.key_holders), ["--overwrite"]), timeout
    )
    if any(p.code != 0 for p in procs):
        raise DemoFailure("keygen", procs)
    keygen_seconds = max(p.seconds for p in procs)
    key = load_public_key(he)
    enc_s, sizes, paths = [], [], []
    for i, frame in enumerate(frames):
        path = folder / f"submission-{i + 1:04d}.json"
        t0 = time.perf_counter()
        encrypt_frame(he, key, frame, f"holder{i + 1:04d}", path, overwrite=True)
        enc_s.append(time.perf_counter() - t0)
        sizes.append(path.stat().st_size)
        paths.append(path)
    t0 = time.perf_counter()
    aggregate_files(he, key, paths, folder / "aggregate.json", overwrite=True)
    agg_s = time.perf_counter() - t0
    chosen = participants or list(he.key_holders[: he.threshold])
    extra = ["--aggregate", str(folder / "aggregate.json"), "--with", ",".join(chosen)]
    procs = wait_key_holders(start_key_holders(study_path, "decrypt", chosen, extra), timeout)
    if any(p.code != 0 for p in procs):
        raise DemoFailure("decrypt", procs)
    import json  # noqa: PLC0415

    report = json.loads((folder / f"result-{chosen[0]}.json").read_text())
    res = report["result"]
    result = TableResult(
        res["study"],
        res["statistic"],
        tuple(res["by"]),
        [tuple(c[b] for b in res["by"]) for c in res["cells"]],
        [c["value"] for c in res["cells"]],
        [c["suppressed"] for c in res["cells"]],
        [c["flagged"] for c in res["cells"]],
        [c["undefined"] for c in res["cells"]],
        res["notes"],
    )
    plan = plan_for(he.study)
    pooled = aggregate(he.study, frames[0], plan)
    for frame in frames[1:]:  # summed per holder: the pooled file may exceed one holder's max_records
        pooled = pooled + aggregate(he.study, frame, plan)
    plain = plain_result(he.study, pooled, plan)
    return HEDemo(
        result,
        plain,
        keygen_seconds,
        enc_s,
        sizes,
        agg_s,
        max(p.seconds for p in procs),
        report["seconds_secure"],
        report["bytes_sent"],
        report["rounds"],
    )
