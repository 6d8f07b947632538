"""The intersection demo and benchmark harness: a study, generated holders with a known overlap,
and every party started as its own process on 127.0.0.1 (``confidata secure demo --scenario
intersection``); `runner.start_parties` starts them, as for the tables. A real deployment
runs ``confidata secure party`` on each party's machine.

Generated data: holder ``nso`` has ``records`` person codes ``P000000001``...; holder
``register`` has the same number, of which a share ``overlap`` (default one half) are the NSO's
and the rest new codes. The register writes its codes in lower case with stray spaces, so the
normaliser has work to do; for a sum it also holds a whole-number income per person.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from confidata.secure.study import Study

if TYPE_CHECKING:
    import pandas as pd

# numpy, pandas and the runner are imported by the functions: the command line reads SCENARIOS
# when it starts, and `confidata --help` should not wait for pandas (tests/test_startup.py)

__all__ = ["SCENARIOS", "demo_psi_data", "demo_psi_study", "holder_names"]

SCENARIOS = {
    "intersection-size": "intersection_size",
    "intersection": "intersection",
    "intersection-sum": "intersection_sum",
}


def demo_psi_study(
    folder: Path,
    statistic: str,
    technique: str,
    *,
    tls: bool = True,
    timeout: float = 60.0,
    max_records: int = 10_000_000,
    results: tuple[str, ...] = ("nso",),
    holders: int = 2,
) -> Study:
    """An intersection study over parties on 127.0.0.1, written to folder/study.toml."""
    from confidata.secure.runner import free_ports, local_sections, write_local_study

    names = holder_names(holders) + (["helper"] if technique == "helper" else [])
    ports = free_ports(len(names))
    data = {
        "study": {
            "name": f"demo-{statistic.replace('_', '-')}",
            "statistic": statistic,
            "technique": technique,
            "results": list(results),
        },
        "identifier": {"columns": ["person"], "forms": {"person": "text"}},
        **local_sections(names, ports, tls=tls, timeout=timeout, max_records=max_records, helper="helper"),
    }
    if statistic == "intersection_sum":
        data["value"] = {"column": "income", "min": 0, "max": 500000, "holder": "register"}
    return write_local_study(data, folder, tls=tls)


def holder_names(holders: int) -> list[str]:
    """The demo's holders: the NSO, then 'register', 'register2', ..."""
    return ["nso", "register", *(f"register{i}" for i in range(2, holders))]


def demo_psi_data(records: int, seed: int, overlap: float = 0.5, holders: int = 2) -> dict[str, pd.DataFrame]:
    """The holders' files: each register holds exactly round(records * overlap) of the NSO's
    persons (the same ones in every register, so all holders share exactly that many) and new
    codes of its own for the rest."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    common = int(round(records * overlap))
    fresh = records - common
    codes = rng.permutation(np.arange(1, records + (holders - 1) * fresh + 1))
    nso = codes[:records]
    frames = {"nso": pd.DataFrame({"person": np.char.add("P", np.char.zfill(nso.astype(str), 9))})}
    for i, name in enumerate(holder_names(holders)[1:]):
        own = codes[records + i * fresh : records + (i + 1) * fresh]
        register = np.concatenate([nso[:common], own])
        register = register[rng.permutation(len(register))]
        reg_text = np.char.add(np.char.add(" p", np.char.zfill(register.astype(str), 9)), " ")
        income = np.clip(np.round(rng.lognormal(10, 0.7, size=records)), 0, 500000).astype(np.int64)
        frames[name] = pd.DataFrame({"person": reg_text, "income": income})
    return frames
