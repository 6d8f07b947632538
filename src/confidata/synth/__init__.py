"""Synthesizers: one module per method, all with ``fit(df) -> self``, ``sample(n, seed=)``,
``save(path)`` and ``load(path)``. `METHODS` is the registry; `synthesize` is the one front
door the command line uses (as synthpop's ``syn()`` is to its ``syn.<method>`` functions)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from confidata.errors import SynthesisError
from confidata.synth._modelfile import read_model_file
from confidata.synth._params import check_options as _check_options
from confidata.synth._params import method_options
from confidata.synth.cart import CART
from confidata.synth.copula import GaussianCopula
from confidata.synth.dp import AIM, MST, PrivBayes
from confidata.synth.independent import Independent
from confidata.synth.rules import RuleError, parse_rules
from confidata.synth.sequential import Bagging, CTree, Parametric, RandomForest

__all__ = [
    "AIM", "Bagging", "CART", "CTree", "METHODS", "MST", "Parametric", "PrivBayes",
    "RandomForest", "RuleError", "SynthesisError", "check_options",
    "load_model", "method_options", "parse_rules", "synthesize",
]

METHODS = {
    "cart": CART,
    "copula": GaussianCopula,
    "sample": Independent,
    "parametric": Parametric,  # synthpop's per-column methods (synth/sequential.py)
    "ctree": CTree,
    "rf": RandomForest,
    "bag": Bagging,
    "mst": MST,
    "aim": AIM,
    "privbayes": PrivBayes,
}


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
