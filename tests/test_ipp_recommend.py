"""`confidata ipp recommend`: techniques ranked from measured runs, every exclusion with its reason.

On hand-built runs with known costs the ranking, the reasons and the cited runs are checked
against what the costs imply; on the committed benchmark results every catalogue case gets a
recommendation that cites runs existing in that file, or says why no technique applies.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _ipp_runs import Writer, write_runs
from confidata.cli import app
from confidata.errors import ConfidataError
from confidata.ipp import load_catalogue
from confidata.ipp.chapter import DOCS_PAGE, chapter
from confidata.ipp.recommend import recommend, recommend_case
from confidata.ipp.runs import read_runs
from confidata.ipp.trust import CASE_OFFERS, TECHNIQUE_NEEDS, TERMS

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = [ROOT / "bench" / "results_ipp" / name for name in ("results.jsonl", "quick.jsonl")]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    return write_runs(tmp_path_factory.mktemp("ipp") / "results.jsonl")


@pytest.fixture(scope="module")
def runs(results):
    return read_runs(results)


def _ids(runs) -> set[str]:
    return {r.run_id for r in runs}


def test_a_two_party_case_gets_the_two_party_psi_and_the_reason_the_helper_is_out(runs):
    advice = recommend_case(runs, "hlgmos-psi-coverage")
    assert [r.technique for r in advice.ranked] == ["psi_ecdh"]
    top = advice.ranked[0]
    assert set(top.run_ids) <= _ids(runs) and top.run_ids
    # no size in the catalogue: compared at 10^6, the largest size measured for two techniques;
    # 10 ms lies between no measured latency at 10^6, so the law adds the rounds' cost
    assert advice.records == 1_000_000 and top.wall.value == pytest.approx(100.3 + 2 * 0.01, rel=0.05)
    why = {e.technique: e.reason for e in advice.excluded}
    assert why["psi_helper"].startswith("no non-colluding helper")
    # the sum protocol also gives the size, but its run at 10^6 timed out: no law from 10^4 and
    # 10^5 may then claim a time there
    assert why["psi_sum_bfv"] == "its run at this size with 0 ms latency timed out: ran past the 900 s limit"
    assert "legal agreement" in advice.legal_notes and advice.organisational_notes


def test_a_case_that_needs_the_sum_excludes_the_size_only_protocols(runs):
    advice = recommend_case(runs, "private-intersection-sum")
    why = {e.technique: e.reason for e in advice.excluded}
    assert why["psi_ecdh"] == "computes intersection_size; the case needs intersection_sum"
    assert advice.ranked == ()
    assert why["psi_sum_bfv"].startswith("its run at this size with 0 ms latency timed out")
    at_10_5 = recommend(runs, scenario="intersection_count_sum", parties=2, records=100_000, latency_ms=0,
                        trust="semi_honest_dishonest_majority", statistic="intersection_sum")
    assert [r.technique for r in at_10_5.ranked] == ["psi_sum_bfv"]
    assert at_10_5.ranked[0].wall.measured and set(at_10_5.ranked[0].run_ids) <= _ids(runs)


def test_with_a_helper_allowed_it_ranks_first_and_the_second_says_how_much_slower(runs):
    advice = recommend(runs, scenario="intersection_count_sum", parties=2, records=1_000_000, latency_ms=0,
                       trust="semi_honest_honest_majority")
    assert [r.technique for r in advice.ranked] == ["psi_helper", "psi_ecdh"]
    second = advice.ranked[1]
    assert second.reason.startswith("9.83x the time of psi_helper, 3x the bytes")
    assert second.wall.measured and second.wall.run_ids == tuple(
        r.run_id for r in runs if r.technique == "psi_ecdh" and r.records == 10**6)
    assert any("psi_helper takes" in n and "plain_trusted_third_party baseline" in n for n in advice.notes)
    assert advice.baselines[0].reason.startswith("the reference without input privacy: ")


def test_a_latency_between_two_measured_is_interpolated_from_those_runs(runs):
    advice = recommend(runs, scenario="intersection_count_sum", parties=2, records=10_000, latency_ms=100,
                       trust="semi_honest_dishonest_majority")
    wall = advice.ranked[0].wall
    assert wall.value == pytest.approx(1.0 + 0.3 + 2 * 0.1, rel=1e-9)
    assert "interpolated between the runs at 50 and 150 ms" in wall.note


def test_a_technique_dominated_in_time_and_bytes_is_excluded_with_the_factors(runs):
    advice = recommend(runs, scenario="horizontal_aggregate", parties=3, records=100_000, latency_ms=0,
                       trust="semi_honest_honest_majority")
    assert [r.technique for r in advice.ranked] == ["mpc_shamir_mpyc"]
    (he,) = [e for e in advice.excluded if e.technique == "he_threshold_paillier"]
    assert he.reason == ("40x the bytes and 12x the time of mpc_shamir_mpyc at this size, which also meets "
                         "the case's trust model")


def test_honest_majority_needs_three_computing_parties(runs):
    # Boston: employers hand shares to two servers; MPC among two has no honest majority
    advice = recommend_case(runs, "us-boston-wage-gap")
    why = {e.technique: e.reason for e in advice.excluded}
    assert why["mpc_shamir_mpyc"].startswith("honest majority not available: 2 computing parties")
    assert [r.technique for r in advice.ranked] == ["he_threshold_paillier"]


def test_where_no_technique_applies_the_advice_says_why(runs):
    advice = recommend(runs, scenario="intersection_count_sum", parties=2, records=10_000, latency_ms=0,
                       trust="malicious_dishonest_majority")
    assert advice.ranked == () and advice.run_ids == ()
    assert advice.none_applies.startswith("every measured technique is excluded")
    assert "secure against semi-honest parties only" in advice.none_applies
    federated = recommend_case(runs, "hlgmos-ppml-activity")
    assert federated.ranked == ()
    assert federated.none_applies.startswith("no technique was measured for the scenario 'federated_model'")
    far = recommend(runs, scenario="intersection_count_sum", parties=2, records=10**9, latency_ms=0,
                    trust="semi_honest_honest_majority")
    why = {e.technique: e.reason for e in far.excluded}
    assert far.ranked == () and why.pop("psi_sum_bfv").startswith("its run at 10^6 records timed out")
    assert set(why) == {"psi_ecdh", "psi_helper"}
    for reason in why.values():
        assert reason.startswith("not measured near this cell") and "more than 10x beyond" in reason


def test_the_trust_vocabulary_covers_the_catalogue_and_every_technique():
    catalogue = load_catalogue()
    assert set(CASE_OFFERS) == set(catalogue.vocabulary["trust"])
    for needs in TECHNIQUE_NEEDS.values():
        assert set(needs) <= set(TERMS)
    for offered in CASE_OFFERS.values():
        assert offered <= set(TERMS)
    with pytest.raises(ConfidataError, match="not a trust model"):
        recommend([], scenario="horizontal_aggregate", parties=3, records=10, latency_ms=0, trust="honest")


def test_cli_recommends_a_case_as_json_and_refuses_mixed_conditions(results, runs):
    runner = CliRunner()
    got = runner.invoke(app, ["ipp", "recommend", "hlgmos-psi-coverage", "--results", str(results), "--json"])
    assert got.exit_code == 0, got.output
    data = json.loads(got.output)
    assert data["ranked"][0]["technique"] == "psi_ecdh" and set(data["run_ids"]) <= _ids(runs)
    text = runner.invoke(app, ["ipp", "recommend", "--scenario", "intersection_count_sum", "--trust",
                               "semi_honest_dishonest_majority", "--records", "100000", "--parties", "2",
                               "--results", str(results)])
    assert text.exit_code == 0 and "1. psi_ecdh" in text.output and "no non-colluding helper" in text.output
    mixed = runner.invoke(app, ["ipp", "recommend", "hlgmos-psi-coverage", "--trust", "trusted_third_party",
                                "--results", str(results)])
    assert mixed.exit_code == 2 and "cannot be combined with a case" in mixed.output


def test_every_catalogue_case_gets_advice_citing_committed_runs():
    path = next((p for p in COMMITTED if p.exists()), None)
    if path is None:
        pytest.skip("no committed bench/results_ipp results yet ('confidata ipp bench' writes them)")
    runs = read_runs(path)
    ids = _ids(runs)
    ranked = 0
    for case in load_catalogue():
        advice = recommend_case(runs, case.slug, results=str(path))
        if advice.ranked:
            ranked += 1
            for r in advice.ranked:
                assert r.run_ids and set(r.run_ids) <= ids, (case.slug, r.technique)
                assert r.reason
        else:
            assert advice.none_applies, case.slug
        for e in advice.excluded:
            assert e.reason and set(e.run_ids) <= ids, (case.slug, e.technique)
    assert ranked >= 1


def test_the_docs_chapter_is_what_the_committed_results_give():
    page = ROOT / DOCS_PAGE
    if not page.exists():
        pytest.skip(f"{DOCS_PAGE} is not generated yet (python bench/ipp_docs.py)")
    text = page.read_text(encoding="utf-8")
    count, cited = re.search(r"Generated by `python bench/ipp_docs.py` from the first (\d+) runs of (\S+):",
                             text).groups()
    assert text == chapter(read_runs(ROOT / cited)[: int(count)], cited), (
        f"{DOCS_PAGE} is stale: run 'python bench/ipp_docs.py --results {cited}' and commit it")
    for case in load_catalogue():
        assert f"`confidata ipp recommend {case.slug}`" in text


def test_measured_at_links_point_at_finished_runs_of_the_case_s_scenario():
    linked = [c for c in load_catalogue() if c.measured_at]
    if not linked:
        pytest.skip("no case has measured_at yet (added with the committed benchmark results)")
    for case in linked:
        runs = read_runs(ROOT / case.measured_at["results"])
        for technique in case.measured_at["techniques"]:
            assert any(r.scenario == case.measured_at["scenario"] and r.technique == technique
                       and r.status == "ok" for r in runs), (case.slug, technique)


def test_every_technique_the_bench_runs_declares_what_it_assumes():
    from confidata.ipp.bench import TECHNIQUES

    undeclared = sorted({key for _, key in TECHNIQUES} - set(TECHNIQUE_NEEDS))
    assert undeclared == [], f"add these to confidata.ipp.trust.TECHNIQUE_NEEDS: {undeclared}"


def test_a_model_technique_for_the_other_split_of_the_data_is_excluded(tmp_path):
    # the scenario federated_model holds regressions on rows split and on columns split
    path = tmp_path / "models.jsonl"
    w = Writer(path)
    for n in (10_000, 100_000):
        w.add("federated_model", "mpc_vertical_regression", "secret_sharing_mpc", n, 2, wall=1e-4 * n,
              sent=10 * n, rounds=20, statistic="regression")
        w.add("federated_model", "mpc_regression", "secret_sharing_mpc", n, 3, wall=2e-4 * n, sent=20 * n,
              rounds=30, statistic="regression")
    runs = read_runs(path)
    advice = recommend(runs, scenario="federated_model", parties=3, records=50_000, latency_ms=0,
                       trust="semi_honest_honest_majority", partitioning="horizontal")
    assert [r.technique for r in advice.ranked] == ["mpc_regression"]
    assert advice.excluded[0].reason == (
        "fits data split by columns (each holder has other variables of the same units); the case's are "
        "split by rows (each holder has other units)")
