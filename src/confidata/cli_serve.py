"""`confidata serve`: start the web app and REST service (see `confidata.serve`).

The web stack (FastAPI, uvicorn) is imported only when the command runs, so every other
command starts as fast as before and works without the `serve` extra installed.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Annotated, Optional

import typer

from confidata._cli_common import guarded, out
from confidata.errors import InputFileError

__all__ = ["serve_command"]

_DEFAULT_DIR = Path.home() / ".confidata" / "serve"


@guarded
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on; anything but the loopback needs --token-file.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8765,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Where uploads, jobs and the job database live (confidential: mode 0700).")] = _DEFAULT_DIR,
    token_file: Annotated[Optional[Path], typer.Option("--token-file", help="Tokens, one a line (16+ characters); each token sees only its own datasets.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Jobs run at the same time, each in its own process.")] = max(1, (os.cpu_count() or 2) // 2),
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", min=0.001, help="Largest upload in MiB.")] = 512.0,
    retention: Annotated[Optional[float], typer.Option("--retention", min=0.0, help="At start-up, delete datasets (and their jobs) older than this many days.")] = None,
) -> None:
    """Start the web app and the REST service (pages at /, API reference at /docs)."""
    try:
        import uvicorn

        from confidata.serve import ServeConfig, create_app
        from confidata.serve.security import read_tokens
    except ImportError as exc:
        raise InputFileError(f"confidata serve needs the 'serve' extra ({exc.name} is missing); "
                             "install it with: pip install 'confidata[serve]'.") from None
    tokens = read_tokens(token_file) if token_file is not None else ()
    config = ServeConfig(data_dir=data_dir, host=host, port=port, tokens=tokens, workers=workers,
                         max_upload_mb=max_upload_mb, retention_days=retention)
    app = create_app(config)
    _check_port(host, port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    shown = f"[{host}]" if ":" in host else host
    out.print(f"confidata serve: http://{shown}:{port}/ (data in {data_dir}, {workers} worker(s)"
              f"{', tokens required' if tokens else ''}). Ctrl+C stops it.")
    # the access log shows method, path and status: ids only, never a file name or a value
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=True,
                server_header=False, timeout_graceful_shutdown=5)


def _check_port(host: str, port: int) -> None:
    """Say plainly that the port is taken, before any start-up work (uvicorn would end with a
    bare exit status)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputFileError(f"Cannot listen on {host} port {port} ({exc.strerror}); another "
                                 "program (perhaps another confidata serve) uses it, or the "
                                 "address is not this machine's: choose another --port or "
                                 "--host.") from None
