"""The record of one benchmark run: what ``confidata ipp bench`` writes and ``ipp report`` reads.

One JSON object per line in ``results.jsonl``. The format is the contract between the runner
(which measures) and the report and recommendations (which compare): both go through this
module only, so a field cannot mean one thing to the writer and another to the reader. A record
holds what was measured and nothing invented: a figure that was not measured is null, and an
extrapolated cell is never written as a run (the report computes and marks those).

Unknown keys in a file are kept in ``extra`` (a later writer may add figures an older reader
does not know); a known key with a wrong type or value makes `read_runs` fail naming the line
and the key, never the value.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from confidata.errors import ConfidataError

__all__ = [
    "ACCURACY_KINDS",
    "LATENCY_VIA",
    "PARTY_KEYS",
    "PROTECTIONS",
    "Run",
    "RunFormatError",
    "STATUSES",
    "append_run",
    "current_commit",
    "machine_info",
    "read_runs",
    "run_from_dict",
    "utc_now",
    "validate_record",
    "versions",
]

STATUSES = ("ok", "failed", "refused", "timeout")
PROTECTIONS = ("none", "small_cells", "dp")
LATENCY_VIA = ("netem", "transport")
ACCURACY_KINDS = ("exact", "error_bound", "f1", "dp_error")
# the figures of one party in a run; a figure not measured is null
PARTY_KEYS = ("name", "role", "wall_s", "cpu_s", "bytes_sent", "bytes_received", "rounds", "peak_rss_mb")


class RunFormatError(ConfidataError, ValueError):
    """A results file line that does not follow the run record format."""


@dataclass(frozen=True)
class Run:
    """One cell of the grid, run once (or refused, or failed, with the reason)."""

    run_id: str
    started_at: str  # ISO 8601, UTC
    commit: str
    machine: dict
    versions: dict
    load_before: float | None
    load_after: float | None
    scenario: str
    technique: str
    technique_family: str
    records: int  # per party
    parties: int
    latency_ms: float
    latency_via: str
    protection: str
    epsilon: float | None
    status: str
    reason: str | None
    wall_s: float | None  # connect -> result
    per_party: list = field(default_factory=list)  # dicts with PARTY_KEYS
    accuracy: dict | None = None  # {kind, value, detail}
    leakage: list = field(default_factory=list)  # what each party learns, as "party: what"
    trust: str = ""
    extrapolated: bool = False
    command: str = ""
    extra: dict = field(default_factory=dict)  # any other key (data, statistic, steps, ...)

    def key(self) -> tuple:
        """The grid cell this run measures; `--resume` skips a cell that has a finished run."""
        return (
            self.scenario,
            self.technique,
            self.records,
            self.parties,
            float(self.latency_ms),
            self.protection,
            self.epsilon,
        )

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**out, **self.extra}


_KNOWN = tuple(f.name for f in fields(Run) if f.name != "extra")
_NUM = (int, float)
# key -> (allowed types, may be null)
_TYPES: dict[str, tuple[tuple, bool]] = {
    "run_id": ((str,), False),
    "started_at": ((str,), False),
    "commit": ((str,), False),
    "machine": ((dict,), False),
    "versions": ((dict,), False),
    "load_before": (_NUM, True),
    "load_after": (_NUM, True),
    "scenario": ((str,), False),
    "technique": ((str,), False),
    "technique_family": ((str,), False),
    "records": ((int,), False),
    "parties": ((int,), False),
    "latency_ms": (_NUM, False),
    "latency_via": ((str,), False),
    "protection": ((str,), False),
    "epsilon": (_NUM, True),
    "status": ((str,), False),
    "reason": ((str,), True),
    "wall_s": (_NUM, True),
    "per_party": ((list,), False),
    "accuracy": ((dict,), True),
    "leakage": ((list,), False),
    "trust": ((str,), False),
    "extrapolated": ((bool,), False),
    "command": ((str,), False),
}


def validate_record(record: dict) -> list[str]:
    """Every way `record` departs from the format, as sentences naming the key (empty: valid)."""
    problems = []
    for key, (types, nullable) in _TYPES.items():
        if key not in record:
            problems.append(f"key '{key}' is missing")
            continue
        value = record[key]
        if value is None:
            if not nullable:
                problems.append(f"key '{key}' is null; it must be given")
        elif isinstance(value, bool) and bool not in types or not isinstance(value, types):
            problems.append(f"key '{key}' must be {' or '.join(t.__name__ for t in types)}")
    if problems:
        return problems
    for key, allowed in (("status", STATUSES), ("protection", PROTECTIONS), ("latency_via", LATENCY_VIA)):
        if record[key] not in allowed:
            problems.append(f"key '{key}' must be one of {', '.join(allowed)}")
    if (record["status"] == "ok") != (record["reason"] is None):
        problems.append("key 'reason' must be null exactly when status is 'ok'")
    if record["protection"] == "dp" and record["epsilon"] is None:
        problems.append("key 'epsilon' must be given when protection is 'dp'")
    if record["records"] < 1 or record["parties"] < 1:
        problems.append("keys 'records' and 'parties' must be at least 1")
    if record["status"] == "ok":
        if record["wall_s"] is None:
            problems.append("key 'wall_s' must be measured for a run that is 'ok'")
        if record["accuracy"] is None:
            problems.append("key 'accuracy' must be given for a run that is 'ok'")
        if not record["per_party"]:
            problems.append("key 'per_party' must list the parties of a run that is 'ok'")
    acc = record["accuracy"]
    if acc is not None and (
        acc.get("kind") not in ACCURACY_KINDS
        or not isinstance(acc.get("value"), _NUM)
        or not isinstance(acc.get("detail"), str)
    ):
        problems.append(
            f"key 'accuracy' must be {{kind: {' | '.join(ACCURACY_KINDS)}, value: number, detail: text}}"
        )
    for i, party in enumerate(record["per_party"]):
        if not isinstance(party, dict) or set(party) != set(PARTY_KEYS):
            problems.append(f"per_party[{i}] must have exactly the keys {', '.join(PARTY_KEYS)}")
            continue
        for k in PARTY_KEYS[2:]:
            if party[k] is not None and (isinstance(party[k], bool) or not isinstance(party[k], _NUM)):
                problems.append(f"per_party[{i}].{k} must be a number or null")
    if not all(isinstance(x, str) for x in record["leakage"]):
        problems.append("key 'leakage' must be a list of text")
    return problems


def run_from_dict(record: dict, where: str = "record") -> Run:
    """A `Run` from one decoded line; unknown keys go to `extra`."""
    if not isinstance(record, dict):
        raise RunFormatError(f"{where}: a run must be a JSON object.")
    problems = validate_record(record)
    if problems:
        raise RunFormatError(
            f"{where}: {'; '.join(problems[:5])}. Each line must be a run as confidata.ipp.runs writes it."
        )
    known = {k: record[k] for k in _KNOWN}
    known["latency_ms"] = float(known["latency_ms"])
    return Run(**known, extra={k: v for k, v in record.items() if k not in _KNOWN})


def read_runs(path: str | Path) -> list[Run]:
    """Every run of a results file, in file order; fails on the first bad line, naming it."""
    path = Path(path)
    if not path.is_file():
        raise RunFormatError(
            f"'{path}' is not a file; give a results.jsonl written by 'confidata ipp bench'."
        )
    runs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise RunFormatError(f"'{path}' line {number} is not JSON.") from None
        runs.append(run_from_dict(record, f"'{path}' line {number}"))
    return runs


def append_run(path: str | Path, run: Run) -> None:
    """Append one run as a line (checked first: a bad record is a bug and never reaches the file)."""
    record = run.to_dict()
    problems = validate_record(record)
    if problems:
        raise RunFormatError(f"run '{run.run_id}' does not follow the format: {'; '.join(problems[:5])}.")
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def current_commit(folder: str | Path | None = None) -> str:
    """The git commit of the code that ran ('+dirty' when files differ), or 'unknown'."""
    where = Path(folder) if folder else Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":/src"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def machine_info() -> dict:
    """Cores, memory and CPU model of this machine (what a time depends on)."""
    cpu = platform.processor() or platform.machine()
    ram = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "ram_gib": ram, "cpu": cpu, "system": platform.system()}


def versions() -> dict:
    """Versions of Python and of the libraries the techniques run on."""
    out = {"python": platform.python_version()}
    for dist in (
        "confidata",
        "mpyc",
        "numpy",
        "pandas",
        "seal-python",
        "pynacl",
        "tno.mpc.encryption_schemes.paillier",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out
