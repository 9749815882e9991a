"""Yi et al. (2025) Thm 3 at finite N: the regime map of certified optima in two hyperplanes.

Free points in two hyperplanes of R^d at dihedral angle phi; certified L-BFGS optima (float64),
best of several seeds; each optimum's means split into the shared part m_C (in C = A ∩ B) and
the private mean abar (gapsim.studies.yi_subspace). Left: the regime of each (d, N, tau, phi),
with the centroid angle over phi written in the cell where there is a gap to read (no_gap: a
mean below 1/sqrt(N), the mean norm of N points with no centre; abandoned: a_i = 0, both
modalities in C). Right: the measured
angle over phi against |m_C|/|abar|, with the identity
cos(angle) = (|m_C|^2 + abar^2 cos phi)/(|m_C|^2 + abar^2) drawn for each phi (prediction and
measurement on the same axes); Thm 3's claim is the value 1 at |m_C| = 0.

    gapsim figures --only yi_regime_map   (or: python experiments/yi_regime_map.py [--full])

Expected (full study, 2026-11): no optimum at angle = phi; angles below phi where both means
are non-zero (d = 8, 16), vanishing means (no gap) for most N >= d, private direction
abandoned at large N in d = 16.
"""

from __future__ import annotations

import numpy as np

from gapsim.app.scenarios import two_hyperplanes
from gapsim.studies.yi_subspace import GAP_REGIMES, REGIMES, hyperplane_study, study

GRIDS = {
    "tiny": ([(8, 4, 0.5, 0.7)], 1),
    "quick": ([(n, d, t, 0.7) for d in (4, 8) for n in (8, 32) for t in (0.1, 0.5)], 2),
}
KEYS = (
    "n",
    "d",
    "tau",
    "phi",
    "regime",
    "angle_raw",
    "angle_defined",
    "angle_uncertainty",
    "m_C",
    "abar_abs_first",
    "E_a2",
    "loss",
    "seeds_at_best",
)


def run(size: str) -> dict:
    """The study's best optimum per (N, d, tau, phi), decomposed."""
    if size == "full":
        rows = hyperplane_study(False)
    else:
        grid, seeds = GRIDS[size]
        cfgs = [two_hyperplanes(p, n_pairs=n, dim=d, tau=t, steps=5000) for n, d, t, p in grid]
        rows = study(cfgs, range(seeds), lambda c: {"phi": c.phi})
    return {"regimes": REGIMES, "runs": [{k: r.get(k) for k in KEYS} for r in rows]}


COLOURS = {
    "phi": "#1b9e77",
    "theta_j": "#66a61e",
    "between": "#7570b3",
    "zero": "#e7298a",
    "abandoned": "#e6ab02",
    "no_gap": "#bdbdbd",
    "unresolved": "#d9d9d9",
    "unpinned": "#e0e0e0",
    "not_certified": "#f4f4f4",
}


def plot(data: dict, path) -> None:
    """Regime matrix (left) and the identity with measured angles (right)."""
    from matplotlib.patches import Patch, Rectangle

    from gapsim.app.plotting import figure, save, series_colors

    runs = data["runs"]
    ds = sorted({r["d"] for r in runs})
    combos = sorted({(r["n"], r["tau"], r["phi"]) for r in runs})
    fig, (a1, a2) = figure(2, width=4.6, height=max(3.4, 0.32 * len(combos) + 1.4))
    for r in runs:
        i, j = combos.index((r["n"], r["tau"], r["phi"])), ds.index(r["d"])
        hatch = "///" if r["regime"] == "not_certified" else None
        a1.add_patch(
            Rectangle((j - 0.5, i - 0.5), 1, 1, fc=COLOURS[r["regime"]], ec="white", hatch=hatch)
        )
        text = "–"
        if r["regime"] in GAP_REGIMES and r.get("angle_defined") and r["angle_raw"] is not None:
            text = f"{r['angle_raw'] / r['phi']:.2f}"
        a1.text(j, i, text, ha="center", va="center", fontsize=7)
    a1.set_xlim(-0.5, len(ds) - 0.5)
    a1.set_ylim(-0.5, len(combos) - 0.5)
    a1.set_xticks(range(len(ds)), [str(d) for d in ds])
    a1.set_yticks(range(len(combos)), [f"N={n} τ={t:g} φ={p:g}" for n, t, p in combos])
    a1.set_xlabel("dimension d")
    a1.set_title("regime; cell text = centroid angle / φ")
    a1.grid(False)
    present = sorted({r["regime"] for r in runs}, key=list(COLOURS).index)
    a1.legend(
        handles=[
            Patch(fc=COLOURS[k], ec="grey", hatch="///" if k == "not_certified" else None, label=k)
            for k in present
        ],
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncol=3,
    )
    phis = sorted({r["phi"] for r in runs})
    cols = dict(zip(phis, series_colors(len(phis)), strict=True))
    ratio = np.logspace(-3, 3, 200)
    for p in phis:
        pred = np.arccos((ratio**2 + np.cos(p)) / (ratio**2 + 1)) / p
        a2.plot(ratio, pred, color=cols[p], lw=1, ls="--", label=f"identity, φ = {p:g}")
    for r in runs:
        if r.get("angle_defined") and r["regime"] in ("phi", "between", "zero", "theta_j"):
            x = max(r["m_C"] / max(r["abar_abs_first"], 1e-300), 1e-3)
            a2.plot(min(x, 1e3), r["angle_raw"] / r["phi"], "o", color=cols[r["phi"]], ms=5)
    a2.plot([], [], "o", color="grey", label="certified optimum (defined)")
    a2.set_xscale("log")
    a2.set_xlim(1e-3, 1e3)
    a2.set_ylim(-0.05, 1.1)
    a2.axhline(1.0, color="black", lw=0.8)
    a2.set_xlabel("|m_C| / |mean a|  (shared over private mean)")
    a2.set_ylabel("centroid angle / φ")
    a2.set_title("Thm 3 claims 1 (black line)")
    a2.legend(fontsize=7, loc="lower left")
    fig.suptitle("Two hyperplanes: what the converged gap equals (free points, certified)")
    save(fig, path)


if __name__ == "__main__":
    import sys

    from gapsim.app.figure_io import main

    raise SystemExit(main(sys.modules[__name__], "yi_regime_map"))
