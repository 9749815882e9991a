"""Yaras et al. (2025) Fig. 2: n = 5 pairs on S^2 from the mismatched parallel start.

Learnable temperature (beta = exp(nu), equal step sizes), plain gradient descent as a
discretised gradient flow (time t = step * lr). The run is cut into segments, each
continued from the previous end points and temperature (exact for gradient descent without
momentum), so that the points can be drawn at chosen times. Top: Delta(t) and tau(t) on a log
time axis, the first time all pairs are matched (margin > 0) marked; bottom: sphere snapshots.

    gapsim figures --only yaras_fig2   (or: python experiments/yaras_fig2.py [--full])

Expected (sign rule, theory.md 3.1): Delta and tau rise while pairs are mismatched, peak near the
time all pairs become matched, then fall while tau -> 0 and the gap freezes. The data also hold
``landmarks``, one row per start seed (:data:`SEEDS`; one uncut run of the same length each, seed 0
read from the drawn trajectory): the peaks of Delta and tau, their times and the first time all
pairs are matched, so that "peak near matching" is seen on more than one start (this table was
the script ``experiments/yaras_mismatched.py``).
"""

from __future__ import annotations

import numpy as np

from gapsim import simulate
from gapsim.app.scenarios import mismatched_flow

# segments (count, steps): short ones early for snapshots, long ones later (one compile each)
SIZES = {
    "tiny": ((2, 50), (2, 250)),
    "quick": ((20, 100), (40, 2500)),
    "full": ((20, 100), (100, 10000)),
}
TAU0, ANGLE, LR = 0.1, 1.0, 1e-3
SEEDS = {"tiny": (0, 1), "quick": (0, 1, 2), "full": (0, 1, 2, 3, 4)}


def _landmarks(h: dict, seed: int) -> dict:
    """Peaks of Delta and tau, their times, and the first time all pairs are matched."""
    t = h["step"] * LR
    i, j = int(np.argmax(h["centroid_distance"])), int(np.argmax(h["tau"]))
    matched = np.flatnonzero(h["matched_fraction"] == 1)
    return {
        "seed": seed,
        "delta0": float(h["centroid_distance"][0]),
        "delta_peak": float(h["centroid_distance"][i]),
        "t_delta_peak": float(t[i]),
        "tau_peak": float(h["tau"][j]),
        "t_tau_peak": float(t[j]),
        "t_all_matched": float(t[matched[0]]) if matched.size else None,
        "delta_final": float(h["centroid_distance"][-1]),
        "tau_final": float(h["tau"][-1]),
        "t_final": float(t[-1]),
    }


def run(size: str) -> dict:
    """Segments of one trajectory; history concatenated; snapshots at every segment end."""
    segs = [s for count, s in SIZES[size] for _ in range(count)]
    cfg = mismatched_flow(tau=TAU0, init_angle=ANGLE, lr=LR, steps=segs[0], seed=0)
    keys = ("step", "centroid_distance", "tau", "matched_fraction", "margin")
    hist = {k: [] for k in keys}
    snaps = []
    r = simulate(cfg)
    snaps.append({"t": 0.0, "x": r.x0, "y": r.y0})
    done = 0
    for i, seg in enumerate(segs):
        if i:
            r = simulate(cfg.replace(tau=r.measures["tau_final"], steps=seg), r.z)
        for k in keys:
            v = r.history[k] + (done if k == "step" else 0)
            hist[k].append(v if i == 0 else v[1:])
        done += seg
        snaps.append({"t": done * LR, "x": r.x, "y": r.y})
    h = {k: np.concatenate(v) for k, v in hist.items()}
    t = h["step"] * LR
    matched = np.flatnonzero(h["matched_fraction"] == 1)
    marks = [_landmarks(h, 0)] + [
        _landmarks(simulate(cfg.replace(seed=s, steps=done)).history, s)
        for s in SEEDS[size]
        if s != 0
    ]
    return {
        "t": t,
        "delta": h["centroid_distance"],
        "tau": h["tau"],
        "matched_fraction": h["matched_fraction"],
        "t_all_matched": float(t[matched[0]]) if matched.size else None,
        "t_delta_peak": float(t[np.argmax(h["centroid_distance"])]),
        "snapshots": snaps,
        "landmarks": marks,
        "lr": LR,
        "tau0": TAU0,
    }


def _pick(snaps: list, times: list) -> list:
    ts = np.array([s["t"] for s in snaps])
    return [snaps[int(np.argmin(np.abs(np.log1p(ts) - np.log1p(t))))] for t in times]


def plot(data: dict, path) -> None:
    """Curves on a log time axis, four sphere snapshots."""
    from gapsim.app.plotting import COLORS, figure, save, sphere_panel

    fig, _ = figure(1, width=12, height=7, layout=None)
    fig.clf()
    ax = fig.add_subplot(2, 1, 1)
    t, ok = np.asarray(data["t"]), np.asarray(data["t"]) > 0
    ax.plot(t[ok], np.asarray(data["delta"])[ok], color=COLORS["x"], label="gap Δ (centroid dist.)")
    ax.set_xscale("log")
    ax.set_xlabel("gradient-flow time t = step × lr")
    ax.set_ylabel("centroid distance Δ", color=COLORS["x"])
    ax2 = ax.twinx()
    ax2.plot(t[ok], np.asarray(data["tau"])[ok], color=COLORS["y"], label="temperature τ")
    ax2.set_ylabel("temperature τ", color=COLORS["y"])
    ax2.grid(False)
    tm = data["t_all_matched"]
    if tm is not None:
        ax.axvline(tm, color=COLORS["mark"], ls=":", label=f"all pairs matched (t = {tm:.3g})")
    times = [t[ok][0], data["t_delta_peak"], tm if tm is not None else t[-1] / 10, t[-1]]
    snaps = _pick(data["snapshots"], times)
    for s in snaps:
        ax.axvline(max(s["t"], t[ok][0]), color="0.6", lw=0.6)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="lower left")
    ax.set_title("n = 5 on S², mismatched parallel start, learnable τ (grey lines: snapshots)")
    for j, s in enumerate(snaps):
        a = fig.add_subplot(2, 4, 5 + j, projection="3d")
        sphere_panel(a, s["x"], s["y"], title=f"t = {s['t']:.3g}")
    save(fig, path)


if __name__ == "__main__":
    import sys

    from gapsim.app.figure_io import main

    raise SystemExit(main(sys.modules[__name__], "yaras_fig2"))
