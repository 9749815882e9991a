"""``simulate(config) -> Result``: the one-call entry point over the composable parts.

Steps: build the constraint sets (:func:`gapsim.geometry.make_constraints`), draw or load the
start (:func:`gapsim.init.initial_points`), run the compiled solver loop
(:mod:`gapsim.solvers`), then certify: the final points are re-projected in float64 and the
stationarity measure is evaluated there, so the certificate does not depend on the working
precision. A run that produces NaN/inf raises :class:`gapsim.errors.DivergenceError` naming the
step and the likely cause.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.blocks import use_block_size
from gapsim.config import Config
from gapsim.errors import DivergenceError
from gapsim.geometry import Constraint, make_constraints, project
from gapsim.init import initial_points
from gapsim.measures import MIN_MEAN_NORM, measures, subspace_measures
from gapsim.result import Certificate, Result
from gapsim.solvers import Args, SolverOutput, Static, execute, stationarity

__all__ = ["simulate", "prepare", "finish", "best_of_seeds", "final_measures"]


def prepare(
    cfg: Config, x0: np.ndarray | None = None, y0: np.ndarray | None = None
) -> tuple[Static, Args]:
    """Split a config into the compile-time :class:`Static` and the traced :class:`Args`.

    Builds the constraint sets and the starting points (see :func:`simulate` for ``x0``,
    ``y0``). Runs with equal ``Static`` and shapes share one compiled program, and their
    ``Args`` can be stacked and vmapped.
    """
    dt = cfg.effective_dtype
    k_init, _ = jax.random.split(jax.random.key(cfg.seed))
    cx, cy = make_constraints(cfg)
    x0, y0 = initial_points(k_init, cfg, cx, cy, x0, y0)
    momentum = cfg.momentum if cfg.solver == "sgd" else 0.0
    args = Args(
        x0,
        y0,
        cx,
        cy,
        *(jnp.asarray(v, dt) for v in (cfg.beta, cfg.effective_lr, momentum, cfg.effective_gtol)),
    )
    return Static(cfg.solver, cfg.steps, cfg.stride, cfg.early_stop, cfg.block_size), args


def _divergence_cause(cfg: Config) -> str:
    if cfg.solver in ("gd", "sgd"):
        return (
            f"the step size lr={cfg.effective_lr:g} is likely too large for tau={cfg.tau:g} "
            f"(gradient descent is stable below about n_pairs*tau^2 = "
            f"{cfg.n_pairs * cfg.tau**2:g}); lower --lr"
        )
    if cfg.solver == "adam":
        return f"lr={cfg.effective_lr:g} is likely too large; lower --lr"
    return (
        f"float overflow in {cfg.effective_dtype} at tau={cfg.tau:g}; "
        "try --dtype float64 or a larger tau"
    )


def _check_finite(cfg: Config, out: SolverOutput, hist: dict[str, np.ndarray]) -> None:
    bad = ~(np.isfinite(hist["loss"]) & np.isfinite(hist["grad_norm"]))
    if not bad.any() and np.all(np.isfinite(out.x)) and np.all(np.isfinite(out.y)):
        return
    step = int(hist["step"][np.argmax(bad)]) if bad.any() else int(out.steps)
    raise DivergenceError(step, _divergence_cause(cfg))


def final_measures(
    x: jax.Array,
    y: jax.Array,
    beta: float,
    cx: Constraint,
    cy: Constraint,
    raw: dict[str, jax.Array] | None = None,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Final scalar measures and arrays of a configuration (host values, float64 inputs).

    Adds to :func:`gapsim.measures.measures` (or ``raw``, its value computed already) the
    ill-conditioning flag of the centroid angle (``centroid_angle`` becomes NaN,
    ``centroid_angle_raw`` keeps the number) and, with subspace constraints,
    :func:`gapsim.measures.subspace_measures`.
    """
    raw = measures(x, y, beta) if raw is None else raw
    m = {k: float(v) for k, v in jax.device_get(raw).items()}
    ill = min(m["mean_norm_x"], m["mean_norm_y"]) < MIN_MEAN_NORM
    m["centroid_angle_raw"] = m["centroid_angle"]
    m["centroid_angle_ill_conditioned"] = ill
    if ill:
        m["centroid_angle"] = math.nan
    arrays: dict[str, np.ndarray] = {}
    if cx.basis is not None and cy.basis is not None:
        sub, arrays = subspace_measures(
            np.asarray(x), np.asarray(y), np.asarray(cx.basis), np.asarray(cy.basis)
        )
        m.update(sub)
    return m, arrays


def simulate(cfg: Config, x0: np.ndarray | None = None, y0: np.ndarray | None = None) -> Result:
    """Run one simulation and certify its end point.

    Args:
        cfg: the configuration.
        x0: optional ``(n_pairs, dim)`` starting points of X; with ``y0`` they override
            ``cfg.init``, so that a peer's exact start can be replayed.
        y0: optional starting points of Y.

    Returns:
        A :class:`~gapsim.result.Result` with trajectory, final points and measures, and a
        :class:`~gapsim.result.Certificate`.

    Raises:
        ConfigError: invalid starting arrays.
        DivergenceError: NaN/inf during the run.

    Example:
        >>> from gapsim import Config, simulate
        >>> r = simulate(Config(n_pairs=4, dim=3, tau=0.5))
        >>> r.converged, round(r.measures["paired_cosine_min"], 6)
        (True, 1.0)
    """
    static, args = prepare(cfg, x0, y0)
    return finish(cfg, args, execute(static, args))


@partial(jax.jit, static_argnames=("block_size",))
def _certify(cx: Constraint, cy: Constraint, x: jax.Array, y: jax.Array, beta, block_size: int):
    """Re-project in float64, then the stationarity measure and the measures (one program)."""
    with use_block_size(block_size):
        x = project(cx, x.astype(jnp.float64))
        y = project(cy, y.astype(jnp.float64))
        beta = jnp.asarray(beta, jnp.float64)
        return x, y, stationarity(cx, cy, x, y, beta), measures(x, y, beta)


def finish(cfg: Config, args: Args, out: SolverOutput) -> Result:
    """Turn a solver's output into a certified :class:`~gapsim.result.Result`.

    Raises :class:`~gapsim.errors.DivergenceError` on NaN/inf; re-projects the final points in
    float64 and evaluates the stationarity measure and the final measures there.
    """
    n = int(out.n_records)
    hist = {k: np.asarray(v[:n]) for k, v in out.history.items()}
    _check_finite(cfg, out, hist)
    cx64, cy64 = make_constraints(cfg.replace(dtype="float64"))
    x, y, gn, raw = _certify(
        cx64, cy64, jnp.asarray(out.x), jnp.asarray(out.y), cfg.beta, cfg.block_size
    )
    gn = float(gn)
    criterion = "gradient_mapping_norm" if cx64.has_cap or cy64.has_cap else "riemannian_grad_norm"
    cert = Certificate(
        gn <= cfg.effective_gtol, gn, cfg.effective_gtol, criterion, int(out.steps), cfg.solver
    )
    m, arrays = final_measures(x, y, cfg.beta, cx64, cy64, raw)
    return Result(
        cfg,
        np.asarray(x),
        np.asarray(y),
        np.asarray(args.x0, np.float64),
        np.asarray(args.y0, np.float64),
        hist,
        m,
        cert,
        arrays,
    )


def best_of_seeds(cfg: Config, seeds: Sequence[int]) -> tuple[Result, np.ndarray]:
    """Multi-start: run ``cfg`` from each seed and keep the lowest certified loss.

    These landscapes have distinct stationary points (on the circle, for instance, a start whose
    cyclic order of x differs from that of y can end at a local minimum where two pairs
    coincide), so a claim about *the* optimum is checked on the best of several starts. Runs
    that did not converge are used only if none did.

    Returns:
        ``(best, losses)``: the best :class:`~gapsim.result.Result` and every run's final loss
        (NaN for runs that did not converge), in the order of ``seeds``, to report the spread.
    """
    runs = [simulate(cfg.replace(seed=int(s))) for s in seeds]
    losses = np.array([r.measures["loss"] if r.converged else np.nan for r in runs])
    key = losses if np.isfinite(losses).any() else np.array([r.measures["loss"] for r in runs])
    return runs[int(np.nanargmin(key))], losses
