"""Array type aliases with shapes (jaxtyping), shared by every module.

Shape names: ``n`` points (pairs), ``d`` ambient dimension, ``k`` subspace dimension.
Runtime shape checking is only switched on in the tests.
"""

from __future__ import annotations

import jax
from jaxtyping import Array, Float, Int

__all__ = ["Array", "Float", "Int", "Points", "Basis", "Vector", "Scalar", "PRNGKey"]

Points = Float[Array, "n d"]
"""One modality's points: n rows in R^d (unit vectors when on the sphere)."""
Basis = Float[Array, "d k"]
"""An orthonormal basis of a k-dimensional linear subspace of R^d."""
Vector = Float[Array, " d"]
Scalar = Float[Array, ""]
PRNGKey = jax.Array
