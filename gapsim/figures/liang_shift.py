"""Liang et al. (2022) "Mind the Gap", embedding-shift experiment: loss against a gap shift.

Free points trained from a cone-effect start (Adam, fixed tau = 0.02, a finite budget so a gap
remains) are shifted along the gap vector, x - lambda Delta/2 and y + lambda Delta/2,
renormalised (:func:`gapsim.gap_shift_curve`); lambda = 0 is the trained gap, lambda = 1 closes
it, lambda < 0 widens it. The InfoNCE loss of the shifted points is evaluated at several
temperatures (minus its value at lambda = 0); the minimum of each curve is marked.

    gapsim figures --only liang_shift   (or: python experiments/liang_shift.py [--full])

Paper (CLIP on MSCOCO): at the trained temperature 1/100 the loss is smallest near the
original gap (closing it raises the loss); at higher temperatures the minimum moves towards a
smaller gap.
"""

from __future__ import annotations

import numpy as np

from gapsim import Config, gap_shift_curve, simulate

SIZES = {"tiny": (8, 4, 50, 11), "quick": (64, 16, 1500, 81), "full": (256, 32, 5000, 161)}
TAU_TRAIN = 0.02
TAUS = (0.01, 0.02, 0.05, 0.1, 0.5)


def run(size: str) -> dict:
    """Train once, then one loss curve per evaluation temperature."""
    n, d, steps, grid = SIZES[size]
    r = simulate(
        Config(
            n_pairs=n,
            dim=d,
            tau=TAU_TRAIN,
            init="cones",
            init_angle=0.3,
            init_axis_angle=1.5,
            solver="adam",
            steps=steps,
            early_stop=False,
        )
    )
    lam = np.linspace(-1.0, 1.0, grid)
    curves = []
    for tau in TAUS:
        c = gap_shift_curve(r.x, r.y, tau, lam)
        i = int(np.argmin(c.losses))
        curves.append(
            {
                "tau": tau,
                "loss": c.losses,
                "delta": c.centroid_distance,
                "lam_min": lam[i],
                "delta_at_min": c.centroid_distance[i],
            }
        )
    return {
        "lambdas": lam,
        "curves": curves,
        "tau_train": TAU_TRAIN,
        "gap_trained": r.measures["centroid_distance"],
        "n": n,
        "d": d,
        "steps": steps,
    }


def plot(data: dict, path) -> None:
    """Loss(lambda) - loss(0) per tau, minima marked; top axis = resulting gap."""
    from gapsim.plotting import figure, save, series_colors

    fig, ax = figure(1, width=5.2, height=3.8)
    lam = np.asarray(data["lambdas"])
    i0 = int(np.argmin(np.abs(lam)))
    for c, col in zip(data["curves"], series_colors(len(data["curves"])), strict=True):
        loss = np.asarray(c["loss"])
        rel = loss - loss[i0]
        ax.plot(lam, rel, color=col, label=f"τ = {c['tau']:g}  (min at λ = {c['lam_min']:.2f})")
        j = int(np.argmin(loss))
        ax.plot(lam[j], rel[j], "*", color=col, ms=11, mec="black", mew=0.5)
    ax.axvline(0, color="0.5", ls=":", lw=1)
    ax.axvline(1, color="0.5", ls="--", lw=1)
    ax.text(0.02, 0.97, "trained gap", transform=ax.get_xaxis_transform(), va="top", fontsize=7)
    ax.text(
        0.98,
        0.97,
        "gap closed",
        transform=ax.get_xaxis_transform(),
        va="top",
        ha="right",
        fontsize=7,
    )
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_xlabel("shift λ along the gap vector (0: as trained, 1: closed, < 0: wider)")
    ax.set_ylabel("InfoNCE(λ) − InfoNCE(0)  [nats, symlog]")
    ax.set_title(
        f"Embedding shift (trained at τ = {data['tau_train']}, gap Δ = "
        f"{data['gap_trained']:.2f}, N = {data['n']}, d = {data['d']}); ★ = minimum"
    )
    ax.legend(fontsize=7, loc="upper center")
    save(fig, path)
