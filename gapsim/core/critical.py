r"""The active constraints of one modality as structured operators: never a dense Jacobian.

The matrix-free certificate (:mod:`gapsim.core.certificate_mf`) needs, at a point :math:`X` of
one modality (and its learnable cap axis :math:`a`, when there is one), four things of the
Jacobian :math:`A` of the active constraints of :func:`gapsim.core.sets.residuals`: the
orthogonal projection onto its null space, the least-squares multipliers
:math:`(AA^\top)^{-1}A\nabla f`, the product :math:`A^\top A u` (for :math:`\sigma(A)`) and the
curvature :math:`\sum_r\lambda_r\nabla^2 r_r` of the nonlinear constraints. All four follow
from one split, :math:`A = [L;\ R]`:

- :math:`L`, the **local** rows, one point at a time: the sphere's unit norm
  :math:`\tfrac12(\|x_i\|^2-1)` (gradient :math:`x_i`) and a
  :class:`~gapsim.core.sets.Subspace` part's rows :math:`Q_\perp^\top x_i`; with an axis
  variable, the same two for :math:`a`. At a feasible point these rows are orthonormal, so
  :math:`I - L^\top L` is the closed-form tangent projection :math:`P_0`, row by row
  (:func:`gapsim.core.sets.sphere.tangent_rows`).
- :math:`R`, the **coupling** rows of the set's one other part (a
  :class:`~gapsim.core.sets.Cap`'s rim rows, a :class:`~gapsim.core.sets.Concentration`'s mean
  row). The part carries its own operators, next to its projection and residuals:
  ``kkt_normals`` (the tangent parts :math:`n_r = P_0R_r^\top` with ``apply``, ``adjoint`` and
  ``solve`` by their Gram matrix :math:`G = NN^\top`), ``kkt_apply`` (:math:`Ru`),
  ``kkt_adjoint`` (:math:`R^\top y`), ``kkt_sigma`` (:math:`\sigma(A)^2` in closed form, or
  ``None``), ``kkt_curvature`` and ``kkt_count``. A set with another part, or with two coupling
  parts, is not :func:`supported` (the dense certificate takes it).

Then, since :math:`\mathrm{span}(n_r) \subset \mathrm{range}(P_0)`,

.. math:: P_{\ker A} = P_0 - N^\top G^{-1} N P_0,\qquad
   b = G^{-1}N\nabla f,\qquad a = L\nabla f - (RL^\top)^\top b,

where :math:`b` are the multipliers of the coupling rows and :math:`a` those of the local rows
(the unit-norm multiplier is :math:`\lambda_i = x_i\cdot(\nabla_i f - (R^\top b)_i)`, the
axis's :math:`a\cdot(\nabla_a f - (R^\top b)_a)`; the subspace rows are linear, so their
multipliers never enter the Hessian). The solve with :math:`G` is followed by one step of
iterative refinement. Cost: :math:`O(Nd + d^3)` per application, exact to rounding.

Each function acts on one modality (the caller vmaps over modalities); ``a`` is the axis
variable (``None`` without one), ``w`` marks the inequality rows counted.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from gapsim.core._types import Array
from gapsim.core.sets import Constraint, Subspace, residuals
from gapsim.core.sets.sphere import tangent_rows

__all__ = [
    "Multipliers",
    "OPERATORS",
    "supported",
    "coupling",
    "learnable",
    "inequalities",
    "normals",
    "project",
    "multipliers",
    "normal_operator",
    "local_jump",
    "coupling_apply",
    "sigma_range",
    "curvature",
    "n_rows",
    "residual_correction",
]

OPERATORS = ("kkt_normals", "kkt_apply", "kkt_adjoint", "kkt_sigma", "kkt_curvature", "kkt_count")
"""What a coupling part provides for the matrix-free certificate."""


def _others(c: Constraint) -> list:
    return [p for p in c.parts if not isinstance(p, Subspace)]


def supported(c: Constraint) -> bool:
    """Whether the matrix-free certificate covers this set (at most one coupling part)."""
    others = _others(c)
    return len(others) <= 1 and all(hasattr(p, op) for p in others for op in OPERATORS)


def coupling(c: Constraint) -> Any:
    """The set's coupling part (a cap, a concentration), or ``None`` (sphere, subspace)."""
    if not supported(c):
        names = ", ".join(type(p).__name__ for p in c.parts)
        raise NotImplementedError(f"no matrix-free certificate for the parts ({names})")
    others = _others(c)
    return others[0] if others else None


def learnable(c: Constraint) -> bool:
    """Whether the set has an axis variable (a cap without a fixed axis)."""
    return c.cap_cos is not None and c.axis is None


def inequalities(c: Constraint, x: Array, a: Array | None) -> Array | None:
    """``(N,)`` the inequality residuals, one per point (a cap's), or ``None`` if there are none."""
    ineq = residuals(c, x, a)[1]
    return ineq if ineq.shape[0] else None


def _local(c: Constraint, x: Array, a: Array | None, ux: Array, ua: Array | None):
    """:math:`P_0u`: the tangent rows of the points (and of the axis variable)."""
    tx = tangent_rows(x, ux, c.subspace)
    return tx, None if ua is None else tangent_rows(a[None, :], ua[None, :], c.subspace)[0]


def normals(c: Constraint, x: Array, a: Array | None, w: Array) -> Any:
    """The coupling part's normals at ``x`` with the rows ``w`` counted (``None`` without one)."""
    part = coupling(c)
    return None if part is None else part.kkt_normals(c, x, a, w)


def _solve(nm: Any, b: Array) -> Array:
    """:math:`G^{-1}b`, with one step of iterative refinement."""

    def gram(y):
        return nm.apply(*nm.adjoint(y)) + (1 - nm.w) * y

    y = nm.solve(b)
    return y + nm.solve(b - gram(y))


def project(
    c: Constraint, x: Array, a: Array | None, nm: Any, ux: Array, ua: Array | None
) -> tuple[Array, Array | None]:
    r"""Orthogonal projection of ``(ux, ua)`` onto :math:`\ker A` (module docstring).

    Args:
        c: this modality's constraint set.
        x: ``(N, d)`` its points.
        a: its axis variable ``(d,)``, or ``None``.
        nm: its :func:`normals` (built with the rows that count).
        ux: ``(N, d)`` point part of the direction.
        ua: ``(d,)`` axis part, or ``None``.
    """
    ux, ua = _local(c, x, a, ux, ua)
    if nm is None:
        return ux, ua
    dx, da = nm.adjoint(_solve(nm, nm.apply(ux, ua)))
    return ux - dx, None if ua is None else ua - da


class Multipliers(NamedTuple):
    r"""Least-squares multipliers of one modality's active constraints.

    Attributes:
        norm: ``(N,)`` unit-norm multipliers :math:`\lambda_i`.
        coupling: ``(N,)`` the coupling rows' multipliers (a cap's :math:`\mu_i`, 0 off the
            rows counted; a concentration's one multiplier in every entry).
        axis: the axis's unit-norm multiplier (0 without an axis variable).
    """

    norm: Array
    coupling: Array
    axis: Array


def multipliers(
    c: Constraint, x: Array, a: Array | None, nm: Any, gx: Array, ga: Array | None
) -> Multipliers:
    r"""Least-squares multipliers: coupling :math:`b = G^{-1}N\nabla f`, then the unit norms."""
    base = jnp.sum(x * gx, axis=1)
    zero = jnp.zeros((), x.dtype)
    part = coupling(c)
    if part is None:
        return Multipliers(base, jnp.zeros_like(base), zero)
    b = nm.w * _solve(nm, nm.apply(*_local(c, x, a, gx, ga)))
    rx, ra = part.kkt_adjoint(c, x, a, b)
    lam_a = zero if ga is None else a @ (ga - ra)
    return Multipliers(base - jnp.sum(x * rx, axis=1), b, lam_a)


def _rows_apply(c, x, a, w, ux, ua) -> Array:
    part = coupling(c)
    return jnp.zeros_like(w) if part is None else part.kkt_apply(c, x, a, w, ux, ua)


def _rows_adjoint(c, x, a, y) -> tuple[Array, Array]:
    part = coupling(c)
    if part is None:
        return jnp.zeros_like(x), jnp.zeros(x.shape[1], x.dtype)
    return part.kkt_adjoint(c, x, a, y)


def local_jump(c: Constraint, x: Array, a: Array | None, ux: Array, ua: Array | None):
    r""":math:`(I - P_0)u`: the local rows' part of a direction (same Gram as :math:`Lu`)."""
    tx, ta = _local(c, x, a, ux, ua)
    return ux - tx, None if ua is None else ua - ta


def coupling_apply(c, x, a, w, ux, ua) -> Array:
    r""":math:`Ru` over the rows counted by ``w`` (the un-projected coupling rows)."""
    return _rows_apply(c, x, a, w, ux, ua)


def normal_operator(
    c: Constraint, x: Array, a: Array | None, w: Array, ux: Array, ua: Array | None
) -> tuple[Array, Array | None]:
    r""":math:`A^\top Au = (I - P_0)u + R^\top Ru` (nonzero eigenvalues: :math:`\sigma(A)^2`)."""
    tx, ta = local_jump(c, x, a, ux, ua)
    rx, ra = _rows_adjoint(c, x, a, _rows_apply(c, x, a, w, ux, ua))
    return tx + rx, None if ta is None else ta + ra


def sigma_range(c: Constraint, x: Array, a: Array | None, w: Array):
    r"""Smallest and largest eigenvalue of :math:`AA^\top` in closed form, or ``None``.

    The local rows are orthonormal (eigenvalue 1); the coupling part gives the rest
    (``kkt_sigma``), or ``None`` where it has no closed form (a learnable axis couples every
    row: the caller iterates on :func:`normal_operator`).
    """
    part = coupling(c)
    if part is None:
        one = jnp.ones((), x.dtype)
        return one, one
    return part.kkt_sigma(c, x, a, w)


def curvature(c: Constraint, x: Array, a: Array | None, mult: Multipliers) -> Array:
    r""":math:`\sum_r \lambda_r r_r` over the nonlinear constraints.

    Its Hessian is the constraints' part of :math:`\nabla^2\mathcal{L}`; linear rows (subspace,
    fixed-axis cap) have none and are left out.
    """
    out = 0.5 * jnp.sum(mult.norm * (jnp.sum(x * x, axis=1) - 1))
    part = coupling(c)
    if part is not None:
        out = out + part.kkt_curvature(c, x, a, mult.coupling)
    if a is not None:
        out = out + 0.5 * mult.axis * (a @ a - 1)
    return out


def n_rows(c: Constraint, n: int, d: int, w: Array) -> Array:
    """Number of rows of :math:`A` (its rank under LICQ): norms, subspace, axis, coupling."""
    per = 1 + (0 if c.basis is None else d - c.basis.shape[-1])
    rows = jnp.asarray(n * per + (per if learnable(c) else 0), jnp.int32)
    part = coupling(c)
    return rows if part is None else rows + part.kkt_count(w)


def residual_correction(c: Constraint, x: Array, a: Array | None, mu: Array, act: Array):
    r""":math:`R^\top\min(\mu, 0)` over the active inequality rows ``act``.

    What clipping a negative multiplier at zero adds to :math:`\nabla f - A^\top\lambda`.
    """
    ux, ua = _rows_adjoint(c, x, a, jnp.where(act > 0, jnp.minimum(mu, 0.0), 0.0))
    return ux, None if a is None else ua
