"""Deterministic relations between two columns: found in the data, kept in the schema as data.

A census extract is full of columns that are not free to vary: an industry code and its
industry category, a detailed and a grouped region, an income and its decile, an education
label and its number. A synthesizer that models each column on its own breaks a few of these
rows (an industry category that is not its code's category), and a user notices at once.
synthpop keeps them because the analyst writes them as rules; here `inspect` finds them and
writes them into the schema, where a person reviews them, and every synthesizer holds them in
every row (`confidata.synth.rules.hold_relations`).

Three kinds, one JSON object each in the schema's ``"relations"`` list:

* ``grouping``: ``to`` is a function of ``from``: every value of ``from`` goes with one value
  of ``to`` (``"map": {"3291": "4", ...}``).
* ``band``: ``to`` is a categorical column whose levels are ordered intervals of the number
  ``from`` (``"levels": [...]`` in interval order, ``"cuts": [...]`` one fewer): every row's
  ``from`` lies in its ``to`` level's interval, ``[cuts[i-1], cuts[i]]``, the first band open
  below and the last open above. The cuts lie between the bands' observed values, so the
  file never holds the smallest or largest value of a column.
* ``recoding``: a one-to-one map, two codings of one thing (``"map"`` as for ``grouping``,
  each value used once).
* ``sum`` and ``difference``: ``to`` is computed from two numeric columns, ``"from": [a, b]``:
  ``to = a + b`` or ``to = a - b`` (a departure delay is the departure time minus the scheduled
  one; an age is the year minus the year of birth). ``"clock": [...]`` lists those of the three
  that are clock times written as hhmm integers; the arithmetic is then on minutes since
  midnight, modulo a day (`confidata.table.arithmetic`). No values are stored: the identity is
  the whole relation.

A relation constrains the rows where both (for arithmetic, all three) columns have a value and
the map lists the ``from`` value: a missing cell contradicts nothing (SD2011 has four people with an age and
no age group), so which cells are missing stays the synthesizer's to model.

A relation is data, never code: it is read as JSON and applied by table look-ups and
comparisons only, so a schema file cannot execute anything.

A relation found in the data reveals which values go together (a recoding of a region into its
population density holds the density's exact values). Like the levels `inspect` reads, a
relation it finds is marked ``"domain": "from data, not public"``: CART uses it as it is, while
a differentially private synthesizer refuses it until a person declares it public (a codebook
says so: delete the marker) or removes it. A relation written without the marker is declared
public and costs no privacy budget. A sum or difference holds no value of the data, but that
the identity holds in (nearly) every row is itself read from the data, and a DP method that used
it because `inspect` found it would let the data choose its output's structure unpaid; so it is
marked the same way, and a codebook that defines the column (a delay is the actual minus the
scheduled time) is what makes it public. Declared, it is free: the target is computed from the
sampled terms, post-processing.

When is a relation reported? Never from identifiers, free text, dates, survey weights or
constant columns, nor towards a column with one level, and only when it is unlikely to hold
by chance: the chance that a random pairing of the two columns' values (keeping how often
each value occurs) would show the relation must be below ``max_chance`` (1e-9). A value seen
once carries no evidence, so a code whose values are mostly seen once, or a grouping into one
dominant group, is not reported on a small file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from confidata.errors import SchemaError, quote_names
from confidata.table.arithmetic import ARITHMETIC_KINDS, compute, find_identities, matches
from confidata.table.conform import code_text, missing_mask, value_text
from confidata.table.schema import FROM_DATA, Column, Role, Schema

__all__ = [
    "RELATION_KINDS",
    "Relation",
    "derivation_order",
    "find_relations",
    "has_value",
    "relations_in",
    "with_relations",
]

RELATION_KINDS = ("grouping", "band", "recoding", *ARITHMETIC_KINDS)
SCHEMA_KEY = "relations"
MAX_CHANCE = 1e-9
MAX_MAP_LEVELS = 2000  # a map larger than this is not a coding a person would review


@dataclass(frozen=True)
class Relation:
    """One relation between column `source` (``from``) and column `target` (``to``)."""

    kind: str
    source: str
    target: str
    mapping: Mapping[str, str | float] = field(default_factory=dict)
    levels: tuple[str, ...] = ()
    cuts: tuple[float, ...] = ()
    inferred_because: str = ""
    public: bool = True  # False: read from the data by inspect, not usable for free under DP
    second: str = ""  # sum and difference: the second term (``to = source +/- second``)
    clock: tuple[str, ...] = ()  # sum and difference: the columns that are hhmm clock times

    def __post_init__(self) -> None:
        object.__setattr__(self, "mapping", MappingProxyType(dict(self.mapping)))
        object.__setattr__(self, "levels", tuple(self.levels))
        object.__setattr__(self, "cuts", tuple(float(c) for c in self.cuts))
        object.__setattr__(self, "clock", tuple(self.clock))

    @property
    def sources(self) -> tuple[str, ...]:
        """The columns the target is derived from: one, or two for a sum or difference."""
        return (self.source, self.second) if self.kind in ARITHMETIC_KINDS else (self.source,)

    # -- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "from": self.source, "to": self.target}
        if self.kind in ARITHMETIC_KINDS:
            out["from"] = [self.source, self.second]
            if self.clock:
                out["clock"] = list(self.clock)
        elif self.kind == "band":
            out["levels"] = list(self.levels)
            out["cuts"] = [int(c) if float(c).is_integer() else c for c in self.cuts]
        else:
            out["map"] = dict(self.mapping)
        if self.inferred_because:
            out["inferred_because"] = self.inferred_because
        if not self.public:
            out["domain"] = FROM_DATA
        return out

    @classmethod
    def from_dict(cls, data: Any, schema: Schema, *, number: int = 1) -> Relation:
        """A relation read from the schema's JSON, checked against the schema's columns."""
        where = f"Relation {number} in the schema"
        if not isinstance(data, Mapping):
            raise SchemaError(f"{where} is not a JSON object; write it as "
                              '{"kind": ..., "from": ..., "to": ...}.')
        kind, source, target = data.get("kind"), data.get("from"), data.get("to")
        if kind in ARITHMETIC_KINDS:
            return cls._arithmetic_from_dict(data, schema, number)
        if not isinstance(source, str) or not isinstance(target, str) or source == target:
            raise SchemaError(f"{where} needs 'from' and 'to': the names of two different columns.")
        where = f"Relation {number} ('{source}' -> '{target}')"
        if kind not in RELATION_KINDS:
            raise SchemaError(f"{where} has kind {_shown(kind)}; use one of: "
                              f"{', '.join(RELATION_KINDS)}.")
        lacking = [n for n in (source, target) if n not in schema]
        if lacking:
            raise SchemaError(f"{where} names column(s) {quote_names(lacking)}, which the schema "
                              "lacks; check the spelling or remove the relation.")
        a, b = schema[source], schema[target]
        for column in (a, b):
            if not (column.kind.is_categorical or column.kind.is_numeric) \
                    or Role.DIRECT_IDENTIFIER in column.roles:
                raise SchemaError(f"{where} uses column '{column.name}' of type '{column.kind}'; "
                                  "relations join categorical, ordinal or numeric columns only.")
        because = str(data.get("inferred_because", ""))
        if kind == "band":
            band = cls._band_from_dict(data, a, b, where, because)
            return replace(band, public=data.get("domain") != FROM_DATA)
        mapping = data.get("map")
        if not isinstance(mapping, Mapping) or not mapping:
            raise SchemaError(f"{where} needs a non-empty 'map' object from values of '{source}' "
                              f"to values of '{target}'.")
        clean: dict[str, str | float] = {}
        for key, value in mapping.items():
            clean[str(key)] = _target_value(value, b, where)
            _check_source_key(str(key), a, where)
        if kind == "recoding" and len(set(clean.values())) != len(clean):
            raise SchemaError(f"{where} is a recoding but two values of '{source}' map to one value "
                              f"of '{target}'; make it kind 'grouping' or fix the map.")
        return cls(kind, source, target, clean, inferred_because=because,
                   public=data.get("domain") != FROM_DATA)

    @classmethod
    def _arithmetic_from_dict(cls, data: Mapping[str, Any], schema: Schema, number: int) -> Relation:
        kind, terms, target = data["kind"], data.get("from"), data.get("to")
        sign = "+" if kind == "sum" else "-"
        where = f"Relation {number} in the schema"
        if not (isinstance(terms, list) and len(terms) == 2 and all(isinstance(t, str) for t in terms)
                and isinstance(target, str) and len({*terms, target}) == 3):
            raise SchemaError(f"{where} is a {kind}: it needs 'from', a list of two column names "
                              f"[a, b], and 'to', a third column, for to = a {sign} b.")
        a, b = terms
        where = f"Relation {number} ('{target}' = '{a}' {sign} '{b}')"
        lacking = [n for n in (a, b, target) if n not in schema]
        if lacking:
            raise SchemaError(f"{where} names column(s) {quote_names(lacking)}, which the schema "
                              "lacks; check the spelling or remove the relation.")
        for name in (a, b, target):
            column = schema[name]
            if not column.kind.is_numeric or Role.DIRECT_IDENTIFIER in column.roles:
                raise SchemaError(f"{where} uses column '{name}' of type '{column.kind}'; a {kind} "
                                  "joins numeric (integer or continuous) columns only.")
        clock = data.get("clock", [])
        if not isinstance(clock, list) or any(c not in (a, b, target) for c in clock):
            raise SchemaError(f"{where} has a 'clock' that is not a list of its own columns; list "
                              "those of the three that are hhmm clock times, or leave it out.")
        on = {a: a in clock, b: b in clock, target: target in clock}
        if kind == "sum":
            fine = (on[target] and on[a] + on[b] == 1) or not any(on.values())
        else:
            fine = (on[target] and on[a] and not on[b]) or (not on[target] and on[a] == on[b])
        if not fine:
            raise SchemaError(f"{where} mixes clock times in a way that has no meaning: a clock "
                              "plus or minus minutes is a clock, a clock minus a clock is minutes, "
                              "and two clocks are never added; fix its 'clock' list.")
        return cls(kind, a, target, inferred_because=str(data.get("inferred_because", "")),
                   public=data.get("domain") != FROM_DATA, second=b,
                   clock=tuple(c for c in (a, b, target) if on[c]))

    @classmethod
    def _band_from_dict(cls, data: Mapping[str, Any], a: Column, b: Column, where: str,
                        because: str) -> Relation:
        if not a.kind.is_numeric or not b.kind.is_categorical:
            raise SchemaError(f"{where} is a band: 'from' must be a number (integer or continuous) "
                              "and 'to' categorical or ordinal.")
        levels, cuts = data.get("levels"), data.get("cuts")
        if not isinstance(levels, list) or len(levels) < 2 or len(set(map(str, levels))) != len(levels):
            raise SchemaError(f"{where} needs 'levels': the levels of '{b.name}' in interval order, "
                              "at least two, each once.")
        levels = [str(v) for v in levels]
        if b.levels and any(v not in b.levels for v in levels):
            raise SchemaError(f"{where} lists a band that is not a level of '{b.name}'; use its "
                              "levels as the schema spells them.")
        if not isinstance(cuts, list) or len(cuts) != len(levels) - 1 or not all(
                isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c) for c in cuts):
            raise SchemaError(f"{where} needs 'cuts': {len(levels) - 1} finite numbers, one between "
                              "each two neighbouring bands.")
        if any(later < earlier for earlier, later in zip(cuts, cuts[1:], strict=False)):
            raise SchemaError(f"{where} has 'cuts' that decrease; list the bands from the lowest "
                              "to the highest with rising cuts.")
        return cls("band", a.name, b.name, levels=tuple(levels), cuts=tuple(cuts),
                   inferred_because=because)

    # -- meaning ------------------------------------------------------------------------------
    def describe(self) -> str:
        """One line for people: which columns and the shape of the map, never a value."""
        if self.kind in ARITHMETIC_KINDS:
            sign = "+" if self.kind == "sum" else "-"
            clocks = " (clock times hhmm, on minutes)" if self.clock else ""
            return f"'{self.target}' = '{self.source}' {sign} '{self.second}'{clocks}"
        if self.kind == "band":
            return f"'{self.source}' lies in the band given by '{self.target}' ({len(self.levels)} bands)"
        groups = len(set(self.mapping.values()))
        if self.kind == "recoding":
            return f"'{self.source}' and '{self.target}' are two codings of one thing ({groups} values)"
        return f"'{self.source}' groups into '{self.target}' ({len(self.mapping)} values -> {groups})"

    def reversed(self) -> Relation:
        """A recoding read the other way (the map inverted); other kinds have no reverse."""
        if self.kind != "recoding":
            raise ValueError("only a recoding can be reversed")
        inverse = {value_text(v): key for key, v in self.mapping.items()}
        return Relation("recoding", self.target, self.source, inverse,
                        inferred_because=self.inferred_because, public=self.public)

    def expected(self, frame: Mapping[str, pd.Series], schema: Schema, *,
                 span: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Where the relation fixes the target, and to what: (rows, values).

        Values are as the map holds them (text, or numbers for a numeric target); rows whose
        source (for arithmetic, either term) is missing, or a value the map does not list, are
        not fixed. `frame` needs the source columns only. `span`, the target's real range where
        the caller knows it (CART holds the real values), replaces the schema's minimum and
        maximum: it places a wrapped number of minutes and tells whether midnight is 2400.
        """
        if self.kind in ARITHMETIC_KINDS:
            a, b = (_numbers(frame[n], schema[n]) for n in self.sources)
            low, high = span if span is not None else (schema[self.target].minimum,
                                                        schema[self.target].maximum)
            wanted = compute(self.kind, a, b, a_clock=self.source in self.clock,
                             b_clock=self.second in self.clock, to_clock=self.target in self.clock,
                             window_start=low, midnight_2400=_midnight_2400(low, high))
            return ~np.isnan(wanted), wanted
        source = frame[self.source]
        present = has_value(source, schema[self.source])
        if self.kind == "band":
            numbers = pd.to_numeric(source, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            present &= ~np.isnan(numbers)
            index = np.searchsorted(np.asarray(self.cuts), np.where(present, numbers, 0.0), side="left")
            return present, np.asarray(self.levels, dtype=object)[index]
        keys = code_text(source).to_numpy()
        looked = pd.Series(keys).map(dict(self.mapping)).to_numpy()
        known = present & pd.notna(looked)
        return known, looked

    def violations(self, frame: Mapping[str, pd.Series], schema: Schema, *,
                   reverse: bool = False) -> np.ndarray:
        """True on every row that breaks the relation: both columns have a value and the target
        is not the one the source calls for (for a recoding, either way round; `reverse` marks
        the inner, second check)."""
        if self.kind in ARITHMETIC_KINDS:
            a, b, to = (_numbers(frame[n], schema[n]) for n in (*self.sources, self.target))
            rows = ~np.isnan(a) & ~np.isnan(b) & ~np.isnan(to)
            return rows & ~matches(self.kind, a, b, to, a_clock=self.source in self.clock,
                                   b_clock=self.second in self.clock,
                                   to_clock=self.target in self.clock)
        source, target = frame[self.source], frame[self.target]
        target_present = has_value(target, schema[self.target])
        if self.kind == "band":
            numbers = pd.to_numeric(source, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            rows = has_value(source, schema[self.source]) & ~np.isnan(numbers)
            where = pd.Series(code_text(target).to_numpy()).map(
                {level: i for i, level in enumerate(self.levels)}).to_numpy()
            placed = target_present & pd.notna(where)
            band = np.where(placed, where, 0).astype(int)
            low = np.concatenate([[-np.inf], self.cuts])[band]
            high = np.concatenate([self.cuts, [np.inf]])[band]
            outside = (numbers < low) | (numbers > high)
            return rows & target_present & (~placed | outside)
        rows, wanted = self.expected(frame, schema)
        bad = np.zeros(len(rows), dtype=bool)
        check = rows & target_present
        if schema[self.target].kind.is_numeric:
            actual = pd.to_numeric(target, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            want = pd.to_numeric(pd.Series(np.where(check, wanted, np.nan)),
                                 errors="coerce").to_numpy(dtype=float)
            bad |= check & ~np.isclose(actual, want, rtol=1e-9, atol=0.0)
        else:
            bad |= check & (code_text(target).to_numpy() != wanted)
        if self.kind == "recoding" and not reverse:
            bad |= self.reversed().violations(frame, schema, reverse=True)
        return bad


def _numbers(values: pd.Series, column: Column) -> np.ndarray:
    """A numeric column as floats, nan where a cell is missing or holds a missing code."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.where(has_value(values, column), numbers, np.nan)


def _midnight_2400(low: float | None, high: float | None) -> bool:
    """True where a clock column writes midnight as 2400 (its range holds 2400 and not 0)."""
    return high is not None and high >= 2400 and low is not None and low > 0


def _shown(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) and value in RELATION_KINDS else "that is not one"


def _is_numeric_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _target_value(value: Any, column: Column, where: str) -> str | float:
    if column.kind.is_numeric:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise SchemaError(f"{where} maps to a value that is not a number, but '{column.name}' "
                              "is numeric; write the map's values as JSON numbers.")
        return float(value)
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise SchemaError(f"{where} maps to a value that is not a level; write levels as text.")
    text = value_text(value)
    if column.levels and text not in column.levels:
        raise SchemaError(f"{where} maps to a value that is not a level of '{column.name}'; use "
                          "its levels as the schema spells them, or remove that entry.")
    return text


def _check_source_key(key: str, column: Column, where: str) -> None:
    if column.kind.is_numeric and not _is_numeric_text(key):
        raise SchemaError(f"{where} maps from a value that is not a number, but '{column.name}' "
                          "is numeric; write the map's keys as numbers in quotes.")
    if column.kind.is_categorical and column.levels and key not in column.levels:
        raise SchemaError(f"{where} maps from a value that is not a level of '{column.name}'; use "
                          "its levels as the schema spells them, or remove that entry.")


def has_value(values: pd.Series, column: Column) -> np.ndarray:
    """True where a cell holds a value: not missing, and not one of the column's missing codes."""
    present = values.notna().to_numpy().copy()
    codes = [t for t in column.missing_values if t != ""]
    if codes:
        present &= ~code_text(values).isin(codes).to_numpy()
    return present


# -- the schema's list --------------------------------------------------------------------------


def relations_in(schema: Schema) -> list[Relation]:
    """The relations the schema declares, each checked; an error names the columns and the fix."""
    raw = schema.extra.get(SCHEMA_KEY)
    if raw is None:
        return []
    if not isinstance(raw, list | tuple):
        raise SchemaError(f"The schema's '{SCHEMA_KEY}' must be a list of relations; "
                          "re-create it with 'confidata inspect' or fix the JSON.")
    relations = [Relation.from_dict(item, schema, number=i) for i, item in enumerate(raw, start=1)]
    seen: dict[frozenset[str], int] = {}
    for i, rel in enumerate(relations, start=1):
        pair = frozenset((*rel.sources, rel.target))
        if pair in seen:
            raise SchemaError(f"Relations {seen[pair]} and {i} both join {quote_names(sorted(pair))}; "
                              "keep one of them.")
        seen[pair] = i
    derivation_order(relations)  # refuses cycles
    return relations


def with_relations(schema: Schema, relations: Sequence[Relation]) -> Schema:
    """A new schema that declares `relations` (none: the key is removed)."""
    extra = {k: v for k, v in schema.extra.items() if k != SCHEMA_KEY}
    if relations:
        extra[SCHEMA_KEY] = [r.to_dict() for r in relations]
    return replace(schema, extra=extra)


def derivation_order(relations: Sequence[Relation]) -> list[Relation]:
    """The relations ordered so that a column is derived only after its source is final.

    A column derived from another that is itself derived (code -> group -> super-group) comes
    after it. A cycle (A groups into B and B into A) has no order and is refused.
    """
    pending = list(relations)
    done: list[Relation] = []
    while pending:
        targets = {r.target for r in pending}
        ready = [r for r in pending if not targets.intersection(r.sources)]
        if not ready:
            names = sorted({n for r in pending for n in (*r.sources, r.target)})
            raise SchemaError(f"The relations between {quote_names(names)} form a cycle (a column "
                              "derived, through others, from itself); a two-way relation is one "
                              "'recoding', so remove the others.")
        done += ready
        pending = [r for r in pending if r not in ready]
    return done


# -- finding them -----------------------------------------------------------------------------


@dataclass
class _Coded:
    """One column as integer codes (-1: missing), with what the search needs."""

    column: Column
    codes: np.ndarray
    uniques: np.ndarray  # the value of each code
    n_levels: int
    numbers: np.ndarray | None  # numeric columns: the values (nan where missing)


def find_relations(frame: pd.DataFrame, schema: Schema, *, max_chance: float = MAX_CHANCE,
                   max_levels: int = MAX_MAP_LEVELS) -> list[Relation]:
    """Every grouping, band and recoding between two columns of `frame`, in schema order.

    The work is on integer codes, one stable sort per source column and one pass per pair,
    never a Python loop over rows; a file of 27,000 rows and 24 columns takes well under a
    second. All pairs that hold are listed (a code's group and super-group both), so a
    synthesizer can keep each of them whatever order it visits the columns in.
    """
    missing = missing_mask(frame, schema)
    coded = [c for c in (_code(frame[col.name], col, missing[col.name].to_numpy())
                         for col in schema if _eligible(col)) if c is not None]
    log_limit = math.log(max_chance)
    functions: dict[tuple[str, str], float] = {}
    bands: dict[tuple[str, str], tuple[list[int], list[float], float]] = {}
    for a in coded:
        rows = np.flatnonzero(a.codes >= 0)
        by_code = rows[np.argsort(a.codes[rows], kind="stable")] if a.n_levels <= max_levels else None
        by_value = rows[np.argsort(a.numbers[rows], kind="stable")] if a.numbers is not None else None
        for b in coded:
            if b is a:
                continue
            if by_code is not None and a.n_levels >= b.n_levels:
                both = by_code[b.codes[by_code] >= 0]
                chance = _function_chance(a.codes[both], b.codes[both])
                if chance is not None and chance < log_limit:
                    functions[(a.column.name, b.column.name)] = chance
            if by_value is not None and b.column.kind.is_categorical and a.n_levels > b.n_levels:
                both = by_value[b.codes[by_value] >= 0]
                band = _band(a.numbers[both], b.codes[both])
                if band is not None and band[2] < log_limit:
                    bands[(a.column.name, b.column.name)] = band
    by_name = {c.column.name: c for c in coded}
    order = {name: i for i, name in enumerate(schema.names)}
    found: list[Relation] = []
    for (source, target), chance in functions.items():
        a, b = by_name[source], by_name[target]
        if (target, source) in functions:
            if order[source] < order[target]:
                found.append(_mapped("recoding", a, b, min(chance, functions[(target, source)])))
        elif (source, target) not in bands:
            found.append(_mapped("grouping", a, b, chance))
    for (source, target), (level_codes, cuts, chance) in bands.items():
        if (target, source) in functions:
            continue  # both ways: a recoding, listed above
        b = by_name[target]
        levels = [value_text(b.uniques[k]) for k in level_codes]
        n = int(((by_name[source].codes >= 0) & (b.codes >= 0)).sum())
        because = (f"found by inspect: the {n:,} values of '{source}' fall in {len(levels)} "
                   f"non-overlapping bands, one per level of '{target}'; {_chance_text(chance)}")
        found.append(Relation("band", source, target, levels=levels, cuts=cuts,
                              inferred_because=because, public=False))
    found += _arithmetic(coded, found, max_chance)
    found.sort(key=lambda r: (order[r.source], order[r.target]))
    return found


def _arithmetic(coded: list[_Coded], others: list[Relation], max_chance: float) -> list[Relation]:
    """Sums and differences of three numeric columns (`confidata.table.arithmetic`); a column
    another relation already derives is never their target, and one that would close a cycle
    with the others (a difference whose target groups into one of its terms) is left out."""
    taken = {r.target for r in others}
    numeric = [c for c in coded if c.numbers is not None]
    names = [c.column.name for c in numeric]
    identities = find_identities([c.numbers for c in numeric], [c.n_levels for c in numeric],
                                 {i for i, n in enumerate(names) if n in taken},
                                 max_chance=max_chance)
    found = []
    for item in identities:
        a, b, to = names[item.first], names[item.second], names[item.to]
        sign = "+" if item.kind == "sum" else "-"
        clocks = ("; " + quote_names([names[i] for i in item.clocks]) + " are clock times (hhmm), "
                  "taken as minutes modulo a day") if item.clocks else ""
        broken = (f", and breaks it in {item.broken:,} (synthesis holds it in every row)"
                  if item.broken else "")
        because = (f"found by inspect: '{to}' = '{a}' {sign} '{b}' in {item.rows - item.broken:,} "
                   f"of the {item.rows:,} rows where all three have a value{broken}{clocks}; "
                   f"{_chance_text(item.log_chance)}")
        relation = Relation(item.kind, a, to, inferred_because=because, public=False, second=b,
                            clock=tuple(names[i] for i in item.clocks))
        try:
            derivation_order([*others, *found, relation])
        except SchemaError:
            continue
        found.append(relation)
    return found


def _eligible(column: Column) -> bool:
    """Columns that can take part: not identifiers, text, dates or survey weights."""
    if not (column.kind.is_categorical or column.kind.is_numeric):
        return False
    return not any(r in column.roles for r in (Role.DIRECT_IDENTIFIER, Role.WEIGHT))


def _code(values: pd.Series, column: Column, missing: np.ndarray) -> _Coded | None:
    if column.kind.is_categorical:
        codes = values.cat.codes.to_numpy().astype(np.int64)
        uniques = np.asarray(values.cat.categories, dtype=object)
        numbers = None
    else:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        codes, uniques = pd.factorize(numbers, use_na_sentinel=True)
        codes = codes.astype(np.int64)
    codes = np.where(missing, -1, codes)
    used = np.unique(codes[codes >= 0])
    if len(used) < 2:
        return None  # constant (or empty): nothing to relate
    if numbers is not None:
        numbers = np.where(codes >= 0, numbers, np.nan)
    return _Coded(column, codes, uniques, len(used), numbers)


def _function_chance(a: np.ndarray, b: np.ndarray) -> float | None:
    """log of the chance that b is a function of a by accident, or None when it is not one.

    `a` is sorted. Under a random pairing, a group of c rows has one b-value with chance about
    sum_k p_k^c (p_k: b's shares), so the log chance is the sum of its log over a's groups.
    """
    same = a[1:] == a[:-1]
    if np.any(same & (b[1:] != b[:-1])):
        return None
    _, sizes = np.unique(a, return_counts=True)
    shares = np.bincount(b)
    shares = shares[shares > 0] / len(b)
    counts, times = np.unique(sizes, return_counts=True)
    log_p = np.log(shares)
    per_size = logsumexp(np.outer(counts, log_p), axis=1)
    return float((per_size * times).sum())


def _band(values: np.ndarray, b: np.ndarray) -> tuple[list[int], list[float], float] | None:
    """(b's codes in interval order, cuts, log chance) when b's levels are intervals of values.

    `values` are sorted. Intervals may touch (a value at a decile edge in both deciles) but not
    overlap. The chance that a random labelling with these level counts comes out as
    contiguous blocks is L! * prod(c_k!) / n!.
    """
    levels, first = np.unique(b, return_index=True)
    _, last_rev = np.unique(b[::-1], return_index=True)
    last = len(b) - 1 - last_rev
    low, high = values[first], values[last]
    order = np.lexsort((high, low))
    low, high = low[order], high[order]
    if np.any(low[1:] < high[:-1]):
        return None
    sizes = np.bincount(b)[levels]
    log_p = (math.lgamma(len(levels) + 1) + sum(math.lgamma(s + 1) for s in sizes)
             - math.lgamma(len(b) + 1))
    cuts = [_cut(h, lo) for h, lo in zip(high[:-1], low[1:], strict=True)]
    return [int(k) for k in levels[order]], cuts, log_p


def _cut(high: float, low: float) -> float:
    """A point between one band's largest value and the next band's smallest."""
    if high == low:
        return float(high)
    middle = (high + low) / 2
    return float(round(middle, 6)) if high < round(middle, 6) <= low else float(middle)


def _mapped(kind: str, a: _Coded, b: _Coded, chance: float) -> Relation:
    rows = (a.codes >= 0) & (b.codes >= 0)
    codes = np.unique(a.codes[rows] * (len(b.uniques) + 1) + b.codes[rows])
    a_code, b_code = codes // (len(b.uniques) + 1), codes % (len(b.uniques) + 1)
    numeric = b.column.kind.is_numeric
    mapping: dict[str, str | float] = {}
    for i, j in zip(a_code, b_code, strict=True):
        target = b.uniques[j]
        mapping[value_text(a.uniques[i])] = float(target) if numeric else value_text(target)
    n = int(rows.sum())
    if kind == "recoding":
        what = f"'{a.column.name}' and '{b.column.name}' map one-to-one"
    else:
        what = f"each value of '{a.column.name}' goes with a single value of '{b.column.name}'"
    because = (f"found by inspect: {what} ({len(mapping)} values, {n:,} rows); "
               f"{_chance_text(chance)}")
    return Relation(kind, a.column.name, b.column.name, mapping, inferred_because=because,
                    public=False)


def _chance_text(log_chance: float) -> str:
    exponent = max(int(math.floor(max(log_chance, -1e6) / math.log(10))), -101)
    return f"the chance of this by accident is below 1e{exponent + 1}"
