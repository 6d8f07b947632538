"""Synthesizers: one module per method, all with ``fit(df) -> self``, ``sample(n, seed=)``,
``save(path)`` and ``load(path)``. `METHODS` is the registry the command line uses."""

from __future__ import annotations

from pathlib import Path

from confidata.errors import SynthesisError
from confidata.synth._modelfile import read_model_file
from confidata.synth.cart import CART
from confidata.synth.dp import AIM, MST, PrivBayes
from confidata.synth.rules import RuleError, parse_rules

__all__ = [
    "AIM", "CART", "METHODS", "MST", "PrivBayes", "RuleError", "SynthesisError", "load_model", "parse_rules",
]

METHODS = {
    "cart": CART,
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
