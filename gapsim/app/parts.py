r"""The one place a :class:`~gapsim.app.config.Config` is taken apart into the solver's parts.

A run is the compiled loop :func:`gapsim.core.solvers.execute` over two values: the hashable,
compile-time :class:`~gapsim.core.solvers.Static` (solver, step counts, the mechanisms switched on)
and the traced :class:`~gapsim.core.solvers.Args` (starting points, stacked constraint sets,
scalars).
This module builds them from a config, and nothing else does:

- :func:`constraints`: the M :class:`~gapsim.core.sets.Constraint` sets (subspaces with the
  configured principal angles, caps, a fixed concentration);
- the mechanisms of the objective and their traced hyper-parameters
  (:func:`gapsim.app.wiring.mechanisms`, one row per mechanism in :data:`~gapsim.app.wiring.WIRES`);
- :func:`static` and :func:`prepare`: the whole ``(Static, Args)`` pair.

The geometry, the mechanisms and the solvers below do not know about ``Config``: adding a
mechanism means a field (and its rule) in :mod:`gapsim.app.config`, the mechanism in
:mod:`gapsim.core.mechanisms` and its row in :mod:`gapsim.app.wiring` (``docs/developing.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.app.config import Config
from gapsim.app.init import initial_points
from gapsim.app.wiring import hypers, mechanisms
from gapsim.core.precision import x64
from gapsim.core.sets import Constraint, mean_resultant_length, stack
from gapsim.core.solvers import Args, Static
from gapsim.core.subspaces import subspace_pair

__all__ = ["constraints", "make_constraints", "mechanisms", "static", "prepare"]


@x64  # float64 constraint arrays even where the caller's JAX is in 32-bit mode
def constraints(cfg: Config) -> list[Constraint]:
    r"""The M modalities' constraint sets described by a config.

    ``subspace`` (M = 2): U, V from :func:`gapsim.core.subspaces.subspace_pair` with the configured
    principal angles (canonical frame), optionally with caps inside them; ``cone``: caps on the
    sphere. Fixed cap axes (M = 2): :math:`e_1` for X and :math:`\cos a\, e_1 + \sin a\, e_2`
    for Y (``a = cone_axis_angle``), each projected onto its subspace. ``concentration``:
    :math:`\|\bar x\| = \rho = A_d(\kappa)` (:func:`gapsim.core.sets.mean_resultant_length`);
    ``subspace`` with ``kappa``: the same inside each subspace, :math:`\rho = A_k(\kappa)` (the
    mean resultant length of a vMF of concentration kappa on U's sphere :math:`S^{k-1}`).
    """
    d, dt, m = cfg.dim, cfg.effective_dtype, cfg.modalities
    bases = [None] * m
    if cfg.constraint == "subspace":
        bases = list(subspace_pair(d, cfg.principal_angles))
    axes: list[Any] = ["learned"] * m
    if cfg.cone_axis == "fixed":
        a = cfg.cone_axis_angle
        axes = [np.eye(d)[0], np.cos(a) * np.eye(d)[0] + np.sin(a) * np.eye(d)[1]]
    rho = None
    if cfg.kappa is not None:
        rho = mean_resultant_length(cfg.kappa, cfg.k if cfg.constraint == "subspace" else d)
    return [
        Constraint.make(d, q, cfg.cone_angle, ax, dt, rho)
        for q, ax in zip(bases, axes, strict=True)
    ]


make_constraints = constraints
"""The public name of :func:`constraints` (``gapsim.make_constraints``)."""


def static(cfg: Config, tau_fn: Callable | None = None, record_points: bool = False) -> Static:
    """The compile-time :class:`~gapsim.core.solvers.Static` of a run (see :func:`prepare`)."""
    return _static(cfg, mechanisms(cfg, tau_fn), record_points)


def _static(cfg: Config, mechs: tuple, record_points: bool) -> Static:
    return Static(
        solver=cfg.solver,
        steps=cfg.steps,
        stride=cfg.stride,
        early_stop=cfg.early_stop,
        mechanisms=mechs,
        block_size=cfg.block_size,
        record_points=record_points,
        parametrization=cfg.parametrization,
    )


@x64
def prepare(
    cfg: Config, points: Any = None, tau_fn: Callable | None = None, *, record_points: bool = False
) -> tuple[Static, Args]:
    """Split a config into the compile-time :class:`Static` and the traced :class:`Args`.

    Builds the constraint sets and the starting points (see :func:`gapsim.app.simulate.simulate`
    for ``points``, ``tau_fn`` and ``record_points``). Runs with equal ``Static`` and shapes
    share one compiled program, and their ``Args`` can be stacked and vmapped.
    """
    st = _static(cfg, mechanisms(cfg, tau_fn), record_points)
    dt = cfg.effective_dtype
    k_init, k_run = jax.random.split(jax.random.key(cfg.seed))
    cs = constraints(cfg)
    z0 = initial_points(k_init, cfg, cs, points)
    lr = cfg.effective_lr
    lrs = np.ones(cfg.modalities) if cfg.modality_lrs is None else np.asarray(cfg.modality_lrs) / lr
    args = Args(
        z0=z0,
        constraints=stack(cs),
        beta=jnp.asarray(cfg.beta, dt),
        key=jax.random.key_data(k_run),
        lr=jnp.asarray(lr, dt),
        momentum=jnp.asarray(cfg.momentum if cfg.solver == "sgd" else 0.0, dt),
        gtol=jnp.asarray(cfg.effective_gtol, dt),
        hypers=hypers(cfg),
        z_lr_mult=jnp.asarray(lrs, dt),
    )
    return st, args
