r"""Constraint sets for one modality's points and their projections.

A constraint is a value (:class:`Constraint`), not a subclass: an optional linear subspace
:math:`U = \mathrm{span}(Q)` and an optional spherical cap :math:`\{x: x\cdot c \ge \cos\alpha\}`,
always intersected with the unit sphere. The projection :math:`\Pi` maps each row to

1. :math:`P_U z = Q Q^\top z` (skipped without a subspace),
2. :math:`P_U z / \|P_U z\|` (the nearest point of :math:`S^{d-1}\cap U`),
3. the cap: a point outside is rotated along the great circle through :math:`c` onto the rim,
   :math:`\cos\alpha\, c + \sin\alpha\, t/\|t\|` with :math:`t = x - (x\cdot c)c`.

For a fixed axis :math:`c \in U` this composition is the exact nearest point of
:math:`S^{d-1}\cap U\cap\mathrm{cap}`: for unit :math:`x \in U`,
:math:`\|x - z\|^2 = 1 + \|z\|^2 - 2\,x\cdot P_U z`, so the nearest point maximises
:math:`x\cdot P_U z` over the cap, which is the rim point on the great circle through the
direction of :math:`P_U z` and :math:`c`.

With a *learnable axis* (``axis=None``; Yi et al.'s free centre) the set is
:math:`S_\alpha = \{X: \exists c,\ x_i\cdot c\ge\cos\alpha\}` and :func:`project` is its exact
nearest-point map: the axis minimising the summed squared distances of the rows to the cap,
then the fixed-axis projection around it (:func:`gapsim.core.cone_sets.fit_axis`). With a *fixed
concentration* (``rho`` set) the set is :math:`\{X: \|\bar x\| = \rho\}` on the product of
spheres, projected by :func:`gapsim.core.cone_sets.concentration_project`. The module docstring of
:mod:`gapsim.core.cone_sets` states the math of both.

Zero-vector policy (never NaN): an all-zero row, or a row whose projection onto :math:`U` is
at rounding level (largest entry at most ``8 eps`` times the row's largest entry), maps to the
set's reference point: the fixed cap axis if there is one, else the first basis vector of
:math:`U` (:math:`e_1` without a subspace). Tiny non-zero rows are normalised, not replaced
(rows are scaled by their largest entry first, so nothing underflows). A point at or within
rounding of :math:`-c` outside a cap is rotated towards the basis vector least aligned with
:math:`c`. A learnable axis or a concentration whose mean is zero starts from the reference
point likewise. Gradients through these branches are finite (double ``where``); those of the
learnable-axis projection hold the fitted axis fixed, and the concentration
projection both modes (implicit derivative), so L-BFGS can run over it.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.core import ranges as rules
from gapsim.core._types import Array, Basis, Points, Scalar, Vector
from gapsim.core.cone_sets import concentration_normal, concentration_project, fit_axis
from gapsim.core.subspaces import orthonormalize
from gapsim.errors import ConfigError

__all__ = [
    "Constraint",
    "residuals",
    "stack",
    "project",
    "feasible",
    "tangent",
    "safe_normalize",
    "reject",
    "cap_axis",
]


class Constraint(NamedTuple):
    r"""One modality's constraint set: :math:`S^{d-1} \cap U \cap \mathrm{cap}`.

    A JAX pytree; ``None`` fields mean "absent", so the structure (which parts exist) is static
    under ``jit`` while the arrays can change without recompiling.

    Attributes:
        basis: ``(d, k)`` orthonormal basis of U, or ``None`` for the whole space.
        axis: ``(d,)`` unit cap axis in U (fixed axis), or ``None`` (a learnable axis when
            ``cap_cos`` is set: :math:`X` must fit in *some* cap of half-angle alpha).
        cap_cos: :math:`\cos\alpha` of the cap half-angle :math:`\alpha \in (0,\pi)`, or ``None``.
        rho: fixed mean norm :math:`\|\bar x\| = \rho \in (0, 1)` (fixed concentration), or
            ``None``.

    Example:
        >>> c = Constraint.make(3, cap_angle=0.5)
        >>> x = project(c, jnp.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]]))
    """

    basis: Basis | None = None
    axis: Vector | None = None
    cap_cos: Scalar | None = None
    rho: Scalar | None = None

    @classmethod
    def make(
        cls,
        d: int,
        basis: np.ndarray | None = None,
        cap_angle: float | None = None,
        axis: np.ndarray | str | None = "learned",
        dtype: str = "float64",
        rho: float | None = None,
    ) -> Constraint:
        """Validated constructor.

        Args:
            d: ambient dimension (>= 2).
            basis: ``(d, k)`` array spanning U (orthonormalised here) or ``None``.
            cap_angle: cap half-angle in radians, in ``(0, pi)``, or ``None`` for no cap.
            axis: ``"learned"`` (learnable axis) or a ``(d,)`` vector (projected onto U and
                normalised; must not be orthogonal to U). ``"free"`` (the former mean-direction
                iteration, not a projection) is refused.
            dtype: array dtype of the stored arrays.
            rho: fixed mean norm in ``(0, 1)``, or ``None``; with a subspace, the mean of the
                points (which lies in U) has norm ``rho`` (fixed concentration inside U).

        Raises:
            ConfigError: on any out-of-range input.
        """
        q = None
        if basis is not None:
            q = orthonormalize(basis, "basis")
            if q.shape[0] != d:
                raise ConfigError("basis", f"array of shape {q.shape}", f"must have d={d} rows")
        c = cos = r = None
        rules.no_free_axis(axis)
        if rho is not None:
            rules.concentration_rho(rho)
            if cap_angle is not None:
                raise ConfigError("rho", rho, "a fixed concentration goes with no cap")
            if q is not None:
                rules.concentration_in_subspace(q.shape[1])
            r = jnp.asarray(rho, dtype=dtype)
        if cap_angle is not None:
            rules.cap_angle(cap_angle, dtype)
            if q is not None:
                rules.cap_in_subspace(q.shape[1])
            cos = jnp.asarray(np.cos(cap_angle), dtype=dtype)
            if not (isinstance(axis, str) and axis == "learned"):
                a = np.asarray(axis, dtype=np.float64).reshape(-1)
                if a.shape != (d,):
                    raise ConfigError("axis", f"array of shape {a.shape}", f"must be ({d},)")
                if q is not None:
                    a = q @ (q.T @ a)
                if np.linalg.norm(a) < 1e-12:
                    raise ConfigError("axis", "vector", "must not be zero or orthogonal to U")
                c = jnp.asarray(a / np.linalg.norm(a), dtype=dtype)
        return cls(None if q is None else jnp.asarray(q, dtype=dtype), c, cos, r)

    @property
    def has_cap(self) -> bool:
        """Whether a cap is part of the set."""
        return self.cap_cos is not None

    @property
    def smooth(self) -> bool:
        """Whether the set is a smooth manifold (parametrised by ``project(normalize(Q w))``)."""
        return self.cap_cos is None


def safe_normalize(z: Array, fallback: Array, scale: Array | None = None) -> Array:
    """Rows of ``z`` scaled to unit norm; rows that count as zero become ``fallback``.

    Each row is first divided by its largest entry, so tiny rows (1e-30 in float32) do not
    underflow. Without ``scale`` only exactly-zero rows count as zero; with ``scale`` (the
    per-row magnitude of what ``z`` was computed from) so does a row whose largest entry is at
    most ``8 * eps * scale``: rounding noise, whose direction means nothing. Gradients are
    finite everywhere (double ``where``).
    """
    a = jnp.max(jnp.abs(z), axis=-1, keepdims=True)
    small = a <= (0.0 if scale is None else 8 * jnp.finfo(z.dtype).eps * scale)
    zs = z / jnp.where(small, 1.0, a)
    n = jnp.sqrt(jnp.where(small, 1.0, jnp.sum(zs * zs, axis=-1, keepdims=True)))
    return jnp.where(small, jnp.broadcast_to(fallback, z.shape), zs / n)


def _reference(c: Constraint, d: int, dtype) -> Vector:
    if c.axis is not None:
        return c.axis
    if c.basis is not None:
        return c.basis[:, 0]
    return jnp.zeros(d, dtype).at[0].set(1)


def _subspace(c: Constraint, z: Array) -> Array:
    return z if c.basis is None else (z @ c.basis) @ c.basis.T


def reject(v: Array, axis: Vector) -> Array:
    """Rows of ``v`` minus their component along unit ``axis``, applied twice.

    One Gram-Schmidt pass leaves an error of order eps/sin(angle) along the axis; the second
    pass removes it ("twice is enough", Kahan/Parlett).
    """
    for _ in range(2):
        v = v - (v @ axis)[:, None] * axis[None, :]
    return v


def _cap(c: Constraint, x: Points, axis: Array) -> Points:
    """Rotate rows of unit ``x`` outside the cap around ``axis`` onto its rim."""
    xc = x @ axis
    t = reject(x, axis)
    # antipodal fallback: the basis vector least aligned with the axis, made orthogonal to it
    cand = reject(jnp.eye(x.shape[1], dtype=x.dtype) if c.basis is None else c.basis.T, axis)
    fb = cand[jnp.argmax(jnp.sum(cand * cand, axis=1))]
    # at (or within rounding of) -axis, t is noise: use the fallback direction
    t_hat = safe_normalize(t, fb / jnp.linalg.norm(fb), scale=jnp.ones_like(xc)[:, None])
    sin_a = jnp.sqrt(jnp.maximum(1.0 - c.cap_cos**2, 0.0))
    rim = c.cap_cos * axis[None, :] + sin_a * t_hat
    return jnp.where((xc >= c.cap_cos)[:, None], x, rim)


def project(c: Constraint, z: Points) -> Points:
    r"""Project each row of ``z`` onto the constraint set (see the module docstring).

    Args:
        c: the constraint.
        z: ``(n, d)`` points, any norms.

    Returns:
        ``(n, d)`` unit rows in the set, same dtype as ``z``.
    """
    ref = _reference(c, z.shape[1], z.dtype)
    if c.basis is None:
        x = safe_normalize(z, ref)
    else:  # a row orthogonal to U up to rounding goes to the reference point
        x = safe_normalize(_subspace(c, z), ref, scale=jnp.max(jnp.abs(z), axis=1, keepdims=True))
    if c.rho is not None:
        return concentration_project(x, c.rho, ref)
    if c.cap_cos is None:
        return x
    return _cap(c, x, cap_axis(c, x))


def cap_axis(c: Constraint, x: Points) -> Vector:
    r"""The cap's axis for unit rows ``x``.

    The fixed axis, or the learnable axis of the nearest point of :math:`S_\alpha`
    (:func:`gapsim.core.cone_sets.fit_axis`, started at the mean direction).
    """
    if c.axis is not None:
        return c.axis
    ref = _reference(c, x.shape[1], x.dtype)
    # derivatives hold the fitted axis fixed (exact where no point moves; the solvers never
    # differentiate through a cap), so they stay finite at degenerate rows
    x = jax.lax.stop_gradient(x)
    return fit_axis(x, c.cap_cos, safe_normalize(jnp.mean(x, axis=0, keepdims=True), ref)[0])


def feasible(c: Constraint, z: Points, tol: float | None = None) -> Array:
    r"""Per-row mask: is the row on the set, to ``tol`` (default ``8 * eps`` of the dtype)?

    Checks :math:`|\|z\| - 1|`, the distance to U, the cap (around the fixed axis, or the
    learnable axis :func:`cap_axis`) and a fixed concentration :math:`|\|\bar z\| - \rho|`
    (the same for every row).
    """
    tol = 8 * float(jnp.finfo(z.dtype).eps) if tol is None else tol
    ok = jnp.abs(jnp.linalg.norm(z, axis=1) - 1) <= tol
    ok &= jnp.linalg.norm(z - _subspace(c, z), axis=1) <= tol
    if c.cap_cos is not None:
        ok &= z @ cap_axis(c, z) >= c.cap_cos - tol
    if c.rho is not None:
        ok &= jnp.abs(jnp.linalg.norm(jnp.mean(z, axis=0)) - c.rho) <= tol
    return ok


def tangent(c: Constraint, x: Points, v: Points) -> Points:
    r"""Project ``v`` onto the tangent space of :math:`S^{d-1}\cap U` at unit ``x`` in U.

    Applied to a Euclidean gradient this gives the Riemannian gradient on the smooth set.

    :math:`v \mapsto P_U v - (x\cdot P_U v)\,x`, row by row. (A cap, when active, is handled by
    the projection after a step, not here.) With a fixed concentration, also minus the
    component along the normal :math:`n_i = P_{x_i}\hat m` of :math:`\{\|\bar x\| = \rho\}`
    (:func:`gapsim.core.cone_sets.concentration_normal`): the tangent space of that manifold.
    """
    pv = _subspace(c, v)
    t = pv - jnp.sum(x * pv, axis=1, keepdims=True) * x
    if c.rho is None:
        return t
    n = concentration_normal(x)
    nn = jnp.sum(n * n)
    return t - jnp.sum(t * n) / jnp.where(nn > 0, nn, 1.0) * n


def stack(constraints: list[Constraint]) -> Constraint:
    """Stack constraints of the same structure along a new leading (modality) axis."""
    return jax.tree.map(lambda *a: jnp.stack(a), *constraints)


def residuals(c: Constraint, x: Points, axis: Vector | None = None) -> tuple[Array, Array]:
    r"""Constraint residuals of one modality's points: feasible iff ``eq == 0``, ``ineq >= 0``.

    - unit norm: :math:`\tfrac12(\|x_i\|^2 - 1)` (its gradient is :math:`x_i`, its Hessian
      :math:`I`: a multiplier is then the radial component of the gradient);
    - subspace :math:`U = \mathrm{span}(Q)`: :math:`Q_\perp^\top x_i` (:math:`d-k` per row,
      :math:`Q_\perp` an orthonormal basis of :math:`U^\perp`);
    - cap: :math:`x_i\cdot c - \cos\alpha` with the fixed axis, the given ``axis`` (a learnable
      axis passed as a variable, with its own equalities :math:`\tfrac12(\|c\|^2-1)` and
      :math:`Q_\perp^\top c`);
    - fixed concentration: :math:`\tfrac12(\|\bar x\|^2 - \rho^2)`.

    Args:
        c: the constraint.
        x: ``(N, d)`` points.
        axis: a cap axis that is part of the variables (overrides ``c.axis``).

    Returns:
        Flat ``eq`` and ``ineq`` arrays.
    """
    eq = [0.5 * (jnp.sum(x * x, axis=1) - 1)]
    if c.basis is not None:
        u = jnp.linalg.svd(c.basis, full_matrices=True)[0]
        eq.append((x @ u[:, c.basis.shape[1] :]).ravel())
    ineq = [jnp.zeros((0,), x.dtype)]
    if c.cap_cos is not None:
        a = c.axis if axis is None else axis
        if a is None:
            raise ValueError("a learnable cap axis must be passed as a variable (params['axis'])")
        if c.axis is None:  # the learnable axis is a variable on the sphere (and in U)
            eq.append((0.5 * (a @ a - 1))[None])
            if c.basis is not None:
                eq.append(a @ u[:, c.basis.shape[1] :])
        ineq.append(x @ a - c.cap_cos)
    if c.rho is not None:  # fixed concentration: ||mean(x)||^2 = rho^2 (halved, like the norms)
        m = jnp.mean(x, axis=0)
        eq.append((0.5 * (m @ m - c.rho**2))[None])
    return jnp.concatenate(eq), jnp.concatenate(ineq)
