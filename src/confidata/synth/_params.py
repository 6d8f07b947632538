"""Checking a synthesizer's constructor parameters, the way every method in the registry does.

Each synthesizer class carries a table `_parameter_constraints` (name -> predicate) and
`_constraint_text` (name -> what is allowed); one function reads both, so a message about a bad
option reads the same whatever the method. Which options a method takes at all is read from its
constructor, so an option meant for another method is refused by name instead of ignored.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping

from confidata.errors import SynthesisError

__all__ = ["check_options", "check_parameters", "method_options"]


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


def method_options(synthesizer: type) -> frozenset[str]:
    """The options a synthesizer class declares: its constructor's keyword-only parameters.

    The constructor is the declaration (scikit-learn's convention, where `get_params` reads
    the signature): the constraint tables check only values with a rule, and leave out options
    such as CART's `visit_sequence` that any value of the right shape may take.
    """
    parameters = inspect.signature(synthesizer.__init__).parameters.values()
    return frozenset(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


def check_options(method: str, options: Iterable[str], methods: Mapping[str, type], *,
                  label: Callable[[str], str] | None = None) -> None:
    """Refuse an option the chosen method does not take, rather than silently ignore it.

    `methods` is the registry; the message names the option (as `label` spells it: the command
    line gives its flag), the method, and the methods that do take it.
    """
    spell = label or (lambda name: f"'{name}'")
    taken = method_options(methods[method])
    for name in options:
        if name in taken:
            continue
        takers = sorted(m for m, cls in methods.items() if name in method_options(cls))
        where = (f"only {', '.join(takers)} take{'s' if len(takers) == 1 else ''} it"
                 if takers else "no method takes it")
        raise SynthesisError(
            f"{spell(name)} is not an option of method '{method}': {where}. Leave it out, or "
            "choose a method that takes it."
        )
