"""Running the methods of `confidata.compare`: one child process per method, with a time cap.

Each method is fitted, sampled and evaluated in a forked child process, so that a method which
runs past its time cap can be stopped (a thread cannot be), a crash in one method costs only
its row, and two methods use two cores. The child sends its progress and its result back as
JSON text over a pipe (never pickle); the parent keeps a bar per method. The time cap applies
to fitting and sampling: evaluation is the yardstick, the same for every method, and is not
cut short.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np
import pandas as pd

from confidata.errors import ConfidataError
from confidata.evaluate import evaluate
from confidata.measures import MEASURES
from confidata.synth import METHODS, method_options, synthesize
from confidata.table.schema import Schema

__all__ = ["Job", "Reference", "run_jobs"]

_log = logging.getLogger(__name__)
Progress = Callable[[str, str, dict[str, Any]], None]  # (label, stage, message)


@dataclass
class Job:
    """One method to fit (`method`: a registry name) or an already fitted synthesizer
    (`fitted`: anything with ``sample(n, seed=)``), sampled `m` times and evaluated."""

    label: str
    method: str | None
    fitted: Any = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reference:
    """A reference point of the privacy-utility map: real rows standing in for a synthesis."""

    label: str
    rows: pd.DataFrame
    holdout: pd.DataFrame


@dataclass
class Shared:
    """What every job reads: the training part, the holdout and how to evaluate."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    schema: Schema
    use_case: str
    m: int
    seed: int
    n: int
    evaluate_options: dict[str, Any]


def run_jobs(jobs: list[Job | Reference], shared: Shared, *, workers: int, time_cap: float | None,
             progress: Progress | None = None) -> dict[str, dict[str, Any]]:
    """Run every job (at most `workers` at once) and return each one's result by label."""
    context = multiprocessing.get_context("fork")
    pending = list(jobs)
    running: dict[Connection, tuple[Job | Reference, Any, float, bool]] = {}
    results: dict[str, dict[str, Any]] = {}

    def tell(label: str, stage: str, message: dict[str, Any]) -> None:
        if progress is not None:
            progress(label, stage, message)

    while pending or running:
        while pending and len(running) < max(1, workers):
            job = pending.pop(0)
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(writer, job, shared), daemon=True)
            process.start()
            writer.close()
            running[reader] = (job, process, time.perf_counter(), False)
            tell(job.label, "start", {})
        ready = wait(list(running), timeout=0.25)
        for reader in ready:
            job, process, started, capped_done = running[reader]
            try:
                message = json.loads(reader.recv_bytes().decode("utf-8"))
            except (EOFError, OSError):
                message = {"stage": "error", "reason": "the process running this method ended "
                           "without a result (out of memory, or killed)"}
            stage = message.get("stage")
            if stage == "evaluate":
                running[reader] = (job, process, started, True)
            tell(job.label, stage, message)
            if stage in ("done", "error"):
                results[job.label] = message
                _finish(reader, process, running)
        if time_cap is None:
            continue
        for reader, (job, process, started, past_cap_stage) in list(running.items()):
            if not past_cap_stage and time.perf_counter() - started > time_cap:
                process.kill()
                message = {"stage": "error", "reason": f"stopped at the time cap of {time_cap:g} s "
                           "before it had sampled; raise --time-cap to let it finish",
                           "times": {"fit_s": round(time.perf_counter() - started, 2)}}
                results[job.label] = message
                tell(job.label, "error", message)
                _finish(reader, process, running)
    return results


def _finish(reader: Connection, process: Any, running: dict) -> None:
    reader.close()
    process.join(timeout=5)
    if process.is_alive():
        process.kill()
        process.join()
    del running[reader]


# -- in the child -----------------------------------------------------------------------------
def _child(writer: Connection, job: Job | Reference, shared: Shared) -> None:
    def send(message: dict[str, Any]) -> None:
        writer.send_bytes(json.dumps(message, default=_plain).encode("utf-8"))

    try:
        if isinstance(job, Reference):
            send({"stage": "done", **_reference(job, shared)})
        else:
            send({"stage": "done", **_method(job, shared, send)})
    except ConfidataError as exc:  # the method says why it cannot run on this file
        send({"stage": "error", "reason": str(exc)})
    except Exception as exc:  # a bug in one method must not end the comparison
        _log.debug("method %s failed: %s", job.label, traceback.format_exc())
        send({"stage": "error", "reason": f"an internal error ({type(exc).__name__}) in this "
              "method, a bug in confidata; rerun with --verbose for its traceback and please "
              "report it"})
    finally:
        writer.close()
        os._exit(0)  # leave at once: no atexit handlers or threads inherited from the parent


def _method(job: Job, shared: Shared, send: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    started = time.perf_counter()
    send({"stage": "fit"})
    if job.fitted is not None:
        model = job.fitted
    else:
        model = synthesize(shared.train, shared.schema, method=job.method, options=job.options,
                           seed=shared.seed if "seed" in method_options(METHODS[job.method]) else None)
    fit_s = time.perf_counter() - started
    send({"stage": "sample", "fit_s": fit_s})
    seeds = np.random.SeedSequence(shared.seed).generate_state(shared.m)
    t0 = time.perf_counter()
    syntheses = [model.sample(shared.n, seed=int(s)) for s in seeds]
    sample_s = time.perf_counter() - t0
    send({"stage": "evaluate", "fit_s": fit_s, "sample_s": sample_s})
    privacy = _privacy(model)
    t0 = time.perf_counter()
    evaluations = []
    for i, synthetic in enumerate(syntheses):
        result = evaluate(shared.train, synthetic, shared.schema, use_case=shared.use_case,
                          holdout=shared.holdout, seed=shared.seed + i,
                          synthesis={"method": job.method or job.label, "privacy": privacy},
                          epsilon=privacy.get("epsilon") if privacy else None,
                          delta=privacy.get("delta") if privacy else None,
                          **shared.evaluate_options)
        result.pop("provenance", None)
        result.pop("notes_for_users", None)
        evaluations.append(result)
        send({"stage": "evaluate", "done": i + 1})
    evaluate_s = time.perf_counter() - t0
    return {"evaluations": evaluations, "privacy": privacy,
            "times": {"fit_s": round(fit_s, 3), "sample_s": round(sample_s, 3),
                      "evaluate_s": round(evaluate_s, 3)}}


def _privacy(model: Any) -> dict[str, Any] | None:
    """A DP model's budget and how it was spent (public, like its guarantee); None otherwise."""
    ledger = getattr(model, "accountant_", None)
    epsilon = getattr(model, "epsilon", None)
    if ledger is None and epsilon is None:
        return None
    out: dict[str, Any] = {"epsilon": epsilon, "delta": getattr(model, "delta", None)}
    if ledger is not None:
        out.update({"guarantee": ledger.guarantee(), "unit": ledger.unit, "total": ledger.total,
                    "spent": ledger.spent, "by_purpose": ledger.summary(), "noise": ledger.noise})
    return out


def _reference(job: Reference, shared: Shared) -> dict[str, Any]:
    """The map's two figures for real rows: 1 - mean two-way TVD, and the DCR share."""
    t0 = time.perf_counter()
    utility = MEASURES["tvd_2way"].function(shared.train, job.rows, shared.schema)
    risk = MEASURES["distance_to_closest_record"].function(shared.train, job.rows, shared.schema,
                                                          holdout=job.holdout, seed=shared.seed)
    return {"point": {"label": job.label, "utility": 1.0 - float(utility.value),
                      "risk": float(risk.value)},
            "times": {"evaluate_s": round(time.perf_counter() - t0, 3)}}


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and the odd non-JSON value in a result."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)
