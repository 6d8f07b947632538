"""A Gaussian copula with per-column empirical marginals (SDV's most used model), holding the
schema's relations, rules and derived columns in every row.

Each modelled *part* of a column (as for CART: `confidata.synth._encode`: a categorical
column is one part; a number with missing cells or codes is an indicator part and a value
part) is mapped to a standard normal score through its own empirical marginal, the
correlation matrix of those scores is estimated, and sampling draws correlated normals and
maps each back through the inverse of its marginal (Nelsen 2006, ch. 2; Li et al. 2014 use it
for synthetic data; SDV's ``GaussianCopulaSynthesizer`` is the best-known implementation).

Choices, stated:

* **Marginals are empirical**, not fitted parametric families: a value part is drawn from the
  real values' quantile function (interpolated between neighbouring real values for a
  continuous column with more than 50 distinct values, so numbers are new; real values
  themselves for integers, dates and few-valued numbers). SDV fits a parametric family per
  number, whose misfit is most of its 1-way error.
* **Categories** take the interval of [0, 1] of their cumulative proportion (no one-hot
  columns): ordinal levels in their declared order, unordered levels that are all numbers
  (codes such as years of schooling) in numeric order, other unordered levels and
  missing/code states by frequency, most common first (as SDV's frequency encoding does).
  Ordering a numeric code by frequency lost its correlations (Ecdat Wages: experience
  against schooling -0.22 in the real file, -0.03 synthetic). A row's normal score is
  the mean of the standard normal within its level's interval, and a draw falls in the level
  whose interval holds its uniform, so every level keeps its real share.
* **Missing cells** are the indicator part of the column, correlated with everything else;
  the value part is estimated on rows that hold a value only (pairwise-complete correlation),
  and the matrix is made positive definite by clipping its eigenvalues.
* **Relations, rules and derived columns** go through `confidata.synth.rules`, the same
  machinery CART and the DP methods use: rules fix a column where their condition holds (and
  its marginal is fitted on the other rows), derived columns are computed, and every relation
  the schema declares is held by deriving its target from its source (`hold_relations`).
  SDV's copula has no such step and breaks age against age group in most rows.

Like CART's leaves, the marginals hold real observed values: a saved model is as
confidential as the data, and `save` says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from confidata.errors import (
    ConfidataError,
    ConfidataWarning,
    InputFileError,
    SchemaError,
    SynthesisError,
    quote_names,
)
from confidata.synth._encode import MISSING_LEVEL, Part, decode_column, encode_column
from confidata.synth._modelfile import read_model_file, write_model_file
from confidata.synth._params import check_parameters
from confidata.synth.rules import Rule, hold_relations, parse_rules
from confidata.table.conform import conform, is_number, value_text
from confidata.table.infer import infer_schema
from confidata.table.schema import Kind, Role, Schema

__all__ = ["GaussianCopula", "CONFIDENTIAL_NOTE"]

Progress = Callable[[str, str], None]

CONFIDENTIAL_NOTE = (
    "This copula model contains real observed values of the training data in its marginals. "
    "Treat it as confidential as the data itself: do not publish or share it."
)
INTERPOLATE_ABOVE = 50  # continuous parts with more distinct values are interpolated
MIN_PAIR_ROWS = 10  # fewer rows holding both parts: their correlation is taken as 0
EIGEN_FLOOR = 1e-6
MAX_LATENT = 0.995  # a latent correlation is capped below 1, so no column becomes a copy of another


class GaussianCopula:
    """Gaussian copula synthesizer with empirical marginals.

    Parameters
    ----------
    schema:
        The table's `Schema`; inferred from the data at `fit` when None.
    visit_sequence:
        Columns to synthesise (default: every column but identifiers and free text). Order
        matters only for rules and derived columns, applied in this order after the draw.
    rules:
        Rules and derived columns (see `confidata.synth.rules`): a path, a text or lines.
    interpolate:
        Draw continuous numbers between neighbouring real values (True) or real values only.
    identifiers:
        ``"drop"`` (default) leaves direct identifiers out; ``"fresh"`` writes new ids.
    """

    method = "copula"
    _correlated = True
    _parameter_constraints: dict[str, Callable[[Any], bool]] = {
        "interpolate": lambda v: isinstance(v, bool),
        "identifiers": lambda v: v in ("drop", "fresh"),
    }
    _constraint_text = {
        "interpolate": "True or False",
        "identifiers": "'drop' or 'fresh'",
    }

    def __init__(self, schema: Schema | None = None, *, visit_sequence: Sequence[str] | None = None,
                 rules: str | Path | Sequence[str] | None = None, interpolate: bool = True,
                 identifiers: str = "drop") -> None:
        self.schema = schema
        self.visit_sequence = visit_sequence
        self.rules = rules
        self.interpolate = interpolate
        self.identifiers = identifiers

    # -- fit ------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, *, progress: Progress | None = None) -> GaussianCopula:
        """Estimate each part's marginal and the correlation of their normal scores."""
        check_parameters(self)
        name = type(self).__name__
        if not isinstance(data, pd.DataFrame) or data.empty:
            raise SynthesisError(f"{name}.fit needs a non-empty pandas DataFrame of the real data.")
        schema = self.schema if self.schema is not None else infer_schema(data)
        lacking = [n for n in schema.names if n not in data.columns]
        if lacking:
            raise SchemaError(f"The data lacks column(s) {quote_names(lacking)} that the schema names.")
        data = conform(data[schema.names], schema, source="the data passed to fit")
        rules, derived = parse_rules(self.rules)
        self.schema_ = schema
        self.rules_, self.derived_ = rules, derived
        self._plan(schema)
        modelled = [n for n in self.visit_sequence_ if n not in {d.column for d in derived}]
        excluded = {n: np.zeros(len(data), dtype=bool) for n in modelled}
        for rule in rules:
            if rule.column in excluded:
                excluded[rule.column] |= rule.holds({c: data[c] for c in rule.columns})
        parts: list[Part] = []
        scores: list[np.ndarray] = []
        self.marginals_: list[dict[str, Any]] = []
        for column_name in modelled:
            column = schema[column_name]
            column_parts, arrays = encode_column(data[column_name], column)
            self._room_for_rules(column_name, column_parts)
            for k, (part, array) in enumerate(zip(column_parts, arrays, strict=True)):
                use = ~excluded[column_name]
                if part.kind == "value" and k > 0:
                    use &= arrays[0] == 0  # values exist only where the indicator says so
                marginal, score = _fit_marginal(part, array, use, column.kind, self.interpolate)
                parts.append(part)
                self.marginals_.append(marginal)
                scores.append(score)
            if progress is not None:
                progress("fit", column_name)
        self.parts_ = parts
        self.n_rows_ = len(data)
        z = np.column_stack(scores) if scores else np.zeros((len(data), 0))
        spread = np.array([m.pop("spread") for m in self.marginals_])
        self.correlation_ = _correlation(z, spread) if self._correlated else np.eye(z.shape[1])
        return self

    def _plan(self, schema: Schema) -> None:
        dropped = [c.name for c in schema if c.kind in (Kind.IDENTIFIER, Kind.TEXT)
                   or Role.DIRECT_IDENTIFIER in c.roles]
        text = [c.name for c in schema if c.kind is Kind.TEXT and c.name in dropped]
        if text:
            warnings.warn(
                f"Free-text column(s) {quote_names(text)} are not synthesised (text can identify "
                "people); they are left out of the synthetic file.", ConfidataWarning, stacklevel=4)
        self.identifier_columns_ = [n for n in dropped if n not in text]
        self.dropped_columns_ = text
        if self.visit_sequence is None:
            sequence = [n for n in schema.names if n not in dropped]
        else:
            sequence = list(self.visit_sequence)
            unknown = [n for n in sequence if n not in schema]
            if unknown:
                raise SynthesisError(f"The visit sequence names column(s) {quote_names(unknown)} "
                                     "that the data lacks; check the spelling.")
            repeated = sorted({n for n in sequence if sequence.count(n) > 1})
            if repeated:
                raise SynthesisError(f"The visit sequence names {quote_names(repeated)} twice.")
            bad = [n for n in sequence if n in dropped]
            if bad:
                raise SynthesisError(f"Column(s) {quote_names(bad)} cannot be synthesised "
                                     "(identifier or free text); remove them from the visit sequence.")
        if not sequence:
            raise SynthesisError("No column is left to synthesise; check the visit sequence.")
        for item in self.derived_:
            if item.column not in sequence:
                raise SynthesisError(f"Derived column '{item.column}' is not synthesised; derived "
                                     "columns replace columns of the data.")
            if not schema[item.column].kind.is_numeric:
                raise SynthesisError(f"Derived column '{item.column}' must be numeric (integer or "
                                     "continuous).")
            missing = [c for c in item.columns if c not in sequence]
            if missing:
                raise SynthesisError(f"Derived column '{item.column}' uses {quote_names(missing)}, "
                                     "which are not synthesised.")
        for rule in self.rules_:
            if rule.column not in sequence:
                raise SynthesisError(f"Rule '{rule.text}' sets column '{rule.column}', which is not "
                                     "synthesised.")
            missing = [c for c in rule.columns if c not in sequence]
            if missing:
                raise SynthesisError(f"Rule '{rule.text}' tests {quote_names(missing)}, which are "
                                     "not synthesised.")
        self.visit_sequence_ = sequence
        # every modelled column is correlated with every other: the plan is the whole set
        self.predictor_matrix_ = {n: [m for m in sequence if m != n] for n in sequence} \
            if self._correlated else {n: [] for n in sequence}
        fresh = self.identifier_columns_ if self.identifiers == "fresh" else []
        kept = {*sequence, *fresh}
        self.columns_ = [n for n in schema.names if n in kept]

    def _room_for_rules(self, name: str, parts: list[Part]) -> None:
        for rule in self.rules_:
            if rule.column != name or rule.value is None:
                continue
            if parts[0].kind == "category" and value_text(rule.value) not in parts[0].levels:
                raise SynthesisError(f"Rule '{rule.text}' sets '{name}' to a level it does not "
                                     "have; use one of its levels or 'missing'.")
            if parts[0].kind != "category" and not isinstance(rule.value, float):
                raise SynthesisError(f"Rule '{rule.text}' sets numeric column '{name}' to text.")

    # -- sample ---------------------------------------------------------------------------
    def sample(self, n: int | None = None, *, seed: int | None = None,
               progress: Progress | None = None) -> pd.DataFrame:
        """`n` synthetic rows (default: as many as the real data). Same seed, same rows."""
        self._check_fitted()
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        self.last_seed_ = seed
        n = self.n_rows_ if n is None else n
        if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
            raise SynthesisError(f"The number of rows must be a positive integer. Got {n!r} instead.")
        n = int(n)
        rng = np.random.default_rng(seed)
        width = len(self.parts_)
        normals = rng.standard_normal((n, width))
        if self._correlated and width:
            normals = normals @ _cholesky(self.correlation_).T
        uniforms = ndtr(normals)
        drawn: dict[str, list[np.ndarray]] = {}
        for j, (part, marginal) in enumerate(zip(self.parts_, self.marginals_, strict=True)):
            drawn.setdefault(part.column, []).append(_invert(marginal, part, uniforms[:, j]))
        frame: dict[str, pd.Series] = {}
        derived = {d.column: d for d in self.derived_}
        by_column: dict[str, list[Part]] = {}
        for part in self.parts_:
            by_column.setdefault(part.column, []).append(part)
        for name in self.visit_sequence_:
            if name in derived:
                continue
            arrays = drawn[name]
            parts = by_column[name]
            if len(parts) == 2:
                arrays[1] = np.where(arrays[0] == 0, arrays[1], np.nan)
            frame[name] = decode_column(parts, arrays, self.schema_[name])
            if progress is not None:
                progress("sample", name)
        for name in self.visit_sequence_:
            if name in derived:
                values = derived[name].compute(frame)
                if self.schema_[name].kind is Kind.INTEGER:
                    values = np.round(values)
                frame[name] = _numbers(values, self.schema_[name].kind)
            for rule in self.rules_:
                if rule.column == name:
                    frame[name] = _apply_rule(frame[name], rule, frame)
        out = hold_relations(pd.DataFrame(frame), self.schema_)
        if self.identifiers == "fresh":
            digits = len(str(n))
            for name in self.identifier_columns_:
                out[name] = pd.array([f"S{i:0{digits}d}" for i in range(1, n + 1)], dtype="string")
        return out[[c for c in self.columns_ if c in out.columns]]

    def _check_fitted(self) -> None:
        if not hasattr(self, "correlation_"):
            raise SynthesisError(f"This {type(self).__name__} model is not fitted yet; call "
                                 "fit(data) first.")

    # -- save / load ----------------------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the fitted model as JSON plus arrays (no pickle). The file is confidential."""
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {"correlation": self.correlation_}
        parts = []
        for j, (part, marginal) in enumerate(zip(self.parts_, self.marginals_, strict=True)):
            parts.append({"column": part.column, "kind": part.kind, "levels": part.levels,
                          "integer": part.integer, "mode": marginal["mode"]})
            for key in ("order", "cum", "support"):
                arrays[f"p{j}_{key}"] = marginal[key]
        meta = {
            "method": self.method, "confidential": True, "confidentiality_note": CONFIDENTIAL_NOTE,
            "options": {"interpolate": self.interpolate, "identifiers": self.identifiers},
            "schema": self.schema_.to_dict(),
            "visit_sequence": self.visit_sequence_,
            "rules": [r.text for r in self.rules_] + [d.text for d in self.derived_],
            "columns": self.columns_, "identifier_columns": self.identifier_columns_,
            "dropped_columns": self.dropped_columns_, "n_rows": self.n_rows_, "parts": parts,
        }
        written = write_model_file(Path(path), meta, arrays, overwrite=overwrite)
        warnings.warn(f"Saved to '{written}'. {CONFIDENTIAL_NOTE}", ConfidataWarning, stacklevel=2)
        return written

    @classmethod
    def load(cls, path: str | Path) -> GaussianCopula:
        """Read a model written by `save`; reading never runs code from the file."""
        path = Path(path)
        meta, arrays = read_model_file(path)
        if meta.get("method") != cls.method:
            raise SynthesisError(f"'{path}' holds a '{meta.get('method')}' model, not a "
                                 f"{cls.__name__} model.")
        try:
            return cls._from_file(meta, arrays)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            if isinstance(exc, ConfidataError):
                raise
            raise InputFileError(f"'{path}' is damaged or not a {cls.__name__} model file "
                                 f"({type(exc).__name__}); save the model again.") from None

    @classmethod
    def _from_file(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> GaussianCopula:
        schema = Schema.from_dict(meta["schema"])
        model = cls(schema, **meta["options"])
        model.schema_ = schema
        model.rules_, model.derived_ = parse_rules(meta["rules"])
        model.visit_sequence_ = [str(n) for n in meta["visit_sequence"]]
        model.predictor_matrix_ = ({n: [m for m in model.visit_sequence_ if m != n]
                                    for n in model.visit_sequence_} if cls._correlated
                                   else {n: [] for n in model.visit_sequence_})
        model.columns_ = meta["columns"]
        model.identifier_columns_ = meta["identifier_columns"]
        model.dropped_columns_ = meta["dropped_columns"]
        model.n_rows_ = int(meta["n_rows"])
        model.parts_, model.marginals_ = [], []
        for j, spec in enumerate(meta["parts"]):
            if spec["column"] not in model.visit_sequence_ or spec["mode"] not in _MODES:
                raise ValueError("a part of a column the model does not synthesise")
            part = Part(spec["column"], spec["kind"], [str(v) for v in spec["levels"]],
                        integer=bool(spec["integer"]))
            marginal = {"mode": spec["mode"], **{k: arrays[f"p{j}_{k}"] for k in ("order", "cum", "support")}}
            _check_marginal(part, marginal)
            model.parts_.append(part)
            model.marginals_.append(marginal)
        corr = np.asarray(arrays["correlation"], dtype=float)
        width = len(model.parts_)
        if corr.shape != (width, width) or not np.all(np.isfinite(corr)):
            raise ValueError("a correlation matrix of the wrong shape")
        model.correlation_ = corr
        return model


# -- marginals ----------------------------------------------------------------------------------
_MODES = ("levels", "steps", "interpolate")


def _fit_marginal(part: Part, array: np.ndarray, use: np.ndarray, kind: Kind,
                  interpolate: bool) -> tuple[dict[str, Any], np.ndarray]:
    """A part's marginal (as arrays) and each real row's normal score (NaN where unused).

    ``levels``: codes in `order`, level k of the order holding [cum[k], cum[k+1]);
    ``steps``: distinct real values `support` with their cumulative shares (real values drawn);
    ``interpolate``: sorted real values, read between neighbours at a uniform's position.
    """
    score = np.full(len(array), np.nan)
    if part.is_categorical:
        codes = array[use].astype(np.int64)
        counts = np.bincount(codes, minlength=len(part.levels)).astype(float)
        real = [i for i, lv in enumerate(part.levels) if lv != MISSING_LEVEL]
        blank = [i for i, lv in enumerate(part.levels) if lv == MISSING_LEVEL]
        numbered = bool(real) and all(is_number(part.levels[i]) for i in real)
        if part.kind == "category" and (kind is Kind.ORDINAL or numbered):
            if numbered and kind is not Kind.ORDINAL:  # codes such as years of schooling
                real = sorted(real, key=lambda i: float(part.levels[i]))
            order = np.array(blank + real, dtype=np.int64)
        else:
            order = np.argsort(-counts, kind="stable").astype(np.int64)
        cum = _cumulative(counts[order])
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        means = _interval_means(cum)
        score[use] = means[position[codes]]
        return {"mode": "levels", "order": order, "cum": cum, "support": np.zeros(0),
                "spread": _spread(cum, means)}, score
    values = array[use]
    values = values[~np.isnan(values)]
    rows = np.flatnonzero(use & ~np.isnan(array))
    distinct, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    cum = _cumulative(counts.astype(float))
    means = _interval_means(cum)
    if len(distinct):
        score[rows] = means[inverse]
    spread = _spread(cum, means)
    smooth = (interpolate and kind is Kind.CONTINUOUS and len(distinct) > INTERPOLATE_ABOVE)
    if smooth:
        return {"mode": "interpolate", "order": np.zeros(0, dtype=np.int64), "cum": np.zeros(0),
                "support": np.sort(values), "spread": spread}, score
    return {"mode": "steps", "order": np.zeros(0, dtype=np.int64), "cum": cum,
            "support": distinct, "spread": spread}, score


def _spread(cum: np.ndarray, means: np.ndarray) -> float:
    """The standard deviation of a part's scores under its marginal: its correlation with the
    latent normal it was cut from (1 for a continuous part, less the coarser the part)."""
    mass = cum[1:] - cum[:-1]
    return float(np.sqrt(max(np.sum(mass * means ** 2), 1e-12))) if len(mass) else 1.0


def _cumulative(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    if total <= 0:
        return np.linspace(0.0, 1.0, len(counts) + 1)
    cum = np.concatenate([[0.0], np.cumsum(counts) / total])
    cum[-1] = 1.0
    return cum


def _interval_means(cum: np.ndarray) -> np.ndarray:
    """E[Z | a < Z < b] for a standard normal Z and each interval [Phi(a), Phi(b)) of `cum`:
    the score of every row in that level, so a level's rows sit where its share puts them."""
    lo, hi = ndtri(np.clip(cum[:-1], 0, 1)), ndtri(np.clip(cum[1:], 0, 1))
    mass = cum[1:] - cum[:-1]
    dens = np.exp(-0.5 * np.where(np.isfinite(lo), lo, 0) ** 2) * np.isfinite(lo) \
        - np.exp(-0.5 * np.where(np.isfinite(hi), hi, 0) ** 2) * np.isfinite(hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = dens / np.sqrt(2 * np.pi) / mass
    middle = ndtri(np.clip((cum[:-1] + cum[1:]) / 2, 1e-12, 1 - 1e-12))
    return np.where(mass > 1e-12, means, middle)


def _invert(marginal: dict[str, Any], part: Part, u: np.ndarray) -> np.ndarray:
    """Values (codes for categorical parts) at uniforms `u`, through the inverse marginal."""
    mode = marginal["mode"]
    if mode == "levels":
        order, cum = marginal["order"], marginal["cum"]
        k = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, len(order) - 1)
        return order[k].astype(np.int32)
    support = marginal["support"]
    if len(support) == 0:
        return np.full(len(u), np.nan)
    if mode == "steps":
        k = np.clip(np.searchsorted(marginal["cum"], u, side="right") - 1, 0, len(support) - 1)
        return support[k].astype(float)
    grid = (np.arange(len(support)) + 0.5) / len(support)
    return np.interp(u, grid, support)


def _check_marginal(part: Part, marginal: dict[str, Any]) -> None:
    """Refuse a marginal whose arrays could index outside themselves."""
    order, cum = marginal["order"], marginal["cum"]
    if marginal["mode"] == "levels":
        if (len(cum) != len(order) + 1 or len(order) != len(part.levels) or len(order)
                and (order.min() < 0 or order.max() >= len(part.levels))):
            raise ValueError("a categorical marginal that does not fit its levels")
    elif marginal["mode"] == "steps" and len(cum) != len(marginal["support"]) + 1:
        raise ValueError("a step marginal of mismatched arrays")


# -- the copula ---------------------------------------------------------------------------------
def _correlation(z: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """The latent correlation matrix: pairwise-complete correlation of the normal scores,
    divided by both parts' `spread` and made positive definite.

    A coarse part (two levels, or a number with few values) correlates with anything less than
    the normal it was cut from, by its spread (the first Hermite term of the polychoric
    correlation; exact for one coarse and one continuous part). Undone here, or a category's
    tie to a number is weakened twice: once when scored, once more when the draw is cut again.
    """
    width = z.shape[1]
    if width == 0:
        return np.eye(0)
    present = ~np.isnan(z)
    mask = present.astype(float)
    filled = np.where(present, z, 0.0)
    pairs = mask.T @ mask
    sum_x = filled.T @ mask  # [i, j]: sum of part i over rows where j is present too
    sum_xx = (filled ** 2).T @ mask
    sum_xy = filled.T @ filled
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_x = sum_x / pairs
        mean_y = mean_x.T
        cov = sum_xy / pairs - mean_x * mean_y
        var_x = sum_xx / pairs - mean_x ** 2
        var_y = var_x.T
        corr = cov / np.sqrt(var_x * var_y)
    corr[~np.isfinite(corr) | (pairs < MIN_PAIR_ROWS)] = 0.0
    corr = corr / np.outer(spread, spread)
    corr = np.clip((corr + corr.T) / 2, -MAX_LATENT, MAX_LATENT)
    np.fill_diagonal(corr, 1.0)
    values, vectors = np.linalg.eigh(corr)
    if values.min() < EIGEN_FLOOR:
        corr = (vectors * np.maximum(values, EIGEN_FLOOR)) @ vectors.T
        scale = np.sqrt(np.diag(corr))
        corr = corr / np.outer(scale, scale)
        np.fill_diagonal(corr, 1.0)
    return corr


def _cholesky(corr: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.cholesky(corr)
    except np.linalg.LinAlgError:  # a loaded matrix on the edge: nudge it inside
        width = len(corr)
        return np.linalg.cholesky(corr * (1 - 1e-6) + np.eye(width) * 1e-6)


# -- rules and derived columns ------------------------------------------------------------------
def _numbers(values: np.ndarray, kind: Kind) -> pd.Series:
    if kind is Kind.INTEGER:
        return pd.Series(pd.array(values, dtype="Float64")).astype("Int64")
    return pd.Series(values.astype(float))


def _apply_rule(values: pd.Series, rule: Rule, frame: dict[str, pd.Series]) -> pd.Series:
    hit = rule.holds(frame)
    if not hit.any():
        return values
    out = values.copy()
    if isinstance(out.dtype, pd.CategoricalDtype):
        out[hit] = None if rule.value is None else value_text(rule.value)
        return out
    out[hit] = np.nan if rule.value is None else float(rule.value)
    return out

