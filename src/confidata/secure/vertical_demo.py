"""The vertical demo and benchmark harness: a study, two holders' generated files with a stated
overlap, and every party started as its own process on 127.0.0.1 (``confidata secure demo
--scenario vertical``). A real deployment runs ``confidata secure party`` on each machine.

Generated data: holder ``nso`` has round(1.2 * records) persons ``P000000001``... with a region
(10 levels); holder ``register`` has ``records`` persons, a share ``overlap`` of them also the
NSO's, with an income band (10 levels) and a whole-number income. The register writes its codes
in lower case with stray spaces, so the identifier normaliser has work to do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from confidata.secure.runner import PartyProcess, free_ports, local_sections, write_local_study
from confidata.secure.study import Study

__all__ = ["REGIONS", "BANDS", "demo_vertical_data", "demo_vertical_study", "start_vertical_parties"]

REGIONS = tuple(f"R{i:02d}" for i in range(1, 11))
BANDS = tuple(f"B{i:02d}" for i in range(1, 11))
NAMES = ("nso", "register", "helper")


def demo_vertical_study(
    folder: Path,
    *,
    cell: str = "count",
    tls: bool = True,
    timeout: float = 60.0,
    max_records: int = 10_000_000,
    min_cell_size: int = 5,
    epsilon: float | None = None,
    results: tuple[str, ...] = ("nso",),
) -> Study:
    """A region x income-band study over parties on 127.0.0.1, written to folder/study.toml."""
    ports = free_ports(len(NAMES))
    data = {
        "study": {
            "name": "demo-vertical",
            "statistic": "vertical_table",
            "cell": cell,
            "by": ["region", "band"],
            "holders": ["nso", "register"],
            "results": list(results),
        },
        "identifier": {"columns": ["person"], "forms": {"person": "text"}},
        "levels": {"region": list(REGIONS), "band": list(BANDS)},
        "protection": {"min_cell_size": min_cell_size, **({"epsilon": epsilon} if epsilon else {})},
        **local_sections(NAMES, ports, tls=tls, timeout=timeout, max_records=max_records, helper="helper"),
    }
    if cell != "count":
        data["value"] = {"column": "income", "min": 0, "max": 500000, "holder": "register"}
    return write_local_study(data, folder, tls=tls)


def demo_vertical_data(records: int, seed: int, overlap: float = 1.0) -> dict[str, pd.DataFrame]:
    """The NSO's 1.2 * records persons and the register's records persons, round(records *
    overlap) of them in common; the register's income band follows its income."""
    rng = np.random.default_rng(seed)
    n_nso = int(round(1.2 * records))
    common = int(round(records * overlap))
    codes = rng.permutation(np.arange(1, n_nso + records - common + 1))
    nso = codes[:n_nso]
    register = np.concatenate([nso[:common], codes[n_nso:]])
    register = register[rng.permutation(len(register))]
    region = rng.choice(len(REGIONS), size=n_nso, p=np.linspace(2, 1, len(REGIONS)) / 15)
    income = np.clip(np.round(rng.lognormal(10, 0.7, size=records)), 0, 500000).astype(np.int64)
    edges = np.quantile(income, np.linspace(0, 1, len(BANDS) + 1)[1:-1])
    band = np.searchsorted(edges, income, side="right")
    reg_text = np.char.add(np.char.add(" p", np.char.zfill(register.astype(str), 9)), " ")
    return {
        "nso": pd.DataFrame(
            {
                "person": np.char.add("P", np.char.zfill(nso.astype(str), 9)),
                "region": np.array(REGIONS)[region],
            }
        ),
        "register": pd.DataFrame({"person": reg_text, "band": np.array(BANDS)[band], "income": income}),
    }


def start_vertical_parties(
    study_path: Path,
    study: Study,
    data: dict[str, Path],
    folder: Path,
    *,
    extra: dict[str, list[str]] | None = None,
    env: dict[str, str] | None = None,
    only: list[str] | None = None,
) -> list[PartyProcess]:
    """Start ``confidata secure party`` for every party, or those in `only` (the helper without --data)."""
    procs = []
    for p in study.parties:
        if only is not None and p.name not in only:
            continue
        out = folder / f"result-{p.name}.json"
        out.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "confidata.cli", "secure", "party", str(study_path), "--as", p.name]
        if p.name in data:
            cmd += ["--data", str(data[p.name])]
        cmd += ["--output", str(out), *((extra or {}).get(p.name, []))]
        with open(folder / f"{p.name}.stdout", "w") as so, open(folder / f"{p.name}.stderr", "w") as se:
            proc = subprocess.Popen(cmd, stdout=so, stderr=se, text=True, env={**os.environ, **(env or {})})
        procs.append(PartyProcess(p.name, proc, out, time.perf_counter(), log=folder / p.name))
    return procs
