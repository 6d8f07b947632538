"""Measures that use the survey (design) weight: weighted estimates with their confidence
intervals, real against synthetic, and the individual re-identification risk of sdcMicro.

`weighted_estimates` answers the question a survey user asks first: do the published
estimates (population totals, means and shares, overall and by domain) come out the same from
the synthetic file, within sampling error? `individual_risk` is the Benedetti-Franconi
individual risk that sdcMicro reports for a file with sampling weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numba import njit

from confidata.errors import SchemaError, quote_names
from confidata.measures._encode import numeric_values
from confidata.measures._result import Direction, MeasureResult
from confidata.measures._shared import require, require_rows, row_keys
from confidata.measures.keys import DEFAULT_MAX_LEVELS, resolve_keys
from confidata.table.schema import Kind, Role, Schema

__all__ = ["individual_risk", "risk_from_counts", "weighted_estimates"]

_KARR = (
    "Karr, A. F., Kohnen, C. N., Oganian, A., Reiter, J. P. & Sanil, A. P. (2006). A framework "
    "for evaluating the utility of data altered to protect confidentiality. The American "
    "Statistician 60(3), 224-232; variances: Hansen, M. H. & Hurwitz, W. N. (1943), Ann. Math. "
    "Statist. 14, 333-362, and Woodruff, R. S. (1971), JASA 66, 411-414 (linearisation)."
)
_BF = (
    "Benedetti, R. & Franconi, L. (1998). Statistical and technological solutions for controlled "
    "data dissemination. Pre-proceedings of New Techniques and Technologies for Statistics, "
    "225-232; Franconi, L. & Polettini, S. (2004). Individual risk estimation in mu-Argus: a "
    "review. PSD 2004, LNCS 3050, 262-272; as in sdcMicro's measure_risk (Templ, Kowarik & "
    "Meindl 2015, J. Stat. Softw. 67(4))."
)
_Z = 1.959963984540054  # 97.5% normal quantile


# -- weights -----------------------------------------------------------------------------------
def _resolve_weight(schema: Schema, frame: pd.DataFrame, weight: str | None, measure: str) -> str:
    if weight is None:
        found = [w for w in schema.with_role(Role.WEIGHT) if w in frame.columns]
        if not found:
            raise SchemaError(
                f"{measure}: no survey weight: pass weight='column' or give the weight column "
                "the role 'weight' in the schema."
            )
        if len(found) > 1:
            raise SchemaError(
                f"{measure}: the schema marks {quote_names(found)} as weights; pass "
                "weight='column' to choose the one that fits the estimates (e.g. the person "
                "weight for person-level figures)."
            )
        weight = found[0]
    require(frame, [weight], "real data", "weight")
    return weight


def _weights(frame: pd.DataFrame, weight: str, what: str, measure: str) -> np.ndarray:
    w = numeric_values(frame[weight])
    if np.isnan(w).any():
        raise SchemaError(
            f"{measure}: the weight column '{weight}' of the {what} has missing or non-numeric "
            "values; fill them or drop those rows."
        )
    if (w < 0).any() or not np.isfinite(w).all():
        raise SchemaError(
            f"{measure}: the weight column '{weight}' of the {what} has negative or infinite "
            "values; a survey weight counts people and must be 0 or more."
        )
    if w.sum() <= 0:
        raise SchemaError(f"{measure}: the weights in '{weight}' of the {what} sum to 0.")
    return w


# -- weighted estimates ------------------------------------------------------------------------
def _domain_codes(real: pd.Series, syn: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Codes over the levels seen in either frame; missing becomes a level of its own."""
    text = pd.concat([real.astype("string"), syn.astype("string")], ignore_index=True)
    text = text.fillna("<missing>")
    codes, levels = pd.factorize(text, sort=True)
    return codes[: len(real)], codes[len(real):], [str(v) for v in levels]


def _ratio_and_total(w: np.ndarray, y: np.ndarray, dom: np.ndarray, n_dom: int,
                     inside: np.ndarray) -> dict[str, np.ndarray]:
    """Weighted totals and ratio means of y per domain, with-replacement standard errors.

    ``inside`` marks records that count (y not missing). For a total T = sum w y over the
    domain, the Hansen-Hurwitz with-replacement variance is n/(n-1) * sum (z_i - zbar)^2 with
    z_i = w_i y_i 1{i in d}; for a mean R = T_y / N_d the same formula is applied to the
    linearised values u_i = w_i 1{i in d} (y_i - R) / N_d.
    """
    n = len(w)
    def fixed(array: np.ndarray, dtype: type) -> np.ndarray:
        # writable and contiguous, so numba compiles (and caches) one version of the kernel
        # whether or not pandas handed over a read-only view
        return np.require(array, dtype=dtype, requirements=["C", "W"])

    total, size, count, s1, mean, s2, sum_u = _domain_sums(
        fixed(w, np.float64), fixed(y, np.float64), fixed(inside, np.bool_), fixed(dom, np.int64),
        int(n_dom))
    factor = n / (n - 1) if n > 1 else np.nan
    # sum over all records of (z_i - zbar)^2 where z_i is zero outside the domain
    var_total = factor * (s1 - total**2 / n)
    var_mean = factor * (s2 - sum_u**2 / n)
    return {
        "total": total, "se_total": np.sqrt(np.clip(var_total, 0, None)),
        "mean": mean, "se_mean": np.sqrt(np.clip(var_mean, 0, None)),
        "count": count,
    }


@njit(cache=True)
def _domain_sums(w, y, inside, dom, n_dom):  # pragma: no cover - compiled
    """Two passes over the records: per-domain totals, then the residual sums for the mean's
    linearised variance (numpy would make a dozen full-length temporaries per call)."""
    total = np.zeros(n_dom)
    size = np.zeros(n_dom)
    count = np.zeros(n_dom)
    s1 = np.zeros(n_dom)
    for i in range(len(w)):
        if inside[i]:
            d = dom[i]
            wy = w[i] * y[i]
            total[d] += wy
            size[d] += w[i]
            count[d] += 1.0
            s1[d] += wy * wy
    mean = np.full(n_dom, np.nan)
    for d in range(n_dom):
        if size[d] != 0.0:
            mean[d] = total[d] / size[d]
    s2 = np.zeros(n_dom)
    sum_u = np.zeros(n_dom)
    for i in range(len(w)):
        if inside[i]:
            d = dom[i]
            resid = (y[i] - mean[d]) * w[i]
            s2[d] += resid * resid
            sum_u[d] += resid
    for d in range(n_dom):
        s2[d] = s2[d] / (size[d] * size[d]) if size[d] != 0.0 else np.nan
        sum_u[d] = sum_u[d] / size[d] if size[d] != 0.0 else np.nan
    return total, size, count, s1, mean, s2, sum_u


def _overlap(lo_r, hi_r, lo_s, hi_s, est_r, est_s) -> np.ndarray:
    """Karr et al.'s interval overlap, 1 for identical intervals, negative when apart.

    A zero-width interval counts as covered (1) when its point lies in the other interval and
    as not covered (0) otherwise.
    """
    common = np.minimum(hi_r, hi_s) - np.maximum(lo_r, lo_s)
    w_r, w_s = hi_r - lo_r, hi_s - lo_s
    with np.errstate(invalid="ignore", divide="ignore"):
        part_r = np.where(w_r > 0, common / w_r, ((est_r >= lo_s) & (est_r <= hi_s)).astype(float))
        part_s = np.where(w_s > 0, common / w_s, ((est_s >= lo_r) & (est_s <= hi_r)).astype(float))
    return 0.5 * (part_r + part_s)


def _variables(schema: Schema, real: pd.DataFrame, exclude: set[str]) -> list[str]:
    chosen = []
    for column in schema:
        name = column.name
        if name in exclude or name not in real.columns:
            continue
        if column.kind in (Kind.IDENTIFIER, Kind.TEXT) or column.has_role(Role.DIRECT_IDENTIFIER):
            continue
        if column.has_role(Role.WEIGHT):
            continue
        if column.kind.is_numeric:
            chosen.append(name)
        elif column.kind.is_categorical and real[name].nunique() <= DEFAULT_MAX_LEVELS:
            chosen.append(name)
    return chosen


def weighted_estimates(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
                       weight: str | None = None, domains: Sequence[str] | None = None,
                       variables: Sequence[str] | None = None) -> MeasureResult:
    """Weighted population estimates from the real and the synthetic file, and how far their
    95% confidence intervals overlap (Karr et al. 2006).

    For every domain (the whole population, then each level of each domain column; by default
    the categorical key columns) the measure estimates: the population size (sum of weights);
    for each numeric variable its weighted total and weighted mean; for each categorical
    variable (at most 50 levels) the weighted share of every level. Records with a missing
    numeric value are left out of that variable's estimates; a missing category is a level.

    Standard errors of the real estimates treat the file as a single-stage sample drawn with
    replacement with probabilities proportional to 1/weight (Hansen-Hurwitz), without strata
    or clusters: var(T) = n/(n-1) sum_i (z_i - mean z)^2 with z_i = w_i y_i in the domain, and
    for means and shares the same formula on the linearised values (Woodruff). This is the
    usual conservative approximation when the design (strata, PSUs, replicate weights) is not
    released. The synthetic file gets the same treatment with its own weights where it holds the
    weight column; otherwise every synthetic row weighs the real total over the synthetic row
    count (equal weights scaled to the real population). ``details['synthetic_weighting']``
    says which.

    value: the mean over all estimates of the CI overlap clipped to [0, 1]; reference 1.0 (the
    real data against themselves). The table ``estimates`` holds every estimate with both
    values and intervals, ready for a forest plot.
    """
    measure = "weighted_estimates"
    if not isinstance(real, pd.DataFrame) or not isinstance(synthetic, pd.DataFrame):
        raise SchemaError(f"{measure}: pass the real and the synthetic data as pandas DataFrames.")
    require_rows(real, "real data")
    require_rows(synthetic, "synthetic data")
    weight = _resolve_weight(schema, real, weight, measure)
    w_r = _weights(real, weight, "real data", measure)
    if weight in synthetic.columns:
        w_s = _weights(synthetic, weight, "synthetic data", measure)
        weighting = f"the synthetic data's own weight column '{weight}'"
    else:
        w_s = np.full(len(synthetic), w_r.sum() / len(synthetic))
        weighting = (f"equal weights (the synthetic data has no column '{weight}'): every row "
                     "stands for the real weighted total divided by the synthetic row count")
    if domains is None:
        keys = schema.with_role(Role.KEY)
        domains = [k for k in keys if k in schema and schema[k].kind.is_categorical]
        domain_rule = ("the schema's categorical key columns" if domains
                       else "none (the schema marks no categorical key)")
    else:
        domains = [domains] if isinstance(domains, str) else list(dict.fromkeys(domains))
        domain_rule = "given by the caller (domains=...)"
    if variables is None:
        variables = _variables(schema, real, {weight, *domains})
    else:
        variables = [variables] if isinstance(variables, str) else list(dict.fromkeys(variables))
        unknown = [v for v in variables if v not in schema]
        if unknown:
            raise SchemaError(f"{measure}: variable(s) {quote_names(unknown)} are not in the "
                              "schema; use names from the schema.")
    for label, frame in (("real data", real), ("synthetic data", synthetic)):
        require(frame, list(domains), label, "domains")
        require(frame, list(variables), label, "variables")
    if not variables and not domains:
        raise SchemaError(f"{measure}: nothing to estimate; pass variables=[...] or domains=[...].")

    rows: list[pd.DataFrame] = []
    domain_sets: list[tuple[str, np.ndarray, np.ndarray, list[str]]] = [
        ("(all)", np.zeros(len(real), np.int64), np.zeros(len(synthetic), np.int64), ["(all)"])
    ]
    for d in domains:
        domain_sets.append((d, *_domain_codes(real[d], synthetic[d])))

    def add(dname, levels, variable, category, statistic, est_r, se_r, est_s, se_s, n_r, n_s):
        rows.append(pd.DataFrame({
            "domain": dname, "domain_level": levels, "variable": variable, "category": category,
            "statistic": statistic, "real": est_r, "real_se": se_r, "synthetic": est_s,
            "synthetic_se": se_s, "n_real": n_r, "n_synthetic": n_s,
        }))

    for dname, dom_r, dom_s, levels in domain_sets:
        nd = len(levels)
        ones_r, ones_s = np.ones(len(real)), np.ones(len(synthetic))
        a = _ratio_and_total(w_r, ones_r, dom_r, nd, np.ones(len(real), bool))
        b = _ratio_and_total(w_s, ones_s, dom_s, nd, np.ones(len(synthetic), bool))
        add(dname, levels, "(population)", "", "total", a["total"], a["se_total"], b["total"],
            b["se_total"], a["count"], b["count"])
        for v in variables:
            kind = schema[v].kind
            if kind.is_numeric:
                y_r, y_s = numeric_values(real[v]), numeric_values(synthetic[v])
                a = _ratio_and_total(w_r, y_r, dom_r, nd, ~np.isnan(y_r))
                b = _ratio_and_total(w_s, y_s, dom_s, nd, ~np.isnan(y_s))
                for stat in ("total", "mean"):
                    add(dname, levels, v, "", stat, a[stat], a[f"se_{stat}"], b[stat],
                        b[f"se_{stat}"], a["count"], b["count"])
            else:
                c_r, c_s, cats = _domain_codes(real[v], synthetic[v])
                in_r, in_s = np.ones(len(real), bool), np.ones(len(synthetic), bool)
                for j, cat in enumerate(cats):
                    a = _ratio_and_total(w_r, (c_r == j).astype(float), dom_r, nd, in_r)
                    b = _ratio_and_total(w_s, (c_s == j).astype(float), dom_s, nd, in_s)
                    add(dname, levels, v, cat, "share", a["mean"], a["se_mean"], b["mean"],
                        b["se_mean"], a["count"], b["count"])
    table = pd.concat(rows, ignore_index=True)
    # estimates the real data cannot make (empty domain) are left out
    table = table[np.isfinite(table["real"].to_numpy(dtype=float))].reset_index(drop=True)
    for side in ("real", "synthetic"):
        table[f"{side}_lower"] = table[side] - _Z * table[f"{side}_se"]
        table[f"{side}_upper"] = table[side] + _Z * table[f"{side}_se"]
    signed = _overlap(*(table[c].to_numpy(dtype=float) for c in (
        "real_lower", "real_upper", "synthetic_lower", "synthetic_upper", "real", "synthetic")))
    signed = np.where(np.isfinite(table["synthetic"].to_numpy(dtype=float)), signed, 0.0)
    table["signed_overlap"] = signed
    table["ci_overlap"] = np.clip(signed, 0.0, 1.0)
    value = float(table["ci_overlap"].mean())
    worst = table.loc[table["ci_overlap"].idxmin()]
    by_domain = table.groupby("domain", sort=False)["ci_overlap"].mean().to_dict()
    where = "overall" if worst["domain"] == "(all)" else f"{worst['domain']} = {worst['domain_level']}"
    what = worst["variable"] + (f" = {worst['category']}" if worst["category"] else "")
    interpretation = (
        f"Survey estimates weighted by '{weight}' ({len(table)} of them: population sizes, "
        f"totals, means and shares, overall and by {quote_names(domains, limit=10) or 'no domain'}) "
        f"have 95% confidence intervals from the synthetic data that overlap the real ones by "
        f"{value:.1%} on average (CI overlap of Karr et al.; the reference, the real data "
        f"against themselves, is 100%; 0% means the intervals do not meet). The least overlap "
        f"is {worst['ci_overlap']:.1%}, for the {worst['statistic']} of {what} ({where}). "
        f"Synthetic estimates use {weighting}. Higher is better."
    )
    return MeasureResult(
        name=measure,
        value=value,
        reference=1.0,
        reference_kind="original data",
        direction=Direction.HIGHER_IS_BETTER,
        interpretation=interpretation,
        citation=_KARR,
        n=len(real),
        details={
            "weight": weight,
            "synthetic_weighting": weighting,
            "synthetic_has_weight": weight in synthetic.columns,
            "domains": list(domains),
            "domains_rule": domain_rule,
            "variables": list(variables),
            "estimates": len(table),
            "variance_method": "with-replacement (Hansen-Hurwitz) with linearisation for "
                               "means and shares; no strata or clusters",
            "overlap_by_domain": {str(k): float(v) for k, v in by_domain.items()},
        },
        tables={"estimates": table},
    )


# -- individual risk ---------------------------------------------------------------------------
def risk_from_counts(fk: np.ndarray, Fk: np.ndarray) -> np.ndarray:
    """Benedetti-Franconi individual risk per record: E[1/F_k | f_k] under the negative-binomial
    model F_k - f_k ~ NegBin(f_k, p_k) with p_k = f_k / F_k (the estimate sdcMicro uses).

    r = p^f * integral_0^1 t^(f-1) (1 - q t)^(-f) dt = (p / f) * 2F1(1, 1; f + 1; q), q = 1 - p
    (Euler's transformation; exact). For f = 1, 2, 3 (with q > 1/2) the closed forms of
    Benedetti & Franconi (1998), also in the mu-Argus manual, are used:
    f=1: (p/q) log(1/p); f=2: p/q^2 (p log p + q); f=3: p/(2 q^3) (q(3q - 2) - 2 p^2 log p);
    otherwise the hypergeometric series, summed to 4,000 terms. (sdcMicro's own code instead
    uses p/(f - q) for f > 2 and shifts p by 1e-4, so its figures differ slightly.)
    Where F_k <= f_k (weights below 1) p is set to 1, the risk to 1/f_k; F_k large gives about
    p/f = 1/F_k.
    """
    f = np.asarray(fk, dtype=float)
    p = np.clip(f / np.asarray(Fk, dtype=float), 0.0, 1.0)
    q = 1.0 - p
    risk = np.empty_like(p)
    closed = (f <= 3) & (q > 0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_p = np.log(p)
        r1 = p / q * -log_p
        r2 = p / q**2 * (p * log_p + q)
        r3 = p / (2 * q**3) * (q * (3 * q - 2) - 2 * p**2 * log_p)
    risk[closed] = np.select([f == 1, f == 2], [r1, r2], r3)[closed]
    # elsewhere the series (p/f) sum_j j! q^j / ((f+1)...(f+j)): geometric for q <= 1/2,
    # and for f >= 4 its terms fall like j^-f, so 4,000 terms leave an error below 1e-9
    fs, qs = f[~closed], q[~closed]
    term, total = np.ones_like(fs), np.ones_like(fs)
    for j in range(1, 4001):
        term = term * (j * qs / (fs + j))
        total += term
    risk[~closed] = (p[~closed] / fs) * total
    return np.where(p > 0, risk, 0.0)


def individual_risk(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
                    keys: Sequence[str] | str | None = None,
                    weight: str | None = None) -> MeasureResult:
    """Individual re-identification risk of the real file's records on the keys (sdcMicro's
    indivRisk / measure_risk): per record, the probability that an intruder who matches it
    on the keys to the population picks the right person, E[1/F_k | f_k] under the
    Benedetti-Franconi negative-binomial model (see `risk_from_counts`).

    f_k counts the real records with the record's key combination, F_k sums their weights (the
    population size of the class). Without a weight the population is taken to be the file
    itself and the risk is 1/f_k. value: the expected number of re-identifications (the sum of
    the risks); reference: the number of sample uniques (f_k = 1). The synthetic data only
    serve to report which risky records have their key combination reproduced there.
    """
    measure = "individual_risk"
    keys, rule = resolve_keys(schema, real, keys)
    require(real, keys, "real data", "keys")
    require_rows(real, "real data")
    if weight is None and not [w for w in schema.with_role(Role.WEIGHT) if w in real.columns]:
        w, weight_used = np.ones(len(real)), None
    else:
        weight_used = _resolve_weight(schema, real, weight, measure)
        w = _weights(real, weight_used, "real data", measure)
    present = [k for k in keys if k in synthetic.columns]
    if len(present) == len(keys) and len(synthetic):
        key_o, key_s = row_keys([real, synthetic], keys)
    else:
        (key_o,) = row_keys([real], keys)
        key_s = np.array([], dtype=np.int64)
    n_keys = int(max(key_o.max(initial=-1), key_s.max(initial=-1))) + 1
    f_cell = np.bincount(key_o, minlength=n_keys)
    F_cell = np.bincount(key_o, weights=w, minlength=n_keys)
    fk, Fk = f_cell[key_o], F_cell[key_o]
    # one risk per key cell (records of a cell share it), then spread to the records
    used = f_cell > 0
    cell_risk = np.zeros(n_keys)
    cell_risk[used] = risk_from_counts(f_cell[used], F_cell[used]) if weight_used else 1.0 / f_cell[used]
    risk = cell_risk[key_o]
    in_syn = np.bincount(key_s, minlength=n_keys)[key_o] > 0
    expected = float(risk.sum())
    uniques = int((fk == 1).sum())
    table = pd.DataFrame({"row": np.arange(len(real)), "fk": fk, "Fk": Fk, "risk": risk,
                          "key_in_synthetic": in_syn})
    high = float(np.quantile(risk, 0.99))
    details = {
        "keys": list(keys),
        "keys_rule": rule,
        "weight": weight_used,
        "expected_reidentifications": expected,
        "reidentification_rate_percent": 100.0 * expected / len(real),
        "sample_uniques": uniques,
        "max_risk": float(risk.max()),
        "risk_99th_percentile": high,
        "records_above_0.1": int((risk > 0.1).sum()),
        "expected_reidentifications_key_in_synthetic": float(risk[in_syn].sum()),
        "formula": "E[1/F | f] = (p/f) 2F1(1,1;f+1;1-p), p = f/F (Benedetti-Franconi)"
        if weight_used else "1/f (no weight: the file is taken as the population)",
    }
    interpretation = (
        f"Matching the real records to the population on {quote_names(keys, limit=10)}, an "
        f"intruder would be expected to re-identify {expected:.2f} of {len(real)} people "
        f"({details['reidentification_rate_percent']:.2f}%), summing each record's individual "
        f"risk (Benedetti-Franconi model, weights '{weight_used}'). The reference is "
        f"{uniques}, the number of records unique on the keys in the file; the expected count "
        f"is lower because a sample unique usually stands for several people in the population. "
        f"The highest individual risk is {details['max_risk']:.3f}; {details['records_above_0.1']} "
        f"record(s) exceed 0.1. {rule} Lower is safer."
    )
    return MeasureResult(
        name=measure,
        value=expected,
        reference=float(uniques),
        reference_kind="original data",
        direction=Direction.LOWER_IS_BETTER,
        interpretation=interpretation,
        citation=_BF,
        n=len(real),
        details=details,
        tables={"individual_risk": table},
    )
