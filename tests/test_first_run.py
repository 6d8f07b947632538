"""Compiled kernels are cached where the user can write, and each is compiled once.

Speed itself is measured in bench/, not here: these tests check the conditions a fast first
run rests on. Each runs Python in a subprocess, because numba reads its cache folder once,
when it is imported.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import confidata
from confidata import _tree
from confidata.synth import CART

PACKAGE = Path(confidata.__file__).resolve().parent

# grows one small tree, so numba compiles (or loads) the tree kernels
GROW = (
    "import numpy as np; from confidata._tree import grow_tree; "
    "rng = np.random.default_rng(0); bins = rng.integers(0, 4, size=(200, 2)).astype(np.uint16); "
    "grow_tree(bins, np.array([4, 4]), np.array([False, True]), rng.integers(0, 3, 200), 3)"
)


def _run(code: str, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=600, **kwargs)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_") and k != "XDG_CACHE_HOME"}
    env.update(extra)
    return env


def test_a_cache_dir_the_user_set_is_kept(tmp_path):
    mine = tmp_path / "my-numba-cache"
    env = _clean_env(NUMBA_CACHE_DIR=str(mine), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    done = _run("import confidata, numba, os; print(os.environ['NUMBA_CACHE_DIR']); "
                "print(numba.config.CACHE_DIR)", env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(mine), str(mine)]


def test_a_writable_package_folder_keeps_numbas_own_cache(tmp_path):
    if not os.access(PACKAGE, os.W_OK):
        pytest.skip("confidata is installed in a folder this user cannot write")
    env = _clean_env(XDG_CACHE_HOME=str(tmp_path / "xdg"))
    done = _run("import confidata, os; print(os.environ.get('NUMBA_CACHE_DIR', 'unset'))", env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "unset"
    assert not (tmp_path / "xdg").exists()


def _read_only_copy() -> tuple[Path, Path]:
    """confidata copied into a folder where no compiled kernel can be cached, and a cache home.

    The copy is made read-only; root writes through permission bits, so each package folder's
    ``__pycache__`` is also a plain file, into which nobody can write.
    """
    root = Path(tempfile.mkdtemp(prefix="confidata-ro-"))
    shutil.copytree(PACKAGE, root / "site" / "confidata",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    home = root / "cache-home"
    home.mkdir()
    for folder, _, files in os.walk(root / "site"):
        if "__init__.py" in files:
            (Path(folder) / "__pycache__").write_text("not a folder\n")
    for folder, _, files in os.walk(root / "site", topdown=False):
        for name in files:
            os.chmod(Path(folder) / name, 0o444)
        os.chmod(folder, 0o555)
    return root, home


def _remove(root: Path) -> None:
    for folder, _, _ in os.walk(root):
        os.chmod(folder, stat.S_IRWXU)
    shutil.rmtree(root, ignore_errors=True)


def test_a_read_only_package_caches_in_the_users_cache_folder_and_loads_from_it():
    root, home = _read_only_copy()
    try:
        env = _clean_env(XDG_CACHE_HOME=str(home), NUMBA_DEBUG_CACHE="1", PYTHONPATH=str(root / "site"))
        code = ("import confidata, os; assert confidata.__file__.startswith(os.environ['PYTHONPATH']); "
                "print('CACHE', os.environ['NUMBA_CACHE_DIR']); " + GROW)
        first = _run(code, env)
        assert first.returncode == 0, first.stderr
        cache = home / "confidata" / "numba"
        assert f"CACHE {cache}" in first.stdout
        # compiled from scratch: one version of each tree kernel
        for kernel in ("_grow", "_walk_bins", "_walk_rows", "_dominant_keys", "_sort_rows_by_bin"):
            assert len(list(cache.rglob(f"_tree.{kernel}-*.nbc"))) == 1, kernel
        second = _run(code, env)
        assert second.returncode == 0, second.stderr
        log = second.stdout + second.stderr
        assert "data loaded" in log and "_grow" in log
        assert "data saved" not in log, "the second process compiled again instead of loading"
    finally:
        _remove(root)


def test_every_tree_kernel_is_compiled_for_one_signature_only():
    """Numeric and categorical targets, one predictor and several, grown and applied: each
    kernel ends with one compiled version (it once compiled one per array layout, which
    doubled the first run; the read-only test above checks the literal-argument case)."""
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame({
        "region": rng.choice(["north", "south", "east"], n),
        "age": rng.integers(18, 90, n),
        "income": rng.gamma(2.0, 1000.0, n),
        "sector": rng.choice([f"s{i}" for i in range(20)], n),  # many classes: the row walk
    })
    CART(min_split=10, n_jobs=1).fit(frame).sample(n, seed=1)
    CART(visit_sequence=["age", "region"], min_split=10, n_jobs=1).fit(frame).sample(50, seed=2)
    kernels = ("_grow", "_apply", "_walk_bins", "_walk_rows", "_dominant_keys", "_sort_rows_by_bin")
    counts = {name: len(getattr(_tree, name).signatures) for name in kernels}
    # the helpers show no signature when the grower that calls them came from the cache
    assert counts["_grow"] == counts["_apply"] == 1
    assert max(counts.values()) == 1


def test_the_install_warm_up_runs_every_step_and_compiles_every_kernel():
    """`make install` runs it; a step that broke would leave its kernels to the user's first
    run without failing the installation, so this is where it is noticed."""
    from confidata import _warmup
    from confidata.measures import _nearest, gdpr, weighted

    lines: list[str] = []
    assert _warmup.warm_up(log=lines.append) == [], lines
    kernels = [_tree._grow, _tree._apply, _nearest._knn, _nearest._nearer, gdpr._count_matches,
               weighted._domain_sums]
    assert all(len(kernel.signatures) == 1 for kernel in kernels)
