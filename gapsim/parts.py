r"""The one place a :class:`~gapsim.config.Config` is taken apart into the solver's parts.

A run is the compiled loop :func:`gapsim.solvers.execute` over two values: the hashable,
compile-time :class:`~gapsim.solvers.Static` (solver, step counts, the mechanisms switched on)
and the traced :class:`~gapsim.solvers.Args` (starting points, stacked constraint sets, scalars).
This module builds them from a config, and nothing else does:

- :func:`constraints`: the M :class:`~gapsim.geometry.Constraint` sets (subspaces with the
  configured principal angles, caps, a fixed concentration);
- :func:`mechanisms`: the objective's compile-time switches
  (:class:`~gapsim.objective.Mechanisms`);
- :func:`mech_args`: their traced parameters (:class:`~gapsim.objective.MechArgs`);
- :func:`static` and :func:`prepare`: the whole ``(Static, Args)`` pair.

The geometry, the objective and the solvers below do not know about ``Config``: adding a
constraint or a mechanism means a field (and its rule) in :mod:`gapsim.config`, the math in
:mod:`gapsim.geometry` or :mod:`gapsim.objective`, and its wiring here (``docs/developing.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.cone_sets import mean_resultant_length
from gapsim.config import Config
from gapsim.errors import ConfigError
from gapsim.geometry import Constraint, stack
from gapsim.init import initial_points
from gapsim.objective import Mechanisms, MechArgs, pairs
from gapsim.precision import x64
from gapsim.solvers import Args, Static
from gapsim.subspaces import subspace_pair
from gapsim.temperature import nu_of_beta

__all__ = ["constraints", "make_constraints", "mechanisms", "mech_args", "static", "prepare"]

MECH_FIELDS = ("tau_scale", "tau_lr_mult", "gamma_lr_mult", "swap_p", "class_p", "atp", "cu")
""":class:`~gapsim.objective.MechArgs` fields copied as they are from the config field of the
same name (as arrays of the working dtype); the others (``key``, ``tau_end``, ``tau_period``)
are resolved in :func:`mech_args`."""


@x64  # float64 constraint arrays even where the caller's JAX is in 32-bit mode
def constraints(cfg: Config) -> list[Constraint]:
    r"""The M modalities' constraint sets described by a config.

    ``subspace`` (M = 2): U, V from :func:`gapsim.subspaces.subspace_pair` with the configured
    principal angles (canonical frame), optionally with caps inside them; ``cone``: caps on the
    sphere. Fixed cap axes (M = 2): :math:`e_1` for X and :math:`\cos a\, e_1 + \sin a\, e_2`
    for Y (``a = cone_axis_angle``), each projected onto its subspace. ``concentration``:
    :math:`\|\bar x\| = \rho = A_d(\kappa)` (:func:`gapsim.cone_sets.mean_resultant_length`);
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


def mechanisms(cfg: Config, tau_fn: Callable | None = None) -> Mechanisms:
    """The objective's compile-time switches; ``tau_fn`` goes with ``tau_schedule="custom"`` only.

    Raises:
        ConfigError: a ``tau_fn`` without ``tau_schedule="custom"``, or the reverse.
    """
    if (tau_fn is not None) != (cfg.tau_schedule == "custom"):
        raise ConfigError(
            "tau_schedule",
            cfg.tau_schedule,
            "'custom' goes with a tau_fn callable in the API, and only with it",
        )
    return Mechanisms(
        n_modalities=cfg.modalities,
        learn_tau=cfg.learn_tau,
        tau_param=cfg.tau_param,
        schedule=cfg.tau_schedule,
        tau_fn=tau_fn,
        gamma_lift=cfg.gamma_lift,
        swap=cfg.swap,
        n_noisy=cfg.n_noisy,
        classes=cfg.classes,
        atp=cfg.atp > 0,
        cu=cfg.cu > 0,
    )


def mech_args(cfg: Config, key: jax.Array) -> MechArgs:
    """The mechanisms' traced parameters; ``key`` is the run's PRNG key (stored as raw data).

    The schedule's end temperature defaults to ``tau`` and its period to ``steps``; the fields
    of :data:`MECH_FIELDS` are the config's own values.
    """
    dt = cfg.effective_dtype
    copied = {name: jnp.asarray(getattr(cfg, name), dt) for name in MECH_FIELDS}
    return MechArgs(
        key=jax.random.key_data(key),
        tau_end=jnp.asarray(cfg.tau_end or cfg.tau, dt),
        tau_period=jnp.asarray(cfg.tau_period or cfg.steps, dt),
        **copied,
    )


def static(cfg: Config, tau_fn: Callable | None = None, record_points: bool = False) -> Static:
    """The compile-time :class:`~gapsim.solvers.Static` of a run (see :func:`prepare`)."""
    return Static(
        solver=cfg.solver,
        steps=cfg.steps,
        stride=cfg.stride,
        early_stop=cfg.early_stop,
        mech=mechanisms(cfg, tau_fn),
        block_size=cfg.block_size,
        record_points=record_points,
        parametrization=cfg.parametrization,
    )


@x64
def prepare(
    cfg: Config, points: Any = None, tau_fn: Callable | None = None, *, record_points: bool = False
) -> tuple[Static, Args]:
    """Split a config into the compile-time :class:`Static` and the traced :class:`Args`.

    Builds the constraint sets and the starting points (see :func:`gapsim.simulate.simulate`
    for ``points``, ``tau_fn`` and ``record_points``). Runs with equal ``Static`` and shapes
    share one compiled program, and their ``Args`` can be stacked and vmapped.
    """
    st = static(cfg, tau_fn, record_points)
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
        lr=jnp.asarray(lr, dt),
        momentum=jnp.asarray(cfg.momentum if cfg.solver == "sgd" else 0.0, dt),
        gtol=jnp.asarray(cfg.effective_gtol, dt),
        nu0=jnp.asarray(nu_of_beta(cfg.beta, cfg.tau_param, cfg.tau_scale), dt),
        gamma0=jnp.full((len(pairs(cfg.modalities)),), cfg.gamma0 if cfg.gamma_lift else 0.0, dt),
        mech=mech_args(cfg, k_run),
        z_lr_mult=jnp.asarray(lrs, dt),
    )
    return st, args
