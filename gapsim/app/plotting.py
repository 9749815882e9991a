"""Shared figure style and drawing helpers: the one module of gapsim that imports matplotlib.

Every figure of :mod:`gapsim.app.figures` draws through :func:`figure`, so that fonts, colours and
sizes are the same everywhere. X is drawn in :data:`COLORS` ``["x"]`` (orange), Y in
``["y"]`` (blue), theory curves black and dashed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["COLORS", "STYLE", "figure", "save", "sphere_panel", "series_colors"]

COLORS = {"x": "#d95f02", "y": "#1b6ac9", "theory": "black", "mark": "#7a7a7a"}
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.5,
    "lines.markersize": 5,
    "figure.dpi": 110,
    "savefig.dpi": 130,
    "savefig.bbox": "tight",
}


def series_colors(n: int) -> list:
    """``n`` distinguishable colours (viridis, without its lightest yellow)."""
    return [plt.cm.viridis(v) for v in np.linspace(0.0, 0.85, max(n, 1))]


def figure(ncols: int = 1, nrows: int = 1, *, width: float = 4.0, height: float = 3.2, **kw):
    """A figure in the house style: ``(fig, axes)``; ``kw`` goes to ``plt.subplots``."""
    plt.rcParams.update(STYLE)
    kw.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), **kw)


def save(fig, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (PNG) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def sphere_panel(
    ax, x, y, *, x0=None, y0=None, title: str = "", planes=None, cap_angle=None
) -> None:
    """Draw paired points on S^2 on a 3-D axis: X, Y, pairs joined by grey segments.

    Args:
        ax: a ``projection="3d"`` axis.
        x: ``(N, 3)`` points of X.
        y: ``(N, 3)`` points of Y (row i pairs with ``x[i]``).
        x0: optional start of X, drawn as small faint markers (likewise ``y0``).
        y0: optional start of Y.
        title: panel title.
        planes: optional list of ``(3, 2)`` orthonormal bases whose great circles are drawn.
        cap_angle: optional half-angle of each modality's cap; the rims are drawn around
            each modality's learnable axis (:func:`gapsim.core.sets.cap_axis`).
    """
    u, v = np.mgrid[0 : 2 * np.pi : 40j, 0 : np.pi : 20j]
    ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.85", lw=0.4)
    t = np.linspace(0, 2 * np.pi, 200)
    for q, c in zip(planes or [], ("x", "y"), strict=False):
        circ = np.outer(np.cos(t), q[:, 0]) + np.outer(np.sin(t), q[:, 1])
        ax.plot(*circ.T, color=COLORS[c], lw=0.8, alpha=0.6)
    if cap_angle is not None:
        from gapsim.core.sets import Constraint, cap_axis

        cap = Constraint.make(3, cap_angle=cap_angle)
        for z, c in ((x, "x"), (y, "y")):
            rim = _cap_rim(np.asarray(cap_axis(cap, np.asarray(z, np.float64))), cap_angle, t)
            ax.plot(*rim.T, color=COLORS[c], lw=0.8)
    if x0 is not None:
        ax.scatter(*np.asarray(x0).T, color=COLORS["x"], s=6, alpha=0.3, marker="^")
        ax.scatter(*np.asarray(y0).T, color=COLORS["y"], s=6, alpha=0.3, marker="^")
    for a, b in zip(np.asarray(x), np.asarray(y), strict=True):
        ax.plot(*np.stack([a, b]).T, color="0.35", lw=0.7)
    ax.scatter(*np.asarray(x).T, color=COLORS["x"], s=16, label="X", depthshade=False)
    ax.scatter(*np.asarray(y).T, color=COLORS["y"], s=16, label="Y", depthshade=False)
    ax.set_box_aspect((1, 1, 1))
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    ax.set_zlim(-1, 1)
    ax.set_xticks([-1, 0, 1])
    ax.set_yticks([-1, 0, 1])
    ax.set_zticks([-1, 0, 1])
    ax.set_title(title)


def _cap_rim(mean, angle: float, t) -> np.ndarray:
    """Points of the circle at angle ``angle`` around the direction of ``mean`` on S^2."""
    c = mean / max(np.linalg.norm(mean), 1e-12)
    e = np.eye(3)[np.argmin(np.abs(c))]  # the basis vector least aligned with c
    u = np.cross(c, e)
    u /= np.linalg.norm(u)
    v = np.cross(c, u)
    ring = np.outer(np.cos(t), u) + np.outer(np.sin(t), v)
    return np.cos(angle) * c + np.sin(angle) * ring
