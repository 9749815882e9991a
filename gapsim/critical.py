r"""The active constraints of one modality as structured operators: never a dense Jacobian.

The matrix-free certificate (:mod:`gapsim.certificate_mf`) needs, at a point :math:`X` of one
modality (and its learnable cap axis :math:`c`, when there is one), four things of the Jacobian
:math:`A` of the active constraints of :func:`gapsim.geometry.residuals`: the orthogonal
projection onto its null space, the least-squares multipliers :math:`(AA^\top)^{-1}A\nabla f`,
the product :math:`A^\top A u` (for :math:`\sigma(A)`) and the curvature
:math:`\sum_r\lambda_r\nabla^2 r_r` of the nonlinear constraints. All four follow from one
split, :math:`A = [L;\ R]`:

- :math:`L`, the **local** rows, one point at a time: the unit norm
  :math:`\tfrac12(\|x_i\|^2-1)` (gradient :math:`x_i`) and the subspace rows
  :math:`Q_\perp^\top x_i`; with a learnable axis, the same two for :math:`c`. At a feasible
  point these rows are orthonormal (:math:`x_i \in U`, :math:`\|x_i\| = 1`), so
  :math:`I - L^\top L` is the closed-form tangent projection :math:`P_0`, row by row,
  :math:`u_i \mapsto P_Uu_i - (x_i\cdot P_Uu_i)\,x_i` (:func:`tangent_rows`).
- :math:`R`, the **coupling** rows: an active cap :math:`x_i\cdot c - \cos\alpha` (gradient
  :math:`c` in row i, and :math:`x_i` in the axis block when the axis is a variable) and the
  fixed concentration :math:`\tfrac12(\|\bar x\|^2-\rho^2)` (gradient :math:`\bar x/N` in every
  row). Their tangent parts :math:`n_r = P_0 R_r^\top` (:class:`Normals`) have a Gram matrix
  :math:`G = NN^\top` that is diagonal (fixed axis: :math:`\|P_{x_i}c\|^2`), diagonal plus rank
  d (learnable axis: :math:`\mathrm{diag}\|P_{x_i}c\|^2 + BB^\top`, :math:`B_i = P_cx_i`,
  inverted by the Woodbury identity with a :math:`d\times d` solve) or a scalar
  (concentration). A concentration goes with no cap (:meth:`gapsim.geometry.Constraint.make`),
  so one modality has one kind of coupling; inside a subspace its row meets no subspace row
  (the mean lies in U).

Then, since :math:`\mathrm{span}(n_r) \subset \mathrm{range}(P_0)`,

.. math:: P_{\ker A} = P_0 - N^\top G^{-1} N P_0,\qquad
   b = G^{-1}N\nabla f,\qquad a = L\nabla f - (RL^\top)^\top b,

where :math:`b` are the multipliers of the coupling rows and :math:`a` those of the local rows
(the unit-norm multiplier is :math:`\lambda_i = x_i\cdot\nabla_i f - \sum_r b_r\,x_i\cdot
R_r[i]`; the subspace rows are linear, so their multipliers never enter the Hessian). The
solve with :math:`G` is followed by one step of iterative refinement. Cost: :math:`O(Nd + d^3)`
per application, exact to rounding (no iteration, no tolerance).

Each function here acts on one modality and one constraint set (the leaves of a
:class:`~gapsim.geometry.Constraint` for that modality; the caller vmaps over modalities), so
the pieces can move onto constraint objects that carry their own projection and residuals.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from gapsim._types import Array
from gapsim.geometry import Constraint

__all__ = [
    "Normals",
    "coupling",
    "tangent_rows",
    "normals",
    "project",
    "multipliers",
    "normal_operator",
    "sigma_range",
    "curvature",
    "n_rows",
]


def coupling(c: Constraint) -> str:
    """The coupling rows of a constraint set (static): ``"cap"``, ``"conc"`` or ``"none"``."""
    if c.cap_cos is not None:
        return "cap"
    return "conc" if c.rho is not None else "none"


def learnable(c: Constraint) -> bool:
    """Whether the cap axis is a variable (a cap without a fixed axis)."""
    return c.cap_cos is not None and c.axis is None


def tangent_rows(basis: Array | None, x: Array, u: Array) -> Array:
    r"""Rows :math:`P_Uu_i - (x_i\cdot P_Uu_i)\,x_i`: the projection :math:`P_0 = I - L^\top L`."""
    pu = u if basis is None else (u @ basis) @ basis.T
    return pu - jnp.sum(x * pu, axis=-1, keepdims=True) * x


class Normals(NamedTuple):
    r"""One modality's coupling normals :math:`n_r = P_0R_r^\top` and their Gram factor.

    Attributes:
        px: ``(N, d)`` point parts: cap row i, :math:`w_iP_{x_i}c` in row i; concentration,
            :math:`P_{x_i}\bar x/N` (one normal over all rows).
        pa: ``(N, d)`` axis parts of the cap rows, :math:`w_iP_cx_i` (zeros without a
            learnable axis or a cap).
        w: ``(N,)`` 1 for the cap rows counted (active, or strictly active), else 0.
        dinv: ``(N,)`` :math:`1/D_i`, :math:`D_i = w_i\|P_{x_i}c\|^2 + 1 - w_i` (a row not
            counted has coefficient 0); concentration: :math:`1/\|n\|^2` in every entry.
        core: ``(d, d)`` :math:`(I + B^\top D^{-1}B)^{-1}` (Woodbury; identity without a
            learnable axis).
    """

    px: Array
    pa: Array
    w: Array
    dinv: Array
    core: Array


def _axis(c: Constraint, a: Array | None) -> Array:
    return c.axis if a is None else a


def normals(c: Constraint, x: Array, a: Array | None, w: Array) -> Normals:
    """The :class:`Normals` of one modality at ``x`` (axis variable ``a``) with cap rows ``w``."""
    n, d = x.shape
    eye = jnp.eye(d, dtype=x.dtype)
    kind = coupling(c)
    if kind == "conc":
        m = jnp.mean(x, axis=0)
        px = tangent_rows(c.basis, x, jnp.broadcast_to(m / n, x.shape))
        g = jnp.sum(px * px)
        inv = jnp.where(g > 0, 1 / jnp.where(g > 0, g, 1.0), 0.0)
        return Normals(px, jnp.zeros_like(x), jnp.ones(n, x.dtype), jnp.full(n, inv), eye)
    if kind == "none":
        z = jnp.zeros_like(x)
        return Normals(z, z, jnp.zeros(n, x.dtype), jnp.ones(n, x.dtype), eye)
    ax = _axis(c, a)
    px = w[:, None] * tangent_rows(c.basis, x, jnp.broadcast_to(ax, x.shape))
    pa = jnp.zeros_like(x)
    if learnable(c):
        pa = w[:, None] * tangent_rows(c.basis, ax[None, :], x)
    dinv = 1 / (jnp.sum(px * px, axis=1) + 1 - w)
    core = jnp.linalg.inv(eye + (pa * dinv[:, None]).T @ pa)
    return Normals(px, pa, w, dinv, core)


def _apply(kind: str, nm: Normals, ux: Array, ua: Array | None) -> Array:
    """:math:`N u` (one coefficient per cap row; one in all for a concentration)."""
    if kind == "conc":
        return jnp.full_like(nm.w, jnp.sum(nm.px * ux))
    y = jnp.sum(nm.px * ux, axis=1)
    return y if ua is None else y + nm.pa @ ua


def _adjoint(kind: str, nm: Normals, y: Array) -> tuple[Array, Array]:
    r""":math:`N^\top y` as (point part, axis part)."""
    if kind == "conc":
        return y[0] * nm.px, jnp.zeros(nm.px.shape[1], nm.px.dtype)
    return y[:, None] * nm.px, y @ nm.pa


def _gram(kind: str, nm: Normals, y: Array) -> Array:
    ux, ua = _adjoint(kind, nm, y)
    return _apply(kind, nm, ux, ua) + (1 - nm.w) * y


def _solve_once(kind: str, nm: Normals, b: Array) -> Array:
    if kind == "conc":
        return nm.dinv * b
    db = nm.dinv * b
    return db - nm.dinv * (nm.pa @ (nm.core @ (db @ nm.pa)))


def _solve(kind: str, nm: Normals, b: Array) -> Array:
    """:math:`G^{-1}b`, with one step of iterative refinement."""
    y = _solve_once(kind, nm, b)
    return y + _solve_once(kind, nm, b - _gram(kind, nm, y))


def project(
    c: Constraint, x: Array, a: Array | None, nm: Normals, ux: Array, ua: Array | None
) -> tuple[Array, Array | None]:
    r"""Orthogonal projection of ``(ux, ua)`` onto :math:`\ker A` (module docstring).

    Args:
        c: this modality's constraint set.
        x: ``(N, d)`` its points.
        a: its learnable axis ``(d,)``, or ``None``.
        nm: its :class:`Normals` (built with the rows that count).
        ux: ``(N, d)`` point part of the direction.
        ua: ``(d,)`` axis part, or ``None``.
    """
    kind = coupling(c)
    ux = tangent_rows(c.basis, x, ux)
    if ua is not None:
        ua = tangent_rows(c.basis, a[None, :], ua[None, :])[0]
    if kind == "none":
        return ux, ua
    dx, da = _adjoint(kind, nm, _solve(kind, nm, _apply(kind, nm, ux, ua)))
    return ux - dx, None if ua is None else ua - da


class Multipliers(NamedTuple):
    r"""Least-squares multipliers of one modality's active constraints.

    Attributes:
        norm: ``(N,)`` unit-norm multipliers :math:`\lambda_i`.
        coupling: ``(N,)`` cap multipliers :math:`\mu_i` (0 off the rows counted), or the
            concentration's multiplier in every entry.
        axis: the axis's unit-norm multiplier (0 without a learnable axis).
    """

    norm: Array
    coupling: Array
    axis: Array


def multipliers(
    c: Constraint, x: Array, a: Array | None, nm: Normals, gx: Array, ga: Array | None
) -> Multipliers:
    r"""Least-squares multipliers: coupling :math:`b = G^{-1}N\nabla f`, then unit norms.

    The unit-norm multipliers are the first rows of :math:`a = L\nabla f - (RL^\top)^\top b`.
    """
    kind = coupling(c)
    base = jnp.sum(x * gx, axis=1)
    zero = jnp.zeros((), x.dtype)
    if kind == "none":
        return Multipliers(base, jnp.zeros_like(base), zero)
    tx = tangent_rows(c.basis, x, gx)
    ta = None if ga is None else tangent_rows(c.basis, a[None, :], ga[None, :])[0]
    b = _solve(kind, nm, _apply(kind, nm, tx, ta))
    if kind == "conc":
        m = jnp.mean(x, axis=0)
        return Multipliers(base - b * (x @ m) / x.shape[0], b, zero)
    ax = _axis(c, a)
    mu = nm.w * b
    xc = x @ ax
    lam_a = zero if ga is None else ga @ a - jnp.sum(mu * xc)
    return Multipliers(base - mu * xc, mu, lam_a)


def coupling_adjoint(c: Constraint, x: Array, a: Array | None, y: Array) -> tuple[Array, Array]:
    r""":math:`R^\top y` (the un-projected coupling gradients), as (point part, axis part)."""
    kind = coupling(c)
    d = x.shape[1]
    if kind == "conc":
        return jnp.broadcast_to(y[0] * jnp.mean(x, axis=0) / x.shape[0], x.shape), jnp.zeros(
            d, x.dtype
        )
    if kind == "none":
        return jnp.zeros_like(x), jnp.zeros(d, x.dtype)
    ux = y[:, None] * _axis(c, a)[None, :]
    return ux, (y @ x if learnable(c) else jnp.zeros(d, x.dtype))


def coupling_apply(
    c: Constraint, x: Array, a: Array | None, w: Array, ux: Array, ua: Array | None
) -> Array:
    r""":math:`Ru` over the rows counted by ``w`` (the un-projected coupling rows)."""
    kind = coupling(c)
    if kind == "conc":
        return jnp.full_like(w, jnp.mean(x, axis=0) @ jnp.mean(ux, axis=0))
    if kind == "none":
        return jnp.zeros_like(w)
    y = ux @ _axis(c, a)
    return w * (y if ua is None else y + x @ ua)


def normal_operator(
    c: Constraint, x: Array, a: Array | None, w: Array, ux: Array, ua: Array | None
) -> tuple[Array, Array | None]:
    r""":math:`A^\top Au = (I - P_0)u + R^\top Ru` (nonzero eigenvalues: :math:`\sigma(A)^2`)."""
    tx, ta = local_jump(c, x, a, ux, ua)
    if coupling(c) == "none":
        return tx, ta
    rx, ra = coupling_adjoint(c, x, a, coupling_apply(c, x, a, w, ux, ua))
    return tx + rx, None if ta is None else ta + ra


def sigma_range(c: Constraint, x: Array, a: Array | None, w: Array) -> tuple[Array, Array]:
    r"""Smallest and largest eigenvalue of :math:`AA^\top` (:math:`\sigma(A)^2`), closed form.

    Every row block of :math:`AA^\top` is small: the local rows are orthonormal; a fixed-axis
    cap row i meets only the unit-norm row i (:math:`x_i\cdot c`; :math:`\|c\| = 1`,
    :math:`c \in U`), so the pair has eigenvalues :math:`1 \pm x_i\cdot c`; the concentration
    row meets the unit-norm rows in :math:`w_i = x_i\cdot\bar x/N`, giving eigenvalues 1 and
    those of :math:`\begin{pmatrix}1 & \|w\|\\ \|w\| & q\end{pmatrix}`,
    :math:`q = \|\bar x\|^2/N`, whose product is :math:`\|n\|^2 = \sum_i\|P_{x_i}\bar x\|^2
    /N^2` (computed directly, so the small one has no cancellation). A learnable axis couples
    every cap row through the axis: no closed form (the caller iterates,
    :func:`normal_operator`).
    """
    one = jnp.ones((), x.dtype)
    kind = coupling(c)
    if kind == "none":
        return one, one
    if kind == "conc":
        n = x.shape[0]
        m = jnp.mean(x, axis=0)
        q = m @ m / n
        wn2 = jnp.sum((x @ m) ** 2) / n**2
        g = jnp.sum(tangent_rows(c.basis, x, jnp.broadcast_to(m, x.shape)) ** 2) / n**2
        hi = (1 + q) / 2 + jnp.sqrt(((1 - q) / 2) ** 2 + wn2)
        return jnp.minimum(one, g / hi), jnp.maximum(one, hi)
    t = jnp.abs(x @ c.axis)
    return (
        jnp.minimum(one, jnp.min(jnp.where(w > 0, 1 - t, 1.0))),
        jnp.maximum(one, jnp.max(jnp.where(w > 0, 1 + t, 1.0))),
    )


def curvature(c: Constraint, x: Array, a: Array | None, mult: Multipliers) -> Array:
    r""":math:`\sum_r \lambda_r r_r` over the nonlinear constraints.

    Its Hessian is the constraints' part of :math:`\nabla^2\mathcal{L}`; linear rows (subspace,
    fixed-axis cap) have none and are left out.
    """
    out = 0.5 * jnp.sum(mult.norm * (jnp.sum(x * x, axis=1) - 1))
    kind = coupling(c)
    if kind == "conc":
        m = jnp.mean(x, axis=0)
        out = out + 0.5 * mult.coupling[0] * (m @ m - c.rho**2)
    if learnable(c):
        out = out + jnp.sum(mult.coupling * (x @ a - c.cap_cos)) + 0.5 * mult.axis * (a @ a - 1)
    return out


def n_rows(c: Constraint, n: int, d: int, w: Array) -> Array:
    """Number of rows of :math:`A` (its rank under LICQ): norms, subspace, axis, coupling."""
    per = 1 + (0 if c.basis is None else d - c.basis.shape[-1])
    rows = n * per + (per if learnable(c) else 0) + (1 if coupling(c) == "conc" else 0)
    extra = jnp.sum(w).astype(jnp.int32) if coupling(c) == "cap" else 0
    return jnp.asarray(rows, jnp.int32) + extra


def local_jump(c: Constraint, x: Array, a: Array | None, ux: Array, ua: Array | None):
    r""":math:`(I - P_0)u`: the local rows' part of a direction (same Gram as :math:`Lu`)."""
    tx = ux - tangent_rows(c.basis, x, ux)
    ta = None if ua is None else ua - tangent_rows(c.basis, a[None, :], ua[None, :])[0]
    return tx, ta


def residual_correction(c: Constraint, x: Array, a: Array | None, mu: Array):
    r""":math:`R^\top\min(\mu, 0)` of the caps (zero without a cap).

    What clipping a negative multiplier at zero adds to :math:`\nabla f - A^\top\lambda`.
    """
    if coupling(c) != "cap":
        return jnp.zeros_like(x), None if a is None else jnp.zeros_like(a)
    ux, ua = coupling_adjoint(c, x, a, jnp.minimum(mu, 0.0))
    return ux, None if a is None else ua
