"""Sequential synthesis with a method per column, as synthpop's ``syn(method = ...)`` does.

The machinery is CART's (`confidata.synth.cart`): the visit sequence, the predictor matrix,
missing-value states, rules and derived columns, relations held in every row, strata, case
weights, one-hot groups. Only the model of each part changes: any of `COLUMN_METHODS`
(sample, norm, normrank, lognorm, pmm, logreg, polyreg, polr, cart, ctree, rf, bag), chosen per
column with ``column_methods`` or by the synthesizer's default for each kind of column. The
registry holds four defaults, synthpop's method names:

* ``parametric`` (`Parametric`): numbers by ``normrank``, two-level categories by ``logreg``,
  ordered ones by ``polr``, other categories by ``polyreg``;
* ``ctree`` (`CTree`), ``rf`` (`RandomForest`), ``bag`` (`Bagging`): every column by that method.

As in synthpop the first column visited (with no predictor) is drawn from its ``sample``
marginal, and a number's missing-value state under a regression for values is a logistic model.

**Partial synthesis** (synthpop's ``method = ""``): ``keep=[...]`` names columns whose real
values are kept; they are visited first and every other column is synthesised conditionally on
them. `kept_columns_` (a list, empty when nothing is kept) is the documented attribute that
says which columns of the output are real, for reports and for risk measures, which must treat
those columns as known to an attacker. With ``n`` equal to the real rows (the default), output
row i carries real row i's kept values (as synthpop); with another ``n``, the kept values of
randomly chosen real rows (without replacement when fewer). A fitted model keeps the real
values of the kept columns: it is as confidential as the data.

Options that only some column methods read (``mincriterion`` for ctree, ``ntree`` for rf and
bag, ``donors`` for pmm) are refused when no column uses such a method, rather than ignored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from confidata.errors import SynthesisError, quote_names
from confidata.synth._encode import Part, encode_column, to_bins
from confidata.synth._fitted import FittedModel, Step
from confidata.synth.cart import CART, Progress
from confidata.synth.columns import COLUMN_METHODS, part_method
from confidata.synth.columns.forest import Forest
from confidata.table.schema import Kind, Schema

__all__ = ["Bagging", "CTree", "Parametric", "RandomForest", "Sequential"]

KEEP = "keep"
_OPTION_USERS = {"mincriterion": ("ctree",), "ntree": ("rf", "bag"), "donors": ("pmm",)}


_controller: list[ThreadpoolController] = []


def _one_thread():
    """One BLAS/OpenMP thread, through a controller made once: finding the thread pools costs
    tens of milliseconds each time, as much as a whole ctree fit (scikit-learn and scipy are
    imported by then, so their pools are found)."""
    if not _controller:
        _controller.append(ThreadpoolController())
    return _controller[0].limit(limits=1)


def _int_at_least(low: int) -> Callable[[Any], bool]:
    return lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= low)


class Sequential(CART):
    """Sequential synthesizer with a method per column (see the module docstring).

    Parameters beyond CART's (`confidata.synth.cart.CART`, which documents the rest):

    column_methods:
        ``{column: method}`` for the columns that do not take the default; methods are the
        names of `confidata.synth.columns.COLUMN_METHODS`.
    keep:
        Columns whose real values are kept (partial synthesis).
    min_split:
        Smallest node a tree splits: default 100 for cart (see CART) and 20 for ctree (party's
        ``minsplit``).
    mincriterion:
        ctree: 1 - the significance level a split must reach (default 0.9, synthpop's).
    ntree:
        rf and bag: trees per forest (default 10, synthpop's).
    donors:
        pmm: real rows among which a value is drawn (default 3).
    seed:
        Seeds the random parts of fitting (the forests' bootstrap); drawn and recorded as
        `fit_seed_` when not given.
    """

    method = "sequential"
    default_method: ClassVar[str] = "cart"
    _parameter_constraints: ClassVar[dict[str, Callable[[Any], bool]]] = {
        **CART._parameter_constraints,
        "min_split": _int_at_least(2),
        "mincriterion": lambda v: v is None or (isinstance(v, int | float)
                                                and not isinstance(v, bool) and 0 < v < 1),
        "ntree": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)
                                         and 1 <= v <= 500),
        "donors": _int_at_least(1),
        "seed": _int_at_least(0),
    }
    _constraint_text: ClassVar[dict[str, str]] = {
        **CART._constraint_text,
        "min_split": "None or an int in the range [2, inf)",
        "mincriterion": "None or a number in the range (0, 1)",
        "ntree": "None or an int in the range [1, 500]",
        "donors": "None or an int in the range [1, inf)",
        "seed": "None or an int in the range [0, inf)",
    }
    _saved_option_names = (*CART._saved_option_names, "column_methods", "keep", "mincriterion",
                           "ntree", "donors", "seed")

    def __init__(
        self,
        schema: Schema | None = None,
        *,
        column_methods: Mapping[str, str] | None = None,
        keep: Sequence[str] | None = None,
        visit_sequence: Sequence[str] | None = None,
        predictor_matrix: Mapping[str, Sequence[str]] | pd.DataFrame | None = None,
        min_leaf: int = 5,
        min_split: int | None = None,
        cp: float = 1e-8,
        max_depth: int = 30,
        mincriterion: float | None = None,
        ntree: int | None = None,
        donors: int | None = None,
        smoothing: bool = False,
        rules: str | Path | Sequence[str] | None = None,
        strata: str | None = None,
        weights_as_case_weights: bool = False,
        weight_column: str | None = None,
        identifiers: str = "drop",
        n_jobs: int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(schema, visit_sequence=visit_sequence, predictor_matrix=predictor_matrix,
                         min_leaf=min_leaf, min_split=min_split, cp=cp, max_depth=max_depth,
                         smoothing=smoothing, rules=rules, strata=strata,
                         weights_as_case_weights=weights_as_case_weights,
                         weight_column=weight_column, identifiers=identifiers, n_jobs=n_jobs)
        self.column_methods = column_methods
        self.keep = keep
        self.mincriterion = mincriterion
        self.ntree = ntree
        self.donors = donors
        self.seed = seed

    # -- fit ------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, *, progress: Progress | None = None) -> Sequential:
        """Fit one model per modelled part, each by its column's method; returns self."""
        self._check_params()
        self.fit_seed_ = (int(np.random.SeedSequence().entropy % 2**31) if self.seed is None
                          else int(self.seed))
        # one BLAS/OpenMP thread per fit: the parts are fitted in parallel already, and
        # spinning library threads on a busy machine made each small regression 10x slower
        with _one_thread():
            super().fit(data, progress=progress)
        return self

    def sample(self, n: int | None = None, *, seed: int | None = None,
               progress: Progress | None = None) -> pd.DataFrame:
        """`n` synthetic rows (default: as many as the real data). Same seed, same rows."""
        with _one_thread():
            return super().sample(n, seed=seed, progress=progress)

    def _held_columns(self, schema: Schema) -> set[str]:
        # kept columns and columns given a method of their own are never folded into a group
        keep = self.keep.split(",") if isinstance(self.keep, str) else list(self.keep or [])
        return (super()._held_columns(schema) | {str(c).strip() for c in keep}
                | set(_method_pairs(self.column_methods)))

    def _plan(self, schema: Schema, data: pd.DataFrame) -> None:
        super()._plan(schema, data)
        keep = self.keep.split(",") if isinstance(self.keep, str) else list(self.keep or [])
        keep = [str(c).strip() for c in keep if str(c).strip()]
        unknown = [c for c in keep if c not in schema]
        if unknown:
            raise SynthesisError(f"--keep names column(s) {quote_names(unknown)} that the data "
                                 "lacks; check the spelling.")
        repeated = sorted({c for c in keep if keep.count(c) > 1})
        if repeated:
            raise SynthesisError(f"--keep names {quote_names(repeated)} twice.")
        governed = {self.strata, self.weight_column_, *self.identifier_columns_,
                    *self.dropped_columns_, *(d.column for d in self.derived_),
                    *(r.column for r in self.rules_)}
        bad = [c for c in keep if c in governed]
        if bad:
            raise SynthesisError(
                f"Column(s) {quote_names(bad)} cannot be kept: identifiers, free text, strata, "
                "case weights and columns set by rules or formulas are handled their own way; "
                "leave them out of --keep."
            )
        self.kept_columns_ = keep
        self.column_methods_ = self._choose_methods(schema, data)
        used = set(self.column_methods_.values())
        for option, users in _OPTION_USERS.items():
            if getattr(self, option) is not None and not used & set(users):
                raise SynthesisError(
                    f"'{option}' is an option of the {' and '.join(users)} column method"
                    f"{'s' if len(users) > 1 else ''}, which no column uses here; leave it out, "
                    f"or give a column that method with --column-method."
                )

    def _order_sequence(self, sequence: list[str], schema: Schema) -> list[str]:
        """Kept columns first (synthpop visits its method-"" columns first too): every other
        column is then synthesised given them, and rules may test them."""
        keep = self.keep.split(",") if isinstance(self.keep, str) else list(self.keep or [])
        keep = [str(c).strip() for c in keep if str(c).strip() in schema]
        return list(dict.fromkeys(keep)) + [c for c in sequence if c not in keep]

    def _choose_methods(self, schema: Schema, data: pd.DataFrame) -> dict[str, str]:
        given = _method_pairs(self.column_methods)
        unknown = [c for c in given if c not in schema]
        if unknown:
            raise SynthesisError(f"--column-method names column(s) {quote_names(unknown)} that the "
                                 "data lacks; check the spelling.")
        skipped = [c for c in given if c not in self.visit_sequence_]
        if skipped:
            raise SynthesisError(
                f"--column-method names column(s) {quote_names(skipped)}, which are not "
                "synthesised (identifiers, strata, case weights, or left out of the visit "
                "sequence)."
            )
        both = [c for c in given if c in self.kept_columns_]
        if both:
            raise SynthesisError(f"Column(s) {quote_names(both)} are both kept (--keep) and given "
                                 "a method; a kept column is not synthesised. Choose one.")
        chosen = {}
        for name in self.visit_sequence_:
            column = schema[name]
            if name in self.kept_columns_:
                chosen[name] = KEEP
                continue
            if name in given:
                method = given[name]
                _check_fits(method, column, data[name])
            elif not self.predictor_matrix_[name]:
                method = "sample"  # nothing to predict it from: its marginal, as synthpop
            else:
                method = self._default_for(column, data[name])
            chosen[name] = method
        return chosen

    def _default_for(self, column, values: pd.Series) -> str:
        return self.default_method

    def _options(self) -> dict[str, Any]:
        return {"min_leaf": self.min_leaf, "min_split": self.min_split, "cp": self.cp,
                "max_depth": self.max_depth, "mincriterion": self.mincriterion,
                "ntree": self.ntree, "donors": self.donors, "seed": self.fit_seed_}

    def _predictor_array(self, part: Part, array: np.ndarray) -> np.ndarray:
        return array  # the column methods read values and codes themselves

    def _fit_step(self, step: Step, target: np.ndarray, predictors: list[np.ndarray],
                  predictor_parts: list[Part], w: np.ndarray | None) -> None:
        column_method = self.column_methods_[step.part.column]
        step.predictor_parts = list(predictor_parts)
        if column_method == KEEP:
            step.method = KEEP  # its real values are set by _fit_one, whole rows at a time
            return
        ordinal = self.schema_[step.part.column].kind is Kind.ORDINAL
        step.method = part_method(column_method, step.part, ordinal)
        COLUMN_METHODS[step.method].fit(step, target, predictors, predictor_parts, w,
                                        self._options())

    def _fit_one(self, data: pd.DataFrame, weights: np.ndarray | None,
                 progress: Progress | None) -> FittedModel:
        fitted = super()._fit_one(data, weights, progress)
        for name in self.kept_columns_:
            _, arrays = encode_column(data[name], self.schema_[name])
            steps = [s for s in fitted.steps if s.part.column == name]
            for step, array in zip(steps, arrays, strict=True):
                step.method, step.model, step.tree = KEEP, None, None
                step.leaf_values, step.leaf_weights = array, None
        return fitted

    # -- sample ---------------------------------------------------------------------------
    def _sample_one(self, model: FittedModel, n: int, rng: np.random.Generator,
                    progress: Progress | None) -> pd.DataFrame:
        # per-call state, per thread: two threads may sample one fitted model at once
        state = self.__dict__.setdefault("_sampling", threading.local())
        state.bins = {}
        real = model.n_rows
        if not self.kept_columns_:
            state.kept_rows = None
        elif n == real:
            state.kept_rows = np.arange(real)
        elif n < real:
            state.kept_rows = np.sort(rng.choice(real, size=n, replace=False))
        else:
            state.kept_rows = rng.integers(0, real, size=n)
        try:
            return super()._sample_one(model, n, rng, progress)
        finally:
            state.bins, state.kept_rows = {}, None

    def _draw(self, step: Step, predictors: list[np.ndarray], idx: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
        if step.method == KEEP:
            return step.leaf_values[self._sampling.kept_rows[idx]]
        if step.model is not None and not isinstance(step.model, Forest):
            return step.model.draw([p[idx] for p in predictors], len(idx), rng)
        # trees and forests walk the predictors' bins: each drawn array is binned once
        bins = [self._binned(part, p) for part, p in zip(step.predictor_parts, predictors,
                                                          strict=True)]
        if isinstance(step.model, Forest):
            return step.leaf_values[step.model.draw_rows([b[idx] for b in bins], len(idx), rng)]
        return super()._draw(step, bins, idx, rng)

    def _binned(self, part: Part, array: np.ndarray) -> np.ndarray:
        """`to_bins` of a drawn predictor array, kept for the later steps it predicts (the
        cache holds the array too, so its id cannot be reused while the entry lives)."""
        cache = getattr(self.__dict__.get("_sampling"), "bins", None)
        if cache is None:
            return to_bins(part, array)
        hit = cache.get(id(array))
        if hit is None or hit[0] is not array:
            hit = cache[id(array)] = (array, to_bins(part, array))
        return hit[1]

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise SynthesisError(f"This {self.method} model is not fitted yet; call fit(data) first.")

    # -- save / load ----------------------------------------------------------------------
    def _save_extra(self, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        models = []
        for m, fitted in enumerate(self.models_):
            entries = []
            for s, step in enumerate(fitted.steps):
                entry: dict[str, Any] = {"method": step.method}
                if step.model is not None:
                    state, own = step.model.state()
                    entry["state"] = state
                    for name, array in own.items():
                        arrays[f"m{m}_s{s}_x_{name}"] = array
                entries.append(entry)
            models.append(entries)
        return {"column_methods": self.column_methods_, "kept_columns": self.kept_columns_,
                "fit_seed": self.fit_seed_, "steps": models}

    def _load_extra(self, extra: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        if not extra:
            raise ValueError("a sequential model without its column methods")
        self.column_methods_ = {str(k): str(v) for k, v in extra["column_methods"].items()}
        self.kept_columns_ = [str(c) for c in extra["kept_columns"]]
        self.fit_seed_ = int(extra["fit_seed"])
        if len(extra["steps"]) != len(self.models_):
            raise ValueError("column models for another number of strata")
        for m, (fitted, entries) in enumerate(zip(self.models_, extra["steps"], strict=True)):
            if len(entries) != len(fitted.steps):
                raise ValueError("column models for another number of steps")
            for s, (step, entry) in enumerate(zip(fitted.steps, entries, strict=True)):
                method = str(entry["method"])
                if method != KEEP and method not in COLUMN_METHODS:
                    raise ValueError("an unknown column method")
                step.method = method
                step.predictor_parts = [fitted.steps[j].part for j in step.predictors]
                if "state" not in entry:
                    continue
                prefix = f"m{m}_s{s}_x_"
                own = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
                model_class = COLUMN_METHODS[method].model
                if model_class is None:
                    raise ValueError("a fitted model for a method that has none")
                n_values = 0 if step.leaf_values is None else len(step.leaf_values)
                if model_class is Forest:
                    step.model = Forest.restore(entry["state"], own, step.predictor_parts, n_values)
                else:
                    step.model = model_class.restore(entry["state"], own, len(step.predictors))


def _method_pairs(given: Any) -> dict[str, str]:
    """``column_methods`` as a dict, also from the text 'a=x,b=y' or a list of 'a=x' (as a
    form or a study file gives it)."""
    if given is None:
        return {}
    if isinstance(given, Mapping):
        return {str(k): str(v) for k, v in given.items()}
    items = given.split(",") if isinstance(given, str) else list(given)
    pairs = {}
    for item in (str(i).strip() for i in items):
        name, sep, method = item.partition("=")
        if not sep or not name.strip() or not method.strip():
            raise SynthesisError("column_methods takes COLUMN=METHOD pairs, e.g. "
                                 "'age=normrank,income=pmm'; one item lacks its '='.")
        pairs[name.strip()] = method.strip()
    return pairs


def _check_fits(method: str, column, values: pd.Series) -> None:
    """Refuse a method that cannot model this column, naming the column and the fix."""
    if method not in COLUMN_METHODS:
        raise SynthesisError(
            f"Unknown column method '{method}' for column '{column.name}'; available: "
            f"{', '.join(COLUMN_METHODS)}."
        )
    spec = COLUMN_METHODS[method]
    if column.kind.is_categorical:
        levels = len(values.cat.categories) + int(values.isna().any())
        fits = {"": False, "any": True, "binary": levels == 2,
                "ordinal": column.kind is Kind.ORDINAL}[spec.categories]
        need = {"": "numbers", "binary": "categories with exactly two levels (missing counts as "
                "one)", "ordinal": "ordered categories (kind 'ordinal' in the schema)"}
    else:
        fits = spec.numbers
        need = {"binary": "categories with two levels", "ordinal": "ordered categories",
                "any": "categories", "": "numbers"}
    if not fits:
        suitable = [n for n, m in COLUMN_METHODS.items()
                    if (column.kind.is_categorical and m.categories in ("any",)) or
                    (not column.kind.is_categorical and m.numbers)]
        raise SynthesisError(
            f"Column method '{method}' models {need[spec.categories]}, and column "
            f"'{column.name}' is {column.kind.value}; choose one of {', '.join(suitable)} for it."
        )


class Parametric(Sequential):
    """synthpop's ``method = "parametric"``: normrank, logreg, polr or polyreg by kind."""

    method = "parametric"

    def _default_for(self, column, values: pd.Series) -> str:
        if not column.kind.is_categorical:
            return "normrank"
        if column.kind is Kind.ORDINAL:
            return "polr"
        levels = len(values.cat.categories) + int(values.isna().any())
        return "logreg" if levels == 2 else "polyreg"


class CTree(Sequential):
    """synthpop's ``method = "ctree"``: conditional-inference trees for every column."""

    method = "ctree"
    default_method = "ctree"


class RandomForest(Sequential):
    """synthpop's ``method = "rf"``: random forests of 10 trees for every column."""

    method = "rf"
    default_method = "rf"


class Bagging(Sequential):
    """synthpop's ``method = "bag"``: bagged trees (10) for every column."""

    method = "bag"
    default_method = "bag"

