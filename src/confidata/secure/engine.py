"""The MPyC engine: one runtime per OS process, connected over TCP (TLS by default).

How MPyC is configured here, and why (MPyC 0.11, read from its source):

* ``import mpyc`` parses ``sys.argv`` for its logging options, and ``import mpyc.runtime``
  calls ``mpyc.runtime.setup()``, which parses ``sys.argv`` again (-M/-I/-P/--ssl/--no-prss...)
  and *rewrites* it. Our command line has its own arguments, so we import MPyC with
  ``sys.argv`` swapped for ``[prog, '--no-log']`` and then build our runtime by calling the
  public ``mpyc.runtime.setup()`` once more with a synthetic argument list
  (``-P host:port`` per party, ``-I index``, ``-T threshold``). ``setup()`` is the only supported
  way that also wires the runtime into MPyC's modules (``sectypes.runtime`` and friends); its
  options object comes from MPyC's own parser, so defaults stay MPyC's. ``sys.argv`` is restored.
* ``Runtime.start()`` listens on *all* interfaces, finds certificates only as
  ``.config/party_<i>.crt|key`` and ``.config/mpyc_ca.crt`` relative to the working folder,
  checks the peer's name as ``'MPyC party <i>'`` and retries connecting forever. We therefore
  do not call it: `Engine.connect` opens the same links (party i listens for parties < i and
  connects to parties > i, with MPyC's own `MessageExchanger` framing and PRSS key exchange),
  but binds only the configured interface, takes the certificate paths from the study, checks
  that a peer's certificate names the party it claims to be, and gives up after the timeout,
  naming the parties that never came.
* Bytes sent are counted in ``MessageExchanger.nbytes_sent`` (MPyC's 12-byte header, our 4-byte
  clock and the payload, before TLS); our subclass also counts messages. MPyC has no round counter: every
  message we send carries a 4-byte Lamport clock ahead of MPyC's payload (one more than the
  largest clock among the messages this party had consumed when it sent it), so a party's
  ``rounds`` is the length of the longest chain of dependent messages it sent or consumed, as
  in `channel.py`. MPyC runs independent steps concurrently, so a message may carry a clock
  above its true depth (never below): the count is an upper bound that equals the depth of a
  step-by-step protocol.
* MPyC pickles what parties send each other (share vectors and ``transfer``). Nothing we
  receive is unpickled: the ``pickle`` that ``mpyc.runtime`` uses for share vectors is replaced
  by `mpyc_wire`'s fixed-format integer vectors, and ``Runtime.transfer`` by `Engine`'s own
  (tagged JSON); single field elements already travel as MPyC's fixed-width ``to_bytes``. A
  malformed payload stops the party, naming the sender. A frame announcing more
  than `mpyc_wire.max_frame_bytes` (from the public study) is refused before it is buffered.
* With TLS off (allowed by `study.py` only when every party is on a loopback address) the
  engine prints a warning when it connects.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
import time
import types
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from confidata.errors import ConfidataError
from confidata.secure.certs import tls_context
from confidata.secure.mpyc_wire import (
    MalformedPayload,
    decode_plain,
    decode_shares,
    encode_plain,
    encode_shares,
    max_frame_bytes,
)
from confidata.secure.study import Party, Study

__all__ = ["Engine", "PartyFailure", "mpyc_runtime_module"]


class PartyFailure(ConfidataError, RuntimeError):
    """Another party is missing, died, misbehaved or disagrees: the computation stops."""

    def __init__(self, message: str, parties: list[str] | None = None) -> None:
        super().__init__(message)
        self.parties = parties or []


class _Tagged(bytes):
    """A received payload that remembers which party sent it."""

    pid: int


_DECODING: dict[str, Any] = {"engine": None}  # the engine of this process, told of bad payloads
_CLOCK = 4  # bytes of Lamport clock ahead of every payload


def _loads_shares(data: bytes) -> np.ndarray:
    """MPyC's unmarshal for share vectors: `mpyc_wire.decode_shares`, naming the sender if bad."""
    try:
        return decode_shares(data)
    except MalformedPayload:
        pid = getattr(data, "pid", None)
        engine = _DECODING["engine"]
        if engine is not None and pid is not None:
            engine.malformed_from.add(pid)
            engine.fail(
                f"Party '{engine.me}' stopped: malformed data from party '{engine.name_of(pid)}' "
                "(not shares of the expected type or shape).",
                [pid],
            )
        raise


_MPYC: dict[str, Any] = {}


def mpyc_runtime_module():
    """Import ``mpyc.runtime`` without letting it read our command line (see the module notes)."""
    if "runtime" not in _MPYC:
        saved = sys.argv
        sys.argv = [saved[0] if saved else "confidata", "--no-log"]
        try:
            import mpyc.runtime as mpyc_runtime  # noqa: PLC0415 - deliberately late and guarded
        finally:
            sys.argv = saved
        # only share vectors go through it now: `Engine` replaces ``transfer`` per runtime
        mpyc_runtime.pickle = types.SimpleNamespace(dumps=encode_shares, loads=_loads_shares)
        _MPYC["runtime"] = mpyc_runtime
    return _MPYC["runtime"]


@dataclass
class LinkStats:
    bytes_sent: int = 0
    messages_sent: int = 0


@dataclass
class Engine:
    """One party's MPyC runtime and its links to the others."""

    study: Study
    me: str
    key_file: Path | None = None
    added_delay: float = 0.0  # seconds added to every message sent (benchmarks without netem)
    rt: Any = None
    pid: int = -1
    failure: asyncio.Future | None = None
    stats: dict[int, LinkStats] = field(default_factory=dict)
    connected_at: float | None = None
    shutting_down: bool = False
    _last_error: dict[int, str] = field(default_factory=dict)
    _clients: list = field(default_factory=list)
    _link_class: Any = None
    _deadline: float = 0.0
    malformed_from: set[int] = field(default_factory=set)
    max_frame: int = 0  # the largest frame a peer may announce (set from the study in `build`)
    rounds: int = 0  # the longest chain of dependent messages this party sent or consumed
    _seen: int = 0  # the largest Lamport clock among the messages consumed so far

    # -- setup -----------------------------------------------------------------------------------
    def build(self) -> None:
        mr = mpyc_runtime_module()
        parties = self.study.parties
        self.pid = self.study.index(self.me)
        argv = [sys.argv[0] if sys.argv else "confidata"]
        for p in parties:
            argv += ["-P", f"{p.host}:{p.port}"]
        argv += ["-I", str(self.pid), "-T", str((len(parties) - 1) // 2), "--no-log"]
        saved = sys.argv
        sys.argv = argv
        try:
            self.rt = mr.setup()
        finally:
            sys.argv = saved
        self.failure = self.rt._loop.create_future()
        self.stats = {p: LinkStats() for p in range(len(parties)) if p != self.pid}
        self.max_frame = max_frame_bytes(self.study)
        _DECODING["engine"] = self
        receive = self.rt._receive_message
        loop = self.rt._loop

        def seen(clock: int) -> None:
            self._seen = max(self._seen, clock)
            self.rounds = max(self.rounds, clock)

        def consumed(payload: bytes, peer_pid: int, waited: bool) -> _Tagged:
            # the sender's Lamport clock: what this party sends from now on depends on it. A
            # payload that was already here when asked for counts from the next turn of the
            # loop: MPyC asks for a step's incoming shares in the same turn as it sends its own
            # (an input step sends and receives in party order), and those sends do not depend
            # on them; what does depend on them runs after the step's future resolves, later.
            clock = int.from_bytes(payload[:_CLOCK], "little")
            if waited:
                seen(clock)
            else:
                loop.call_soon(seen, clock)
            return _tag(payload[_CLOCK:], peer_pid)

        def tagged_receive(peer_pid: int):  # strip the clock, tag the payload with its sender
            got = receive(peer_pid)
            if not isinstance(got, asyncio.Future):
                return consumed(got, peer_pid, waited=False)
            tagged = loop.create_future()

            def done(f: asyncio.Future) -> None:
                if tagged.done():
                    return
                if f.cancelled():
                    tagged.cancel()
                elif f.exception() is not None:
                    tagged.set_exception(f.exception())
                else:
                    tagged.set_result(consumed(f.result(), peer_pid, waited=True))

            got.add_done_callback(done)
            return tagged

        self.rt._receive_message = tagged_receive
        self.rt.transfer = _make_transfer(self, mr.asyncoro)
        mpyc_handler = mr.asyncoro.exception_handler

        def quiet_handler(loop, context) -> None:
            # a peer's bad payload is reported once, by `fail`, naming it: no traceback for it
            if isinstance(context.get("exception"), (MalformedPayload, PartyFailure)):
                return
            mpyc_handler(loop, context)

        loop.set_exception_handler(quiet_handler)

    def explain(self, exc: BaseException) -> BaseException:
        """The failure to report for an error that escaped MPyC (a bad payload stops its loop)."""
        if self.failure is not None and self.failure.done() and self.failure.exception() is not None:
            return self.failure.exception()
        if self.malformed_from:
            pids = sorted(self.malformed_from)
            return PartyFailure(
                f"Party '{self.me}' stopped: malformed data from party(ies) "
                f"{', '.join(repr(self.name_of(p)) for p in pids)}.",
                [self.name_of(p) for p in pids],
            )
        return exc

    def name_of(self, pid: int) -> str:
        return self.study.parties[pid].name

    def _tls(self, server: bool) -> ssl.SSLContext | None:
        return tls_context(self.study, self.me, self.key_file, server=server)

    # -- failures --------------------------------------------------------------------------------
    def fail(self, message: str, pids: list[int]) -> None:
        if self.failure is not None and not self.failure.done():
            self.failure.set_exception(PartyFailure(message, [self.name_of(p) for p in pids]))

    async def step(self, awaitable: Awaitable, what: str, timeout: float | None = None) -> Any:
        """Await one protocol step, or fail naming the parties it waited on."""
        timeout = self.study.step_timeout if timeout is None else timeout
        task = asyncio.ensure_future(awaitable)
        done, _ = await asyncio.wait(
            {task, self.failure}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if self.failure in done:
            task.cancel()
            raise self.failure.exception()
        if task in done:
            return task.result()
        task.cancel()
        waiting = [
            pid
            for pid, p in enumerate(self.rt.parties)
            if pid != self.pid
            and p.protocol is not None
            and any(isinstance(b, asyncio.Future) and not b.done() for b in p.protocol.buffers.values())
        ]
        names = ", ".join(f"'{self.name_of(p)}'" for p in waiting) or "the other parties"
        raise PartyFailure(
            f"Party '{self.me}' stopped: no answer from {names} within {timeout:g} s during {what}.",
            [self.name_of(p) for p in waiting],
        )

    # -- connecting ------------------------------------------------------------------------------
    async def connect(self) -> None:
        """Open all links; fail within connect_timeout naming every party that did not come."""
        mr = mpyc_runtime_module()
        rt = self.rt
        loop = rt._loop
        me = self.study.parties[self.pid]
        if not self.study.tls:  # the study parser allowed it: every party is on loopback
            print(
                f"Warning: TLS is off in study '{self.study.name}'; allowed only because every party "
                "is on a loopback address.",
                file=sys.stderr,
            )
        for peer in rt.parties:
            peer.protocol = loop.create_future() if peer.pid == self.pid else None
        link_class = _make_link_class(mr.asyncoro.MessageExchanger)
        server = None
        deadline = time.monotonic() + self.study.connect_timeout
        if self.pid > 0:
            host, port = me.bind
            try:
                server = await loop.create_server(
                    lambda: link_class(self, rt),
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
        self._link_class, self._deadline = link_class, deadline
        self._clients = [
            asyncio.ensure_future(self._dial(link_class, peer, deadline))
            for peer in self.study.parties[self.pid + 1 :]
        ]
        try:
            await self.step(
                rt.parties[self.pid].protocol, "connecting", timeout=max(0.1, deadline - time.monotonic())
            )
        except PartyFailure:
            missing = [p.pid for p in rt.parties if p.pid != self.pid and p.protocol is None]
            reasons = "; ".join(
                f"'{self.name_of(p)}': {self._last_error.get(p, 'never connected')}" for p in missing
            )
            raise PartyFailure(
                f"Party '{self.me}' stopped: party(ies) {reasons} within the "
                f"{self.study.connect_timeout:g} s connect timeout.",
                [self.name_of(p) for p in missing],
            ) from None
        finally:
            for c in self._clients:
                c.cancel()
            if server is not None:
                server.close()
        rt.start_time = time.time()
        self.connected_at = time.perf_counter()

    def redial(self, pid: int) -> None:
        peer = self.study.parties[pid]
        self._clients.append(asyncio.ensure_future(self._dial(self._link_class, peer, self._deadline)))

    async def _dial(self, link_class, peer: Party, deadline: float) -> None:
        loop = self.rt._loop
        pid = self.study.parties.index(peer)
        context = self._tls(server=False)
        while time.monotonic() < deadline:
            try:
                await asyncio.wait_for(
                    loop.create_connection(
                        lambda: link_class(self, self.rt, pid),
                        peer.host,
                        peer.port,
                        ssl=context,
                        server_hostname=peer.name.lower() if context else None,
                    ),
                    timeout=max(0.1, deadline - time.monotonic()),
                )
                return
            except ssl.SSLCertVerificationError as exc:
                # a certificate the study's CA did not sign (or made for another name) will not
                # change by retrying: stop now rather than wait out the connect window
                reason = exc.verify_message or exc.reason
                self._last_error[pid] = f"TLS handshake failed ({reason})"
                self.fail(
                    f"Party '{self.me}' stopped: TLS handshake failed with party '{peer.name}' "
                    f"({reason}): its certificate was not made for it by "
                    "this study's CA. Make every party's certificates with 'confidata secure "
                    "certs STUDY -o DIR' from the same study file.",
                    [pid],
                )
                return
            except ssl.SSLError as exc:
                self._last_error[pid] = f"TLS handshake failed ({exc.reason or exc})"
            except (TimeoutError, OSError) as exc:
                self._last_error[pid] = f"unreachable ({type(exc).__name__})"
            await asyncio.sleep(0.1)

    # -- closing ---------------------------------------------------------------------------------
    async def shutdown(self) -> None:
        self.shutting_down = True
        await self.step(self.rt.shutdown(), "shutdown")

    def abort(self) -> None:
        self.shutting_down = True
        for peer in self.rt.parties:
            if (
                peer.pid != self.pid
                and peer.protocol is not None
                and not isinstance(peer.protocol, asyncio.Future)
            ):
                peer.protocol.close_connection()

    def bytes_sent(self) -> int:
        return sum(s.bytes_sent for s in self.stats.values())

    def messages_sent(self) -> int:
        return sum(s.messages_sent for s in self.stats.values())


def _tag(payload: bytes, pid: int) -> _Tagged:
    tagged = _Tagged(payload)
    tagged.pid = pid
    return tagged


def _make_link_class(base):
    """A MessageExchanger that counts, can delay, checks identities and reports failures."""

    class Link(base):
        __slots__ = ("engine", "delay", "expected", "dialed")

        def __init__(self, engine: Engine, rt, peer_pid=None):
            super().__init__(rt, peer_pid)
            self.engine = engine
            self.delay = engine.added_delay
            self.expected = None
            self.dialed = peer_pid is not None

        def connection_made(self, transport):
            if self.peer_pid is None and self.engine.study.tls:
                self.expected = _certificate_pid(self.engine.study, transport.get_extra_info("peercert"))
            super().connection_made(transport)

        def send(self, pc, payload):
            engine = self.engine
            clock = engine._seen + 1  # one more than the longest chain this message depends on
            engine.rounds = max(engine.rounds, clock)
            size = len(payload) + _CLOCK
            frame = pc.to_bytes(8, "little", signed=True) + size.to_bytes(4, "little")
            frame += clock.to_bytes(_CLOCK, "little") + payload
            if self.delay > 0:
                self.runtime._loop.call_later(self.delay, self.transport.write, frame)
            else:
                self.transport.write(frame)
            self.nbytes_sent += len(frame)
            stats = self.engine.stats.get(self.peer_pid)
            if stats is not None:
                stats.bytes_sent += len(frame)
                stats.messages_sent += 1

        def close_connection(self):
            if self.delay > 0:  # let the messages held back go first
                self.runtime._loop.call_later(self.delay + 0.01, self.transport.close)
            else:
                self.transport.close()

        def data_received(self, data):
            if self.peer_pid is None and len(self.bytes) + len(data) >= 2:
                claimed = int.from_bytes((bytes(self.bytes) + data)[:2], "little")
                if (
                    not 0 <= claimed < len(self.engine.study.parties)
                    or claimed == self.engine.pid
                    or (self.engine.study.tls and claimed != self.expected)
                ):
                    self.engine.fail(
                        f"Party '{self.engine.me}' stopped: a connection claimed to be another "
                        "party than its certificate names (or an unknown one); check the "
                        "study's hosts and certificates.",
                        [],
                    )
                    self.transport.close()
                    return
            try:
                super().data_received(data)
            except Exception:
                pid = self.peer_pid if self.peer_pid is not None else self.expected
                self.engine.fail(
                    f"Party '{self.engine.me}' stopped: malformed data from party "
                    f"'{self.engine.name_of(pid) if pid is not None else 'unknown'}'.",
                    [pid] if pid is not None else [],
                )
                self.transport.close()
                return
            # what is left is the start of the next frame: refuse it before buffering the rest
            if self.peer_pid is not None and len(self.bytes) >= 12:
                size = int.from_bytes(self.bytes[8:12], "little")
                if size > self.engine.max_frame or size < _CLOCK:
                    self.bytes.clear()
                    self.engine.fail(
                        f"Party '{self.engine.me}' stopped: party '{self.engine.name_of(self.peer_pid)}' "
                        f"announced a message of {size:,} bytes, beyond the study's limit of "
                        f"{self.engine.max_frame:,} (from max_records = {self.engine.study.max_records:,})"
                        "; refused before reading it.",
                        [self.peer_pid],
                    )
                    self.transport.close()

        def connection_lost(self, exc):
            engine = self.engine
            if self.peer_pid is None:
                return
            if engine.shutting_down:
                if engine.rt.parties[self.peer_pid].protocol is self:
                    self.runtime.unset_protocol(self.peer_pid)
                return
            if engine.connected_at is None:  # lost while connecting (a proxy, a restart): dial again
                if engine.rt.parties[self.peer_pid].protocol is self:
                    engine.rt.parties[self.peer_pid].protocol = None
                    if self.dialed:
                        engine.redial(self.peer_pid)
                return
            engine.fail(
                f"Party '{engine.me}' stopped: party '{engine.name_of(self.peer_pid)}' closed its "
                "connection in the middle of the computation (it stopped or crashed).",
                [self.peer_pid],
            )

    return Link


def _certificate_pid(study: Study, cert: dict | None) -> int | None:
    if not cert:
        return None
    names = {v.lower() for k, v in cert.get("subjectAltName", ()) if k == "DNS"}
    for i, p in enumerate(study.parties):
        if p.name.lower() in names:
            return i
    return None


def environment_note() -> str:
    return f"python {sys.version.split()[0]}, pid {os.getpid()}"


def _make_transfer(engine: Engine, asyncoro):
    """``Runtime.transfer`` for `engine`'s runtime: plain data as tagged JSON, never pickle.

    Same contract as MPyC's for ``senders``/``receivers`` (a list per sender, or one object when
    ``senders`` is an int; the arbitrary ``sender_receivers`` graph is not supported). MPyC's
    ``shutdown`` and our party's study check and counts go through it.
    """
    rt = engine.rt

    async def transfer(obj, senders=None, receivers=None, sender_receivers=None) -> asyncio.Future:
        if sender_receivers is not None:
            raise NotImplementedError("the engine's transfer takes senders and receivers only")
        m = len(rt.parties)
        single = isinstance(senders, int)
        senders = list(range(m)) if senders is None else [senders] if single else list(senders)
        if receivers is None:
            receivers = list(range(m))
        receivers = [receivers] if isinstance(receivers, int) else list(receivers)
        mine = encode_plain(obj) if rt.pid in senders else None
        if mine is not None:
            for peer in receivers:
                if peer != rt.pid:
                    rt._send_message(peer, mine)
        if rt.pid not in receivers:
            return None if single else []
        got = await rt.gather([mine if s == rt.pid else rt._receive_message(s) for s in senders])
        out = []
        for s, payload in zip(senders, got, strict=True):
            try:
                out.append(decode_plain(payload))
            except MalformedPayload:
                engine.malformed_from.add(s)
                engine.fail(
                    f"Party '{engine.me}' stopped: malformed data from party '{engine.name_of(s)}' "
                    "(not the plain data of this step).",
                    [s],
                )
                raise
        return out[0] if single else out

    return asyncoro.mpc_coro(transfer)
