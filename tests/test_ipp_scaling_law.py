"""The scaling law behind extrapolated cells and recommendations (`confidata.ipp.scaling_law`).

It must recover the exponents it is given (in records and in parties), put the truth inside its
prediction interval, fit the latency's cost per round, read a measured cell rather than model
it, and refuse to extrapolate far or to a party count it never saw.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from confidata.errors import ConfidataError
from confidata.ipp.scaling_law import ExtrapolationRefused, Point, fit_law, fit_models


def _points(a: float, b: float, sizes, noise: float = 0.0, parties=(3,), d: float = 0.0, seed: int = 7):
    rng = np.random.default_rng(seed)
    out = []
    for p in parties:
        for i, n in enumerate(sizes):
            value = a * n ** b * p ** d * math.exp(rng.normal(0, noise) if noise else 0.0)
            out.append(Point(int(n), p, 0.0, value, f"r{p}-{i}"))
    return out


def test_the_law_recovers_a_known_exponent_exactly_without_noise():
    law = fit_law(_points(3e-5, 0.85, [1e3, 1e4, 1e5, 1e6]), "wall_s")
    assert law.b == pytest.approx(0.85, abs=1e-9)
    assert math.exp(law.log_a) == pytest.approx(3e-5, rel=1e-9)
    assert law.loo_factor == pytest.approx(1.0, abs=1e-9)


def test_with_noise_the_exponent_is_close_and_the_interval_holds_the_truth():
    sizes = np.geomspace(1e3, 1e6, 10)
    law = fit_law(_points(2e-4, 1.1, sizes, noise=0.05), "wall_s")
    assert law.b == pytest.approx(1.1, abs=0.05)
    assert 1.0 < law.loo_factor < 1.15
    truth = 2e-4 * 3e6 ** 1.1
    value, low, high = law.predict(3_000_000, 3)
    assert low < truth < high and value == pytest.approx(truth, rel=0.15)
    extrapolated, why = law.check_range(3_000_000, 3)
    assert extrapolated and "outside the measured" in why
    # the interval widens away from the data: wider at 10x beyond than in the middle
    _, lo_mid, hi_mid = law.predict(30_000, 3)
    _, lo_far, hi_far = law.predict(10_000_000, 3)
    assert hi_far / lo_far > hi_mid / lo_mid


def test_the_law_refuses_wild_extrapolation_and_unmeasured_party_counts():
    law = fit_law(_points(1e-4, 1.0, [1e4, 1e5, 1e6]), "wall_s")
    law.check_range(10_000_000, 3)  # 10x: allowed, marked
    with pytest.raises(ExtrapolationRefused, match="more than 10x beyond"):
        law.check_range(100_000_000, 3)
    with pytest.raises(ExtrapolationRefused, match="3 parties only"):
        law.check_range(100_000, 5)
    with pytest.raises(ConfidataError, match="two record counts"):
        fit_law(_points(1e-4, 1.0, [1e4]), "wall_s")


def test_the_law_recovers_the_party_exponent_when_parties_vary():
    law = fit_law(_points(1e-4, 1.0, [1e4, 1e5, 1e6], parties=(3, 5, 7), d=2.0), "wall_s")
    assert law.b == pytest.approx(1.0, abs=1e-9) and law.d == pytest.approx(2.0, abs=1e-9)
    value, _, _ = law.predict(100_000, 4)
    assert value == pytest.approx(1e-4 * 1e5 * 16, rel=1e-9)


def _run(n, latency, wall, rounds, i):
    party = {"bytes_sent": 10 * n, "rounds": rounds, "cpu_s": wall, "peak_rss_mb": 100.0}
    return SimpleNamespace(run_id=f"l{i}", status="ok", extrapolated=False, scenario="s", technique="t",
                           protection="none", records=n, parties=2, latency_ms=latency, wall_s=wall,
                           per_party=[party, party])


def test_latency_costs_a_fitted_share_of_one_delay_per_round():
    runs = [_run(n, 0.0, 1e-4 * n, 4, i) for i, n in enumerate([1e4, 1e5, 1e6])]
    runs += [_run(10_000, ms, 1.0 + 0.8 * 4 * ms / 1000, 4, 10 + i) for i, ms in enumerate([10, 50, 150])]
    model = fit_models(runs)[("s", "t", "none")]
    assert model.latency_c == pytest.approx(0.8, rel=1e-6)
    pred = model.predict(100_000, 2, 100.0, "wall_s")
    assert pred.value == pytest.approx(10.0 + 0.8 * 4 * 0.1, rel=1e-6)
    assert not pred.measured and not pred.extrapolated and "l10" in pred.run_ids
    # a measured cell is read, not modelled; between two measured latencies, a straight line
    assert model.predict(10_000, 2, 50.0, "wall_s").run_ids == ("l11",)
    between = model.predict(10_000, 2, 30.0, "wall_s")
    assert between.value == pytest.approx(1.0 + 0.8 * 4 * 0.03, rel=1e-9)
    assert between.run_ids == ("l10", "l11") and "between the runs at 10 and 50 ms" in between.note
    # bytes do not depend on latency and are linear here: 10 bytes a record from each of 2 parties
    assert model.predict(300_000, 2, 0.0, "bytes").value == pytest.approx(6e6, rel=1e-9)


def test_an_unmeasured_size_is_the_nearest_run_scaled_by_the_law():
    # a start-up cost the power law does not model: anchoring on the nearest run keeps it
    runs = [_run(n, 0.0, 5.0 + 1e-4 * n, 2, i) for i, n in enumerate([1e4, 1e5, 1e6])]
    model = fit_models(runs)[("s", "t", "none")]
    law = model.laws["wall_s"]
    pred = model.predict(2_000_000, 2, 0.0, "wall_s")
    raw, _, _ = law.predict(2_000_000, 2)
    truth = 5.0 + 1e-4 * 2e6
    assert abs(pred.value - truth) < abs(raw - truth)
    ratio = raw / law.predict(1_000_000, 2)[0]
    assert pred.value == pytest.approx(105.0 * ratio, rel=1e-9)
    assert pred.extrapolated and pred.run_ids[0] == "l2"
    assert "the run(s) at 1,000,000 records scaled" in pred.note


def test_a_cost_that_fell_with_records_is_held_flat_not_extrapolated_downwards():
    # a fixed-cost protocol timed on a busy machine: 0.30 s at 10^4, 0.16 s at 10^5
    points = [Point(10_000, 3, 0.0, 0.30, "a"), Point(100_000, 3, 0.0, 0.16, "b"),
              Point(100_000, 3, 0.0, 0.20, "c")]
    law = fit_law(points, "wall_s")
    assert law.flat and law.b == 0.0 and "held at 0" in law.formula()
    value, low, high = law.predict(1_000_000, 3)
    assert value == pytest.approx(math.exp(np.mean(np.log([0.30, 0.16, 0.20]))), rel=1e-9)
    assert low < 0.16 and high > 0.30  # the spread of the runs, widened for the three of them
