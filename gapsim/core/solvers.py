r"""The two solver families, each one jit-compiled loop that records a trajectory.

State: ``params = {"z": (M, N, d) points}`` plus the learnable variables of the mechanisms
(:mod:`gapsim.core.mechanisms`: ``nu`` of a learnable temperature, ``gamma`` of the gamma-lift,
...); the constraint sets are stacked along the modality axis. The solvers iterate the
mechanisms' variables; they name none of them.

**Dynamics** (``gd``, ``sgd``, ``adam``): a discretised projected gradient flow. Each step takes
the gradient of the objective, makes the points' part Riemannian,
:math:`\xi = (P_U - zz^\top)\nabla_z\mathcal{L}` (tangent to the sphere inside the subspace),
turns it into an update with an optax optimiser (``gd`` is plain :math:`-\eta\xi`, i.e.
``optax.sgd`` without momentum), scales each mechanism variable's update by its learning-rate
multiplier (:meth:`~gapsim.core.mechanisms.Mechanism.lr_mult`) and clips it to its range, and
retracts the points with the projection:
:math:`z \leftarrow \Pi(z + u)`. Gradient-flow time after ``t`` steps of ``gd`` is :math:`t\eta`.

**Certified optimum** (``lbfgs``): ``optax.lbfgs`` (zoom line search) over the smooth
parametrisation :math:`z_i = Q w_i/\|w_i\|` (:math:`Q = I` on the sphere), meant for float64;
deterministic objectives at a fixed temperature only.

Both stop when the stationarity measure (:func:`stationarity`) drops to ``gtol`` (if
``early_stop``), when a value turns non-finite, or after ``steps`` steps. Every ``stride`` steps
the :func:`gapsim.core.measures.measures` of modalities 0 and 1 (lifted with gamma-lift) plus
``grad_norm``, ``objective``, ``tau``, ``gamma`` and ``step`` (and, with
``Static.record_points``, the points ``z``) are written into preallocated arrays (NaN where the
run stopped before), so the whole trajectory comes back from one compiled
call; a second call with the same :class:`Static` and shapes does not recompile.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from gapsim.core._types import Scalar
from gapsim.core.measures import MEASURE_KEYS, Measures, measures
from gapsim.core.mechanisms import Mechanism, fixed_objective, variables
from gapsim.core.objective import beta_at, measured_pair, objective
from gapsim.core.progress import report_step
from gapsim.core.sets import Constraint, project, tangent

__all__ = [
    "Args",
    "Static",
    "execute",
    "certify",
    "stationarity",
    "run_dynamics",
    "run_lbfgs",
    "SolverOutput",
    "History",
    "Snapshot",
    "HISTORY_KEYS",
    "params0",
    "objective_at",
]


class Snapshot(NamedTuple):
    """The state of a run at one point: what is recorded and what the certificate starts from.

    Attributes:
        grad_norm: the stationarity measure (:func:`stationarity`).
        beta: the inverse temperature at that step.
        objective: the noise-free objective.
        measures: the :class:`~gapsim.core.measures.Measures` of modalities 0 and 1 (as
            measured: lifted by the gamma-lift).
    """

    grad_norm: Scalar
    beta: Scalar
    objective: Scalar
    measures: Measures


class History(NamedTuple):
    r"""A run's trajectory: ``(n_records,)`` arrays, NaN past the last record.

    ``beta`` is the inverse temperature of the step (the core's one representation of the
    temperature; results convert it to ``tau`` at their edge, :func:`gapsim.app.simulate.finish`);
    ``gamma`` the first modality pair's gamma of the gamma-lift (0 without it); the measures of
    :class:`~gapsim.core.measures.Measures` follow;
    ``z`` holds the points ``(n_records, M, N, d)`` with ``Static.record_points``, else ``None``.
    """

    step: jax.Array
    grad_norm: jax.Array
    objective: jax.Array
    beta: jax.Array
    gamma: jax.Array
    loss: jax.Array
    centroid_distance: jax.Array
    centroid_angle: jax.Array
    mean_norm_x: jax.Array
    mean_norm_y: jax.Array
    paired_cosine_mean: jax.Array
    paired_cosine_min: jax.Array
    alignment: jax.Array
    uniformity: jax.Array
    uniformity_x: jax.Array
    uniformity_y: jax.Array
    r1_xy: jax.Array
    r1_yx: jax.Array
    margin: jax.Array
    matched_fraction: jax.Array
    z: jax.Array | None = None

    def arrays(self) -> dict[str, Any]:
        """The recorded arrays by name (``z`` only when recorded)."""
        return {k: v for k, v in self._asdict().items() if v is not None}


HISTORY_KEYS = History._fields[:-1]
"""The scalar columns of :class:`History` (all but ``z``)."""
assert HISTORY_KEYS[5:] == MEASURE_KEYS  # the measures, in their own order
RESTART_DRIFT = 2.0
"""L-BFGS restarts (rows renormalised, memory cleared) when a row norm of w leaves [1/2, 2]:
gradients in w scale like 1/||w||, so drifting norms ruin the conditioning."""
GRAD_MAPPING_STEP = 1e-4
"""Largest point displacement (radians) of the gradient mapping used with caps."""


class Static(NamedTuple):
    """The hashable, compile-time part of a run (changing it recompiles).

    Attributes:
        solver: ``lbfgs``, ``gd``, ``sgd`` or ``adam``.
        steps: maximum number of steps (L-BFGS iterations).
        stride: record every ``stride`` steps.
        early_stop: stop once the stationarity measure is at most ``gtol``.
        mechanisms: the mechanisms of the objective, in order (:mod:`gapsim.core.mechanisms`).
        block_size: rows per block of the N x N quantities (0 = automatic; see
            :mod:`gapsim.core.blocks`).
        record_points: also record the points at every record, as history key ``"z"`` of
            shape ``(n_records, M, N, d)`` (off by default: the history stays scalar).
        parametrization: dynamics only: ``"projected"`` (Riemannian step, retraction) or
            ``"raw"`` (free vectors normalised inside the loss; see :func:`run_dynamics`).
    """

    solver: str
    steps: int
    stride: int
    early_stop: bool
    mechanisms: tuple[Mechanism, ...] = ()
    block_size: int = 0
    record_points: bool = False
    parametrization: str = "projected"


class Args(NamedTuple):
    """The traced part of a run (a pytree of arrays; a sweep stacks and vmaps it).

    Attributes:
        z0: ``(M, N, d)`` starting points on their constraint sets.
        constraints: the M constraint sets, stacked along a leading axis.
        beta: inverse temperature (the start value when it is learnable or scheduled).
        key: the run's PRNG key as raw data (uint32), for the stochastic mechanisms.
        lr: step size (optax ``learning_rate``; unused by lbfgs).
        momentum: heavy-ball momentum for ``sgd`` (0 otherwise).
        gtol: stationarity tolerance for ``early_stop``.
        hypers: the traced hyper-parameters of ``Static.mechanisms``, one per mechanism.
        z_lr_mult: ``(M,)`` per-modality multipliers of the points' step (``None``: all 1).
    """

    z0: jax.Array
    constraints: Constraint
    beta: Scalar
    key: jax.Array
    lr: Scalar
    momentum: Scalar
    gtol: Scalar
    hypers: tuple
    z_lr_mult: jax.Array | None = None


class SolverOutput(NamedTuple):
    """What a solver loop returns.

    Attributes:
        params: final ``{"z", ...}`` (the points and the mechanisms' variables).
        steps: number of steps taken.
        grad_norm: final stationarity measure (working dtype).
        history: the trajectory (:class:`History`).
        n_records: number of valid records.
    """

    params: dict[str, jax.Array]
    steps: jax.Array
    grad_norm: Scalar
    history: History
    n_records: jax.Array


def _project(c: Constraint, z: jax.Array) -> jax.Array:
    return jax.vmap(project)(c, z)


def _tangent(c: Constraint, z: jax.Array, v: jax.Array) -> jax.Array:
    return jax.vmap(tangent)(c, z, v)


def _beta(static: Static, args: Args, params: dict, t) -> Scalar:
    return beta_at(static.mechanisms, args.hypers, args.beta, params, t, static.steps)


def objective_at(static: Static, args: Args, params: dict, t, stochastic: bool) -> Scalar:
    """The objective at ``params`` and update index ``t``, at the temperature of that step."""
    beta = _beta(static, args, params, t)
    return objective(
        static.mechanisms,
        args.hypers,
        args.key,
        params,
        beta,
        t,
        stochastic,
        static.block_size,
    )


def params0(static: Static, args: Args) -> dict[str, jax.Array]:
    """The starting parameters: ``z0`` and each mechanism's variables (:meth:`init`)."""
    p = {"z": args.z0}
    for m, h in zip(static.mechanisms, args.hypers, strict=True):
        p.update(m.init(h))
    return p


def stationarity(static: Static, args: Args, params: dict, t) -> Scalar:
    r"""First-order stationarity of the noise-free objective at update index ``t``.

    Smooth sets (sphere, subspace): the norm of the Riemannian gradient,
    :math:`\big(\sum_{m,i}\|(P_{U_m} - z^m_iz^{m\top}_i)\nabla_{z^m_i}\mathcal{L}\|^2
    + \sum_v\|\partial_v\mathcal{L}\|^2\big)^{1/2}`, :math:`v` over the mechanisms' learnable
    variables (:math:`\nu` of a learnable temperature, :math:`\gamma` of the gamma-lift). With
    a cap, the points' part is the gradient mapping :math:`(Z - \Pi(Z - \eta\xi))/\eta` of the
    Riemannian gradient :math:`\xi`, with :math:`\eta` chosen so that the largest point moves by
    ``GRAD_MAPPING_STEP`` radians; it equals the Riemannian gradient where no cap is active and
    the KKT residual where one is (zero exactly at fixed points of projected descent).
    """
    g = jax.grad(lambda p: objective_at(static, args, p, t, False))(params)
    c, z = args.constraints, params["z"]
    xi = _tangent(c, z, g["z"])
    if c.has_cap:
        big = jnp.max(jnp.linalg.norm(xi, axis=-1))
        eta = GRAD_MAPPING_STEP / jnp.maximum(big, jnp.finfo(z.dtype).tiny)
        xi = (z - _project(c, z - eta * xi)) / eta
    sq = jnp.sum(xi * xi)
    for v in variables(static.mechanisms):
        sq = sq + jnp.sum(g[v.name] ** 2)
    return jnp.sqrt(sq)


def _loop(
    advance: Callable[[Any], Any],
    params_of: Callable[[Any], dict],
    state0: Any,
    args: Args,
    static: Static,
    progress: bool = False,
) -> SolverOutput:
    """Run ``advance`` up to ``steps`` times, recording every ``stride`` steps (and at 0).

    With ``progress`` (compile-time), each record also reports its step to the host
    (:func:`gapsim.core.progress.report_step`); without it the program has no callback.
    """
    steps, stride = static.steps, static.stride
    n_rec = -(-steps // stride) + 1
    dtype = args.z0.dtype
    z_rec = jnp.full((n_rec, *args.z0.shape), jnp.nan, dtype) if static.record_points else None
    hist0 = History(*(jnp.full((n_rec,), jnp.nan, dtype) for _ in HISTORY_KEYS), z=z_rec)

    def record(hist, i, state, step):
        p = params_of(state)
        t = jnp.maximum(step - 1, 0)  # the update index of the last step taken
        c = _certify(args, p, t, static)
        row = History(
            step=step,
            grad_norm=c.grad_norm,
            objective=c.objective,
            beta=c.beta,
            gamma=p["gamma"][0] if "gamma" in p else jnp.zeros((), dtype),
            **c.measures._asdict(),
            z=p["z"] if static.record_points else None,
        )
        new = jax.tree.map(lambda h, v: h.at[i].set(jnp.asarray(v, dtype)), hist, row)
        return new, c.grad_norm

    hist, gn0 = record(hist0, 0, state0, 0)

    def cond(c):
        _, step, _, _, gn = c
        met = (gn <= args.gtol) & static.early_stop
        return (step < steps) & jnp.isfinite(gn) & ~met

    def body(c):
        state, step, i, hist, _ = c
        n = jnp.minimum(stride, steps - step)
        state = jax.lax.fori_loop(0, n, lambda _, s: advance(s), state)
        step = step + n
        hist, gn = record(hist, i, state, step)
        if progress:
            jax.debug.callback(report_step, step)
        return state, step, i + 1, hist, gn

    init = (state0, jnp.asarray(0), jnp.asarray(1), hist, gn0)
    state, step, i, hist, gn = jax.lax.while_loop(cond, body, init)
    return SolverOutput(params_of(state), step, gn, hist, i)


def _certify(args: Args, params: dict, t: jax.Array, static: Static) -> Snapshot:
    """Stationarity, temperature, noise-free objective and measures at ``params``."""
    beta = _beta(static, args, params, t)
    return Snapshot(
        grad_norm=stationarity(static, args, params, t),
        beta=beta,
        objective=objective_at(static, args, params, t, False),
        measures=measures(*measured_pair(static.mechanisms, params), beta, static.block_size),
    )


certify = jax.jit(_certify, static_argnames=("static",))


def execute(static: Static, args: Args, progress: bool = False) -> SolverOutput:
    """Run the solver ``static.solver`` (compiled once per ``static``, ``progress`` and shapes).

    ``progress`` compiles a variant that reports each record's step to the innermost
    :func:`gapsim.core.progress.steps_bar`; its results are the same bits.
    """
    if static.solver == "lbfgs":
        return run_lbfgs(args, static, progress=progress)
    return run_dynamics(args, static, progress=progress)


@partial(jax.jit, static_argnames=("static", "progress"))
def run_dynamics(args: Args, static: Static, progress: bool = False) -> SolverOutput:
    r"""Gradient dynamics with ``gd``, ``sgd`` or ``adam``, projected or raw.

    ``projected``: the Riemannian gradient :math:`\xi`, an optax update :math:`u`, the
    retraction :math:`z \leftarrow \Pi(z + u)`. ``raw`` (how CLIP and C3's free-point toy
    train): the parameters are free vectors :math:`w`, the loss sees :math:`z = \Pi(w)`
    (:math:`w/\|w\|` on the sphere), the gradient is :math:`\nabla_w = (I - zz^\top)
    \nabla_z\mathcal{L} / \|w\|` (by autodiff through :math:`\Pi`) and :math:`w
    \leftarrow w + u` with no retraction, so the row norms drift. The points' update of
    modality m is scaled by ``args.z_lr_mult[m]``. Recorded points are :math:`\Pi(w)`; in raw
    mode the final ``params`` also hold ``"w"``.
    """
    c, mechs = args.constraints, static.mechanisms
    raw = static.parametrization == "raw"
    if static.solver == "adam":
        opt = optax.adam(args.lr)
    else:
        opt = optax.sgd(args.lr, momentum=args.momentum)
    # each variable: its mechanism, its step-size multiplier
    owner = {v.name: (m, h) for m, h in zip(mechs, args.hypers, strict=True) for v in m.variables}

    def points(p):  # the parameters as the loss sees them
        return {**p, "z": _project(c, p["z"])} if raw else p

    def advance(state):
        p, s, t = state

        g = jax.grad(lambda p: objective_at(static, args, points(p), t, True))(p)
        if not raw:
            g = {**g, "z": _tangent(c, p["z"], g["z"])}
        # optax mixes its int32 step counter with Python floats (optax/tree_utils/_tree_math.py,
        # tree_bias_correction: ``1 - decay**count``), which strict dtype promotion rejects
        with jax.numpy_dtype_promotion("standard"):
            u, s = opt.update(g, s, p)
        uz = u["z"] if args.z_lr_mult is None else u["z"] * args.z_lr_mult[:, None, None]
        new = {"z": p["z"] + uz if raw else _project(c, p["z"] + uz)}
        for name, (m, h) in owner.items():
            new[name] = m.clip(name, p[name] + m.lr_mult(h)[name] * u[name])
        return new, s, t + 1

    def params_of(state):
        p = state[0]
        return {**points(p), "w": p["z"]} if raw else p

    p0 = params0(static, args)
    state0 = (p0, opt.init(p0), jnp.asarray(0))
    return _loop(advance, params_of, state0, args, static, progress)


@partial(jax.jit, static_argnames=("static", "memory", "progress"))
def run_lbfgs(args: Args, static: Static, memory: int = 20, progress: bool = False) -> SolverOutput:
    r"""L-BFGS over :math:`w` with :math:`z_i = Q w_i / \|w_i\|` (smooth constraint sets only).

    Stops on the Riemannian gradient norm at the points (not the gradient in :math:`w`).
    Restarts when the row norms of :math:`w` drift (see ``RESTART_DRIFT``).
    """
    c = args.constraints
    if c.has_cap or not fixed_objective(static.mechanisms):
        raise ValueError("lbfgs needs smooth sets and a fixed, deterministic objective")
    p0 = params0(static, args)

    def params_of(state):
        w, _ = state
        z = w if c.basis is None else jnp.einsum("mnk,mdk->mnd", w, c.basis)
        return {**p0, "z": _project(c, z)}  # normalize(Q w) = project(Q w), as Q w lies in U

    def f(w):
        return objective_at(static, args, params_of((w, None)), 0, False)

    opt = optax.lbfgs(memory_size=memory)
    value_and_grad = optax.value_and_grad_from_state(f)

    def restart(w):  # unit rows again and a fresh memory: the loss is scale-invariant per row
        w = w / jnp.linalg.norm(w, axis=-1, keepdims=True)
        return w, opt.init(w)

    def advance(state):
        w, s = state
        v, g = value_and_grad(w, state=s)
        # optax.lbfgs mixes int32 and int64 indices (optax/_src/transform.py,
        # _precondition_by_lbfgs: ``memory_idx + jnp.arange(memory_size)``) and, for float32
        # points under x64, float32 weights with its default-dtype memory (scale_by_lbfgs's
        # ``weights_memory=jnp.zeros(memory_size)``), which strict dtype promotion rejects
        with jax.numpy_dtype_promotion("standard"):
            u, s = opt.update(g, s, w, value=v, grad=g, value_fn=f)
        w = optax.apply_updates(w, u)
        norms = jnp.linalg.norm(w, axis=-1)
        drift = (jnp.min(norms) < 1 / RESTART_DRIFT) | (jnp.max(norms) > RESTART_DRIFT)
        return jax.lax.cond(drift, restart, lambda w: (w, s), w)

    w0 = args.z0 if c.basis is None else jnp.einsum("mnd,mdk->mnk", args.z0, c.basis)
    return _loop(advance, params_of, (w0, opt.init(w0)), args, static, progress)
