r"""A fixed concentration: :math:`\|\bar x\| = \rho`, the mean of the points at a set norm.

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

Inside a subspace U the set is :math:`\{X \in (S^{d-1}\cap U)^N: \|\bar x\| = \rho\}` (a vMF
of fixed concentration on U's sphere, :math:`\rho = A_k(\kappa)`): the projection moves each
row along the mean, which lies in U, so it composes with the subspace's projection.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import ive

from gapsim.core._types import Array, Points, Scalar, Vector
from gapsim.core.sets.sphere import tangent_rows
from gapsim.errors import ConfigError

__all__ = [
    "Concentration",
    "ConcentrationNormal",
    "mean_resultant_length",
    "concentration_project",
    "concentration_normal",
]

CONC_MAX_ITERS = 50
CONC_FIXED_ITERS = 5000
"""Most fixed-point steps of the concentration projection before Newton (far starts only)."""
CONC_SWITCH = 1e-6
"""Fixed-point step length (radians of the mean direction) below which Newton takes over."""


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


class Concentration(NamedTuple):
    r"""A fixed-concentration part: :math:`\|\bar x\| = \rho \in (0, 1)`, direction free."""

    rho: Scalar

    def post(self, c: Any, x: Points, ref: Vector) -> Points:
        """The nearest point of the set to unit rows (:func:`concentration_project`)."""
        return concentration_project(x, self.rho, ref)

    def tangent(self, x: Points, t: Points) -> Points:
        r"""``t`` minus its component along the normal :math:`n_i = P_{x_i}\hat m`."""
        n = concentration_normal(x)
        nn = jnp.sum(n * n)
        return t - jnp.sum(t * n) / jnp.where(nn > 0, nn, 1.0) * n

    def residuals(self, c: Any, x: Points, axis: Vector | None) -> tuple[list, list]:
        r""":math:`\tfrac12(\|\bar x\|^2 - \rho^2)` (halved, like the norms)."""
        m = jnp.mean(x, axis=0)
        return [(0.5 * (m @ m - self.rho**2))[None]], []

    def feasible(self, c: Any, z: Points, tol: float) -> Array:
        """Every row, when the mean's norm is ``rho`` to ``tol``."""
        return jnp.abs(jnp.linalg.norm(jnp.mean(z, axis=0)) - self.rho) <= tol

    def reference(self) -> Vector | None:
        """No reference point of its own."""
        return None

    # the matrix-free certificate's operators of the one row (gapsim.core.critical); inside U
    # the row meets no subspace row (the mean lies in U); ``a`` and ``w`` are not used

    def kkt_normals(self, c: Any, x: Points, a, w: Array) -> ConcentrationNormal:
        r"""The tangent part :math:`n = P_0\bar x/N` of the row (spread over the points)."""
        m = jnp.mean(x, axis=0)
        px = tangent_rows(x, jnp.broadcast_to(m / x.shape[0], x.shape), c.subspace)
        g = jnp.sum(px * px)
        inv = jnp.where(g > 0, 1 / jnp.where(g > 0, g, 1.0), 0.0)
        return ConcentrationNormal(px, jnp.ones(x.shape[0], x.dtype), inv)

    def kkt_apply(self, c: Any, x: Points, a, w: Array, ux: Points, ua) -> Array:
        r""":math:`Ru = \bar x\cdot\bar u` (in every entry)."""
        return jnp.full_like(w, jnp.mean(x, axis=0) @ jnp.mean(ux, axis=0))

    def kkt_adjoint(self, c: Any, x: Points, a, y: Array) -> tuple[Array, Array]:
        r""":math:`R^\top y = y\,\bar x/N` in every row (``y[0]``)."""
        m = jnp.mean(x, axis=0)
        return jnp.broadcast_to(y[0] * m / x.shape[0], x.shape), jnp.zeros(x.shape[1], x.dtype)

    def kkt_sigma(self, c: Any, x: Points, a, w: Array) -> tuple[Array, Array]:
        r"""Extreme eigenvalues of :math:`AA^\top`, closed form.

        The row meets the unit-norm rows in :math:`w_i = x_i\cdot\bar x/N`: eigenvalues 1 and
        those of :math:`\begin{pmatrix}1 & \|w\|\\ \|w\| & q\end{pmatrix}`,
        :math:`q = \|\bar x\|^2/N`, whose product is :math:`\|n\|^2 = \sum_i\|P_0\bar x\|_i^2
        /N^2` (computed directly, so the small one has no cancellation).
        """
        n, one = x.shape[0], jnp.ones((), x.dtype)
        m = jnp.mean(x, axis=0)
        q = m @ m / n
        wn2 = jnp.sum((x @ m) ** 2) / n**2
        g = jnp.sum(tangent_rows(x, jnp.broadcast_to(m, x.shape), c.subspace) ** 2) / n**2
        hi = (1 + q) / 2 + jnp.sqrt(((1 - q) / 2) ** 2 + wn2)
        return jnp.minimum(one, g / hi), jnp.maximum(one, hi)

    def kkt_curvature(self, c: Any, x: Points, a, mu: Array) -> Array:
        r""":math:`\mu\,\tfrac12(\|\bar x\|^2 - \rho^2)` (``mu[0]``)."""
        m = jnp.mean(x, axis=0)
        return 0.5 * mu[0] * (m @ m - self.rho**2)

    def kkt_count(self, w: Array) -> Array:
        """One row."""
        return jnp.ones((), jnp.int32)


class ConcentrationNormal(NamedTuple):
    r"""The concentration row's tangent part :math:`n = P_0\bar x/N` and :math:`1/\|n\|^2`.

    Attributes:
        px: ``(N, d)`` the normal, row by row.
        w: ``(N,)`` ones (the row always counts).
        inv: :math:`1/\|n\|^2` (0 when :math:`n = 0`).
    """

    px: Array
    w: Array
    inv: Array

    def apply(self, ux: Points, ua: Array | None) -> Array:
        r""":math:`n\cdot u` in every entry."""
        return jnp.full_like(self.w, jnp.sum(self.px * ux))

    def adjoint(self, y: Array) -> tuple[Array, Array]:
        """``y[0] n`` (no axis part)."""
        return y[0] * self.px, jnp.zeros(self.px.shape[1], self.px.dtype)

    def solve(self, b: Array) -> Array:
        r""":math:`b/\|n\|^2`."""
        return self.inv * b
