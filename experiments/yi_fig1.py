"""Yi, Douady & Chen (2025) Fig. 1: converged configurations on S^2 from two cones.

Both modalities start in two narrow cones (the "cone effect" start), then InfoNCE is optimised
with projected Adam (the same dynamics for all three panels) under (a) no constraint, (b) the
cone constraint (each modality in a cap of fixed half-angle with a learnable axis: the exact
projection of :mod:`gapsim.core.sets`), (b') a fixed concentration ||mean|| = A_3(kappa)
(the finite-N form of Yi et al.'s fixed-kappa hypothesis) and (c) two
planes at dihedral angle phi (the two great circles). Pairs are joined by grey segments; the
panel titles say whether the end point is certified stationary.

Finding: L-BFGS from this start on the two planes stops after ~20 iterations at a *collapsed*
stationary point (all x_i equal, all y_i equal; certified, gradient ~1e-11), a saddle that the
first line search jumps to; from a uniform start it finds the spread optimum. Adam (lr 1e-3)
from the two-cone start on the planes also collapses to that saddle: all x_i move to the
point of their circle nearest the Y cluster before they spread. A fourth panel therefore shows
the certified optimum on the planes from a uniform start (L-BFGS).
Adam needs a small step (lr = 1e-3): at its default 1e-2 the capped run ends at a higher loss
(2.09 against 1.99) with the caps ~160 deg apart, an artefact of the step size.

    gapsim figures --only yi_fig1        (or: python experiments/yi_fig1.py [--full])

Expected (docs/theory.md 2.1-2.3): (a) x_i = y_i, spread uniformly; (b) the two caps' centres meet
(gap 0), pairs coincide; (c) pairs cannot coincide: x_i . y_i = 1 - (1 - cos phi) a_i^2.
"""

from __future__ import annotations

import math

import numpy as np

from gapsim import hyperplane_pair, simulate
from gapsim.app.scenarios import cone_effect, two_hyperplanes

SIZES = {"tiny": (8, 200), "quick": (24, 20000), "full": (40, 100000)}
LR = 1e-3
TAU, PHI, CAP = 0.2, math.pi / 3, 0.7
KAPPA = 4.0
"""Fixed-concentration panel: ||mean|| = A_3(4) = coth(4) - 1/4 = 0.751 per modality."""


def run(size: str) -> dict:
    """Four runs from the same two-cone start (and one uniform); points, starts, measures."""
    n, steps = SIZES[size]
    base = cone_effect(n_pairs=n, dim=3, tau=TAU, lr=LR, steps=steps, early_stop=True)
    cfgs = {
        "none": base,
        "cone": base.replace(constraint="cone", cone_angle=CAP),
        "concentration": base.replace(constraint="concentration", kappa=KAPPA),
        "planes": base.replace(constraint="subspace", phi=PHI),
        "planes_uniform": two_hyperplanes(PHI, n_pairs=n, dim=3, tau=TAU, steps=steps),
    }
    out = {"tau": TAU, "phi": PHI, "cap": CAP, "kappa": KAPPA, "n": n, "panels": {}}
    for k, c in cfgs.items():
        r = simulate(c)
        m = r.measures
        out["panels"][k] = {
            "x": r.x,
            "y": r.y,
            "x0": r.x0,
            "y0": r.y0,
            "centroid_angle_raw": m["centroid_angle_raw"],
            "ill": m["centroid_angle_ill_conditioned"],
            "centroid_distance": m["centroid_distance"],
            "paired_cosine_mean": m["paired_cosine_mean"],
            "converged": r.converged,
            "collapsed": bool(np.ptp(r.x, axis=0).max() < 1e-3),
            "grad_norm": r.certificate.grad_norm,
        }
    out["planes_basis"] = [q.tolist() for q in hyperplane_pair(3, PHI)]
    return out


def plot(data: dict, path) -> None:
    """One 3-D sphere panel per run."""
    from gapsim.app.plotting import figure, save, sphere_panel

    fig, axes = figure(
        len(data["panels"]), width=3.6, height=3.8, subplot_kw={"projection": "3d"}, layout=None
    )
    titles = {
        "none": "no constraint",
        "cone": f"cone constraint (cap {math.degrees(data['cap']):.0f}°, learnable axis)",
        "concentration": f"fixed concentration (κ = {data.get('kappa', KAPPA):g})",
        "planes": f"two planes, φ = {math.degrees(data['phi']):.0f}°, Adam",
        "planes_uniform": "same planes, uniform start, L-BFGS",
    }
    for ax, (k, p) in zip(axes, data["panels"].items(), strict=True):
        ang = p["centroid_angle_raw"]
        ang_s = "undef." if p["ill"] else f"{math.degrees(ang):.1f}°"
        sub = (
            f"\ncentroid angle {ang_s}, Δ = {p['centroid_distance']:.3f}"
            f"\nmean x·y = {p['paired_cosine_mean']:.3f}"
            + ("" if p["converged"] else " (not certified)")
            + ("\nall x_i (and all y_i) collapsed to one point" if p["collapsed"] else "")
        )
        planes = [np.asarray(q) for q in data["planes_basis"]] if "planes" in k else None
        sphere_panel(
            ax, p["x"], p["y"], x0=p["x0"], y0=p["y0"], title=titles[k] + sub, planes=planes
        )
    axes[0].legend(loc="upper left")
    fig.suptitle(
        f"Converged configurations from a two-cone start (N = {data['n']}, τ = {data['tau']}; "
        "▲ faint = start)",
        y=1.07,
    )
    save(fig, path)


if __name__ == "__main__":
    import sys

    from gapsim.app.figure_io import main

    raise SystemExit(main(sys.modules[__name__], "yi_fig1"))
