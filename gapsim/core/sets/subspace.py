r"""A linear subspace :math:`U = \mathrm{span}(Q)`, intersected with the unit sphere.

The projection of a row is :math:`P_U z / \|P_U z\|` (:math:`P_U = QQ^\top`), the nearest
point of :math:`S^{d-1}\cap U`; a row orthogonal to U (up to rounding) goes to the set's
reference point. Tangent vectors at :math:`x` are :math:`P_U v - (x\cdot P_U v)x`; the defining
equalities are :math:`Q_\perp^\top x_i = 0` (:math:`Q_\perp` an orthonormal basis of
:math:`U^\perp`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from gapsim.core._types import Array, Basis, Points, Vector

__all__ = ["Subspace"]


class Subspace(NamedTuple):
    r"""A subspace part: the rows lie in :math:`U = \mathrm{span}(Q)`.

    Attributes:
        basis: ``(d, k)`` orthonormal basis :math:`Q` of U.
    """

    basis: Basis

    def apply(self, z: Points) -> Points:
        r""":math:`P_U z = Q Q^\top z`, row by row."""
        return (z @ self.basis) @ self.basis.T

    def normal_basis(self) -> Array:
        r"""``(d, d-k)`` orthonormal basis of :math:`U^\perp`."""
        u = jnp.linalg.svd(self.basis, full_matrices=True)[0]
        return u[:, self.basis.shape[1] :]

    def tangent(self, x: Points, t: Points) -> Points:
        """Nothing beyond the projection of ``v`` onto U made before (see ``apply``)."""
        return t

    def residuals(self, c: Any, x: Points, axis: Vector | None) -> tuple[list, list]:
        """``Q_perp^T x_i = 0`` (``d - k`` equalities per row)."""
        return [(x @ self.normal_basis()).ravel()], []

    def feasible(self, c: Any, z: Points, tol: float) -> Array:
        """Rows within ``tol`` of U."""
        return jnp.linalg.norm(z - self.apply(z), axis=1) <= tol

    def reference(self) -> Vector | None:
        """The first basis vector (where rows orthogonal to U go)."""
        return self.basis[:, 0]
