"""An in-memory stand-in for `confidata.secure.channel.Links`, for tests only (it lives here, not
in src/): the same send/recv/compute interface, with queues in one event loop instead of TLS
sockets, so the intersection protocols can be tested without starting processes. It checks
steps, dtypes and widths like the real links, copies every payload through bytes (as the wire
would) and counts bytes and rounds the same way.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np

from confidata.secure.engine import PartyFailure

__all__ = ["MemoryLinks", "memory_network"]


class MemoryLinks:
    def __init__(self, me: str, network: dict[tuple[str, str], asyncio.Queue]) -> None:
        self.me = me
        self._net = network
        self.bytes_sent: dict[str, int] = {}
        self.rounds = 0
        self._seen = 0

    async def send(self, peer: str, label: str, payload: Any) -> None:
        if not 0 < len(label) <= 8 or not label.isascii():
            raise ValueError(f"step label {label!r} must be 1 to 8 ASCII characters")
        if isinstance(payload, np.ndarray):
            arr = np.ascontiguousarray(payload)
            item = ("array", arr.dtype.str, arr.shape, arr.tobytes())
            size = arr.nbytes
        else:
            body = json.dumps(payload).encode()
            item, size = ("json", None, None, body), len(body)
        depth = self._seen + 1
        self.rounds = max(self.rounds, depth)
        self.bytes_sent[peer] = self.bytes_sent.get(peer, 0) + size + 34
        await self._net[(self.me, peer)].put((label, depth, item))

    async def recv(self, peer: str, label: str, *, dtype: Any = None, cols: int | None = None) -> Any:
        got, depth, (kind, dt, shape, body) = await self._net[(peer, self.me)].get()
        self._seen = max(self._seen, depth)
        self.rounds = max(self.rounds, depth)
        want = "json" if dtype is None else "array"
        wrong_type = dtype is not None and np.dtype(dt) != np.dtype(dtype).newbyteorder("<")
        if got != label or kind != want or wrong_type:
            raise PartyFailure(f"Party '{self.me}' stopped: malformed data from party '{peer}'.", [peer])
        if kind == "json":
            return json.loads(body)
        arr = np.frombuffer(body, dtype=dt).reshape(shape)
        if cols is not None and (arr.ndim != 2 or arr.shape[1] != cols) and not (cols == 1 and arr.ndim == 1):
            raise PartyFailure(f"Party '{self.me}' stopped: malformed data from party '{peer}'.", [peer])
        return arr

    async def compute(self, fn, *args) -> Any:
        return fn(*args)


def memory_network(names: list[str]) -> dict[str, MemoryLinks]:
    net = {(a, b): asyncio.Queue() for a in names for b in names if a != b}
    return {n: MemoryLinks(n, net) for n in names}
