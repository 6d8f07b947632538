"""How the benchmark runs each technique: real parties, measured, compared with the plain result.

Every function here takes one grid cell and a folder, writes the holders' files, starts each
party as its own process on 127.0.0.1 (``confidata secure party``, ``confidata he keygen |
decrypt``, ``confidata pprl encode | link``, or the trusted third party of `ipp.ttp`), waits for
them and returns an `Outcome`: the wall time connect -> result, per party its process's wall
and CPU seconds and peak memory (from the operating system's account of the finished child,
``wait4``), bytes sent and rounds (from the parties' own counters, `secure.channel` and
`secure.engine`), and the accuracy against the plain computation (`ipp.plain`). Studies and
processes are those of the demos (`runner`, `psi_demo`, `he.demo`); nothing is modelled.

A failure raises `TechniqueFailed` with a reason that names the party and the step (the
parties' own error lines, which by the secure package's rule never hold a data value).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from confidata.ipp.benchdata import LEVELS, WAGE_MAX, BenchData
from confidata.ipp.plain import compare_results, linkage_accuracy, plain_frames, read_holder_file
from confidata.secure.runner import (
    PartyProcess,
    free_ports,
    launch,
    local_sections,
    party_args,
    write_local_study,
)

__all__ = ["Cell", "Outcome", "TechniqueFailed", "TechniqueTimeout", "party_figures"]

CLI = [sys.executable, "-m", "confidata.cli"]
TABLE_LEVELS = {"region": LEVELS["region"], "ethnicity": LEVELS["ethnicity"]}  # the tables' 8 cells
PPRL_FIELDS = "first_name,last_name,dob:date,sex:exact,zip:exact,address,city"


@dataclass(frozen=True)
class Cell:
    """One point of the grid."""

    scenario: str
    technique: str
    records: int
    parties: int
    latency_ms: float
    protection: str
    epsilon: float | None = None


@dataclass
class Outcome:
    wall_s: float
    per_party: list[dict]
    accuracy: dict
    extra: dict = field(default_factory=dict)


class TechniqueFailed(RuntimeError):
    """A party stopped; the message names it and the step."""


class TechniqueTimeout(TechniqueFailed):
    """The parties ran past the cell's time limit and were stopped."""


def party_figures(
    name: str,
    role: str,
    *,
    wall_s=None,
    cpu_s=None,
    bytes_sent=None,
    bytes_received=None,
    rounds=None,
    peak_rss_mb=None,
) -> dict:
    def num(v):
        return None if v is None else round(float(v), 4)

    return {
        "name": name,
        "role": role,
        "wall_s": num(wall_s),
        "cpu_s": num(cpu_s),
        "bytes_sent": None if bytes_sent is None else int(bytes_sent),
        "bytes_received": None if bytes_received is None else int(bytes_received),
        "rounds": None if rounds is None else int(rounds),
        "peak_rss_mb": num(peak_rss_mb),
    }


# -- processes ---------------------------------------------------------------------------------
def _high_water_mib(pid: int) -> float | None:
    """The process's peak resident memory so far (VmHWM), or None once it has gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def wait_measured(
    procs: list[PartyProcess], timeout: float
) -> tuple[dict[str, tuple[float, float | None]], bool]:
    """Wait for every process, reaping each with ``wait4`` to read its CPU seconds; processes past
    `timeout` (or still running when another failed) are killed. Returns (CPU s, peak MiB) per
    party and whether the time limit was hit.

    The peak is the process's own high-water mark (VmHWM), read every 20 ms while it runs: the
    ``ru_maxrss`` of ``wait4`` is no use here, since Linux carries into it the high-water mark of
    the memory the child was forked from (this runner's, with the data frames), so every small
    party would read as large as the runner. A peak reached in the last 20 ms can be missed."""
    deadline = time.perf_counter() + timeout
    running = {pp.proc.pid: pp for pp in procs}
    peak: dict[str, float | None] = {pp.name: None for pp in procs}
    usage: dict[str, tuple[float, float | None]] = {}
    timed_out = crashed = False

    def reap(pid: int, pp: PartyProcess, flags: int) -> bool:
        got, status, ru = os.wait4(pid, flags)
        if not got:
            return False
        pp.proc.returncode = os.waitstatus_to_exitcode(status)
        pp.seconds = time.perf_counter() - pp.started
        usage[pp.name] = (ru.ru_utime + ru.ru_stime, peak[pp.name])
        return True

    while running:
        for pid, pp in list(running.items()):
            hwm = _high_water_mib(pid)  # None once exited (a zombie has no memory left)
            if hwm is not None:
                peak[pp.name] = max(peak[pp.name] or 0.0, hwm)
            if reap(pid, pp, os.WNOHANG):
                del running[pid]
                if pp.proc.returncode != 0:  # the run has failed: the others would only wait for it
                    crashed = True
        if running and (crashed or time.perf_counter() > deadline):
            timed_out = not crashed
            for pid, pp in running.items():
                pp.proc.kill()
                reap(pid, pp, 0)
            running = {}
        time.sleep(0.02)
    for pp in procs:
        pp.code = pp.proc.returncode
        pp.stderr = Path(f"{pp.log}.stderr").read_text(errors="replace")
    return usage, timed_out


def _check(procs: list[PartyProcess], timed_out: bool, timeout: float, step: str) -> None:
    if timed_out:
        raise TechniqueTimeout(f"{step}: stopped after the cell's limit of {timeout:.0f} s")
    failed = [p for p in procs if p.code != 0]
    # the party that stopped first is the one whose error does not blame another's connection
    # (a party killed by a signal, code < 0, was stopped by this runner after another failed)
    failed.sort(key=lambda p: (p.code < 0, "closed its connection" in p.stderr))
    if failed:
        # the culprit's own error line (the package's errors never print a data value)
        lines = [li for li in failed[0].stderr.strip().splitlines() if li.strip()]
        raise TechniqueFailed(
            f"{step}: party '{failed[0].name}' exited with {failed[0].code}: "
            f"{lines[-1][:400] if lines else 'no message'}"
        )


def _write(frames: dict[str, pd.DataFrame], folder: Path, suffix: str = ".parquet") -> dict[str, Path]:
    paths = {}
    for name, frame in frames.items():
        paths[name] = folder / f"{name}{suffix}"
        if suffix == ".parquet":
            frame.to_parquet(paths[name], index=False)
        else:
            frame.to_csv(paths[name], index=False)
    return paths


def _delay(cell: Cell) -> list[str]:
    return ["--added-delay-ms", str(cell.latency_ms)] if cell.latency_ms else []


# -- studies -----------------------------------------------------------------------------------
def _protection(cell: Cell) -> dict:
    if cell.protection == "small_cells":
        return {"min_cell_size": 5, "small_cells": "suppress"}
    if cell.protection == "dp":
        return {"min_cell_size": 0, "epsilon": cell.epsilon}
    return {"min_cell_size": 0}


# the techniques whose data are laid out otherwise than their scenario's (benchdata.scenario_data)
DATA_LAYOUT = {"mpc_vertical_regression": "vertical_model", "pprl_linkage_table": "linkage_table"}


def holder_names(cell: Cell) -> list[str]:
    if cell.technique in DATA_LAYOUT:
        return ["nso", "register"]
    if cell.scenario in ("horizontal_aggregate", "federated_model", "quantiles"):
        return [f"p{i + 1}" for i in range(cell.parties)]
    if cell.scenario == "record_linkage":
        return ["a", "b"]
    return ["nso", "register"]


def secure_study(cell: Cell, folder: Path, timeout: float, *, technique: str | None = None):
    """The study of the cell's scenario (the secure technique's; the baselines compute the same)."""
    from confidata.secure.psi_demo import demo_psi_study  # noqa: PLC0415

    technique = technique or cell.technique
    names = holder_names(cell)
    limit = cell.records * max(cell.parties, 2) + 16  # the pooled file of the plain side too
    if cell.scenario == "intersection_count_sum":
        stat = "intersection_size" if technique in ("psi_ecdh", "psi_helper") else "intersection_sum"
        return demo_psi_study(
            folder,
            stat,
            "helper" if technique.startswith("psi_helper") else "ecdh",
            timeout=timeout,
            max_records=limit,
        )
    vertical = cell.scenario == "vertical_join_aggregate" or technique == "mpc_vertical_regression"
    helper = "helper" if vertical else None
    all_names = names + ([helper] if helper else [])
    data: dict = {
        **local_sections(
            all_names, free_ports(len(all_names)), tls=True, timeout=timeout, max_records=limit, helper=helper
        )
    }
    if cell.scenario == "horizontal_aggregate":
        data["study"] = {
            "name": "ipp-horizontal",
            "statistic": "table",
            "cell": "total",
            "by": ["region", "ethnicity"],
            "results": [names[0]],
        }
        data["levels"] = TABLE_LEVELS
        data["value"] = {"column": "wage", "min": 0, "max": WAGE_MAX}
        data["protection"] = _protection(cell)
    elif cell.scenario == "vertical_join_aggregate":
        data["study"] = {
            "name": "ipp-vertical",
            "statistic": "vertical_table",
            "cell": "total",
            "by": ["region", "ethnicity"],
            "holders": names,
            "results": [names[0]],
        }
        data["identifier"] = {"columns": ["person"], "forms": {"person": "text"}}
        data["levels"] = {"region": LEVELS["region"], "ethnicity": LEVELS["ethnicity"]}
        data["value"] = {"column": "wage", "min": 0, "max": WAGE_MAX, "holder": "register"}
        data["protection"] = _protection(cell)
    elif cell.scenario == "federated_model" and technique == "mpc_vertical_regression":
        data["study"] = {"name": "ipp-vertical-regression", "statistic": "regression", "results": [names[0]]}
        data["identifier"] = {"columns": ["person"], "forms": {"person": "text"}}
        data["regression"] = {
            "formula": "wage ~ education + experience + ethnicity + region",
            "family": "ols",
            "bounds": {"wage": [0, WAGE_MAX], "education": [0, 20], "experience": [-10, 70]},
            "levels": {"ethnicity": LEVELS["ethnicity"], "region": LEVELS["region"]},
            "holders": {"nso": ["wage", "education", "ethnicity"], "register": ["experience", "region"]},
        }
    elif cell.scenario == "federated_model":
        data["study"] = {"name": "ipp-regression", "statistic": "regression", "results": [names[0]]}
        data["regression"] = {
            "formula": "wage ~ education + experience + ethnicity + region",
            "family": "ols",
            "bounds": {"wage": [0, WAGE_MAX], "education": [0, 20], "experience": [-10, 70]},
            "levels": {"ethnicity": LEVELS["ethnicity"], "region": LEVELS["region"]},
        }
        if cell.protection == "small_cells":
            data["protection"] = {"min_cell_size": 5}
    elif cell.scenario == "quantiles":
        data["study"] = {
            "name": "ipp-quantiles",
            "statistic": "quantiles",
            "by": ["region"],
            "results": [names[0]],
        }
        data["levels"] = {"region": LEVELS["region"]}
        data["value"] = {"column": "wage", "min": 0, "max": WAGE_MAX}
        data["quantiles"] = {"probabilities": "deciles", "step": 1}
        data["protection"] = {"min_cell_size": 5 if cell.protection == "small_cells" else 0}
    else:
        raise ValueError(f"no secure study for scenario '{cell.scenario}'")
    return write_local_study(data, folder, tls=True)


# -- runners -----------------------------------------------------------------------------------
def run_secure_parties(cell: Cell, data: BenchData, folder: Path, timeout: float) -> Outcome:
    """A `confidata secure party` technique: MPyC tables, regression, quantiles, the PSI
    techniques and the vertical table (its helper is the party without data)."""
    study = secure_study(cell, folder, timeout)
    paths = _write(data.frames, folder)
    procs = [
        launch(
            [
                *CLI,
                *party_args(
                    folder / "study.toml",
                    p.name,
                    paths.get(p.name),
                    folder / f"result-{p.name}.json",
                    _delay(cell),
                ),
            ],
            p.name,
            folder,
        )
        for p in study.parties
    ]
    usage, timed_out = wait_measured(procs, timeout)
    _check(procs, timed_out, timeout, "secure party")
    result_party = study.results[0]
    report = next(pp.report() for pp in procs if pp.name == result_party)
    plain = plain_frames(cell.scenario, study, data.frames)
    accuracy = compare_results(report["result"], plain, dp=cell.protection == "dp")
    sent = report.get("bytes_sent", {})
    rounds = report.get("rounds", {})
    two = len(procs) == 2
    per_party = []
    for pp in procs:
        other = next((q.name for q in procs if q.name != pp.name), None)
        role = "helper" if study.helper is not None and pp.name == study.helper.name else "input"
        per_party.append(
            party_figures(
                pp.name,
                role,
                wall_s=pp.seconds,
                cpu_s=usage[pp.name][0],
                peak_rss_mb=usage[pp.name][1],
                bytes_sent=sent.get(pp.name),
                bytes_received=sent.get(other) if two else None,
                rounds=rounds.get(pp.name),
            )
        )
    extra = {"statistic": study.statistic, "seconds_secure_result_party": report.get("seconds_secure")}
    if "join_size" in report:
        extra["join_size"] = report["join_size"]
    return Outcome(float(report["seconds_secure"]), per_party, accuracy, extra)


def run_he(cell: Cell, data: BenchData, folder: Path, timeout: float) -> Outcome:
    """Threshold Paillier: 3 key holders (2 decrypt) as processes over TLS; each data holder's
    encryption and the aggregation are the `he encrypt` / `he aggregate` code in this process
    (as the demo runs them), timed one by one."""
    from confidata.he.demo import DemoFailure, demo_he_study, run_he_demo  # noqa: PLC0415

    he = demo_he_study(
        folder,
        statistic="table",
        cell="total",
        by=dict(TABLE_LEVELS),
        value=("wage", 0, WAGE_MAX),
        min_cell_size=5 if cell.protection == "small_cells" else 0,
        epsilon=cell.epsilon if cell.protection == "dp" else None,
        max_records=cell.records + 16,
        max_holders=max(cell.parties, 2),
        timeout=timeout,
    )
    started = time.perf_counter()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the key holders: this run's only children
    try:
        demo = run_he_demo(folder, he, list(data.frames.values()))
    except DemoFailure as exc:
        lines = [li for p in exc.procs if p.code != 0 for li in p.stderr.strip().splitlines() if li.strip()]
        raise TechniqueFailed(
            f"he {exc.step}: {lines[-1][:400] if lines else 'a key holder failed'}"
        ) from None
    wall = time.perf_counter() - started
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    key_holders_cpu = (now.ru_utime + now.ru_stime) - (children.ru_utime + children.ru_stime)
    accuracy = compare_results(demo.result.to_dict(), demo.plain.to_dict(), dp=cell.protection == "dp")
    per_party = [
        party_figures(f"holder{i + 1}", "input", wall_s=s, bytes_sent=b)
        for i, (s, b) in enumerate(zip(demo.encrypt_seconds, demo.submission_bytes, strict=True))
    ]
    agg = folder / "aggregate.json"
    per_party.append(
        party_figures(
            "aggregator",
            "computing",
            wall_s=demo.aggregate_seconds,
            bytes_received=sum(demo.submission_bytes),
            bytes_sent=agg.stat().st_size if agg.exists() else None,
        )
    )
    for name in he.key_holders:
        per_party.append(
            party_figures(
                name, "key_holder", bytes_sent=demo.key_holder_bytes.get(name), rounds=demo.key_holder_rounds
            )
        )
    extra = {
        "statistic": "table of totals",
        "he_steps_s": {
            "keygen": round(demo.keygen_seconds, 3),
            "encrypt_max": round(max(demo.encrypt_seconds), 3),
            "aggregate": round(demo.aggregate_seconds, 3),
            "decrypt": round(demo.decrypt_seconds, 3),
        },
        "wall_note": "keygen, every holder's encryption one after the other, aggregation and decryption",
        # the key holders' processes together (keygen and decrypt): the OS's account of reaped children
        "key_holders_cpu_s_total": round(key_holders_cpu, 3),
    }
    return Outcome(wall, per_party, accuracy, extra)


def run_pprl(cell: Cell, data: BenchData, folder: Path, timeout: float) -> Outcome:
    """Bloom-filter PPRL: each holder encodes its file (`confidata pprl encode`, both at once, as
    processes), the linkage unit links the two .clk files (`confidata pprl link`, automatic
    threshold); F1 against the generator's true pairs."""
    paths = _write(data.frames, folder, ".csv")
    secret = folder / "pprl.secret"
    secret.write_bytes(os.urandom(32))
    clk = {n: folder / f"{n}.clk" for n in paths}
    procs = [
        launch(
            [
                *CLI,
                "pprl",
                "encode",
                str(paths[n]),
                "--id",
                f"id_{n}",
                "--fields",
                PPRL_FIELDS,
                "--secret-file",
                str(secret),
                "-o",
                str(clk[n]),
                "--bad-dates",
                "missing",
            ],
            f"encode-{n}",
            folder,
        )
        for n in paths
    ]
    usage, timed_out = wait_measured(procs, timeout)
    _check(procs, timed_out, timeout, "pprl encode")
    links_path = folder / "links.csv"
    linker = launch(
        [*CLI, "pprl", "link", str(clk["a"]), str(clk["b"]), "-o", str(links_path), "--auto"],
        "linkage_unit",
        folder,
    )
    usage2, timed_out = wait_measured([linker], timeout)
    _check([linker], timed_out, timeout, "pprl link")
    links = pd.read_csv(links_path, dtype=str)
    accuracy = linkage_accuracy(links.iloc[:, :2].values.tolist(), data.truth)
    sizes = {n: clk[n].stat().st_size for n in clk}
    per_party = [
        party_figures(
            n,
            "input",
            wall_s=pp.seconds,
            cpu_s=usage[pp.name][0],
            peak_rss_mb=usage[pp.name][1],
            bytes_sent=sizes[n],
            rounds=1,
        )
        for n, pp in zip(paths, procs, strict=True)
    ]
    per_party.append(
        party_figures(
            "linkage_unit",
            "computing",
            wall_s=linker.seconds,
            cpu_s=usage2["linkage_unit"][0],
            peak_rss_mb=usage2["linkage_unit"][1],
            bytes_received=sum(sizes.values()),
            rounds=1,
        )
    )
    wall = max(p.seconds for p in procs) + linker.seconds
    return Outcome(
        wall,
        per_party,
        accuracy,
        {
            "statistic": "one-to-one links",
            "fields": PPRL_FIELDS,
            "wall_note": "both holders encoding at once, then the linkage unit; each a whole process "
            "(interpreter start and file reading included); bytes are the .clk files",
        },
    )


def run_pprl_table(cell: Cell, data: BenchData, folder: Path, timeout: float) -> Outcome:
    """Linkage then a secure table over the linked pairs (``confidata pprl party``, the linkage
    demo's three processes over TLS): the holders send keyed encodings without ids, the linkage
    unit returns a random label per row, and the region x band table over the labels runs on
    secret shares. Accuracy is the linkage's F1; the secure table is checked against the plain
    table over the same linked pairs."""
    from confidata.pprl.demo import (  # noqa: PLC0415
        LinkageDemoData,
        demo_linkage_study,
        plain_tables,
        start_linkage_parties,
        write_key,
    )

    study = demo_linkage_study(
        folder, tls=True, timeout=timeout, min_cell_size=5 if cell.protection == "small_cells" else 0
    )
    files = _write(data.frames, folder, ".csv")
    key = write_key(folder / "holders.key")
    procs = start_linkage_parties(folder / "study.toml", study, files, key, folder)
    usage, timed_out = wait_measured(procs, timeout)
    _check(procs, timed_out, timeout, "pprl party")
    reports = {pp.name: pp.report() for pp in procs}
    rows = pd.read_csv(folder / "linked-rows.csv")
    demo = LinkageDemoData(data.frames["nso"], data.frames["register"], data.truth)
    table = compare_results(reports["nso"]["result"], plain_tables(study, demo, rows)["linked"].to_dict())
    ids_a, ids_b = demo.nso["id_a"].to_numpy(), demo.register["id_b"].to_numpy()
    links = [[ids_a[i], ids_b[j]] for i, j in zip(rows.iloc[:, 0], rows.iloc[:, 1], strict=True)]
    accuracy = linkage_accuracy(links, data.truth)
    accuracy["detail"] += (
        f"; the secure table over the linked pairs against plain: {table['kind']} {table['value']:g}"
    )
    rep = reports["nso"]
    # each party's linkage phase (its own report beside the table's): bytes it sent, its seconds
    linkage = {pp.name: json.loads((folder / f"result-{pp.name}.linkage.json").read_text()) for pp in procs}
    per_party = [
        party_figures(
            pp.name,
            "computing" if pp.name == "linkunit" else "input",
            wall_s=pp.seconds,
            cpu_s=usage[pp.name][0],
            peak_rss_mb=usage[pp.name][1],
            bytes_sent=linkage[pp.name]["bytes_sent"] + rep.get("bytes_sent", {}).get(pp.name, 0),
            rounds=rep.get("rounds", {}).get(pp.name),
        )
        for pp in procs
    ]
    unit = linkage["linkunit"]
    return Outcome(
        float(linkage["nso"]["seconds_phase"] + rep["seconds_secure"]),
        per_party,
        accuracy,
        {
            "statistic": "linkage, then the region x band table of counts over the linked pairs",
            "table_accuracy": table,
            "linkage": {
                "links": unit["links"],
                "compared": unit["compared"],
                "threshold": unit["threshold"],
                "seconds_link": unit["seconds_link"],
                "seconds_phase_nso": linkage["nso"]["seconds_phase"],
            },
            "wall_note": "the NSO's linkage phase (connected to labels received) plus its table phase "
            "(connected to result); bytes are both phases', rounds the table phase's",
        },
    )


def run_ttp(cell: Cell, data: BenchData, folder: Path, timeout: float) -> Outcome:
    """Every holder sends its whole file over TLS to one party that computes in the clear."""
    from confidata.ipp.ttp import TTP  # noqa: PLC0415

    names = holder_names(cell)
    spec = None
    if cell.scenario != "record_linkage":
        spec_folder = folder / "spec"
        spec_folder.mkdir(parents=True, exist_ok=True)
        study = secure_study(cell, spec_folder, timeout, technique=_REFERENCE[cell.scenario])
        spec = spec_folder / "study.toml"
    else:
        study = None
    suffix = ".csv" if cell.scenario == "record_linkage" else ".parquet"
    paths = _write(data.frames, folder, suffix)
    big = max(p.stat().st_size for p in paths.values())
    links = {
        "study": {
            "name": "ttp-links",
            "statistic": "intersection_size",
            "technique": "helper",
            "results": [names[0]],
        },
        "identifier": {"columns": ["person"], "forms": {"person": "text"}},
        **local_sections(
            [*names, TTP],
            free_ports(len(names) + 1),
            tls=True,
            timeout=timeout,
            max_records=big // 4096 + 16,
            helper=TTP,
        ),
    }
    link_folder = folder / "links"
    write_local_study(links, link_folder, tls=True)
    procs = []
    for name in [*names, TTP]:
        cmd = [
            sys.executable,
            "-m",
            "confidata.ipp.ttp",
            str(link_folder / "study.toml"),
            "--as",
            name,
            "--scenario",
            cell.scenario,
            "--spec",
            str(spec or folder / "none"),
            "--output",
            str(folder / f"result-{name}.json"),
            *_delay(cell),
        ]
        if name != TTP:
            cmd += ["--data", str(paths[name])]
        procs.append(launch(cmd, name, folder))
    usage, timed_out = wait_measured(procs, timeout)
    _check(procs, timed_out, timeout, "trusted third party")
    reports = {pp.name: pp.report() for pp in procs}
    result = reports[TTP]["result"]
    if cell.scenario == "record_linkage":
        accuracy = linkage_accuracy(result["links"], data.truth)
    else:
        accuracy = compare_results(result, plain_frames(cell.scenario, study, data.frames))
    sent = {n: r["bytes_sent"][n] for n, r in reports.items()}
    per_party = []
    for pp in procs:
        received = sum(v for n, v in sent.items() if n != TTP) if pp.name == TTP else None
        per_party.append(
            party_figures(
                pp.name,
                "computing" if pp.name == TTP else "input",
                wall_s=pp.seconds,
                cpu_s=usage[pp.name][0],
                peak_rss_mb=usage[pp.name][1],
                bytes_sent=sent[pp.name],
                bytes_received=received,
                rounds=reports[pp.name]["rounds"][pp.name],
            )
        )
    return Outcome(
        float(reports[TTP]["seconds_secure"]),
        per_party,
        accuracy,
        {
            "statistic": "as the secure study"
            if spec
            else "exact links on normalised first name, last name, birth date",
            "wall_note": "the third party's time from all connected to result computed "
            "(receiving every file included)",
        },
    )


def run_pooled(cell: Cell, data: BenchData, folder: Path, timeout: float) -> Outcome:
    """The data pooled in one process, no transport: the plain computation alone (the ceiling)."""
    study = None
    if cell.scenario != "record_linkage":
        study = secure_study(cell, folder, timeout, technique=_REFERENCE[cell.scenario])
    paths = _write(data.frames, folder, ".csv" if cell.scenario == "record_linkage" else ".parquet")
    frames = {n: read_holder_file(p) for n, p in paths.items()}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = plain_frames(cell.scenario, study, frames)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if cell.scenario == "record_linkage":
        accuracy = linkage_accuracy(result["links"], data.truth)
    else:
        accuracy = compare_results(result, plain_frames(cell.scenario, study, data.frames))
    return Outcome(
        wall,
        [
            party_figures(
                "pooled", "computing", wall_s=wall, cpu_s=cpu, bytes_sent=0, bytes_received=0, rounds=0
            )
        ],
        accuracy,
        {"wall_note": "the plain computation alone, in the benchmark's process, files already read"},
    )


# the secure technique whose study the baselines of a scenario compute
_REFERENCE = {
    "horizontal_aggregate": "mpc_shamir_mpyc",
    "vertical_join_aggregate": "mpc_vertical_helper",
    "intersection_count_sum": "psi_helper_sum",
    "federated_model": "mpc_regression",
    "quantiles": "mpc_quantiles",
}
