"""What the REST routes and the pages both do: take an upload, queue a job, delete a project.

One place for each action, so the web pages and the REST service cannot drift apart: a page
is a form over the same call a REST client makes.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from pathlib import PurePath
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from confidata.errors import InputFileError, SynthesisError, quote_names
from confidata.serve.runner import Runner
from confidata.serve.store import Store, new_id
from confidata.serve.work import method_options_from, sha256_file
from confidata.synth import METHODS, check_options
from confidata.table.readers import READABLE
from confidata.table.writers import WRITABLE
from confidata.usecases import get_use_case

__all__ = ["JOB_FIELDS", "OUTPUT_FORMATS", "UPLOAD_SUFFIXES", "delete_dataset", "job_view",
           "save_upload", "submit_job"]

# database files need a table name, which an upload does not carry (yet)
UPLOAD_SUFFIXES = tuple(s for s, f in READABLE.items() if f not in ("sqlite", "duckdb"))
OUTPUT_FORMATS = tuple(s.lstrip(".") for s in WRITABLE)
# the keys each kind takes besides `kind`; a synth job also takes its method's own options
JOB_FIELDS: dict[str, frozenset[str]] = {
    "inspect": frozenset({"dataset"}),
    "synth": frozenset({"dataset", "method", "n", "seed", "format"}),
    "sample": frozenset({"job", "n", "seed", "format"}),
    "evaluate": frozenset({"dataset", "synthetic", "use_case", "holdout", "keys", "target", "model",
                           "audience", "min_count", "seed"}),
    "compare": frozenset({"dataset", "use_case", "methods", "holdout", "split", "m", "seed",
                          "epsilon", "delta", "time_cap", "keys", "target", "model"}),
}
_CHUNK = 1 << 20


def display_name(raw: str | None) -> str:
    """The upload's name for people: its last part, printable, at most 120 characters. It is
    shown (escaped) and stored as text; no path is ever made from it."""
    name = PurePath((raw or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:120] or "upload"


async def save_upload(store: Store, runner: Runner, owner: str, upload: Any,
                      limit: int) -> dict[str, Any]:
    """Store an uploaded file as ``datasets/<id>/data<ext>`` and queue its inspect job."""
    if not isinstance(upload, UploadFile):
        raise InputFileError("Send the data file as the multipart field 'file'.")
    name = display_name(upload.filename)
    suffix = PurePath(name).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,10}", suffix) or suffix not in UPLOAD_SUFFIXES:
        raise InputFileError(f"The upload has extension '{suffix or '(none)'}', which the service "
                             f"does not read; send one of: {', '.join(UPLOAD_SUFFIXES)}.")
    dataset_id = new_id()
    folder = store.dataset_dir(dataset_id)
    folder.mkdir(mode=0o700)
    digest, size = hashlib.sha256(), 0
    target = folder / f"data{suffix}"
    try:
        with open(target, "xb") as fh:
            while block := await upload.read(_CHUNK):
                size += len(block)
                if size > limit:
                    raise HTTPException(413, f"The file is larger than this server takes "
                                        f"({limit / (1 << 20):.4g} MiB); start it with a larger "
                                        "--max-upload-mb, or send Parquet.")
                digest.update(block)
                fh.write(block)
        if size == 0:
            raise InputFileError(f"'{name}' is empty (0 bytes); export the table again.")
    except BaseException:
        store.delete_dataset(dataset_id)
        raise
    store.add_dataset(dataset_id, owner, name, suffix, size, digest.hexdigest())
    job = _queue(store, runner, owner, dataset_id, "inspect", {})
    return {"id": dataset_id, "name": name, "size": size, "sha256": digest.hexdigest(),
            "inspect_job": job}


def _owned_dataset(store: Store, owner: str, dataset_id: Any, field: str = "dataset"):
    row = store.dataset(str(dataset_id), owner) if dataset_id else None
    if row is None:
        raise HTTPException(404, f"No dataset '{dataset_id}' for '{field}' (ids come from POST "
                            "/v1/datasets; deleted datasets are gone).")
    return row


def _owned_job(store: Store, owner: str, job_id: Any, field: str, kinds: tuple[str, ...]):
    row = store.job(str(job_id), owner) if job_id else None
    if row is None or row["kind"] not in kinds:
        raise HTTPException(404, f"'{field}' must be the id of one of your {' or '.join(kinds)} "
                            "jobs.")
    return row


def submit_job(store: Store, runner: Runner, owner: str, body: dict[str, Any]) -> str:
    """Check a job request as far as can be done without reading data, then queue it."""
    body = {k: v for k, v in body.items() if v is not None}
    kind = body.pop("kind")
    extra = set(body) - JOB_FIELDS[kind]
    if kind == "synth":
        method = body.get("method", "cart")
        if method not in METHODS:
            raise SynthesisError(f"Unknown method '{method}'; available: "
                                 f"{', '.join(sorted(METHODS))}.")
        options = method_options_from({k: body[k] for k in extra})
        check_options(method, options)  # an option the method does not take is refused by name
        extra = set()
    if extra:
        raise InputFileError(f"A {kind} job does not take {quote_names(sorted(extra))}; it takes "
                             f"{quote_names(sorted(JOB_FIELDS[kind]))}.")
    if body.get("format", "csv") not in OUTPUT_FORMATS:
        raise InputFileError(f"'format' must be one of {', '.join(OUTPUT_FORMATS)}.")
    if kind == "sample":
        source = _owned_job(store, owner, body.get("job"), "job", ("synth",))
        dataset = source["dataset"]
    elif kind == "evaluate":
        source = _owned_job(store, owner, body.get("synthetic"), "synthetic", ("synth", "sample"))
        dataset = body.setdefault("dataset", source["dataset"])
        if "use_case" not in body:
            raise InputFileError("An evaluate job needs 'use_case' (public-release, "
                                 "testing-analysis, education or testing-technology).")
        get_use_case(body["use_case"])
        if body.get("holdout"):
            _owned_dataset(store, owner, body["holdout"], "holdout")
        if isinstance(body.get("keys"), str):
            body["keys"] = [k.strip() for k in body["keys"].split(",") if k.strip()]
    else:
        dataset = body.get("dataset")
    if kind == "compare":
        from confidata.compare import plan_methods

        if "use_case" not in body:
            raise InputFileError("A compare job needs 'use_case' (public-release, "
                                 "testing-analysis, education or testing-technology).")
        get_use_case(body["use_case"])
        for key in ("methods", "keys"):
            if isinstance(body.get(key), str):
                body[key] = [k.strip() for k in body[key].split(",") if k.strip()]
        if body.get("holdout"):
            _owned_dataset(store, owner, body["holdout"], "holdout")
        plan_methods(body.get("methods"), epsilon=body.get("epsilon"), delta=body.get("delta"),
                     time_cap=body.get("time_cap", 600.0))  # refused before any data is read
    _owned_dataset(store, owner, dataset)
    if kind != "inspect" and not store.schema_file(dataset).is_file():
        raise HTTPException(409, f"The schema of dataset '{dataset}' is not ready: wait until its "
                            "inspect job is done (GET /v1/datasets/{id}), or PUT a schema.")
    body.pop("dataset", None)  # the job's own column; the options are the rest
    return _queue(store, runner, owner, dataset, kind, body)


def _queue(store: Store, runner: Runner, owner: str, dataset: str, kind: str,
           options: dict[str, Any]) -> str:
    row = store.dataset(dataset, owner)
    schema = store.schema_file(dataset)
    inputs = {"data_sha256": row["sha256"],
              "schema_sha256": sha256_file(schema) if schema.is_file() else "inferred",
              "options_sha256": hashlib.sha256(json.dumps(options, sort_keys=True).encode())
              .hexdigest()}
    job_id = new_id()
    store.add_job(job_id, owner, dataset, kind, options, inputs)
    runner.notify()
    return job_id


def delete_dataset(store: Store, runner: Runner, owner: str, dataset_id: str) -> None:
    """Cancel the dataset's jobs, then remove it and every file made from it."""
    _owned_dataset(store, owner, dataset_id)
    for job in store.jobs(owner, dataset_id):
        if job["state"] in ("queued", "running"):
            runner.cancel(job["id"])
    store.delete_dataset(dataset_id)


def job_view(row) -> dict[str, Any]:
    """A job as the REST service shows it."""
    return {"id": row["id"], "kind": row["kind"], "dataset": row["dataset"], "state": row["state"],
            "progress": row["progress"], "stage": row["stage"],
            "messages": json.loads(row["messages"]), "error": row["error"],
            "files": json.loads(row["files"]) if row["state"] == "done" else [],
            "options": json.loads(row["options"]), "inputs": json.loads(row["inputs"]),
            "created": row["created"], "started": row["started"], "finished": row["finished"]}
