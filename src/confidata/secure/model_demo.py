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

__all__ = ["REGIONS", "demo_model_data", "demo_model_study"]

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
