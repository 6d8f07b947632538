"""The steps every joined party takes around its protocol (intersection, vertical table, vertical
regression), written once: reading a holder's file without stopping early, and running the
link phase then the MPyC phase with the failure blamed on the right party.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from confidata.errors import ConfidataError, InputFileError
from confidata.secure.channel import Links
from confidata.secure.engine import Engine, PartyFailure
from confidata.secure.study import Study

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["exchange_traffic", "read_holder_input", "run_link_then_mpc"]

T = TypeVar("T")
R = TypeVar("R")


def read_holder_input(
    name: str, data: str | Path | None, schema: str | Path | None, to_input: Callable[[pd.DataFrame], T]
) -> tuple[T | None, ConfidataError | None]:
    """A holder's file as its protocol's input, or the problem that stops it.

    The problem is returned, not raised: the party still connects and tells its peers, so every
    party stops naming it instead of waiting for it. Without a schema the raw text is read:
    identifiers keep their leading zeros (inference would read "000123" as 123) and a million
    rows read in a second, not in twenty.
    """
    from confidata.table import read_table
    from confidata.table.readers import read_raw

    try:
        if data is None:
            raise InputFileError(f"Party '{name}' holds data in this study: pass its file with --data.")
        frame = read_table(Path(data), Path(schema))[0] if schema else read_raw(Path(data)).frame
        return to_input(frame), None
    except ConfidataError as exc:
        return None, exc


def run_link_then_mpc(
    links: Links, engine: Engine, name: str, main: Callable[[dict], Coroutine[Any, Any, R]]
) -> R:
    """Run `main(phase)` on the engine's loop. Before MPyC starts (`phase["mpc"]` still false) a
    failure closes every link naming the party at fault; after, MPyC is shut down in order and
    the error explained by the engine (a peer's closed link is traced to its reason)."""
    phase = {"mpc": False}
    try:
        return engine.rt.run(main(phase))
    except BaseException as exc:
        if not phase["mpc"]:
            links.abort(exc.parties if isinstance(exc, PartyFailure) else [name])
            raise
        engine.abort()
        explained = engine.explain(exc)
        if explained is exc:
            raise
        raise explained from None


async def exchange_traffic(engine: Engine, study: Study, counts: list[int]) -> dict[str, dict[str, int]]:
    """Every party's bytes, messages and rounds, shared at the end so each report shows them all.

    `counts` holds one (bytes, messages, rounds) triple per phase (MPyC's alone, or the links'
    then MPyC's); the phases are summed per party. A malformed list from a peer stops the party.
    """
    every = await engine.step(engine.rt.transfer(list(counts)), "reporting")
    names = [p.name for p in study.parties]
    if not isinstance(every, list) or len(every) != len(names) or not all(
        isinstance(c, (list, tuple)) and len(c) == len(counts) and all(type(v) is int for v in c)
        for c in every
    ):
        raise PartyFailure(f"Party '{engine.me}' stopped: malformed counts from a peer.")
    return {
        key: {n: sum(c[i::3]) for n, c in zip(names, every, strict=True)}
        for i, key in enumerate(("bytes_sent", "messages_sent", "rounds"))
    }
