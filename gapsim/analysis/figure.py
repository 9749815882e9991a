"""The one-page figure of an :class:`~gapsim.analysis.core.Analysis` (plotting only).

Six panels: (a) spectra of both modalities, centred and uncentred (log scale; the 99%-variance
dimensions marked); (b) principal angles between the two data subspaces (Yi et al.'s SSP
recipe); (c) Liang et al.'s InfoNCE versus the gap shift, one curve per temperature, its
minimum marked; (d) the before/after table of the post-hoc alignments; (e) the free-point run
from the embeddings (centroid distance and paired cosine per step), or the cone effect
(mean pairwise cosine per modality and across) without one; (f) the main gap measures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gapsim.app.plotting import figure, save, series_colors

__all__ = ["plot_analysis"]


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "undef."
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _spectra(ax, a) -> None:
    for name, color in zip(("x", "y"), series_colors(2), strict=True):
        for kind, ls in (("", "-"), ("uncentred_", "--")):
            w = np.asarray(a.arrays[f"spectrum_{kind}{name}"])
            w = w / w.sum()
            ax.semilogy(
                np.arange(1, w.size + 1),
                np.maximum(w, 1e-12),
                ls,
                color=color,
                label=f"{name} {'centred' if not kind else 'uncentred'}",
            )
        ax.axvline(a.structure[f"dim99_{name}"], color=color, lw=0.7, ls=":")
    ax.set(xlabel="index", ylabel="share of variance", title="(a) spectra (: = 99% dim, centred)")
    ax.legend(fontsize=7)


def _angles(ax, a) -> None:
    th = np.degrees(np.asarray(a.arrays["principal_angles"]))
    ax.plot(np.arange(1, th.size + 1), th, ".-")
    ax.set(
        xlabel="index",
        ylabel="principal angle (deg)",
        title=f"(b) data subspaces: overlap dim {a.structure['overlap_dim']}",
    )


def _shift(ax, a) -> None:
    for (tau, c), color in zip(a.shift.items(), series_colors(len(a.shift)), strict=True):
        losses = np.asarray(c["losses"])
        ax.plot(c["lambdas"], losses - losses.min(), color=color, label=f"tau={tau}")
        ax.plot([c["lam_min"]], [0.0], "o", color=color)
    ax.axvline(0, color="grey", lw=0.7)
    ax.set(
        xlabel="shift lambda (1 closes the gap)",
        ylabel="loss - min",
        title=f"(c) loss vs shift (batch {a.settings['curve_sample']})",
    )
    ax.legend(fontsize=7)


def _table(ax, a) -> None:
    keys = ("centroid_distance", "paired_cosine_mean", "r1_xy", "r1_yx")
    rows, labels = [], []
    first = next((r for r in a.alignments.values() if "before" in r), None)
    if first is not None:
        rows.append([_fmt(first["before"][k]) for k in keys])
        labels.append("before")
    for name, r in a.alignments.items():
        rows.append([_fmt(r["after"][k]) for k in keys] if "after" in r else ["skipped"] * 4)
        labels.append(name)
    ax.axis("off")
    if rows:
        t = ax.table(
            cellText=rows,
            rowLabels=labels,
            colLabels=["gap", "cos pair", "R@1 xy", "R@1 yx"],
            loc="center",
        )
        t.auto_set_font_size(False)
        t.set_fontsize(7)
    ax.set_title(f"(d) post-hoc alignments ({a.settings['eval_sample']} pairs)")


def _dynamics(ax, a) -> None:
    if a.simulation is None:
        s = a.structure
        vals = [s["cone_cosine_x"], s["cone_cosine_y"], s["cross_cosine_mean"]]
        ax.bar(["within x", "within y", "x . y (all)"], vals, color=series_colors(3))
        ax.set(ylabel="mean cosine", title="(e) cone effect")
        return
    h, s = a.simulation["history"], a.simulation["summary"]
    ax.plot(h["step"], h["centroid_distance"], label="centroid distance")
    ax.plot(h["step"], h["paired_cosine_mean"], label="paired cosine")
    ax.set(xlabel="step", title=f"(e) free points from the data: n={s['n']}, tau={s['tau']:g}")
    ax.legend(fontsize=7)


def _text(ax, a) -> None:
    m = a.measures
    keys = (
        "centroid_distance",
        "centroid_angle",
        "mean_norm_x",
        "mean_norm_y",
        "paired_cosine_mean",
        "r1_xy",
        "r5_xy",
        "r1_yx",
        "r5_yx",
        "uniformity",
        "matched_fraction",
        "loss",
    )
    lines = [f"N = {a.input['n']}, d = {a.input['d']}, tau = {a.settings['tau']:g}"]
    lines += [f"{k:<20} {_fmt(m[k])}" for k in keys]
    lines += [
        f"{'cone cos x / y':<20} {_fmt(a.structure['cone_cosine_x'])} / "
        f"{_fmt(a.structure['cone_cosine_y'])}"
    ]
    ax.axis("off")
    ax.text(0, 1, "\n".join(lines), family="monospace", fontsize=7, va="top")
    ax.set_title("(f) gap measures")


def plot_analysis(a, path: str | Path) -> Path:
    """Draw the six panels of the module docstring to ``path`` (PNG); returns the path."""
    fig, axes = figure(3, 2, width=4.2, height=3.4)
    for fn, ax in zip(
        (_spectra, _angles, _shift, _table, _dynamics, _text), axes.flat, strict=True
    ):
        fn(ax, a)
    return save(fig, path)
