"""What the three DP synthesizers share: options, the budget, discretisation, sampling, files.

A subclass supplies `_fit_network` (the mechanisms) and its own options. Everything else, the
refusal to run without a budget, the ledger, the caps on time and model size, sampling and the
model file, is here so the three behave alike.
"""

from __future__ import annotations

import io
import json
import math
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from confidata.errors import ConfidataWarning, InputFileError, SchemaError, SynthesisError, quote_names
from confidata.synth._modelfile import FORMAT, read_model_file
from confidata.synth._params import check_parameters
from confidata.synth.dp._accountant import PrivacyAccountant
from confidata.synth.dp._domain import (
    Attribute,
    decode,
    discretise,
    encode,
    paid_columns,
    unpublic_levels,
)
from confidata.synth.dp._network import Network
from confidata.synth.dp._noise import Noise, noise_source
from confidata.synth.rules import hold_relations
from confidata.table._files import atomic_write
from confidata.table.conform import conform
from confidata.table.infer import infer_schema
from confidata.table.relations import relations_in
from confidata.table.schema import Kind, Role, Schema

__all__ = ["DPSynthesizer", "PrivacyBudgetError", "SHAREABLE_NOTE"]

Progress = Callable[[str, str], None]

SHAREABLE_NOTE = (
    "This model was fitted under differential privacy: it holds noisy marginal tables and bin "
    "edges only, no real record, and may be shared. Its privacy guarantee is stated under "
    "'privacy'. The schema it carries (column names, kinds, levels, declared bounds) is treated "
    "as public; do not share it if the schema itself is confidential."
)


class PrivacyBudgetError(SynthesisError):
    """A DP synthesizer was asked to run without a valid privacy budget."""


def _positive_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def _int_at_least(low: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


# Child streams of a seed, one per purpose (numpy's SeedSequence spawn keys): the same seed
# given to fit and to sample never makes the sampling draws repeat the privacy noise's.
_NOISE, _FIT, _SAMPLE = 0, 1, 2


def _stream(seed: int | None, purpose: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(purpose,)))


class DPSynthesizer:
    """Base of MST, AIM and PrivBayes (see those classes for the options)."""

    method = ""
    unit = "rho"  # "rho" (zCDP, needs delta) or "epsilon" (pure DP)
    _parameter_constraints: dict[str, Callable[[Any], bool]] = {
        "epsilon": lambda v: v is None or _positive_number(v),
        "delta": lambda v: v is None or (_positive_number(v) and v < 1),
        "seed": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0),
        "n_bins": lambda v: isinstance(v, int) and not isinstance(v, bool) and 2 <= v <= 4096,
        "bounds_share": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 1,
        "levels_share": lambda v: v is None or (isinstance(v, int | float) and not isinstance(v, bool)
                                                and 0 < v < 1),
        "max_levels": _int_at_least(2),
        "max_seconds": lambda v: v is None or _positive_number(v),
        "max_model_size": lambda v: _positive_number(v),
    }
    _constraint_text = {
        "epsilon": "a number in the range (0, inf)",
        "delta": "a number in the range (0, 1)",
        "seed": "None or an int in the range [0, inf)",
        "n_bins": "an int in the range [2, 4096]",
        "bounds_share": "a number in the range (0, 1)",
        "levels_share": "None or a number in the range (0, 1)",
        "max_levels": "an int in the range [2, inf)",
        "max_seconds": "None or a number in the range (0, inf)",
        "max_model_size": "a number of megabytes in the range (0, inf)",
    }

    def __init__(self, schema: Schema | None = None, *, epsilon: float | None = None,
                 delta: float | None = None, seed: int | None = None, n_bins: int = 32,
                 bounds_share: float = 0.1, max_levels: int = 1000, max_seconds: float | None = None,
                 max_model_size: float = 80.0, levels_share: float | None = None) -> None:
        self.schema = schema
        self.epsilon = epsilon
        self.delta = delta
        self.seed = seed
        self.n_bins = n_bins
        self.bounds_share = bounds_share
        self.max_levels = max_levels
        self.max_seconds = max_seconds
        self.max_model_size = max_model_size
        self.levels_share = levels_share

    # -- options --------------------------------------------------------------------------
    def _options(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._parameter_constraints if name != "seed"}

    def _check_params(self) -> None:
        check_parameters(self)
        if self.epsilon is None:
            extra = " and delta=" if self.unit == "rho" else ""
            flags = " --epsilon E --delta D" if self.unit == "rho" else " --epsilon E"
            raise PrivacyBudgetError(
                f"{type(self).__name__} is differentially private and will not run without a privacy "
                f"budget: pass epsilon={extra} (command line:{flags}). Smaller epsilon means more "
                "privacy and less accuracy; 1 is a common starting point."
            )
        if self.unit == "rho" and self.delta is None:
            raise PrivacyBudgetError(
                f"{type(self).__name__} gives (epsilon, delta)-DP and needs delta as well: pass "
                "delta= (command line: --delta), well below 1 / the number of records, e.g. 1e-9."
            )

    # -- fit ------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, *, progress: Progress | None = None):
        """Spend the budget on the data and keep only the noisy model; returns self."""
        self._check_params()
        started = time.monotonic()
        if not isinstance(data, pd.DataFrame) or data.empty:
            raise SynthesisError(
                f"{type(self).__name__}.fit needs a non-empty pandas DataFrame of the real data."
            )
        schema = self.schema if self.schema is not None else infer_schema(data)
        lacking = [n for n in schema.names if n not in data.columns]
        if lacking:
            raise SchemaError(f"The data lacks column(s) {quote_names(lacking)} that the schema names.")
        data = conform(data[schema.names], schema, source="the data passed to fit")
        _check_relations(relations_in(schema))  # refused before any budget is spent
        dropped = [c.name for c in schema if c.kind in (Kind.IDENTIFIER, Kind.TEXT)
                   or Role.DIRECT_IDENTIFIER in c.roles]
        names = [n for n in schema.names if n not in dropped]
        if not names:
            raise SynthesisError("No column is left to synthesise: every column is an identifier or text.")
        to_buy = unpublic_levels(schema, names)
        self._check_domain(to_buy)
        # without a seed the noise is exact and unseeded, and rng only drives post-processing;
        # with one, noise and post-processing draw from separate child streams of it
        rng = _stream(self.seed, _FIT)
        noise = noise_source(self.seed, _stream(self.seed, _NOISE))
        # levels bought by thresholding release a one-record level with probability at most
        # threshold_delta: half of delta is set aside for that, the rest converts to the budget
        threshold_delta = self.delta / 2 if to_buy else 0.0
        accountant = PrivacyAccountant(self.epsilon, self.delta, self.unit,
                                       threshold_delta=threshold_delta)
        accountant.noise = noise.description
        self.notes_: list[str] = []
        deadline = None if self.max_seconds is None else started + float(self.max_seconds)
        # DP quantile bins (and bounds the schema lacks) for the numbers that need them
        paid = paid_columns(schema, names, self.n_bins)
        bounds_budget = self.bounds_share * accountant.total if paid else 0.0
        levels_budget = (self.levels_share or 0.0) * accountant.total if to_buy else 0.0
        attributes = discretise(data, schema, names, accountant, bounds_budget, self.n_bins,
                                self.max_levels, noise, levels_budget=levels_budget)
        if progress is not None:
            progress("fit", "discretised")
        codes = encode(data, schema, attributes)
        network = self._fit_network(codes, attributes, accountant, noise, rng, progress, deadline)
        if network.megabytes > self.max_model_size:
            raise SynthesisError(
                f"The fitted model needs {network.megabytes:.1f} MB, over max_model_size="
                f"{self.max_model_size:g} MB; raise max_model_size (--max-model-size) or use fewer bins "
                "(n_bins)."
            )
        if abs(accountant.spent - accountant.total) > 1e-9 * accountant.total:
            raise SynthesisError(
                f"{type(self).__name__} left budget unspent; this is a bug, please report it."
            )
        self.schema_ = schema
        self.attributes_ = attributes
        self.network_ = network
        self.accountant_ = accountant
        self.identifier_columns_ = [n for n in dropped if schema[n].kind is not Kind.TEXT]
        self.dropped_columns_ = [n for n in dropped if schema[n].kind is Kind.TEXT]
        self.columns_ = names
        self.fit_seconds_ = time.monotonic() - started
        return self

    def _check_domain(self, to_buy: list[str]) -> None:
        """Refuse, before touching the data, to use levels that are not public for free."""
        if not to_buy:
            return
        if self.levels_share is None:
            raise PrivacyBudgetError(
                f"Column(s) {quote_names(to_buy)} have no public levels (read from the data, or "
                "none in the schema), and a DP method may not use them for free. Declare each "
                "column's public levels in the schema (allowed_values; then delete its "
                "\"domain\": \"from data, not public\"), or buy them from the budget with "
                "levels_share=0.1 (command line: --levels-share 0.1)."
            )
        if self.delta is None:
            raise PrivacyBudgetError(
                f"Buying the levels of {quote_names(to_buy)} releases a level held by few records "
                "with a small probability delta: pass delta= (command line: --delta 1e-9) with "
                "levels_share, or declare the levels public in the schema."
            )

    def _fit_network(self, codes: dict[str, np.ndarray], attributes: list[Attribute],
                     accountant: PrivacyAccountant, noise: Noise, rng: np.random.Generator,
                     progress: Progress | None, deadline: float | None) -> Network:
        """The mechanisms: every draw on the data comes from `noise`; `rng` is for the rest."""
        raise NotImplementedError

    @property
    def visit_sequence_(self) -> list[str]:
        self._check_fitted()
        return list(self.network_.order)

    @property
    def predictor_matrix_(self) -> dict[str, list[str]]:
        self._check_fitted()
        return {k: list(v) for k, v in self.network_.parents.items()}

    @property
    def privacy_(self) -> dict[str, Any]:
        self._check_fitted()
        return self.accountant_.to_json()

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise SynthesisError(f"This {type(self).__name__} model is not fitted yet; call fit(data) first.")

    # -- sample ---------------------------------------------------------------------------
    def sample(self, n: int | None = None, *, seed: int | None = None,
               progress: Progress | None = None) -> pd.DataFrame:
        """`n` synthetic rows (default: the model's noisy estimate of the real count). Sampling
        is post-processing: it spends no budget. Same seed, same rows."""
        self._check_fitted()
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        self.last_seed_ = seed
        n = max(1, int(round(self.network_.total))) if n is None else n
        if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
            raise SynthesisError(f"The number of rows must be a positive integer. Got {n!r} instead.")
        rng = _stream(seed, _SAMPLE)
        codes = self.network_.sample(int(n), rng)
        if progress is not None:
            progress("sample", "drawn")
        frame = decode(codes, self.schema_, self.attributes_, rng)
        # the schema's relations (public, like its levels) held by post-processing: no budget
        return hold_relations(frame, self.schema_)[self.columns_]

    # -- save / load ----------------------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model (JSON + arrays, no pickle; same model, same bytes). It holds no real
        record and may be shared; the file states its privacy guarantee and budget ledger."""
        self._check_fitted()
        net = self.network_
        meta = {
            "method": self.method,
            "confidential": False,
            "shareable": True,
            "note": SHAREABLE_NOTE,
            "privacy": self.accountant_.to_json(),
            "privacy_text": self.accountant_.text(),
            "options": self._options(),
            "schema": self.schema_.to_dict(),
            "columns": self.columns_,
            "identifier_columns": self.identifier_columns_,
            "dropped_columns": self.dropped_columns_,
            "attributes": [a.to_json() for a in self.attributes_],
            "network": {"order": net.order, "parents": net.parents, "total": net.total},
            "notes": self.notes_,
        }
        arrays = {f"table_{i}": net.tables[name] for i, name in enumerate(net.order)}
        written = _write_stable(Path(path), meta, arrays, overwrite=overwrite)
        warnings.warn(f"Saved to '{written}'. {self.accountant_.text().splitlines()[0]} The model holds "
                      "no real record and may be shared.", ConfidataWarning, stacklevel=2)
        return written

    @classmethod
    def load(cls, path: str | Path):
        """Read a model written by `save` (JSON and numpy arrays; nothing is executed)."""
        meta, arrays = read_model_file(Path(path))
        if meta.get("method") != cls.method:
            raise InputFileError(f"'{path}' holds a '{meta.get('method')}' model, not {cls.method}.")
        try:
            options = dict(meta["options"])
            model = cls(Schema.from_dict(meta["schema"]), **options)
            attributes = [Attribute.from_json(a) for a in meta["attributes"]]
            net = meta["network"]
            order = [str(n) for n in net["order"]]
            sizes = {a.name: a.size for a in attributes}
            parents = {k: [str(p) for p in v] for k, v in net["parents"].items()}
            tables = {name: np.asarray(arrays[f"table_{i}"], dtype=float) for i, name in enumerate(order)}
            for name in order:
                shape = (*[sizes[p] for p in parents[name]], sizes[name])
                if tables[name].shape != shape or not np.all(np.isfinite(tables[name])):
                    raise ValueError(name)
            model.network_ = Network(order, parents, tables, float(net["total"]))
            model.attributes_ = attributes
            model.schema_ = model.schema
            model.accountant_ = PrivacyAccountant.from_json(meta["privacy"])
            model.columns_ = [str(c) for c in meta["columns"]]
            model.identifier_columns_ = list(meta["identifier_columns"])
            model.dropped_columns_ = list(meta["dropped_columns"])
            model.notes_ = list(meta.get("notes", []))
        except (KeyError, TypeError, ValueError):
            raise InputFileError(
                f"'{path}' is a damaged {cls.method} model file; fit the model again."
            ) from None
        return model


def _write_stable(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray], *,
                  overwrite: bool) -> Path:
    """The model-file format of `confidata.synth._modelfile`, with fixed zip timestamps so
    the same model gives the same bytes."""

    def entry(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as zf:
            zf.writestr(entry("model.json"), json.dumps({"format": FORMAT, **meta}, indent=1))
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
                zf.writestr(entry(f"arrays/{name}.npy"), buffer.getvalue())

    return atomic_write(path, write, overwrite=overwrite)


def _check_relations(relations: list) -> None:
    """Refuse relations read from the data: their maps hold the data's own values (a density per
    region, the cut points between bands), which no DP mechanism has paid for."""
    inferred = [f"'{r.source}' -> '{r.target}'" for r in relations if not r.public]
    if inferred:
        shown = ", ".join(inferred[:5]) + (f" and {len(inferred) - 5} more" if len(inferred) > 5 else "")
        raise PrivacyBudgetError(
            f"The schema's relation(s) {shown} were read from the data (\"domain\": \"from data, "
            "not public\"), and a DP method may not use them for free. Remove them from the "
            "schema's \"relations\", or, where a codebook makes one public, delete its marker."
        )
