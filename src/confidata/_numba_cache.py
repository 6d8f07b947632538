"""Where numba keeps confidata's compiled kernels, so only the first run ever compiles them.

Every kernel is declared with ``cache=True``: numba writes the machine code beside the source,
in the package's ``__pycache__``, and later processes load it instead of compiling (a first
``confidata synth`` of the 1,600-row demo file took 9-13 CPU-seconds, a warm one about 2). A
package installed system-wide usually sits in a folder the user cannot write; numba would then
compile in every process or fall back to a folder named after numba, not confidata. So when
the package folder is not writable, and only when the user has not chosen a folder themselves
(``NUMBA_CACHE_DIR``), the cache goes to ``$XDG_CACHE_HOME/confidata/numba`` (by default
``~/.cache/confidata/numba``), which ``rm -rf`` clears like any other per-user cache.

This must run before numba reads its configuration, so the package ``__init__`` calls it
first, before anything that imports numba.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, MutableMapping
from pathlib import Path

__all__ = ["choose_cache_dir", "configure_numba_cache"]

PACKAGE_DIR = Path(__file__).resolve().parent


def _writable(folder: Path) -> bool:
    """Whether a file can really be created in `folder` (or in the folder that would hold it).

    Tried rather than asked with `os.access`: the permission bits say nothing on a read-only
    file system, and nothing at all to root.
    """
    target = folder if folder.exists() else folder.parent
    try:
        with tempfile.TemporaryFile(dir=target):
            return True
    except OSError:
        return False


def choose_cache_dir(package_dir: Path, environ: Mapping[str, str]) -> Path | None:
    """The folder numba should cache in, or None to leave numba's own choice alone.

    None when the user set ``NUMBA_CACHE_DIR`` (theirs wins) or when the package's
    ``__pycache__`` is writable (numba caches there by itself).
    """
    if environ.get("NUMBA_CACHE_DIR"):
        return None
    if _writable(package_dir / "__pycache__"):
        return None
    base = environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home folder known: numba's own fallback is all there is
            return None
    return Path(base) / "confidata" / "numba"


def configure_numba_cache(environ: MutableMapping[str, str] = os.environ) -> Path | None:
    """Point numba at a per-user cache folder when the package folder is read-only.

    Returns the folder chosen, or None when numba's default (or the user's setting) stands.
    """
    folder = choose_cache_dir(PACKAGE_DIR, environ)
    if folder is None:
        return None
    environ["NUMBA_CACHE_DIR"] = str(folder)
    numba_config = sys.modules.get("numba.core.config")
    if numba_config is not None:  # numba was imported first: make it read the setting again
        numba_config.reload_config()
    return folder
