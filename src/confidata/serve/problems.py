"""Errors as RFC 9457 problem details (JSON for the REST service, a page for people).

A `ConfidataError` keeps the message the command line prints (what, where, how to fix); a
request that fails validation names the fields, never the values sent; anything else is a bug:
the answer says so with a reference, and the traceback goes to a private file (mode 0600) in
the data folder, not to the server's log (a library's message may quote a data value).
"""

from __future__ import annotations

import logging
import os
import secrets
import traceback
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from confidata.errors import ConfidataError, OutputExistsError

__all__ = ["install", "problem"]

_log = logging.getLogger("confidata.serve")
_TITLES = {400: "Bad request", 401: "Token needed", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 409: "Not ready", 413: "Request too large",
           422: "Cannot do that", 500: "Internal error"}


def problem(status: int, detail: str, title: str | None = None, **extra) -> JSONResponse:
    body = {"type": "about:blank", "title": title or _TITLES.get(status, "Error"),
            "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/v1") or path == "/openapi.json")


def _answer(request: Request, status: int, detail: str) -> Response:
    if _wants_page(request):
        if status == 401:
            return RedirectResponse("/login", status_code=303)
        from confidata.serve.pages import error_page

        return error_page(request, status, _TITLES.get(status, "Error"), detail)
    return problem(status, detail)


def install(app: FastAPI, logs: Path) -> None:
    """Register the handlers on `app`; tracebacks of bugs go under `logs`."""

    @app.exception_handler(ConfidataError)
    async def _confidata(request: Request, exc: ConfidataError) -> Response:
        status = 409 if isinstance(exc, OutputExistsError) else 422
        return _answer(request, status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for error in exc.errors()[:5]:  # the field and the rule, never the value that was sent
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
            parts.append(f"{where}: {error.get('msg', 'invalid')}")
        return _answer(request, 422, "The request does not fit: " + "; ".join(parts) +
                       ". See /docs for each field.")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        return _answer(request, exc.status_code, detail)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        reference = secrets.token_hex(6)
        logs.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(logs / f"error-{reference}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(traceback.format_exc())
        _log.error("internal error %s (%s); details in logs/error-%s.log", reference,
                   type(exc).__name__, reference)
        return _answer(request, 500, f"Internal error (a bug in confidata), reference {reference}. "
                       f"Please report it with logs/error-{reference}.log from the data folder.")
