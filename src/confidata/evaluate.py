"""Is a synthetic file fit for its purpose? Run a use case's measures and judge each one.

`evaluate` takes the real file, the synthetic file (and ideally a holdout of real rows the
synthesizer never saw), runs every measure the use case names that the inputs allow, judges
each against the use case's thresholds, and returns one plain, JSON-ready dictionary: the
verdict first, then every measure beside its reference with its verdict and the reasoning
behind the threshold, the data the report's plots need, notes for the file's users and a
provenance block. `confidata.report` renders it; nothing here draws.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import math
import platform
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd

from confidata.errors import ConfidataError, SchemaError, quote_names
from confidata.measures import MEASURES, NEED_WORDS, Family, MeasureResult, Need
from confidata.measures._encode import column_codes, prepare
from confidata.measures._shared import draw_seed
from confidata.measures.keys import resolve_keys
from confidata.table.conform import conform_together
from confidata.table.schema import Kind, Role, Schema
from confidata.usecases import USE_CASES, Criterion, get_use_case

__all__ = ["evaluate"]

_DEPENDENCIES = ("numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "numba", "pyreadstat")
_PLOT_BINS = 10  # marginal plots: quantile groups of the real data per numeric column
_log = logging.getLogger(__name__)


def evaluate(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *, use_case: str,
             holdout: pd.DataFrame | None = None, keys: Sequence[str] | None = None,
             target: str | None = None, model: str | None = None, seed: int | None = None,
             files: Mapping[str, Mapping[str, Any]] | None = None, command: str | None = None,
             epsilon: float | None = None, delta: float | None = None,
             synthesis: Mapping[str, Any] | None = None,
             known: Sequence[str] | None = None) -> dict[str, Any]:
    """Judge `synthetic` against `real` for `use_case` (see `confidata.usecases.USE_CASES`).

    `keys` override the schema's key role for the disclosure measures; `target` is the column
    attribute-disclosure and prediction measures aim at; `model` (``"y ~ x1 + x2"``) is the
    analysis whose confidence intervals are compared. Measures whose inputs are missing are
    listed as not run, and the verdict says so. `files` (name, rows, sha256 per role),
    `command`, the privacy budget (`epsilon`, `delta`) and what made the file (`synthesis`:
    method, model file) go into the provenance; the command line fills them in.
    `known` names columns an attacker knows for every row: a partially synthetic file's kept
    real columns (a sequential model's ``kept_columns_``); they join the keys of the
    disclosure measures.
    """
    profile = get_use_case(use_case)
    _check_inputs(real, synthetic, holdout, schema, [*(keys or ()), *(known or ())], target, model)
    schema, frames, unseen = conform_together(schema, {"real": real, "synthetic": synthetic,
                                                       "holdout": holdout})
    real, synthetic, holdout = frames["real"], frames["synthetic"], frames["holdout"]
    seed = draw_seed(seed)
    given = {"holdout": holdout, "keys": list(keys) if keys else None, "target": target,
             "model": model, "seed": seed}
    if known:  # kept real columns: known to anyone who sees the file, so they are keys too
        try:
            base, _ = resolve_keys(schema, real, given["keys"], exclude=(target,) if target else ())
        except SchemaError:
            base = []
        given["keys"] = list(dict.fromkeys([*base, *known]))
    unmet = _unmet_needs(given, schema, real)
    rows, results = [], {}
    for criterion in profile.criteria:
        spec = MEASURES[criterion.measure]
        missing = [unmet[need] for need in sorted(spec.needs) if need in unmet]
        if missing:
            rows.append(_not_run(criterion, missing))
            continue
        try:
            result = spec.function(real, synthetic, schema, **_options(criterion, given, schema))
        except ConfidataError as exc:  # the measure says why it cannot judge these files
            rows.append(_failed(criterion, str(exc)))
            continue
        except Exception as exc:  # a bug in one measure must not cost the whole report
            _log.debug("measure %s failed", criterion.measure, exc_info=True)
            rows.append(_failed(criterion, f"an internal error ({type(exc).__name__}) in this "
                                "measure, a bug in confidata; rerun with --verbose for its "
                                "traceback and please report it"))
            continue
        results[criterion.measure] = result
        rows.append(_judged(criterion, result))
    verdict, reason = _overall(rows)
    return {
        "title": f"Is this synthetic file fit for {profile.title.lower()}?",
        "verdict": verdict,
        "verdict_reason": reason,
        "use_case": {"name": profile.name, "title": profile.title, "purpose": profile.purpose},
        "files": _files(files, real, synthetic, holdout, unseen),
        "measures": rows,
        "plots": _plots(real, synthetic, schema, results),
        "notes_for_users": {"may": list(profile.may), "may_not": list(profile.may_not)},
        "provenance": {**_provenance(command, seed, epsilon, delta),
                       "known_to_attacker": list(known or []),
                       "synthesis": ({k: v for k, v in synthesis.items() if k != "privacy"}
                                     if synthesis else None),
                       # how a DP synthesizer spent its budget: public, like the guarantee itself
                       "privacy": (synthesis or {}).get("privacy")},
    }


# -- inputs ----------------------------------------------------------------------------------
def _check_inputs(real, synthetic, holdout, schema: Schema, keys, target, model) -> None:
    frames = {"real": real, "synthetic": synthetic}
    if holdout is not None:
        frames["holdout"] = holdout
    measured = [c.name for c in schema if c.kind not in (Kind.IDENTIFIER, Kind.TEXT)
                and not c.has_role(Role.DIRECT_IDENTIFIER)]
    for label, frame in frames.items():
        if not isinstance(frame, pd.DataFrame):
            raise SchemaError(f"evaluate: pass the {label} data as a pandas DataFrame.")
        if len(frame) == 0:
            raise SchemaError(f"evaluate: the {label} file has no rows; pass a non-empty file.")
        absent = [c for c in measured if c not in frame.columns]
        if absent:
            raise SchemaError(f"evaluate: the {label} file lacks column(s) {quote_names(absent)} "
                              "of the real file; real, synthetic and holdout must have the same "
                              "columns.")
    extra = [c for c in synthetic.columns if c not in schema]
    if extra:
        raise SchemaError(f"evaluate: the synthetic file has column(s) {quote_names(extra)} that "
                          "the real file lacks; drop them or evaluate against the right file.")
    for name in keys or ():
        if name not in real.columns:
            raise SchemaError(f"evaluate: the key {quote_names([name])} is not a column of the "
                              "data; check --keys.")
    if target is not None:
        if target not in real.columns or target not in schema:
            raise SchemaError(f"evaluate: the target {quote_names([target])} is not a column of "
                              "the data; check --target.")
        if real[target].nunique(dropna=True) < 2:
            raise SchemaError(f"evaluate: the target '{target}' takes one value only in the real "
                              "file, so nothing can be predicted or disclosed about it; choose "
                              "another target.")
    if model is not None:
        if not isinstance(model, str) or "~" not in model:
            raise SchemaError("evaluate: give the model as 'y ~ x1 + x2' (--model).")
        named = [t.strip() for t in model.replace("~", "+").split("+") if t.strip()]
        unknown = [t for t in named if t not in real.columns]
        if unknown:
            raise SchemaError(f"evaluate: the model names column(s) {quote_names(unknown)} that "
                              "are not in the data; use the data's column names.")


def _unmet_needs(given: Mapping[str, Any], schema: Schema, real: pd.DataFrame) -> dict[Need, str]:
    """Each input the caller did not give (or that the data cannot supply), with what to pass."""
    unmet = {}
    if given["holdout"] is None:
        unmet[Need.HOLDOUT] = NEED_WORDS[Need.HOLDOUT]
    if given["target"] is None:
        unmet[Need.TARGET] = NEED_WORDS[Need.TARGET]
    if given["model"] is None:
        unmet[Need.FORMULA] = NEED_WORDS[Need.FORMULA]
    try:
        resolve_keys(schema, real, given["keys"],
                     exclude=(given["target"],) if given["target"] else ())
    except SchemaError:
        unmet[Need.KEYS] = (
            f"{NEED_WORDS[Need.KEYS]}: the schema marks no column 'key' and no categorical column "
            "qualifies by default (all-numeric files have none), so the key-based measures "
            "cannot choose their quasi-identifiers")
    return unmet


def _options(criterion: Criterion, given: Mapping[str, Any], schema: Schema) -> dict[str, Any]:
    params = inspect.signature(MEASURES[criterion.measure].function).parameters
    options: dict[str, Any] = {}
    for name in ("holdout", "keys", "seed"):
        if name in params and given[name] is not None:
            options[name] = given[name]
    if "target" in params and given["target"] is not None:
        options["target"] = given["target"]
    if "secret" in params and given["target"] is not None:
        options["secret"] = given["target"]
    if "formula" in params and given["model"] is not None:
        options["formula"] = given["model"]
        response = given["model"].split("~")[0].strip()
        if response in schema and schema[response].kind.is_categorical:
            options["family"] = "logistic"
    options.update(criterion.options)
    return options


# -- judging ---------------------------------------------------------------------------------
def _statistic(result: MeasureResult, statistic: str) -> float | None:
    if statistic == "value":
        return result.value
    if statistic in ("excess", "ratio"):
        if result.reference is None:
            return None
        if statistic == "excess":
            return result.value - result.reference
        return result.value / result.reference if result.reference else None
    value = result.details.get(statistic)
    return None if value is None else float(value)


def _judged(criterion: Criterion, result: MeasureResult) -> dict[str, Any]:
    observed = _statistic(result, criterion.statistic)
    finite = observed is not None and math.isfinite(observed)
    verdict = criterion.judge(observed) if finite else "warn"
    record = result.to_dict()
    record.pop("tables")
    record["details"] = {k: v for k, v in record["details"].items()
                         if isinstance(v, str | int | float | bool | type(None))}
    return {
        **record,
        "family": MEASURES[criterion.measure].family.value,
        "verdict": verdict,
        "statistic": criterion.statistic,
        "observed": observed if finite else None,
        "rule": criterion.rule,
        "reason": criterion.reason if finite else
        f"{criterion.reason} The figure could not be computed here, so it is not a pass.",
        "source": criterion.source,
    }


def _not_run(criterion: Criterion, missing: list[str]) -> dict[str, Any]:
    needs = " and ".join(missing)
    return {**_unjudged(criterion, "info", f"Not run: it needs {needs}.", f"not run, as it needs {needs}."),
            "not_run": True}


def _failed(criterion: Criterion, why: str) -> dict[str, Any]:
    """A measure that ran and could not give a figure: a row with its reason, never a pass."""
    row = _unjudged(criterion, "error", f"Could not be computed: {why}",
                    "could not be computed for these files, so it judges nothing here.")
    return {**row, "details": {"error": why}}


def _unjudged(criterion: Criterion, verdict: str, reason: str, meaning: str) -> dict[str, Any]:
    spec = MEASURES[criterion.measure]
    return {
        "name": criterion.measure, "family": spec.family.value, "verdict": verdict,
        "statistic": criterion.statistic, "observed": None, "rule": criterion.rule,
        "reason": reason, "source": criterion.source, "value": None, "reference": None,
        "reference_kind": "", "direction": "", "ci": None, "n": None,
        "interpretation": f"{spec.summary}: {meaning}", "citation": "", "details": {},
    }


def _overall(rows: list[dict[str, Any]]) -> tuple[str, str]:
    """The verdict: any fail fails; a disclosure measure that could not be computed leaves the
    file not judged (its risk is unknown, so it cannot pass); warnings, other failures to
    compute and risk measures not run for want of inputs make a warning."""
    failed = [r for r in rows if r["verdict"] == "fail"]
    warned = [r for r in rows if r["verdict"] == "warn"]
    errors = [r for r in rows if r["verdict"] == "error"]
    skipped = [r for r in rows if r.get("not_run")]
    risk_skipped = [r for r in skipped if r["family"] == Family.RISK.value]
    risk_errors = [r for r in errors if r["family"] == Family.RISK.value]
    attempted = len(rows) - len(skipped)
    tally = f"{attempted - len(errors)} of {attempted} measures computed"
    if skipped:
        tally += f", {len(skipped)} not run for want of inputs"

    def listing(group: list[dict[str, Any]]) -> str:
        return "; ".join(f"{r['name']} ({r['statistic']} = "
                         f"{'not finite' if r['observed'] is None else format(r['observed'], '.4g')}"
                         f", {r['rule']})" for r in group)

    def names(group: list[dict[str, Any]]) -> str:
        return ", ".join(r["name"] for r in group)

    if failed:
        return "fail", f"{tally}. Fails on {len(failed)} measure(s): {listing(failed)}."
    if risk_errors:
        return "not judged", (f"{tally}. Not judged: {len(risk_errors)} disclosure measure(s) "
                              f"could not be computed ({names(risk_errors)}), so the risk of this "
                              "file is not known and it cannot pass; see each measure's reason.")
    if warned or risk_skipped or errors:
        parts = []
        if warned:
            parts.append(f"warnings on {listing(warned)}")
        if errors:
            parts.append(f"{len(errors)} measure(s) that could not be computed ({names(errors)})")
        if risk_skipped:
            parts.append(f"{len(risk_skipped)} disclosure measure(s) not run for want of inputs "
                         f"({names(risk_skipped)})")
        lead = ("Passes the measures that ran, with " if any(r["verdict"] == "pass" for r in rows)
                else "Passes no measure outright; ")
        return "warn", f"{tally}. {lead}{' and '.join(parts)}."
    return "pass", f"{tally}. Passes all {attempted} measures that apply."


# -- what the report draws -------------------------------------------------------------------
def _plots(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema,
           results: Mapping[str, MeasureResult]) -> dict[str, Any]:
    pair = prepare(real, synthetic, schema, measure="evaluate")
    marginals = []
    for name in pair.names:
        r, s, labels = column_codes(pair, name, n_bins=_PLOT_BINS, edges_from="real")
        count_r = np.bincount(r, minlength=len(labels))
        count_s = np.bincount(s, minlength=len(labels))
        numeric = pair.schema[name].kind.is_numeric_or_date
        bins = []
        last = len(labels) - 2  # the final label is "missing"
        for i, label in enumerate(labels):
            if count_r[i] == 0 and count_s[i] == 0:
                continue
            bins.append({"label": label, "real": int(count_r[i]), "synthetic": int(count_s[i]),
                         "extreme": bool(numeric and i in (0, last))})
        marginals.append({"column": name, "kind": "numeric" if numeric else "categorical",
                          "bins": bins})
    if "tvd_2way" not in results and len(pair.names) >= 2:
        try:  # the pair matrix is drawn for every use case, judged or not
            results = {**results, "tvd_2way": MEASURES["tvd_2way"].function(real, synthetic, schema)}
        except Exception:  # a plot that cannot be drawn is shown as missing, never fatal
            _log.debug("pair matrix failed", exc_info=True)
    drawn: dict[str, Any] = {key: None for key in _PLOTS}
    for name, result in results.items():
        key = MEASURES[name].plot
        if key is not None:
            try:
                drawn[key] = _PLOTS[key](result, pair.names)
            except Exception:  # a plot that cannot be drawn is shown as missing, never fatal
                _log.debug("plot %s from %s failed", key, name, exc_info=True)
    return {"marginals": marginals, **drawn,
            "risk_utility": _risk_utility(results.get("tvd_2way"), results)}


def _pair_matrix(result: MeasureResult, names: list[str]) -> dict[str, Any]:
    index = {n: i for i, n in enumerate(names)}
    matrix: list[list[float | None]] = [[None] * len(names) for _ in names]
    for row in result.tables["tvd_2way"].itertuples(index=False):
        i, j = index[row.variable_1], index[row.variable_2]
        matrix[i][j] = matrix[j][i] = float(row.tvd)
    return {"columns": names, "tvd": matrix}


def _propensity(result: MeasureResult, names: list[str]) -> dict[str, Any]:
    table = result.tables["propensity"]
    edges = np.linspace(0.0, 1.0, 21)
    real = np.histogram(table.loc[table["source"] == "real", "propensity"], bins=edges)[0]
    syn = np.histogram(table.loc[table["source"] == "synthetic", "propensity"], bins=edges)[0]
    return {"edges": edges.tolist(), "real": real.tolist(), "synthetic": syn.tolist()}


def _forest(result: MeasureResult, names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for row in result.tables["coefficients"].to_dict(orient="records"):
        rows.append({"term": str(row["coefficient"]),
                     "real": _float(row["real_estimate"]), "real_lo": _float(row["real_lower"]),
                     "real_hi": _float(row["real_upper"]),
                     "synthetic": _float(row["synthetic_estimate"]),
                     "synthetic_lo": _float(row["synthetic_lower"]),
                     "synthetic_hi": _float(row["synthetic_upper"]),
                     "overlap": _float(row["ci_overlap"])})
    return rows


def _dcr(result: MeasureResult, names: list[str]) -> dict[str, Any]:
    table = result.tables["distances"]
    top = float(table["distance"].max()) or 1.0
    edges = np.linspace(0.0, top, 21)
    syn = np.histogram(table.loc[table["rows"] == "synthetic", "distance"], bins=edges)[0]
    hold = np.histogram(table.loc[table["rows"] == "holdout", "distance"], bins=edges)[0]
    return {"edges": edges.tolist(), "synthetic": syn.tolist(), "holdout": hold.tolist()}


# plot key (MeasureSpec.plot) -> how the report's data for it is read off the measure's tables
_PLOTS = {"pairs": _pair_matrix, "propensity": _propensity, "ci_overlap": _forest, "dcr": _dcr}


def _risk_utility(two_way: MeasureResult | None,
                  results: Mapping[str, MeasureResult]) -> list[dict[str, Any]] | None:
    """One point: utility = 1 - mean two-way TVD; risk = the DCR share nearer training than
    holdout (0.5 is a fresh sample), else repU as a share."""
    if two_way is None:
        return None
    if "distance_to_closest_record" in results:
        risk = results["distance_to_closest_record"].value
    elif "identity_disclosure" in results:
        risk = results["identity_disclosure"].value / 100.0
    else:
        return None
    return [{"label": "this synthetic file", "utility": 1.0 - two_way.value, "risk": float(risk)}]


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# -- provenance ------------------------------------------------------------------------------
def _files(files: Mapping[str, Mapping[str, Any]] | None, real: pd.DataFrame,
           synthetic: pd.DataFrame, holdout: pd.DataFrame | None,
           unseen: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for role, frame in (("real", real), ("synthetic", synthetic), ("holdout", holdout)):
        if frame is None:
            out[role] = None
            continue
        given = dict((files or {}).get(role) or {})
        out[role] = {"name": given.get("name", f"{role} (in memory)"), "rows": len(frame),
                     "columns": frame.shape[1],
                     "sha256": given.get("sha256") or _frame_hash(frame)}
        if role in unseen:
            u = unseen[role]
            out[role]["note"] = (
                f"{u['levels']} value(s) in {u['columns']} column(s) ({quote_names(u['names'])}) "
                f"are not in the training part's schema ({u['rows']} row(s) hold such a category "
                "level); read as values of their own, not refused.")
    return out


def _frame_hash(frame: pd.DataFrame) -> str:
    """A content hash of an in-memory frame (file hashes come from the command line)."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update("|".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


def _provenance(command: str | None, seed: int, epsilon: float | None,
                delta: float | None) -> dict[str, Any]:
    versions = {}
    for name in _DEPENDENCIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    try:
        own = version("confidata")
    except PackageNotFoundError:
        own = "0+unknown"
    return {
        "confidata": own,
        "python": platform.python_version(),
        "dependencies": versions,
        "command": command if command is not None else " ".join(sys.argv),
        "seed": seed,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "epsilon": epsilon,
        "delta": delta,
        "use_cases_available": sorted(USE_CASES),
    }
