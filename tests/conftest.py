"""Shared fixtures: the real data sets beside the checkout, and a way to run the real CLI."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_DATA = SHARED / "data"

# A value planted in bad files: no message may ever show it.
SENTINEL = "SENTINEL7731"


def seeded(seed: int):
    """Seeded (numpy) privacy noise for the DP internals that tests drive directly."""
    import numpy as np

    from confidata.synth.dp._noise import SeededNoise

    return SeededNoise(np.random.default_rng(seed))


def shared_dataset(name: str) -> Path:
    folder = SHARED_DATA / name
    if not (folder / "data.csv").is_file():
        pytest.skip(f"shared data set {name} is absent ({folder}); it lives beside the checkout")
    return folder


@pytest.fixture
def sd2011() -> Path:
    return shared_dataset("SD2011")


@pytest.fixture
def nist() -> Path:
    return shared_dataset("nist_national2019")


@pytest.fixture
def francdat():
    """sdcMicro's 8-record francdat with its keys and weight declared, as sdcMicro's examples use."""
    from confidata import Role, Schema

    folder = SHARED / "reference" / "sdcmicro" / "francdat"
    if not (folder / "data.csv").is_file():
        pytest.skip(f"sdcMicro's francdat is absent ({folder}); it lives beside the checkout")
    data = pd.read_csv(folder / "data.csv")
    schema = Schema.load(folder / "schema.json")
    for key in ("Key1", "Key2", "Key3", "Key4"):
        schema = schema.replace_column(key, roles=(Role.KEY,))
    return data, schema.replace_column("w", roles=(Role.WEIGHT,))


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str | Path, cwd: Path | None = None) -> CliResult:
    """Run `confidata ARGS` as a separate process, the way a user does."""
    proc = subprocess.run(
        [sys.executable, "-m", "confidata.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,  # a fresh checkout compiles its numba kernels on first use
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli():
    return run_cli
