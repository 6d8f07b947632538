"""Runs queued jobs in worker processes, at most `workers` at a time, off the event loop.

Why one process per job rather than a `ProcessPoolExecutor`: a running job can then be
cancelled (its process is ended) without taking down the jobs beside it, and a worker that
dies (out of memory) fails only its own job, with a reason. Processes start from a forkserver
that has already imported confidata, so a job starts in milliseconds, not the seconds a fresh
interpreter takes to import numpy, pandas and numba.

The queue is the database: a job is claimed in one transaction (`Store.claim_next`), so
nothing is run twice, and queued jobs left by a stopped server are run by the next one.
"""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from confidata.serve.store import Store

__all__ = ["Runner"]

_POLL_S = 0.2


def _context() -> BaseContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["confidata.serve.work"])
    return ctx


class Runner:
    """The job scheduler: one thread that starts, watches and cancels worker processes."""

    def __init__(self, store: Store, workers: int) -> None:
        self.store = store
        self.workers = workers
        self._ctx = _context()
        self._running: dict[str, BaseProcess] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="confidata-jobs", daemon=True)

    def start(self) -> None:
        """Start the scheduler, and the forkserver in the background (it imports confidata once,
        which takes seconds: done now, the first job does not wait for it)."""
        threading.Thread(target=self._warm, name="confidata-forkserver", daemon=True).start()
        self._thread.start()

    def _warm(self) -> None:
        process = self._ctx.Process(target=_nothing, daemon=True)
        process.start()
        process.join()

    def notify(self) -> None:
        """A job was queued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Stop starting jobs; running ones are ended and marked interrupted at next start-up."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        with self._lock:
            for process in self._running.values():
                process.terminate()

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; False when it had already finished."""
        with self._lock:
            process = self._running.pop(job_id, None)
            changed = self.store.finish(job_id, "cancelled", error="Cancelled on request.")
            if process is not None:
                process.terminate()
                process.join(timeout=5)
        return changed

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._reap()
            while len(self._running) < self.workers and not self._stop.is_set():
                row = self.store.claim_next()
                if row is None:
                    break
                self._launch(row["id"])
            self._wake.wait(_POLL_S)
            self._wake.clear()

    def _launch(self, job_id: str) -> None:
        from confidata.serve.work import run_job

        # not a daemon: a compare job starts processes of its own (one per method)
        process = self._ctx.Process(target=run_job, args=(str(self.store.data_dir), job_id),
                                    name=f"confidata-job-{job_id}", daemon=False)
        with self._lock:
            process.start()
            self._running[job_id] = process

    def _reap(self) -> None:
        """Ended processes: a job whose worker died without recording an outcome failed."""
        with self._lock:
            ended = [(j, p) for j, p in self._running.items() if not p.is_alive()]
            for job_id, process in ended:
                del self._running[job_id]
                process.join()
                if process.exitcode != 0:
                    self.store.finish(job_id, "failed", only_if=("running",), error=(
                        f"The worker process stopped unexpectedly (exit code {process.exitcode}, "
                        "for example out of memory); the job did not finish."))
                else:  # the worker records its outcome; one that did not is still a failure
                    self.store.finish(job_id, "failed", only_if=("running",),
                                      error="The worker ended without recording an outcome.")

    def busy(self) -> int:
        with self._lock:
            return len(self._running)


def _nothing() -> None:
    """The first process from the forkserver: starting it makes the server import confidata."""
