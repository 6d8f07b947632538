"""The [regression] and [quantiles] sections of a study file: what is fitted or ranked, on which
public domain.

Kept apart from `study` (which reads the whole file) because these sections have their own
small grammar, and free of imports from the rest of `secure` so that `study` can call it.

Regression::

    [regression]
    formula = "wage ~ education + experience + ethnicity + region"
    family = "ols"                  # ols | ridge | logistic
    lambda = 0.0                    # ridge only: penalty on every coefficient but the intercept
    bounds = { wage = [50, 20000], education = [0, 18], experience = [-4, 63] }
    levels = { ethnicity = ["cauc", "afam"], region = ["northeast", "midwest", "south", "west"] }
    holders = { nso = ["wage", "education"], tax = ["experience", "ethnicity", "region"] }

``holders`` (optional) makes the model vertical: two data holders hold the columns named, for
the same units, joined on the study's [identifier] with a helper party
(`confidata.secure.vertical_regression`); without it every party holds whole rows.

Every numeric term and the outcome need public bounds (the parties rescale them to [-1, 1]
before anything is shared, which keeps the fixed-point solve well scaled); every categorical
term needs all its levels, public, the first being the reference (treatment coding, as R and
statsmodels do). A logistic outcome is numeric 0/1 (bounds [0, 1]) or a categorical column
with two levels, the second coded 1.

Quantiles::

    [quantiles]
    probabilities = [0.25, 0.5, 0.75]   # or "median", "quartiles", "deciles"
    step = 0.01                          # the values lie on min + k * step (public resolution)

with the value column and its bounds in [value] and optional groups in ``by`` and [levels].
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from confidata.errors import SchemaError

__all__ = ["FAMILIES", "MAX_GRID", "NAMED_PROBABILITIES", "parse_quantiles", "parse_regression", "spec_toml"]

FAMILIES = ("ols", "ridge", "logistic")
NAMED_PROBABILITIES = {
    "median": ["1/2"],
    "quartiles": ["1/4", "1/2", "3/4"],
    "deciles": [f"{k}/10" for k in range(1, 10)],
}
MAX_GRID = 2**22  # largest number of grid points a quantile study may declare
MAX_TERMS = 60  # columns of the design matrix (intercept and dummies included)
_TERM = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _bad(where: str, message: str) -> SchemaError:
    return SchemaError(f"{where}: {message}")


def parse_regression(section: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validate a [regression] section into plain data (kept in `Study.spec`)."""
    w = f"{where} [regression]"
    unknown = sorted(set(section) - {"formula", "family", "lambda", "bounds", "levels", "holders"})
    if unknown:
        raise _bad(
            w,
            f"unknown key(s) {', '.join(unknown)}; the keys are formula, family, lambda, bounds, levels, "
            "holders.",
        )
    formula = section.get("formula")
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise _bad(w, "key 'formula' must be a string like \"wage ~ age + sex + region\" (one '~').")
    left, right = (part.strip() for part in formula.split("~"))
    terms = [t.strip() for t in right.split("+")]
    if not _TERM.match(left) or not terms or not all(_TERM.match(t) for t in terms):
        raise _bad(
            w,
            "the formula must name one outcome column and predictor columns joined by '+'; "
            "interactions and transforms are not supported (add them as columns first).",
        )
    if len(set(terms)) != len(terms) or left in terms:
        raise _bad(w, "the formula names a column twice; name each column once.")
    family = section.get("family", "ols")
    if family not in FAMILIES:
        raise _bad(w, f"key 'family' must be one of {', '.join(FAMILIES)}.")
    lam = section.get("lambda", 0.0)
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam < 0:
        raise _bad(w, "key 'lambda' must be a number >= 0.")
    if family != "ridge" and lam:
        raise _bad(w, "key 'lambda' applies to family = \"ridge\" only; remove it or change the family.")
    if family == "ridge" and not lam:
        raise _bad(w, "family = \"ridge\" needs a positive 'lambda'.")
    bounds_in = section.get("bounds", {})
    levels_in = section.get("levels", {})
    if not isinstance(bounds_in, Mapping) or not isinstance(levels_in, Mapping):
        raise _bad(w, "keys 'bounds' and 'levels' must be tables, e.g. bounds = { age = [0, 120] }.")
    bounds: dict[str, list[float]] = {}
    levels: dict[str, list[str]] = {}
    for col in [left, *terms]:
        if col in bounds_in and col in levels_in:
            raise _bad(w, f"column '{col}' has both bounds and levels; give one (numeric or categorical).")
        if col in levels_in:
            lv = levels_in[col]
            if not isinstance(lv, list) or len(lv) < 2 or len({str(v) for v in lv}) != len(lv):
                raise _bad(w, f"levels of '{col}' must list two or more distinct levels.")
            levels[col] = [str(v) for v in lv]
        elif col in bounds_in:
            b = bounds_in[col]
            if (
                not isinstance(b, list)
                or len(b) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in b)
                or not all(math.isfinite(v) for v in b)
                or not b[0] < b[1]
                or max(abs(b[0]), abs(b[1])) >= 2.0**40
            ):
                raise _bad(w, f"bounds of '{col}' must be [min, max], finite, min < max, below 2**40.")
            bounds[col] = [float(b[0]), float(b[1])]
        else:
            raise _bad(
                w,
                f"column '{col}' needs public bounds (numeric: bounds = {{ {col} = [min, max] }}) or "
                f'its levels (categorical: levels = {{ {col} = ["a", "b"] }}).',
            )
    extra = sorted((set(bounds_in) | set(levels_in)) - {left, *terms})
    if extra:
        raise _bad(w, f"bounds or levels given for {', '.join(extra)}, which the formula does not use.")
    if family == "logistic":
        if left in levels and len(levels[left]) != 2:
            raise _bad(w, f"a logistic outcome needs exactly two levels; '{left}' lists another number.")
        if left in bounds and bounds[left] != [0.0, 1.0]:
            raise _bad(w, f"a numeric logistic outcome is 0/1: set bounds = {{ {left} = [0, 1] }}.")
    elif left in levels:
        raise _bad(w, f"the outcome '{left}' of a linear model must be numeric; give it bounds, not levels.")
    width = 1 + sum(len(levels[t]) - 1 if t in levels else 1 for t in terms)
    if width > MAX_TERMS:
        raise _bad(
            w, f"the design has {width} columns (dummies included), more than {MAX_TERMS}; drop terms."
        )
    holders = _holders(section, w, [left, *terms], family)
    return {
        **({"holders": holders} if holders else {}),
        "kind": "regression",
        "formula": f"{left} ~ {' + '.join(terms)}",
        "outcome": left,
        "terms": terms,
        "family": family,
        "lambda": float(lam),
        "bounds": bounds,
        "levels": levels,
    }


def _holders(section: Mapping[str, Any], w: str, columns: list[str], family: str) -> dict[str, list[str]]:
    """The optional 'holders' key: which of two holders holds each column (vertical partition)."""
    if "holders" not in section:
        return {}
    given = section["holders"]
    fix = 'e.g. holders = { nso = ["wage", "educ"], tax = ["exper", "female"] }, every column once.'
    if (
        not isinstance(given, Mapping)
        or len(given) != 2
        or not all(isinstance(v, list) and v and all(isinstance(c, str) for c in v) for v in given.values())
    ):
        raise _bad(w, f"key 'holders' must give each of the 2 data holders the columns it holds, {fix}")
    named = [c for cols in given.values() for c in cols]
    unknown = sorted(set(named) - set(columns))
    twice = sorted({c for c in named if named.count(c) > 1})
    missing = [c for c in columns if c not in named]
    if unknown or twice or missing:
        what = "; ".join(
            part
            for part in (
                f"not in the formula: {', '.join(unknown)}" if unknown else "",
                f"given to both holders: {', '.join(twice)}" if twice else "",
                f"held by no holder: {', '.join(missing)}" if missing else "",
            )
            if part
        )
        raise _bad(w, f"key 'holders' must name every formula column once ({what}); {fix}")
    return {str(h): list(cols) for h, cols in given.items()}


def parse_quantiles(
    section: Mapping[str, Any], where: str, vmin: float, vmax: float, has_value: bool
) -> dict[str, Any]:
    """Validate a [quantiles] section into plain data (kept in `Study.spec`)."""
    w = f"{where} [quantiles]"
    unknown = sorted(set(section) - {"probabilities", "step"})
    if unknown:
        raise _bad(w, f"unknown key(s) {', '.join(unknown)}; the keys are probabilities and step.")
    if not has_value:
        raise _bad(where, "statistic 'quantiles' needs a [value] section with column, min and max.")
    probs = section.get("probabilities", "quartiles")
    if isinstance(probs, str):
        if probs not in NAMED_PROBABILITIES:
            raise _bad(w, f"key 'probabilities' must be a list or one of {', '.join(NAMED_PROBABILITIES)}.")
        fractions = [Fraction(p) for p in NAMED_PROBABILITIES[probs]]
    elif isinstance(probs, list) and probs:
        fractions = []
        for p in probs:
            if isinstance(p, bool) or not isinstance(p, (int, float, str)):
                raise _bad(w, "key 'probabilities' must list numbers in (0, 1), e.g. [0.25, 0.5].")
            try:
                q = Fraction(p).limit_denominator(10**6) if not isinstance(p, str) else Fraction(p)
            except (ValueError, ZeroDivisionError):
                raise _bad(w, "key 'probabilities' must list numbers in (0, 1), e.g. [0.25, 0.5].") from None
            fractions.append(q)
    else:
        raise _bad(w, "key 'probabilities' must be a non-empty list or a name such as \"quartiles\".")
    if not all(0 < q < 1 for q in fractions) or len(set(fractions)) != len(fractions):
        raise _bad(w, "probabilities must be distinct and strictly between 0 and 1.")
    step = section.get("step", 1)
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not math.isfinite(step) or step <= 0:
        raise _bad(w, "key 'step' must be a positive number (the resolution of the values, e.g. 1 or 0.01).")
    points = round((vmax - vmin) / step) + 1
    if abs((vmax - vmin) / step + 1 - points) > 1e-6:
        raise _bad(w, "the [value] range max - min must be a whole number of steps; adjust min, max or step.")
    if points > MAX_GRID:
        raise _bad(
            w,
            f"the value range holds {points:,} steps, more than {MAX_GRID:,}; use a coarser step or "
            "narrower public bounds.",
        )
    return {
        "kind": "quantiles",
        "probabilities": [f"{q.numerator}/{q.denominator}" for q in sorted(fractions)],
        "step": float(step),
        "points": int(points),
    }


def spec_toml(spec: Mapping[str, Any]) -> list[str]:
    """The section back as TOML lines (the demo writes studies with `study.study_toml`)."""
    import json  # noqa: PLC0415 - only when writing

    if not spec:
        return []
    if spec["kind"] == "quantiles":
        probs = ", ".join(json.dumps(p) for p in spec["probabilities"])
        return ["", "[quantiles]", f"probabilities = [{probs}]", f"step = {spec['step']!r}"]
    lines = [
        "",
        "[regression]",
        f"formula = {json.dumps(spec['formula'])}",
        f"family = {json.dumps(spec['family'])}",
    ]
    if spec["family"] == "ridge":
        lines.append(f"lambda = {spec['lambda']!r}")
    if spec["bounds"]:
        inner = ", ".join(f"{json.dumps(c)} = [{lo!r}, {hi!r}]" for c, (lo, hi) in spec["bounds"].items())
        lines.append(f"bounds = {{ {inner} }}")
    if spec["levels"]:
        inner = ", ".join(f"{json.dumps(c)} = {json.dumps(lv)}" for c, lv in spec["levels"].items())
        lines.append(f"levels = {{ {inner} }}")
    if spec.get("holders"):
        inner = ", ".join(f"{json.dumps(h)} = {json.dumps(cols)}" for h, cols in spec["holders"].items())
        lines.append(f"holders = {{ {inner} }}")
    return lines
