"""One exception family for confidata, with messages written for people.

Every message says what went wrong, where (file, column, row number or option) and how to fix
it. A message never contains a cell value of the user's data: confidential values must not end
up in terminals, logs or bug reports. Each class also subclasses the built-in exception a
Python user would expect, so ``except ValueError`` keeps working.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ConfidataError",
    "ConfidataWarning",
    "InputFileError",
    "OutputExistsError",
    "SchemaError",
    "MeasureOptionError",
    "ModelFitError",
    "RuleError",
    "SynthesisError",
    "quote_names",
]


class ConfidataError(Exception):
    """Base of every error confidata raises on purpose.

    The command line shows these as one line and exits with status 2; anything else is a bug.
    """


class InputFileError(ConfidataError, ValueError):
    """A data file cannot be read as a table: missing, wrong format, empty, malformed."""


class SchemaError(ConfidataError, ValueError):
    """A schema is malformed, or it contradicts the data it describes."""


class SynthesisError(ConfidataError, ValueError):
    """Options or data that a synthesizer cannot work with."""


class RuleError(ConfidataError, ValueError):
    """A synthesis rule or derived column that cannot be parsed or applied."""


class MeasureOptionError(ConfidataError, ValueError):
    """An option passed to a measure is out of range."""


class ModelFitError(SchemaError):
    """A model cannot be fitted to the data as asked (one-class target, no complete rows)."""


class OutputExistsError(ConfidataError, FileExistsError):
    """Writing would replace a file the user already has, and they did not ask for that."""


class ConfidataWarning(UserWarning):
    """Something worked but the user should know: a column entirely missing, a guessed encoding."""


def quote_names(names: Iterable[str], limit: int = 5) -> str:
    """Names for a message, as 'a', 'b' and 3 more; never data values."""
    names = list(names)
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
