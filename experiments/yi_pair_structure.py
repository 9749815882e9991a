"""Yi et al. (2025) Thm 4 / Cor 2-4: the pair structure under two hyperplanes, and its fixes.

Left: certified L-BFGS optima of free points in two hyperplanes of R^4 (d = 4: C = A ∩ B is a
plane) at several dihedral angles phi; each pair's cosine x_i . y_i against its squared
private coordinate a_i^2, with the predicted curve 1 - (1 - cos phi) a^2 (valid when
P_C x_i = P_C y_i and a_i = b_i). Middle and right (one quantity per axis): mean paired
cosine, and centroid distance (markers, visible at 0), before and after the two fixes, shared
space projection (SSP, from the data) and hyperplane rotation (from the data bases).

    gapsim figures --only yi_pair_structure   (or: python experiments/yi_pair_structure.py)

Expected: every point on its curve (residual ~1e-9); both fixes give paired cosine 1.
"""

from __future__ import annotations

import numpy as np

from gapsim import hyperplane_rotation, simulate, ssp
from gapsim.app.scenarios import two_hyperplanes

SIZES = {
    "tiny": (8, (0.6,)),
    "quick": (48, (0.4, 0.8, 1.2)),
    "full": (128, (0.3, 0.6, 0.9, 1.2, 1.5)),
}
TAU, DIM = 0.1, 4


def run(size: str) -> dict:
    """One optimum per phi; pair cosines, private coordinates, and SSP/rotation measures."""
    n, phis = SIZES[size]
    out = {"tau": TAU, "dim": DIM, "n": n, "runs": []}
    for phi in phis:
        r = simulate(two_hyperplanes(phi, n_pairs=n, dim=DIM, tau=TAU))
        m = r.measures
        fixes = {"before": None}
        for name, fn in (("SSP", ssp), ("rotation", hyperplane_rotation)):
            res = fn(r.x, r.y, tau=TAU)
            fixes["before"] = res.before
            fixes[name] = res.after
        out["runs"].append(
            {
                "phi": phi,
                "a": r.arrays["private_a"][:, 0],
                "b": r.arrays["private_b"][:, 0],
                "cos": np.sum(r.x * r.y, axis=1),
                "converged": r.converged,
                "formula_residual": m["paired_cosine_formula_residual"],
                "shared_residual": m["shared_residual"],
                "private_mismatch": m["private_mismatch"],
                "fixes": {
                    k: {q: v[q] for q in ("paired_cosine_mean", "centroid_distance", "r1_xy")}
                    for k, v in fixes.items()
                },
            }
        )
    return out


def plot(data: dict, path) -> None:
    """Scatter + curves; mean paired cosine (one axis) and centroid distance (another)."""
    from gapsim.app.plotting import figure, save, series_colors

    fig, (a1, a2, a3) = figure(3, width=3.6, height=3.6)
    cols = series_colors(len(data["runs"]))
    aa = np.linspace(0, 1, 100)
    for run, c in zip(data["runs"], cols, strict=True):
        phi = run["phi"]
        a1.plot(aa, 1 - (1 - np.cos(phi)) * aa**2, color=c, ls="--", lw=1)
        a1.plot(
            np.square(run["a"]),
            run["cos"],
            "o",
            color=c,
            ms=4,
            label=f"φ = {np.degrees(phi):.0f}°  (resid. {run['formula_residual']:.0e})",
        )
    a1.set_xlabel("squared private coordinate $a_i^2$")
    a1.set_ylabel("paired cosine $x_i\\cdot y_i$")
    a1.set_title(f"pairs vs 1 − (1 − cos φ) a² (dashed), d = {data['dim']}")
    a1.legend(fontsize=7, loc="lower left")
    labels = ["before", "SSP", "rotation"]
    w = 0.8 / len(data["runs"])
    top = max(run["fixes"][k]["centroid_distance"] for run in data["runs"] for k in labels)
    for j, (run, c) in enumerate(zip(data["runs"], cols, strict=True)):
        xs = np.arange(3) + (j - (len(data["runs"]) - 1) / 2) * w
        lab = f"φ = {np.degrees(run['phi']):.0f}°"
        a2.bar(xs, [run["fixes"][k]["paired_cosine_mean"] for k in labels], w, color=c, label=lab)
        # markers (not bars) so that a distance of exactly 0 stays visible on the axis
        a3.plot(
            xs,
            [run["fixes"][k]["centroid_distance"] for k in labels],
            "D",
            color=c,
            ms=6,
            clip_on=False,
            zorder=3,
            label=lab,
        )
    for ax in (a2, a3):
        ax.set_xticks(range(3), ["before", "after\nSSP", "after\nrotation"])
    a2.set_ylabel("mean paired cosine (1 = aligned)")
    a2.set_ylim(0, 1.05)
    a2.set_title("alignment (bases from the data)")
    a2.legend(fontsize=7, loc="lower right")
    a3.set_ylabel("centroid distance Δ = |mean X − mean Y|")
    a3.set_ylim(-0.05 * max(top, 1e-3), 1.1 * max(top, 1e-3))
    a3.axhline(0.0, color="black", lw=0.6)
    a3.set_title("gap Δ before and after")
    fig.suptitle(f"Pair structure at certified optima (N = {data['n']}, τ = {data['tau']})")
    save(fig, path)


if __name__ == "__main__":
    import sys

    from gapsim.app.figure_io import main

    raise SystemExit(main(sys.modules[__name__], "yi_pair_structure"))
