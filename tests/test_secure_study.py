"""The study file, the fixed-point plan and local aggregation: no processes, no network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confidata.errors import InputFileError, SchemaError
from confidata.secure import aggregate, load_study, parse_study, plain_result, plan_for
from confidata.secure.study import study_toml


def _study(**changes):
    data = {
        "study": {"name": "s", "statistic": "mean", "by": ["region"], "results": ["a"]},
        "levels": {"region": ["N", "S"]},
        "value": {"column": "income", "min": 0, "max": 100000},
        "tls": {"enabled": False},
        "party": [{"name": n, "host": "127.0.0.1", "port": 20000 + i} for i, n in enumerate("abc")],
    }
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if value is None:
            data[section].pop(name)
        else:
            data[section][name] = value
    return data


def test_valid_study_round_trips_through_toml_with_the_same_digest(tmp_path):
    study = parse_study(_study(), folder=tmp_path)
    path = tmp_path / "study.toml"
    path.write_text(study_toml(study))
    again = load_study(path)
    assert again == study and again.digest == study.digest and len(study.digest) == 64
    assert parse_study(_study(study__name="other")).digest != study.digest


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"study__statistic": "median"}, "statistic"),
        ({"levels__region": None}, "region"),
        ({"value__max": -1}, "min < max"),
        ({"study__results": ["zed"]}, "results"),
        ({"tls__enabled": True}, "certificate"),
    ],
)
def test_bad_studies_name_the_key(change, words):
    with pytest.raises(SchemaError, match=words):
        parse_study(_study(**change))


def test_two_parties_are_refused_and_a_missing_file_is_an_input_error(tmp_path):
    data = _study()
    data["party"] = data["party"][:2]
    with pytest.raises(SchemaError, match="at least 3"):
        parse_study(data)
    with pytest.raises(InputFileError, match="does not exist"):
        load_study(tmp_path / "none.toml")


def test_one_over_n_does_not_round_to_zero_at_three_million():
    study = parse_study(_study())
    plan = plan_for(study)
    assert plan.l == 2 * plan.f
    # 1/N at N = 3,000,000 keeps at least 32 significant bits at resolution 2**-f
    assert (1 / 3_000_000) / 2.0**-plan.f > 2**32


def test_local_aggregates_are_exact_and_checked():
    study = parse_study(_study(study__statistic="variance"))
    plan = plan_for(study)
    frame = pd.DataFrame({"region": ["N", "S", "N"], "income": [1.5, 99999.0, 2.25]})
    agg = aggregate(study, frame, plan)
    assert list(agg.n) == [2, 1]
    assert agg.S1[0] == int(3.75 * 2**16)
    assert agg.S2[0] == int((1.5**2 + 2.25**2) * 2**32)
    res = plain_result(study, agg, plan)
    assert res.values[0] == pytest.approx(np.var([1.5, 2.25], ddof=1))
    assert res.undefined == [False, True]  # one record: no sample variance
    bad = frame.assign(income=[1.0, 2.0, 1e9])
    with pytest.raises(SchemaError, match="outside the study's public bounds") as info:
        aggregate(study, bad, plan)
    assert "1000000000" not in str(info.value) and "1e+09" not in str(info.value)
    with pytest.raises(SchemaError, match="'region'"):
        aggregate(study, frame.assign(region=["N", "X", "N"]), plan)
