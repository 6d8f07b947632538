"""Saving and loading CART models: a zip of ``model.json`` and ``.npy`` arrays, never pickle.

Kept apart from `cart.py` so the model's logic and its file format can be read separately.
Loading checks every tree before the compiled walker may follow it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from confidata._tree import Tree
from confidata.errors import ConfidataError, InputFileError, SynthesisError
from confidata.synth._encode import Part
from confidata.synth._fitted import CONFIDENTIAL_NOTE, FittedModel, Step
from confidata.synth._modelfile import read_model_file, write_model_file
from confidata.synth.rules import parse_rules
from confidata.table.schema import Schema

if TYPE_CHECKING:
    from confidata.synth.cart import CART

__all__ = ["check_tree", "load_cart", "save_cart"]

_TREE_FIELDS = ("feature", "threshold", "categorical", "mask", "left", "right", "start", "count")


def save_cart(model: CART, path: Path, *, overwrite: bool) -> Path:
    """Write a fitted CART model; its leaves hold real values, and the file says so."""
    arrays: dict[str, np.ndarray] = {}
    models = []
    for m, fitted in enumerate(model.models_):
        steps = []
        for s, step in enumerate(fitted.steps):
            key = f"m{m}_s{s}"
            entry: dict[str, Any] = {
                "column": step.part.column, "kind": step.part.kind, "levels": step.part.levels,
                "integer": step.part.integer, "predictors": step.predictors,
                "derived": step.derived, "tree": step.tree is not None,
            }
            if step.part.edges is not None:
                arrays[f"{key}_edges"] = step.part.edges
            if step.leaf_values is not None:
                arrays[f"{key}_values"] = step.leaf_values
            if step.leaf_weights is not None:
                arrays[f"{key}_weights"] = step.leaf_weights
            if step.tree is not None:
                for name in _TREE_FIELDS:
                    arrays[f"{key}_{name}"] = getattr(step.tree, name)
            steps.append(entry)
        models.append({"steps": steps, "n_rows": fitted.n_rows, "weight_total": fitted.weight_total})
    meta = {
        "method": model.method,
        "confidential": True,
        "confidentiality_note": CONFIDENTIAL_NOTE,
        "options": model._saved_options(),
        "schema": model.schema_.to_dict(),
        "visit_sequence": model.visit_sequence_,
        "predictor_matrix": model.predictor_matrix_,
        "rules": [r.text for r in model.rules_] + [d.text for d in model.derived_],
        "columns": model.columns_,
        "identifier_columns": model.identifier_columns_,
        "dropped_columns": model.dropped_columns_,
        "weight_column": model.weight_column_,
        "strata_levels": model.strata_levels_,
        "onehot_groups": model.onehot_groups_,
        "models": models,
    }
    extra = model._save_extra(arrays)  # a subclass's own fitted state (column models)
    if extra:
        meta["extra"] = extra
    return write_model_file(path, meta, arrays, overwrite=overwrite)


def load_cart(cls: type[CART], path: Path) -> CART:
    """Read a CART model, refusing a damaged file with one clear error."""
    try:
        return _load(cls, path)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        if isinstance(exc, ConfidataError):
            raise
        raise InputFileError(
            f"'{path}' is damaged or not a CART model file ({type(exc).__name__}); "
            "save the model again."
        ) from None


def _load(cls: type[CART], path: Path) -> CART:
    meta, arrays = read_model_file(path)
    if meta.get("method") != cls.method:
        raise SynthesisError(f"'{path}' holds a '{meta.get('method')}' model, not a CART model.")
    options = meta["options"]
    model = cls(Schema.from_dict(meta["schema"]), **{k: options[k] for k in cls._saved_option_names})
    model.schema_ = model.schema
    rules, derived = parse_rules(meta["rules"])
    model.rules_, model.derived_ = rules, derived
    model.visit_sequence_ = meta["visit_sequence"]
    model.predictor_matrix_ = meta["predictor_matrix"]
    model.columns_ = meta["columns"]
    model.identifier_columns_ = meta["identifier_columns"]
    model.dropped_columns_ = meta["dropped_columns"]
    model.weight_column_ = meta["weight_column"]
    model.strata_levels_ = meta["strata_levels"]
    groups = meta.get("onehot_groups", [])  # files written before groups existed have none
    if not isinstance(groups, list) or not all(
            isinstance(g, list) and len(g) >= 2 and all(n in model.visit_sequence_ for n in g)
            for g in groups):
        raise ValueError("a one-hot group that names columns the model does not synthesise")
    model.onehot_groups_ = [[str(n) for n in g] for g in groups]
    model.models_ = []
    for m, entry in enumerate(meta["models"]):
        steps = []
        for s, spec in enumerate(entry["steps"]):
            key = f"m{m}_s{s}"
            part = Part(spec["column"], spec["kind"], list(spec["levels"]),
                        arrays.get(f"{key}_edges"), bool(spec["integer"]))
            tree = None
            predictors = [int(j) for j in spec["predictors"]]
            if any(not 0 <= j < s for j in predictors):
                raise ValueError("a predictor that is not an earlier part")
            values = arrays.get(f"{key}_values")
            if spec["tree"]:
                tree = Tree(*(arrays[f"{key}_{f}"] for f in _TREE_FIELDS),
                            order=np.zeros(0, dtype=np.int64))
                check_tree(tree, len(predictors), 0 if values is None else len(values))
            steps.append(Step(part, predictors, tree, values,
                               arrays.get(f"{key}_weights"), bool(spec["derived"])))
        model.models_.append(FittedModel(steps, int(entry["n_rows"]), float(entry["weight_total"])))
    model._load_extra(meta.get("extra", {}), arrays)
    return model


def check_tree(tree: Tree, n_predictors: int, n_values: int) -> None:
    """Refuse a tree the compiled walker could not follow safely (it has no bounds checks)."""
    n = len(tree.feature)
    arrays = (tree.threshold, tree.categorical, tree.left, tree.right, tree.start, tree.count)
    if n == 0 or any(len(a) != n for a in arrays) or tree.mask.ndim != 2 or len(tree.mask) != n:
        raise ValueError("tree arrays of different lengths")
    inner = tree.left >= 0
    nodes = np.arange(n)
    if ((inner & ((tree.left <= nodes) | (tree.right <= nodes) | (tree.left >= n)
                  | (tree.right >= n) | (tree.feature < 0) | (tree.feature >= n_predictors)))
            .any()):
        raise ValueError("a tree node that points outside the tree")
    leaves = ~inner
    if ((tree.start[leaves] < 0) | (tree.count[leaves] < 1)
            | (tree.start[leaves] + tree.count[leaves] > n_values)).any():
        raise ValueError("a leaf that points outside its values")
