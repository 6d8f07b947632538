"""The linkage scenario with real processes over TLS on 127.0.0.1: two holders encode, the linkage
unit links without names or key, then the table of the holders' categories over the linked pairs
is computed on secret shares; it equals pandas' table over the same pairs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from confidata.pprl.demo import (
    demo_linkage_data,
    demo_linkage_study,
    plain_tables,
    start_linkage_parties,
    write_key,
)
from confidata.secure.runner import wait_parties

SENTINEL = "Qzxjvwplmk"  # a first name and a surname planted in both files


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("linkage")
    study = demo_linkage_study(folder, timeout=120.0)
    data = demo_linkage_data(1000, seed=3)
    data.nso.loc[:4, "first_name"] = SENTINEL
    data.register.loc[:4, "last_name"] = SENTINEL
    files = {"nso": folder / "nso.csv", "register": folder / "register.csv"}
    data.nso.to_csv(files["nso"], index=False)
    data.register.to_csv(files["register"], index=False)
    key = write_key(folder / "holders.key")
    procs = wait_parties(start_linkage_parties(folder / "study.toml", study, files, key, folder), 400)
    return folder, study, data, procs


def test_secure_table_over_linked_pairs_equals_plain(run):
    folder, study, data, procs = run
    assert [p.code for p in procs] == [0, 0, 0], [p.stderr[-400:] for p in procs]
    report = procs[0].report()
    linked = pd.read_csv(folder / "linked-rows.csv")
    plain = plain_tables(study, data, linked)
    secure = [c["value"] for c in report["result"]["cells"]]
    assert secure == list(plain["linked"].values)
    assert report["join_size"] == len(linked)  # the join on labels finds exactly the linked pairs
    # the linkage itself: most true pairs linked, few false links (500 true pairs)
    truth = set(zip(data.truth.iloc[:, 0], data.truth.iloc[:, 1], strict=True))
    found = {(data.nso["id_a"].iloc[i], data.register["id_b"].iloc[j])
             for i, j in zip(linked.iloc[:, 0], linked.iloc[:, 1], strict=True)}
    precision, recall = len(found & truth) / len(found), len(found & truth) / len(truth)
    assert precision >= 0.97 and recall >= 0.95, (precision, recall)
    assert secure != list(plain["true"].values) or recall == 1.0  # linkage errors show, or none


def test_linkage_unit_sees_no_name_and_holders_no_partner(run):
    folder, _, _, procs = run
    unit = json.loads((folder / "result-linkunit.linkage.json").read_text())
    assert unit["role"] == "linkage unit" and unit["links"] > 400 and unit["bytes_sent"] > 0
    for p in procs:  # no planted name in any party's messages, logs or reports
        texts = [p.stdout, p.stderr, (folder / f"result-{p.name}.linkage.json").read_text()]
        if p.output.is_file():
            texts.append(p.output.read_text())
        assert not any(SENTINEL.lower() in t.lower() for t in texts), p.name
    for name in ("nso", "register"):  # a holder learns counts, not which rows linked
        holder = json.loads((folder / f"result-{name}.linkage.json").read_text())
        assert holder["links"] is None and holder["role"] == "holder"
