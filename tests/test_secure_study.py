"""The study file, the fixed-point plan and local aggregation: no processes, no network."""

from __future__ import annotations

import stat

import numpy as np
import pandas as pd
import pytest

from confidata.errors import InputFileError, SchemaError
from confidata.secure import aggregate, load_study, parse_study, plain_result, plan_for
from confidata.secure.protection import discrete_laplace, noise_variance
from confidata.secure.study import study_toml
from conftest import run_cli


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


@pytest.mark.parametrize(
    ("host", "listen", "refused"),
    [
        ("10.0.0.7", "", True),
        ("localhost.example.org", "", True),  # a name that merely starts like loopback
        ("127.0.0.1", "0.0.0.0:20001", True),  # listening on every interface
        ("::1", "", False),
        ("localhost", "127.0.0.2:20001", False),
    ],
)
def test_tls_off_is_refused_for_a_table_unless_every_party_is_on_loopback(host, listen, refused):
    data = _study()
    data["party"][1]["host"] = host
    if listen:
        data["party"][1]["listen"] = listen
    if refused:
        with pytest.raises(SchemaError, match=r"TLS is off while party\(ies\) b are not on a loopback"):
            parse_study(data)
    else:
        assert not parse_study(data).tls
    data["tls"] = {"enabled": True, "ca": "ca.crt"}
    for party in data["party"]:
        party["certificate"] = "p.crt"
    assert parse_study(data).tls  # with TLS any host will do


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


def test_discrete_laplace_draws_have_the_calibrated_variance():
    # scale = sensitivity / epsilon; 200,000 draws with a fixed seed: the sample variance of a
    # distribution with kurtosis ~6 is within 3 % of the true one far beyond 5 standard errors
    for scale in (0.5, 2.0, 10.0):
        draws = discrete_laplace(scale, 200_000, np.random.default_rng(7))
        assert draws.dtype == np.int64
        assert abs(draws.mean()) < 0.02 * (1 + scale)
        assert abs(draws.var() / noise_variance(scale) - 1) < 0.03, scale
    assert abs(noise_variance(1e4) / (2 * 1e4**2) - 1) < 1e-3  # -> the Laplace variance 2 b**2


def test_certs_through_the_cli_writes_private_keys_and_refuses_to_overwrite(tmp_path):
    study = tmp_path / "study.toml"
    study.write_text(study_toml(parse_study(_study(), folder=tmp_path)))
    out = tmp_path / "certs"
    first = run_cli("secure", "certs", study, "-o", out)
    assert first.code == 0, first.output
    assert {p.name for p in out.iterdir()} >= {
        "mpyc_ca.crt",
        "mpyc_ca.key",
        *(f"party_{i}.{ext}" for i in range(3) for ext in ("crt", "key")),
    }
    for key in out.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    before = (out / "party_0.key").read_bytes()
    again = run_cli("secure", "certs", study, "-o", out)
    assert again.code != 0 and "--overwrite" in again.output
    assert (out / "party_0.key").read_bytes() == before
    forced = run_cli("secure", "certs", study, "-o", out, "--overwrite")
    assert forced.code == 0, forced.output
    assert (out / "party_0.key").read_bytes() != before
    assert stat.S_IMODE((out / "party_0.key").stat().st_mode) == 0o600
