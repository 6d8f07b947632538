"""One party of an intersection study as its own OS process (``confidata secure party``).

Order of events, as for the secure tables (`party.py`), and what stops everyone:

1. A holder reads its file and normalises its identifiers (`psi.psi_input`). A problem here does
   not end the process yet: it still connects and tells the others, so all stop naming it.
   The helper reads nothing.
2. Connect to every party (`channel.Links.connect`, TLS by default).
3. Exchange the study digest, the normaliser fingerprint (holders) and an ok/problem word: all
   public. A different study file (a different normalisation, technique or identifier is a
   different study), a different normaliser (another Python's Unicode tables) or a data problem
   stops every party before anything is computed, naming the odd one.
4. The protocol (`psi_ecdh` or `psi_helper`); every step bounded by ``step_timeout``.
5. Every party shares its byte, message and round counts; a result party writes its output
   file only now, atomically: a failed run leaves no output (`outcome`, shared with the tables).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from confidata.errors import ConfidataError
from confidata.secure.channel import FINAL, Links
from confidata.secure.engine import PartyFailure
from confidata.secure.outcome import RunReport, refuse_existing_output, write_output
from confidata.secure.party_steps import read_holder_input
from confidata.secure.peer_check import exchange_checks
from confidata.secure.psi import PsiInput, psi_input
from confidata.secure.study import Study, load_study

__all__ = ["PsiReport", "run_psi_party"]


@dataclass
class PsiReport(RunReport):
    """An intersection party's report; ``result`` is a `PsiResult` at a result party."""

    role: str = "holder"
    local_notes: list[str] = field(default_factory=list)  # this party's own data only


def run_psi_party(
    study_path: str | Path | Study,
    name: str,
    data: str | Path | None,
    *,
    schema: str | Path | None = None,
    key: str | Path | None = None,
    output: str | Path | None = None,
    overwrite: bool = False,
    added_delay: float = 0.0,
) -> PsiReport:
    """Run one party of an intersection study to the end; raises `ConfidataError` on failure."""
    started = time.perf_counter()
    study = study_path if isinstance(study_path, Study) else load_study(study_path)
    party = study.party(name)
    refuse_existing_output(output, overwrite)
    inp, problem = None, None
    if party.role == "holder":
        inp, problem = read_holder_input(name, data, schema, lambda frame: psi_input(study, frame, name))
    links = Links(study, name, key_file=Path(key) if key else None, added_delay=added_delay)
    report = asyncio.run(_guarded(links, study, party.role, inp, problem))
    report.seconds_total = time.perf_counter() - started
    if inp is not None:
        ids = inp.ids
        report.local_notes = [
            f"{len(ids.keys):,} distinct identifiers; {ids.missing:,} row(s) without a complete "
            f"identifier left out; {ids.duplicates:,} row(s) repeating an identifier counted once."
        ]
    write_output(output, report)
    return report


async def _guarded(links: Links, *args) -> PsiReport:
    """Run the party; on any failure close every link at once, so the peers stop too."""
    try:
        return await _main(links, *args)
    except PartyFailure as exc:
        links.abort(exc.parties)
        await asyncio.sleep(0.2)  # let the loop write the abort notes before it closes
        raise
    except Exception:
        links.abort([links.me])  # this party's own problem (its data, a bug): it names itself
        await asyncio.sleep(0.2)
        raise
    except BaseException:
        links.abort([links.me])
        raise


async def _main(
    links: Links, study: Study, role: str, inp: PsiInput | None, problem: ConfidataError | None
) -> PsiReport:
    from confidata.secure.psi_ecdh import ecdh_psi  # noqa: PLC0415 - loaded only when used
    from confidata.secure.psi_helper import helper_psi, holder_psi  # noqa: PLC0415

    await links.connect()
    others = [p.name for p in study.parties if p.name != links.me]
    await exchange_checks(links, study, role, problem)
    if role == "helper":
        result = await helper_psi(links, study)
    elif study.technique == "ecdh":
        result = await ecdh_psi(links, study, inp)
    else:
        result = await holder_psi(links, study, inp)
    seconds = time.perf_counter() - links.connected_at
    counts = {"bytes": links.bytes_sent(), "messages": links.messages_sent(), "rounds": links.rounds}
    for peer in others:
        await links.send(peer, FINAL, counts)
    every = {links.me: counts}
    for peer in others:
        got = await links.recv(peer, FINAL)
        if not isinstance(got, dict) or not all(isinstance(got.get(k), int) for k in counts):
            raise PartyFailure(f"Party '{links.me}' stopped: malformed counts from party '{peer}'.", [peer])
        every[peer] = got
    await links.close()
    names = [p.name for p in study.parties]
    return PsiReport(
        links.me,
        result,
        seconds,
        0.0,
        role=role,
        bytes_sent={n: every[n]["bytes"] for n in names},
        messages_sent={n: every[n]["messages"] for n in names},
        rounds={n: every[n]["rounds"] for n in names},
        study_digest=study.digest,
        result_parties=list(study.results),
    )
