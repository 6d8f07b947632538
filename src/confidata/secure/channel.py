"""Framed messages between the parties of an intersection study, over TLS, without pickle.

The MPyC engine (`engine.py`) serves secret sharing among 3 or more parties; private set
intersection needs 2 holders (and, with the helper technique, a helper) exchanging large arrays
of fixed-width byte strings. This module gives them a small transport with the same rules:

* TLS 1.2+ with the study's CA and each party's certificate (made by ``confidata secure certs``);
  a peer's certificate must name the party it claims to be (subject-alternative DNS name), as in
  the engine. With TLS off, the study must place every party on a loopback address (checked when
  the study is read) and a warning is printed.
* Party i dials every party j > i and listens for the others; dialling retries until the
  study's ``connect_timeout`` and then fails naming the parties that never came.
* A message is a 34-byte header (magic, an 8-byte step label, a dtype code, the sender's round
  counter, rows, columns) and a payload of rows x columns items of that dtype: bytes (uint8),
  uint64, int64 or float64 arrays, or a small UTF-8 JSON document. A header whose declared size
  exceeds the study's limit (``max_records`` rows) is refused before anything is allocated;
  a payload of another step, dtype or width than the receiver expects stops the computation,
  naming the sender. Nothing received is ever unpickled or evaluated.
* Rounds are counted as rounds, not messages: each message carries its sender's Lamport clock,
  so a party's count is the length of the longest chain of dependent messages that reached it.
* Every wait is bounded by ``step_timeout``; a peer that disconnects, times out or sends
  malformed data stops the party at once with an error naming that peer.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from confidata.errors import ConfidataError
from confidata.secure.certs import tls_context
from confidata.secure.engine import PartyFailure, _certificate_pid
from confidata.secure.study import Party, Study

__all__ = ["Links", "LinkCounts"]

_HEADER = struct.Struct("<4s8sBIQQ")
_MAGIC = b"CDP1"
_DTYPES = {1: np.dtype(np.uint8), 2: np.dtype("<u8"), 3: np.dtype("<i8"), 4: np.dtype("<f8")}
_CODES = {dt: code for code, dt in _DTYPES.items()}
_JSON = 0
_MAX_JSON = 1 << 20
_MAX_COLS = 4096
FINAL = "counts"  # the step label of a party's last message; its close after that is no failure
ABORT = "abort"  # a party that stops tells the others whom it blames before it closes


@dataclass
class LinkCounts:
    bytes_sent: int = 0
    messages_sent: int = 0


@dataclass
class _Peer:
    party: Party
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    inbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    task: asyncio.Task | None = None
    finished: bool = False  # it sent its last message (FINAL): closing afterwards is orderly


@dataclass
class Links:
    """This party's links to the other parties of an intersection study."""

    study: Study
    me: str
    key_file: Any = None
    added_delay: float = 0.0
    counts: dict[str, LinkCounts] = field(default_factory=dict)
    rounds: int = 0  # the longest chain of dependent messages this party sent or received
    connected_at: float | None = None
    _peers: dict[str, _Peer] = field(default_factory=dict)
    _failure: asyncio.Future | None = None
    _closing: bool = False
    _server: Any = None

    # -- setup -----------------------------------------------------------------------------------
    def _tls(self, server: bool) -> ssl.SSLContext | None:
        return tls_context(self.study, self.me, self.key_file, server=server)

    def fail(self, message: str, names: list[str]) -> None:
        if self._failure is not None and not self._failure.done():
            self._failure.set_exception(PartyFailure(message, names))

    def _limit(self, code: int, cols: int) -> int:
        if code == _JSON:
            return _MAX_JSON
        return (self.study.max_records + 16) * cols * _DTYPES[code].itemsize

    async def connect(self) -> None:
        """Open a link to every other party; fail within connect_timeout naming those missing."""
        loop = asyncio.get_running_loop()
        self._failure = loop.create_future()
        self._failure.add_done_callback(lambda f: f.exception())  # retrieved even if never awaited
        if not self.study.tls:
            print(
                f"Warning: TLS is off in study '{self.study.name}'; allowed only because every party "
                "is on a loopback address.",
                file=sys.stderr,
            )
        parties = list(self.study.parties)
        index = [p.name for p in parties].index(self.me)
        self._peers = {p.name: _Peer(p) for p in parties if p.name != self.me}
        self.counts = {name: LinkCounts() for name in self._peers}
        deadline = time.monotonic() + self.study.connect_timeout
        arrived = {name: loop.create_future() for name in self._peers}
        if index > 0:
            host, port = parties[index].bind
            try:
                self._server = await asyncio.start_server(
                    lambda r, w: self._accept(r, w, arrived, index),
                    host=host,
                    port=port,
                    ssl=self._tls(server=True),
                    reuse_address=True,
                )
            except OSError as exc:
                raise ConfidataError(
                    f"Party '{self.me}' cannot listen on {host}:{port} ({exc.strerror}); "
                    "free the port or change it in the study."
                ) from None
        errors: dict[str, str] = {}
        dials = [
            asyncio.ensure_future(self._dial(p, arrived, deadline, errors)) for p in parties[index + 1 :]
        ]
        waiting = set(arrived.values()) | {self._failure}
        try:
            while not all(f.done() for f in arrived.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                await asyncio.wait(waiting, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                if self._failure.done():
                    raise self._failure.exception()
                waiting = {f for f in waiting if not f.done()}
        finally:
            for d in dials:
                d.cancel()
            if self._server is not None:
                self._server.close()
        missing = [n for n, f in arrived.items() if not f.done()]
        if missing:
            reasons = "; ".join(f"'{n}': {errors.get(n, 'never connected')}" for n in missing)
            raise PartyFailure(
                f"Party '{self.me}' stopped: party(ies) {reasons} within the "
                f"{self.study.connect_timeout:g} s connect timeout.",
                missing,
            )
        for peer in self._peers.values():
            peer.task = asyncio.ensure_future(self._read_loop(peer))
        self.connected_at = time.perf_counter()

    async def _dial(self, party: Party, arrived: dict, deadline: float, errors: dict[str, str]) -> None:
        context = self._tls(server=False)
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        party.host,
                        party.port,
                        ssl=context,
                        server_hostname=party.name.lower() if context else None,
                        limit=1 << 20,
                    ),
                    timeout=max(0.1, deadline - time.monotonic()),
                )
            except ssl.SSLCertVerificationError as exc:
                reason = exc.verify_message or exc.reason
                errors[party.name] = f"TLS handshake failed ({reason})"
                self.fail(
                    f"Party '{self.me}' stopped: TLS handshake failed with party '{party.name}' "
                    f"({reason}): its certificate was not made for it by this study's CA. Make every "
                    "party's certificates with 'confidata secure certs STUDY -o DIR' from the same "
                    "study file.",
                    [party.name],
                )
                return
            except ssl.SSLError as exc:
                errors[party.name] = f"TLS handshake failed ({exc.reason or exc})"
            except (TimeoutError, OSError) as exc:
                errors[party.name] = f"unreachable ({type(exc).__name__})"
            else:
                hello = json.dumps({"party": self.me}).encode()
                writer.write(len(hello).to_bytes(2, "little") + hello)
                peer = self._peers[party.name]
                peer.reader, peer.writer = reader, writer
                if not arrived[party.name].done():
                    arrived[party.name].set_result(True)
                return
            await asyncio.sleep(0.1)

    async def _accept(self, reader, writer, arrived: dict, index: int) -> None:
        try:
            size = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 10), "little")
            hello = json.loads((await asyncio.wait_for(reader.readexactly(size), 10)).decode())
            name = hello["party"] if isinstance(hello, dict) else None
        except (asyncio.IncompleteReadError, TimeoutError, ValueError, KeyError, OSError):
            writer.close()
            return
        names = [p.name for p in self.study.parties]
        claimed_ok = name in names and names.index(name) < index
        if claimed_ok and self.study.tls:
            pid = _certificate_pid(self.study, writer.get_extra_info("peercert"))
            claimed_ok = pid is not None and names[pid] == name
        if not claimed_ok:
            writer.close()
            self.fail(
                f"Party '{self.me}' stopped: a connection claimed to be another party than its "
                "certificate names (or an unknown one); check the study's hosts and certificates.",
                [],
            )
            return
        peer = self._peers[name]
        peer.reader, peer.writer = reader, writer
        if not arrived[name].done():
            arrived[name].set_result(True)

    # -- messages --------------------------------------------------------------------------------
    async def _read_loop(self, peer: _Peer) -> None:
        name = peer.party.name
        try:
            while True:
                head = await peer.reader.readexactly(_HEADER.size)
                magic, label, code, rnd, rows, cols = _HEADER.unpack(head)
                if magic != _MAGIC or (code != _JSON and code not in _DTYPES) or not 0 < cols <= _MAX_COLS:
                    self.fail(f"Party '{self.me}' stopped: malformed data from party '{name}'.", [name])
                    return
                size = rows * cols * (1 if code == _JSON else _DTYPES[code].itemsize)
                if size > self._limit(code, cols):
                    self.fail(
                        f"Party '{self.me}' stopped: party '{name}' announced a message of {size:,} "
                        f"bytes, beyond the study's limit (max_records = {self.study.max_records:,}); "
                        "refused before reading it.",
                        [name],
                    )
                    return
                payload = await peer.reader.readexactly(size) if size else b""
                step = label.rstrip(b"\0").decode("ascii", "replace")
                peer.finished = step == FINAL
                if step == ABORT and code == _JSON:
                    self._blame(name, payload)
                    return
                await peer.inbox.put((step, code, rnd, rows, cols, payload))
        except (asyncio.IncompleteReadError, ConnectionError, OSError, ssl.SSLError):
            if not self._closing and not peer.finished:
                self.fail(
                    f"Party '{self.me}' stopped: party '{name}' closed its connection in the middle of "
                    "the computation (it stopped or crashed).",
                    [name],
                )

    def _blame(self, peer: str, payload: bytes) -> None:
        try:
            named = json.loads(payload.decode("utf-8")).get("parties", [])
        except (ValueError, AttributeError):
            named = []
        known = [n for n in named if isinstance(n, str) and (n in self._peers or n == self.me)]
        if known and known != [peer]:
            message = (
                f"Party '{self.me}' stopped: party '{peer}' stopped, naming party(ies) "
                f"{', '.join(repr(n) for n in known)} as the cause (see that party's error)."
            )
        else:
            message = f"Party '{self.me}' stopped: party '{peer}' stopped the computation (see its error)."
        self.fail(message, known or [peer])

    async def send(self, peer: str, label: str, payload: np.ndarray | dict | list) -> None:
        """Send one array (uint8, uint64, int64 or float64, 1-D or 2-D) or small JSON document."""
        if not 0 < len(label) <= 8 or not label.isascii():
            raise ValueError(f"step label {label!r} must be 1 to 8 ASCII characters")
        if isinstance(payload, np.ndarray):
            arr = np.ascontiguousarray(payload)
            if arr.dtype.newbyteorder("<") not in _CODES and arr.dtype not in _CODES:
                raise TypeError(f"no wire code for dtype {arr.dtype}")
            arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
            code = _CODES[arr.dtype]
            rows, cols = (arr.shape[0], 1) if arr.ndim == 1 else arr.shape
            body = arr.tobytes()
        else:
            body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
            code, rows, cols = _JSON, len(body), 1
        depth = self._seen + 1  # one more than the longest chain this message depends on
        self.rounds = max(self.rounds, depth)
        head = _HEADER.pack(_MAGIC, label.encode("ascii")[:8].ljust(8, b"\0"), code, depth, rows, cols)
        if self.added_delay > 0:
            await asyncio.sleep(self.added_delay)
        writer = self._peers[peer].writer
        writer.write(head + body if len(body) < 1 << 16 else head)
        if len(body) >= 1 << 16:
            writer.write(body)
        self.counts[peer].bytes_sent += len(head) + len(body)
        self.counts[peer].messages_sent += 1
        try:
            await self._guard(writer.drain(), f"sending '{label}' to '{peer}'", [peer])
        except (ConnectionError, OSError):
            raise PartyFailure(
                f"Party '{self.me}' stopped: party '{peer}' closed its connection in the middle of the "
                "computation (it stopped or crashed).",
                [peer],
            ) from None

    _seen: int = 0

    async def recv(self, peer: str, label: str, *, dtype: Any = None, cols: int | None = None) -> Any:
        """The next message from `peer`; it must be step `label`, of `dtype` and `cols` columns."""
        inbox = self._peers[peer].inbox
        if not inbox.empty():  # arrived before any failure: read it (it may be the failure's cause)
            label_got, code, rnd, rows, ncols, payload = inbox.get_nowait()
        else:
            label_got, code, rnd, rows, ncols, payload = await self._guard(
                inbox.get(), f"step '{label}'", [peer]
            )
        want = _JSON if dtype is None else _CODES[np.dtype(dtype).newbyteorder("<")]
        if label_got != label or code != want or (cols is not None and ncols != cols):
            raise PartyFailure(
                f"Party '{self.me}' stopped: malformed data from party '{peer}' (expected step "
                f"'{label}'; got another step, type or width).",
                [peer],
            )
        # Lamport clock: a message sent after this one depends on it
        self._seen = max(self._seen, rnd)
        self.rounds = max(self.rounds, rnd)
        if code == _JSON:
            try:
                return json.loads(payload.decode("utf-8"))
            except ValueError:
                raise PartyFailure(
                    f"Party '{self.me}' stopped: malformed data from party '{peer}'.", [peer]
                ) from None
        arr = np.frombuffer(payload, dtype=_DTYPES[code])
        return arr.reshape(rows, ncols) if cols is not None and cols > 1 else arr

    async def _guard(self, awaitable, what: str, names: list[str]) -> Any:
        task = asyncio.ensure_future(awaitable)
        done, _ = await asyncio.wait(
            {task, self._failure}, timeout=self.study.step_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            return task.result()
        task.cancel()
        if self._failure in done:
            raise self._failure.exception()
        raise PartyFailure(
            f"Party '{self.me}' stopped: no answer from {', '.join(repr(n) for n in names)} within "
            f"{self.study.step_timeout:g} s during {what}.",
            names,
        )

    async def compute(self, fn, *args) -> Any:
        """Run a heavy local step in a thread (libsodium releases the GIL), watching for failures."""
        task = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        done, _ = await asyncio.wait({task, self._failure}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        raise self._failure.exception()

    # -- closing ---------------------------------------------------------------------------------
    async def close(self) -> None:
        self._closing = True
        for peer in self._peers.values():
            if peer.writer is not None:
                try:
                    await asyncio.wait_for(peer.writer.drain(), self.study.step_timeout)
                except (OSError, TimeoutError):
                    pass
                peer.writer.close()
            if peer.task is not None:
                peer.task.cancel()

    def abort(self, blame: list[str] | None = None) -> None:
        """Close every link at once, first telling each peer whom this party blames (names only)."""
        self._closing = True
        body = json.dumps({"parties": list(blame or [])}).encode()
        head = _HEADER.pack(_MAGIC, ABORT.encode().ljust(8, b"\0"), _JSON, 0, len(body), 1)
        for peer in self._peers.values():
            if peer.writer is not None:
                try:
                    peer.writer.write(head + body)
                except (OSError, RuntimeError):
                    pass
                peer.writer.close()
            if peer.task is not None:
                peer.task.cancel()

    def bytes_sent(self) -> int:
        return sum(c.bytes_sent for c in self.counts.values())

    def messages_sent(self) -> int:
        return sum(c.messages_sent for c in self.counts.values())
