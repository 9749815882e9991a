"""Array type aliases with shapes (jaxtyping), shared by every module.

Shape names: ``n`` points (pairs), ``d`` ambient dimension, ``k`` subspace dimension.
Runtime shape checking is only switched on in the tests.
"""

from __future__ import annotations

from typing import Union

import jax
import numpy as np
from jaxtyping import Array, Float, Int

__all__ = [
    "keyed",
    "Array",
    "Float",
    "Int",
    "IntScalar",
    "Points",
    "Basis",
    "Vector",
    "Scalar",
    "PRNGKey",
]

_In = Union[Array, np.ndarray]  # noqa: UP007  (jaxtyping needs a runtime Union)
"""Public functions take JAX or NumPy arrays (NumPy inputs are converted on use)."""

Points = Float[_In, "n d"]
"""One modality's points: n rows in R^d (unit vectors when on the sphere)."""
Basis = Float[_In, "d k"]
"""An orthonormal basis of a k-dimensional linear subspace of R^d."""
Vector = Float[_In, " d"]
Scalar = Float[_In, ""]
IntScalar = Int[_In, ""]
"""An integer scalar array (a step index traced by ``jit``)."""
PRNGKey = jax.Array


def keyed(cls):
    """Let a NamedTuple result also be read by name, ``r["loss"]`` as ``r.loss``.

    Results were dicts before wave 3 (issue 21); code written against them keeps working. The
    fields are the documented way to read a result, ``r._asdict()`` the plain dict.
    """

    def __getitem__(self, key):  # noqa: N807
        return getattr(self, key) if isinstance(key, str) else tuple.__getitem__(self, key)

    cls.__getitem__ = __getitem__
    return cls
