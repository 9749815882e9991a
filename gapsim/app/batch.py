r"""Batched runs: many seeds or configurations as one compiled program.

A certified optimum is the best of several certified seeds (:func:`best_of_seeds`), and
every seed is a float64 L-BFGS run of a few hundred small iterations. Run one by one, each run
pays a dispatch, its own host round trips and small-kernel overheads; run as a batch, one
compiled program does every seed. Two ways to batch (``mode``), both with **each element's own
stopping rule** and both equal to one-by-one runs to rounding:

- ``"vmap"``: ``jax.vmap`` of the solver's :func:`jax.lax.while_loop`
  (:func:`gapsim.core.solvers.execute`). With a batched predicate the loop runs its body while *any*
  element's predicate holds and keeps, for every element whose predicate is already false, its
  old carry (``select(pred, body(c), c)``): element ``b`` stops exactly where it would alone,
  with its own step count and trajectory (``tests/test_batch.py`` checks it on runs that stop
  at different steps). The price: the batch runs the slowest element's iterations, and every
  ``lax.cond`` on a batched predicate becomes a ``select`` that evaluates both branches. optax's
  zoom line search (inside ``optax.lbfgs``) branches that way on every step, each branch
  evaluating the objective, so vmapped L-BFGS does about three objective evaluations per
  iteration where a single run does one. On lanes that run in parallel (a GPU) that is the
  right trade; on this 2-core CPU it made L-BFGS slower per certified optimum than one-by-one
  runs (``benchmarks/bench_certify.py``). The dynamics solvers (no line search) vmap well.
- ``"map"``: :func:`jax.lax.map`, the elements one after the other inside one compiled
  program: each keeps its scalar predicates (no ``select``), so the arithmetic is exactly that
  of one-by-one runs, minus the per-run dispatch and host round trips.
- ``"auto"`` (default): ``"map"`` for L-BFGS on a CPU backend, ``"vmap"`` otherwise.

:func:`simulate_batch` is the one-call form (prepare, run, certify every config, as
:func:`gapsim.simulate` does for one); :mod:`gapsim.app.sweep` runs :func:`batched` inside its
``shard_map`` and uses :func:`group_key`, :func:`stack` and :func:`unstack`.

Example:
    >>> from gapsim import Config
    >>> from gapsim.app.batch import simulate_batch
    >>> cfg = Config(n_pairs=4, dim=3, tau=0.5)
    >>> runs = simulate_batch([cfg.replace(seed=s) for s in range(4)])
    >>> all(r.converged for r in runs)
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import jax
import numpy as np

from gapsim.app.config import Config
from gapsim.app.parts import prepare
from gapsim.app.result import Result
from gapsim.app.simulate import certificate_inputs, finish
from gapsim.core.certificate import SecondOrder, kkt_certificates
from gapsim.core.precision import x64
from gapsim.core.solvers import Args, SolverOutput, Static, execute
from gapsim.errors import DivergenceError

MODES = ("auto", "vmap", "map")

__all__ = [
    "group_key",
    "stack",
    "unstack",
    "batched",
    "resolve_mode",
    "MODES",
    "run_stacked",
    "finish_or_error",
    "finish_all",
    "second_orders",
    "simulate_batch",
    "best_of_seeds",
]


def group_key(static: Static, args: Args) -> tuple:
    """The batching key: equal ``Static``, pytree structure, shapes and dtypes of ``Args``.

    Runs with equal keys share one compiled batched program.
    """
    leaves, treedef = jax.tree.flatten(args)
    return static, treedef, tuple((np.shape(a), str(getattr(a, "dtype", type(a)))) for a in leaves)


def stack(batch: Sequence[Args]) -> Args:
    """Stack the ``Args`` of one group leaf by leaf along a new leading (batch) axis."""
    return jax.tree.map(lambda *a: np.stack([np.asarray(v) for v in a]), *batch)


def unstack(out: Any, n: int) -> list[Any]:
    """The first ``n`` elements of a batched pytree, one pytree each (host arrays)."""
    out = jax.device_get(out)
    return [jax.tree.map(lambda a, i=i: a[i], out) for i in range(n)]


def resolve_mode(static: Static, mode: str = "auto") -> str:
    """``"vmap"`` or ``"map"``; ``"auto"`` is ``"map"`` for L-BFGS on a CPU backend."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode != "auto":
        return mode
    return "map" if static.solver == "lbfgs" and jax.default_backend() == "cpu" else "vmap"


def batched(static: Static, mode: str = "auto") -> Callable[[Args], SolverOutput]:
    """:func:`gapsim.core.solvers.execute` over stacked ``Args``: ``jax.vmap`` or ``jax.lax.map``.

    See the module docstring for the two modes; both stop every element by its own rule.
    """
    run = partial(execute, static)
    if resolve_mode(static, mode) == "vmap":
        return jax.vmap(run)
    return lambda args: jax.lax.map(run, args)


@partial(jax.jit, static_argnames=("static", "mode"))
def _run_stacked(args: Args, static: Static, mode: str) -> SolverOutput:
    return batched(static, mode)(args)


@x64
def run_stacked(args: Args, static: Static, mode: str = "auto") -> SolverOutput:
    """Run a stacked batch on one device (compiled once per static, mode, batch size, shapes)."""
    return _run_stacked(args, static, resolve_mode(static, mode))


def finish_or_error(
    cfg: Config, static: Static, args: Args, out: Any, second_order: SecondOrder | None = None
) -> Result | DivergenceError:
    """:func:`~gapsim.app.simulate.finish`, returning a run's DivergenceError, not raising it."""
    try:
        return finish(cfg, static, args, out, second_order=second_order)
    except DivergenceError as e:
        return e


@x64
def second_orders(
    configs: Sequence[Config], solved: Sequence[tuple[Static, Args, Any]]
) -> list[SecondOrder | None]:
    """The KKT certificates :func:`gapsim.app.simulate.finish` would compute, batched.

    End points of equal :func:`group_key` (the seeds of a config), gtol and active tolerance are
    certified together by :func:`gapsim.core.certificate.kkt_certificates`: one compiled, vmapped
    program for the matrix-free certificate. ``None`` where ``finish`` computes none.
    """
    inputs = [certificate_inputs(c, *sol) for c, sol in zip(configs, solved, strict=True)]
    groups: dict[tuple, list[int]] = {}
    for i, inp in enumerate(inputs):
        if inp is not None:
            key = (group_key(solved[i][0], inp[0]), inp[3], inp[4], configs[i].second_order)
            groups.setdefault(key, []).append(i)
    out: list[SecondOrder | None] = [None] * len(configs)
    for (gk, gtol, active_tol, _), idx in groups.items():
        certs = kkt_certificates(
            gk[0],
            [inputs[i][0] for i in idx],
            [inputs[i][1] for i in idx],
            [inputs[i][2] for i in idx],
            gtol,
            active_tol=active_tol,
        )
        for i, c in zip(idx, certs, strict=True):
            out[i] = c
    return out


def finish_all(
    configs: Sequence[Config], solved: Sequence[tuple[Static, Args, Any]]
) -> list[Result | DivergenceError]:
    """:func:`finish_or_error` of every solved run, the KKT certificates as batches.

    See :func:`second_orders`.
    """
    sos = second_orders(configs, solved)
    return [
        finish_or_error(c, *sol, second_order=so)
        for c, sol, so in zip(configs, solved, sos, strict=True)
    ]


def solve_batch(configs: Sequence[Config], mode: str = "auto") -> list[tuple[Static, Args, Any]]:
    """Prepare every config and run it, batched per group of equal :func:`group_key`.

    Returns ``(static, args, out)`` per config, in order, not yet certified: pass them to
    :func:`finish_or_error` (which is what :func:`simulate_batch` does).
    """
    prepared = [prepare(cfg) for cfg in configs]
    groups: dict[tuple, list[int]] = {}
    for i, (static, args) in enumerate(prepared):
        groups.setdefault(group_key(static, args), []).append(i)
    solved: list[Any] = [None] * len(configs)
    for key, idx in groups.items():
        static = key[0]
        stacked = stack([prepared[i][1] for i in idx])
        outs = unstack(run_stacked(stacked, static, mode), len(idx))
        for i, out in zip(idx, outs, strict=True):
            solved[i] = (static, prepared[i][1], out)
    return solved


@x64
def simulate_batch(configs: Sequence[Config], mode: str = "auto") -> list[Result | DivergenceError]:
    """:func:`gapsim.simulate` of every config, batched per group of equal :func:`group_key`.

    Each group (e.g. the seeds of one config) is one call of :func:`run_stacked`; every
    element is then certified by :func:`gapsim.app.simulate.finish`, as a single run is, the KKT
    certificates of a group as one batch (:func:`finish_all`). Memory grows with the group
    size (each element holds its own N x N slabs); for thousands of configurations use
    :func:`gapsim.app.sweep.sweep`, which chunks and shards.
    ``mode``: ``"auto"``, ``"vmap"`` or ``"map"`` (module docstring).

    Returns:
        One :class:`~gapsim.app.result.Result` per config, in order, or the
        :class:`~gapsim.errors.DivergenceError` of a config that diverged.
    """
    solved = solve_batch(configs, mode)
    return finish_all(configs, solved)


@x64
def best_of_seeds(
    cfg: Config, seeds: Sequence[int], *, batched: bool = True, second_order: str = "all"
) -> tuple[Result, np.ndarray]:
    """Multi-start: run ``cfg`` from each seed and keep the lowest-loss certified minimum.

    These landscapes have distinct stationary points (on the circle, for instance, a start whose
    cyclic order of x differs from that of y can end at a local minimum where two pairs
    coincide; collapsed and great-circle configurations are saddles), so a claim about *the*
    optimum is checked on the best of several starts, among certified minima only
    (``Result.converged``). Runs that are not minima are used only if none is. The best
    result's measures also count the seeds by kind: ``seeds_minimum``, ``seeds_saddle``,
    ``seeds_not_stationary`` (and ``seeds_other``: second order off, stochastic).

    With ``batched`` (default) the seeds run as one vmapped, compiled program, each with its
    own stopping rule (:func:`simulate_batch`; equal to one-by-one runs to
    rounding); ``batched=False`` runs them one by one. Either way the second-order
    certificates of the seeds are one batch (:func:`finish_all`; above
    :data:`gapsim.core.certificate.MATRIX_FREE_MIN_VARS` variables one vmapped matrix-free program).

    ``second_order`` (when ``cfg.second_order`` is on): ``"all"`` (default) certifies every
    seed at second order, so the seed counts are complete; ``"best"`` solves and certifies every
    seed at first order only, then runs the second-order certificate on the first-order
    stationary seeds in increasing order of loss and stops at the first minimum. That minimum
    is the lowest-loss certified minimum of ``"all"`` (every seed below it was checked and is
    not a minimum), at the cost of one or a few certificates instead of one per seed (the
    dense certificate, up to ``MATRIX_FREE_MIN_VARS`` variables, is linear algebra in
    :math:`MNd` dimensions; ``benchmarks/bench_certify.py``). The seeds never checked count in
    ``seeds_other`` and have a NaN loss; ``seeds_second_order_checked`` says how many were.

    Returns:
        ``(best, losses)``: the best :class:`~gapsim.app.result.Result` and every run's final loss
        (NaN for runs that are not certified minima), in the order of ``seeds``.
    """
    if second_order not in ("all", "best"):
        raise ValueError(f"second_order must be 'all' or 'best', got {second_order!r}")
    lazy = second_order == "best" and cfg.second_order
    configs = [cfg.replace(seed=int(s), second_order=not lazy and cfg.second_order) for s in seeds]
    if batched:
        solved = solve_batch(configs)
    else:
        solved = [(st, a, execute(st, a)) for st, a in (prepare(c) for c in configs)]
    runs = finish_all(configs, solved)
    for r in runs:
        if isinstance(r, DivergenceError):
            raise r
    checked = 0 if lazy or not cfg.second_order else sum(map(_second_order_ran, runs))
    if lazy:  # the second order by increasing loss, on the same end points, to the first minimum
        # candidates: the runs "all" would send to the second order (on a cap the KKT residual,
        # not the gradient mapping, decides stationarity, so a capped run is always one)
        cand = [i for i, r in enumerate(runs) if _second_order_ran(r)]
        for i in sorted(cand, key=lambda i: runs[i].measures["loss"]):
            runs[i] = finish(configs[i].replace(second_order=True), *solved[i])
            checked += 1
            if runs[i].converged:
                break
        runs = [r if r.config.second_order else _unchecked(r) for r in runs]
    losses = np.array([r.measures["loss"] if r.converged else np.nan for r in runs])
    key = losses if np.isfinite(losses).any() else np.array([r.measures["loss"] for r in runs])
    best = runs[int(np.nanargmin(key))]
    kinds = [r.certificate.kind for r in runs]
    for kind in ("minimum", "saddle", "not stationary"):
        best.measures[f"seeds_{kind.replace(' ', '_')}"] = kinds.count(kind)
    best.measures["seeds_other"] = len(kinds) - sum(
        best.measures[f"seeds_{k}"] for k in ("minimum", "saddle", "not_stationary")
    )
    best.measures["seeds_second_order_checked"] = checked
    return best, losses


def _second_order_ran(r: Result) -> bool:
    """Whether :func:`~gapsim.app.simulate.finish` runs (would run, if off) its second order.

    That is a deterministic run, first-order stationary or on a cap (where the KKT residual
    decides stationarity).
    """
    c = r.certificate
    smooth_and_moving = c.criterion != "gradient_mapping_norm" and not c.grad_norm <= c.gtol
    return c.kind != "stochastic" and not smooth_and_moving


def _unchecked(r: Result) -> Result:
    """A first-order run whose second order was not checked: not a certified minimum."""
    return dataclasses.replace(r, certificate=dataclasses.replace(r.certificate, converged=False))
