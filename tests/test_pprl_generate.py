"""The linkage test-data generator: seeded, true to its stated error rates, its truth file right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confidata.pprl.generate import (
    RECORD_FIELDS,
    ErrorRates,
    GeneratorError,
    generate,
    reference_people,
    write_linkage_data,
)

N = 4000


@pytest.fixture(scope="module")
def data():
    return generate(N, N, overlap=0.5, seed=11)


def test_same_seed_same_files_other_seed_other_files(data):
    again = generate(N, N, overlap=0.5, seed=11)
    pd.testing.assert_frame_equal(data.a, again.a)
    pd.testing.assert_frame_equal(data.b, again.b)
    pd.testing.assert_frame_equal(data.truth, again.truth)
    other = generate(N, N, overlap=0.5, seed=12)
    assert not data.a["last_name"].equals(other.a["last_name"])


def test_truth_pairs_are_the_same_person_and_only_those(data):
    truth = data.truth
    assert len(truth) == N // 2
    assert truth["id_a"].is_unique and truth["id_b"].is_unique
    a = data.a.set_index("id_a").loc[truth["id_a"]].reset_index(drop=True)
    b = data.b.set_index("id_b").loc[truth["id_b"]].reset_index(drop=True)
    err = data.errors.loc[truth["id_b"]].reset_index(drop=True)
    # a pair whose B record got no error at all agrees on every field (dates re-read)
    clean = ~err.any(axis=1)
    assert clean.mean() > 0.5
    for f in ("first_name", "last_name", "sex", "address", "city", "zip"):
        assert (a.loc[clean, f] == b.loc[clean, f]).all(), f
    dob_a = pd.to_datetime(a.loc[clean, "dob"], format="%Y-%m-%d")
    dob_b = pd.to_datetime(b.loc[clean, "dob"], format="%d/%m/%Y")
    assert (dob_a.to_numpy() == dob_b.to_numpy()).all()
    # a B record outside the truth is a different person: full (name, dob) agreement is rare
    key = ["first_name", "last_name"]
    outside = data.b[~data.b["id_b"].isin(truth["id_b"])]
    same = outside.merge(data.a, on=key, suffixes=("_b", "_a"))
    same_dob = pd.to_datetime(same["dob_a"], format="%Y-%m-%d") == pd.to_datetime(
        same["dob_b"], format="%d/%m/%Y")
    assert same_dob.sum() <= 1


def test_realised_error_rates_are_the_stated_ones(data):
    stated = ErrorRates()
    realised = data.realised_rates()
    for kind in ("married", "moved", "nickname", "phonetic", "typo", "ocr", "dob_swap"):
        n = int(data.eligible[kind].sum())
        p = getattr(stated, kind)
        tol = 4 * np.sqrt(p * (1 - p) / n)  # four binomial standard errors
        assert abs(realised[kind] - p) <= tol, kind
    for f in RECORD_FIELDS:
        assert abs(realised[f"missing_{f}"] - stated.missing) <= 4 * np.sqrt(0.02 * 0.98 / N)
        # and a field marked missing is empty in the file
        assert data.b[f].isna().to_numpy()[data.errors[f"missing_{f}"].to_numpy()].all()


def test_errors_change_what_they_say(data):
    truth = data.truth
    a = data.a.set_index("id_a").loc[truth["id_a"]].reset_index(drop=True)
    b = data.b.set_index("id_b").loc[truth["id_b"]].reset_index(drop=True)
    err = data.errors.loc[truth["id_b"]].reset_index(drop=True)
    only = lambda kind: err[kind] & (err.drop(columns=kind).sum(axis=1) == 0)  # noqa: E731
    married = only("married")
    assert married.sum() > 0
    assert (a.loc[married, "sex"] == "F").all()
    assert (a.loc[married, "last_name"] != b.loc[married, "last_name"]).all()
    assert (a.loc[married, "first_name"] == b.loc[married, "first_name"]).all()
    moved = only("moved")
    assert (a.loc[moved, "address"] != b.loc[moved, "address"]).all()
    swap = only("dob_swap")
    da = pd.to_datetime(a.loc[swap, "dob"], format="%Y-%m-%d")
    db = pd.to_datetime(b.loc[swap, "dob"], format="%d/%m/%Y")
    assert swap.sum() > 0 and (da.dt.day == db.dt.month).all() and (da.dt.month == db.dt.day).all()
    nick = only("nickname")
    assert nick.sum() > 0 and (a.loc[nick, "first_name"] != b.loc[nick, "first_name"]).all()


def test_names_follow_the_census_frequencies():
    ref = reference_people(20000, seed=3)
    share = ref["last_name"].value_counts(normalize=True)
    # Census 1990: Smith 1.006%, Johnson 0.810% of the surnames; both lead the list
    assert share.index[0] == "Smith"
    assert abs(share["Smith"] - 0.01006 / 0.90483) < 0.003
    first_f = ref.loc[ref["sex"] == "F", "first_name"].value_counts(normalize=True)
    assert first_f.index[0] == "Mary"


def test_no_errors_means_exact_copies_and_options_checked(tmp_path):
    clean = generate(300, 500, overlap=1.0, rates=ErrorRates.none(), seed=5,
                     date_format_b="%Y-%m-%d")
    assert len(clean.truth) == 300
    a = clean.a.set_index("id_a").loc[clean.truth["id_a"]].reset_index(drop=True)
    b = clean.b.set_index("id_b").loc[clean.truth["id_b"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    paths = write_linkage_data(clean, tmp_path)
    assert len(pd.read_csv(paths["truth"])) == 300
    with pytest.raises(GeneratorError, match="'typo'"):
        ErrorRates(typo=1.5)
    with pytest.raises(GeneratorError, match="overlap"):
        generate(10, 10, overlap=2.0)
