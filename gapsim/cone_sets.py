r"""Cone constraints with a free centre: a cap with a learnable axis, and a fixed concentration.

Both stand in, at finite N, for the hypothesis of Yi et al. (2025, Thm 2): each modality is a
von Mises-Fisher distribution of fixed concentration :math:`\kappa` with a free centre.

**Cap with a learnable axis.** The set of one modality's points is defined jointly with its axis,
:math:`\{(c, X): \|c\| = 1, \|x_i\| = 1, x_i\cdot c \ge \cos\alpha\}`. The loss does not depend on
:math:`c`, so the problem is :math:`\min L(X)` over the projection of that set onto the points,
:math:`S_\alpha = \{X: \exists c,\ x_i\cdot c \ge \cos\alpha\ \forall i\}` ("X fits in some cap of
half-angle alpha"). Its exact nearest-point map is

.. math:: \Pi_{S_\alpha}(Z) = \mathrm{cap}_{c^*}(Z),\qquad
   c^* = \arg\min_{\|c\|=1} h(c),\quad h(c) = \sum_i \|\mathrm{cap}_c(z_i) - z_i\|^2
   = \sum_i \big(2\sin\tfrac{(\theta_i(c)-\alpha)_+}{2}\big)^2

for unit rows :math:`z_i` (:math:`\theta_i` the angle between :math:`z_i` and :math:`c`;
:math:`\mathrm{cap}_c` the closed-form fixed-axis projection): for a fixed axis the nearest
feasible point of each row is its cap projection, and minimising the sum over the axis gives the
joint nearest point. :math:`h` is a nonlinear least-squares problem in the chord residuals; it
is solved by a safeguarded Riemannian Newton method on the sphere, started at the mean
direction of Z (a backtracking choice among halved Newton and gradient steps makes every
accepted step decrease :math:`h`; near the minimum the Newton step is taken as it is).
Where Z is feasible, :math:`h = 0` is reached exactly and the
points are returned unchanged. The answer is the exact projection when the minimisation finds
the global minimum over the axis (tested against a brute-force search over axes).

Why this makes a stationary point a KKT point: projected gradient on :math:`X` with the exact
:math:`\Pi_{S_\alpha}` has fixed points :math:`X = \Pi(X - \eta\xi)`, i.e. :math:`-\eta\xi` is a
normal of :math:`S_\alpha` at X. Writing :math:`z_i = x_i - \eta\xi_i` and the optimality of
:math:`c^*` for :math:`h`, :math:`\nabla h(c^*) = 0`, gives multipliers
:math:`\mu_i \ge 0` (zero off the rim) with :math:`\xi_i = \mu_i P_{x_i} c` and
:math:`\sum_i \mu_i P_c x_i = 0`: the KKT conditions of :math:`\min L` over the joint set
:math:`(c, X)`, the second one being the axis's own stationarity. Alternating projections
(re-centre the axis, then project the points, as the former "free axis" did) have no such
property: their fixed points need not be nearest points, and points merge (issue 12).

**Fixed concentration.** :math:`M_\rho = \{X \in (S^{d-1})^N: \|\bar x\| = \rho\}` with
:math:`\bar x = \frac1N\sum_i x_i` and
:math:`\rho = A_d(\kappa) = I_{d/2}(\kappa)/I_{d/2-1}(\kappa)`, the mean resultant length
of a vMF of concentration :math:`\kappa`: a vMF has
:math:`E[x] = A_d(\kappa)\,c`, and :math:`\|\bar x\|` is the sufficient statistic for
:math:`\kappa` (its maximum-likelihood estimate solves :math:`A_d(\hat\kappa) = \|\bar x\|`), so
fixing it and leaving the direction of :math:`\bar x` free is the finite-N form of "fixed
concentration, free centre". It is a smooth manifold of codimension one in the product of
spheres wherever not all points are :math:`\pm\bar x/\|\bar x\|`. Its normal at X is
:math:`n_i = P_{x_i}\hat m` (:math:`\hat m = \bar x/\|\bar x\|`). The nearest point of unit rows
Z satisfies (Lagrange) :math:`x_i = (z_i + s u)/\|z_i + s u\|` with :math:`u = \bar x/\rho`, solved
by a fixed point in :math:`u` with, for each :math:`u`, the scalar root
:math:`\bar x(s)\cdot u = \rho` (monotone in s: bisection, then Newton). This metric projection is
the retraction of the dynamics; its derivative (implicit function theorem, ``custom_jvp``) lets
L-BFGS run over :math:`X = \Pi_{M_\rho}(w_i/\|w_i\|)`, whose critical points are the points where
the Riemannian gradient on :math:`M_\rho` vanishes (the derivative of a metric projection is
the orthogonal projection onto the tangent space there).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import ive

from gapsim._types import Array, Points, Scalar, Vector
from gapsim.errors import ConfigError

__all__ = ["mean_resultant_length", "fit_axis", "concentration_project", "concentration_normal"]

AXIS_MAX_ITERS = 100
CONC_MAX_ITERS = 50
CONC_FIXED_ITERS = 5000
"""Most fixed-point steps of the concentration projection before Newton (far starts only)."""
CONC_SWITCH = 1e-6
"""Fixed-point step length (radians of the mean direction) below which Newton takes over."""
_BACKTRACK = 2.0 ** -np.arange(24.0)  # cast to the points' dtype where used
MAX_AXIS_STEP = 0.25
GN_LOCAL = 1e-6
"""Newton steps shorter than this (radians) are taken undamped (local, fast convergence)."""
"""Longest trial step of the axis (radians, before backtracking)."""


def _cap_norm(v: Vector, dtype) -> Vector:
    n = jnp.linalg.norm(v)
    return v * jnp.minimum(1.0, MAX_AXIS_STEP / jnp.maximum(n, jnp.finfo(dtype).tiny))


def mean_resultant_length(kappa: float, d: int) -> float:
    r"""Mean resultant length :math:`A_d(\kappa) = I_{d/2}(\kappa)/I_{d/2-1}(\kappa)`.

    :math:`\|E[x]\|` for x von Mises-Fisher on :math:`S^{d-1}` with concentration kappa.

    Exponentially scaled Bessel functions (``scipy.special.ive``), so large kappa does not
    overflow. Example: d = 3 gives :math:`\coth\kappa - 1/\kappa`.

    Example:
        >>> round(mean_resultant_length(1.0, 3), 6)  # coth(1) - 1
        0.313035
    """
    if not (np.isfinite(kappa) and kappa > 0):
        raise ConfigError("kappa", kappa, "must be > 0")
    return float(ive(d / 2, kappa) / ive(d / 2 - 1, kappa))


def _angles(z: Points, c: Vector) -> tuple[Array, Array]:
    """Angles of unit rows to unit ``c`` (atan2: accurate near 0 and pi) and their sines."""
    cos = z @ c
    sin = jnp.linalg.norm(z - cos[:, None] * c[None, :], axis=1)
    return jnp.arctan2(sin, cos), sin


def _chords(z: Points, c: Vector, alpha: Scalar) -> Array:
    theta, _ = _angles(z, c)
    return 2 * jnp.sin(jnp.maximum(theta - alpha, 0.0) / 2)


def fit_axis(z: Points, cap_cos: Scalar, start: Vector) -> Vector:
    r"""The axis :math:`c^* = \arg\min_c h(c)` of the nearest point in :math:`S_\alpha`.

    Args:
        z: ``(n, d)`` unit rows.
        cap_cos: :math:`\cos\alpha`.
        start: unit ``(d,)`` starting axis (the caller uses the mean direction of ``z``).

    Returns:
        Unit ``(d,)`` axis in the span of ``start`` and the rows. Riemannian Newton step
        :math:`\delta = -(H + cc^\top)^{-1}g` (gradient g and Hessian H of
        :math:`h(\mathrm{normalize}(c + P_c v))` at v = 0, by autodiff; h is smooth where no
        row sits exactly on the rim); trial steps along it (if it descends) and along
        :math:`-g`, each at most ``MAX_AXIS_STEP`` radians, are halved up to 23 times and the
        best is taken if it lowers h; a descending Newton step shorter than ``GN_LOCAL`` is
        taken as it is (quadratic convergence to rounding). Stops when no trial lowers h, or
        the local step is at rounding level.
    """
    alpha = jnp.arctan2(jnp.sqrt(jnp.maximum(1 - cap_cos**2, 0.0)), cap_cos)

    def h(c):
        r = _chords(z, c, alpha)
        return jnp.sum(r * r)

    def step(c):
        def h_at(v):  # h around c, in the tangent directions (v along c does nothing)
            w = c + v - (v @ c) * c
            return h(w / jnp.linalg.norm(w))

        zero = jnp.zeros_like(c)
        g = jax.grad(h_at)(zero)
        hess = jax.hessian(h_at)(zero) + jnp.outer(c, c)
        delta = jnp.linalg.solve(hess, -g)
        descent = jnp.isfinite(delta).all() & (g @ delta < 0)
        delta = jnp.where(descent, delta, 0.0)
        scales = _BACKTRACK.astype(z.dtype)[:, None]
        dirs = [_cap_norm(delta, z.dtype), _cap_norm(-g, z.dtype)]
        cands = c[None, :] + jnp.concatenate([scales * v[None, :] for v in dirs])
        cands = cands / jnp.linalg.norm(cands, axis=1, keepdims=True)
        hs = jax.vmap(h)(cands)
        k = jnp.argmin(hs)
        full = (c + delta) / jnp.linalg.norm(c + delta)
        size = jnp.where(descent, jnp.linalg.norm(delta), jnp.inf)
        return cands[k], hs[k], full, size

    def cond(s):
        _, hc, i, done = s
        return (i < AXIS_MAX_ITERS) & ~done & (hc > 0)

    def body(s):
        c, hc, i, _ = s
        c_try, h_try, full, size = step(c)
        # near the minimum, the undamped Newton step (accurate to rounding, where a
        # decrease of h is no longer measurable); farther out, the best trial if it lowers h
        small = size <= GN_LOCAL
        c_new = jnp.where(small, full, c_try)
        h_new = jnp.where(small, h(full), h_try)
        ok = small | (h_try < hc)
        done = (small & (size <= 4 * jnp.finfo(z.dtype).eps)) | ~ok
        return jnp.where(ok, c_new, c), jnp.where(ok, h_new, hc), i + 1, done

    return jax.lax.while_loop(cond, body, (start, h(start), 0, False))[0]


def concentration_normal(x: Points) -> Points:
    r"""Normal of :math:`M_\rho` at X inside the product of spheres: :math:`n_i = P_{x_i}\hat m`."""
    m = jnp.mean(x, axis=0)
    mh = m / jnp.maximum(jnp.linalg.norm(m), jnp.finfo(x.dtype).tiny)
    return mh[None, :] - (x @ mh)[:, None] * x


def _pull(z: Points, u: Vector, rho: Scalar) -> Scalar:
    """The root s of mean(normalize(z_i + s u)) . u = rho (monotone in s)."""
    big = 2 * (1 + rho) / jnp.maximum(1 - rho, jnp.finfo(z.dtype).eps) + 1

    def phi(s):
        y = z + s * u[None, :]
        n = jnp.linalg.norm(y, axis=1)
        return jnp.mean((y @ u) / n) - rho, jnp.mean((1 - ((y @ u) / n) ** 2) / n)

    def bisect(_, b):
        lo, hi = b
        mid = (lo + hi) / 2
        up = phi(mid)[0] < 0
        return jnp.where(up, mid, lo), jnp.where(up, hi, mid)

    lo, hi = jax.lax.fori_loop(0, 64, bisect, (-big, big))
    s = (lo + hi) / 2
    for _ in range(2):  # Newton polish (phi' > 0 away from the degenerate all-at-u case)
        f, df = phi(s)
        s = jnp.where(df > 0, jnp.clip(s - f / jnp.maximum(df, 1e-300), lo, hi), s)
    return s


def _kkt_matrix(x: Points, r: Array, s: Scalar, u: Vector, rho: Scalar) -> Array:
    r"""The (d+1) x (d+1) Jacobian of :math:`(\bar x - \rho u, u\cdot du)` in :math:`(du, ds)`."""
    n, d = x.shape
    a = jnp.eye(d, dtype=x.dtype) * jnp.mean(1 / r) - (x.T * (1 / r)[None, :]) @ x / n
    k = jnp.zeros((d + 1, d + 1), x.dtype)
    k = k.at[:d, :d].set(s * a - rho * jnp.eye(d, dtype=x.dtype))
    return k.at[:d, d].set(a @ u).at[d, :d].set(u)


def _points(z: Points, u: Vector, s: Scalar) -> tuple[Points, Array]:
    y = z + s * u[None, :]
    n = jnp.linalg.norm(y, axis=1)
    ok = n > 0
    return jnp.where(ok[:, None], y / jnp.where(ok, n, 1.0)[:, None], u[None, :]), n


def _conc_solve(z: Points, rho: Scalar, ref: Vector) -> tuple[Points, Scalar, Vector]:
    """Fixed-point iterations in u (robust, linear), then Newton in (u, s) (quadratic)."""
    tol = 10 * jnp.finfo(z.dtype).eps

    def unit_mean(y):
        m = jnp.mean(y, axis=0)
        nm = jnp.linalg.norm(m)
        return jnp.where(nm > 0, m / jnp.where(nm > 0, nm, 1.0), ref)

    u0 = unit_mean(z)
    w, sv, _ = jnp.linalg.svd(jnp.concatenate([z, u0[None, :]]).T, full_matrices=False)
    keep = sv > jnp.max(sv) * z.shape[0] * jnp.finfo(z.dtype).eps
    span = (w * keep.astype(z.dtype)[None, :]) @ w.T  # projector onto span(z, u0)

    def fixed(st):
        # projected onto span(z, u0): off it, the map multiplies u's component by
        # s mean(1/r) / rho, which may exceed 1, so rounding would grow over many steps.
        # The state keeps the last consistent pair (u, s(u)) for the fallback below.
        u, _, i, _, _ = st
        s = _pull(z, u, rho)
        u_new = unit_mean(_points(z, u, s)[0] @ span)
        return u_new, s, i + 1, jnp.linalg.norm(u_new - u), u

    def newton(st):
        # Newton in (u, s); the solution lies in span(z, u0) (U inside a subspace), where K is
        # block-diagonal, and its block (s mean(1/r) - rho) I on the complement may be
        # singular, so the complement is pinned (identity block, zero right-hand side)
        u, s, i, _ = st
        x, r = _points(z, u, s)
        k = _kkt_matrix(x, r, s, u, rho)
        d = z.shape[1]
        k = k.at[:d, :d].set(span @ k[:d, :d] @ span + jnp.eye(d, dtype=z.dtype) - span)
        f = jnp.concatenate([span @ (jnp.mean(x, axis=0) - rho * u), jnp.zeros(1, z.dtype)])
        sol = jnp.linalg.solve(k, -f)
        u_new = u + sol[:-1]
        u_new = u_new / jnp.linalg.norm(u_new)
        return u_new, s + sol[-1], i + 1, jnp.linalg.norm(sol)

    def residual(u, s):
        res = jnp.linalg.norm(jnp.mean(_points(z, u, s)[0], axis=0) - rho * u)
        return jnp.where(jnp.isfinite(res) & jnp.isfinite(s), res, jnp.inf)

    # the fixed point converges from far starts (linearly: ~0.97 per step from a near-uniform
    # start at N = 256, where Newton from 20 fixed-point steps met a singular Jacobian and
    # returned NaN, issue 22); Newton finishes from CONC_SWITCH, and is kept only if it does
    # not end worse than the fixed point's last consistent pair (u, s(u))
    zero = jnp.zeros((), z.dtype)
    u1, s1, _, _, u_fp = jax.lax.while_loop(
        lambda st: (st[2] < CONC_FIXED_ITERS) & (st[3] > CONC_SWITCH),
        fixed,
        (u0, zero, 0, jnp.inf, u0),
    )
    u, s, _, _ = jax.lax.while_loop(
        lambda st: (st[2] < CONC_MAX_ITERS) & (st[3] > tol), newton, (u1, s1, 0, jnp.inf)
    )
    keep = residual(u, s) <= residual(u_fp, s1)
    u, s = jnp.where(keep, u, u_fp), jnp.where(keep, s, s1)
    return _points(z, u, s)[0], s, u


@jax.custom_jvp
def concentration_project(z: Points, rho: Scalar, ref: Vector) -> Points:
    r"""Nearest point of :math:`M_\rho = \{\|\bar x\| = \rho\}` to unit rows ``z`` (module doc).

    Differentiable in ``z`` (implicit function theorem, forward and reverse mode).

    Args:
        z: ``(n, d)`` unit rows.
        rho: target mean norm in ``(0, 1)``.
        ref: unit ``(d,)`` direction used when the mean of ``z`` is exactly zero.
    """
    return _conc_solve(z, rho, ref)[0]


@concentration_project.defjvp
def _concentration_jvp(primals, tangents):
    r"""Implicit derivative of the projection.

    With :math:`r_i = \|z_i + s u\|`, :math:`P_i = I - x_ix_i^\top`,
    :math:`A = \frac1N\sum_i P_i/r_i`: :math:`dx_i = P_i(dz_i + u\,ds + s\,du)/r_i`, where
    :math:`(sA - \rho I)du + Au\,ds = -\frac1N\sum_i P_i dz_i/r_i` and :math:`u\cdot du = 0`
    (differentiating :math:`\bar x = \rho u`, :math:`\|u\| = 1`).
    """
    z, rho, ref = primals
    dz = tangents[0]  # rho and ref are constants of a run: their tangents are not used
    x, s, u = _conc_solve(z, rho, ref)
    d = z.shape[1]
    _, r = _points(z, u, s)

    def proj(v):  # rows P_i v_i / r_i
        return (v - jnp.sum(x * v, axis=1, keepdims=True) * x) / r[:, None]

    k = _kkt_matrix(x, r, s, u, rho)
    rhs = jnp.concatenate([-jnp.mean(proj(dz), axis=0), jnp.zeros(1, z.dtype)])
    sol = jnp.linalg.solve(k, rhs)
    du, ds = sol[:d], sol[d]
    dx = proj(dz + ds * u[None, :] + s * du[None, :])
    return x, dx
