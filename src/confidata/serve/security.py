"""Who may use the service, and the checks every request passes before it reaches a route.

- Loopback by default; any other interface needs tokens (`--token-file`, one token a line).
  A token is compared in constant time (`hmac.compare_digest`, every token tried), and its
  owner id is a hash of it, so one token's datasets are invisible to another's.
- On loopback without tokens the Host header must name the loopback (a web page elsewhere
  cannot reach the service by DNS rebinding), and a cross-site Origin on any write is refused.
- Form posts carry a CSRF token equal to a cookie only this site can set (double submit).
- Request bodies are limited: uploads to the stated size, everything else to 1 MiB.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from confidata.errors import InputFileError

__all__ = ["BodyLimit", "Guard", "LOOPBACK", "read_tokens"]

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
TOKEN_COOKIE = "confidata_token"
CSRF_COOKIE = "confidata_csrf"
FORM_LIMIT = 1 << 20  # bytes of any request body that is not an upload


def read_tokens(path: Path) -> tuple[str, ...]:
    """Tokens from a file, one a line ('#' starts a comment); at least 16 characters each."""
    if not path.is_file():
        raise InputFileError(f"Token file '{path}' does not exist; create it with one long random "
                             "token a line (for example: python -c 'import secrets; "
                             "print(secrets.token_urlsafe(32))').")
    tokens = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        token = line.split("#", 1)[0].strip()
        if not token:
            continue
        if len(token) < 16:
            raise InputFileError(f"Token file '{path}', line {number}: a token needs at least 16 "
                                 "characters; make a longer one.")
        tokens.append(token)
    if not tokens:
        raise InputFileError(f"Token file '{path}' holds no token; add one a line.")
    return tuple(tokens)


@dataclass
class Guard:
    """The service's access rules, built once from its options."""

    host: str
    tokens: tuple[str, ...] = ()
    csrf_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def needs_token(self) -> bool:
        return bool(self.tokens)

    def owner(self, presented: str | None) -> str | None:
        """The owner id for a presented token, None when it is not one of ours."""
        if not self.tokens:
            return "local"
        if not presented:
            return None
        found = None
        for token in self.tokens:  # no early exit: the time taken says nothing about which
            if hmac.compare_digest(token.encode(), presented.encode()):
                found = token
        if found is None:
            return None
        return "t-" + hashlib.sha256(found.encode()).hexdigest()[:24]

    def host_allowed(self, host_header: str) -> bool:
        if self.host not in LOOPBACK:
            return True
        name = host_header.rsplit(":", 1)[0] if not host_header.startswith("[") else \
            host_header.split("]")[0] + "]"
        return name in LOOPBACK

    @staticmethod
    def same_origin(origin: str | None, host_header: str) -> bool:
        """No Origin (curl, a same-site navigation) or our own; 'null' and others are refused."""
        if origin is None:
            return True
        return origin.split("://", 1)[-1] == host_header

    @staticmethod
    def csrf_ok(cookie: str | None, form_value: str | None) -> bool:
        if not cookie or not form_value:
            return False
        return hmac.compare_digest(cookie.encode(), form_value.encode())


class BodyLimit:
    """Refuse a request body over its limit (413) before or while it arrives."""

    def __init__(self, app: ASGIApp, *, upload_limit: int, upload_paths: tuple[str, ...]) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        # an upload's multipart framing adds a little to the file's own size
        limit = self.upload_limit + (1 << 16) if scope["path"] in self.upload_paths else FORM_LIMIT
        stated = self.upload_limit if scope["path"] in self.upload_paths else FORM_LIMIT
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _refuse(send, 413, "Request too large", _too_large(stated))
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, _too_large(stated))
            return message

        await self.app(scope, counted, send)


async def _refuse(send: Send, status: int, title: str, detail: str) -> None:
    """An RFC 9457 answer sent before the application sees the request."""
    body = json.dumps({"type": "about:blank", "title": title, "status": status,
                       "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _too_large(limit: int) -> str:
    size = f"{limit / (1 << 20):.4g} MiB"
    return (f"The request is larger than this server takes ({size}); for an upload, send a smaller "
            "file (Parquet is smaller than CSV) or start the server with a larger --max-upload-mb.")
