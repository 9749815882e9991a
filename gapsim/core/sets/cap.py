r"""A spherical cap :math:`\{x: x\cdot c \ge \cos\alpha\}`, with a fixed or a learnable axis.

**Fixed axis.** A point outside is rotated along the great circle through :math:`c` onto the
rim, :math:`\cos\alpha\, c + \sin\alpha\, t/\|t\|` with :math:`t = x - (x\cdot c)c` (Liang et
al.'s cone picture). Inside a subspace U with :math:`c \in U` this composition is the exact
nearest point of :math:`S^{d-1}\cap U\cap\mathrm{cap}`: for unit :math:`x \in U`,
:math:`\|x - z\|^2 = 1 + \|z\|^2 - 2\,x\cdot P_U z`, so the nearest point maximises
:math:`x\cdot P_U z` over the cap, the rim point on the great circle through the direction of
:math:`P_U z` and :math:`c`. A point at or within rounding of :math:`-c` is rotated towards the
basis vector least aligned with :math:`c`.

**Learnable axis** (stands in, at finite N, for Yi et al. 2025's fixed concentration with a
free centre). The set of one modality's points is defined jointly with its axis,
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
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gapsim.core._types import Array, Points, Scalar, Vector
from gapsim.core.sets.sphere import BACKTRACK, cap_step, reject, safe_normalize, tangent_rows

__all__ = ["Cap", "CapNormals", "cap_axis", "fit_axis"]

AXIS_MAX_ITERS = 100
GN_LOCAL = 1e-6
"""Newton steps shorter than this (radians) are taken undamped (local, fast convergence)."""


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
        :math:`-g`, each at most ``MAX_STEP`` radians, are halved up to 23 times and the
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
        scales = BACKTRACK.astype(z.dtype)[:, None]
        dirs = [cap_step(delta, z.dtype), cap_step(-g, z.dtype)]
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


class Cap(NamedTuple):
    r"""A cap part: :math:`x_i\cdot c \ge \cos\alpha`, around a fixed axis or a learnable one.

    Attributes:
        cap_cos: :math:`\cos\alpha` of the half-angle :math:`\alpha \in (0, \pi)`.
        axis: the fixed unit axis (in U, if there is a subspace), or ``None``: learnable
            (:math:`X` must fit in *some* cap of half-angle alpha).
    """

    cap_cos: Scalar
    axis: Vector | None = None

    def post(self, c: Any, x: Points, ref: Vector) -> Points:
        """Rows outside the cap rotated onto its rim (around the fitted axis if learnable)."""
        return _rotate_onto_rim(c, self.cap_cos, x, cap_axis(c, x))

    def tangent(self, x: Points, t: Points) -> Points:
        """No smooth tangent condition: an active cap is handled by the projection."""
        return t

    def residuals(self, c: Any, x: Points, axis: Vector | None) -> tuple[list, list]:
        r"""``x_i . a - cos(alpha) >= 0``; a learnable axis ``a`` adds its own equalities.

        A learnable axis is a variable (``axis``, the fitted axis of the end point): on the
        sphere, :math:`\tfrac12(\|a\|^2-1)`, and in U, :math:`Q_\perp^\top a`.
        """
        a = self.axis if axis is None else axis
        if a is None:
            raise ValueError("a learnable cap axis must be passed as a variable (params['axis'])")
        eq = []
        if self.axis is None:  # the learnable axis is a variable on the sphere (and in U)
            eq.append((0.5 * (a @ a - 1))[None])
            if c.subspace is not None:
                eq.append(a @ c.subspace.normal_basis())
        return eq, [x @ a - self.cap_cos]

    def feasible(self, c: Any, z: Points, tol: float) -> Array:
        """Rows inside the cap (around :func:`cap_axis`), to ``tol``."""
        return z @ cap_axis(c, z) >= self.cap_cos - tol

    def reference(self) -> Vector | None:
        """The fixed axis (where zero rows go), or ``None``."""
        return self.axis

    # the matrix-free certificate's operators of the cap rows (gapsim.core.critical): a is the
    # axis variable (None with a fixed axis), w the rows counted (active, or strictly active)

    def kkt_normals(self, c: Any, x: Points, a: Vector | None, w: Array) -> CapNormals:
        r"""The tangent parts :math:`n_i = P_0R_i^\top` of the counted rows, Gram factored."""
        ax = self.axis if a is None else a
        px = w[:, None] * tangent_rows(x, jnp.broadcast_to(ax, x.shape), c.subspace)
        pa = jnp.zeros_like(x)
        if self.axis is None:
            pa = w[:, None] * tangent_rows(ax[None, :], x, c.subspace)
        dinv = 1 / (jnp.sum(px * px, axis=1) + 1 - w)
        core = jnp.linalg.inv(jnp.eye(x.shape[1], dtype=x.dtype) + (pa * dinv[:, None]).T @ pa)
        return CapNormals(px, pa, w, dinv, core)

    def kkt_apply(self, c: Any, x: Points, a, w: Array, ux: Points, ua) -> Array:
        r""":math:`Ru` over the counted rows: :math:`w_i(u_i\cdot c + x_i\cdot u_a)`."""
        y = ux @ (self.axis if a is None else a)
        return w * (y if ua is None else y + x @ ua)

    def kkt_adjoint(self, c: Any, x: Points, a, y: Array) -> tuple[Array, Array]:
        r""":math:`R^\top y`: :math:`y_ic` in row i, :math:`\sum_iy_ix_i` on a learnable axis."""
        ax = self.axis if a is None else a
        ua = y @ x if self.axis is None else jnp.zeros(x.shape[1], x.dtype)
        return y[:, None] * ax[None, :], ua

    def kkt_sigma(self, c: Any, x: Points, a, w: Array) -> tuple[Array, Array] | None:
        r"""Extreme eigenvalues of :math:`AA^\top` in closed form (fixed axis; else ``None``).

        A fixed-axis row i meets only the unit-norm row i (:math:`x_i\cdot c`; the local rows
        are orthonormal, :math:`c \in U`): the pair has eigenvalues :math:`1 \pm x_i\cdot c`.
        A learnable axis couples every row through the axis: no closed form.
        """
        if self.axis is None:
            return None
        one, t = jnp.ones((), x.dtype), jnp.abs(x @ self.axis)
        lo = jnp.minimum(one, jnp.min(jnp.where(w > 0, 1 - t, 1.0)))
        return lo, jnp.maximum(one, jnp.max(jnp.where(w > 0, 1 + t, 1.0)))

    def kkt_curvature(self, c: Any, x: Points, a, mu: Array) -> Array:
        r""":math:`\sum_i\mu_i(x_i\cdot a - \cos\alpha)`; a fixed axis's rows are linear (0)."""
        if self.axis is not None:
            return jnp.zeros((), x.dtype)
        return jnp.sum(mu * (x @ a - self.cap_cos))

    def kkt_count(self, w: Array) -> Array:
        """Number of counted rows."""
        return jnp.sum(w).astype(jnp.int32)


class CapNormals(NamedTuple):
    r"""A cap's coupling normals :math:`n_i = P_0R_i^\top` and their Gram :math:`G = NN^\top`.

    :math:`G` is diagonal with a fixed axis (:math:`\|P_{x_i}c\|^2`) and diagonal plus rank d
    with a learnable one (:math:`\mathrm{diag}\|P_{x_i}c\|^2 + BB^\top`, :math:`B_i = P_cx_i`),
    inverted by the Woodbury identity with a :math:`d\times d` solve.

    Attributes:
        px: ``(N, d)`` point parts :math:`w_iP_{x_i}c`.
        pa: ``(N, d)`` axis parts :math:`w_iP_cx_i` (zeros with a fixed axis).
        w: ``(N,)`` 1 for the rows counted, else 0.
        dinv: ``(N,)`` :math:`1/D_i`, :math:`D_i = w_i\|P_{x_i}c\|^2 + 1 - w_i`.
        core: ``(d, d)`` :math:`(I + B^\top D^{-1}B)^{-1}`.
    """

    px: Array
    pa: Array
    w: Array
    dinv: Array
    core: Array

    def apply(self, ux: Points, ua: Array | None) -> Array:
        """:math:`Nu`, one coefficient per row."""
        y = jnp.sum(self.px * ux, axis=1)
        return y if ua is None else y + self.pa @ ua

    def adjoint(self, y: Array) -> tuple[Array, Array]:
        r""":math:`N^\top y` as (point part, axis part)."""
        return y[:, None] * self.px, y @ self.pa

    def solve(self, b: Array) -> Array:
        """:math:`G^{-1}b` (the rows not counted have coefficient 0: :math:`D_i = 1`)."""
        db = self.dinv * b
        return db - self.dinv * (self.pa @ (self.core @ (db @ self.pa)))


def _rotate_onto_rim(c: Any, cap_cos: Scalar, x: Points, axis: Array) -> Points:
    """Rotate rows of unit ``x`` outside the cap around ``axis`` onto its rim."""
    xc = x @ axis
    t = reject(x, axis)
    # antipodal fallback: the basis vector least aligned with the axis, made orthogonal to it
    cand = reject(jnp.eye(x.shape[1], dtype=x.dtype) if c.basis is None else c.basis.T, axis)
    fb = cand[jnp.argmax(jnp.sum(cand * cand, axis=1))]
    # at (or within rounding of) -axis, t is noise: use the fallback direction
    t_hat = safe_normalize(t, fb / jnp.linalg.norm(fb), scale=jnp.ones_like(xc)[:, None])
    sin_a = jnp.sqrt(jnp.maximum(1.0 - cap_cos**2, 0.0))
    rim = cap_cos * axis[None, :] + sin_a * t_hat
    return jnp.where((xc >= cap_cos)[:, None], x, rim)


def cap_axis(c: Any, x: Points) -> Vector:
    r"""The cap's axis for unit rows ``x``.

    The fixed axis, or the learnable axis of the nearest point of :math:`S_\alpha`
    (:func:`gapsim.core.sets.fit_axis`, started at the mean direction).
    """
    if c.axis is not None:
        return c.axis
    # a learnable axis starts at the mean direction; a zero mean falls back to U's first basis
    # vector (e1 without a subspace), as zero rows do
    e1 = jnp.zeros(x.shape[1], x.dtype).at[0].set(1)
    ref = e1 if c.basis is None else c.basis[:, 0]
    # derivatives hold the fitted axis fixed (exact where no point moves; the solvers never
    # differentiate through a cap), so they stay finite at degenerate rows
    x = jax.lax.stop_gradient(x)
    return fit_axis(x, c.cap_cos, safe_normalize(jnp.mean(x, axis=0, keepdims=True), ref)[0])
