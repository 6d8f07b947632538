"""Secure regression on vertically partitioned data: two holders hold different columns of the
same units (the outcome and some predictors at one, other predictors at the other), joined on a
shared identifier with a helper, as the vertical table (`vertical_join`); OLS and ridge here,
logistic in `vertical_logistic`.

Why this shape. The model needs ``G = W'W`` over the joined units, ``W = [1 | X | y]`` (the
design and the outcome), nothing else: ``X'X``, ``X'y`` and ``y'y`` are blocks of G. The two
holders' columns are ``W = [W_A | W_B]``, so G has three kinds of blocks: ``W_A'W_B`` (a cross
product over the joined units, which `vertical_join` computes securely) and ``W_A'W_A``,
``W_B'W_B`` (each holder's own squares, *also* over the joined units, which the holder cannot
compute alone: it does not learn which of its units joined). One secure product gives all of
them: each holder's feature matrix is ``F = [1 | V | V_i V_k (i <= k)]`` (its ring columns and
their pairwise products), and in ``F_A'F_B`` the row of A's constant 1 holds B's sums and
squares over the joined units, the column of B's 1 holds A's, and the rest the cross products.
The protocol, the join and what each party learns are those of the vertical table, unchanged;
the cost is ``1 + m + m (m + 1) / 2`` features for a holder with m ring columns instead of m.

The numbers. Each numeric column is first written as a whole number
``v = round((x - c) * 2**(2L - e))`` with the public centre ``c`` (the bounds' rounded midpoint,
so whole-number data stay exact) and ``2**e`` at least its public half-range, so that
|v| <= 2**(2L); then split in two limbs, ``v = high * 2**L + low``, each a ring column of
magnitude at most 2**L; a dummy is one 0/1 column. ``L = (62 - bits(max_records)) // 2`` keeps
every entry of the product below 2**62, the range the exact conversion needs
(`vertical_join.reconstruct_carry`): 26 bits for 1,000 units, 21 for 1,000,000. A value is
thus rounded to 2**-(2L - e) of its own units (2**-37 of a wage bounded by 20,000 at 100,000
units), and the limbs are recombined exactly on MPyC. One limb per column (tried first) rounded
a CPS wage to 1/256 of a dollar and moved small coefficients by 3e-6 of their value; with two,
the model equals statsmodels to about 1e-12. The cost: a holder with m numeric columns has 2m
ring columns, so ``1 + 2m + m (2m + 1)`` features.

The solve. A and the helper end with additive ring shares of G; the three parties turn them
into Shamir shares of the exact integers on MPyC (one secure product of the two shares' top
bits per entry, as `vertical_party`), multiply each entry by its public power of two to the
fixed point of the horizontal solve (columns scaled to [-1, 1], 64 fractional bits), and run
that same solve (`regression.solve_linear`: Newton-Schulz on shares, the singularity and
minimum-size checks, only the model opened to the result parties).

What each party learns (semi-honest, the helper colludes with no holder, as `vertical_join`):
the helper, both set sizes and the equality pattern of the pseudonyms (so the join size n);
each holder, the other's set size and n; no one which units joined, nor any sum, square or
cross product; the result holders, the model: coefficients, standard errors, R², F, the
log-likelihood and n. Two holders only (the join is two-party). A logistic model is not a
function of one Gram matrix (each Newton step needs every joined unit's linear predictor across
both holders): with family = "logistic" the join hands over the joined units' whole numbers
themselves (limbs recombined, `unit_values`) and `vertical_logistic` fits the model on them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from confidata.errors import ConfidataError, SchemaError
from confidata.secure.channel import FINAL, Links
from confidata.secure.engine import Engine
from confidata.secure.identifiers import IdentifierSet, normalise_identifiers
from confidata.secure.outcome import refuse_existing_output, write_output
from confidata.secure.party_steps import exchange_traffic, read_holder_input, run_link_then_mpc
from confidata.secure.peer_check import exchange_checks
from confidata.secure.regression import (
    FRAC_BITS,
    Design,
    RegressionResult,
    _codes,
    _numeric,
    fixed_point,
    plain_regression,
    solve_linear,
)
from confidata.secure.study import Study, load_study
from confidata.secure.vertical import unit_identifiers
from confidata.secure.vertical_join import helper_join, holder_join
from confidata.secure.vertical_logistic import secure_vertical_logistic, unit_columns
from confidata.secure.vertical_party import VerticalReport

__all__ = [
    "Column",
    "GramPlan",
    "Layout",
    "ModelInput",
    "exact_ring_values",
    "gram_plan",
    "holder_features",
    "layout",
    "model_input",
    "plain_vertical_regression",
    "run_vertical_model_party",
]

RING_BITS = 64


@dataclass(frozen=True)
class Column:
    """One design column (or the outcome) at its holder, and how it is written in the ring."""

    name: str  # coefficient name as statsmodels writes it, or the outcome's column
    source: str  # the data column
    level: str | None  # the dummy's level (categorical term), None for a numeric column
    centre: float
    exponent: int  # (x - centre) / 2**exponent lies in [-1, 1]

    @property
    def limbs(self) -> int:
        """Ring columns: a dummy is one (0/1), a numeric column two (high and low limb)."""
        return 1 if self.level is not None else 2


@dataclass(frozen=True)
class Layout:
    """Public facts only (the study): each holder's columns, and each coefficient's place."""

    holders: tuple[str, str]
    columns: dict[str, tuple[Column, ...]]
    names: tuple[str, ...]  # coefficients: Intercept, then the terms' columns in formula order
    places: tuple[tuple[str, int], ...]  # (holder, index in its columns) per coefficient and the
    # outcome last; the intercept is ("", -1)
    limb: int  # bits per limb: every ring entry lies in [-2**limb, 2**limb]

    def ring(self, holder: str) -> list[tuple[int, int]]:
        """The holder's ring columns: (its column, limb position: 1 high, 0 low)."""
        return [(i, pos) for i, c in enumerate(self.columns[holder]) for pos in range(c.limbs - 1, -1, -1)]

    def width(self, holder: str) -> int:
        m = len(self.ring(holder))
        return 1 + m + m * (m + 1) // 2

    def precision(self, holder: str, index: int) -> int:
        """The power of two of a column's whole number: 0 for the constant and dummies, 2 x limb."""
        return 0 if index < 0 or self.columns[holder][index].level is not None else 2 * self.limb


def layout(study: Study) -> Layout:
    """Where every column of the model lives and how it is scaled (from the study alone)."""
    spec = study.spec
    limb = (62 - study.max_records.bit_length()) // 2
    owner = {c: h for h, cols in spec["holders"].items() for c in cols}

    def numeric(name: str, col: str) -> Column:
        lo, hi = spec["bounds"][col]
        centre = float(np.floor((lo + hi) / 2 + 0.5))
        exponent = int(np.frexp(max(hi - centre, centre - lo))[1])  # half-range < 2**exponent
        return Column(name, col, None, centre, exponent)

    per: dict[str, list[Column]] = {h: [] for h in spec["holders"]}
    places: list[tuple[str, int]] = [("", -1)]
    names = ["Intercept"]
    for term in spec["terms"]:
        if term in spec["levels"]:
            made = [Column(f"{term}[T.{lv}]", term, lv, 0.0, 0) for lv in spec["levels"][term][1:]]
        else:
            made = [numeric(term, term)]
        for col in made:
            per[owner[term]].append(col)
            places.append((owner[term], len(per[owner[term]]) - 1))
            names.append(col.name)
    outcome = spec["outcome"]
    if spec["family"] == "logistic":  # a 0/1 outcome: its second level, or the number 1
        level = spec["levels"].get(outcome, ["0", "1"])[1]
        per[owner[outcome]].append(Column(outcome, outcome, level, 0.0, 0))
    else:
        per[owner[outcome]].append(numeric(outcome, outcome))
    places.append((owner[outcome], len(per[owner[outcome]]) - 1))
    holders = tuple(spec["holders"])
    columns = {h: tuple(c) for h, c in per.items()}
    return Layout(holders, columns, tuple(names), tuple(places), limb)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ModelInput:
    """One holder's contribution: distinct keys and its ring columns (int64, `Layout.ring`)."""

    ids: IdentifierSet
    values: np.ndarray  # n x ring columns, row k the unit of ids.keys[k]

    def __len__(self) -> int:
        return len(self.ids.keys)


def whole_numbers(lay: Layout, col: Column, x: np.ndarray) -> np.ndarray:
    """A numeric column as whole numbers ``round((x - centre) * 2**(2 limb - exponent))``, in
    [-2**(2 limb), 2**(2 limb)]; a dummy as 0/1."""
    if col.level is not None:
        return x.astype(np.int64)
    return np.rint((x - col.centre) * 2.0 ** (2 * lay.limb - col.exponent)).astype(np.int64)


def model_input(study: Study, frame: pd.DataFrame, holder: str) -> ModelInput:
    """Check a holder's frame against the study and write its columns in the ring (see notes)."""
    lay = layout(study)
    cols = lay.columns[holder]
    sources = list(dict.fromkeys(c.source for c in cols))
    ids = unit_identifiers(study, frame, holder, sources, fix="fix [regression] holders", what="values are")
    sub = frame.iloc[ids.rows]
    spec = study.spec
    codes = {s: _codes(sub, s, spec["levels"][s]) for s in sources if s in spec["levels"]}
    whole = []
    for col in cols:
        if col.level is not None and col.source not in codes:  # a numeric 0/1 logistic outcome
            x = _numeric(sub, col.source, 0.0, 1.0)
            if np.any((x != 0) & (x != 1)):
                raise SchemaError(f"Column '{col.source}': a logistic outcome must be 0 or 1 in every row.")
        elif col.level is not None:
            x = (codes[col.source] == spec["levels"][col.source].index(col.level)).astype(np.float64)
        else:
            x = _numeric(sub, col.source, *spec["bounds"][col.source])
        whole.append(whole_numbers(lay, col, x))
    out = np.zeros((len(sub), len(lay.ring(holder))), dtype=np.int64)
    for k, (i, pos) in enumerate(lay.ring(holder)):
        v = whole[i]
        low = v & ((1 << lay.limb) - 1) if cols[i].limbs == 2 else v
        out[:, k] = (v - low) >> lay.limb if pos == 1 else low
    return ModelInput(ids, out)


def unit_values(lay: Layout, holder: str, values: np.ndarray) -> np.ndarray:
    """The holder's columns as whole numbers, limbs recombined (|v| <= 2**(2 limb) < 2**62), in the
    ring: what a logistic model shares per joined unit (`vertical_logistic`)."""
    out = np.zeros((len(values), len(lay.columns[holder])), dtype=np.int64)
    for k, (i, pos) in enumerate(lay.ring(holder)):
        out[:, i] += values[:, k] << (pos * lay.limb)
    return out.astype(np.uint64)


def holder_features(values: np.ndarray) -> np.ndarray:
    """``[1 | V | V_i V_k for i <= k]`` in the ring (uint64, negatives as two's complement)."""
    n, m = values.shape
    i, k = np.triu_indices(m)
    parts = [np.ones((n, 1), dtype=np.int64), values, values[:, i] * values[:, k]]
    return np.hstack(parts).astype(np.uint64)


def _feature(m: int, index: int, other: int | None = None) -> int:
    """The feature index of ring column `index` (-1: the constant) of a holder with m ring
    columns, or of the product of ring columns `index` and `other`."""
    if other is None:
        return index + 1
    i, k = sorted((index, other))
    return 1 + m + i * m - i * (i - 1) // 2 + (k - i)


@dataclass(frozen=True)
class GramPlan:
    """How ``[X'X (row-major), X'y, y'y]`` at the fixed point comes from the product F_A'F_B.

    ``index``: the product entries used (flattened positions); output e is
    ``sum(value[index[k]] * 2**shift for k, shift in terms[e]) / 2**(precision[e])``, the sum
    being the exact integer sum of the two columns' whole numbers multiplied (limbs recombined).
    """

    index: np.ndarray
    terms: list[list[tuple[int, int]]]
    precision: list[int]

    def combine(self, exact: list[int]) -> list[int]:
        """The whole-number sums from the exact product entries (plain ints; the test's path)."""
        return [sum(int(exact[k]) << shift for k, shift in t) for t in self.terms]


def gram_plan(lay: Layout) -> GramPlan:
    a, b = lay.holders
    ring = {h: lay.ring(h) for h in lay.holders}
    wb = lay.width(b)
    p = len(lay.names)

    def limbs(u: int) -> list[tuple[str, int, int]]:  # (holder, ring column, weight) of column u
        h, i = lay.places[u]
        if i < 0:
            return [("", -1, 0)]
        return [(h, r, pos * lay.limb) for r, (j, pos) in enumerate(ring[h]) if j == i]

    def position(hu: str, ru: int, hv: str, rv: int) -> int:
        if hu != b and hv != a:  # u at A (or the constant), v at B (or the constant)
            r, c = _feature(len(ring[a]), ru), _feature(len(ring[b]), rv)
        elif hu != a and hv != b:
            r, c = _feature(len(ring[a]), rv), _feature(len(ring[b]), ru)
        elif hu == a:  # both at A: A's product column against B's constant
            r, c = _feature(len(ring[a]), ru, rv), 0
        else:
            r, c = 0, _feature(len(ring[b]), ru, rv)
        return r * wb + c

    pairs = [(u, v) for u in range(p) for v in range(p)] + [(u, p) for u in range(p)] + [(p, p)]
    index: dict[int, int] = {}
    terms, precision = [], []
    for u, v in pairs:
        term = []
        for hu, ru, wu in limbs(u):
            for hv, rv, wv in limbs(v):
                k = index.setdefault(position(hu, ru, hv, rv), len(index))
                term.append((k, wu + wv))
        terms.append(term)
        precision.append(sum(lay.precision(*lay.places[w]) for w in (u, v)))
    return GramPlan(np.array(list(index), dtype=np.int64), terms, precision)


def design_map(study: Study, lay: Layout) -> Design:
    """The public map from the scaled coefficients to the data's units (no rows: `Design.X` empty)."""
    p = len(lay.names)
    T = np.eye(p)
    for j, (h, i) in enumerate(lay.places[1:p], start=1):
        col = lay.columns[h][i]
        T[j, j] = 2.0**-col.exponent
        T[0, j] = -col.centre * 2.0**-col.exponent
    h, i = lay.places[p]
    y = lay.columns[h][i]
    return Design(np.zeros((0, p)), np.zeros(0), list(lay.names), T, y.centre, 2.0**y.exponent)


def plain_vertical_regression(study: Study, frames: dict[str, pd.DataFrame]) -> RegressionResult:
    """The same model in the clear: normalise, merge on the identifier, fit (tests and the demo)."""
    parts = []
    for holder in layout(study).holders:
        frame = frames[holder]
        ids = normalise_identifiers(study, frame)
        cols = study.spec["holders"][holder]
        part = frame.iloc[ids.rows][cols].reset_index(drop=True)
        part["_key"] = ids.keys.astype(str)
        parts.append(part)
    joined = parts[0].merge(parts[1], on="_key", how="inner")
    return plain_regression(study, joined)


# -- the party's process -------------------------------------------------------------------------------


def run_vertical_model_party(
    study_path: str | Path | Study,
    name: str,
    data: str | Path | None,
    *,
    schema: str | Path | None = None,
    key: str | Path | None = None,
    output: str | Path | None = None,
    overwrite: bool = False,
    added_delay: float = 0.0,
) -> VerticalReport:
    """Run one party (holder or helper) of a vertical regression to the end; raises
    `ConfidataError` naming the party at fault. Order of events and failure handling are those
    of the vertical table (`vertical_party`): read, check the peers, join, then MPyC."""
    started = time.perf_counter()
    study = study_path if isinstance(study_path, Study) else load_study(study_path)
    if not study.is_vertical_model:
        raise ConfidataError(
            "This study is not a vertical regression (no [regression] holders); run it with 'secure party'."
        )
    party = study.party(name)
    refuse_existing_output(output, overwrite)
    inp, problem = None, None
    if party.role == "holder":
        inp, problem = read_holder_input(name, data, schema, lambda frame: model_input(study, frame, name))
    key_file = Path(key) if key else None
    links = Links(study, name, key_file=key_file, added_delay=added_delay)
    engine = Engine(study, name, key_file=key_file, added_delay=added_delay)
    engine.build()
    report = run_link_then_mpc(
        links, engine, name, lambda phase: _main(links, engine, study, party.role, inp, problem, phase)
    )
    report.seconds_total = time.perf_counter() - started
    if inp is not None:
        report.local_notes = [
            f"{len(inp):,} units with a complete identifier; {inp.ids.missing:,} row(s) without one left out."
        ]
    write_output(output, report)
    return report


async def _main(
    links: Links, engine: Engine, study: Study, role: str, inp, problem, phase: dict
) -> VerticalReport:
    lay = layout(study)
    await links.connect()
    connected = time.perf_counter()
    others = [p.name for p in study.parties if p.name != links.me]
    await exchange_checks(links, study, role, problem)
    logistic = study.spec["family"] == "logistic"
    if logistic:  # the joined units themselves, not a product (`vertical_logistic`)
        dims = (RING_BITS, *(len(lay.columns[h]) for h in study.by_holders))
    else:
        dims = (RING_BITS, lay.width(lay.holders[0]), lay.width(lay.holders[1]))
    if role == "helper":
        share, join_size = await helper_join(links, study, dims=dims, units=logistic)
    else:
        make = (lambda v: unit_values(lay, links.me, v)) if logistic else holder_features
        feats = await links.compute(make, inp.values)
        share, join_size = await holder_join(links, study, inp, feats=feats, dims=dims, units=logistic)
    seconds_join = time.perf_counter() - connected
    for peer in others:  # the last message on these links; their close is then orderly
        await links.send(peer, FINAL, {"done": 1})
    for peer in others:
        await links.recv(peer, FINAL)
    await links.close()
    await asyncio.sleep(0.05)  # let the links' sockets close before MPyC listens on the same port

    phase["mpc"] = True
    await engine.connect()
    sh = fixed_point(engine)
    if logistic:
        order = {hi: k for k, hi in enumerate(unit_columns(lay, study.by_holders))}
        positions = [(order[hi], lay.precision(*hi)) for hi in lay.places[1:]]
        flat = None if share is None else share.reshape(-1)
        units = (await exact_ring_values(engine, sh, study, flat, join_size * len(order))).reshape(
            join_size, len(order)
        )
        result = await secure_vertical_logistic(engine, sh, study, design_map(study, lay), units, positions)
    else:
        plan = gram_plan(lay)
        mine = None if share is None else share.reshape(-1)[plan.index]
        total = await _exact_gram(engine, sh, study, mine, plan)
        result = await solve_linear(sh, study, design_map(study, lay), total, study.max_records)
    if result is not None:
        result.notes.append(
            f"vertical: {join_size:,} units joined on the identifier; the model is over them only."
        )
    seconds = time.perf_counter() - connected
    counts = [links.bytes_sent(), links.messages_sent(), links.rounds]
    counts += [engine.bytes_sent(), engine.messages_sent(), engine.rounds]
    traffic = await exchange_traffic(engine, study, counts)
    await engine.shutdown()
    return VerticalReport(
        links.me,
        role,
        result,
        seconds,
        0.0,
        **traffic,
        seconds_join=seconds_join,
        join_size=join_size,
        study_digest=study.digest,
        result_parties=list(study.results),
    )


async def exact_ring_values(engine: Engine, sh, study: Study, share: np.ndarray | None, k: int):
    """Shares (field array, the integers themselves) of k exact values from A's and the helper's
    ring shares (B passes None): t = a + h - 2**64 * (top bit of a OR top bit of h) - 2**62 (A
    added 2**62; `vertical_join.reconstruct_carry` in the clear), the OR one secure product of
    bits. Used for the Gram entries and, in a logistic model, the joined units' values."""
    if RING_BITS != FRAC_BITS:  # the wrap term below is a bit at scale 2**f standing for 2**64
        raise ConfidataError("The vertical regression needs the ring and the fixed point at 64 bits.")
    rt, field = engine.rt, sh.field
    if share is not None:
        values = [int(v) for v in np.asarray(share, dtype=np.uint64)]
        mine = np.array(values + [(v >> (RING_BITS - 1)) << FRAC_BITS for v in values], dtype=object)
    else:
        mine = np.zeros(2 * k, dtype=object)
    senders = [study.index(study.by_holders[0]), study.index(study.helper.name)]
    got_a, got_h = rt.input(sh.secfxp.array(field.array(mine), integral=False), senders=senders)
    a = await engine.step(rt.gather(got_a), "the Gram shares")
    h = await engine.step(rt.gather(got_h), "the Gram shares")
    wrap = a[k:] + h[k:] - await sh.mul(a[k:], h[k:])
    return a[:k] + h[:k] - wrap - field(1 << (RING_BITS - 2))


async def _exact_gram(engine: Engine, sh, study: Study, share: np.ndarray | None, plan: GramPlan):
    """Shares (field array at 2**f) of the scaled ``[X'X, X'y, y'y]``: the exact product entries
    (`exact_ring_values`), the limbs recombined and each entry brought to the fixed point by
    public powers of two and one truncation."""
    field = sh.field
    exact = await exact_ring_values(engine, sh, study, share, len(plan.index))
    # entry e is sum(t * 2**shift) / 2**precision at scale 1, i.e. that sum times
    # 2**(2f - precision) at scale 2**(2f): one truncation brings all to 2**f
    out = []
    for terms, prec in zip(plan.terms, plan.precision, strict=True):
        acc = field(0)
        for j, shift in terms:
            acc = acc + exact[j] * field(1 << (shift + 2 * FRAC_BITS - prec))
        out.append(acc.value)
    return await sh.truncate(field.array(np.array(out, dtype=object)))
