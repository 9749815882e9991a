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
from gapsim.errors import ConfigError

__all__ = ["simulate_from", "run_config", "GAP_KEYS", "DEFAULT_N"]

DEFAULT_N = 256
"""Pairs of the free-point run when none is asked for (all of them when there are fewer)."""

GAP_KEYS = ("centroid_distance", "centroid_angle", "paired_cosine_mean", "r1_xy", "loss")
"""Measures reported before and after the run."""


def run_config(
    n: int,
    d: int,
    tau: float = 0.07,
    steps: int = 2000,
    solver: str = "adam",
    lr: float | None = None,
    dtype: str = "float32",
    stride: int = 10,
) -> Config:
    """The validated :class:`~gapsim.app.config.Config` of :func:`simulate_from`'s run.

    ``gapsim analyze --simulate`` builds it before any work, so that a bad setting (a step
    count whose trajectory would not fit, a temperature <= 0) is refused at once.

    Raises:
        ConfigError: a setting out of its range (:class:`~gapsim.app.config.Config`).
    """
    for name, v in (("simulate_steps", steps), ("simulate_tau", tau)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ConfigError(name, v, "must be a number")
    return Config(
        n_pairs=int(n),
        dim=int(d),
        tau=float(tau),
        solver=solver,
        steps=int(steps),
        lr=lr,
        stride=int(stride),
        early_stop=False,
        dtype=dtype,
    )


def simulate_from(
    x: np.ndarray,
    y: np.ndarray,
    key: jax.Array,
    *,
    n: int | None = None,
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
        n: pairs to keep, 2..N (default: :data:`DEFAULT_N`, or all N pairs when fewer); a
            larger ``n`` is refused, never cut silently.
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
    total = x.shape[0]
    if n is None:
        n = min(DEFAULT_N, total)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= total:
        raise ConfigError("simulate_n", n, f"must be an integer in 2..{total} (the pairs given)")
    rows = subsample(key, total, n)
    x0, y0 = np.asarray(x[rows], np.float64), np.asarray(y[rows], np.float64)
    cfg = run_config(int(rows.size), int(x.shape[1]), tau, steps, solver, lr, dtype, stride)
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
