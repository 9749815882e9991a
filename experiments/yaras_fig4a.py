"""Yaras et al. (2025) Fig. 4a / Thm 3.2: the gap freezes like 1/log(t)^2 under learnable tau.

n = 5 pairs on S^2 from the *matched* parallel start (every pair already mutually nearest),
plain gradient descent as gradient flow (t = step * lr). Learnable temperature
(beta = exp(nu), from tau0) against fixed temperatures for contrast. The x axis is
-1/log(t)^2 (t > 1), so a gap decaying like c + b/log(t)^2 is a straight line reaching c at
the right edge (t -> infinity).

    gapsim figures --only yaras_fig4a   (or: python experiments/yaras_fig4a.py [--full])

Expected: learnable tau -> a near-straight line, tau -> 0, the gap freezes at a non-zero value;
fixed tau -> the gap keeps decaying (exponentially in t, faster at moderate tau).
"""

from __future__ import annotations

import numpy as np

from gapsim import simulate
from gapsim.app.scenarios import parallel_flow

SIZES = {"tiny": 2000, "quick": 200_000, "full": 2_000_000}
TAU0, ANGLE, LR = 0.05, 1.0, 1e-3
FIXED = (0.05, 0.1, 0.2)


def run(size: str) -> dict:
    """One learnable-tau trajectory and one per fixed tau, same start."""
    steps = SIZES[size]
    base = parallel_flow(
        True, tau=TAU0, init_angle=ANGLE, lr=LR, steps=steps, stride=max(steps // 1000, 1)
    )
    curves = {}
    for name, cfg in [("learnable", base.replace(learn_tau=True))] + [
        (f"fixed {t:g}", base.replace(tau=t)) for t in FIXED
    ]:
        h = simulate(cfg).history
        curves[name] = {
            "t": h["step"] * LR,
            "delta": h["centroid_distance"],
            "tau": h["tau"],
            "matched_fraction": h["matched_fraction"],
        }
    return {"curves": curves, "tau0": TAU0, "lr": LR}


def plot(data: dict, path) -> None:
    """Delta against -1/log(t)^2; inset-style second panel with tau(t)."""
    from gapsim.app.plotting import figure, save, series_colors

    fig, (a1, a2) = figure(2, width=4.4, height=3.5)
    cols = series_colors(len(data["curves"]))
    for (name, c), col in zip(data["curves"].items(), cols, strict=True):
        t, d = np.asarray(c["t"]), np.asarray(c["delta"])
        ok = t > np.e
        lw = 2.2 if name == "learnable" else 1.2
        label = f"learnable τ (τ0 = {data['tau0']})" if name == "learnable" else f"τ = {name[6:]}"
        a1.plot(-1 / np.log(t[ok]) ** 2, d[ok], color=col, lw=lw, label=label)
        a2.plot(t[t > 0], np.asarray(c["tau"])[t > 0], color=col, lw=lw, label=label)
    a1.set_xlabel("−1 / log(t)²   (t → ∞ at 0)")
    a1.set_ylabel("centroid distance Δ")
    a1.set_title("gap vs −1/log(t)², matched start (t > e)")
    a1.legend(fontsize=7)
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("gradient-flow time t = step × lr")
    a2.set_ylabel("temperature τ")
    a2.set_title("temperature")
    fig.suptitle("n = 5 on S², gradient flow from the matched parallel start")
    save(fig, path)


if __name__ == "__main__":
    import sys

    from gapsim.app.figure_io import main

    raise SystemExit(main(sys.modules[__name__], "yaras_fig4a"))
