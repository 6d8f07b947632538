"""The linkage demo (``confidata secure demo --scenario linkage``): two holders' person files with
realistic errors, a study, every party started as its own process on 127.0.0.1, and the same
table computed in the clear on the linked pairs and on the true pairs.

Data: `generate.generate` draws two files of ``records`` persons, a share ``overlap`` of them in
both, file B with typos, nicknames, moves and dates written another way. Holder ``nso`` (file A)
also holds each person's region, holder ``register`` (file B) an income band, both drawn at
random per person, so the table region x band over the pairs is the statistic neither can
compute alone. The linkage unit ``linkunit`` holds no data and never the holders' key.
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from confidata.pprl.generate import generate
from confidata.secure.plain import TableResult, plain_result
from confidata.secure.runner import PartyProcess, free_ports, launch, local_sections, write_local_study
from confidata.secure.scaling import plan_for
from confidata.secure.study import Study
from confidata.secure.vertical import plain_vertical
from confidata.secure.vertical_demo import BANDS, REGIONS

__all__ = ["DEMO_FIELDS", "LinkageDemoData", "demo_linkage_data", "demo_linkage_study",
           "plain_tables", "start_linkage_parties"]

NAMES = ("nso", "register", "linkunit")
DEMO_FIELDS = "first_name,last_name,dob:date,sex:exact,zip:exact,address,city"


@dataclass
class LinkageDemoData:
    nso: pd.DataFrame
    register: pd.DataFrame
    truth: pd.DataFrame  # id_a, id_b of the persons in both files


def demo_linkage_study(folder: Path, *, tls: bool = True, timeout: float = 60.0,
                       min_cell_size: int = 5) -> Study:
    """A region x band vertical-table study whose helper is the linkage unit, on 127.0.0.1."""
    data = {
        "study": {
            "name": "demo-linkage",
            "statistic": "vertical_table",
            "cell": "count",
            "by": ["region", "band"],
            "holders": ["nso", "register"],
            "results": ["nso"],
        },
        "identifier": {"columns": ["person"], "forms": {"person": "text"}},
        "levels": {"region": list(REGIONS), "band": list(BANDS)},
        "protection": {"min_cell_size": min_cell_size},
        **local_sections(list(NAMES), free_ports(len(NAMES)), tls=tls, timeout=timeout,
                         max_records=10_000_000, helper="linkunit"),
    }
    return write_local_study(data, folder, tls=tls)


def demo_linkage_data(records: int, seed: int, overlap: float = 0.5) -> LinkageDemoData:
    """The two holders' files (with their category columns) and the true pairs."""
    data = generate(records, records, overlap=overlap, seed=seed)
    rng = np.random.default_rng([seed, 14])
    nso = data.a.copy()
    nso["region"] = np.array(REGIONS)[rng.choice(len(REGIONS), len(nso), p=np.linspace(2, 1, 10) / 15)]
    register = data.b.copy()
    register["band"] = np.array(BANDS)[rng.integers(0, len(BANDS), len(register))]
    return LinkageDemoData(nso, register, data.truth.iloc[:, :2].copy())


def start_linkage_parties(study_path: Path, study: Study, files: dict[str, Path], key: Path,
                          folder: Path, fields: str = DEMO_FIELDS) -> list[PartyProcess]:
    """Start ``confidata pprl party`` for the two holders and the linkage unit."""
    procs = []
    for p in study.parties:
        cmd = [sys.executable, "-m", "confidata.cli", "pprl", "party", str(study_path), "--as", p.name,
               "--output", str(folder / f"result-{p.name}.json")]
        if p.name in files:
            cmd += ["--data", str(files[p.name]), "--fields", fields, "--secret-file", str(key)]
        else:
            cmd += ["--pairs-output", str(folder / "linked-rows.csv")]
        procs.append(launch(cmd, p.name, folder))
    return procs


def write_key(path: Path) -> Path:
    """32 random bytes: the holders' shared secret (the linkage unit is never given it)."""
    path.write_bytes(secrets.token_bytes(32))
    path.chmod(0o600)
    return path


def plain_tables(study: Study, data: LinkageDemoData, linked_rows: pd.DataFrame) -> dict[str, TableResult]:
    """The table in the clear over the linked pairs (row positions from the linkage unit) and over
    the true pairs (the generator's truth), with the study's protection."""
    plan = plan_for(study)
    index_a = pd.Index(data.nso["id_a"])
    index_b = pd.Index(data.register["id_b"])
    true_rows = (index_a.get_indexer(data.truth.iloc[:, 0]), index_b.get_indexer(data.truth.iloc[:, 1]))
    out = {}
    for what, (rows_a, rows_b) in {"linked": (linked_rows.iloc[:, 0].to_numpy(),
                                              linked_rows.iloc[:, 1].to_numpy()),
                                   "true": true_rows}.items():
        label = [f"p{k}" for k in range(len(rows_a))]
        region, band = data.nso["region"].to_numpy()[rows_a], data.register["band"].to_numpy()[rows_b]
        frames = {"nso": pd.DataFrame({"person": label, "region": region}),
                  "register": pd.DataFrame({"person": label, "band": band})}
        out[what] = plain_result(study, plain_vertical(study, frames, plan), plan)
    return out
