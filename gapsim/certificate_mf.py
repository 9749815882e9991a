r"""The matrix-free second-order certificate: one compiled program per shape, vmapped over seeds.

Same problem, quantities and verdicts as :mod:`gapsim.certificate` (read its docstring first);
what changes is how they are computed, so that the cost grows like a step of the solver
(Hessian-vector products) and not like :math:`(Nd)^3`:

1. **First order.** :math:`\nabla f` by autodiff; the active caps (``ineq <= active_tol``); the
   least-squares multipliers and the projection of :math:`\nabla f` onto :math:`\ker A` in
   closed form, constraint by constraint (:mod:`gapsim.critical`: per-point tangent
   projections plus the low-rank coupling of a concentration or a learnable cap axis), exact
   to rounding. KKT residual as in the dense path (negative cap multipliers count against it).
2. **Constraint qualification.** :math:`\sigma_{\min}(A)^2` and :math:`\sigma_{\max}(A)^2` are
   the extreme eigenvalues of :math:`A^\top A` on :math:`\mathrm{range}(A^\top)`
   (:func:`gapsim.critical.normal_operator`), by :func:`gapsim.krylov.smallest` to
   ``SIGMA_RTOL`` relative (they set thresholds only).
3. **Symmetries.** The rotation generators' images :math:`zE_{ab}` (:math:`d(d-1)/2` vectors,
   the only dense block, :math:`d(d-1)/2 \times n`); those that keep the strictly active
   constraints (null space of :math:`A_cG`: QR, then the SVD of the small triangular factor),
   projected and orthonormalised (QR and SVD again), and of these only the directions in the
   kernel of the reduced Hessian are deflated: the same rules and tolerances as the dense path.
4. **Second order.** :func:`gapsim.krylov.smallest` on :math:`P_sHP_s`, :math:`H` the
   Hessian of the Lagrangian (``jax.jvp`` of ``jax.grad``: the objective minus
   :func:`gapsim.critical.curvature`), :math:`P_s` the projection onto the critical subspace
   (strictly active caps only) minus the deflated symmetries. It stops when the verdict below
   is decided with an error bound at most ``hess_tol`` (the precision of the operator itself:
   a Ritz value closer than that is no better known), or when the error is at most
   ``EIG_RTOL`` relative (or the rounding of an HVP), or after ``max_matvecs`` products.
5. **Verdict**, with :math:`\theta_1 \ge \lambda_{\min}` the smallest Ritz value and
   :math:`e` its error bound (:mod:`gapsim.krylov`): ``saddle`` when
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

from gapsim import critical
from gapsim._kkt import POINT_KEYS, variables
from gapsim._types import Array
from gapsim.krylov import smallest
from gapsim.objective import beta_at, objective
from gapsim.solvers import Args, Static

__all__ = ["Settings", "Raw", "certify_one", "certify_batch"]

EPS = float(np.finfo(np.float64).eps)
SYM_RTOL = math.sqrt(EPS)
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


class Raw(NamedTuple):
    """The certificate's numbers as arrays (one seed, or a batch along a leading axis)."""

    residual: Array
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


def _generators(var: dict) -> Array:
    r"""``(d(d-1)/2, n)``: images :math:`v \mapsto vE_{ab}` (points and axes rotate)."""
    d = var["z"].shape[-1]
    pairs = [(a, b) for a in range(d) for b in range(a + 1, d)]
    e = np.zeros((len(pairs), d, d))
    for k, (a, b) in enumerate(pairs):
        e[k, a, b], e[k, b, a] = 1.0, -1.0
    e = jnp.asarray(e, var["z"].dtype)

    def image(ek):
        img = {k: (x @ ek if k in POINT_KEYS else jnp.zeros_like(x)) for k, x in var.items()}
        return ravel_pytree(img)[0]

    return jax.vmap(image)(e)


class _Space(NamedTuple):
    """Flat vectors <-> (points, axes, rest) and the per-modality constraint operators."""

    c: object
    z: Array
    a: Array | None
    unravel: object

    def split(self, u):
        t = self.unravel(u)
        return t, t["z"], t.get("axis")

    def join(self, t, uz, ua):
        t = {**t, "z": uz}
        if ua is not None:
            t["axis"] = ua
        return ravel_pytree(t)[0]

    def modalities(self, fn, *args):
        """``fn(c, x, a, *args)`` vmapped over modalities; ``None`` arguments stay ``None``."""
        every = (self.c, self.z, self.a, *args)
        given = [x for x in every if x is not None]

        def one(*xs):
            it = iter(xs)
            return fn(*(None if x is None else next(it) for x in every))

        return jax.vmap(one)(*given)

    def project(self, nm, u):
        t, uz, ua = self.split(u)
        return self.join(t, *self.modalities(critical.project, nm, uz, ua))

    def zero_rest(self, t, uz, ua):
        return self.join(jax.tree.map(jnp.zeros_like, t), uz, ua)

    def normal_operator(self, w, u):
        t, uz, ua = self.split(u)
        return self.zero_rest(t, *self.modalities(critical.normal_operator, w, uz, ua))

    def constraint_image(self, w, u):
        """A vector with the Gram of :math:`A_cu` (local part, then coupling rows)."""
        _, uz, ua = self.split(u)
        lx, la = self.modalities(critical.local_jump, uz, ua)
        cr = self.modalities(critical.coupling_apply, w, uz, ua)
        parts = [lx.ravel(), cr.ravel()] + ([] if la is None else [la.ravel()])
        return jnp.concatenate(parts)


def _orthonormal_range(b: Array, keep_above: Array) -> tuple[Array, Array]:
    r"""Rows spanning the row space of ``b`` (``(k, n)``) above a singular-value cut, masked.

    QR of :math:`b^\top` (Householder, stable), then the SVD of the ``k x k`` factor.
    """
    q, r = jnp.linalg.qr(b.T)
    u, s, _ = jnp.linalg.svd(r)
    keep = s > keep_above
    return jnp.where(keep[:, None], (q @ u).T, 0.0), keep


def _null_rows(b: Array, cut: Array) -> tuple[Array, Array]:
    r"""Right singular vectors of ``b.T`` (``(n', k)``), and which have singular value <= ``cut``.

    QR of :math:`b^\top`, then the SVD of its factor; with fewer rows than ``k``, the missing
    singular values are zero.
    """
    _, r = jnp.linalg.qr(b.T)
    _, s, vt = jnp.linalg.svd(r, full_matrices=True)
    s = jnp.concatenate([s, jnp.zeros(vt.shape[0] - s.shape[0], s.dtype)])
    return vt, s <= cut


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

    Args and meaning as :func:`gapsim.certificate.kkt_certificate`; returns :class:`Raw`
    (:func:`gapsim.certificate.from_raw` turns it into a
    :class:`~gapsim.certificate.SecondOrder`).
    """
    mech, c = static.mech, args.constraints
    var = variables(static, params)
    v, unravel = ravel_pytree(var)
    n = v.size
    z, a = var["z"], var.get("axis")
    sp = _Space(c, z, a, unravel)
    kind = critical.coupling(c)

    def full(u):
        return {**params, **unravel(u)}

    def f(u):
        p = full(u)
        beta = beta_at(mech, args.mech, args.beta, p["nu"], t, static.steps)
        bs = static.block_size
        return objective(mech, args.mech, p, beta, t, stochastic=False, block_size=bs)

    g = jax.grad(f)(v)
    gt, gz, ga = sp.split(g)
    m_count, n_pts, _ = z.shape
    if kind == "cap":
        axes = c.axis if a is None else a
        ineq = jnp.einsum("mnd,md->mn", z, axes) - c.cap_cos[:, None]
        act = (ineq <= active_tol).astype(v.dtype)
    else:
        act = jnp.zeros((m_count, n_pts), v.dtype)
    nm_act = sp.modalities(critical.normals, act)
    mult = sp.modalities(critical.multipliers, nm_act, gz, ga)
    corr = sp.zero_rest(gt, *sp.modalities(critical.residual_correction, mult.coupling))
    res = jnp.linalg.norm(sp.project(nm_act, g) + corr)
    is_cap = kind == "cap"
    n_active = jnp.sum(act).astype(jnp.int32)
    mu = mult.coupling
    min_mult = jnp.min(jnp.where(act > 0, mu, jnp.inf)) if is_cap else jnp.asarray(jnp.inf)
    key = jax.random.key(START_SEED)

    smin, smax = _sigma_range(sp, act, nm_act, n, key, settings, second_order & (res <= gtol))
    degenerate = smin <= LICQ_RTOL * smax
    strong = act * (mu > gtol / smin).astype(act.dtype) if is_cap else act
    n_weak = (n_active - jnp.sum(strong).astype(jnp.int32)).astype(jnp.int32)
    need = second_order & (res <= gtol) & ~degenerate
    second = _second_order(
        static, args, params, t, settings, sp, var, v, f, strong, mult, res / smin, key
    )
    nan = jnp.asarray(jnp.nan, v.dtype)
    skipped = _Second(nan, nan, nan, nan, nan, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32),
                      jnp.zeros((), jnp.int32), jnp.zeros((), bool))  # fmt: skip
    out = jax.lax.cond(need, second, lambda: skipped)
    return Raw(
        residual=res,
        n_active=n_active,
        n_weak=n_weak,
        min_multiplier=min_mult,
        sigma_min=smin,
        sigma_max=smax,
        lambda_min=out.lambda_min,
        eig_error=out.eig_error,
        hess_norm=out.hess_norm,
        sym_scale=out.sym_scale,
        symmetry_curvature=out.symmetry_curvature,
        n_symmetries=out.n_symmetries,
        dim=out.dim,
        matvecs=out.matvecs,
        exhausted=out.exhausted,
        n=jnp.asarray(n, jnp.int32),
    )


def _sigma_range(sp, act, nm_act, n, key, settings, active) -> tuple[Array, Array]:
    """sigma_min(A), sigma_max(A): closed form per modality, or Lanczos with a learnable axis."""
    if not critical.learnable(sp.c):
        lo, hi = sp.modalities(critical.sigma_range, act)
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


class _Second(NamedTuple):
    lambda_min: Array
    eig_error: Array
    hess_norm: Array
    sym_scale: Array
    symmetry_curvature: Array
    n_symmetries: Array
    dim: Array
    matvecs: Array
    exhausted: Array


def _second_order(static, args, params, t, settings, sp, var, v, f, strong, mult, base_tol, key):
    """A thunk computing the second order (symmetries, then Lanczos) for ``lax.cond``."""
    n = v.size
    c, z = sp.c, sp.z
    is_cap = critical.coupling(c) == "cap"
    mult_h = mult._replace(coupling=jnp.maximum(mult.coupling, 0.0)) if is_cap else mult

    def lagrangian(u):
        p = sp.unravel(u)
        cons = sp._replace(z=p["z"], a=p.get("axis")).modalities(critical.curvature, mult_h)
        return f(u) - jnp.sum(cons)

    grad_l = jax.grad(lagrangian)

    def hvp(u):
        return jax.jvp(grad_l, (v,), (u,))[1]

    def p_crit(u):
        return sp.project(nm_c, u)

    def run() -> _Second:
        # symmetries (the only dense block: d(d-1)/2 rows of length n)
        gens = _generators(var)
        scale = jnp.maximum(1.0, jnp.max(jnp.linalg.norm(gens, axis=1)))
        cut = SYM_RTOL * scale
        images = jax.vmap(partial(sp.constraint_image, strong))(gens)
        vt, null = _null_rows(images, cut)
        gens = jnp.where(null[:, None], vt @ gens, 0.0)
        sym, _ = _orthonormal_range(jax.vmap(p_crit)(gens), cut)
        hs = jax.lax.map(hvp, sym, batch_size=settings.sym_batch)
        mat = sym @ hs.T
        mat = (mat + mat.T) / 2
        valid = jnp.linalg.norm(sym, axis=1) > 0.5
        lift = 2 * jnp.linalg.norm(mat) + 1
        ev, vec = jnp.linalg.eigh(mat + jnp.diag(jnp.where(valid, 0.0, lift)))
        valid_ev = ev < lift / 2
        sym_scale = jnp.max(jnp.where(valid_ev, jnp.abs(ev), 0.0))
        kernel = jnp.linalg.norm(jax.vmap(p_crit)(vec.T @ hs), axis=1)
        flat_tol = base_tol + math.sqrt(n) * EPS * jnp.maximum(sym_scale, 1.0)
        flat = valid_ev & (kernel <= flat_tol)
        s_rows = jnp.where(flat[:, None], vec.T @ sym, 0.0)
        n_sym = jnp.sum(flat).astype(jnp.int32)

        def p_s(u):
            p = p_crit(u)
            return p - (s_rows @ p) @ s_rows

        d = z.shape[-1]
        rows = jax.vmap(lambda c, w: critical.n_rows(c, z.shape[1], d, w))(c, strong)
        n_c = jnp.sum(rows, dtype=jnp.int32)
        dim = n - n_c - n_sym

        def hess_tol(norm):
            return base_tol + math.sqrt(n) * EPS * jnp.maximum(norm, sym_scale)

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
            sym_scale=sym_scale,
            symmetry_curvature=jnp.max(jnp.where(flat, jnp.abs(ev), 0.0)),
            n_symmetries=n_sym,
            dim=dim,
            matvecs=ritz.matvecs + gens.shape[0],
            exhausted=ritz.exhausted,
        )

    nm_c = sp.modalities(critical.normals, strong)
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
