"""confidata: synthetic data and input privacy for national statistical offices.

It implements the two 2021 projects of the UNECE High-Level Group for the Modernisation of
Official Statistics: synthetic microdata with measured utility and disclosure risk (output
privacy), and statistics computed over several parties' data without pooling it (input
privacy).
"""

from importlib.metadata import PackageNotFoundError, version

from confidata._numba_cache import configure_numba_cache

configure_numba_cache()  # before anything imports numba: compiled kernels need a writable cache

from confidata.compare import compare  # noqa: E402  (light: the work is imported when called)
from confidata.errors import (  # noqa: E402
    ConfidataError,
    ConfidataWarning,
    InputFileError,
    OutputExistsError,
    SchemaError,
    SynthesisError,
)

# The table names come on first use (PEP 562): `confidata.table` loads pandas and pyarrow, and a
# party process of `confidata secure` or `confidata serve` that never reads a table should not wait
# for them (issue 18: serve ready in 2 s). `from confidata import Schema` works as before.
_LAZY = {name: "confidata.table" for name in (
    "Column", "Kind", "Role", "Schema", "infer_schema", "read_table", "write_table")}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # once loaded, a plain attribute
        return value
    raise AttributeError(f"module 'confidata' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


try:
    __version__ = version("confidata")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "Column",
    "ConfidataError",
    "ConfidataWarning",
    "InputFileError",
    "Kind",
    "OutputExistsError",
    "Role",
    "Schema",
    "SchemaError",
    "SynthesisError",
    "__version__",
    "compare",
    "infer_schema",
    "read_table",
    "write_table",
]
