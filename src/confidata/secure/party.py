"""One party as its own OS process: read, check and aggregate locally, connect, agree on the
study, compute the secure table, report.

Order of events, and what stops everyone:

1. Read the party's data and reduce them to per-cell sums (`local.aggregate`). A problem here
   does not end the process yet: the party still connects and tells the others, so that all
   stop naming it rather than waiting for a party that never comes.
2. Connect to every party (`Engine.connect`; fails naming the parties that did not come within
   ``connect_timeout``).
3. Exchange the study digest, the schema fingerprint and an ok/problem word (all public: hashes
   of public study files and of how columns are typed; never data). Any difference stops all
   parties, naming the odd ones.
4. The secure protocol; every step is bounded by ``step_timeout`` and stops at once when a peer
   disconnects or sends malformed data, naming it.
5. Every party shares its byte, message and round counts (public metadata); the result parties
   write their output file only now, atomically: a failed run leaves no output (`outcome`).

Nothing here exists for tests: a test that needs a faulty party (one that leaks its data
or sends garbage) starts this same code with a wrapped engine (tests/_faulty_party.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from confidata.errors import ConfidataError
from confidata.secure.engine import Engine, PartyFailure
from confidata.secure.local import LocalAggregates, read_party_data, schema_fingerprint
from confidata.secure.outcome import RunReport, refuse_existing_output, write_output
from confidata.secure.party_steps import exchange_traffic
from confidata.secure.protection import discrete_laplace, noise_plan
from confidata.secure.scaling import FixedPointPlan, plan_for
from confidata.secure.statistics import local_input, secure_statistic
from confidata.secure.study import Study, load_study

__all__ = ["PartyReport", "run_party"]


@dataclass
class PartyReport(RunReport):
    """A secure-table party's report; ``result`` is a `TableResult` at a result party."""


def _noise(study: Study) -> dict[str, np.ndarray]:
    if study.epsilon is None:
        return {}
    return {
        name: discrete_laplace(sens / study.epsilon, study.n_cells)
        for name, sens in noise_plan(study).items()
    }


def _local(study: Study, plan: FixedPointPlan, data: Path, schema: Path | None):
    try:
        frame, found = read_party_data(study, data, schema)
        return local_input(study, frame, plan), schema_fingerprint(study, found), None
    except ConfidataError as exc:
        return None, "", exc


def run_party(
    study_path: str | Path,
    name: str,
    data: str | Path,
    *,
    schema: str | Path | None = None,
    key: str | Path | None = None,
    output: str | Path | None = None,
    overwrite: bool = False,
    added_delay: float = 0.0,
) -> PartyReport:
    """Run one party to the end; raises `ConfidataError` (naming the party at fault) on failure."""
    started = time.perf_counter()
    study = load_study(study_path)
    study.party(name)
    plan = plan_for(study)
    refuse_existing_output(output, overwrite)
    agg, fingerprint, problem = _local(study, plan, Path(data), Path(schema) if schema else None)
    engine = Engine(study, name, key_file=Path(key) if key else None, added_delay=added_delay)
    engine.build()
    rt = engine.rt
    try:
        report = rt.run(_protocol(engine, study, plan, agg, fingerprint, problem))
    except BaseException as exc:
        engine.abort()
        explained = engine.explain(exc)
        if explained is exc:
            raise
        raise explained from None
    report.seconds_total = time.perf_counter() - started
    write_output(output, report)
    return report


async def _protocol(
    engine: Engine,
    study: Study,
    plan: FixedPointPlan,
    agg: LocalAggregates | None,
    fingerprint: str,
    problem: ConfidataError | None,
) -> PartyReport:
    rt = engine.rt
    await engine.connect()
    mine = (study.digest, fingerprint, "ok" if problem is None else "data")
    theirs = await engine.step(rt.transfer(mine), "the study check")
    if problem is not None:  # the others learn it from the check and stop; say why here
        raise problem
    _compare(engine, study, mine, theirs)
    result = await secure_statistic(engine, study, plan, agg, _noise(study))
    seconds_secure = time.perf_counter() - engine.connected_at
    mine = [engine.bytes_sent(), engine.messages_sent(), engine.rounds]
    traffic = await exchange_traffic(engine, study, mine)
    await engine.shutdown()
    return PartyReport(
        engine.me,
        result,
        seconds_secure,
        0.0,
        **traffic,
        study_digest=study.digest,
        result_parties=list(study.results),
    )


def _compare(engine: Engine, study: Study, mine: tuple, theirs: list) -> None:
    names = [p.name for p in study.parties]
    if (
        not isinstance(theirs, list)
        or len(theirs) != len(names)
        or not all(
            isinstance(t, tuple) and len(t) == 3 and all(isinstance(s, str) for s in t) for t in theirs
        )
    ):
        raise PartyFailure(f"Party '{engine.me}' stopped: malformed study check from a peer.")
    digests = [t[0] for t in theirs]
    majority = max(set(digests), key=digests.count)
    odd = [names[i] for i, d in enumerate(digests) if d != majority]
    if odd:
        raise PartyFailure(
            f"Party '{engine.me}' stopped: the study file of party(ies) "
            f"{', '.join(repr(n) for n in odd)} differs from the others' (digest mismatch); "
            "every party must use the same study file.",
            odd,
        )
    bad = [names[i] for i, t in enumerate(theirs) if t[2] != "ok"]
    if bad:
        raise PartyFailure(
            f"Party '{engine.me}' stopped: the data of party(ies) "
            f"{', '.join(repr(n) for n in bad)} do not match the study (missing column, unknown "
            "level or value out of bounds); that party's own error says which column.",
            bad,
        )
    prints = [t[1] for t in theirs]
    majority = max(set(prints), key=prints.count)
    odd = [names[i] for i, p in enumerate(prints) if p != majority]
    if odd:
        raise PartyFailure(
            f"Party '{engine.me}' stopped: party(ies) {', '.join(repr(n) for n in odd)} type the "
            "study's columns differently (schema fingerprint mismatch); align their schemas.",
            odd,
        )
