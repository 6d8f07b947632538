"""The trusted-third-party baseline of the benchmark: every holder sends its whole file over TLS to
one party, which computes the statistic in the clear.

This is what input-privacy techniques replace, so the benchmark measures it as a real run: each
holder and the third party are their own process on 127.0.0.1, the files travel over the same
framed TLS links as the intersection protocols (`secure.channel`: the study's CA, certificates
naming each party, bounded waits, counted bytes and rounds, the same added latency), and the
third party computes with the plain functions confidata compares every protocol with
(`confidata.ipp.plain`). The study given to the links only places the parties and their
certificates; the statistic is the one of the secure study named by ``--spec``.

    python -m confidata.ipp.ttp LINKS.toml --as NAME [--data FILE] --scenario S --spec STUDY.toml
        --output OUT.json [--added-delay-ms D]

The holder's file is sent as it is on disk (Parquet, CSV): what a holder would upload.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import numpy as np

__all__ = ["TTP", "main"]

TTP = "ttp"
_WIDTH = 4096  # bytes per row of the uint8 array a file travels as (the links bound rows, not bytes)


async def _run(args: argparse.Namespace) -> dict:
    from confidata.secure import load_study  # noqa: PLC0415
    from confidata.secure.channel import Links  # noqa: PLC0415

    links_study = load_study(args.links)
    links = Links(links_study, args.me, added_delay=args.added_delay_ms / 1000.0)
    started = time.perf_counter()
    await links.connect()
    connected = time.perf_counter()
    result = None
    try:
        if args.me != TTP:
            body = Path(args.data).read_bytes()
            padded = np.zeros(-(-len(body) // _WIDTH) * _WIDTH, dtype=np.uint8)
            padded[: len(body)] = np.frombuffer(body, dtype=np.uint8)
            await links.send(TTP, "meta", {"bytes": len(body), "suffix": Path(args.data).suffix})
            await links.send(TTP, "file", padded.reshape(-1, _WIDTH))
            # a link may close only after its last ('counts') message: holders tell each other now,
            # the third party once it has the result, and they answer it before closing
            for other in links_study.parties:
                if other.name not in (TTP, args.me):
                    await links.send(other.name, "counts", {"done": True})
            await links.recv(TTP, "counts")
            await links.send(TTP, "counts", {"done": True})
        else:
            from confidata.ipp.plain import plain_from_files  # noqa: PLC0415

            holders = [p.name for p in links_study.parties if p.name != TTP]
            folder = Path(args.output).parent / "ttp-received"
            folder.mkdir(parents=True, exist_ok=True)
            files = {}
            for name in holders:
                meta = await links.recv(name, "meta")
                arr = await links.recv(name, "file", dtype=np.uint8, cols=_WIDTH)
                files[name] = folder / f"{name}{meta['suffix']}"
                files[name].write_bytes(arr.reshape(-1).tobytes()[: int(meta["bytes"])])
            result = plain_from_files(args.scenario, Path(args.spec), files)
            for name in holders:
                await links.send(name, "counts", {"done": True})
            for name in holders:
                await links.recv(name, "counts")
    finally:
        await links.close()
    ended = time.perf_counter()
    return {
        "party": args.me,
        "result": result,
        "seconds_secure": ended - connected,
        "seconds_total": ended - started,
        "bytes_sent": {args.me: links.bytes_sent()},
        "messages_sent": {args.me: links.messages_sent()},
        "rounds": {args.me: links.rounds},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="One party of the trusted-third-party baseline.")
    ap.add_argument("links", type=Path)
    ap.add_argument("--as", dest="me", required=True)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--spec", type=Path, required=True)
    ap.add_argument("--output", type=Path, required=True)
    ap.add_argument("--added-delay-ms", type=float, default=0.0)
    args = ap.parse_args(argv)
    report = asyncio.run(_run(args))
    args.output.write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
