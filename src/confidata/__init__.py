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
from confidata.table import Column, Kind, Role, Schema, infer_schema, read_table, write_table  # noqa: E402

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
