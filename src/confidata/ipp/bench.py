"""``confidata ipp bench``: the measured grid of reference scenario x technique x size x parties x
added latency x output protection (HLG-MOS input-privacy work package 2).

`TECHNIQUES` is the registry: per (scenario, technique) how to run it (`ipp.techniques`), its
catalogue family, its trust assumption and declared leakage (from `secure.explain` where the
protocol is described there), and which sizes, parties, latencies and protections it supports.
A cell outside what an entry supports is written as ``refused`` with the reason, so that the
grid shows what a technique cannot do beside what it costs. Every run appends one record to
DIR/results.jsonl (`ipp.runs`) and a line to DIR/bench.log; `--resume` skips the cells that
already have a record other than ``failed`` (a failed cell is run again; its record stays).

Latency: `tc netem` is not usable here (the kernel's netem module is absent even inside a user
namespace), so latency is added in the transport: every message is held back the given
milliseconds before it is written (``--added-delay-ms`` of the parties); each record says
``latency_via: transport``.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from confidata.errors import ConfidataError
from confidata.ipp import techniques as tq
from confidata.ipp.benchdata import scenario_data
from confidata.ipp.runs import Run, append_run, current_commit, machine_info, read_runs, utc_now, versions
from confidata.ipp.techniques import Cell

__all__ = ["GRIDS", "SCENARIOS", "TECHNIQUES", "Technique", "grid", "refusal", "run_grid"]

SCENARIOS = (
    "horizontal_aggregate",
    "vertical_join_aggregate",
    "intersection_count_sum",
    "record_linkage",
    "federated_model",
    "quantiles",
)
ALL_PROTECTIONS = ("none", "small_cells", "dp")
DP_EPSILON = 1.0


@dataclass(frozen=True)
class Technique:
    key: str
    scenario: str
    family: str  # the catalogue's technique glossary, or 'baseline'
    run: Callable
    trust: str
    leakage: tuple[str, ...]
    parties: tuple[int, ...]  # party counts it runs with (data holders)
    max_records: int  # per party, what this machine and the protocol allow
    max_records_reason: str
    latency: bool  # whether an added latency applies (a transport between parties)
    protections: tuple[str, ...]
    protection_reason: str = ""
    explain: tuple[str, str] | None = None


def _explained(scenario: str, technique: str) -> tuple[str, tuple[str, ...]]:
    from confidata.secure.explain import EXPLANATIONS  # noqa: PLC0415

    e = EXPLANATIONS[(scenario, technique)]
    return e.trust, tuple(f"{who}: {what}" for who, what in e.learns)


_TTP_TRUST = (
    "trusted third party: it sees every holder's records in clear and is trusted not to misuse or "
    "leak them (the arrangement input privacy replaces)"
)
_TTP_LEAKS = (
    "the third party: every holder's records, in clear",
    "each holder: the result, if a result party; nothing of the others' records",
)
_POOLED_TRUST = "none: the data are pooled in one place (the utility ceiling, not a deployable arrangement)"
_POOLED_LEAKS = ("whoever holds the pool: every record of every holder",)
_PPRL_TRUST = (
    "semi-honest linkage unit that does not collude with a holder and never gets the holders' "
    "shared secret; holders trust each other with that secret"
)
_PPRL_LEAKS = (
    "the linkage unit: each holder's keyed Bloom-filter encodings (open to frequency attacks without "
    "hardening, see confidata pprl attack), their number, and which records it links",
    "each holder: nothing of the other's records; the links if the linkage unit returns them",
)
_NO_PROT_PSI = (
    "an intersection size or sum has no cells to suppress, and the study refuses epsilon for the "
    "intersection statistics"
)
_ALL = 10**7


def _entry(
    scenario,
    key,
    family,
    run,
    explain=None,
    *,
    trust=None,
    leakage=None,
    parties=(2,),
    max_records=_ALL,
    max_reason="",
    latency=True,
    protections=("none",),
    protection_reason="",
) -> Technique:
    if explain is not None:
        trust, leakage = _explained(*explain)
    return Technique(
        key,
        scenario,
        family,
        run,
        trust,
        tuple(leakage),
        parties,
        max_records,
        max_reason,
        latency,
        protections,
        protection_reason,
        explain,
    )


def _baselines(scenario: str, parties: tuple[int, ...]) -> list[Technique]:
    why = "the baselines are the unprotected reference; protection is measured on the secure techniques"
    return [
        _entry(
            scenario,
            "plain_trusted_third_party",
            "baseline",
            tq.run_ttp,
            trust=_TTP_TRUST,
            leakage=_TTP_LEAKS,
            parties=parties,
            protection_reason=why,
        ),
        _entry(
            scenario,
            "pooled",
            "baseline",
            tq.run_pooled,
            trust=_POOLED_TRUST,
            leakage=_POOLED_LEAKS,
            parties=parties,
            latency=False,
            protection_reason=why,
        ),
    ]


_HE_MAX_NOTE = (
    "the key holders take no added delay (`he keygen`/`he decrypt` have no delay option) and the "
    "holders' submissions are files"
)
_MPC_TABLE_PROT = ALL_PROTECTIONS

TECHNIQUES: dict[tuple[str, str], Technique] = {
    (t.scenario, t.key): t
    for t in [
        _entry(
            "horizontal_aggregate",
            "mpc_shamir_mpyc",
            "secret_sharing_mpc",
            tq.run_secure_parties,
            ("table", "mpc"),
            parties=(3, 5),
            protections=ALL_PROTECTIONS,
        ),
        _entry(
            "horizontal_aggregate",
            "he_threshold_paillier",
            "homomorphic_encryption",
            tq.run_he,
            ("he-aggregate", "threshold-he"),
            parties=(3, 5),
            latency=False,
            protections=ALL_PROTECTIONS,
        ),
        *_baselines("horizontal_aggregate", (3, 5)),
        _entry(
            "vertical_join_aggregate",
            "mpc_vertical_helper",
            "secret_sharing_mpc",
            tq.run_secure_parties,
            ("vertical", "helper"),
            protections=ALL_PROTECTIONS,
        ),
        *_baselines("vertical_join_aggregate", (2,)),
        _entry(
            "intersection_count_sum",
            "psi_ecdh",
            "private_set_intersection",
            tq.run_secure_parties,
            ("intersection-size", "ecdh"),
            protection_reason=_NO_PROT_PSI,
        ),
        _entry(
            "intersection_count_sum",
            "psi_helper",
            "private_set_intersection",
            tq.run_secure_parties,
            ("intersection-size", "helper"),
            protection_reason=_NO_PROT_PSI,
        ),
        _entry(
            "intersection_count_sum",
            "psi_sum_bfv",
            "private_set_intersection",
            tq.run_secure_parties,
            ("intersection-sum", "ecdh"),
            protection_reason=_NO_PROT_PSI,
        ),
        _entry(
            "intersection_count_sum",
            "psi_helper_sum",
            "private_set_intersection",
            tq.run_secure_parties,
            ("intersection-sum", "helper"),
            protection_reason=_NO_PROT_PSI,
        ),
        *_baselines("intersection_count_sum", (2,)),
        _entry(
            "record_linkage",
            "pprl_bloom",
            "pprl_bloom_filters",
            tq.run_pprl,
            trust=_PPRL_TRUST,
            leakage=_PPRL_LEAKS,
            latency=False,
            max_records=100_000,
            max_reason="the grid links up to 10^5 x 10^5 here: at 10^6 x 10^6 the automatic threshold's "
            "search ran out of memory on this machine and a given threshold took 502 s "
            "(bench/RESULTS_PPRL.md)",
            protection_reason="linkage outputs record pairs: there are no cells to suppress or noise",
        ),
        _entry(
            "record_linkage",
            "pprl_linkage_table",
            "pprl_bloom_filters",
            tq.run_pprl_table,
            ("linkage", "clk"),
            max_records=100_000,
            max_reason="linked up to 10^5 x 10^5 here, as pprl_bloom (bench/RESULTS_PPRL.md)",
            latency=False,
            protections=("none", "small_cells"),
            protection_reason="the linkage demo's study takes a minimum cell size but no epsilon",
        ),
        *_baselines("record_linkage", (2,)),
        _entry(
            "federated_model",
            "mpc_regression",
            "secret_sharing_mpc",
            tq.run_secure_parties,
            ("regression", "mpc"),
            parties=(3, 5),
            protections=("none", "small_cells"),
            protection_reason="the regression study takes a minimum of rows but no epsilon "
            "(no DP regression)",
        ),
        _entry(
            "federated_model",
            "mpc_vertical_regression",
            "secret_sharing_mpc",
            tq.run_secure_parties,
            ("vertical-regression", "helper"),
            protection_reason="the vertical regression takes no output protection "
            "(no minimum of rows, no epsilon)",
        ),
        *_baselines("federated_model", (3, 5)),
        _entry(
            "quantiles",
            "mpc_quantiles",
            "secret_sharing_mpc",
            tq.run_secure_parties,
            ("quantile", "mpc"),
            parties=(3, 5),
            protections=("none", "small_cells"),
            protection_reason="the study takes epsilon for counts and totals only, not quantiles",
        ),
        *_baselines("quantiles", (3, 5)),
    ]
}

# the latency axis applies to these with a transport; the reason for the others
_NO_LATENCY = {
    "he_threshold_paillier": _HE_MAX_NOTE,
    "pooled": "no transport: the data are pooled in one process",
    "pprl_bloom": "the encodings travel as files, once per holder; no protocol rounds to delay",
    "pprl_linkage_table": "`confidata pprl party` takes no added delay",
}


def refusal(tech: Technique, cell: Cell) -> str | None:
    """Why this technique does not run this cell (None: it runs)."""
    if cell.parties not in tech.parties:
        return (
            f"{tech.key} runs with {' or '.join(map(str, tech.parties))} data holders in this benchmark, "
            f"not {cell.parties}"
        )
    if cell.records > tech.max_records:
        return tech.max_records_reason or f"{tech.key} is run up to {tech.max_records:,} records per party"
    if cell.latency_ms and not tech.latency:
        return _NO_LATENCY.get(tech.key, "no transport to delay")
    if cell.protection not in tech.protections:
        return tech.protection_reason or f"{tech.key} has no '{cell.protection}' output protection"
    return None


def nearest_parties(tech: Technique, wanted: int | None) -> int:
    """The party count of `tech` nearest a case's (its first when the case states none)."""
    if wanted is None:
        return tech.parties[0]
    return min(tech.parties, key=lambda n: (abs(n - wanted), n))


def default_parties(scenario: str) -> int:
    return 3 if scenario in ("horizontal_aggregate", "federated_model", "quantiles") else 2


@dataclass(frozen=True)
class GridSpec:
    sizes: tuple[int, ...]
    latencies: tuple[float, ...]  # at latency_sizes
    latency_sizes: tuple[int, ...]
    protections: tuple[str, ...]  # at protection_sizes
    protection_sizes: tuple[int, ...]
    timeout: float  # per cell, seconds


GRIDS = {
    "quick": GridSpec((1000,), (50.0,), (1000,), ("small_cells", "dp"), (1000,), 300.0),
    "full": GridSpec(
        (10_000, 100_000, 1_000_000),
        (10.0, 50.0, 150.0),
        (10_000, 100_000),
        ("small_cells", "dp"),
        (10_000,),
        900.0,
    ),
}


def grid(spec: GridSpec, scenarios=None, techniques=None, parties: int | None = None) -> list[Cell]:
    """The cells of a grid: every size at 0 ms without protection, the latencies and the
    protections at their sizes, for every selected (scenario, technique)."""
    cells = []
    for (scenario, key), _tech in TECHNIQUES.items():
        if (scenarios and scenario not in scenarios) or (techniques and key not in techniques):
            continue
        n = parties or (2 if key in tq.DATA_LAYOUT else default_parties(scenario))
        for size in spec.sizes:
            cells.append(Cell(scenario, key, size, n, 0.0, "none"))
        for size in spec.latency_sizes:
            cells += [Cell(scenario, key, size, n, lat, "none") for lat in spec.latencies]
        for size in spec.protection_sizes:
            cells += [
                Cell(scenario, key, size, n, 0.0, p, DP_EPSILON if p == "dp" else None)
                for p in spec.protections
            ]
    return cells


def _key(cell: Cell) -> tuple:
    return (
        cell.scenario,
        cell.technique,
        cell.records,
        cell.parties,
        float(cell.latency_ms),
        cell.protection,
        cell.epsilon,
    )


class _Context:
    """What every record of one invocation shares."""

    def __init__(self, out: Path, command: str) -> None:
        self.out = out
        self.command = command
        self.commit = current_commit()
        self.machine = machine_info()
        self.versions = versions()
        self.log = open(out / "bench.log", "a", encoding="utf-8")  # noqa: SIM115 - closed by run_grid

    def note(self, text: str) -> None:
        self.log.write(f"{utc_now()} {text}\n")
        self.log.flush()


def _record(
    ctx: _Context,
    tech: Technique,
    cell: Cell,
    *,
    status: str,
    reason: str | None,
    outcome=None,
    load_before=None,
    load_after=None,
    started_at=None,
    data_note: str | None = None,
) -> Run:
    extra = dict(outcome.extra) if outcome else {}
    if data_note:
        extra["data"] = data_note
    if cell.technique in tq.DATA_LAYOUT:  # compared with its scenario's others, say the split differs
        extra["partitioning"] = (
            "vertical: two holders' columns of partly the same persons, joined by a helper"
        )
    return Run(
        run_id=f"{cell.scenario}/{cell.technique}/{cell.records}x{cell.parties}/{cell.latency_ms:g}ms/"
        f"{cell.protection}/{uuid.uuid4().hex[:8]}",
        started_at=started_at or utc_now(),
        commit=ctx.commit,
        machine=ctx.machine,
        versions=ctx.versions,
        load_before=load_before,
        load_after=load_after,
        scenario=cell.scenario,
        technique=cell.technique,
        technique_family=tech.family,
        records=cell.records,
        parties=cell.parties,
        latency_ms=cell.latency_ms,
        latency_via="transport",
        protection=cell.protection,
        epsilon=cell.epsilon,
        status=status,
        reason=reason,
        wall_s=round(outcome.wall_s, 4) if outcome else None,
        per_party=outcome.per_party if outcome else [],
        accuracy=outcome.accuracy if outcome else None,
        leakage=list(tech.leakage),
        trust=tech.trust,
        extrapolated=False,
        command=ctx.command,
        extra=extra,
    )


def run_cell(ctx: _Context, cell: Cell, timeout: float, work: Path) -> Run:
    tech = TECHNIQUES[(cell.scenario, cell.technique)]
    why = refusal(tech, cell)
    if why:
        ctx.note(f"refused {cell}: {why}")
        return _record(ctx, tech, cell, status="refused", reason=why)
    started_at = utc_now()
    data = scenario_data(
        tq.DATA_LAYOUT.get(cell.technique, cell.scenario), cell.records, cell.parties, ctx.out
    )
    folder = Path(tempfile.mkdtemp(prefix="cell-", dir=work))
    load_before = round(os.getloadavg()[0], 2)
    ctx.note(f"start {cell} load {load_before}")
    status, reason, outcome = "ok", None, None
    try:
        outcome = tech.run(cell, data, folder, timeout)
    except tq.TechniqueTimeout as exc:
        status, reason = "timeout", str(exc)
    except (tq.TechniqueFailed, ConfidataError) as exc:
        status, reason = "failed", str(exc)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load_after = round(os.getloadavg()[0], 2)
    ctx.note(
        f"{status} {cell} wall {outcome.wall_s if outcome else None} load {load_after}"
        + (f": {reason}" if reason else "")
    )
    return _record(
        ctx,
        tech,
        cell,
        status=status,
        reason=reason,
        outcome=outcome,
        load_before=load_before,
        load_after=load_after,
        started_at=started_at,
        data_note=data.note,
    )


def run_grid(
    cells: list[Cell],
    out: Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    timeout: float = 900.0,
    command: str | None = None,
    progress: Callable | None = None,
    notes: dict | None = None,
) -> list[Run]:
    """Run every cell not yet in out/results.jsonl; returns the runs written by this call."""
    results = out / "results.jsonl"
    if results.exists() and not (resume or overwrite):
        raise ConfidataError(
            f"'{results}' exists; pass --resume to add the missing runs or --overwrite to start again."
        )
    out.mkdir(parents=True, exist_ok=True)
    if overwrite and results.exists():
        results.unlink()
    # a failed cell is run again (a party may have failed for a passing cause); its record stays
    done = {r.key() for r in read_runs(results) if r.status != "failed"} if results.exists() else set()
    todo = [c for c in cells if _key(c) not in done]
    ctx = _Context(out, command or " ".join(shlex.quote(a) for a in sys.argv))
    ctx.note(
        f"grid of {len(cells)} cells, {len(cells) - len(todo)} already recorded, {len(todo)} to run; "
        f"commit {ctx.commit}"
    )
    work = Path(tempfile.mkdtemp(prefix="work-", dir=out))  # this call's own: another may run beside it
    written = []
    try:
        for i, cell in enumerate(todo):
            if progress:
                progress(i, len(todo), cell)
            run = run_cell(ctx, cell, timeout, work)
            if notes and cell in notes:  # e.g. which catalogue case, and how it was scaled
                run = dataclasses.replace(run, extra={**run.extra, **notes[cell]})
            append_run(results, run)
            written.append(run)
        if progress:
            progress(len(todo), len(todo), None)
    finally:
        ctx.note("stopped" if len(written) < len(todo) else "finished")
        ctx.log.close()
        shutil.rmtree(work, ignore_errors=True)
    return written


def elapsed(start: float) -> str:
    return f"{time.perf_counter() - start:.0f} s"
