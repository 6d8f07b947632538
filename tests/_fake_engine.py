"""An in-memory stand-in for `confidata.secure.engine.Engine`, for testing protocol logic
(protocol.py: rules, suppression, fixed point, opening) in one process, without three.

It has the interface a protocol uses, ``rt``, ``pid`` and ``step``, over MPyC's own one-party
runtime (no network, no sharing among parties): an ``input`` from every party gives the sending
party's vector first and secure zeros for the others, so party 0 inputs the pooled local
aggregates. Opening goes to party 0 when it is a receiver. What it does not exercise is MPyC's
sharing between processes: the tests of test_secure_parties.py do that.
"""

from __future__ import annotations

import sys
from typing import Any

from confidata.secure.engine import mpyc_runtime_module


class _OneProcessRuntime:
    def __init__(self, rt, parties: int) -> None:
        self._rt = rt
        self._parties = parties

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rt, name)

    def input(self, x, senders=None):
        mine = self._rt.input(x, senders=[0])[0]
        count = self._parties if senders is None else len(senders)
        return [mine] + [mine * 0 for _ in range(count - 1)]

    def output(self, x, receivers=None, raw=False):
        if receivers is not None and 0 not in receivers:
            return _none()  # this party receives nothing
        return self._rt.output(x, receivers=[0], raw=raw)


async def _none():
    return None


class FakeEngine:
    """``Engine``'s protocol-facing interface in one process: ``rt``, ``pid`` (0) and ``step``."""

    def __init__(self, study) -> None:
        mr = mpyc_runtime_module()
        saved = sys.argv
        sys.argv = [saved[0] if saved else "pytest", "--no-log"]  # MPyC's default: one party
        try:
            rt = mr.setup()
        finally:
            sys.argv = saved
        self.rt = _OneProcessRuntime(rt, len(study.parties))
        self.pid = 0
        self.me = study.parties[0].name

    async def step(self, awaitable, what: str, timeout: float | None = None):
        return await awaitable

    def run(self, coro):
        async def main():
            await self.rt.start()
            try:
                return await coro
            finally:
                await self.rt.shutdown()

        return self.rt.run(main())
