"""The application factory: one FastAPI app serving the web pages and the REST service.

`create_app` wires the parts together: the store (SQLite + files), the job runner (worker
processes), the access guard, the body limits, the error answers, and the two routers. At
start-up it removes data older than the retention period and marks jobs a stopped server left
running as interrupted; at shutdown it stops the workers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response

from confidata import __version__
from confidata.serve import problems
from confidata.serve.runner import Runner
from confidata.serve.security import LOOPBACK, TOKEN_COOKIE, BodyLimit, Guard
from confidata.serve.store import Store

__all__ = ["ServeConfig", "create_app", "owner_of"]

_log = logging.getLogger("confidata.serve")
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "frame-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
            "frame-ancestors 'none'")


@dataclass(frozen=True)
class ServeConfig:
    """The service's options (the command line's flags)."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8765
    tokens: tuple[str, ...] = ()
    workers: int = 2
    max_upload_mb: float = 512.0
    retention_days: float | None = None

    @property
    def upload_limit(self) -> int:
        return int(self.max_upload_mb * (1 << 20))


def create_app(config: ServeConfig) -> FastAPI:
    """The app for `config`; nothing starts until the server runs its lifespan."""
    from confidata.errors import InputFileError

    if config.host not in LOOPBACK and not config.tokens:
        raise InputFileError(f"Serving on '{config.host}' makes the service reachable from other "
                             "machines; pass --token-file with a token for each user, or keep the "
                             "default host 127.0.0.1.")
    store = Store(config.data_dir)
    runner = Runner(store, config.workers)
    guard = Guard(config.host, config.tokens)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if config.retention_days is not None:
            old = store.expired(config.retention_days)
            for dataset_id in old:
                store.delete_dataset(dataset_id)
            _log.info("retention: removed %d dataset(s) older than %g days", len(old),
                      config.retention_days)
        interrupted = store.recover()
        if interrupted:
            _log.warning("%d job(s) were running when the server stopped; marked failed "
                         "(interrupted)", len(interrupted))
        runner.start()
        yield
        runner.stop()

    app = FastAPI(title="confidata", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None,
                  description="Synthetic data with measured utility and risk: upload a file, "
                  "inspect its schema, synthesise, evaluate for a use case, download. Jobs run "
                  "in worker processes; a job's state is one of queued, running, done, failed, "
                  "cancelled. Errors are RFC 9457 problem details with the command line's "
                  "messages.")
    app.state.config, app.state.store, app.state.runner, app.state.guard = \
        config, store, runner, guard
    problems.install(app, config.data_dir / "logs")

    @app.middleware("http")
    async def _checks(request: Request, call_next) -> Response:
        host = request.headers.get("host", "")
        if not guard.host_allowed(host):
            return problems.problem(403, "This service answers only on the loopback address it "
                                    "was started on; open it as http://127.0.0.1:PORT/.")
        if request.method not in ("GET", "HEAD", "OPTIONS") and not guard.same_origin(
                request.headers.get("origin"), host):
            return problems.problem(403, "A request from another site was refused (its Origin "
                                    "is not this server).")
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on our forms
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.add_middleware(BodyLimit, upload_limit=config.upload_limit,
                       upload_paths=("/v1/datasets", "/upload"))

    from confidata.serve.api import router as api_router
    from confidata.serve.pages import router as page_router

    app.include_router(api_router)
    app.include_router(page_router)
    return app


def owner_of(request: Request) -> str:
    """The caller's owner id, from ``Authorization: Bearer`` or the sign-in cookie; 401 if none."""
    guard: Guard = request.app.state.guard
    header = request.headers.get("authorization", "")
    presented = header[7:].strip() if header.lower().startswith("bearer ") else \
        request.cookies.get(TOKEN_COOKIE)
    owner = guard.owner(presented)
    if owner is None:
        raise HTTPException(401, "This server needs a token: send 'Authorization: Bearer TOKEN' "
                            "(or sign in at /login); ask whoever runs it for one.")
    return owner
