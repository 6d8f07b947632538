"""One party of a linkage study as its own process (``confidata pprl party``): encoded linkage,
then a secure table over the linked pairs.

The study is a ``vertical_table`` study (`secure.study`): two holders, each with one category
column, and a helper, here the linkage unit. Each process runs two phases on its one port:

1. Linkage, on `secure.channel.Links` (framed arrays over TLS, never pickle). Each holder encodes
   its file (`encode`: keyed CLKs under the key the holders share, which the linkage unit never
   gets) and sends the encodings, in row order and without record ids, with their header (field
   list, filter length, key check value). The linkage unit links them (`link.link`: blocking,
   Dice, greedy one to one, `--auto` threshold) and draws a random 64-bit label for every row of
   both files: a linked pair gets one label, shared by its two rows; every other row a label of
   its own. It sends each holder one label per row. A holder cannot tell a linked row's label
   from an unlinked one's: it learns no more than how many rows it sent.
2. The table, as a vertical-table party (`secure.vertical_party`): each holder enters every row,
   its label as the identifier and its category; the join on keyed pseudonyms of the labels finds
   exactly the linked pairs, and the table of holder A's category by holder B's over them is
   computed on secret shares, with the study's output protection. The labels are what the issue
   calls pair indices: the secure table is keyed on them, never on a name or a record id.

What each learns (`secure.explain`, scenario ``linkage``): the linkage unit sees encodings and
Dice scores, never a name or key, and which row positions link (it draws the labels); it learns
the join size again in phase 2. The holders learn the number of linked pairs (the join size) and
the result party the protected table. A real deployment starts one process per machine, as here.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from confidata.errors import ConfidataError, InputFileError
from confidata.pprl.clkfile import Encoding
from confidata.pprl.encode import encode
from confidata.pprl.fields import parse_fields
from confidata.pprl.keys import read_key
from confidata.pprl.link import link
from confidata.secure.channel import FINAL, Links
from confidata.secure.engine import PartyFailure
from confidata.secure.outcome import refuse_existing_output
from confidata.secure.study import Study, load_study
from confidata.secure.vertical import holder_columns
from confidata.secure.vertical_party import VerticalReport, run_vertical_party
from confidata.table.readers import read_raw

__all__ = ["LinkageReport", "run_linkage_party"]

LABEL = "person"  # the identifier column of the table phase: the pair labels


@dataclass
class LinkageReport:
    """One party's account of the linkage phase (counts and times only, no data value)."""

    party: str
    role: str
    records: dict[str, int] = field(default_factory=dict)  # rows each holder sent
    links: int | None = None  # linkage unit only
    threshold: float | None = None
    threshold_method: str = ""
    compared: int | None = None
    seconds_encode: float = 0.0  # holders
    seconds_link: float = 0.0  # linkage unit: blocking, scores, assignment
    seconds_phase: float = 0.0  # from connected to labels delivered
    bytes_sent: int = 0  # this party, linkage phase, framing included, before TLS

    def to_dict(self) -> dict:
        return asdict(self)


def run_linkage_party(
    study_path: str | Path,
    name: str,
    data: str | Path | None,
    *,
    fields: str | None,
    secret_file: str | Path | None,
    output: str | Path,
    pairs_output: str | Path | None = None,
    overwrite: bool = False,
) -> tuple[LinkageReport, VerticalReport]:
    """Run one party of a linkage study to the end; raises `ConfidataError` on failure.

    Holders pass `data`, `fields` and `secret_file`; the linkage unit (the study's helper) none
    of them, and may pass `pairs_output`: a CSV of the linked row positions and scores, its own
    knowledge, for checking the table in the clear (the demo does).
    """
    study = load_study(study_path)
    if not study.is_vertical:
        raise ConfidataError(
            "A linkage study is a vertical_table study (two holders and a helper, the linkage "
            "unit); this study's statistic is another."
        )
    role = study.party(name).role
    refuse_existing_output(output, overwrite)
    linkage_out = _linkage_path(output)
    refuse_existing_output(linkage_out, overwrite)
    report = LinkageReport(party=name, role="linkage unit" if role == "helper" else "holder")
    encoding, frame = None, None
    if role == "holder":
        if data is None or fields is None or secret_file is None:
            raise InputFileError(
                f"Party '{name}' holds data: pass its file with --data, the shared --fields and "
                "the holders' --secret-file."
            )
        column, _ = holder_columns(study, name)
        frame = read_raw(Path(data)).frame
        if column not in frame.columns:
            raise InputFileError(
                f"The data of holder '{name}' lack column '{column}' that the study gives it; "
                "rename the column or fix the study."
            )
        started = time.perf_counter()
        frame = frame.reset_index(drop=True)
        frame["_row"] = np.arange(len(frame)).astype(str)
        encoding = encode(frame, id_column="_row", fields=parse_fields(fields),
                          key=read_key(secret_file), bad_dates="missing").encoding
        report.seconds_encode = time.perf_counter() - started
    links = Links(study, name)
    try:
        labels = asyncio.run(_linkage(links, study, role, encoding, report, pairs_output))
    except BaseException as exc:
        blame = exc.parties if isinstance(exc, PartyFailure) else [name]
        links.abort(blame)
        raise
    report.bytes_sent = links.bytes_sent()
    Path(linkage_out).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    if role == "helper":
        return report, run_vertical_party(study, name, None, output=output, overwrite=overwrite)
    column, _ = holder_columns(study, name)
    keyed = pd.DataFrame({LABEL: [f"{int(x):016x}" for x in labels], column: frame[column]})
    with tempfile.TemporaryDirectory(prefix="confidata-linkage-") as tmp:
        path = Path(tmp) / "labelled.csv"
        keyed.to_csv(path, index=False)
        return report, run_vertical_party(study, name, path, output=output, overwrite=overwrite)


def _linkage_path(output: str | Path) -> Path:
    path = Path(output)
    return path.with_name(f"{path.stem}.linkage.json")


async def _linkage(links: Links, study: Study, role: str, encoding: Encoding | None,
                   report: LinkageReport, pairs_output) -> np.ndarray | None:
    await links.connect()
    connected = time.perf_counter()
    holders = list(study.by_holders)
    helper = next(p.name for p in study.parties if p.role == "helper")
    others = [p.name for p in study.parties if p.name != links.me]
    if role == "holder":
        header = {k: v for k, v in encoding.header.items() if k != "id_column"}
        await links.send(helper, "clkhead", {"digest": study.digest, "header": header})
        await links.send(helper, "clk", encoding.words)
        labels = await links.recv(helper, "labels", dtype=np.uint64)
        if len(labels) != len(encoding):
            raise PartyFailure(f"Party '{links.me}' stopped: party '{helper}' sent "
                               f"{len(labels):,} labels for {len(encoding):,} rows.", [helper])
    else:
        got = {}
        for holder in holders:
            head = await links.recv(holder, "clkhead")
            if not isinstance(head, dict) or head.get("digest") != study.digest:
                raise PartyFailure(
                    f"Party '{links.me}' stopped: the study file of party '{holder}' differs from "
                    "this party's (digest mismatch); every party must use the same study file.",
                    [holder])
            width = int(head.get("header", {}).get("bits", 0)) // 64
            if not 1 <= width <= 64:
                raise PartyFailure(f"Party '{links.me}' stopped: malformed encoding header from "
                                   f"party '{holder}'.", [holder])
            words = await links.recv(holder, "clk", dtype=np.uint64, cols=width)
            words = np.ascontiguousarray(words.reshape(-1, width))
            ids = np.arange(len(words)).astype(str).astype(object)
            got[holder] = Encoding(ids=ids, words=words, header=dict(head["header"], id_column=holder))
        a, b = (got[h] for h in holders)
        started = time.perf_counter()
        result = await links.compute(link, a, b)
        report.seconds_link = time.perf_counter() - started
        rows_a = result.matches.iloc[:, 0].astype(np.int64).to_numpy()
        rows_b = result.matches.iloc[:, 1].astype(np.int64).to_numpy()
        labels_a, labels_b = _labels(len(a), len(b), rows_a, rows_b)
        report.records = {holders[0]: len(a), holders[1]: len(b)}
        report.links, report.compared = len(rows_a), result.compared
        report.threshold, report.threshold_method = result.threshold, result.threshold_method
        if pairs_output is not None:
            pd.DataFrame({f"row_{holders[0]}": rows_a, f"row_{holders[1]}": rows_b,
                          "score": result.matches["score"].to_numpy()}).to_csv(pairs_output, index=False)
        await links.send(holders[0], "labels", labels_a)
        await links.send(holders[1], "labels", labels_b)
        labels = None
    for peer in others:  # the last message on these links; their close is then orderly
        await links.send(peer, FINAL, {"done": 1})
    for peer in others:
        await links.recv(peer, FINAL)
    report.seconds_phase = time.perf_counter() - connected
    await links.close()
    await asyncio.sleep(0.05)  # let the sockets close before the table phase listens on the port
    return labels


def _labels(n_a: int, n_b: int, rows_a: np.ndarray, rows_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A random 64-bit label per row of both files, distinct, shared by the two rows of a pair.

    Drawn from the operating system's randomness, so a holder cannot tell a linked row's label
    from any other's (they are all uniform and distinct) nor predict the other holder's.
    """
    rng = np.random.default_rng(secrets.randbits(128))
    while True:
        fresh = rng.integers(0, 2**63, size=n_a + n_b, dtype=np.int64).astype(np.uint64)
        if len(np.unique(fresh)) == len(fresh):
            break
    labels_a, labels_b = fresh[:n_a].copy(), fresh[n_a:].copy()
    labels_b[rows_b] = labels_a[rows_a]
    return labels_a, labels_b
