r"""The compiled JAX half of :mod:`~gapsim.core.certificate`: residual Jacobians, VJPs, HVPs.

The variable vector :math:`v` is ``ravel_pytree`` of :func:`variables`: the points ``z`` and the
learnable variables of the mechanisms (``nu``, ``gamma``, ...: each mechanism's
:attr:`~gapsim.core.mechanisms.Mechanism.variables`), and a learnable cap axis. Every function is
jit-compiled once per :class:`~gapsim.core.solvers.Static` and shapes (``args``, ``params`` and
``t`` are traced), so a second certificate of the same shape does not recompile. Batched functions
take a fixed ``CHUNK`` of rows (padded by the caller).

To certify a new constraint, add its residuals to :func:`gapsim.core.sets.residuals` (the set's
defining equalities and inequalities live beside its projection) and, if it brings a parameter, a
key to :func:`variables` (listed in ``POINT_KEYS`` when a rotation acts on it, so that it is rotated
with the points). A mechanism's variables need no edit here: they are iterated (``point_like`` ones
are rotated with the points). The learnable cap axis is such a parameter: the caller puts the fitted
axes (:func:`gapsim.core.sets.cap_axis`, one row per modality) in ``params["axis"]``, and the
problem is certified on :math:`(c, X)` jointly, as :mod:`gapsim.core.sets` defines it (the loss
does not depend on :math:`c`; its stationarity is :math:`\sum_i \mu_i P_c x_i = 0`). The fixed
concentration adds one equality per modality.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from gapsim.core._types import Array
from gapsim.core.mechanisms import variables as mechanism_variables
from gapsim.core.sets import residuals
from gapsim.core.solvers import Args, Static, objective_at

__all__ = ["variables", "point_keys", "first_order", "vjp_rows", "hvp_rows", "generators"]

CHUNK = 32
POINT_KEYS = ("z", "axis")
"""Variables whose last axis is a point of R^d, rotated jointly by a symmetry."""


def variables(static: Static, params: dict) -> dict:
    """The parameters the objective is minimised over: points, cap axes, mechanism variables."""
    v = {"z": params["z"]}
    if "axis" in params:
        v["axis"] = params["axis"]
    for var in mechanism_variables(static.mechanisms):
        v[var.name] = params[var.name]
    return v


def point_keys(static: Static) -> tuple[str, ...]:
    """Variables rotated jointly with the points by a symmetry."""
    own = tuple(v.name for v in mechanism_variables(static.mechanisms) if v.point_like)
    return POINT_KEYS + own


def _problem(static: Static, args: Args, params: dict, t):
    v0, unravel = ravel_pytree(variables(static, params))

    def full(v):
        return {**params, **unravel(v)}

    def f(v):
        return objective_at(static, args, full(v), t, False)

    def res(v):
        p = full(v)
        z, axes = p["z"], p.get("axis")
        parts = [
            residuals(
                jax.tree.map(lambda a, m=m: a[m], args.constraints),
                z[m],
                None if axes is None else axes[m],
            )
            for m in range(z.shape[0])
        ]
        return jnp.concatenate([p[0] for p in parts]), jnp.concatenate([p[1] for p in parts])

    def res_all(v):
        return jnp.concatenate(res(v))

    return v0, unravel, f, res, res_all


def _compiled(fn):
    return jax.jit(fn, static_argnums=0)


@_compiled
def first_order(static: Static, args: Args, params: dict, t) -> tuple[Array, Array, Array, Array]:
    """``(v, grad f(v), eq(v), ineq(v))`` at the run's variables."""
    v, _, f, res, _ = _problem(static, args, params, t)
    return (v, jax.grad(f)(v), *res(v))


@_compiled
def vjp_rows(static: Static, args: Args, params: dict, t, w: Array) -> Array:
    """``w @ J`` for ``(CHUNK, m)`` cotangents ``w``: rows of the residual Jacobian ``J``."""
    v, _, _, _, res_all = _problem(static, args, params, t)
    _, pull = jax.vjp(res_all, v)
    return jax.vmap(lambda c: pull(c)[0])(w)


@_compiled
def hvp_rows(static: Static, args: Args, params: dict, t, lam: Array, u: Array) -> Array:
    r"""Rows of ``u`` (``(CHUNK, n)``) times the Hessian of :math:`f - \lambda^\top r(v)`."""
    v, _, f, _, res_all = _problem(static, args, params, t)
    grad = jax.grad(lambda v: f(v) - jnp.dot(lam, res_all(v)))
    return jax.vmap(lambda d: jax.jvp(grad, (v,), (d,))[1])(u)


@_compiled
def generators(static: Static, params: dict) -> Array:
    r"""``(d(d-1)/2, n)``: the images :math:`v \mapsto vE_{ab}` of the rotation generators."""
    var = variables(static, params)
    d = var["z"].shape[-1]
    rows = []
    for a in range(d):
        for b in range(a + 1, d):
            e = jnp.zeros((d, d), var["z"].dtype).at[a, b].set(1.0).at[b, a].set(-1.0)
            rot = point_keys(static)
            img = {k: (x @ e if k in rot else jnp.zeros_like(x)) for k, x in var.items()}
            rows.append(ravel_pytree(img)[0])
    return jnp.stack(rows)


def n_residuals(static: Static, args: Args, params: dict) -> int:
    """Total number of residuals (equalities then inequalities), from shapes only."""
    shapes = jax.eval_shape(
        lambda p, a: _problem(static, a, p, 0)[4](ravel_pytree(variables(static, p))[0]),
        params,
        args,
    )
    return int(shapes.shape[0])
