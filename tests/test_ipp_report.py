"""`confidata ipp report`: runs of the benchmark as one HTML page, with JSON and Markdown.

The report must show figures that are in the results file (a report made up of anything else
fails), mark what it extrapolates, list every run that did not finish with its reason, and load
in a real headless browser with every plot and no console message.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _ipp_runs import COMMIT, write_runs
from confidata.cli import app
from confidata.errors import OutputExistsError
from confidata.ipp._report_render import fmt
from confidata.ipp.report import build_report, render_html, render_markdown, write_report
from confidata.ipp.runs import read_runs
from test_report import _load_in_browser, needs_chromium

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = [ROOT / "bench" / "results_ipp" / name for name in ("results.jsonl", "quick.jsonl")]


# ---- the report ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    return write_runs(tmp_path_factory.mktemp("ipp") / "results.jsonl")


def test_the_report_shows_the_files_figures_and_marks_extrapolated_cells(results):
    runs = read_runs(results)
    data = build_report(runs, source=str(results))
    assert data["summary"] == {"runs": len(runs), "ok": len(runs) - 2, "failed": 0, "refused": 1,
                               "timeout": 1, "scenarios": 2, "techniques": 6}
    assert data["commits"] == [COMMIT]
    html, md = render_html(data), render_markdown(data)
    # a figure from the file, as the report formats it: the ECDH run at 10^5 records, no latency
    ecdh = next(r for r in runs if r.technique == "psi_ecdh" and r.records == 100_000 and r.latency_ms == 0)
    shown = fmt(ecdh.wall_s)
    assert shown == "10.3"
    row = re.search(r"<tr><td>psi_ecdh</td><td class=num>100,000</td>.*?</tr>", html).group(0)
    assert f"<td class=num>{shown}</td>" in row and ecdh.run_id in row
    assert f"| psi_ecdh | 100,000 | 2 | 0 | none | {shown} |" in md
    # HE at 10^6 was refused: its cell is extrapolated from two runs only, so marked with an
    # error the law cannot estimate (two points fit any power law), and the refusal said
    scen = next(s for s in data["scenarios"] if s["name"] == "horizontal_aggregate")
    he = next(c for c in scen["extrapolated"]
              if c["technique"] == "he_threshold_paillier" and c["records"] == 10**6)
    assert he["extrapolated"] and he["wall_s_interval"] == [None, None]
    assert "error unknown" in he["note"] and "did not finish (refused)" in he["note"]
    # 10^7 for ECDH: from its law (exponent near 1), with an interval that holds the true cost
    psi = next(s for s in data["scenarios"] if s["name"] == "intersection_count_sum")
    cell = next(c for c in psi["extrapolated"] if c["technique"] == "psi_ecdh" and c["records"] == 10**7)
    low, high = cell["wall_s_interval"]
    assert low < 1e-4 * 1e7 + 0.3 < high
    law = next(x for x in psi["laws"] if x["technique"] == "psi_ecdh" and x["metric"] == "bytes")
    assert law["exponent"] == pytest.approx(1.0, abs=1e-6)
    assert "extrapolated" in html and html.count("<strong>extrapolated</strong>") == sum(
        len(s["extrapolated"]) for s in data["scenarios"])


def test_runs_that_did_not_finish_are_listed_with_their_reason_escaped(results):
    data = build_report(read_runs(results), source=str(results))
    assert {(p["technique"], p["status"]) for p in data["problems"]} == {
        ("psi_sum_bfv", "timeout"), ("he_threshold_paillier", "refused")}
    html = render_html(data)
    assert "ran past the 900 s limit" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    md = render_markdown(data)
    assert "<script>" not in md and "ran past the 900 s limit" in md


def test_the_techniques_table_gives_trust_needs_and_leakage(results):
    data = build_report(read_runs(results), source=str(results))
    rows = {t["technique"]: t for t in data["techniques"]}
    assert rows["psi_helper"]["trust_needs"] == ["semi_honest", "non_colluding_helper"]
    assert rows["psi_ecdh"]["leakage"] == ["each holder: the other's set size (psi_ecdh)"]
    html = render_html(data)
    assert "non colluding helper" in html and "Trust words" in html


def test_cli_writes_three_files_and_refuses_to_overwrite(results, tmp_path):
    runner = CliRunner()
    out = tmp_path / "r.html"
    got = runner.invoke(app, ["ipp", "report", str(results), "-o", str(out)])
    assert got.exit_code == 0, got.output
    assert out.exists() and out.with_suffix(".md").exists()
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["summary"]["runs"] == len(read_runs(results))
    again = runner.invoke(app, ["ipp", "report", str(results), "-o", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    with pytest.raises(OutputExistsError):
        write_report(read_runs(results), out)


@needs_chromium
def test_a_real_browser_loads_the_report_with_every_plot_and_no_console_message(results, tmp_path):
    files = write_report(read_runs(results), tmp_path / "report.html", source=str(results))
    dom, console = _load_in_browser(files.html, tmp_path / "profile")
    assert console == []
    figures = re.findall(r'<figure id="(fig-[^"]+)"( class="missing")?', dom)
    # per scenario: time, bytes, rounds against records, time against latency, accuracy against cost
    assert len(figures) == 2 * 5
    missing = [f for f, cls in figures if cls]
    assert missing == ["fig-1-latency"]  # latency was varied for the intersections only
    assert dom.count("<svg") == len(figures) - len(missing)
    assert "Failed, refused and timed-out runs" in dom


def test_the_committed_results_render(tmp_path):
    path = next((p for p in COMMITTED if p.exists()), None)
    if path is None:
        pytest.skip("no committed bench/results_ipp results yet ('confidata ipp bench' writes them)")
    runs = read_runs(path)
    files = write_report(runs, tmp_path / "committed.html", source=str(path))
    html = files.html.read_text(encoding="utf-8")
    first = next(r for r in runs if r.status == "ok")
    assert first.run_id in html and fmt(first.wall_s) in html
    for r in runs:
        if r.status != "ok":
            assert r.run_id in html
