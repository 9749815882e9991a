"""Yaras et al. (2025) Thm 3.3: the initial growth rate of the gap at a random start.

For the gamma-lift model with learnable temperature, the rate d gamma/dt at t = 0 is measured
at N i.i.d. uniform pairs (x_i, y_i independent, i.e. a random, mismatched start) with
:func:`gapsim.core.objective.reduced_rates` (the exact equal-rate flow of (beta, gamma) at those
points, mean ± sd over seeds), and compared with the N -> infinity formula
2 beta0 gamma0 I_{rho+1}(a)/I_rho(a), a = beta0 (1 - gamma0^2), rho = (d-2)/2.

    gapsim figures --only yaras_initial_rate   (or: python experiments/yaras_initial_rate.py)

Expected: the measurements approach the curve as N grows (finite-N error O(sqrt(log N / N))).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.core.objective import reduced_rates
from gapsim.studies.theory import yaras_initial_rates

SIZES = {
    "tiny": dict(ns=(16,), dims=(3,), betas=4, seeds=2),
    "quick": dict(ns=(32, 256, 2048), dims=(3, 8, 32), betas=8, seeds=5),
    "full": dict(ns=(32, 256, 2048, 8192), dims=(3, 8, 32, 128), betas=16, seeds=20),
}
GAMMA0 = 0.3


@jax.jit
def _rate(key, nu, gamma, n_dim):
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, n_dim.shape, jnp.float64)
    y = jax.random.normal(ky, n_dim.shape, jnp.float64)
    x = x / jnp.linalg.norm(x, axis=1, keepdims=True)
    y = y / jnp.linalg.norm(y, axis=1, keepdims=True)
    return reduced_rates(x, y, nu, gamma)["dgamma_dt"]


def run(size: str) -> dict:
    """Measured and predicted d gamma/dt over (N, d, beta0)."""
    s = SIZES[size]
    betas = np.geomspace(1.0, 100.0, s["betas"])
    rows = []
    for d in s["dims"]:
        for n in s["ns"]:
            shape = jnp.zeros((n, d), jnp.float64)
            for b in betas:
                vals = [
                    float(_rate(jax.random.key(k), jnp.log(b), jnp.float64(GAMMA0), shape))
                    for k in range(s["seeds"])
                ]
                pred = yaras_initial_rates(d, float(b), GAMMA0)["dgamma_dt"]
                rows.append(
                    {
                        "d": d,
                        "n": n,
                        "beta0": b,
                        "mean": np.mean(vals),
                        "std": np.std(vals),
                        "predicted": pred,
                    }
                )
    return {"gamma0": GAMMA0, "rows": rows, "dims": list(s["dims"]), "ns": list(s["ns"])}


def plot(data: dict, path) -> None:
    """One panel per d: formula curve, measured markers per N."""
    from gapsim.app.plotting import figure, save, series_colors
    from gapsim.studies.theory import yaras_initial_rates

    dims = data["dims"]
    fig, axes = figure(len(dims), width=3.5, height=3.3, squeeze=False)
    cols = series_colors(len(data["ns"]))
    fine = np.geomspace(1.0, 100.0, 200)
    for ax, d in zip(axes[0], dims, strict=True):
        ax.plot(
            fine,
            [yaras_initial_rates(d, b, data["gamma0"])["dgamma_dt"] for b in fine],
            "k--",
            lw=1.2,
            label="Bessel formula (N → ∞)",
        )
        for n, c in zip(data["ns"], cols, strict=True):
            r = [q for q in data["rows"] if q["d"] == d and q["n"] == n]
            ax.errorbar(
                [q["beta0"] for q in r],
                [q["mean"] for q in r],
                yerr=[q["std"] for q in r],
                fmt="o",
                ms=4,
                color=c,
                capsize=2,
                label=f"measured, N = {n}",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("initial inverse temperature β₀ = 1/τ₀")
        ax.set_ylabel("dγ/dt at t = 0")
        ax.set_title(f"d = {d}")
        ax.legend(fontsize=7)
    fig.suptitle(
        f"Initial gap growth at a uniform random start (γ₀ = {data['gamma0']}, "
        "mean ± sd over seeds)"
    )
    save(fig, path)


if __name__ == "__main__":
    import sys

    from gapsim.app.figure_io import main

    raise SystemExit(main(sys.modules[__name__], "yaras_initial_rate"))
