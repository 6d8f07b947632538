"""The web pages: upload -> schema -> synthesise -> evaluate -> download, and the input-privacy
catalogue, server-rendered with autoescaped Jinja2 templates.

Every page works without script; `static/app.js` (ours, a few lines, no framework) only keeps a
job's progress bar live. Every form post carries the CSRF token of the page that made it, and
every action is the same call a REST client makes (`serve.actions`).
"""

from __future__ import annotations

import inspect
import json
import secrets
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from confidata import __version__
from confidata.errors import SchemaError
from confidata.serve import actions
from confidata.serve.app import owner_of
from confidata.serve.security import CSRF_COOKIE, TOKEN_COOKIE, Guard
from confidata.synth import METHODS, method_options
from confidata.table import Kind, Role, Schema
from confidata.usecases import USE_CASES

__all__ = ["error_page", "router"]

router = APIRouter(include_in_schema=False)
_HERE = Path(__file__).parent
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined)
_STATIC = {p.name: p for p in (_HERE / "static").iterdir() if p.is_file()}
_TYPES = {".css": "text/css", ".js": "text/javascript", ".png": "image/png"}
STEPS = ("Upload", "Schema", "Synthesise", "Evaluate", "Download")


def _csrf(request: Request) -> tuple[str, bool]:
    token = request.cookies.get(CSRF_COOKIE)
    return (token, False) if token else (secrets.token_urlsafe(24), True)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    token, fresh = _csrf(request)
    html = _env.get_template(template).render(csrf=token, version=__version__, steps=STEPS,
                                              step=context.pop("step", None),
                                              needs_token=request.app.state.guard.needs_token,
                                              **context)
    response = HTMLResponse(html, status_code=status)
    if fresh:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict")
    return response


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return render(request, "error.html", status=status, title=title, detail=detail)


async def _form(request: Request) -> Any:
    """The posted form, once its CSRF token matches the cookie (403 otherwise)."""
    form = await request.form(max_files=1)
    if not Guard.csrf_ok(request.cookies.get(CSRF_COOKIE), str(form.get("csrf") or "")):
        raise HTTPException(403, "The form's security token is missing or stale (CSRF check); "
                            "reload the page and submit it again.")
    return form


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- home, upload, sign-in ----------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def home(request: Request, owner: str = Depends(owner_of)) -> HTMLResponse:
    store = request.app.state.store
    return render(request, "home.html", step="Upload", datasets=store.datasets(owner),
                  suffixes=", ".join(actions.UPLOAD_SUFFIXES),
                  limit_mb=request.app.state.config.max_upload_mb)


@router.post("/upload")
async def upload(request: Request, owner: str = Depends(owner_of)) -> Response:
    form = await _form(request)
    try:
        made = await actions.save_upload(request.app.state.store, request.app.state.runner, owner,
                                         form.get("file"), request.app.state.config.upload_limit)
    finally:
        await form.close()
    return _see(f"/datasets/{made['id']}")


@router.get("/login", response_class=HTMLResponse)
def login(request: Request) -> HTMLResponse:
    return render(request, "login.html", failed=False)


@router.post("/login")
async def login_post(request: Request) -> Response:
    form = await _form(request)
    token = str(form.get("token") or "")
    if request.app.state.guard.owner(token) is None:
        return render(request, "login.html", status=401, failed=True)
    response = _see("/")
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
    return response


# -- a dataset: its schema, and synthesis ---------------------------------------------------------
def _dataset(request: Request, owner: str, dataset_id: str):
    row = request.app.state.store.dataset(dataset_id, owner)
    if row is None:
        raise HTTPException(404, "There is no such dataset (it may have been deleted).")
    return row


def _method_fields(method: str) -> list[dict[str, Any]]:
    """The method's own options, read from its constructor (the registry's declaration)."""
    cls = METHODS[method]
    params = inspect.signature(cls.__init__).parameters
    fields = []
    for name in sorted(method_options(cls) - {"seed"}):
        default = params[name].default
        fields.append({"name": name, "default": "" if default in (None, inspect.Parameter.empty)
                       else default, "bool": isinstance(default, bool),
                       "allowed": getattr(cls, "_constraint_text", {}).get(name, "")})
    return fields


def _parse_option(text: str, default: Any) -> Any:
    text = text.strip()
    if isinstance(default, bool):
        return text.lower() in ("on", "true", "1", "yes")
    for kind in (int, float):
        if isinstance(default, kind) or default in (None, ""):
            try:
                return kind(text)
            except ValueError:
                pass
    if isinstance(default, list | tuple) or ("," in text and default in (None, "")):
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


@router.get("/datasets/{dataset_id}", response_class=HTMLResponse)
def dataset_page(dataset_id: str, request: Request, method: str = "cart",
                 owner: str = Depends(owner_of)) -> HTMLResponse:
    from confidata.synth.dp import DPSynthesizer  # with the DP library: not at server start-up

    store = request.app.state.store
    row = _dataset(request, owner, dataset_id)
    jobs = [actions.job_view(j) for j in store.jobs(owner, dataset_id)]
    inspect_job = next((j for j in reversed(jobs) if j["kind"] == "inspect"), None)
    schema_path = store.schema_file(dataset_id)
    schema = Schema.load(schema_path) if schema_path.is_file() else None
    overview = {}
    if inspect_job and inspect_job["state"] == "done":
        path = store.job_dir(inspect_job["id"]) / "overview.json"
        if path.is_file():
            overview = {c["name"]: c for c in json.loads(path.read_text())["columns"]}
    if method not in METHODS:
        method = "cart"
    step = "Synthesise" if any(j["kind"] == "synth" for j in jobs) else "Schema"
    return render(request, "dataset.html", step=step,
                  dataset=row, jobs=jobs, inspect_job=inspect_job, schema=schema,
                  overview=overview, kinds=[k.value for k in Kind], roles=[r.value for r in Role],
                  methods=sorted(METHODS), method=method, fields=_method_fields(method),
                  private=issubclass(METHODS[method], DPSynthesizer),
                  use_cases=list(USE_CASES.values()),
                  formats=actions.OUTPUT_FORMATS)


@router.post("/datasets/{dataset_id}/schema")
async def schema_post(dataset_id: str, request: Request, owner: str = Depends(owner_of)) -> Response:
    form = await _form(request)
    _dataset(request, owner, dataset_id)
    path = request.app.state.store.schema_file(dataset_id)
    if not path.is_file():
        raise HTTPException(409, "The schema is not ready: its inspect job has not finished.")
    schema = Schema.load(path)
    for i, column in enumerate(schema):
        def number(key: str, name: str = column.name) -> float | None:
            text = str(form.get(key) or "").strip()
            if not text:
                return None
            try:
                return float(text)
            except ValueError:
                raise SchemaError(f"Column '{name}': '{key.split('_')[0]}' must be a number or "
                                  "empty.") from None
        levels = [v.strip() for v in str(form.get(f"levels_{i}") or "").splitlines() if v.strip()]
        missing = [v.strip() for v in str(form.get(f"missing_{i}") or "").split(",") if v.strip()]
        schema = schema.replace_column(
            column.name, kind=str(form.get(f"kind_{i}") or column.kind.value),
            roles=tuple(str(r) for r in form.getlist(f"roles_{i}")),
            missing_values=tuple(missing), levels=tuple(levels) if levels else column.levels,
            minimum=number(f"min_{i}"), maximum=number(f"max_{i}"),
            domain_public=form.get(f"public_{i}") is not None)
    schema.save(path, overwrite=True)
    return _see(f"/datasets/{dataset_id}?saved=1#synthesise")


@router.post("/datasets/{dataset_id}/synth")
async def synth_post(dataset_id: str, request: Request, owner: str = Depends(owner_of)) -> Response:
    form = await _form(request)
    method = str(form.get("method") or "cart")
    if method not in METHODS:
        raise HTTPException(422, f"Unknown method; choose one of {', '.join(sorted(METHODS))}.")
    body: dict[str, Any] = {"kind": "synth", "dataset": dataset_id, "method": method,
                            "format": str(form.get("format") or "csv")}
    for key in ("seed", "n"):
        text = str(form.get(key) or "").strip()
        if text:
            if not text.isdigit():
                raise HTTPException(422, f"'{key}' must be a whole number (0 or more).")
            body[key] = int(text)
    for field in _method_fields(method):
        text = form.get(f"opt_{field['name']}")
        if text is not None and str(text).strip():
            body[field["name"]] = _parse_option(str(text), field["default"])
    job_id = actions.submit_job(request.app.state.store, request.app.state.runner, owner, body)
    return _see(f"/jobs/{job_id}")


@router.post("/datasets/{dataset_id}/compare")
async def compare_post(dataset_id: str, request: Request,
                       owner: str = Depends(owner_of)) -> Response:
    form = await _form(request)
    body: dict[str, Any] = {"kind": "compare", "dataset": dataset_id,
                            "use_case": str(form.get("use_case") or ""),
                            "methods": [str(m) for m in form.getlist("methods")] or None}
    for key, kind in (("seed", int), ("epsilon", float), ("delta", float)):
        text = str(form.get(key) or "").strip()
        if text:
            try:
                body[key] = kind(text)
            except ValueError:
                raise HTTPException(422, f"'{key}' must be a number.") from None
    job_id = actions.submit_job(request.app.state.store, request.app.state.runner, owner, body)
    return _see(f"/jobs/{job_id}")


@router.post("/datasets/{dataset_id}/delete")
async def delete_post(dataset_id: str, request: Request, owner: str = Depends(owner_of)) -> Response:
    await _form(request)
    actions.delete_dataset(request.app.state.store, request.app.state.runner, owner, dataset_id)
    return _see("/?deleted=1")


# -- a job: progress, evaluation, downloads --------------------------------------------------------
@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: str, request: Request, owner: str = Depends(owner_of)) -> HTMLResponse:
    store = request.app.state.store
    row = store.job(job_id, owner)
    if row is None:
        raise HTTPException(404, "There is no such job (its dataset may have been deleted).")
    job = actions.job_view(row)
    dataset = store.dataset(row["dataset"], owner)
    schema_path = store.schema_file(row["dataset"])
    columns = Schema.load(schema_path).names if schema_path.is_file() else []
    step = {"inspect": "Schema", "synth": "Synthesise", "sample": "Synthesise",
            "evaluate": "Evaluate", "compare": "Evaluate"}[job["kind"]]
    if job["state"] == "done" and job["kind"] in ("evaluate", "compare"):
        step = "Download"
    return render(request, "job.html", step=step, job=job, dataset=dataset, columns=columns,
                  formats=actions.OUTPUT_FORMATS,
                  use_cases=list(USE_CASES.values()), datasets=store.datasets(owner))


@router.post("/jobs/{job_id}/evaluate")
async def evaluate_post(job_id: str, request: Request, owner: str = Depends(owner_of)) -> Response:
    form = await _form(request)
    body: dict[str, Any] = {"kind": "evaluate", "synthetic": job_id,
                            "use_case": str(form.get("use_case") or ""),
                            "audience": str(form.get("audience") or "internal")}
    for key in ("target", "holdout", "model"):
        text = str(form.get(key) or "").strip()
        if text:
            body[key] = text
    seed = str(form.get("seed") or "").strip()
    if seed:
        if not seed.isdigit():
            raise HTTPException(422, "'seed' must be a whole number (0 or more).")
        body["seed"] = int(seed)
    new = actions.submit_job(request.app.state.store, request.app.state.runner, owner, body)
    return _see(f"/jobs/{new}")


@router.post("/jobs/{job_id}/sample")
async def sample_post(job_id: str, request: Request, owner: str = Depends(owner_of)) -> Response:
    form = await _form(request)
    body: dict[str, Any] = {"kind": "sample", "job": job_id,
                            "format": str(form.get("format") or "csv")}
    for key in ("n", "seed"):
        text = str(form.get(key) or "").strip()
        if text:
            if not text.isdigit():
                raise HTTPException(422, f"'{key}' must be a whole number (0 or more).")
            body[key] = int(text)
    new = actions.submit_job(request.app.state.store, request.app.state.runner, owner, body)
    return _see(f"/jobs/{new}")


@router.post("/jobs/{job_id}/cancel")
async def cancel_post(job_id: str, request: Request, owner: str = Depends(owner_of)) -> Response:
    await _form(request)
    if request.app.state.store.job(job_id, owner) is None:
        raise HTTPException(404, "There is no such job.")
    request.app.state.runner.cancel(job_id)
    return _see(f"/jobs/{job_id}")


# -- input privacy: the use-case catalogue (read-only) ---------------------------------------------
@router.get("/ipp", response_class=HTMLResponse)
def ipp_cases(request: Request) -> HTMLResponse:
    from confidata.ipp import load_catalogue

    catalogue = load_catalogue()
    return render(request, "ipp_cases.html", cases=catalogue.sorted(), catalogue=catalogue)


@router.get("/ipp/{slug}", response_class=HTMLResponse)
def ipp_case(slug: str, request: Request) -> HTMLResponse:
    from confidata.ipp import load_catalogue

    catalogue = load_catalogue()
    case = catalogue.get(slug)
    return render(request, "ipp_case.html", case=case, vocab=catalogue.vocabulary,
                  **_advice(case.slug))


def _advice(slug: str) -> dict[str, Any]:
    """`confidata ipp recommend CASE` on the committed benchmark runs, or why there is none."""
    from confidata.errors import ConfidataError
    from confidata.ipp.recommend import default_results, recommend_case
    from confidata.ipp.runs import read_runs

    try:
        path = str(default_results())
        return {"advice": recommend_case(read_runs(path), slug, results=path), "no_advice": ""}
    except ConfidataError as exc:
        return {"advice": None, "no_advice": str(exc)}


# -- the API reference and the static files ---------------------------------------------------------
@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """A reference made from /openapi.json on the server (Swagger UI would load from a CDN)."""
    spec = request.app.openapi()
    routes = []
    for path, methods in spec.get("paths", {}).items():
        for verb, op in methods.items():
            params = [p["name"] for p in op.get("parameters", []) if p.get("in") in ("query",)]
            routes.append({"verb": verb.upper(), "path": path, "summary": op.get("summary", ""),
                           "doc": op.get("description", ""), "params": params})
    job = spec.get("components", {}).get("schemas", {}).get("JobRequest", {})
    return render(request, "docs.html", routes=routes, job_fields=job.get("properties", {}),
                  description=spec.get("info", {}).get("description", ""))


@router.get("/static/{name}")
def static(name: str) -> Response:
    path = _STATIC.get(name)  # only the files shipped in serve/static, by exact name
    if path is None:
        raise HTTPException(404, "No such file.")
    return Response(path.read_bytes(), media_type=_TYPES.get(path.suffix, "application/octet-stream"),
                    headers={"Cache-Control": "max-age=3600"})
