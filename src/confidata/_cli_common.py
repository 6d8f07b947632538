"""What every command-line module shares: the consoles, and the guard that turns errors into
one red line (exit 2) or an internal-error log (exit 3).

Kept apart from `cli.py` so that the command groups of other parts (`secure`, `ipp`) can be
modules of their own without importing the whole command line.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from confidata.errors import ConfidataError, ConfidataWarning

__all__ = ["VERBOSE", "err", "guarded", "out"]

# Piped output (a log, a test) gets a wide fixed width instead of rich's 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)

def guarded(func: Callable[..., None]) -> Callable[..., None]:
    """Turn confidata's errors into one red line and exit 2; any other error into exit 3."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs) -> None:
        warnings.showwarning = _show_warning
        if VERBOSE["on"]:  # a measure that failed inside evaluate logs its traceback here
            library = logging.getLogger("confidata")
            library.setLevel(logging.DEBUG)
            if not library.handlers:
                library.addHandler(logging.StreamHandler(sys.stderr))
        try:
            func(*args, **kwargs)
        except ConfidataError as exc:
            err.print(f"[red]Error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception:  # a bug: keep the details out of the terminal unless asked
            details = traceback.format_exc()
            # private to the user (mode 0600): a library's message may quote a data value
            fd, name = tempfile.mkstemp(prefix=f"confidata-error-{datetime.now():%Y%m%d-%H%M%S}-",
                                        suffix=".log")
            with os.fdopen(fd, "w") as fh:
                fh.write(details)
            log = Path(name)
            if VERBOSE["on"]:
                err.print(details, markup=False)
            err.print(f"[red]Internal error[/] (a bug in confidata). Please report it with the "
                      f"log written to {escape(str(log))}.")
            raise typer.Exit(3) from None
        finally:
            warnings.showwarning = _default_showwarning

    return wrapper


VERBOSE = {"on": False}


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, ConfidataWarning):
        err.print(f"[yellow]Warning:[/] {escape(str(message))}")
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning
