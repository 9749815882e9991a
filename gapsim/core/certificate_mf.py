r"""The matrix-free second-order certificate: one compiled program per shape, vmapped over seeds.

Same problem, quantities and verdicts as :mod:`gapsim.core.certificate` (read its docstring first);
what changes is how they are computed, so that the cost grows like a step of the solver
(Hessian-vector products) and not like :math:`(Nd)^3`:

1. **First order.** :math:`\nabla f` by autodiff; the active caps (``ineq <= active_tol``); the
   least-squares multipliers and the projection of :math:`\nabla f` onto :math:`\ker A` in
   closed form, constraint by constraint (:mod:`gapsim.core.critical`: per-point tangent
   projections plus the low-rank coupling of a concentration or a learnable cap axis), exact
   to rounding. KKT residual as in the dense path (negative cap multipliers count against it).
2. **Constraint qualification.** :math:`\sigma_{\min}(A)^2` and :math:`\sigma_{\max}(A)^2` are
   the extreme eigenvalues of :math:`A^\top A` on :math:`\mathrm{range}(A^\top)`
   (:func:`gapsim.core.critical.normal_operator`), by :func:`gapsim.core.krylov.smallest` to
   ``SIGMA_RTOL`` relative (they set thresholds only).
3. **Symmetries.** The rotation generators' images :math:`zE_{ab}` (:math:`d(d-1)/2` vectors,
   the only dense block, :math:`d(d-1)/2 \times n`); those that keep the strictly active
   constraints (null space of :math:`A_cG`: QR, then the SVD of the small triangular factor),
   projected and orthonormalised (QR and SVD again), and of these only the directions in the
   kernel of the reduced Hessian are deflated: the same rules and tolerances as the dense path.
4. **Second order.** :func:`gapsim.core.krylov.smallest` on :math:`P_sHP_s`, :math:`H` the
   Hessian of the Lagrangian (``jax.jvp`` of ``jax.grad``: the objective minus
   :func:`gapsim.core.critical.curvature`), :math:`P_s` the projection onto the critical subspace
   (strictly active caps only) minus the deflated symmetries. It stops when the verdict below
   is decided with an error bound at most ``hess_tol`` (the precision of the operator itself:
   a Ritz value closer than that is no better known), or when the error is at most
   ``EIG_RTOL`` relative (or the rounding of an HVP), or after ``max_matvecs`` products.
5. **Verdict**, with :math:`\theta_1 \ge \lambda_{\min}` the smallest Ritz value and
   :math:`e` its error bound (:mod:`gapsim.core.krylov`): ``saddle`` when
   :math:`\theta_1 < -\text{hess\_tol}` (a Rayleigh quotient below the threshold proves a
   negative eigenvalue); ``minimum`` when :math:`\theta_1 - e \ge -\text{hess\_tol}`;
   ``undecided`` between the two (the eigenvalue is not known well enough to decide: the
   product budget ran out with the threshold inside the error interval). ``hess_tol`` is the
   dense path's formula with :math:`\|H\|` estimated by the largest Ritz value seen; the
   projection is exact to rounding, which that formula's :math:`\sqrt n\,\epsilon\|H\|` term
   covers.

Everything from the gradient to the verdict is one ``jax.jit`` program (``lax.while_loop`` for
the iterations, masks for the active sets), so a batch of seeds of one shape is ``jax.vmap`` of
it (:func:`certify_batch`), and it runs unchanged on a GPU. float64 throughout.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from gapsim.core import critical
from gapsim.core._kkt import point_keys, variables
from gapsim.core._types import Array
from gapsim.core.critical_space import Space, deflate
from gapsim.core.krylov import smallest
from gapsim.core.solvers import Args, Static, objective_at

__all__ = ["Settings", "Raw", "certify_one", "certify_batch"]

EPS = float(np.finfo(np.float64).eps)
LICQ_RTOL = EPS**0.25
EIG_RTOL = 1e-10
"""Relative error at which the smallest eigenvalue is reported (or ``hess_tol``, if larger)."""
SIGMA_RTOL = 1e-4
"""Relative error of sigma_min(A)^2 (a threshold, not a verdict)."""
START_SEED = 0
"""Seed of the Lanczos start vectors: the certificate is deterministic; a random start only
makes an eigenvector orthogonal to the Krylov space a probability-zero event."""


class Settings(NamedTuple):
    r"""Static sizes of the iterations (changing one compiles a new program).

    Attributes:
        krylov: Lanczos basis size of the Hessian; ``keep``: Ritz vectors kept at a restart.
        max_matvecs: budget of Hessian-vector products.
        sigma_krylov: Lanczos basis size for :math:`\sigma(A)`; ``sigma_matvecs`` its budget.
        sym_batch: symmetry directions multiplied by the Hessian at a time (memory).
    """

    krylov: int = 64
    keep: int = 16
    max_matvecs: int = 4000
    sigma_krylov: int = 24
    sigma_matvecs: int = 400
    sym_batch: int = 8


DEFAULT = Settings()


class _Second(NamedTuple):
    """The second-order fields of :class:`Raw` (same names, same order)."""

    lambda_min: Array
    eig_error: Array
    hess_norm: Array
    sym_scale: Array
    symmetry_curvature: Array
    n_symmetries: Array
    dim: Array
    matvecs: Array
    exhausted: Array


class Raw(NamedTuple):
    """The certificate's numbers as arrays (one seed, or a batch along a leading axis)."""

    kkt_residual: Array
    n_active: Array
    n_weak: Array
    min_multiplier: Array
    sigma_min: Array
    sigma_max: Array
    lambda_min: Array
    eig_error: Array
    hess_norm: Array
    sym_scale: Array
    symmetry_curvature: Array
    n_symmetries: Array
    dim: Array
    matvecs: Array
    exhausted: Array
    n: Array


@partial(jax.jit, static_argnames=("static", "settings", "second_order"))
def certify_one(
    static: Static,
    args: Args,
    params: dict,
    t: Array,
    gtol: Array,
    active_tol: Array,
    settings: Settings = DEFAULT,
    second_order: bool = True,
) -> Raw:
    """The matrix-free certificate of one end point (``params`` with ``"axis"`` when learnable).

    Args and meaning as :func:`gapsim.core.certificate.kkt_certificate`; returns :class:`Raw`
    (:func:`gapsim.core.certificate.from_raw` turns it into a
    :class:`~gapsim.core.certificate.SecondOrder`).
    """
    c = args.constraints
    var = variables(static, params)
    v, unravel = ravel_pytree(var)
    n = v.size
    z, a = var["z"], var.get("axis")
    sp = Space(c, z, a, unravel)

    def f(u):
        return objective_at(static, args, {**params, **unravel(u)}, t, False)

    g = jax.grad(f)(v)
    gt, gz, ga = sp.split(g)
    m_count, n_pts, _ = z.shape
    ineq = sp.modalities(critical.inequalities)
    act = jnp.zeros((m_count, n_pts), v.dtype) if ineq is None else ineq <= active_tol
    act = act.astype(v.dtype)
    nm_act = sp.modalities(critical.normals, act)
    mult = sp.modalities(critical.multipliers, nm_act, gz, ga)
    corr = sp.zero_rest(gt, *sp.modalities(critical.residual_correction, mult.coupling, act))
    res = jnp.linalg.norm(sp.project(nm_act, g) + corr)
    n_active = jnp.sum(act).astype(jnp.int32)
    mu = mult.coupling
    min_mult = jnp.min(jnp.where(act > 0, mu, jnp.inf))
    key = jax.random.key(START_SEED)

    nan, zero = jnp.asarray(jnp.nan, v.dtype), jnp.zeros((), jnp.int32)
    skipped = _Second(nan, nan, nan, nan, nan, zero, zero, zero, jnp.zeros((), bool))
    if not second_order:  # nothing of the second order is compiled
        return _raw(res, n_active, zero, min_mult, nan, nan, skipped, n)
    smin, smax = _sigma_range(sp, act, nm_act, n, key, settings, res <= gtol)
    degenerate = smin <= LICQ_RTOL * smax
    strong = act * (mu > gtol / smin).astype(act.dtype)
    n_weak = (n_active - jnp.sum(strong).astype(jnp.int32)).astype(jnp.int32)
    need = (res <= gtol) & ~degenerate
    keys = point_keys(static)
    second = _second_order(settings, sp, var, keys, v, f, act, strong, mult, res / smin, key)
    out = jax.lax.cond(need, second, lambda: skipped)
    return _raw(res, n_active, n_weak, min_mult, smin, smax, out, n)


def _raw(res, n_active, n_weak, min_mult, smin, smax, out: _Second, n: int) -> Raw:
    return Raw(res, n_active, n_weak, min_mult, smin, smax, *out, jnp.asarray(n, jnp.int32))


def _sigma_range(sp, act, nm_act, n, key, settings, active) -> tuple[Array, Array]:
    """sigma_min(A), sigma_max(A): closed form per modality, or Lanczos with a learnable axis."""
    closed = sp.modalities(critical.sigma_range, act)
    if closed is not None:
        lo, hi = closed
        return jnp.sqrt(jnp.min(lo)), jnp.sqrt(jnp.max(hi))

    def range_proj(u):  # range(A^T) = range(I - P_act)
        return u - sp.project(nm_act, u)

    sig = smallest(
        partial(sp.normal_operator, act),
        range_proj,
        jax.random.fold_in(key, 1),
        n,
        krylov=min(settings.sigma_krylov, n),
        keep=min(settings.sigma_krylov, n) // 3,
        max_matvecs=settings.sigma_matvecs,
        stop=lambda th, e, s: e <= SIGMA_RTOL * jnp.abs(th),
        active=active,
    )
    return jnp.sqrt(jnp.maximum(sig.value, 0.0)), jnp.sqrt(jnp.maximum(sig.norm, 0.0))


def _enough(hess_tol, rounding, theta, err, norm):
    r"""The Lanczos run's stopping rule: the verdict decided to ``hess_tol``, or ``EIG_RTOL``.

    Either the eigenvalue is known to ``EIG_RTOL`` relative (or to the rounding of an HVP),
    or the error is at most ``hess_tol`` and the verdict is decided: a saddle
    (:math:`\theta < -` ``hess_tol``) or a minimum (:math:`\theta - e \ge -` ``hess_tol``).
    ``hess_tol`` is the precision of the operator itself (the multipliers' error and the
    rounding of an HVP): a Ritz value closer than that is no better known.
    """
    h = hess_tol(norm)
    decided = (theta < -h) | (theta - err >= -h)
    accurate = err <= jnp.maximum(EIG_RTOL * jnp.abs(theta), rounding * norm)
    return (decided & (err <= h)) | accurate


def _second_order(settings, sp, var, keys, v, f, act, strong, mult, base_tol, key):
    """A thunk computing the second order (symmetries, then Lanczos) for ``lax.cond``.

    The inequality rows' multipliers enter the Lagrangian clipped at zero (as in the KKT
    residual).
    """
    n = v.size
    clipped = jnp.where(act > 0, jnp.maximum(mult.coupling, 0.0), mult.coupling)
    mult_h = mult._replace(coupling=clipped)

    def lagrangian(u):
        p = sp.unravel(u)
        cons = sp._replace(z=p["z"], a=p.get("axis")).modalities(critical.curvature, mult_h)
        return f(u) - jnp.sum(cons)

    grad_l = jax.grad(lagrangian)

    def hvp(u):
        return jax.jvp(grad_l, (v,), (u,))[1]

    nm_c = sp.modalities(critical.normals, strong)

    def p_crit(u):
        return sp.project(nm_c, u)

    def run() -> _Second:
        sym = deflate(sp, var, keys, strong, p_crit, hvp, base_tol, settings.sym_batch)

        def p_s(u):
            p = p_crit(u)
            return p - (sym.rows @ p) @ sym.rows

        m, n_pts, d = sp.z.shape
        rows = jax.vmap(lambda c, w: critical.n_rows(c, n_pts, d, w))(sp.c, strong)
        dim = n - jnp.sum(rows, dtype=jnp.int32) - sym.count

        def hess_tol(norm):
            return base_tol + math.sqrt(n) * EPS * jnp.maximum(norm, sym.scale)

        ritz = smallest(
            hvp,
            p_s,
            jax.random.fold_in(key, 2),
            n,
            krylov=min(settings.krylov, n),
            keep=min(settings.keep, n - 1),
            max_matvecs=settings.max_matvecs,
            stop=partial(_enough, hess_tol, math.sqrt(n) * EPS),
            active=dim > 0,
        )
        return _Second(
            lambda_min=jnp.where(dim > 0, ritz.value, jnp.inf),
            eig_error=jnp.where(dim > 0, ritz.error, 0.0),
            hess_norm=jnp.where(dim > 0, ritz.norm, 0.0),
            sym_scale=sym.scale,
            symmetry_curvature=sym.curvature,
            n_symmetries=sym.count,
            dim=dim,
            matvecs=ritz.matvecs + sym.products,
            exhausted=ritz.exhausted,
        )

    return run


@partial(jax.jit, static_argnames=("static", "settings", "second_order"))
def certify_batch(
    static: Static,
    args: Args,
    params: dict,
    t: Array,
    gtol: Array,
    active_tol: Array,
    settings: Settings = DEFAULT,
    second_order: bool = True,
) -> Raw:
    """:func:`certify_one` vmapped over a leading batch axis of ``args``, ``params`` and ``t``."""
    one = partial(certify_one, static, settings=settings, second_order=second_order)
    return jax.vmap(lambda a, p, tt: one(a, p, tt, gtol, active_tol))(args, params, t)
