"""Rules and derived columns, written as text and evaluated without running code.

Two kinds of line, one per line in a rules file (``#`` starts a comment):

* a **rule**, ``CONDITION -> COLUMN = VALUE``: where the condition holds, the column takes the
  value (``missing`` for a missing cell) instead of a synthesised one, and the column's model
  is fitted only on real rows where the condition does not hold (synthpop's ``rules`` /
  ``rvalues``). Example: ``age < 16 -> income = missing``.
* a **derived column**, ``COLUMN := EXPRESSION``: computed from columns synthesised before it
  rather than modelled (synthpop's passive ``~I(...)`` method). Example:
  ``bmi := weight / (height / 100) ** 2``.

Conditions compare columns with numbers or quoted text (``< <= > >= == !=``, ``in (..)``),
joined with ``and``, ``or``, ``not``; ``COLUMN is missing`` tests for a missing cell.
Expressions use ``+ - * / ** //``, numbers, columns and parentheses. Both are parsed with
Python's ``ast`` module and walked by an interpreter that knows only those node types, so a
rules file can never execute code.

A third form comes from the schema rather than a rules file: **relations** between two
columns (a code and its group, an amount and its band, two codings of one thing; see
`confidata.table.relations`, where `inspect` finds them), or three (a sum or difference, such
as a delay and its two clock times). They are data (maps, cut points, column names), applied
here by look-ups and arithmetic only, and every synthesizer holds them in every row where the
columns have a value:

* `hold_column`, for a synthesizer that draws columns one after another (CART): a column
  whose source was drawn before it is *derived* from it (the group from the code, the band
  from the amount); a column drawn before its target is redrawn, on the rows that break the
  relation, from the same model until it fits, and the few rows that still do not take a real
  value consistent with the target (the amount within its band). A sum or difference is always
  derived: CART visits its target after both terms (`arithmetic_last`), and the term drawn
  second is redrawn on rows where the target it implies would fall outside the target
  column's range, so the derived value stays within the real domain;
* `hold_relations`, for a synthesizer that draws all columns at once (MST, AIM, PrivBayes):
  after sampling, each target is derived from its source. This is post-processing of a
  differentially private sample with a relation the schema declares public, so it costs no
  privacy budget.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from confidata.errors import RuleError
from confidata.table.arithmetic import ARITHMETIC_KINDS
from confidata.table.conform import code_text, is_number
from confidata.table.relations import Relation, derivation_order, has_value, relations_in
from confidata.table.schema import Kind, Schema

__all__ = ["Derived", "Rule", "RuleError", "arithmetic_last", "derive", "hold_column",
           "hold_relations", "parse_rules"]

MISSING = "missing"



@dataclass(frozen=True)
class Rule:
    """Where `condition` holds, `column` is set to `value` (None means missing)."""

    condition: str
    column: str
    value: str | float | None
    text: str

    @property
    def columns(self) -> set[str]:
        return _names(_parse(self.condition, self.text, "condition"))

    def holds(self, frame: Mapping[str, pd.Series]) -> np.ndarray:
        tree = _parse(self.condition, self.text, "condition")
        try:
            result = _Evaluator(frame, self.text).visit(tree.body)
        except TypeError:
            raise RuleError(
                f"Rule '{self.text}' compares values of different types (text with numbers?); "
                "quote text levels and leave numbers unquoted."
            ) from None
        return np.asarray(pd.Series(result).fillna(False).astype(bool))


@dataclass(frozen=True)
class Derived:
    """`column` computed as `expression` from other columns."""

    column: str
    expression: str
    text: str

    @property
    def columns(self) -> set[str]:
        return _names(_parse(self.expression, self.text, "expression"))

    def compute(self, frame: Mapping[str, pd.Series]) -> np.ndarray:
        tree = _parse(self.expression, self.text, "expression")
        try:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                out = _Evaluator(frame, self.text).visit(tree.body)
        except TypeError:
            raise RuleError(
                f"Derived column rule '{self.text}' uses a column that is not numeric."
            ) from None
        out = pd.to_numeric(pd.Series(out), errors="coerce").to_numpy(dtype=float, copy=True)
        out[~np.isfinite(out)] = np.nan
        return out


_RULE = re.compile(r"^(?P<cond>.+?)\s*->\s*(?P<col>[^=]+?)\s*=\s*(?P<value>.+)$")
_DERIVED = re.compile(r"^(?P<col>[^:=<>!]+?)\s*:=\s*(?P<expr>.+)$")


def parse_rules(source: str | Path | Iterable[str] | None) -> tuple[list[Rule], list[Derived]]:
    """Rules and derived columns from a file path, a text (``;`` or newlines) or lines."""
    if source is None:
        return [], []
    if isinstance(source, Path) or (isinstance(source, str) and Path(source).is_file()
                                    and "\n" not in source and "->" not in source):
        path = Path(source)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            raise RuleError(f"Rules file '{path}' cannot be read as UTF-8 text.") from None
    elif isinstance(source, str):
        lines = re.split(r"[;\n]", source)
    else:
        lines = list(source)
    rules: list[Rule] = []
    derived: list[Derived] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if (m := _DERIVED.match(line)) is not None:
            item = Derived(m["col"].strip(), m["expr"].strip(), line)
            _parse(item.expression, line, "expression")
            derived.append(item)
        elif (m := _RULE.match(line)) is not None:
            value_text = m["value"].strip()
            item = Rule(m["cond"].strip(), m["col"].strip(), _value(value_text, line), line)
            _parse(item.condition, line, "condition")
            rules.append(item)
        else:
            raise RuleError(
                f"Rule {number} is neither 'CONDITION -> COLUMN = VALUE' nor "
                "'COLUMN := EXPRESSION'; for example 'age < 16 -> income = missing'."
            )
    return rules, derived


def _value(text: str, line: str) -> str | float | None:
    if text.lower() == MISSING:
        return None
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        return float(text)
    except ValueError:
        return text  # a bare category label


def _parse(text: str, line: str, what: str) -> ast.Expression:
    prepared = re.sub(r"\b([A-Za-z_][A-Za-z0-9_]*)\s+is\s+not\s+missing\b", r"__present__(\1)", text)
    prepared = re.sub(r"\b([A-Za-z_][A-Za-z0-9_]*)\s+is\s+missing\b", r"__missing__(\1)", prepared)
    try:
        tree = ast.parse(prepared, mode="eval")
    except SyntaxError:
        raise RuleError(f"The {what} of rule '{line}' is not valid; check operators and quotes.") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise RuleError(
                f"Rule '{line}' uses '{type(node).__name__}', which rules do not allow; use "
                "comparisons, and/or/not, arithmetic, numbers, quoted text and column names."
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and not _small_power(node.right):
            raise RuleError(f"Rule '{line}' raises to a power other than a number from -10 to 10.")
        if isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name) or node.func.id not in ("__missing__", "__present__")
        ):
            raise RuleError(f"Rule '{line}' calls a function; rules cannot call functions.")
    return tree


_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.FloorDiv, ast.Mod,
    ast.Compare, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq, ast.In, ast.NotIn,
    ast.Name, ast.Load, ast.Constant, ast.Tuple, ast.List, ast.Call,
)


def _small_power(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
        and not isinstance(node.value, bool) and abs(node.value) <= 10



def _names(tree: ast.Expression) -> set[str]:
    return {
        n.id for n in ast.walk(tree)
        if isinstance(n, ast.Name) and n.id not in ("__missing__", "__present__")
    }


_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow, ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}


class _Evaluator(ast.NodeVisitor):
    """Evaluates the allowed node types on whole columns (pandas Series) at once."""

    def __init__(self, frame: Mapping[str, pd.Series], line: str) -> None:
        self.frame = frame
        self.line = line

    def visit_Name(self, node: ast.Name):
        if node.id not in self.frame:
            raise RuleError(
                f"Rule '{self.line}' names column '{node.id}', which is not synthesised before "
                "it; check the spelling, or visit that column earlier."
            )
        values = self.frame[node.id]
        if isinstance(values.dtype, pd.CategoricalDtype):
            levels = [str(c) for c in values.cat.categories]
            if levels and all(is_number(level) for level in levels):  # codes such as "1", "2"
                return pd.to_numeric(values.astype(object), errors="coerce").astype(float)
            return values.astype(object)
        return pd.to_numeric(values, errors="coerce").astype(float) if values.dtype != object else values

    def visit_Constant(self, node: ast.Constant):
        return node.value

    def visit_Tuple(self, node):
        return [self.visit(e) for e in node.elts]

    visit_List = visit_Tuple

    def visit_Call(self, node: ast.Call):
        values = self.visit(node.args[0])
        missing = pd.Series(values).isna()
        return missing if node.func.id == "__missing__" else ~missing

    def visit_UnaryOp(self, node: ast.UnaryOp):
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return ~pd.Series(operand).fillna(False).astype(bool)
        return -operand if isinstance(node.op, ast.USub) else operand

    def visit_BinOp(self, node: ast.BinOp):
        return _BINARY[type(node.op)](self.visit(node.left), self.visit(node.right))

    def visit_BoolOp(self, node: ast.BoolOp):
        values = [pd.Series(self.visit(v)).fillna(False).astype(bool) for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out

    def visit_Compare(self, node: ast.Compare):
        left = self.visit(node.left)
        result = None
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.visit(comparator)
            if isinstance(op, ast.In | ast.NotIn):
                hit = pd.Series(left).isin(right if isinstance(right, list) else [right])
                part = hit if isinstance(op, ast.In) else ~hit
            else:
                series = pd.Series(left)
                part = _COMPARE[type(op)](series, right).fillna(False).astype(bool)
                part &= series.notna()
            result = part if result is None else (result & part)
            left = right
        return result

    def generic_visit(self, node):  # pragma: no cover - _parse rejects everything else
        raise RuleError(f"Rule '{self.line}' uses a construct rules do not allow.")


# -- relations ----------------------------------------------------------------------------------

REDRAW_TRIES = 20


def derive(relation: Relation, sources: Mapping[str, pd.Series], target: pd.Series,
           schema: Schema, *, span: tuple[float, float] | None = None) -> pd.Series:
    """`target` with every row where it and its sources have a value set from `sources` (a
    mapping that holds the relation's source columns).

    A missing target stays missing (which cells are missing is the model's to draw); a level
    the target's column does not have is left as drawn. `span`: the target's real range where
    the caller knows it (see `Relation.expected`).
    """
    rows, wanted = relation.expected(sources, schema, span=span)
    column = schema[relation.target]
    rows = rows & has_value(target, column)
    if not rows.any():
        return target
    if column.kind.is_numeric:
        numbers = np.array(pd.to_numeric(target, errors="coerce").to_numpy(dtype=float, na_value=np.nan))
        numbers[rows] = pd.to_numeric(pd.Series(wanted[rows]), errors="coerce").to_numpy(dtype=float)
        if column.kind is Kind.INTEGER:
            return pd.Series(pd.array(np.round(numbers), dtype="Float64"), index=target.index).astype("Int64")
        return pd.Series(numbers, index=target.index)
    levels = set(map(str, target.cat.categories))
    rows &= pd.Series(wanted).isin(levels).to_numpy()
    labels = target.astype(object).to_numpy(copy=True)
    labels[rows] = wanted[rows]
    return pd.Series(pd.Categorical(labels, dtype=target.dtype), index=target.index)


def hold_relations(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """A sample with every relation of `schema` held: each target derived from its source, a
    column derived from a derived one after it. Relations naming a column the sample lacks
    are skipped. Post-processing: it looks at the sample and the schema only.

    A sum or difference computed outside the range the schema declares for its target (two
    parts drawn high whose total passes the declared maximum) is clipped into that range: the
    declared domain is the DP methods' promise, so the identity gives way in those rows."""
    relations = [r for r in relations_in(schema)
                 if all(n in frame for n in r.sources) and r.target in frame]
    if not relations:
        return frame
    out = frame.copy()
    for relation in derivation_order(relations):
        out[relation.target] = derive(relation, out, out[relation.target], schema)
        column = schema[relation.target]
        if relation.kind in ARITHMETIC_KINDS and (column.minimum is not None
                                                  or column.maximum is not None):
            out[relation.target] = out[relation.target].clip(lower=column.minimum,
                                                             upper=column.maximum)
    return out


def arithmetic_last(sequence: list[str], relations: Iterable[Relation]) -> list[str]:
    """`sequence` with each sum's or difference's target moved to just after its later term,
    so that a synthesizer drawing columns in turn derives it; other columns keep their order."""
    order = list(sequence)
    for relation in relations:
        if relation.kind not in ARITHMETIC_KINDS or not all(
                n in order for n in (*relation.sources, relation.target)):
            continue
        last = max(order.index(n) for n in relation.sources)
        if order.index(relation.target) < last:
            later = order[last]
            order.remove(relation.target)
            order.insert(order.index(later) + 1, relation.target)
    return order


def hold_column(name: str, values: pd.Series, drawn: Mapping[str, pd.Series],
                relations: Iterable[Relation], schema: Schema, *,
                redraw: Callable[[np.ndarray], pd.Series], pool: Callable[[], pd.Series],
                rng: np.random.Generator,
                spans: Callable[[str], tuple[float, float] | None] | None = None) -> pd.Series:
    """Column `name`, just drawn as `values`, made to agree with the columns `drawn` before it.

    ``redraw(rows)`` draws those rows again from the synthesizer's model (their values as a
    Series); ``pool()`` gives real values of the column to fall back on; ``spans(column)`` the
    real range of a numeric column where the synthesizer knows it (a sum's target stays in
    it). Returns `values` itself when nothing changes.
    """
    spans = spans or (lambda _: None)
    both_ways = [x for r in relations for x in ((r, r.reversed()) if r.kind == "recoding" else (r,))]
    sources = [r for r in both_ways if r.target == name and all(n in drawn for n in r.sources)]
    if sources:
        for relation in sources:
            values = derive(relation, drawn, values, schema, span=spans(relation.target))
        return values
    terms = [r for r in both_ways if r.kind in ARITHMETIC_KINDS and name in r.sources
             and r.target not in drawn and all(n in drawn for n in r.sources if n != name)]
    if terms:
        return _term_in_range(name, values, drawn, terms, schema, redraw=redraw, pool=pool, rng=rng,
                              spans=spans)
    checks = [r for r in both_ways if r.source == name and r.target in drawn
              and r.kind not in ARITHMETIC_KINDS]
    if not checks:
        return values

    def broken(current: pd.Series, rows: np.ndarray) -> np.ndarray:
        out = np.zeros(len(rows), dtype=bool)
        for r in checks:
            part = {name: current.reset_index(drop=True),
                    r.target: drawn[r.target].iloc[rows].reset_index(drop=True)}
            out |= r.violations(part, schema)
        return out

    everything = np.arange(len(values))
    wrong = everything[broken(values, everything)]
    for _ in range(REDRAW_TRIES):
        if not len(wrong):
            return values
        values = _put(values, wrong, redraw(wrong))
        wrong = wrong[broken(values.iloc[wrong], wrong)]
    if len(wrong):
        values = _from_pool(values, wrong, checks, drawn, pool(), schema, rng)
    return values


def _term_in_range(name: str, values: pd.Series, drawn: Mapping[str, pd.Series],
                   relations: list[Relation], schema: Schema, *,
                   redraw: Callable[[np.ndarray], pd.Series], pool: Callable[[], pd.Series],
                   rng: np.random.Generator,
                   spans: Callable[[str], tuple[float, float] | None]) -> pd.Series:
    """The later term of a sum or difference, redrawn on rows where the target it implies lies
    outside the target column's range (its real range, or the schema's minimum and maximum);
    rows still outside after `REDRAW_TRIES` take real values of the term drawn at random until
    they fit, and those that never do are left as drawn (the target leaves the range there)."""

    def outside(current: pd.Series, rows: np.ndarray) -> np.ndarray:
        out = np.zeros(len(rows), dtype=bool)
        for r in relations:
            column = schema[r.target]
            span = spans(r.target) or (column.minimum, column.maximum)
            if span[0] is None and span[1] is None:
                continue
            frame = {n: (current if n == name else drawn[n].iloc[rows]).reset_index(drop=True)
                     for n in r.sources}
            _, wanted = r.expected(frame, schema, span=spans(r.target))
            low = -np.inf if span[0] is None else span[0]
            high = np.inf if span[1] is None else span[1]
            with np.errstate(invalid="ignore"):
                out |= (wanted < low) | (wanted > high)
        return out

    everything = np.arange(len(values))
    wrong = everything[outside(values, everything)]
    for _ in range(REDRAW_TRIES):
        if not len(wrong):
            return values
        values = _put(values, wrong, redraw(wrong))
        wrong = wrong[outside(values.iloc[wrong], wrong)]
    real = pool()
    real = real[has_value(real, schema[name])].reset_index(drop=True)
    for _ in range(REDRAW_TRIES):
        if not len(wrong) or not len(real):
            break
        values = _put(values, wrong, real.iloc[rng.integers(0, len(real), size=len(wrong))])
        wrong = wrong[outside(values.iloc[wrong], wrong)]
    return values


def _put(values: pd.Series, rows: np.ndarray, new: pd.Series) -> pd.Series:
    out = values.copy()
    out.iloc[rows] = new.to_numpy()
    return out


def _from_pool(values: pd.Series, rows: np.ndarray, checks: list[Relation],
               drawn: Mapping[str, pd.Series], pool: pd.Series, schema: Schema,
               rng: np.random.Generator) -> pd.Series:
    """Rows still broken take a real value that fits every target, drawn with its real
    frequency; a band with no real value in it clips the number into the band; anything
    else (a target no real value goes with) leaves the cell missing."""
    name = checks[0].source
    pool = pool[has_value(pool, schema[name])].reset_index(drop=True)
    keys = pd.DataFrame({i: code_text(drawn[r.target].iloc[rows]).to_numpy()
                         for i, r in enumerate(checks)})
    group = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    out = values.copy()
    for g in np.unique(group):
        members = rows[group == g]
        fits = np.ones(len(pool), dtype=bool)
        for r in checks:
            target = drawn[r.target].iloc[np.full(len(pool), members[0])].reset_index(drop=True)
            fits &= ~r.violations({name: pool, r.target: target}, schema)
        choices = np.flatnonzero(fits)
        if len(choices):
            out.iloc[members] = pool.iloc[rng.choice(choices, size=len(members))].to_numpy()
        elif len(checks) == 1 and checks[0].kind == "band":
            out.iloc[members] = _clip_to_band(checks[0], out.iloc[members],
                                              drawn[checks[0].target].iloc[members])
        else:
            out.iloc[members] = None
    return out


def _clip_to_band(relation: Relation, numbers: pd.Series, bands: pd.Series) -> np.ndarray:
    where = pd.Series(code_text(bands).to_numpy()).map(
        {level: i for i, level in enumerate(relation.levels)}).fillna(0).astype(int).to_numpy()
    low = np.concatenate([[-np.inf], relation.cuts])[where]
    high = np.concatenate([relation.cuts, [np.inf]])[where]
    return np.clip(pd.to_numeric(numbers).to_numpy(dtype=float, na_value=np.nan), low, high)
