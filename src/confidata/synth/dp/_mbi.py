"""The bridge to mbi 2's marginal estimation (Private-PGM, McKenna, Sheldon & Miklau 2019).

mbi ships estimation, not mechanisms: this module measures marginals with the Gaussian
mechanism (charged to the accountant) and fits a graphical model to the noisy answers with
mirror descent, in blocks so that a time cap can stop it early (estimation is
post-processing: stopping early costs accuracy, never privacy).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from confidata.synth.dp._accountant import PrivacyAccountant

__all__ = ["estimate", "marginal", "measure", "mbi"]


def mbi():
    """Import mbi with JAX in float64 (mbi warns that float32 can stall on large data)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_enable_compilation_cache", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import mbi as module
    return module


def marginal(codes: dict[str, np.ndarray], sizes: dict[str, int], clique: tuple[str, ...]) -> np.ndarray:
    """The count table of `clique`, flattened in C order."""
    shape = [sizes[a] for a in clique]
    index = np.ravel_multi_index([codes[a] for a in clique], shape) if len(clique) > 1 else codes[clique[0]]
    return np.bincount(index, minlength=int(np.prod(shape))).astype(float)


def measure(codes: dict[str, np.ndarray], sizes: dict[str, int], clique: tuple[str, ...], rho: float,
            accountant: PrivacyAccountant, rng: np.random.Generator, what: str = "measurement"):
    """A Gaussian measurement of one marginal, charged to the ledger; an mbi LinearMeasurement."""
    label = " x ".join(f"'{a}'" for a in clique)
    sigma = accountant.gaussian(rho, what, f"{len(clique)}-way marginal of {label}")
    y = marginal(codes, sizes, clique)
    noisy = y + rng.normal(0.0, sigma, size=y.shape)
    return mbi().LinearMeasurement(noisy, clique, stddev=sigma), sigma


def estimate(domain, measurements, *, iters: int, deadline: float | None, warm_start=None,
             block: int = 250):
    """Mirror descent on the measurements, `iters` steps or until `deadline` (monotonic)."""
    estimator = mbi().estimation.MirrorDescent()
    if deadline is None:  # one call: each call compiles its own initialisation
        return estimator.estimate(domain, list(measurements), iters=iters, warm_start=warm_start), iters
    model = warm_start
    done = 0
    while done < iters:
        step = min(block, iters - done)
        model = estimator.estimate(domain, list(measurements), iters=step, warm_start=model)
        done += step
        if deadline is not None and time.monotonic() > deadline:
            break
    return model, done
