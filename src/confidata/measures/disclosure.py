"""Disclosure-risk measures on key variables: identity and attribute disclosure, CAP, k-anonymity.

The identity and attribute measures follow the definitions of Raab, Nowok & Dibben (2024),
"Practical privacy metrics for synthetic data" (the ``disclosure()`` function of the R package
synthpop 1.9.3), and the correct attribution probability (CAP) measures those of Taub, Elliot,
Pampaka & Smith (2018) as reported by the same function. They were checked against synthpop's
own output on SD2011 (tests/test_measures_risk.py): every figure it prints is reproduced.

Conventions shared with synthpop, so that figures agree:

* every distinct value of a key or target is a category, numbers included (no grouping);
* a missing value is a level of its own (two missing ages match each other);
* percentages are of the real (original) records, except UiS and Dsyn, which are of the
  synthetic records.

The work is done on integer codes: each column is factorised jointly over both frames, a key
combination becomes one integer, and every count is a ``bincount`` over those integers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from confidata.errors import SchemaError, quote_names
from confidata.measures._result import Direction, MeasureResult
from confidata.measures._shared import column_keys, require, require_rows, row_keys
from confidata.measures.keys import resolve_keys
from confidata.table.schema import Role, Schema

__all__ = [
    "attribute_disclosure",
    "correct_attribution_probability",
    "identity_disclosure",
    "k_anonymity",
]

_RAAB = (
    "Raab, G. M., Nowok, B. & Dibben, C. (2024). Practical privacy metrics for synthetic data. "
    "arXiv:2406.16826; implemented as disclosure() in the R package synthpop 1.9."
)
_TAUB = (
    "Taub, J., Elliot, M., Pampaka, M. & Smith, D. (2018). Differential correct attribution "
    "probability for synthetic data: an exploration. Privacy in Statistical Databases, LNCS "
    "11126, 122-137; as reported by synthpop 1.9's disclosure()."
)
_SDC = (
    "Samarati, P. & Sweeney, L. (1998). Protecting privacy when disclosing information: "
    "k-anonymity and its enforcement. SRI-CSL-98-04; Machanavajjhala, A. et al. (2007). "
    "l-diversity: privacy beyond k-anonymity. ACM TKDD 1(1); as computed by sdcMicro "
    "(Templ, Kowarik & Meindl 2015, J. Stat. Softw. 67(4))."
)


# -- shared helpers ----------------------------------------------------------------------------
def _resolve_keys(schema: Schema, real: pd.DataFrame, keys: Sequence[str] | str | None,
                  exclude: Sequence[str] = ()) -> tuple[list[str], str]:
    """The keys and the sentence naming the rule that chose them (for ``details["keys_rule"]``):
    the caller's, the schema's 'key' role, or the stated default over the real data."""
    if not isinstance(real, pd.DataFrame):
        raise SchemaError("Pass the real data as a pandas DataFrame.")
    return resolve_keys(schema, real, keys, exclude=exclude)


def _resolve_target(schema: Schema, target: str | None, option: str = "target") -> str:
    if target is not None:
        return target
    found = schema.with_role(Role.SENSITIVE)
    if len(found) == 1:
        return found[0]
    if not found:
        raise SchemaError(
            f"No target variable: pass {option}='column' or give one column the role "
            "'sensitive' in the schema."
        )
    raise SchemaError(
        f"The schema marks {quote_names(found)} as sensitive; pass {option}='column' to choose one."
    )


def _pct(count: float, total: int) -> float:
    return 100.0 * float(count) / total if total else float("nan")


def _identity_figures(key_o: np.ndarray, key_s: np.ndarray) -> dict[str, float]:
    size = int(max(key_o.max(initial=-1), key_s.max(initial=-1))) + 1
    count_o = np.bincount(key_o, minlength=size)
    count_s = np.bincount(key_s, minlength=size)
    n_o, n_s = len(key_o), len(key_s)
    unique_o = count_o[key_o] == 1
    in_s = count_s[key_o] > 0
    uio = int(unique_o.sum())
    uis = int((count_s[key_s] == 1).sum())
    uiois = int((unique_o & in_s).sum())
    rep_u = int((unique_o & (count_s[key_o] == 1)).sum())
    syn_uniques_in_o = int(((count_s[key_s] == 1) & (count_o[key_s] > 0)).sum())
    return {
        "UiO": _pct(uio, n_o),
        "UiS": _pct(uis, n_s),
        "UiOiS": _pct(uiois, n_o),
        "repU": _pct(rep_u, n_o),
        "UiO_n": uio,
        "UiS_n": uis,
        "UiOiS_n": uiois,
        "repU_n": rep_u,
        "synthetic_uniques_in_original_n": syn_uniques_in_o,
        "synthetic_uniques_in_original": _pct(syn_uniques_in_o, n_s),
        "n_real": n_o,
        "n_synthetic": n_s,
    }


def _attribute_figures(key_o: np.ndarray, key_s: np.ndarray, t_o: np.ndarray,
                       t_s: np.ndarray) -> dict[str, float]:
    """Every attribute and CAP figure of synthpop's disclosure() for one target.

    Notation: for a real record with key k and target t, d(k) counts real records with key k,
    d(k, t) those that also have target t; s(k) and s(k, t) count the same in the synthetic data.
    """
    n_o, n_s = len(key_o), len(key_s)
    n_keys = int(max(key_o.max(initial=-1), key_s.max(initial=-1))) + 1
    n_t = int(max(t_o.max(initial=-1), t_s.max(initial=-1))) + 1
    cell_o, cell_s = key_o * n_t + t_o, key_s * n_t + t_s
    d_k = np.bincount(key_o, minlength=n_keys)
    s_k = np.bincount(key_s, minlength=n_keys)
    d_kt = np.bincount(cell_o, minlength=n_keys * n_t)
    s_kt = np.bincount(cell_s, minlength=n_keys * n_t)
    # number of distinct target values within each key group
    levels_o = np.bincount(np.unique(cell_o) // n_t, minlength=n_keys)
    levels_s = np.bincount(np.unique(cell_s) // n_t, minlength=n_keys)

    disclosive_o = levels_o[key_o] == 1  # Dorig: key pins the target down in the real data
    in_s = s_k[key_o] > 0  # iS: the record's key appears in the synthetic data
    disclosive_s = levels_s[key_o] == 1  # DiS: ... and pins one target value down there
    correct = disclosive_s & (s_kt[cell_o] > 0)  # DiSCO: ... and that value is the record's own
    both = correct & disclosive_o  # DiSDiO

    cells = np.unique(cell_o[correct])
    denoms = d_kt[cells]
    n_in_s = int(in_s.sum())

    share_o = d_kt[cell_o] / d_k[key_o]
    share_s = np.where(in_s, s_kt[cell_o] / np.maximum(s_k[key_o], 1), 0.0)
    marginal = np.bincount(t_o, minlength=n_t) / n_o
    return {
        "Dorig": _pct(disclosive_o.sum(), n_o),
        "Dsyn": _pct((levels_s[key_s] == 1).sum(), n_s),
        "iS": _pct(n_in_s, n_o),
        "DiS": _pct(disclosive_s.sum(), n_o),
        "DiSCO": _pct(correct.sum(), n_o),
        "DiSDiO": _pct(both.sum(), n_o),
        "DiSCO_n": int(correct.sum()),
        "max_denom": int(denoms.max()) if len(denoms) else 0,
        "mean_denom": float(denoms.mean()) if len(denoms) else float("nan"),
        "baseCAPd": 100.0 * float(np.sum(marginal**2)),
        "CAPd": 100.0 * float(share_o.mean()),
        "CAPs": 100.0 * float((s_kt[cell_s] / s_k[key_s]).mean()),
        "DCAP": 100.0 * float(share_s.mean()),
        "TCAP": _pct(correct.sum(), n_in_s),
    }


def _prepare(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema,
             keys: Sequence[str] | str | None,
             exclude: Sequence[str] = ()) -> tuple[list[str], str, np.ndarray, np.ndarray]:
    keys, rule = _resolve_keys(schema, real, keys, exclude)
    require(real, keys, "real data", "keys")
    require(synthetic, keys, "synthetic data", "keys")
    require_rows(real, "real data")
    require_rows(synthetic, "synthetic data")
    key_o, key_s = row_keys([real, synthetic], keys)
    return keys, rule, key_o, key_s


def _prepare_target(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema,
                    keys: Sequence[str] | str | None, target: str | None):
    target = _resolve_target(schema, target)
    resolved, _ = _resolve_keys(schema, real, keys, (target,))
    require(real, [target], "real data", "target")
    require(synthetic, [target], "synthetic data", "target")
    if target in resolved:
        raise SchemaError(
            f"Column '{target}' is both a key and the target; drop it from keys or choose "
            "another target."
        )
    keys, rule, key_o, key_s = _prepare(real, synthetic, schema, keys, (target,))
    t_o, t_s = column_keys([real, synthetic], target)
    return keys, rule, target, _attribute_figures(key_o, key_s, t_o, t_s)


def _fmt(x: float) -> str:
    return f"{x:.2f}"


# -- measures ----------------------------------------------------------------------------------
def identity_disclosure(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
                        keys: Sequence[str] | str | None = None) -> MeasureResult:
    """Replicated uniques (repU): real records unique on the keys whose key combination is
    also unique in the synthetic data, as a % of real records; reference UiO, the % of real
    records unique on the keys (the most repU could be)."""
    keys, rule, key_o, key_s = _prepare(real, synthetic, schema, keys)
    fig = _identity_figures(key_o, key_s)
    interpretation = (
        f"{_fmt(fig['repU'])}% of the real records (repU) are unique on the keys "
        f"{quote_names(keys, limit=10)} and their key combination is also unique in the "
        f"synthetic data, so an intruder who knows those facts about a person could link them "
        f"to exactly one synthetic record that came from one real person. In the real data "
        f"{_fmt(fig['UiO'])}% of records are unique on the keys (UiO, the reference: a copy of "
        f"the real data would score that); {_fmt(fig['UiOiS'])}% are unique in the real data "
        f"and their combination appears in the synthetic data at all (UiOiS), and "
        f"{_fmt(fig['UiS'])}% of synthetic records are unique there (UiS). Lower is safer; a "
        f"repU well below UiO means most real uniques were not reproduced."
    )
    summary = pd.DataFrame(
        {
            "measure": ["UiO", "UiS", "UiOiS", "repU"],
            "percent": [fig["UiO"], fig["UiS"], fig["UiOiS"], fig["repU"]],
            "count": [fig["UiO_n"], fig["UiS_n"], fig["UiOiS_n"], fig["repU_n"]],
            "of": ["real", "synthetic", "real", "real"],
        }
    )
    return MeasureResult(
        name="identity_disclosure",
        value=fig["repU"],
        reference=fig["UiO"],
        reference_kind="original data",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=interpretation,
        citation=_RAAB,
        details={**fig, "keys": list(keys), "keys_rule": rule},
        tables={"identity": summary},
    )


def attribute_disclosure(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
                         keys: Sequence[str] | str | None = None,
                         target: str | None = None) -> MeasureResult:
    """DiSCO: % of real records whose key combination, looked up in the synthetic data, shows
    one target value only, and that value is the record's own; reference Dorig, the % of
    real records whose key combination shows one target value in the real data."""
    keys, rule, target, fig = _prepare_target(real, synthetic, schema, keys, target)
    interpretation = (
        f"For {_fmt(fig['DiSCO'])}% of the real records (DiSCO), an intruder who knows a "
        f"person's {quote_names(keys, limit=10)} and looks them up in the synthetic data finds "
        f"only one value of '{target}', and it is that person's true value. The reference is "
        f"Dorig = {_fmt(fig['Dorig'])}%: the share for which the real data themselves would "
        f"reveal '{target}' that way. {_fmt(fig['iS'])}% of real key combinations appear in the "
        f"synthetic data (iS) and {_fmt(fig['DiS'])}% point to a single value there (DiS), right "
        f"or wrong; {_fmt(fig['DiSDiO'])}% are disclosed correctly and also disclosive in the real "
        f"data (DiSDiO). The correct disclosures fall in cells of at most "
        f"{fig['max_denom']} real record(s) (mean {_fmt(fig['mean_denom'])}). Lower is safer."
    )
    table = pd.DataFrame(
        {
            "measure": ["Dorig", "Dsyn", "iS", "DiS", "DiSCO", "DiSDiO"],
            "percent": [fig[m] for m in ("Dorig", "Dsyn", "iS", "DiS", "DiSCO", "DiSDiO")],
        }
    )
    return MeasureResult(
        name="attribute_disclosure",
        value=fig["DiSCO"],
        reference=fig["Dorig"],
        reference_kind="original data",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=interpretation,
        citation=_RAAB,
        details={**fig, "keys": list(keys), "keys_rule": rule, "target": target},
        tables={"attribute": table},
    )


def correct_attribution_probability(real: pd.DataFrame, synthetic: pd.DataFrame,
                                    schema: Schema, *,
                                    keys: Sequence[str] | str | None = None,
                                    target: str | None = None) -> MeasureResult:
    """TCAP: among real records whose keys appear in the synthetic data, the % for which the
    synthetic key group holds one target value and it is right; reference baseCAPd, the % an
    intruder would get right guessing from the target's real marginal distribution."""
    keys, rule, target, fig = _prepare_target(real, synthetic, schema, keys, target)
    interpretation = (
        f"Among the real records whose {quote_names(keys, limit=10)} combination appears in the "
        f"synthetic data, {_fmt(fig['TCAP'])}% (TCAP) fall in a synthetic group that shows one "
        f"value of '{target}' and that value is correct. The reference, baseCAPd = "
        f"{_fmt(fig['baseCAPd'])}%, is the chance of guessing '{target}' right by drawing from "
        f"its real distribution without looking at the keys. Averaged over all real records the "
        f"synthetic data give the right value with probability {_fmt(fig['DCAP'])}% (DCAP), "
        f"against {_fmt(fig['CAPd'])}% for the real data themselves (CAPd) and "
        f"{_fmt(fig['CAPs'])}% within the synthetic data (CAPs). Lower is safer; TCAP or DCAP "
        f"far above baseCAPd means the keys help an intruder guess the target."
    )
    table = pd.DataFrame(
        {
            "measure": ["baseCAPd", "CAPd", "CAPs", "DCAP", "TCAP"],
            "percent": [fig[m] for m in ("baseCAPd", "CAPd", "CAPs", "DCAP", "TCAP")],
        }
    )
    return MeasureResult(
        name="correct_attribution_probability",
        value=fig["TCAP"],
        reference=fig["baseCAPd"],
        reference_kind="null expectation",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=interpretation,
        citation=_TAUB,
        details={k: fig[k] for k in ("baseCAPd", "CAPd", "CAPs", "DCAP", "TCAP")}
        | {"keys": list(keys), "keys_rule": rule, "target": target},
        tables={"cap": table},
    )


def k_anonymity(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
                keys: Sequence[str] | str | None = None, sensitive: str | None = None,
                k: int = 3) -> MeasureResult:
    """k-anonymity of the real data on the keys: the smallest equivalence class size.

    Also reports the share of real records in classes smaller than 3 and 5, sdcMicro's
    per-record frequency counts fk (and Fk, summed survey weights, where the schema names a
    weight column), the same figures for the synthetic data, and, when a sensitive column is
    given (``sensitive=`` or the schema's one 'sensitive' column), distinct l-diversity: the
    fewest distinct sensitive values in any equivalence class.
    """
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
        raise SchemaError("The 'k' option of k_anonymity must be a whole number of 1 or more.")
    keys, rule, key_o, key_s = _prepare(real, synthetic, schema, keys)
    n_keys = int(max(key_o.max(initial=-1), key_s.max(initial=-1))) + 1
    fk = np.bincount(key_o, minlength=n_keys)[key_o]
    fk_s = np.bincount(key_s, minlength=n_keys)[key_s]
    min_k = int(fk.min())
    per_record = pd.DataFrame({"row": np.arange(len(real)), "fk": fk})
    details: dict[str, object] = {
        "keys": list(keys),
        "keys_rule": rule,
        "k": min_k,
        "k_synthetic": int(fk_s.min()),
        "below_k3_percent": _pct((fk < 3).sum(), len(fk)),
        "below_k5_percent": _pct((fk < 5).sum(), len(fk)),
        "below_k3_n": int((fk < 3).sum()),
        "below_k5_n": int((fk < 5).sum()),
        "below_k2_n": int((fk < 2).sum()),
        "below_k3_percent_synthetic": _pct((fk_s < 3).sum(), len(fk_s)),
        "below_k5_percent_synthetic": _pct((fk_s < 5).sum(), len(fk_s)),
        "equivalence_classes": int(len(np.unique(key_o))),
    }
    weights = [w for w in schema.with_role(Role.WEIGHT) if w in real.columns]
    if weights:
        w = pd.to_numeric(real[weights[0]], errors="coerce").fillna(0).to_numpy(dtype=float)
        per_record["Fk"] = np.bincount(key_o, weights=w, minlength=n_keys)[key_o]
        details["weight"] = weights[0]
    if sensitive is None and len(schema.with_role(Role.SENSITIVE)) == 1:
        sensitive = schema.with_role(Role.SENSITIVE)[0]
    if sensitive is not None:
        require(real, [sensitive], "real data", "sensitive column")
        (t_o,) = column_keys([real], sensitive)
        n_t = int(t_o.max(initial=0)) + 1
        levels = np.bincount(np.unique(key_o * n_t + t_o) // n_t, minlength=n_keys)
        per_record["l"] = levels[key_o]
        details["sensitive"] = sensitive
        details["l_diversity"] = int(levels[key_o].min())
    below = details["below_k3_percent"] if k == 3 else _pct((fk < k).sum(), len(fk))
    details[f"below_k{k}_percent"] = below
    interpretation = (
        f"In the real data the smallest group of records sharing one combination of "
        f"{quote_names(keys, limit=10)} has {min_k} record(s): the real data are "
        f"{min_k}-anonymous, against the usual threshold of k = {k} (the reference). "
        f"{_fmt(below)}% of real records sit in groups smaller than {k} and "
        f"{_fmt(details['below_k5_percent'])}% in groups smaller than 5; such records are the "
        f"ones an intruder could single out. The synthetic data's smallest group has "
        f"{details['k_synthetic']} record(s). Higher is safer."
    )
    if "l_diversity" in details:
        interpretation += (
            f" Every group shows at least {details['l_diversity']} distinct value(s) of "
            f"'{sensitive}' (l-diversity); l = 1 means some group reveals it outright."
        )
    return MeasureResult(
        name="k_anonymity",
        value=float(min_k),
        reference=float(k),
        reference_kind="threshold",
        direction=Direction.HIGHER_IS_BETTER,
        interpretation=interpretation,
        citation=_SDC,
        details=details,
        tables={"equivalence_classes": per_record},
    )
