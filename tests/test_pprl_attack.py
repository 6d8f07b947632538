"""The frequency / pattern-mining attack: it reads names back from plain encodings, not hardened ones.

Known truth: the records come from `pprl.generate` (Census name frequencies), the attacker's
public list from `generate.reference_people` (the same population, other persons), and the key
is never given to the attack.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from confidata.pprl import LinkageError, SecretKey, encode, parse_fields, parse_hardening, write_clk
from confidata.pprl.attack import attack
from confidata.pprl.generate import generate, reference_people

N = 6000
KEY = SecretKey(b"attack-test-key-held-by-holders-only")


@pytest.fixture(scope="module")
def setting():
    data = generate(N, 10, overlap=0.0, seed=2)
    return data.a, reference_people(20_000, seed=102)


def _encode(clear, hardening="none", fields="first_name*8,last_name*8"):
    """Name-only CLKs with a fixed 8 bits per bigram: Schnell's CLK, the setting the attacks in
    the literature target (the default per-value budget is not claimed to be safer)."""
    return encode(clear, id_column="id_a", fields=parse_fields(fields), key=KEY,
                  hardening=parse_hardening(hardening)).encoding


def test_plain_name_encodings_are_re_identified_far_above_chance(setting):
    clear, ref = setting
    result = attack(_encode(clear), ref, clear)
    first, last = result.fields
    assert first.column == "first_name" and last.column == "last_name"
    assert first.records == N - clear["first_name"].isna().sum()
    # guessing the most frequent first name is right for about 2%; the attack for over 20%
    assert first.baseline < 0.05
    assert first.rate > 0.20 and first.rate > 5 * first.baseline
    assert last.rate > 2 * last.baseline
    assert result.all_fields_rate > 5 * result.all_fields_baseline
    assert first.features_mapped >= 10
    assert "clearly more encodings than guessing" in result.explanation()


@pytest.mark.parametrize("hardening", ["xor", "diffusion"])
def test_hardened_encodings_leave_the_attack_at_chance(setting, hardening):
    clear, ref = setting
    result = attack(_encode(clear, hardening), ref, clear)
    for f in result.fields:
        assert f.rate <= f.baseline + 0.02, f.column
    assert result.all_fields_rate <= result.all_fields_baseline + 0.01
    assert "about as well as guessing" in result.explanation()
    assert result.hardening == (hardening if hardening != "diffusion" else "diffusion(3)",)


def test_errors_name_the_column_and_the_fix(setting):
    clear, ref = setting
    enc = _encode(clear.iloc[:200])
    with pytest.raises(LinkageError, match="no column 'last_name'"):
        attack(enc, ref.rename(columns={"last_name": "surname"}), clear, fields=("first_name", "last_name"))
    with pytest.raises(LinkageError, match="'id_a'"):
        attack(enc, ref, clear.drop(columns="id_a"))
    with pytest.raises(LinkageError, match="not in the encoding"):
        attack(enc, ref, clear, fields=("middle_name",))


def test_cli_reports_rates_and_never_a_name(setting, tmp_path):
    from confidata.cli import app

    clear, ref = setting
    # a sentinel name, the most frequent in the public list and frequent in the clear file:
    # an output showing guesses or the reference's top value would show it
    small = clear.iloc[:3000].copy()
    small.loc[small.index[:300], "first_name"] = "Quxsentinel"
    ref = ref.copy()
    ref.loc[ref.index[:3000], "first_name"] = "Quxsentinel"
    write_clk(tmp_path / "a.clk", _encode(small))
    small.to_csv(tmp_path / "clear.csv", index=False)
    ref.to_csv(tmp_path / "public.csv", index=False)
    res = CliRunner().invoke(app, [
        "pprl", "attack", str(tmp_path / "a.clk"), "--reference", str(tmp_path / "public.csv"),
        "--truth", str(tmp_path / "clear.csv"), "--json", str(tmp_path / "rates.json")])
    assert res.exit_code == 0, res.output
    assert "re-identified" in res.output and "guessing" in res.output
    text = (res.output + (tmp_path / "rates.json").read_text()).lower()
    assert "quxsentinel" not in text
    for name in ("mary", "james", "smith", "john"):
        assert name not in text
