"""Datasets and jobs of the service, kept in one SQLite database (WAL) beside the files.

Why SQLite and not memory: a job must outlive the process that accepted it. A restart finds
every job it had, and marks those that were running when it stopped as interrupted (never lost
without a word). WAL mode lets the worker processes write progress while the server reads it.

Every query is scoped by `owner` (a hash of the caller's token, or ``local`` on loopback without
tokens): one token's datasets and jobs do not exist for another. Display names of uploads are
stored as text for people; no path on disk is ever built from them.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["FINISHED", "STATES", "Store", "connect", "job_update", "new_id"]

STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    suffix TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    dataset TEXT NOT NULL,
    kind TEXT NOT NULL,
    options TEXT NOT NULL,
    inputs TEXT NOT NULL,
    state TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    messages TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    files TEXT NOT NULL DEFAULT '[]',
    created REAL NOT NULL,
    started REAL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, created);
"""


def new_id() -> str:
    """An unguessable id (a URL path segment and a folder name; never derived from input)."""
    return secrets.token_hex(12)


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode that waits for a writer rather than failing at once."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class Store:
    """The service's datasets and jobs: rows in SQLite, files under ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.data_dir / "datasets").mkdir(exist_ok=True, mode=0o700)
        (self.data_dir / "jobs").mkdir(exist_ok=True, mode=0o700)
        self.db_path = self.data_dir / "confidata-serve.sqlite"
        self._conn = connect(self.db_path)
        self._conn.executescript(_SCHEMA)
        # one connection, used by the request threads and the scheduler thread: a lock keeps
        # one thread's transaction from taking in another's statements
        self._lock = threading.RLock()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._conn.execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # -- folders ---------------------------------------------------------------------------
    def dataset_dir(self, dataset_id: str) -> Path:
        return self.data_dir / "datasets" / dataset_id

    def dataset_file(self, row: sqlite3.Row) -> Path:
        return self.dataset_dir(row["id"]) / f"data{row['suffix']}"

    def schema_file(self, dataset_id: str) -> Path:
        return self.dataset_dir(dataset_id) / "schema.json"

    def job_dir(self, job_id: str) -> Path:
        return self.data_dir / "jobs" / job_id

    # -- datasets --------------------------------------------------------------------------
    def add_dataset(self, dataset_id: str, owner: str, name: str, suffix: str, size: int,
                    sha256: str) -> None:
        with self._tx() as conn:
            conn.execute("INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (dataset_id, owner, name, suffix, size, sha256, time.time()))

    def dataset(self, dataset_id: str, owner: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM datasets WHERE id = ? AND owner = ?", (dataset_id, owner))

    def datasets(self, owner: str) -> list[sqlite3.Row]:
        return self._all("SELECT * FROM datasets WHERE owner = ? ORDER BY created DESC", (owner,))

    def delete_dataset(self, dataset_id: str) -> list[str]:
        """Remove the dataset, its jobs and every file they made; returns the job ids removed."""
        with self._tx() as conn:
            jobs = [r["id"] for r in conn.execute("SELECT id FROM jobs WHERE dataset = ?",
                                                  (dataset_id,))]
            conn.execute("DELETE FROM jobs WHERE dataset = ?", (dataset_id,))
            conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))
        for job_id in jobs:
            shutil.rmtree(self.job_dir(job_id), ignore_errors=True)
        shutil.rmtree(self.dataset_dir(dataset_id), ignore_errors=True)
        return jobs

    def expired(self, days: float) -> list[str]:
        cutoff = time.time() - days * 86400
        return [r["id"] for r in self._all("SELECT id FROM datasets WHERE created < ?", (cutoff,))]

    # -- jobs ------------------------------------------------------------------------------
    def add_job(self, job_id: str, owner: str, dataset: str, kind: str, options: dict[str, Any],
                inputs: dict[str, str]) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO jobs (id, owner, dataset, kind, options, inputs, state, created) "
                "VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)",
                (job_id, owner, dataset, kind, json.dumps(options), json.dumps(inputs), time.time()))

    def job(self, job_id: str, owner: str | None = None) -> sqlite3.Row | None:
        if owner is None:
            return self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return self._one("SELECT * FROM jobs WHERE id = ? AND owner = ?", (job_id, owner))

    def jobs(self, owner: str, dataset: str | None = None) -> list[sqlite3.Row]:
        if dataset is None:
            return self._all("SELECT * FROM jobs WHERE owner = ? ORDER BY created", (owner,))
        return self._all("SELECT * FROM jobs WHERE owner = ? AND dataset = ? ORDER BY created",
                         (owner, dataset))

    def claim_next(self) -> sqlite3.Row | None:
        """The oldest queued job, now marked running (one transaction, so no job runs twice)."""
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE state = 'queued' ORDER BY created "
                               "LIMIT 1").fetchone()
            if row is None:
                return None
            conn.execute("UPDATE jobs SET state = 'running', started = ?, stage = 'starting' "
                         "WHERE id = ?", (time.time(), row["id"]))
        return row

    def finish(self, job_id: str, state: str, *, error: str | None = None,
               only_if: tuple[str, ...] = ("queued", "running")) -> bool:
        """Set a final state unless the job already has one; True when this call set it."""
        marks = ",".join("?" for _ in only_if)
        with self._tx() as conn:
            changed = conn.execute(
                f"UPDATE jobs SET state = ?, error = COALESCE(?, error), finished = ? "
                f"WHERE id = ? AND state IN ({marks})",
                (state, error, time.time(), job_id, *only_if)).rowcount
        return bool(changed)

    def recover(self) -> list[str]:
        """At start-up: a job left running by a stopped server failed with a clear reason;
        queued jobs stay queued and run now. Returns the ids marked interrupted."""
        with self._tx() as conn:
            rows = [r["id"] for r in conn.execute("SELECT id FROM jobs WHERE state = 'running'")]
            for job_id in rows:
                conn.execute(
                    "UPDATE jobs SET state = 'failed', finished = ?, error = ? WHERE id = ?",
                    (time.time(), "Interrupted: the server stopped while this job ran, so it did "
                     "not finish. Submit it again (the same options and seed give the same "
                     "result).", job_id))
        return rows


def job_update(conn: sqlite3.Connection, job_id: str, **fields: Any) -> None:
    """A worker's progress write: a short transaction so the server's reads never wait long."""
    for key in ("messages", "files"):
        if key in fields:
            fields[key] = json.dumps(fields[key])
    columns = ", ".join(f"{k} = ?" for k in fields)
    conn.execute(f"UPDATE jobs SET {columns} WHERE id = ?", (*fields.values(), job_id))
