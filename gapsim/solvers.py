r"""The two solver families, each one jit-compiled loop that records a trajectory.

**Dynamics** (``gd``, ``sgd``, ``adam``): a discretised projected gradient flow. Each step takes
the Riemannian gradient :math:`\xi = (P_U - xx^\top)\nabla_x L` (tangent to the sphere inside
the subspace), turns it into an update with an optax optimiser (``gd`` is plain
:math:`-\eta\xi`, i.e. ``optax.sgd`` without momentum), and retracts with the projection:
:math:`x \leftarrow \Pi(x + u)`. Gradient-flow time after ``t`` steps of ``gd`` is
:math:`t\eta`.

**Certified optimum** (``lbfgs``): ``optax.lbfgs`` (zoom line search) over the smooth
parametrisation :math:`x_i = Q w_i/\|w_i\|` (:math:`Q = I` on the sphere), meant for float64.

Both stop when the stationarity measure (:func:`stationarity`) drops to ``gtol`` (if
``early_stop``), when a value turns non-finite, or after ``steps`` steps. Every ``stride`` steps
the :func:`gapsim.measures.measures` plus ``grad_norm``, ``tau`` and ``step`` are written into
preallocated arrays (NaN where the run stopped before), so the whole trajectory comes back
from one compiled call; a second call with the same shapes and static settings does not
recompile.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, wraps
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from gapsim._types import Points, Scalar
from gapsim.blocks import use_block_size
from gapsim.geometry import Constraint, project, tangent
from gapsim.loss import infonce, infonce_value_and_grad
from gapsim.measures import MEASURE_KEYS, measures

__all__ = [
    "Args",
    "Static",
    "execute",
    "stationarity",
    "run_dynamics",
    "run_lbfgs",
    "SolverOutput",
    "HISTORY_KEYS",
]

HISTORY_KEYS = ("step", "grad_norm", "tau", *MEASURE_KEYS)
RESTART_DRIFT = 2.0
"""L-BFGS restarts (rows renormalised, memory cleared) when a row norm of w leaves [1/2, 2]:
gradients in w scale like 1/||w||, so drifting norms ruin the conditioning."""
GRAD_MAPPING_STEP = 1e-4
"""Largest point displacement (radians) of the gradient mapping used with caps."""


class SolverOutput(NamedTuple):
    """What a solver loop returns.

    Attributes:
        x, y: final points.
        steps: number of steps taken.
        grad_norm: final stationarity measure (working dtype).
        history: dict of ``(n_records,)`` arrays keyed by :data:`HISTORY_KEYS`; NaN-padded.
        n_records: number of valid records.
    """

    x: Points
    y: Points
    steps: jax.Array
    grad_norm: Scalar
    history: dict[str, jax.Array]
    n_records: jax.Array


def stationarity(cx: Constraint, cy: Constraint, x: Points, y: Points, beta: Scalar) -> Scalar:
    r"""First-order stationarity of :math:`L` at ``(x, y)`` on the constraint sets.

    Smooth sets (sphere, subspace): the Riemannian gradient norm
    :math:`\big(\sum_i \|(P_U - x_ix_i^\top)\nabla_{x_i}L\|^2
    + \|(P_V - y_iy_i^\top)\nabla_{y_i}L\|^2\big)^{1/2}`.
    With a cap: the norm of the gradient mapping :math:`(Z - \Pi(Z - \eta\xi))/\eta` of the
    Riemannian gradient :math:`\xi`, with :math:`\eta` chosen so that the largest point moves by
    ``GRAD_MAPPING_STEP`` radians; it equals the Riemannian gradient norm where no cap is active
    and the KKT residual where one is (zero exactly at fixed points of projected descent).
    """
    _, g = infonce_value_and_grad(x, y, beta)
    tx, ty = tangent(cx, x, g.x), tangent(cy, y, g.y)
    if not (cx.has_cap or cy.has_cap):
        return jnp.sqrt(jnp.sum(tx * tx) + jnp.sum(ty * ty))
    big = jnp.maximum(jnp.max(jnp.linalg.norm(tx, axis=1)), jnp.max(jnp.linalg.norm(ty, axis=1)))
    eta = GRAD_MAPPING_STEP / jnp.maximum(big, jnp.finfo(x.dtype).tiny)
    mx = (x - project(cx, x - eta * tx)) / eta
    my = (y - project(cy, y - eta * ty)) / eta
    return jnp.sqrt(jnp.sum(mx * mx) + jnp.sum(my * my))


def _loop(
    advance: Callable[[Any], Any],
    points: Callable[[Any], tuple[Points, Points]],
    state0: Any,
    args: Args,
    static: Static,
) -> SolverOutput:
    """Run ``advance`` up to ``steps`` times, recording every ``stride`` steps (and at 0)."""
    cx, cy, beta, gtol = args.cx, args.cy, args.beta, args.gtol
    steps, stride, early_stop = static.steps, static.stride, static.early_stop
    n_rec = -(-steps // stride) + 1
    x0, _ = points(state0)
    dtype = x0.dtype
    hist0 = {k: jnp.full((n_rec,), jnp.nan, dtype) for k in HISTORY_KEYS}

    def record(hist, i, state, step):
        x, y = points(state)
        gn = stationarity(cx, cy, x, y, beta)
        row = {**measures(x, y, beta), "grad_norm": gn, "tau": 1 / beta, "step": step}
        return {k: hist[k].at[i].set(jnp.asarray(row[k], dtype)) for k in HISTORY_KEYS}, gn

    hist, gn0 = record(hist0, 0, state0, 0)

    def cond(c):
        _, step, _, _, gn = c
        finite = jnp.isfinite(gn)
        met = (gn <= gtol) & early_stop
        return (step < steps) & finite & ~met

    def body(c):
        state, step, i, hist, _ = c
        n = jnp.minimum(stride, steps - step)
        state = jax.lax.fori_loop(0, n, lambda _, s: advance(s), state)
        step = step + n
        hist, gn = record(hist, i, state, step)
        return state, step, i + 1, hist, gn

    init = (state0, jnp.asarray(0), jnp.asarray(1), hist, gn0)
    state, step, i, hist, gn = jax.lax.while_loop(cond, body, init)
    x, y = points(state)
    return SolverOutput(x, y, step, gn, hist, i)


class Static(NamedTuple):
    """The hashable, compile-time part of a run (changing it recompiles).

    Attributes:
        solver: ``lbfgs``, ``gd``, ``sgd`` or ``adam``.
        steps: maximum number of steps (L-BFGS iterations).
        stride: record every ``stride`` steps.
        early_stop: stop once the stationarity measure is at most ``gtol``.
        block_size: rows per block of the N x N quantities (0 = automatic; see
            :mod:`gapsim.blocks`).
    """

    solver: str
    steps: int
    stride: int
    early_stop: bool
    block_size: int = 0


class Args(NamedTuple):
    """The traced part of a run (a pytree of arrays; a sweep stacks and vmaps it).

    Attributes:
        x0: ``(n, d)`` starting points of X on its constraint set.
        y0: ``(n, d)`` starting points of Y.
        cx: constraint set of X.
        cy: constraint set of Y.
        beta: inverse temperature.
        lr: step size (optax ``learning_rate``; unused by lbfgs).
        momentum: heavy-ball momentum for ``sgd`` (0 otherwise).
        gtol: stationarity tolerance for ``early_stop``.
    """

    x0: Points
    y0: Points
    cx: Constraint
    cy: Constraint
    beta: Scalar
    lr: Scalar
    momentum: Scalar
    gtol: Scalar


def _traced_with_block_size(fn: Callable[..., SolverOutput]) -> Callable[..., SolverOutput]:
    """Trace ``fn(args, static, ...)`` under ``use_block_size(static.block_size)``."""

    @wraps(fn)
    def traced(args: Args, static: Static, *rest: Any, **kw: Any) -> SolverOutput:
        with use_block_size(static.block_size):
            return fn(args, static, *rest, **kw)

    return traced


def execute(static: Static, args: Args) -> SolverOutput:
    """Run the solver ``static.solver`` (compiled once per ``static`` and shapes)."""
    if static.solver == "lbfgs":
        return run_lbfgs(args, static)
    return run_dynamics(args, static)


@partial(jax.jit, static_argnames=("static",))
@_traced_with_block_size
def run_dynamics(args: Args, static: Static) -> SolverOutput:
    """Projected (retracted) Riemannian gradient dynamics with ``gd``, ``sgd`` or ``adam``."""
    cx, cy, beta = args.cx, args.cy, args.beta
    if static.solver == "adam":
        opt = optax.adam(args.lr)
    else:
        opt = optax.sgd(args.lr, momentum=args.momentum)

    def advance(state):
        x, y, s = state
        g = jax.grad(infonce, argnums=(0, 1))(x, y, beta)
        xi = (tangent(cx, x, g[0]), tangent(cy, y, g[1]))
        (ux, uy), s = opt.update(xi, s, (x, y))
        return project(cx, x + ux), project(cy, y + uy), s

    state0 = (args.x0, args.y0, opt.init((args.x0, args.y0)))
    return _loop(advance, lambda s: s[:2], state0, args, static)


@partial(jax.jit, static_argnames=("static", "memory"))
@_traced_with_block_size
def run_lbfgs(args: Args, static: Static, memory: int = 20) -> SolverOutput:
    r"""L-BFGS over :math:`w` with :math:`x_i = Q w_i / \|w_i\|` (smooth constraint sets only).

    Stops on the Riemannian gradient norm at the points (not the gradient in :math:`w`).
    Restarts when the row norms of :math:`w` drift (see ``RESTART_DRIFT``).
    """
    cx, cy, beta = args.cx, args.cy, args.beta
    if cx.has_cap or cy.has_cap:
        raise ValueError("lbfgs needs a smooth parametrisation; caps have none")

    def coords(c, x):
        return x if c.basis is None else x @ c.basis

    def embed(c, w):  # normalize(Q w) = project(Q w), as Q w already lies in U
        return project(c, w if c.basis is None else w @ c.basis.T)

    def points(state):
        w, _ = state
        return embed(cx, w[0]), embed(cy, w[1])

    def f(w):
        return infonce(*points((w, None)), beta)

    opt = optax.lbfgs(memory_size=memory)
    value_and_grad = optax.value_and_grad_from_state(f)

    def restart(w):  # unit rows again and a fresh memory: the loss is scale-invariant per row
        w = jax.tree.map(lambda a: a / jnp.linalg.norm(a, axis=1, keepdims=True), w)
        return w, opt.init(w)

    def advance(state):
        w, s = state
        v, g = value_and_grad(w, state=s)
        u, s = opt.update(g, s, w, value=v, grad=g, value_fn=f)
        w = optax.apply_updates(w, u)
        norms = jnp.concatenate([jnp.linalg.norm(a, axis=1) for a in w])
        drift = (jnp.min(norms) < 1 / RESTART_DRIFT) | (jnp.max(norms) > RESTART_DRIFT)
        return jax.lax.cond(drift, restart, lambda w: (w, s), w)

    w0 = (coords(cx, args.x0), coords(cy, args.y0))
    state0 = (w0, opt.init(w0))
    return _loop(advance, points, state0, args, static)
