"""Synthesizers: one module per method, all with ``fit(df) -> self``, ``sample(n, seed=)``,
``save(path)`` and ``load(path)``. `METHODS` is the registry; `synthesize` is the one front
door the command line uses (as synthpop's ``syn()`` is to its ``syn.<method>`` functions)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from confidata.errors import SynthesisError
from confidata.synth._modelfile import read_model_file
from confidata.synth._params import check_options as _check_options
from confidata.synth._params import method_options

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AIM", "Bagging", "CART", "CTree", "METHODS", "MST", "Parametric", "PrivBayes",
    "RandomForest", "RuleError", "SynthesisError", "check_options",
    "load_model", "method_options", "parse_rules", "synthesize",
]

# method name -> (module, class). The registry names every method without importing one: the
# classes pull in numba, scipy and the DP libraries, and `confidata serve`, `confidata --help`
# and the forms that list the methods should not wait for them (tests/test_startup.py).
_REGISTRY: dict[str, tuple[str, str]] = {
    "cart": ("confidata.synth.cart", "CART"),
    "copula": ("confidata.synth.copula", "GaussianCopula"),
    "sample": ("confidata.synth.independent", "Independent"),
    "parametric": ("confidata.synth.sequential", "Parametric"),  # synthpop's per-column methods
    "ctree": ("confidata.synth.sequential", "CTree"),
    "rf": ("confidata.synth.sequential", "RandomForest"),
    "bag": ("confidata.synth.sequential", "Bagging"),
    "mst": ("confidata.synth.dp", "MST"),
    "aim": ("confidata.synth.dp", "AIM"),
    "privbayes": ("confidata.synth.dp", "PrivBayes"),
}
# the public names this package re-exports, loaded on first use (PEP 562)
_LAZY = {cls: module for module, cls in _REGISTRY.values()} | {
    "RuleError": "confidata.synth.rules", "parse_rules": "confidata.synth.rules"}


class _Methods(Mapping):
    """The registry as a read-only mapping from a method's name to its class, imported when asked."""

    def __getitem__(self, name: str) -> type:
        module, cls = _REGISTRY[name]
        return getattr(importlib.import_module(module), cls)

    def __contains__(self, name: object) -> bool:  # Mapping's own would import the class
        return name in _REGISTRY

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)

    def __repr__(self) -> str:
        return f"METHODS({', '.join(_REGISTRY)})"


METHODS: Mapping[str, type] = _Methods()


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'confidata.synth' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def load_model(path: str | Path):
    """Load any saved synthesizer; the file says which method it is."""
    meta, _ = read_model_file(Path(path))
    method = meta.get("method")
    if method not in METHODS:
        raise SynthesisError(f"'{path}' holds a model of unknown method '{method}'.")
    return METHODS[method].load(path)


def _method(method: str) -> type:
    if method not in METHODS:
        raise SynthesisError(f"Unknown method '{method}'; available: {', '.join(sorted(METHODS))}.")
    return METHODS[method]


def check_options(method: str, options: Mapping[str, Any], *,
                  label: Callable[[str], str] | None = None) -> None:
    """Refuse an unknown method, or an option `method` does not take (naming the methods that
    do), before any data is read. `label` spells an option name in the message (the command
    line passes its flag)."""
    _method(method)
    _check_options(method, options, METHODS, label=label)


def synthesize(frame: pd.DataFrame, schema=None, *, method: str = "cart",
               options: Mapping[str, Any] | None = None, seed: int | None = None,
               progress: Callable[[str, str], None] | None = None):
    """Fit the registered `method` on `frame` with `options` (its constructor's keywords) and
    return the fitted synthesizer; draw rows with its ``sample(n, seed=)``.

    An option the method does not take is an error, never ignored. `seed` goes to methods that
    draw at fit time (the DP methods' privacy noise); CART draws only when sampling. Without a
    seed a DP method's noise is exact and unseeded.
    """
    cls = _method(method)
    options = dict(options or {})
    check_options(method, options)
    if seed is not None and "seed" in method_options(cls):
        options["seed"] = seed
    return cls(schema, **options).fit(frame, progress=progress)
