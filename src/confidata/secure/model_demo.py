"""Studies and synthetic data for the regression and quantile demos (``confidata secure demo
--scenario regression | quantile``): parties on 127.0.0.1, like `runner.demo_study` for tables.

The data are synthetic with a known model (a weekly wage from age, schooling, sex and region,
rounded to whole euros), so that the demo runs on a fresh machine without downloads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from confidata.secure.runner import free_ports, local_sections, write_local_study
from confidata.secure.study import Study

__all__ = [
    "REGIONS",
    "VERTICAL_COLUMNS",
    "demo_model_data",
    "demo_model_study",
    "demo_vertical_model_data",
    "demo_vertical_model_study",
]

REGIONS = ["North", "East", "South", "West"]


def demo_model_data(rows: int, seed: int, party_index: int) -> pd.DataFrame:
    """One party's synthetic workers: wage = 150 + 12 age + 25 schooling + sex and region
    effects + noise, clipped to [0, 5000] and rounded to whole euros; 'high' = wage above 800."""
    rng = np.random.default_rng([seed, party_index, 7])
    age = rng.integers(18, 66, size=rows)
    school = rng.integers(6, 19, size=rows)
    sex = rng.choice(["F", "M"], size=rows)
    region = rng.choice(REGIONS, size=rows, p=[0.4, 0.3, 0.2, 0.1])
    effect = pd.Series(region).map({"North": 0.0, "East": -40.0, "South": -80.0, "West": 30.0}).to_numpy()
    wage = 150 + 12 * age + 25 * school + np.where(sex == "M", 60.0, 0.0) + effect + rng.normal(0, 150, rows)
    wage = np.clip(np.round(wage), 0, 5000)
    return pd.DataFrame(
        {
            "wage": wage.astype(np.int64),
            "age": age,
            "school": school,
            "sex": sex,
            "region": region,
            "high": np.where(wage > 800, "yes", "no"),
        }
    )


def demo_model_study(
    folder: Path,
    names: list[str],
    scenario: str,
    *,
    family: str = "ols",
    tls: bool = True,
    timeout: float = 60.0,
    max_records: int = 10_000_000,
) -> Study:
    """A regression or quantile study over the demo data, written to folder/study.toml."""
    ports = free_ports(len(names))
    data: dict = {
        **local_sections(names, ports, tls=tls, timeout=timeout, max_records=max_records),
    }
    levels = {"sex": ["F", "M"], "region": REGIONS}
    if scenario == "regression":
        logistic = family == "logistic"
        data["study"] = {"name": f"demo-{family}", "statistic": "regression", "results": [names[0]]}
        data["regression"] = {
            "formula": f"{'high' if logistic else 'wage'} ~ age + school + sex + region",
            "family": family,
            "bounds": {"age": [0, 120], "school": [0, 25], **({} if logistic else {"wage": [0, 5000]})},
            "levels": {**levels, **({"high": ["no", "yes"]} if logistic else {})},
            **({"lambda": 100.0} if family == "ridge" else {}),
        }
    else:
        data["study"] = {
            "name": "demo-quantiles",
            "statistic": "quantiles",
            "by": ["region"],
            "results": [names[0]],
        }
        data["levels"] = {"region": REGIONS}
        data["value"] = {"column": "wage", "min": 0, "max": 5000}
        data["quantiles"] = {"probabilities": "deciles", "step": 1}
        data["protection"] = {"min_cell_size": 5}
    return write_local_study(data, folder, tls=tls)


# the vertical model's two holders and the columns each holds (the NSO's survey holds the wage)
VERTICAL_COLUMNS = {"nso": ["wage", "school", "sex"], "register": ["age", "region"]}


def demo_vertical_model_study(
    folder: Path,
    *,
    family: str = "ols",
    tls: bool = True,
    timeout: float = 60.0,
    max_records: int = 1_000_000,
) -> Study:
    """A wage regression whose columns two holders share out (`VERTICAL_COLUMNS`), joined on a
    person number with a helper, written to folder/study.toml."""
    names = [*VERTICAL_COLUMNS, "helper"]
    ports = free_ports(len(names))
    logistic = family == "logistic"  # the NSO holds 'high' (wage above 800) as the outcome
    holders = {**VERTICAL_COLUMNS, "nso": ["high", "school", "sex"]} if logistic else VERTICAL_COLUMNS
    data: dict = {
        "study": {"name": f"demo-vertical-{family}", "statistic": "regression", "results": [names[0]]},
        "identifier": {"columns": ["person"], "forms": {"person": "text"}},
        "regression": {
            "formula": f"{'high' if logistic else 'wage'} ~ age + school + sex + region",
            "family": family,
            "bounds": {"age": [0, 120], "school": [0, 25], **({} if logistic else {"wage": [0, 5000]})},
            "levels": {"sex": ["F", "M"], "region": REGIONS, **({"high": ["no", "yes"]} if logistic else {})},
            "holders": holders,
            **({"lambda": 100.0} if family == "ridge" else {}),
        },
        **local_sections(names, ports, tls=tls, timeout=timeout, max_records=max_records, helper="helper"),
    }
    return write_local_study(data, folder, tls=tls)


def demo_vertical_model_data(rows: int, seed: int, overlap: float) -> dict[str, pd.DataFrame]:
    """The demo workers of `demo_model_data`, their columns split between the two holders: the NSO
    holds `rows` persons, the register as many, round(rows * overlap) of them the same persons."""
    people = demo_model_data(rows, seed, 0)
    extra = demo_model_data(rows, seed, 1)
    common = int(round(rows * overlap))
    rng = np.random.default_rng([seed, 11])
    ids = np.char.add("P", np.char.zfill(rng.permutation(2 * rows)[: 2 * rows - common].astype(str), 8))
    nso = people[[*VERTICAL_COLUMNS["nso"], "high"]].assign(person=ids[:rows])
    # the register: the common persons' own columns, then other persons
    reg_ids = np.concatenate([ids[:common], ids[rows:]])
    reg = pd.concat([people.iloc[:common], extra.iloc[: rows - common]], ignore_index=True)
    reg = reg[VERTICAL_COLUMNS["register"]].assign(person=reg_ids)
    return {"nso": nso, "register": reg.iloc[rng.permutation(len(reg))].reset_index(drop=True)}
