r"""One modality's constraint set: the sphere intersected with parts that compose.

A constraint is a value (:class:`Constraint`), not a subclass: the unit sphere intersected with
a tuple of *parts*, each a small pytree with its own math (:mod:`~gapsim.core.sets.subspace`,
:mod:`~gapsim.core.sets.cap`, :mod:`~gapsim.core.sets.concentration`). Every part has the same
four pieces, and the functions here compose them:

- **projection** :func:`project`: :math:`P_U z` (a subspace part), normalise to the sphere, then
  each other part's ``post`` step in order (a cap rotates rows onto its rim; a fixed
  concentration moves rows along the mean). Compositions used: subspace + cap (the cap's axis
  in U: the composition is the exact nearest point), subspace + concentration (the projection
  moves rows along the mean, which lies in U);
- **tangent projection** :func:`tangent`: :math:`P_U v - (x\cdot P_U v)x`, then each part's
  ``tangent`` (a fixed concentration removes its normal); what the Riemannian gradient, the
  L-BFGS parametrisation and the matrix-free certificate use;
- **residuals** :func:`residuals`: the defining equalities and inequalities, concatenated in
  part order, for the KKT certificate;
- **feasibility** :func:`feasible`: each part's test, and the unit norm.

A new simple set is one part module with those four methods (and ``reference``) plus its entry
in :meth:`Constraint.make` or :meth:`Constraint.of` (docs/developing.md, "Adding a constraint").

Zero-vector policy (never NaN): an all-zero row, or a row whose projection onto U is at
rounding level (largest entry at most ``8 eps`` times the row's largest entry), maps to the
set's reference point: the fixed cap axis if there is one, else the first basis vector of U
(:math:`e_1` without a subspace). A learnable axis or a concentration whose mean is zero starts
from the reference point likewise. Gradients through these branches are finite (double
``where``); those of the learnable-axis projection hold the fitted axis fixed, and the
concentration projection's are exact (implicit derivative), so L-BFGS can run over it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.core import ranges as rules
from gapsim.core._types import Array, Points, Vector
from gapsim.core.sets.cap import Cap, cap_axis
from gapsim.core.sets.concentration import Concentration
from gapsim.core.sets.sphere import safe_normalize, tangent_rows
from gapsim.core.sets.subspace import Subspace
from gapsim.core.subspaces import orthonormalize
from gapsim.errors import ConfigError

__all__ = ["Constraint", "project", "tangent", "feasible", "residuals", "stack"]


class Constraint(NamedTuple):
    r"""One modality's constraint set: :math:`S^{d-1}` intersected with ``parts``.

    A JAX pytree: the parts (and which of their fields are ``None``) are static under ``jit``
    while their arrays can change without recompiling.

    Attributes:
        parts: the parts in order (a :class:`~gapsim.core.sets.subspace.Subspace` first, if
            any; then a :class:`~gapsim.core.sets.cap.Cap` or a
            :class:`~gapsim.core.sets.concentration.Concentration`). ``()`` is the sphere.

    Example:
        >>> c = Constraint.make(3, cap_angle=0.5)
        >>> x = project(c, jnp.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]]))
    """

    parts: tuple = ()

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
        parts: list[Any] = []
        if q is not None:
            parts.append(Subspace(jnp.asarray(q, dtype=dtype)))
        c = None
        rules.no_free_axis(axis)
        if rho is not None:
            rules.concentration_rho(rho)
            if cap_angle is not None:
                raise ConfigError("rho", rho, "a fixed concentration goes with no cap")
            if q is not None:
                rules.concentration_in_subspace(q.shape[1])
            parts.append(Concentration(jnp.asarray(rho, dtype=dtype)))
        if cap_angle is not None:
            rules.cap_angle(cap_angle, dtype)
            if q is not None:
                rules.cap_in_subspace(q.shape[1])
            if not (isinstance(axis, str) and axis == "learned"):
                a = np.asarray(axis, dtype=np.float64).reshape(-1)
                if a.shape != (d,):
                    raise ConfigError("axis", f"array of shape {a.shape}", f"must be ({d},)")
                if q is not None:
                    a = q @ (q.T @ a)
                if np.linalg.norm(a) < 1e-12:
                    raise ConfigError("axis", "vector", "must not be zero or orthogonal to U")
                c = jnp.asarray(a / np.linalg.norm(a), dtype=dtype)
            parts.append(Cap(jnp.asarray(np.cos(cap_angle), dtype=dtype), c))
        return cls(tuple(parts))

    @classmethod
    def of(cls, *parts: Any) -> Constraint:
        """A constraint from parts given directly (a subspace part first); not validated."""
        return cls(tuple(parts))

    def _part(self, kind: type) -> Any:
        return next((p for p in self.parts if isinstance(p, kind)), None)

    @property
    def subspace(self) -> Subspace | None:
        """The subspace part, or ``None``."""
        return self._part(Subspace)

    @property
    def cap(self) -> Cap | None:
        """The cap part, or ``None``."""
        return self._part(Cap)

    @property
    def concentration(self) -> Concentration | None:
        """The fixed-concentration part, or ``None``."""
        return self._part(Concentration)

    @property
    def basis(self) -> Array | None:
        """``(d, k)`` orthonormal basis of U, or ``None`` for the whole space."""
        return None if self.subspace is None else self.subspace.basis

    @property
    def axis(self) -> Array | None:
        """The fixed cap axis (stacked: one per modality), or ``None`` (no cap, or learnable)."""
        return None if self.cap is None else self.cap.axis

    @property
    def cap_cos(self) -> Array | None:
        r""":math:`\cos\alpha` of the cap, or ``None``."""
        return None if self.cap is None else self.cap.cap_cos

    @property
    def rho(self) -> Array | None:
        """The fixed mean norm, or ``None``."""
        return None if self.concentration is None else self.concentration.rho

    @property
    def has_cap(self) -> bool:
        """Whether a cap is part of the set."""
        return self.cap is not None

    @property
    def smooth(self) -> bool:
        """Whether the set is a smooth manifold (parametrised by ``project(normalize(Q w))``)."""
        return self.cap is None


def _reference(c: Constraint, d: int, dtype) -> Vector:
    """Where zero rows go: the fixed cap axis, else U's first basis vector, else e1."""
    for part in (c.cap, c.subspace):
        ref = None if part is None else part.reference()
        if ref is not None:
            return ref
    return jnp.zeros(d, dtype).at[0].set(1)


def project(c: Constraint, z: Points) -> Points:
    r"""Project each row of ``z`` onto the constraint set (see the module docstring).

    Args:
        c: the constraint.
        z: ``(n, d)`` points, any norms.

    Returns:
        ``(n, d)`` unit rows in the set, same dtype as ``z``.
    """
    ref = _reference(c, z.shape[1], z.dtype)
    sub = c.subspace
    if sub is None:
        x = safe_normalize(z, ref)
    else:  # a row orthogonal to U up to rounding goes to the reference point
        x = safe_normalize(sub.apply(z), ref, scale=jnp.max(jnp.abs(z), axis=1, keepdims=True))
    for part in c.parts:
        if part is not sub:
            x = part.post(c, x, ref)
    return x


def feasible(c: Constraint, z: Points, tol: float | None = None) -> Array:
    r"""Per-row mask: is the row on the set, to ``tol`` (default ``8 * eps`` of the dtype)?

    Checks :math:`|\|z\| - 1|` and each part's condition: the distance to U, the cap (around
    the fixed axis, or the learnable axis :func:`~gapsim.core.sets.cap.cap_axis`), a fixed
    concentration :math:`|\|\bar z\| - \rho|` (the same for every row).
    """
    tol = 8 * float(jnp.finfo(z.dtype).eps) if tol is None else tol
    ok = jnp.abs(jnp.linalg.norm(z, axis=1) - 1) <= tol
    for part in c.parts:
        ok &= part.feasible(c, z, tol)
    return ok


def tangent(c: Constraint, x: Points, v: Points) -> Points:
    r"""Project ``v`` onto the tangent space of the smooth set at ``x`` (row by row).

    Applied to a Euclidean gradient this gives the Riemannian gradient on the smooth set:
    :math:`v \mapsto P_U v - (x\cdot P_U v)\,x`, then each part's own condition (a fixed
    concentration also removes the component along its normal :math:`n_i = P_{x_i}\hat m`; a
    cap, when active, is handled by the projection after a step, not here).
    """
    t = tangent_rows(x, v, c.subspace)
    for part in c.parts:
        t = part.tangent(x, t)
    return t


def stack(constraints: list[Constraint]) -> Constraint:
    """Stack constraints of the same structure along a new leading (modality) axis."""
    return jax.tree.map(lambda *a: jnp.stack(a), *constraints)


def residuals(c: Constraint, x: Points, axis: Vector | None = None) -> tuple[Array, Array]:
    r"""Constraint residuals of one modality's points: feasible iff ``eq == 0``, ``ineq >= 0``.

    The unit norms :math:`\tfrac12(\|x_i\|^2 - 1)` (gradient :math:`x_i`, Hessian :math:`I`: a
    multiplier is then the radial component of the gradient), then each part's residuals in
    order: a subspace's :math:`Q_\perp^\top x_i`; a cap's :math:`x_i\cdot a - \cos\alpha`
    (with a learnable axis ``axis``, passed as a variable, and its own equalities); a fixed
    concentration's :math:`\tfrac12(\|\bar x\|^2 - \rho^2)`.

    Args:
        c: the constraint.
        x: ``(N, d)`` points.
        axis: a cap axis that is part of the variables (overrides the fixed one).

    Returns:
        Flat ``eq`` and ``ineq`` arrays.
    """
    eq = [0.5 * (jnp.sum(x * x, axis=1) - 1)]
    ineq = [jnp.zeros((0,), x.dtype)]
    for part in c.parts:
        e, i = part.residuals(c, x, axis)
        eq += e
        ineq += i
    return jnp.concatenate(eq), jnp.concatenate(ineq)


__all__ += ["cap_axis"]
