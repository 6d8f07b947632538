"""The study check that every intersection or vertical party makes before computing anything:
the peers' study digests, data status and identifier normaliser must equal this party's, so a
holder with another study file, data that fail the study, or another normalisation stops all
parties, named, before a single identifier is processed."""

from __future__ import annotations

from confidata.errors import ConfidataError
from confidata.secure.channel import Links
from confidata.secure.engine import PartyFailure
from confidata.secure.identifiers import normaliser_fingerprint
from confidata.secure.study import Study

__all__ = ["check_peers", "exchange_checks"]


async def exchange_checks(links: Links, study: Study, role: str, problem: ConfidataError | None) -> None:
    """Send this party's check to every peer and read theirs, then stop on this party's own data
    problem (after telling the peers, so they stop naming it) or on any difference."""
    others = [p.name for p in study.parties if p.name != links.me]
    mine = {
        "digest": study.digest,
        "normaliser": normaliser_fingerprint(study) if role == "holder" else "",
        "status": "ok" if problem is None else "data",
    }
    for peer in others:
        await links.send(peer, "check", mine)
    theirs = {peer: await links.recv(peer, "check") for peer in others}
    if problem is not None:
        raise problem
    check_peers(links.me, study, mine, theirs)


def check_peers(me: str, study: Study, mine: dict, theirs: dict[str, dict]) -> None:
    """Stop, naming the parties, when a peer's digest, data status or normaliser differs."""
    for peer, got in theirs.items():
        if not isinstance(got, dict) or not all(isinstance(got.get(k), str) for k in mine):
            raise PartyFailure(f"Party '{me}' stopped: malformed study check from party '{peer}'.", [peer])
    odd = [p for p, got in theirs.items() if got["digest"] != mine["digest"]]
    if odd:
        raise PartyFailure(
            f"Party '{me}' stopped: the study file of party(ies) {', '.join(repr(n) for n in odd)} "
            "differs from this party's (digest mismatch: another identifier normalisation, statistic, "
            "technique, levels, holders or party list); every party must use the same study file.",
            odd,
        )
    bad = [p for p, got in theirs.items() if got["status"] != "ok"]
    if bad:
        raise PartyFailure(
            f"Party '{me}' stopped: the data of party(ies) {', '.join(repr(n) for n in bad)} do not match "
            "the study (a missing identifier or value column, an unlisted level, a repeated identifier "
            "or a value out of bounds); that party's own error says which column.",
            bad,
        )
    holders = {p.name for p in study.holders}
    if mine["normaliser"]:
        odd = [p for p, got in theirs.items() if p in holders and got["normaliser"] != mine["normaliser"]]
        if odd:
            raise PartyFailure(
                f"Party '{me}' stopped: party(ies) {', '.join(repr(n) for n in odd)} normalise identifiers "
                "differently from this party (normaliser fingerprint mismatch: another confidata or "
                "Python Unicode version); run the same versions at every holder.",
                odd,
            )
