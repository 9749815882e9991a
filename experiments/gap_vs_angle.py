"""Headline test of Yi et al. (2025) Thm 3: converged centroid angle against the subspace angle.

Left: two hyperplanes (great circles of S^2, d = 3) at dihedral angle phi; right: two
k = 2 dimensional subspaces of R^6 with principal angles (theta_1, theta_1 + 0.4) and trivial
intersection, against theta_1. Series: free points (certified L-BFGS optimum, uniform start)
and caps inside the hyperplanes (fixed concentration, projected Adam with lr = 1e-3; at the
default lr = 1e-2 the capped runs end at higher losses, an artefact of the step). One marker
per seed (strips: the spreads are bimodal); filled where the certified points pin the angle
(position error / mean norm <= 0.01 rad, gapsim.studies.yi_subspace), hollow otherwise (means
too small to read, or a run without a certificate), plotted with its raw value. The regime map
across d and N is the figure yi_regime_map.

    gapsim figures --only gap_vs_angle   (or: python experiments/gap_vs_angle.py [--full])

Claim (DISPUTED): the gap converges to phi (to theta_1); identity line drawn. Known: with free
points in R^3 the optimum's means are ~0, so the angle there is not a number to read.
"""

from __future__ import annotations

import math

import numpy as np

from gapsim import Config, simulate
from gapsim.app.scenarios import two_hyperplanes
from gapsim.studies.yi_subspace import ANGLE_RESOLUTION, position_error

SIZES = {
    "tiny": dict(n=8, seeds=1, angles=2, steps=100),
    "quick": dict(n=32, seeds=3, angles=6, steps=10000),
    "full": dict(n=64, seeds=8, angles=10, steps=40000),
}
TAU, CAP = 0.1, 0.8


def _defined(r) -> bool:
    """The angle is read only where the certified points pin it (checks.yi_subspace criterion)."""
    if not r.converged or r.certificate.criterion != "riemannian_grad_norm":
        return False
    norm = min(r.measures["mean_norm_x"], r.measures["mean_norm_y"])
    return norm > 0 and position_error(r) / norm <= ANGLE_RESOLUTION


def _series(cfgs: list[Config]) -> dict:
    runs = [simulate(c) for c in cfgs]
    a = np.array([r.measures["centroid_angle_raw"] for r in runs])
    defined = np.array([_defined(r) for r in runs])
    return {
        "values": a,
        "defined": defined,
        "min_mean_norm": float(
            min(min(r.measures["mean_norm_x"], r.measures["mean_norm_y"]) for r in runs)
        ),
        "converged_all": bool(all(r.converged for r in runs)),
    }


def run(size: str) -> dict:
    """Sweep phi (hyperplanes, free + caps) and theta_1 (k = 2 subspaces in R^6)."""
    s = SIZES[size]
    seeds = range(s["seeds"])
    phis = np.linspace(0.15, 1.45, s["angles"])
    hyp = two_hyperplanes(0.5, n_pairs=s["n"], dim=3, tau=TAU)
    cap = hyp.replace(cone_angle=CAP, solver="adam", lr=1e-3, steps=s["steps"])
    sub = Config(n_pairs=s["n"], dim=6, tau=TAU, constraint="subspace", thetas=(0.5, 0.9))
    rows = {"hyper_free": [], "hyper_caps": [], "subspace_free": []}
    for p in phis:
        p = float(p)
        rows["hyper_free"].append(_series([hyp.replace(phi=p, seed=k) for k in seeds]))
        rows["hyper_caps"].append(_series([cap.replace(phi=p, seed=k) for k in seeds]))
        th = (p, min(p + 0.4, math.pi / 2))
        rows["subspace_free"].append(_series([sub.replace(thetas=th, seed=k) for k in seeds]))
    return {"angles": phis, "tau": TAU, "cap": CAP, "n": s["n"], "seeds": s["seeds"], **rows}


def plot(data: dict, path) -> None:
    """Two panels: against phi, against theta_1."""
    from gapsim.app.plotting import figure, save, series_colors

    fig, (a1, a2) = figure(2, width=4.3, height=4.2)
    ang = np.degrees(np.asarray(data["angles"]))
    c = series_colors(3)
    panels = [
        (
            a1,
            [
                ("hyper_free", "free points (L-BFGS)", c[0], "o"),
                (
                    "hyper_caps",
                    f"caps in hyperplanes (α={data['cap']}, Adam, not certified)",
                    c[1],
                    "s",
                ),
            ],
            "dihedral angle φ [deg]",
            "two planes in R³",
        ),
        (
            a2,
            [("subspace_free", "free points (L-BFGS)", c[0], "o")],
            "smallest principal angle θ₁ [deg]",
            "k = 2 subspaces of R⁶, θ₂ = min(θ₁ + 0.4 rad, 90°)",
        ),
    ]
    for ax, series, xlabel, title in panels:
        ax.plot([0, 90], [0, 90], color="black", ls="--", lw=1, label="identity (claim)")
        for j, (key, label, col, mk) in enumerate(series):
            # every seed as a strip (the spreads are bimodal: no mean +- sd); filled where the
            # certified points pin the angle, hollow where the means are too small to read it
            off = 1.2 * (2 * j - (len(series) - 1))
            for a, r in zip(ang, data[key], strict=True):
                v = np.degrees(np.asarray(r["values"], dtype=float))
                ok = np.asarray(r["defined"], dtype=bool)
                xs = a + off + np.linspace(-0.6, 0.6, v.size)
                ax.plot(xs[ok], v[ok], mk, color=col, ms=4)
                ax.plot(xs[~ok], v[~ok], mk, color=col, ms=4, mfc="none", alpha=0.6)
            flags = np.concatenate([np.asarray(r["defined"], dtype=bool) for r in data[key]])
            if flags.any():
                ax.plot([], [], mk, color=col, label=f"{label}: angle defined")
            if not flags.all():
                ax.plot([], [], mk, color=col, mfc="none", label=f"{label}: not read (raw value)")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("converged centroid angle [deg]")
        ax.set_title(title)
        ax.set_xlim(0, 90)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), fontsize=7)
    fig.suptitle(
        f"Gap vs subspace angle (N = {data['n']}, τ = {data['tau']}, "
        f"{data['seeds']} seeds, one marker per seed)"
    )
    save(fig, path)


if __name__ == "__main__":
    import sys

    from gapsim.app.figure_io import main

    raise SystemExit(main(sys.modules[__name__], "gap_vs_angle"))
