"""Grassucci et al. (2026) Fig. 1 / Table 1: closing the gap helps groups, not instances.

Class structure comes from the data process: pair i belongs to class i mod K, and on a
fraction of steps each y is re-drawn among its class (so same-class points are positives of
each other, docs/theory.md 5). Left: an orthogonal gap sweep on one trained configuration (embedded
in one more dimension, x' = sqrt(1-g^2) x + g u, y' = sqrt(1-g^2) y - g u,
:func:`gapsim.inject_gap`): mixed-set k-means V-measure (K clusters on X and Y stacked),
the one-modality control and R@1 against the centroid distance 2g. Right: CLIP loss alone
against CLIP + ATP + CU from a cone-effect start (Adam, same budget and seeds).

    gapsim figures --only grassucci_fig1   (or: python experiments/grassucci_fig1.py)

Paper (MSCOCO): gap 0.47 -> 0.03, V-measure 12.98 -> 23.63, Cos True Pairs 0.34 -> 0.77,
retrieval about unchanged. Expected here: R@1 exactly flat along the sweep (rankings are
invariant), mixed V-measure falling once the gap exceeds the class spread.
"""

from __future__ import annotations

import numpy as np

from gapsim import Config, group_measures, inject_gap, simulate
from gapsim.app.scenarios import CONE_START

SIZES = {
    "tiny": dict(n=12, d=3, k=3, steps=50, gaps=3, seeds=1),
    "quick": dict(n=60, d=8, k=5, steps=1500, gaps=12, seeds=3),
    "full": dict(n=200, d=16, k=10, steps=5000, gaps=25, seeds=5),
}
TAU = 0.1
KEYS = ("centroid_distance", "paired_cosine_mean", "r1_xy", "mixed_v_measure")


def _r1(x, y) -> float:
    return float(np.mean(np.argmax(x @ y.T, axis=1) == np.arange(len(x))))


def _scores(x, y, labels, seed: int) -> dict:
    g = group_measures(x, y, labels, seed=seed)
    return {
        "centroid_distance": float(np.linalg.norm(x.mean(0) - y.mean(0))),
        "paired_cosine_mean": float(np.mean(np.sum(x * y, axis=1))),
        "r1_xy": _r1(x, y),
        "mixed_v_measure": g["mixed_v_measure"],
        "x_v_measure": g["x_v_measure"],
        "mixed_modality_v_measure": g["mixed_modality_v_measure"],
    }


def run(size: str) -> dict:
    """Gap sweep on one trained configuration; CLIP vs CLIP + ATP + CU over seeds."""
    s = SIZES[size]
    labels = np.arange(s["n"]) % s["k"]
    base = Config(
        n_pairs=s["n"],
        dim=s["d"],
        tau=TAU,
        solver="adam",
        steps=s["steps"],
        classes=s["k"],
        class_p=0.5,
        early_stop=False,
    )
    r = simulate(base)
    x, y = (np.pad(z, ((0, 0), (0, 1))) for z in (r.x, r.y))
    u = np.eye(s["d"] + 1)[-1]
    sweep = []
    for g in np.linspace(0.0, 0.95, s["gaps"]):
        xg, yg = inject_gap(x, y, float(g), u)
        sweep.append({"g": float(g), **_scores(xg, yg, labels, 0)})
    cone = base.replace(**CONE_START)
    methods = {"CLIP": cone, "CLIP + ATP + CU": cone.replace(atp=1.0, cu=1.0)}
    compare = {}
    for name, cfg in methods.items():
        rows = []
        for k in range(s["seeds"]):
            q = simulate(cfg.replace(seed=k))
            rows.append(_scores(q.x, q.y, labels, k))
        compare[name] = {
            key: {"mean": np.mean([w[key] for w in rows]), "sd": np.std([w[key] for w in rows])}
            for key in KEYS
        }
    return {"sweep": sweep, "compare": compare, "tau": TAU, **s}


PAPER = {
    "centroid_distance": (0.47, 0.03),
    "paired_cosine_mean": (0.34, 0.77),
    "mixed_v_measure": (0.1298, 0.2363),
}
"""Grassucci et al. (MSCOCO), CLIP then CLIP + ATP + CU (V-measure 12.98 -> 23.63 as fractions)."""

PANELS = (
    ("centroid_distance", "gap: centroid distance Δ"),
    ("paired_cosine_mean", "Cos True Pairs: mean cos(x_i, y_i)"),
    ("r1_xy", "R@1 x → y (fraction)"),
    ("mixed_v_measure", "V-measure, mixed set (fraction)"),
)


def plot(data: dict, path) -> None:
    """Left: the sweep (fractions). Right: one panel per quantity, the two methods as bars."""
    from gapsim.app.plotting import COLORS, figure, save, series_colors

    fig, axes = figure(5, width=3.0, height=3.6, width_ratios=[2.2, 1, 1, 1, 1])
    a1 = axes[0]
    sw = data["sweep"]
    dist = [w["centroid_distance"] for w in sw]
    a1.plot(
        dist,
        [w["mixed_v_measure"] for w in sw],
        "o-",
        color=COLORS["x"],
        label="V-measure, mixed set (X ∪ Y)",
    )
    a1.plot(
        dist,
        [w["x_v_measure"] for w in sw],
        "s--",
        color=COLORS["mark"],
        ms=9,
        mfc="none",
        label="V-measure, X alone (control)",
    )
    a1.plot(
        dist,
        [w["mixed_modality_v_measure"] for w in sw],
        "^:",
        color="black",
        ms=4,
        label="V-measure of mixed clusters vs modality",
    )
    a1.plot(dist, [w["r1_xy"] for w in sw], "D-", color=COLORS["y"], ms=4, label="R@1 x → y")
    a1.set_xlabel("centroid distance Δ after injecting an orthogonal gap")
    a1.set_ylabel("fraction (V-measure, R@1)")
    a1.set_ylim(-0.05, 1.1)
    a1.set_title(f"orthogonal gap sweep (N = {data['n']}, K = {data['k']})")
    a1.legend(fontsize=7, loc="center left")
    cols = series_colors(2)
    names = list(data["compare"])
    for ax, (key, label) in zip(axes[1:], PANELS, strict=True):
        for j, (name, col) in enumerate(zip(names, cols, strict=True)):
            c = data["compare"][name][key]
            ax.bar(j, c["mean"], 0.7, yerr=c["sd"], color=col, capsize=3, label=name)
        if key in PAPER:
            ax.plot([0, 1], PAPER[key], "x", color="0.3", ms=9, mew=2, label="paper (MSCOCO)")
        ax.set_xticks([0, 1], ["CLIP", "+ ATP + CU"], fontsize=8)
        ax.set_title(label, fontsize=8)
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    axes[1].legend(fontsize=6, loc="upper right")
    axes[2].set_xlabel(
        f"trained from a cone start ({data['seeds']} seeds, τ = {data['tau']}; mean ± sd)",
        fontsize=8,
        loc="left",
    )
    fig.suptitle("Closing the gap: instance-wise vs group-wise measures (grey ×: the paper)")
    save(fig, path)


if __name__ == "__main__":
    import sys

    from gapsim.app.figure_io import main

    raise SystemExit(main(sys.modules[__name__], "grassucci_fig1"))
