"""Liang et al. (2022) "Mind the Gap", embedding-shift experiment: loss against a gap shift.

Free points trained from a cone-effect start (Adam, fixed tau = 0.02, a finite budget so a gap
remains) are shifted along the gap vector, x - lambda Delta/2 and y + lambda Delta/2,
renormalised (:func:`gapsim.gap_shift_curve`); lambda = 0 is the trained gap, lambda = 1 closes
it, lambda < 0 widens it. The InfoNCE loss of the shifted points is evaluated at several
temperatures (minus its value at lambda = 0); the minimum of each curve is marked.

    gapsim figures --only liang_shift   (or: python experiments/liang_shift.py [--full])

Right: Liang's three-dimensional toy with one swapped pair (:mod:`gapsim.studies.liang_toy`): at
its stationary temperature the minimum is at lambda = 0; at logit scale 100 it sits at a wider
gap (predicted gamma* = sqrt(1 - a*/beta)); at logit scale 1 at zero gap (lambda = 1).

Curves are drawn as (L - min L) / (max L - min L) over the plotted range of lambda, so every
temperature reads on one linear axis and every minimum is at 0 (no curve is clipped).

Paper (CLIP on MSCOCO): at the trained temperature 1/100 the loss is smallest near the
original gap (closing it raises the loss); at higher temperatures the minimum moves towards a
smaller gap.
"""

from __future__ import annotations

import numpy as np

from gapsim import gap_shift_curve, simulate
from gapsim.app.scenarios import cone_effect

SIZES = {"tiny": (8, 4, 50, 11), "quick": (64, 16, 1500, 81), "full": (256, 32, 5000, 161)}
TAU_TRAIN = 0.02
TAUS = (0.01, 0.02, 0.05, 0.1, 0.5)


def run(size: str) -> dict:
    """Train once, then one loss curve per evaluation temperature."""
    n, d, steps, grid = SIZES[size]
    r = simulate(cone_effect(n_pairs=n, dim=d, tau=TAU_TRAIN, steps=steps))
    lam = np.linspace(-1.0, 1.5, grid)  # past 1 the gap reverses: no minimum at the edge
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
        "toy": _toy(),
        "tau_train": TAU_TRAIN,
        "gap_trained": r.measures["centroid_distance"],
        "n": n,
        "d": d,
        "steps": steps,
    }


def _toy() -> dict:
    """Liang's toy at its stationary temperature, at logit scale 100 and at 1."""
    from gapsim.studies.liang_toy import GAMMA0, stationary_temperature, toy_points

    a_star = stationary_temperature()
    x, y = toy_points()
    lam = np.linspace(-6.0, 1.5, 301)
    curves = []
    for label, beta in (
        ("stationary, a*/(1-γ0²)", a_star / (1 - GAMMA0**2)),
        ("large", 100.0),
        ("small", 1.0),
    ):
        c = gap_shift_curve(x, y, 1 / beta, lam)
        curves.append(
            {
                "label": label,
                "beta": beta,
                "loss": c.losses,
                "lam_min": float(lam[int(np.argmin(c.losses))]),
            }
        )
    return {"lambdas": lam, "curves": curves, "a_star": a_star, "gamma0": GAMMA0}


def _normalised(loss: np.ndarray) -> np.ndarray:
    return (loss - loss.min()) / max(float(loss.max() - loss.min()), 1e-300)


def plot(data: dict, path) -> None:
    """Normalised loss against the shift; left trained free points, right Liang's toy."""
    from gapsim.app.plotting import figure, save, series_colors

    fig, (ax, at) = figure(2, width=5.0, height=3.9)
    lam = np.asarray(data["lambdas"])
    for c, col in zip(data["curves"], series_colors(len(data["curves"])), strict=True):
        y = _normalised(np.asarray(c["loss"]))
        ax.plot(lam, y, color=col, label=f"τ_eval = {c['tau']:g}  (min at λ = {c['lam_min']:.2f})")
        j = int(np.argmin(y))
        ax.plot(lam[j], y[j], "*", color=col, ms=11, mec="black", mew=0.5, clip_on=False)
    for a in (ax, at):
        a.axvline(0, color="0.5", ls=":", lw=1)
        a.axvline(1, color="0.5", ls="--", lw=1)
        for x0, text in ((0.0, "trained gap"), (1.0, "gap closed")):
            a.text(
                x0,
                0.5,
                text,
                transform=a.get_xaxis_transform(),
                fontsize=7,
                rotation=90,
                ha="right",
                va="center",
                color="0.4",
            )
        a.set_ylim(-0.04, 1.04)
        a.set_xlabel("shift λ along the gap vector (0: as given, 1: closed, < 0: wider)")
    ax.set_ylabel("(L(λ) − min L) / (max L − min L) over the plotted λ")
    ax.set_xlim(lam[0], lam[-1])
    ax.set_title(
        f"free points trained at τ_train = {data['tau_train']} (Adam, cone start, "
        f"N = {data['n']}, d = {data['d']}, Δ = {data['gap_trained']:.2f})",
        fontsize=8,
    )
    ax.legend(fontsize=7, title="InfoNCE evaluated at τ_eval", title_fontsize=7)
    toy = data["toy"]
    tl = np.asarray(toy["lambdas"])
    for c, col in zip(toy["curves"], series_colors(len(toy["curves"])), strict=True):
        y = _normalised(np.asarray(c["loss"]))
        at.plot(
            tl,
            y,
            color=col,
            label=f"β = {c['beta']:.3g}, {c['label']} (min at λ = {c['lam_min']:.2f})",
        )
        j = int(np.argmin(y))
        at.plot(tl[j], y[j], "*", color=col, ms=11, mec="black", mew=0.5, clip_on=False)
    at.set_title(
        f"Liang's 3-d toy: N = 8, one swapped pair, γ0 = {toy['gamma0']}, a* = {toy['a_star']:.2f}",
        fontsize=8,
    )
    at.legend(fontsize=7, title="logit scale β = 1/τ", title_fontsize=7)
    fig.suptitle("Embedding shift (Liang et al. 2022): where is the loss smallest? ★ = minimum")
    save(fig, path)


if __name__ == "__main__":
    import sys

    from gapsim.app.figure_io import main

    raise SystemExit(main(sys.modules[__name__], "liang_shift"))
