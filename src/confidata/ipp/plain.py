"""The plain computation of each reference scenario, over all holders' records in one place.

Three uses, one code: the `pooled` baseline (the utility ceiling: the data pooled, no transport),
the computation of the trusted third party (`ttp`), and the reference every secure run's result
is compared with. Each scenario calls the plain function confidata's protocols are already
tested against (`secure.plain`, `secure.vertical`, `secure.psi`, `secure.regression`,
`secure.quantiles`), so the benchmark adds no second definition of any statistic.

Record linkage has no exact plain answer; its clear-text baseline is the rule many offices use
when they may see identifiers: exact agreement on normalised first name, last name and date of
birth (`pprl.normalise`), one to one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["LINKAGE_FIELDS", "compare_results", "plain_frames", "plain_from_files", "read_holder_file"]

LINKAGE_FIELDS = ("first_name", "last_name", "dob")


def read_holder_file(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None)


def plain_from_files(scenario: str, spec: Path | None, files: dict[str, Path]) -> dict:
    """The plain result of `scenario` over the holders' files, for the study at `spec`."""
    from confidata.secure import load_study  # noqa: PLC0415

    study = load_study(spec) if spec is not None and spec.is_file() else None
    return plain_frames(scenario, study, {n: read_holder_file(p) for n, p in files.items()})


def plain_frames(scenario: str, study, frames: dict[str, pd.DataFrame]) -> dict:
    """The plain result as a dict shaped like the secure result's ``to_dict``."""
    if scenario == "horizontal_aggregate":
        from confidata.secure.local import aggregate  # noqa: PLC0415
        from confidata.secure.plain import plain_result  # noqa: PLC0415
        from confidata.secure.scaling import plan_for  # noqa: PLC0415

        plan = plan_for(study)
        parts = [aggregate(study, f, plan) for f in frames.values()]
        pooled = parts[0]
        for part in parts[1:]:
            pooled = pooled + part
        return plain_result(study, pooled, plan).to_dict()
    if scenario == "vertical_join_aggregate":
        from confidata.secure.plain import plain_result  # noqa: PLC0415
        from confidata.secure.scaling import plan_for  # noqa: PLC0415
        from confidata.secure.vertical import plain_vertical  # noqa: PLC0415

        plan = plan_for(study)
        return plain_result(study, plain_vertical(study, frames, plan), plan).to_dict()
    if scenario == "intersection_count_sum":
        from confidata.secure.psi import plain_psi, psi_input  # noqa: PLC0415

        inputs = {p.name: psi_input(study, frames[p.name], p.name) for p in study.holders}
        return plain_psi(study, inputs).to_dict()
    if scenario == "federated_model" and study.is_vertical_model:
        from confidata.secure.vertical_regression import plain_vertical_regression  # noqa: PLC0415

        return plain_vertical_regression(study, frames).to_dict()
    if scenario == "federated_model":
        from confidata.secure.regression import plain_regression  # noqa: PLC0415

        return plain_regression(study, pd.concat(frames.values(), ignore_index=True)).to_dict()
    if scenario == "quantiles":
        from confidata.secure.quantiles import plain_quantiles  # noqa: PLC0415

        return plain_quantiles(study, pd.concat(frames.values(), ignore_index=True)).to_dict()
    if scenario == "record_linkage":
        a, b = (frames[k] for k in sorted(frames))
        return {"links": exact_links(a, b)}
    raise ValueError(f"no plain computation for scenario '{scenario}'")


def _linkage_key(frame: pd.DataFrame) -> pd.Series:
    from confidata.pprl.fields import parse_fields  # noqa: PLC0415
    from confidata.pprl.normalise import normalise_field  # noqa: PLC0415

    parts = []
    for spec in parse_fields("first_name,last_name,dob:date"):
        norm = normalise_field(frame[spec.column], spec, bad_dates="missing")
        values = np.asarray(norm.values + [""], dtype=object)
        parts.append(pd.Series(values[np.where(norm.codes >= 0, norm.codes, len(norm.values))]))
    key = parts[0].str.cat(parts[1:], sep="|")
    complete = np.all([p.to_numpy() != "" for p in parts], axis=0)
    return key.where(complete)


def exact_links(a: pd.DataFrame, b: pd.DataFrame) -> list[list[str]]:
    """Pairs (id_a, id_b) whose normalised first name, last name and birth date agree, keeping only
    keys that are unique in both files (a shared key of two persons links neither)."""
    ka = pd.DataFrame({"id_a": a.iloc[:, 0].astype(str), "key": _linkage_key(a)}).dropna()
    kb = pd.DataFrame({"id_b": b.iloc[:, 0].astype(str), "key": _linkage_key(b)}).dropna()
    ka = ka[~ka.key.duplicated(keep=False)]
    kb = kb[~kb.key.duplicated(keep=False)]
    pairs = ka.merge(kb, on="key")
    return pairs[["id_a", "id_b"]].values.tolist()


_SKIP = {"study", "technique", "notes", "statistic", "members", "member_rows", "formula", "family", "column"}


def _leaves(value, path: str, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in _SKIP:
                _leaves(v, f"{path}.{k}", out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _leaves(v, f"{path}[{i}]", out)
    elif value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        out[path] = value
    elif isinstance(value, bool):
        out[path] = bool(value)


def compare_results(secure: dict, plain: dict, *, dp: bool = False) -> dict:
    """Accuracy of a secure result against the plain one: every number at the same place in both.

    Equal everywhere: kind 'exact', value 0. Otherwise 'error_bound' with the largest relative
    difference (fixed-point solves differ in the last digits), or, for a DP-noised table,
    'dp_error' with the mean absolute error over the opened cells. A value opened on one side and
    withheld on the other counts as a mismatch, never as zero error."""
    a, b = {}, {}
    _leaves(secure, "", a)
    _leaves(plain, "", b)
    shared = [k for k in a if k in b]
    if not shared:
        return {
            "kind": "error_bound",
            "value": 1.0,
            "detail": "no comparable figure in the results (value 1: counted as wholly wrong)",
        }
    withheld = [k for k in shared if (a[k] is None) != (b[k] is None)]
    diffs, errors = [], []
    for k in shared:
        x, y = a[k], b[k]
        if x is None or y is None or isinstance(x, bool):
            if isinstance(x, bool) and x != y:
                withheld.append(k)
            continue
        errors.append(abs(float(x) - float(y)))
        diffs.append(errors[-1] / max(abs(float(y)), 1e-12))
    if dp:
        mae = float(np.mean(errors)) if errors else 0.0
        return {
            "kind": "dp_error",
            "value": mae,
            "detail": f"mean absolute error over {len(errors)} figures against the noise-free plain "
            f"computation; {len(withheld)} figures opened on one side only",
        }
    worst = max(diffs, default=0.0)
    if withheld:
        return {
            "kind": "error_bound",
            "value": 1.0,
            "detail": f"{len(withheld)} of {len(shared)} figures opened or flagged differently from plain "
            "(value 1: counted as wholly wrong)",
        }
    if worst == 0.0:
        return {
            "kind": "exact",
            "value": 0.0,
            "detail": f"all {len(shared)} figures equal to the plain computation",
        }
    return {
        "kind": "error_bound",
        "value": float(worst),
        "detail": f"largest relative difference from the plain computation over {len(shared)} figures",
    }


def linkage_accuracy(links: list, truth: pd.DataFrame) -> dict:
    """F1 of linked pairs against the true pairs."""
    from confidata.pprl.quality import evaluate_links  # noqa: PLC0415

    frame = pd.DataFrame(links, columns=["id_a", "id_b"]) if links else pd.DataFrame(columns=["id_a", "id_b"])
    frame["score"] = 1.0  # every pair given is a link (the scores do not enter precision or recall)
    q = evaluate_links(frame, truth)
    return {
        "kind": "f1",
        "value": float(q.f1),
        "detail": f"precision {q.precision:.4f}, recall {q.recall:.4f} over {len(truth):,} true pairs",
    }
