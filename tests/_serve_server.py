"""A real `confidata serve` in a subprocess on a free loopback port, for the serve tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CONFIDATA = [sys.executable, "-m", "confidata.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``confidata serve`` started as a user would; its output is kept in `log`."""

    def __init__(self, data_dir: Path, *extra: str, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"serve-{self.port}.log"
        self.extra = extra
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> float:
        """Start and wait until it answers; returns the seconds that took."""
        began = time.perf_counter()
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [*CONFIDATA, "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
                 *self.extra], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        while time.perf_counter() - began < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                httpx.get(self.url + "/openapi.json", timeout=1)
                return time.perf_counter() - began
            except httpx.HTTPError:
                time.sleep(0.05)
        raise TimeoutError(self.log.read_text())

    def stop(self, hard: bool = False) -> None:
        """Stop it: SIGINT as Ctrl+C, or SIGKILL of the whole process group (a crash)."""
        if self.process is None or self.process.poll() is not None:
            return
        if hard:
            os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, **{"timeout": 60, **kwargs})


def wait_job(client: httpx.Client, job_id: str, timeout: float = 120) -> dict:
    """Poll a job until it ends; returns its last state."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")


def upload(client: httpx.Client, path: Path, name: str | None = None) -> dict:
    with open(path, "rb") as fh:
        answer = client.post("/v1/datasets", files={"file": (name or path.name, fh)})
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert wait_job(client, made["inspect_job"])["state"] == "done"
    return made
