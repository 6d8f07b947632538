"""Scaling laws fitted to measured runs: cost = a * records^b (* parties^d) + c * rounds * latency.

Why a fitted law at all: the benchmark cannot run every cell a methodologist asks about (ten
million records, a continent's latency), yet a recommendation must say what a technique would
cost there. A power law in the number of records is what the protocols' own cost statements
predict (linear for PSI and the join, near constant rounds for MPC), and it is fitted on logs so
that a run at 10^4 records weighs as much as one at 10^6. Added latency is not multiplicative:
each communication round waits for it once, so wall time gains `c * rounds * latency` on top of
the law at no added latency, with `c` fitted from the runs that had latency (about 1 when every
round costs one one-way delay).

Every prediction carries its error and says whether it is an interpolation or an extrapolation:
the error is both the leave-one-out factor (how far the law misses a measured run it was not
fitted on, a check that does not trust the model) and the least-squares prediction interval on
logs (which widens with the distance from the measured range). Beyond `max_factor` times the
measured range the law refuses (`ExtrapolationRefused`): a power law fitted on 10^4..10^6 says
nothing reliable about 10^9, where memory or a quadratic step would take over.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from confidata.errors import ConfidataError

__all__ = [
    "DEFAULT_MAX_FACTOR",
    "METRICS",
    "CostModel",
    "ExtrapolationRefused",
    "Law",
    "Point",
    "Prediction",
    "fit_law",
    "fit_models",
    "metric_value",
    "ModelKey",
]

# How far beyond the measured range (a factor in records or parties) a law may be used.
DEFAULT_MAX_FACTOR = 10.0
# Probability of the prediction interval on logs.
INTERVAL = 0.90
# (scenario, technique, output protection): one cost model each.
ModelKey = tuple[str, str, str]


class ExtrapolationRefused(ConfidataError, ValueError):
    """A prediction asked for too far from every measured run for the law to be trusted."""


def _total(values: Iterable[Any]) -> float | None:
    got = [float(v) for v in values if v is not None]
    return sum(got) if got else None


def _peak(values: Iterable[Any]) -> float | None:
    got = [float(v) for v in values if v is not None]
    return max(got) if got else None


def _per_party(run: Any, key: str) -> list[Any]:
    return [(p or {}).get(key) for p in (getattr(run, "per_party", None) or [])]


# The figures a law is fitted to, each read from a run record (contract fields of ipp/runs.py).
# Bytes are everything sent by all parties (what the network carries); rounds the longest chain
# of any party; CPU the sum over parties; memory the largest party's peak.
METRICS: dict[str, tuple[str, Callable[[Any], float | None]]] = {
    "wall_s": ("wall time (s)", lambda r: getattr(r, "wall_s", None)),
    "bytes": ("bytes sent, all parties", lambda r: _total(_per_party(r, "bytes_sent"))),
    "rounds": ("communication rounds", lambda r: _peak(_per_party(r, "rounds"))),
    "cpu_s": ("CPU seconds, all parties", lambda r: _total(_per_party(r, "cpu_s"))),
    "peak_rss_mb": ("peak memory of a party (MB)", lambda r: _peak(_per_party(r, "peak_rss_mb"))),
}


def metric_value(run: Any, metric: str) -> float | None:
    """One figure of one run, or None where the run did not measure it (never invented)."""
    if metric not in METRICS:
        raise ConfidataError(f"There is no metric '{metric}'; use one of {', '.join(METRICS)}.")
    return METRICS[metric][1](run)


@dataclass(frozen=True)
class Point:
    """One measured figure at one cell (records per party, parties, added latency)."""

    records: int
    parties: int
    latency_ms: float
    value: float
    run_id: str
    rounds: float | None = None


@dataclass(frozen=True)
class Prediction:
    """A figure at a cell: measured (the mean of the runs there) or from the law, and how sure."""

    metric: str
    value: float
    low: float | None  # the prediction interval, None where it cannot be estimated
    high: float | None
    measured: bool  # a run exists at exactly this cell
    extrapolated: bool  # outside the measured range (within max_factor of it)
    note: str
    run_ids: tuple[str, ...]  # the runs the figure rests on

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "value": self.value, "low": self.low, "high": self.high,
                "measured": self.measured, "extrapolated": self.extrapolated, "note": self.note,
                "run_ids": list(self.run_ids)}


@dataclass(frozen=True)
class Law:
    """log(value) = log_a + b * log(records) [+ d * log(parties)], fitted by least squares.

    `loo_factor` is exp of the root-mean-square leave-one-out error on logs: 1.3 means the law
    misses a run it was not fitted on by about 30 %. None where too few points to check.
    """

    metric: str
    log_a: float
    b: float
    d: float | None  # exponent in parties, None when the points hold one party count only
    points: tuple[Point, ...]
    loo_factor: float | None
    residual_sd: float | None  # on logs, with n - k degrees of freedom; None when n == k
    xtx_inv: tuple[tuple[float, ...], ...] | None
    zero: bool = False  # every measured value was 0 (no transport, no rounds)
    flat: bool = False  # the fitted exponent in records was below 0 and is held at 0
    max_factor: float = DEFAULT_MAX_FACTOR

    @property
    def records_range(self) -> tuple[int, int]:
        n = [p.records for p in self.points]
        return min(n), max(n)

    @property
    def parties_range(self) -> tuple[int, int]:
        m = [p.parties for p in self.points]
        return min(m), max(m)

    def formula(self) -> str:
        if self.zero:
            return f"{self.metric} = 0"
        text = f"{self.metric} = {math.exp(self.log_a):.3g} * records^{self.b:.2f}"
        if self.flat:
            text += " (held at 0: the runs fell with records, which is noise)"
        if self.d is not None:
            text += f" * parties^{self.d:.2f}"
        return text

    def _x(self, records: float, parties: float) -> np.ndarray:
        x = [1.0] if self.flat else [1.0, math.log(records)]
        if self.d is not None:
            x.append(math.log(parties))
        return np.asarray(x)

    def check_range(self, records: int, parties: int) -> tuple[bool, str]:
        """(extrapolated?, why) for a cell, or ExtrapolationRefused when beyond max_factor."""
        lo, hi = self.records_range
        notes = []
        if records > hi * self.max_factor or records < lo / self.max_factor:
            raise ExtrapolationRefused(
                f"{records:,} records per party is more than {self.max_factor:g}x beyond the measured "
                f"{lo:,}..{hi:,} for {self.metric}; measure nearer sizes (confidata ipp bench --sizes) "
                "rather than trust a power law that far."
            )
        if records > hi or records < lo:
            notes.append(f"{records:,} records is outside the measured {lo:,}..{hi:,}")
        plo, phi = self.parties_range
        if parties != plo or parties != phi:
            if self.d is None:
                raise ExtrapolationRefused(
                    f"{self.metric} was measured with {plo} parties only, not {parties}; the law cannot "
                    "say how it grows with parties."
                )
            if parties > phi * self.max_factor or parties < plo / self.max_factor:
                raise ExtrapolationRefused(
                    f"{parties} parties is more than {self.max_factor:g}x beyond the measured {plo}..{phi}."
                )
            if parties > phi or parties < plo:
                notes.append(f"{parties} parties is outside the measured {plo}..{phi}")
        return bool(notes), "; ".join(notes)

    def predict(self, records: int, parties: int) -> tuple[float, float | None, float | None]:
        """(value, low, high) at a cell; the range check is the caller's (`check_range`)."""
        if self.zero:
            return 0.0, 0.0, 0.0
        x = self._x(records, parties)
        coef = [self.log_a] + ([] if self.flat else [self.b]) + ([self.d] if self.d is not None else [])
        mean = float(np.dot(coef, x))
        if self.residual_sd is None or self.xtx_inv is None:
            return math.exp(mean), None, None
        dof = len(self.points) - len(coef)
        spread = self.residual_sd * math.sqrt(1.0 + float(x @ np.asarray(self.xtx_inv) @ x))
        t = float(stats.t.ppf(0.5 + INTERVAL / 2, dof))
        return math.exp(mean), math.exp(mean - t * spread), math.exp(mean + t * spread)


def _design(points: Sequence[Point], with_parties: bool) -> np.ndarray:
    cols = [np.ones(len(points)), np.log([p.records for p in points])]
    if with_parties:
        cols.append(np.log([p.parties for p in points]))
    return np.column_stack(cols)


def _lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(x, y, rcond=None)[0]


def fit_law(points: Sequence[Point], metric: str, *, max_factor: float = DEFAULT_MAX_FACTOR) -> Law:
    """Fit the power law to points measured at no added latency.

    Needs two distinct record counts: a single size raises, so that no law pretends to know a
    slope it never saw. Points whose value is 0 or missing are not fitted on logs; if every value
    is 0 the law is exactly 0 (a baseline that sends nothing).
    """
    usable = [p for p in points if p.value is not None and math.isfinite(p.value)]
    if usable and all(p.value == 0 for p in usable):
        return Law(metric, 0.0, 0.0, None, tuple(usable), None, None, None, zero=True,
                   max_factor=max_factor)
    usable = [p for p in usable if p.value > 0 and p.records > 0 and p.parties > 0]
    sizes = {p.records for p in usable}
    if len(sizes) < 2:
        raise ConfidataError(
            f"A scaling law for {metric} needs runs at two record counts or more; "
            f"{'only ' + format(next(iter(sizes)), ',') if sizes else 'no usable run'} measured."
        )
    with_parties = len({p.parties for p in usable}) >= 2 and len(usable) >= 4
    x = _design(usable, with_parties)
    y = np.log([p.value for p in usable])
    coef = _lstsq(x, y)
    flat = bool(coef[1] < 0)
    if flat:
        # a cost cannot fall as records grow: a negative slope is the machine's noise around a
        # cost that does not grow at this range, so the law is refitted without the records term
        x = x[:, [0, 2]] if with_parties else x[:, [0]]
        reduced = _lstsq(x, y)
        coef = np.asarray([reduced[0], 0.0] + ([reduced[1]] if with_parties else []))
    k = x.shape[1]
    n = len(usable)
    residual_sd = xtx_inv = None
    if n > k and np.linalg.matrix_rank(x) == k:
        resid = y - x @ (np.delete(coef, 1) if flat else coef)
        residual_sd = float(math.sqrt(float(resid @ resid) / (n - k)))
        xtx_inv = tuple(tuple(float(v) for v in row) for row in np.linalg.inv(x.T @ x))
    loo = _leave_one_out(x, y)
    return Law(metric, float(coef[0]), float(coef[1]), float(coef[2]) if with_parties else None,
               tuple(usable), loo, residual_sd, xtx_inv, max_factor=max_factor, flat=flat)


def _leave_one_out(x: np.ndarray, y: np.ndarray) -> float | None:
    """exp(RMS of log errors on each point when the law is fitted without it), or None."""
    errors = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        xi = x[keep]
        if np.linalg.matrix_rank(xi) < x.shape[1]:
            continue  # without this point the law cannot be fitted: it tells nothing here
        errors.append(float(y[i] - x[i] @ _lstsq(xi, y[keep])))
    if not errors:
        return None
    return float(math.exp(math.sqrt(sum(e * e for e in errors) / len(errors))))


@dataclass(frozen=True)
class CostModel:
    """The laws of one technique in one scenario and output protection, from its ok runs."""

    scenario: str
    technique: str
    protection: str
    laws: Mapping[str, Law]
    latency_c: float | None  # seconds of wall time per round per second of added latency
    latency_run_ids: tuple[str, ...]
    latency_range: tuple[float, float]
    points: Mapping[str, tuple[Point, ...]] = field(default_factory=dict)
    problems: Mapping[str, str] = field(default_factory=dict)  # metric -> why no law

    def predict(self, records: int, parties: int, latency_ms: float, metric: str) -> Prediction:
        """A figure at a cell: the measured mean where runs exist there, else from the law.

        Raises ExtrapolationRefused (too far from the runs) or ConfidataError (no law).
        """
        exact = [p for p in self.points.get(metric, ()) if p.records == records and p.parties == parties
                 and p.latency_ms == latency_ms]
        if exact:
            values = [p.value for p in exact]
            return Prediction(metric, float(np.mean(values)), min(values), max(values), True, False,
                              f"measured ({len(exact)} run{'s' if len(exact) > 1 else ''})",
                              tuple(p.run_id for p in exact))
        between = self._between_latencies(records, parties, latency_ms, metric)
        if between is not None:
            return between
        base_ms = self.latency_range[0]
        if metric == "wall_s" and latency_ms > base_ms:
            # the figure at the base latency (measured or from the law), plus the rounds' waits
            base = self.predict(records, parties, base_ms, metric)
            rounds = self.predict(records, parties, base_ms, "rounds")
            return self._add_latency(base, rounds, latency_ms, latency_ms - base_ms)
        if metric not in self.laws:
            raise ConfidataError(self.problems.get(metric, f"no law for {metric}"))
        law = self.laws[metric]
        extrapolated, why = law.check_range(records, parties)
        value, low, high = law.predict(records, parties)
        notes, ids = [], [p.run_id for p in law.points]
        anchor = self._nearest_base(law, records, parties)
        if anchor is not None and not law.zero:
            # the nearest run, scaled by the law's ratio: the law supplies only the growth, so a
            # constant start-up cost it does not model shifts the estimate less
            near, runs_near = anchor
            at_near, _, _ = law.predict(near, parties)
            measured_near = float(np.mean([p.value for p in runs_near]))
            factor = measured_near / at_near
            value, low, high = value * factor, _times(low, factor), _times(high, factor)
            notes.append(f"the run(s) at {near:,} records scaled by the law {law.formula()}")
            ids = [p.run_id for p in runs_near] + ids
        else:
            notes.append(f"from the law {law.formula()}")
        if law.loo_factor is not None:
            notes.append(f"leave-one-out error x{law.loo_factor:.2f}")
        else:
            notes.append("error unknown (too few runs to check the law)")
        if why:
            notes.append(why)
        return Prediction(metric, value, low, high, False, extrapolated, "; ".join(notes),
                          tuple(dict.fromkeys(ids)))

    def _nearest_base(self, law: Law, records: int, parties: int) -> tuple[int, list[Point]] | None:
        """The law's measured size nearest `records` (on logs) at this party count, and its runs."""
        same = [p for p in law.points if p.parties == parties]
        if not same:
            return None
        near = min({p.records for p in same}, key=lambda n: (abs(math.log(n / records)), n))
        return near, [p for p in same if p.records == near]

    def _between_latencies(
        self, records: int, parties: int, latency_ms: float, metric: str
    ) -> Prediction | None:
        """Wall time at a latency between two measured at this very size: linear, as rounds make it."""
        if metric != "wall_s":
            return None
        by_ms: dict[float, list[Point]] = {}
        for p in self.points.get(metric, ()):
            if p.records == records and p.parties == parties:
                by_ms.setdefault(p.latency_ms, []).append(p)
        below = [ms for ms in by_ms if ms < latency_ms]
        above = [ms for ms in by_ms if ms > latency_ms]
        if not below or not above:
            return None
        lo, hi = max(below), min(above)
        v_lo = float(np.mean([p.value for p in by_ms[lo]]))
        v_hi = float(np.mean([p.value for p in by_ms[hi]]))
        value = v_lo + (v_hi - v_lo) * (latency_ms - lo) / (hi - lo)
        ids = tuple(p.run_id for p in by_ms[lo] + by_ms[hi])
        return Prediction(metric, value, min(v_lo, v_hi), max(v_lo, v_hi), False, False,
                          f"interpolated between the runs at {lo:g} and {hi:g} ms at this size", ids)

    def _add_latency(
        self, base: Prediction, rounds: Prediction, latency_ms: float, extra_ms: float
    ) -> Prediction:
        """Wall time at a latency above the base one: each round waits `c` times the added delay."""
        hi_ms = self.latency_range[1]
        beyond = False
        if self.latency_c is None:
            c, note = 1.0, (f"latency not measured: one added delay per round assumed (a lower bound), "
                            f"{rounds.value:.0f} rounds")
            beyond = True
        else:
            c = self.latency_c
            note = (f"plus {c:.2f} x {rounds.value:.0f} rounds x {extra_ms:g} ms (c fitted on the runs with "
                    "latency)")
            if latency_ms > hi_ms * DEFAULT_MAX_FACTOR:
                raise ExtrapolationRefused(
                    f"{latency_ms:g} ms is more than {DEFAULT_MAX_FACTOR:g}x the largest measured latency "
                    f"({hi_ms:g} ms).")
            if latency_ms > hi_ms:
                beyond = True
                note += f"; {latency_ms:g} ms is beyond the measured {hi_ms:g} ms"
        add = c * rounds.value * extra_ms / 1000.0
        ids = base.run_ids + rounds.run_ids + self.latency_run_ids
        return Prediction(base.metric, base.value + add, None if base.low is None else base.low + add,
                          None if base.high is None else base.high + add, False, base.extrapolated or beyond,
                          f"{base.note}; {note}", tuple(dict.fromkeys(ids)))


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _points(runs: Sequence[Any], metric: str) -> list[Point]:
    out = []
    for run in runs:
        value = metric_value(run, metric)
        if value is None:
            continue
        out.append(Point(int(run.records), int(run.parties), float(run.latency_ms or 0), float(value),
                         str(run.run_id), metric_value(run, "rounds")))
    return out


def fit_models(runs: Iterable[Any], *, max_factor: float = DEFAULT_MAX_FACTOR) -> dict[ModelKey, CostModel]:
    """One CostModel per (scenario, technique, protection) from the runs that finished ok.

    Only real runs count (`extrapolated` false, status ok). The laws are fitted on the runs at
    the smallest added latency measured (0 ms in a normal grid); the latency coefficient on the
    others, against the law's prediction at their size.
    """
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for run in runs:
        if getattr(run, "status", None) != "ok" or getattr(run, "extrapolated", False):
            continue
        key = (run.scenario, run.technique, getattr(run, "protection", None) or "none")
        groups.setdefault(key, []).append(run)
    models = {}
    for key, group in sorted(groups.items()):
        base_ms = min(float(r.latency_ms or 0) for r in group)
        base = [r for r in group if float(r.latency_ms or 0) == base_ms]
        laws, problems, points = {}, {}, {}
        for metric in METRICS:
            points[metric] = tuple(_points(group, metric))
            try:
                laws[metric] = fit_law(_points(base, metric), metric, max_factor=max_factor)
            except ConfidataError as exc:
                problems[metric] = str(exc)
        c, ids = _fit_latency(group, base_ms, laws)
        latencies = [float(r.latency_ms or 0) for r in group]
        models[key] = CostModel(key[0], key[1], key[2], laws, c, ids, (min(latencies), max(latencies)),
                                points, problems)
    return models


def _fit_latency(
    group: Sequence[Any], base_ms: float, laws: Mapping[str, Law]
) -> tuple[float | None, tuple[str, ...]]:
    """Least squares through the origin: extra wall seconds against rounds x added latency."""
    wall = laws.get("wall_s")
    xs, ys, ids = [], [], []
    for run in group:
        ms = float(run.latency_ms or 0) - base_ms
        rounds = metric_value(run, "rounds")
        if ms <= 0 or rounds is None or run.wall_s is None or wall is None:
            continue
        try:
            wall.check_range(int(run.records), int(run.parties))
        except ExtrapolationRefused:
            continue
        expected, _, _ = wall.predict(int(run.records), int(run.parties))
        xs.append(rounds * ms / 1000.0)
        ys.append(float(run.wall_s) - expected)
        ids.append(str(run.run_id))
    if not xs or not any(xs):
        return None, ()
    x, y = np.asarray(xs), np.asarray(ys)
    return max(float(x @ y / (x @ x)), 0.0), tuple(ids)
