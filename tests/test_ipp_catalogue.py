"""The input-privacy use-case catalogue: the shipped YAML holds, broken copies fail by name."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import yaml

from confidata.errors import SchemaError
from confidata.ipp import UnknownCaseError, load_catalogue
from confidata.ipp.catalogue import RUNNABLE_SCENARIOS

REQUIRED = {
    "ee-students-taxes",
    "us-boston-wage-gap",
    "id-mno-tourism",
    "un-pet-lab-trade",
    "ca-bank-transactions-consumption",
    "nl-health-insurer-hospital",
    "hlgmos-ppml-activity",
}


@pytest.fixture
def shipped() -> dict:
    return yaml.safe_load(resources.files("confidata.ipp").joinpath("cases.yaml").read_text())


def write(tmp_path, data: dict):
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def case(data: dict, slug: str) -> dict:
    return next(c for c in data["cases"] if c["slug"] == slug)


def test_shipped_catalogue_validates_and_has_every_required_case():
    catalogue = load_catalogue()
    assert REQUIRED <= set(catalogue.slugs)
    assert len(catalogue) >= 9
    for c in catalogue:
        assert c.priority == catalogue.derive_priority(c.scores)
        assert c.references and all(r.venue or r.url for r in c.references)


def test_techniques_confidata_does_not_run_are_marked_with_a_reason():
    catalogue = load_catalogue()
    not_run = {c.slug: c for c in catalogue if not c.benchmarked_here}
    assert {"id-mno-tourism", "hlgmos-ppml-activity"} <= set(not_run)
    for c in not_run.values():
        assert c.not_benchmarked_reason and c.benchmark_scenario is None
    for c in catalogue:
        if c.benchmarked_here:
            assert c.benchmark_scenario in RUNNABLE_SCENARIOS


def test_estonia_sizes_are_as_published():
    estonia = load_catalogue().get("ee-students-taxes")
    assert estonia.sizes.records == {"etcb": 10_000_000, "moer": 500_000}
    assert {p.id for p in estonia.with_role("computing")} == {"ria", "rmit", "cybernetica"}


def test_a_copy_of_the_shipped_catalogue_loads_from_a_path(tmp_path, shipped):
    assert load_catalogue(write(tmp_path, shipped)).slugs == load_catalogue().slugs


def test_missing_field_names_the_case_and_the_field(tmp_path, shipped):
    del case(shipped, "us-boston-wage-gap")["legal_notes"]
    with pytest.raises(SchemaError, match=r"case 'us-boston-wage-gap', field 'legal_notes' is missing"):
        load_catalogue(write(tmp_path, shipped))


def test_bad_enum_names_the_case_the_field_and_the_allowed_values(tmp_path, shipped):
    case(shipped, "id-mno-tourism")["reference_scenario"] = "vertical_join"
    with pytest.raises(SchemaError) as info:
        load_catalogue(write(tmp_path, shipped))
    message = str(info.value)
    assert "case 'id-mno-tourism', field 'reference_scenario'" in message
    assert "'vertical_join'" in message and "intersection_count_sum" in message


def test_bad_trust_value_is_rejected(tmp_path, shipped):
    case(shipped, "ee-students-taxes")["trust"] = "honest"
    with pytest.raises(SchemaError, match=r"case 'ee-students-taxes', field 'trust'"):
        load_catalogue(write(tmp_path, shipped))


def test_duplicate_slug_is_rejected(tmp_path, shipped):
    shipped["cases"][1]["slug"] = shipped["cases"][0]["slug"]
    with pytest.raises(SchemaError, match=r"field 'slug' repeats the slug of case #1"):
        load_catalogue(write(tmp_path, shipped))


def test_priority_that_does_not_follow_from_the_scores_is_rejected(tmp_path, shipped):
    case(shipped, "hlgmos-ppml-activity")["priority"] = "high"
    with pytest.raises(SchemaError) as info:
        load_catalogue(write(tmp_path, shipped))
    message = str(info.value)
    assert "case 'hlgmos-ppml-activity', field 'priority'" in message and "means 'low'" in message


def test_changing_a_score_without_the_priority_is_rejected(tmp_path, shipped):
    case(shipped, "un-pet-lab-trade")["scores"]["legal_feasibility"] = 2  # 4 -> 5, still medium: fine
    load_catalogue(write(tmp_path, shipped))
    case(shipped, "un-pet-lab-trade")["scores"]["legal_feasibility"] = 0  # 4 -> 3: low, stated medium
    with pytest.raises(SchemaError, match=r"case 'un-pet-lab-trade', field 'priority'"):
        load_catalogue(write(tmp_path, shipped))


def test_maturity_score_must_follow_the_status(tmp_path, shipped):
    case(shipped, "ee-students-taxes")["status"] = "production"
    with pytest.raises(SchemaError, match=r"case 'ee-students-taxes', field 'scores.maturity'"):
        load_catalogue(write(tmp_path, shipped))


def test_a_role_naming_an_unknown_party_is_rejected(tmp_path, shipped):
    case(shipped, "us-boston-wage-gap")["roles"]["result"] = ["city_hall"]
    with pytest.raises(SchemaError) as info:
        load_catalogue(write(tmp_path, shipped))
    assert "case 'us-boston-wage-gap', field 'roles.result[0]'" in str(info.value)
    assert "'city_hall'" in str(info.value)


def test_benchmarked_case_without_a_runnable_technique_is_rejected(tmp_path, shipped):
    tourism = case(shipped, "id-mno-tourism")
    tourism["benchmarked_here"] = True
    del tourism["not_benchmarked_reason"]
    tourism["benchmark_scenario"] = "intersection_count_sum"
    tourism["scores"]["benchmarkability"] = 2
    tourism["priority"] = "high"
    with pytest.raises(SchemaError, match=r"case 'id-mno-tourism', field 'benchmarked_here'"):
        load_catalogue(write(tmp_path, shipped))


def test_not_benchmarked_case_needs_a_reason(tmp_path, shipped):
    del case(shipped, "hlgmos-ppml-activity")["not_benchmarked_reason"]
    with pytest.raises(SchemaError, match=r"case 'hlgmos-ppml-activity', field 'not_benchmarked_reason'"):
        load_catalogue(write(tmp_path, shipped))


def test_vocabulary_must_explain_every_enum_value(tmp_path, shipped):
    del shipped["vocabulary"]["trust"]["trusted_hardware"]
    with pytest.raises(SchemaError, match=r"field 'vocabulary.trust'.*'trusted_hardware'"):
        load_catalogue(write(tmp_path, shipped))


def test_invalid_yaml_is_a_schema_error(tmp_path):
    path = tmp_path / "cases.yaml"
    path.write_text("cases: [\n  - slug: x\n")
    with pytest.raises(SchemaError, match="not valid YAML"):
        load_catalogue(path)


def test_get_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownCaseError, match=r"'us-boston-wage-gap'"):
        load_catalogue().get("us-boston-wagegap")


# -- command line ---------------------------------------------------------------------------

def test_cli_lists_every_case(cli):
    result = cli("ipp", "cases")
    assert result.code == 0, result.output
    for slug in load_catalogue().slugs:
        assert slug in result.stdout
    assert "benchmarked here" in result.stdout


def test_cli_json_parses_and_has_all_slugs_in_priority_order(cli):
    result = cli("ipp", "cases", "--json")
    assert result.code == 0, result.output
    cases = json.loads(result.stdout)
    assert {c["slug"] for c in cases} == set(load_catalogue().slugs)
    order = [("high", "medium", "low").index(c["priority"]) for c in cases]
    assert order == sorted(order)
    assert all("references" in c and "parties" in c for c in cases)


def test_cli_scenario_filter(cli):
    result = cli("ipp", "cases", "--scenario", "intersection_count_sum", "--json")
    assert result.code == 0, result.output
    slugs = {c["slug"] for c in json.loads(result.stdout)}
    assert "id-mno-tourism" in slugs and "us-boston-wage-gap" not in slugs
    assert all(c["reference_scenario"] == "intersection_count_sum" for c in json.loads(result.stdout))


def test_cli_bad_filter_value_lists_the_choices(cli):
    result = cli("ipp", "cases", "--status", "finished")
    assert result.code == 2
    assert "proof_of_concept" in result.stderr and "Traceback" not in result.output


def test_cli_show_prints_parties_trust_and_references(cli):
    result = cli("ipp", "cases", "show", "ee-students-taxes")
    assert result.code == 0, result.output
    for text in ("Bogdanov", "popets-2016-0019", "Estonian Tax and Customs Board", "computing",
                 "semi_honest_honest_majority", "10,000,000 records", "Legal notes"):
        assert text in result.stdout


def test_cli_show_unknown_name_exits_2_with_one_line_and_suggestions(cli):
    result = cli("ipp", "cases", "show", "boston")
    assert result.code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "us-boston-wage-gap" in lines[0] and "Traceback" not in result.output
