"""One party of a vertical-table study as its own OS process (``confidata secure party``).

Two transports, one after the other, on the party's one port: the join and the product move
arrays of a million rows, which MPyC would pickle and hold as Python integers, so they travel on
`channel.Links` (framed numpy arrays over TLS, never pickle); the last step, on a table's few
cells, runs on MPyC (`engine.Engine`), where the output protection of the horizontal tables
already lives (`protocol.secure_table`).

Order of events, and what stops everyone:

1. A holder reads its file and reduces it to keys, level codes and values (`vertical`). A
   problem here does not end the process yet: it connects and tells the others, so all stop
   naming it. The helper reads nothing.
2. Links phase: connect; exchange the study digest, the identifier normaliser's fingerprint
   (holders) and an ok/problem word. A different study (another normalisation, other levels,
   other holders), a different normaliser or a data problem stops every party before anything
   is computed, naming the odd one. Then the join and the secure product (`vertical_join`):
   A and the helper end with additive shares a and h of every cell (mod 2**bits).
3. MPyC phase (same ports, MPyC's own links): the exact cells from a and h with one secure
   product per cell (`vertical_join.reconstruct_carry`: the wrap-around is the OR of the two
   shares' top bits), then a masked opening to the helper only, of t + r_A + r_B + r_H where
   each party's r is uniform on [0, 2**(bits+40)): every party then holds a whole-number share
   of each cell (the helper t + r - r_H, the others -r_X), hiding t to within 2**-40 in
   statistical distance. Those shares go into `secure_table` as each party's local
   aggregates: minimum cell size, DP noise, result to the result parties only.
4. Every party shares its byte, message and round counts; a result party writes its output only
   now, atomically: a failed run leaves no output.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from confidata.errors import ConfidataError
from confidata.secure.channel import FINAL, Links
from confidata.secure.engine import Engine
from confidata.secure.local import LocalAggregates
from confidata.secure.outcome import refuse_existing_output, write_output
from confidata.secure.party_steps import exchange_traffic, read_holder_input, run_link_then_mpc
from confidata.secure.peer_check import exchange_checks
from confidata.secure.plain import TableResult
from confidata.secure.protection import discrete_laplace, noise_plan
from confidata.secure.protocol import secure_table
from confidata.secure.scaling import FixedPointPlan, plan_for
from confidata.secure.study import Study, load_study
from confidata.secure.vertical import VerticalInput, ring_bits, vertical_input
from confidata.secure.vertical_join import helper_join, holder_join

__all__ = ["VerticalReport", "run_vertical_party"]

_MASK_BITS = 40  # statistical hiding of the opened, masked cells


@dataclass
class VerticalReport:
    party: str
    role: str
    result: TableResult | None
    seconds_secure: float  # from all parties connected to the result
    seconds_total: float  # the whole process, reading the data included
    bytes_sent: dict[str, int] = field(default_factory=dict)  # both phases, framing before TLS
    messages_sent: dict[str, int] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=dict)  # join phase rounds + MPyC phase rounds
    seconds_join: float = 0.0  # this party's join and product phase
    join_size: int | None = None  # every party learns it (see `vertical_join`)
    study_digest: str = ""
    result_parties: list[str] = field(default_factory=list)
    local_notes: list[str] = field(default_factory=list)  # this party's own data only

    def to_dict(self) -> dict:
        return {
            "party": self.party,
            "role": self.role,
            "result": self.result.to_dict() if self.result else None,
            "seconds_secure": self.seconds_secure,
            "seconds_total": self.seconds_total,
            "seconds_join": self.seconds_join,
            "bytes_sent": self.bytes_sent,
            "messages_sent": self.messages_sent,
            "rounds": self.rounds,
            "join_size": self.join_size,
            "study_digest": self.study_digest,
            "result_parties": self.result_parties,
            "local_notes": self.local_notes,
        }


def run_vertical_party(
    study_path: str | Path | Study,
    name: str,
    data: str | Path | None,
    *,
    schema: str | Path | None = None,
    key: str | Path | None = None,
    output: str | Path | None = None,
    overwrite: bool = False,
    added_delay: float = 0.0,
) -> VerticalReport:
    """Run one party of a vertical-table study to the end; raises `ConfidataError` on failure."""
    started = time.perf_counter()
    study = study_path if isinstance(study_path, Study) else load_study(study_path)
    party = study.party(name)
    refuse_existing_output(output, overwrite)
    plan = plan_for(study)
    inp, problem = None, None
    if party.role == "holder":
        inp, problem = read_holder_input(
            name, data, schema, lambda frame: vertical_input(study, frame, name, plan)
        )
    key_file = Path(key) if key else None
    links = Links(study, name, key_file=key_file, added_delay=added_delay)
    engine = Engine(study, name, key_file=key_file, added_delay=added_delay)
    engine.build()
    report = run_link_then_mpc(
        links, engine, name, lambda phase: _main(links, engine, study, plan, party.role, inp, problem, phase)
    )
    report.seconds_total = time.perf_counter() - started
    if inp is not None:
        report.local_notes = [
            f"{len(inp):,} units with a complete identifier; {inp.ids.missing:,} row(s) without one left out."
        ]
    write_output(output, report)
    return report


async def _main(
    links: Links,
    engine: Engine,
    study: Study,
    plan: FixedPointPlan,
    role: str,
    inp: VerticalInput | None,
    problem: ConfidataError | None,
    phase: dict,
) -> VerticalReport:
    import asyncio  # noqa: PLC0415

    await links.connect()
    connected = time.perf_counter()
    others = [p.name for p in study.parties if p.name != links.me]
    await exchange_checks(links, study, role, problem)
    if role == "helper":
        share, join_size = await helper_join(links, study)
    else:
        share, join_size = await holder_join(links, study, inp)
    seconds_join = time.perf_counter() - connected
    for peer in others:  # the last message on these links; their close is then orderly
        await links.send(peer, FINAL, {"done": 1})
    for peer in others:
        await links.recv(peer, FINAL)
    await links.close()
    await asyncio.sleep(0.05)  # let the links' sockets close before MPyC listens on the same port

    phase["mpc"] = True
    await engine.connect()
    agg = await _exact_shares(engine, study, share)
    noise = {
        name: discrete_laplace(sens / study.epsilon, study.n_cells)
        for name, sens in noise_plan(study).items()
    }
    result = await secure_table(engine, study, plan, agg, noise)
    seconds = time.perf_counter() - connected
    counts = [
        links.bytes_sent(),
        links.messages_sent(),
        links.rounds,
        engine.bytes_sent(),
        engine.messages_sent(),
        _mpc_rounds(engine),
    ]
    traffic = await exchange_traffic(engine, study, counts)
    await engine.shutdown()
    return VerticalReport(
        links.me,
        role,
        result,
        seconds,
        0.0,
        **traffic,
        seconds_join=seconds_join,
        join_size=join_size,
        study_digest=study.digest,
        result_parties=list(study.results),
    )


def _mpc_rounds(engine: Engine) -> int:
    """MPyC-phase rounds: the engine's count where it keeps one, else messages on the busiest link
    (an upper bound: independent messages may share a round)."""
    rounds = getattr(engine, "rounds", None)
    if isinstance(rounds, int):
        return rounds
    return max((s.messages_sent for s in engine.stats.values()), default=0)


async def _exact_shares(engine: Engine, study: Study, share: np.ndarray | None) -> LocalAggregates:
    """From A's and the helper's ring shares to whole-number shares at every party (see module notes)."""
    rt = engine.rt
    bits = ring_bits(study)
    cells = study.n_cells * (2 if study.value else 1)
    a_pid = study.index(study.by_holders[0])
    h_pid = study.index(study.helper.name)
    secint = rt.SecInt(bits + _MASK_BITS + 8)
    if share is not None:
        values = [int(v) for v in np.asarray(share, dtype=np.uint64)]
        mine = np.array(values + [v >> (bits - 1) for v in values], dtype=object)
    else:
        mine = np.zeros(2 * cells, dtype=object)
    got_a, got_h = rt.input(secint.array(mine), senders=[a_pid, h_pid])
    va, ba = got_a[:cells], got_a[cells:]
    vh, bh = got_h[:cells], got_h[cells:]
    exact = va + vh - (ba + bh - ba * bh) * (1 << bits) - (1 << (bits - 2))
    r = np.array([secrets.randbelow(1 << (bits + _MASK_BITS)) for _ in range(cells)], dtype=object)
    masks = rt.input(secint.array(r), senders=list(range(len(study.parties))))
    masked = exact
    for m in masks:
        masked = masked + m
    opened = await engine.step(rt.output(masked, receivers=[h_pid], raw=True), "the exact cells")
    if engine.pid == h_pid:
        p = secint.field.modulus
        values = np.asarray(opened.value, dtype=object)
        ints = np.array([int(v) - p if int(v) > p // 2 else int(v) for v in values], dtype=object) - r
    else:
        ints = -r
    n = ints[: study.n_cells]
    s1 = ints[study.n_cells :] if study.value else np.zeros(study.n_cells, dtype=object)
    return LocalAggregates(n=n, W=n.copy(), S1=s1, S2=np.zeros(study.n_cells, dtype=object))
