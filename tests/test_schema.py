"""The Schema object: validation of hand-written files, immutability, JSON round trip."""

from __future__ import annotations

import dataclasses

import pytest

from confidata import Column, Kind, Role, Schema, SchemaError


def test_round_trip_keeps_everything():
    schema = Schema(
        columns=(
            Column("sex", Kind.CATEGORICAL, roles=(Role.KEY,), levels=("1", "2"),
                   value_labels={"1": "Male", "2": "Female"}, description="Sex"),
            Column("income", Kind.CONTINUOUS, roles=(Role.SENSITIVE,), missing_values=("", "-8"),
                   missing_value_meanings={"-8": "not applicable"}, minimum=0, maximum=1e6),
            Column("pwgt", Kind.INTEGER, roles=(Role.WEIGHT,), extra={"notes": "kept"}),
        ),
        dataset="demo",
        extra={"source": {"repository": "x"}},
    )
    again = Schema.from_json(schema.to_json())
    assert again == schema
    assert again.fingerprint() == schema.fingerprint()
    assert again.to_dict()["columns"][2]["notes"] == "kept"
    assert again.to_dict()["source"] == {"repository": "x"}


def test_schema_is_immutable_and_changes_make_new_schemas():
    schema = Schema(columns=(Column("a", Kind.INTEGER),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        schema.columns = ()
    changed = schema.replace_column("a", kind=Kind.CONTINUOUS)
    assert schema["a"].kind is Kind.INTEGER and changed["a"].kind is Kind.CONTINUOUS
    assert changed.fingerprint() != schema.fingerprint()


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"name": "a", "type": "number"}, "'a' has unknown type 'number'"),
        ({"name": "a", "type": "integer", "roles": ["boss"]}, "'a' has unknown role 'boss'"),
        ({"name": "a", "type": "categorical", "roles": ["weight"]}, "'a' has role 'weight'"),
        ({"name": "a"}, "'a'.*has no 'type'"),
        ({"type": "integer"}, "no 'name'"),
        ({"name": "a", "type": "integer", "range": {"min": 5, "max": 1}}, "min greater than max"),
    ],
)
def test_malformed_columns_are_explained(column, message):
    with pytest.raises(SchemaError, match=message):
        Schema.from_dict({"columns": [column]})


def test_duplicate_columns_and_bad_json_are_explained(tmp_path):
    with pytest.raises(SchemaError, match="'a' more than once"):
        Schema.from_dict({"columns": [{"name": "a", "type": "integer"}] * 2})
    path = tmp_path / "s.json"
    path.write_text('{"columns": [}')
    with pytest.raises(SchemaError, match="not valid JSON"):
        Schema.load(path)
    with pytest.raises(SchemaError, match="does not exist"):
        Schema.load(tmp_path / "none.json")


def test_roles_accept_the_single_role_spelling():
    schema = Schema.from_dict({"columns": [{"name": "w", "type": "integer", "role": "weight"}]})
    assert schema.with_role(Role.WEIGHT) == ["w"]
