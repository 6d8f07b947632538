"""The REST service under /v1: datasets, their schemas, jobs and the files jobs make.

Each route checks the caller (`owner_of`), calls one action (`serve.actions`) or reads the
store, and answers JSON. Objects the caller does not own answer 404, as if they did not exist.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from confidata.report import CSP as REPORT_CSP
from confidata.serve import actions
from confidata.serve.app import owner_of
from confidata.synth import METHODS
from confidata.table import Schema

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["REST"])


class JobRequest(BaseModel):
    """A job. `kind` decides which other fields apply; a synth job also takes its method's own
    options by their Python names (see `confidata synth --help`), e.g. `min_leaf`, `epsilon`."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["inspect", "synth", "sample", "evaluate", "compare"] = Field(
        description="What the job does; the other fields apply by kind.")
    dataset: str | None = Field(None, description="The dataset id (inspect, synth; evaluate: the "
                                "real file, default the synthetic job's dataset).")
    method: str | None = Field(None, description="synth: a method of the registry ("
                               f"{', '.join(sorted(METHODS))}; default cart).")
    n: int | None = Field(None, ge=1, description="synth, sample: synthetic rows.")
    seed: int | None = Field(None, ge=0, description="The same seed gives the same bytes.")
    format: str | None = Field(None, description="synth, sample: "
                               f"{', '.join(actions.OUTPUT_FORMATS)} (default csv).")
    job: str | None = Field(None, description="sample: the synth job whose model draws rows.")
    synthetic: str | None = Field(None, description="evaluate: the synth or sample job whose file "
                                  "is judged.")
    use_case: str | None = Field(None, description="evaluate: public-release, testing-analysis, "
                                 "education or testing-technology.")
    holdout: str | None = Field(None, description="evaluate: a dataset of real rows the "
                                "synthesizer never saw.")
    methods: list[str] | None = Field(None, description="compare: registry methods (default: "
                                      "those that need no budget; the DP ones too with epsilon).")
    split: float | None = Field(None, gt=0, lt=1, description="compare: share held out at random "
                                "when no holdout is given (default 0.2).")
    m: int | None = Field(None, ge=1, description="compare: syntheses per method.")
    time_cap: float | None = Field(None, ge=1, description="compare: seconds a method may take.")
    epsilon: float | None = Field(None, gt=0, description="synth (DP methods), compare.")
    delta: float | None = Field(None, gt=0, description="synth (mst, aim), compare.")
    keys: list[str] | None = Field(None, description="evaluate, compare: key variables "
                                   "(quasi-identifiers); default the schema's 'key' role.")
    target: str | None = Field(None, description="evaluate, compare: the column an intruder "
                               "wants to learn, or a model predicts.")
    model: str | None = Field(None, description="evaluate: e.g. 'income ~ age + sex'.")
    audience: Literal["internal", "public"] | None = Field(None, description="evaluate: "
                                                           "internal (default) or public report.")
    min_count: int | None = Field(None, ge=1, description="evaluate: public reports' smallest "
                                  "real count shown (default 10).")


def _store(request: Request):
    return request.app.state.store


def _dataset_view(request: Request, row) -> dict[str, Any]:
    store = _store(request)
    return {"id": row["id"], "name": row["name"], "size": row["size"], "sha256": row["sha256"],
            "created": row["created"], "schema_ready": store.schema_file(row["id"]).is_file()}


def _own_dataset(request: Request, owner: str, dataset_id: str):
    row = _store(request).dataset(dataset_id, owner)
    if row is None:
        raise HTTPException(404, f"No dataset '{dataset_id}'.")
    return row


def _own_job(request: Request, owner: str, job_id: str):
    row = _store(request).job(job_id, owner)
    if row is None:
        raise HTTPException(404, f"No job '{job_id}'.")
    return row


@router.post("/datasets", status_code=201, summary="Upload a data file (multipart field 'file')")
async def upload(request: Request, owner: str = Depends(owner_of)) -> JSONResponse:
    """Any format `confidata inspect` reads except database files, up to the server's
    --max-upload-mb (512 MiB by default). An inspect job is queued at once; its schema is at
    GET /v1/datasets/{id}/schema when it is done."""
    config = request.app.state.config
    form = await request.form(max_files=1, max_fields=4)
    try:
        made = await actions.save_upload(_store(request), request.app.state.runner, owner,
                                         form.get("file"), config.upload_limit)
    finally:
        await form.close()
    return JSONResponse(made, status_code=201)


@router.get("/datasets", summary="Your datasets")
def list_datasets(request: Request, owner: str = Depends(owner_of)) -> list[dict[str, Any]]:
    return [_dataset_view(request, r) for r in _store(request).datasets(owner)]


@router.get("/datasets/{dataset_id}", summary="One dataset and its jobs")
def get_dataset(dataset_id: str, request: Request, owner: str = Depends(owner_of)) -> dict[str, Any]:
    row = _own_dataset(request, owner, dataset_id)
    jobs = [actions.job_view(j) for j in _store(request).jobs(owner, dataset_id)]
    return {**_dataset_view(request, row), "jobs": jobs}


@router.get("/datasets/{dataset_id}/schema", summary="The dataset's schema")
def get_schema(dataset_id: str, request: Request, owner: str = Depends(owner_of)) -> JSONResponse:
    _own_dataset(request, owner, dataset_id)
    path = _store(request).schema_file(dataset_id)
    if not path.is_file():
        raise HTTPException(409, "The schema is not ready: its inspect job has not finished (see "
                            f"GET /v1/datasets/{dataset_id} for its state).")
    return JSONResponse(json.loads(path.read_text(encoding="utf-8")))


@router.put("/datasets/{dataset_id}/schema", summary="Replace the dataset's schema")
def put_schema(dataset_id: str, request: Request, schema: dict[str, Any] = Body(...),
               owner: str = Depends(owner_of)) -> JSONResponse:
    """The schema is checked as `--schema` files are; later jobs use it (an inspect job checks
    it against the data)."""
    _own_dataset(request, owner, dataset_id)
    parsed = Schema.from_dict(schema, where="the schema sent")
    parsed.save(_store(request).schema_file(dataset_id), overwrite=True)
    return JSONResponse(parsed.to_dict())


@router.delete("/datasets/{dataset_id}", status_code=204,
               summary="Delete a dataset, its jobs and every file made from it")
def delete_dataset(dataset_id: str, request: Request, owner: str = Depends(owner_of)) -> Response:
    actions.delete_dataset(_store(request), request.app.state.runner, owner, dataset_id)
    return Response(status_code=204)


@router.post("/jobs", status_code=202, summary="Queue a job")
def create_job(job: JobRequest, request: Request, owner: str = Depends(owner_of)) -> JSONResponse:
    job_id = actions.submit_job(_store(request), request.app.state.runner, owner,
                                job.model_dump(exclude_none=True))
    return JSONResponse({"id": job_id, "state": "queued"}, status_code=202)


@router.get("/jobs", summary="Your jobs")
def list_jobs(request: Request, owner: str = Depends(owner_of)) -> list[dict[str, Any]]:
    return [actions.job_view(j) for j in _store(request).jobs(owner)]


@router.get("/jobs/{job_id}", summary="A job's state, progress and messages")
def get_job(job_id: str, request: Request, owner: str = Depends(owner_of)) -> dict[str, Any]:
    return actions.job_view(_own_job(request, owner, job_id))


@router.post("/jobs/{job_id}/cancel", summary="Cancel a queued or running job")
def cancel_job(job_id: str, request: Request, owner: str = Depends(owner_of)) -> dict[str, Any]:
    _own_job(request, owner, job_id)
    request.app.state.runner.cancel(job_id)
    return actions.job_view(_own_job(request, owner, job_id))


@router.get("/jobs/{job_id}/files/{name}", summary="Download a file a job made")
def job_file(job_id: str, name: str, request: Request, inline: bool = False,
             owner: str = Depends(owner_of)) -> Response:
    """`name` must be one the job lists; `?inline=true` shows an HTML report in the page
    (under the report's own Content-Security-Policy)."""
    row = _own_job(request, owner, job_id)
    files = json.loads(row["files"]) if row["state"] == "done" else []
    if name not in files:
        raise HTTPException(404, f"Job '{job_id}' has no file '{name}'; its files are listed "
                            "in GET /v1/jobs/{id}.")
    path = _store(request).job_dir(job_id) / files[files.index(name)]
    if inline and name.endswith(".html"):
        return HTMLResponse(path.read_text(encoding="utf-8"), headers={
            "Content-Security-Policy": REPORT_CSP + "; frame-ancestors 'self'",
            "X-Frame-Options": "SAMEORIGIN"})
    return FileResponse(path, filename=name, content_disposition_type="attachment")
