"""A faulty or malicious party, for the failure and wire tests only: the production
``confidata secure party`` with its transport wrapped from outside.

    python tests/_faulty_party.py FAULT secure party STUDY --as NAME --data FILE ...

FAULT is one of

* ``leak``: a table party that, after the study check, also writes the numbers of its data file
  to every peer as raw int64 bytes, in a frame no step ever reads (the peers run on; the wire
  test's positive control must find the values);
* ``bytes``, ``shape``, ``type``: a table party that sends, in place of each share vector after
  the study check, random bytes, a share header whose count does not match its length, or a
  well-formed plain-data payload (the others must stop naming it);
* ``oversize``: a table party that, after the study check, announces a 4 GB frame (MPyC's
  header allows it) and sends a little of it (the others must refuse it before reading it);
* ``ids``: an intersection holder that sends its normalised identifiers in clear JSON after the
  study check (the PSI wire test's positive control);
* ``key=PATH``: an honest helper-technique holder that also writes the key it agreed with the
  other holder to PATH, so that the wire test can compute the pseudonyms and look for them.

Nothing in src/ knows about this file: it replaces module attributes before the CLI runs.
"""

from __future__ import annotations

import os
import sys

import pandas as pd

import confidata.secure.engine as engine_module
import confidata.secure.psi_ecdh as psi_ecdh
import confidata.secure.psi_helper as psi_helper
from confidata.cli import main
from confidata.secure.mpyc_wire import encode_plain


def _garbage(kind: str, payload: bytes) -> bytes:
    if kind == "bytes":
        return os.urandom(max(16, len(payload)))
    if kind == "shape":  # a share header announcing a million elements over the same few bytes
        return payload[:5] + (10**6).to_bytes(8, "little") + payload[13:]
    return encode_plain({"not": "shares"})


def _install_table_fault(kind: str, data: str | None) -> None:
    make_link_class = engine_module._make_link_class

    def faulty_link_class(base):
        link = make_link_class(base)

        class Faulty(link):
            def send(self, pc, payload):
                if getattr(self.engine, "faulty", False) and kind in ("bytes", "shape", "type"):
                    payload = _garbage(kind, payload)
                super().send(pc, payload)

        return Faulty

    engine_module._make_link_class = faulty_link_class
    step = engine_module.Engine.step

    async def faulty_step(self, awaitable, what, timeout=None):
        got = await step(self, awaitable, what, timeout)
        if what == "the study check":  # from here on, this party misbehaves
            self.faulty = True
            others = [p for p in self.rt.parties if p.pid != self.pid]
            if kind == "oversize":
                head = (2**40).to_bytes(8, "little") + (2**32 - 1).to_bytes(4, "little")
                for peer in others:
                    peer.protocol.transport.write(head + bytes(1 << 16))
            if kind == "leak":  # its raw numbers as int64, in a frame with a program counter no step uses
                frame = pd.read_csv(data).select_dtypes("number")
                plain = frame.to_numpy(dtype="<i8").tobytes()
                for peer in others:
                    peer.protocol.send(-(2**40), plain)
        return got

    engine_module.Engine.step = faulty_step


def _install_identifier_leak() -> None:
    def leaking(protocol):
        async def run(links, study, inp):
            for peer in links._peers:
                await links.send(peer, "leak", [str(k) for k in inp.ids.keys])
            return await protocol(links, study, inp)

        return run

    psi_ecdh.ecdh_psi = leaking(psi_ecdh.ecdh_psi)
    psi_helper.holder_psi = leaking(psi_helper.holder_psi)


def _install_key_recorder(path: str) -> None:
    agree = psi_helper._agree

    def recording(*args):
        key = agree(*args)
        with open(path, "w") as fh:
            fh.write(key.hex())
        return key

    psi_helper._agree = recording


if __name__ == "__main__":
    fault, *args = sys.argv[1:]
    if fault == "ids":
        _install_identifier_leak()
    elif fault.startswith("key="):
        _install_key_recorder(fault.removeprefix("key="))
    else:
        _install_table_fault(fault, args[args.index("--data") + 1] if "--data" in args else None)
    sys.exit(main(args))
