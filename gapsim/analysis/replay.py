r"""From real embeddings back to the simulator: InfoNCE over free points started at your data.

:func:`simulate_from` takes (a random subsample of) the user's paired unit rows as the
starting points of a free-point run (:func:`gapsim.simulate`, sphere constraint, fixed
temperature) and reports what the loss alone does to that geometry: whether the gap closes,
how fast, at the chosen temperature. The command-line form is ``gapsim analyze --simulate``;
``gapsim run --init-file FILE --n-pairs N`` does the same from a file (a random subsample
when the file holds more pairs, :func:`gapsim.app.init.load_points`).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from gapsim.app.config import Config
from gapsim.app.simulate import simulate
from gapsim.core.sampling import subsample

__all__ = ["simulate_from", "GAP_KEYS"]

GAP_KEYS = ("centroid_distance", "centroid_angle", "paired_cosine_mean", "r1_xy", "loss")
"""Measures reported before and after the run."""


def simulate_from(
    x: np.ndarray,
    y: np.ndarray,
    key: jax.Array,
    *,
    n: int = 256,
    tau: float = 0.07,
    steps: int = 2000,
    solver: str = "adam",
    lr: float | None = None,
    dtype: str = "float32",
    stride: int = 10,
) -> dict[str, Any]:
    """Run free-point InfoNCE from ``n`` random pairs of the embeddings (module docstring).

    Args:
        x: ``(N, d)`` unit rows.
        y: ``(N, d)`` unit rows paired with ``x``.
        key: PRNG key of the subsample (the run's own seed is 0: it draws nothing from it).
        n: pairs to keep (all if ``n >= N``).
        tau: the fixed temperature of the run.
        steps: steps of the solver (no early stop, so the trajectory has a fixed length).
        solver: ``adam``, ``gd``, ``sgd`` (dynamics) or ``lbfgs`` (optimum).
        lr: step size (default: the solver's, :class:`gapsim.Config`).
        dtype: working dtype of the run.
        stride: record the trajectory every ``stride`` steps.

    Returns:
        ``{"summary", "history", "rows"}``: ``summary`` has ``n``, ``tau``, ``steps``,
        ``solver``, ``converged`` and ``{before,after}_{KEY}`` for :data:`GAP_KEYS`;
        ``history`` the recorded ``step``, ``centroid_distance``, ``centroid_angle``,
        ``paired_cosine_mean``, ``loss``; ``rows`` the indices of the pairs used.
    """
    rows = subsample(key, x.shape[0], n)
    x0, y0 = np.asarray(x[rows], np.float64), np.asarray(y[rows], np.float64)
    cfg = Config(
        n_pairs=int(rows.size),
        dim=int(x.shape[1]),
        tau=float(tau),
        solver=solver,
        steps=int(steps),
        lr=lr,
        stride=int(stride),
        early_stop=False,
        dtype=dtype,
    )
    r = simulate(cfg, (x0, y0))
    hist = {k: np.asarray(r.history[k]) for k in ("step", *GAP_KEYS[:3], "loss")}
    keep = np.isfinite(hist["step"])
    hist = {k: v[keep] for k, v in hist.items()}
    summary: dict[str, Any] = {
        "n": int(rows.size),
        "tau": float(tau),
        "steps": int(r.certificate.steps),
        "solver": solver,
        "converged": bool(r.converged),
    }
    for k in GAP_KEYS:
        summary[f"before_{k}"] = float(r.history[k][0])
        summary[f"after_{k}"] = r.measures[k]
    return {"summary": summary, "history": hist, "rows": rows}
