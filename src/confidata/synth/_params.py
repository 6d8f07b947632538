"""Checking a synthesizer's constructor parameters, the way every method in the registry does.

Each synthesizer class carries a table `_parameter_constraints` (name -> predicate) and
`_constraint_text` (name -> what is allowed); one function reads both, so a message about a bad
option reads the same whatever the method.
"""

from __future__ import annotations

from confidata.errors import SynthesisError

__all__ = ["check_parameters"]


def check_parameters(synthesizer: object) -> None:
    """Raise `SynthesisError` naming the first parameter that breaks its constraint."""
    cls = type(synthesizer)
    for name, check in cls._parameter_constraints.items():
        value = getattr(synthesizer, name)
        if not check(value):
            raise SynthesisError(
                f"The '{name}' parameter of {cls.__name__} must be {cls._constraint_text[name]}. "
                f"Got {value!r} instead."
            )
