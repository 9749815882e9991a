r"""The unit sphere, the base of every set: normalisation that never returns NaN.

Zero-vector policy (never NaN): an all-zero row, or a row that counts as rounding noise, maps
to a fallback point; tiny non-zero rows are normalised, not replaced (rows are scaled by their
largest entry first, so nothing underflows). Gradients are finite everywhere (double ``where``).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from gapsim.core._types import Array, Vector

__all__ = ["safe_normalize", "reject", "tangent_rows", "cap_step", "BACKTRACK", "MAX_STEP"]

BACKTRACK = 2.0 ** -np.arange(24.0)
"""Step fractions tried by the sets' safeguarded Newton iterations (cast to the points' dtype)."""
MAX_STEP = 0.25
"""Longest trial step (radians, before backtracking) of a direction on the sphere: a cap's axis,
a concentration's mean direction."""


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


def reject(v: Array, axis: Vector) -> Array:
    """Rows of ``v`` minus their component along unit ``axis``, applied twice.

    One Gram-Schmidt pass leaves an error of order eps/sin(angle) along the axis; the second
    pass removes it ("twice is enough", Kahan/Parlett).
    """
    for _ in range(2):
        v = v - (v @ axis)[:, None] * axis[None, :]
    return v


def tangent_rows(x: Array, u: Array, sub=None) -> Array:
    r"""Rows :math:`P_Uu_i - (x_i\cdot P_Uu_i)\,x_i`: tangent to :math:`S^{d-1}\cap U` at ``x``.

    ``sub``: the subspace part (its ``apply`` is :math:`P_U`), or ``None`` for the whole space.
    At a feasible point (``x`` in U, unit rows) this is :math:`I - L^\top L`, ``L`` the
    orthonormal rows of the unit norms and of the subspace (the certificate's local rows).
    """
    pu = u if sub is None else sub.apply(u)
    return pu - jnp.sum(x * pu, axis=-1, keepdims=True) * x


def cap_step(v: Vector, dtype) -> Vector:
    """``v`` shortened to at most :data:`MAX_STEP` (a trial step of a direction on the sphere)."""
    n = jnp.linalg.norm(v)
    return v * jnp.minimum(1.0, MAX_STEP / jnp.maximum(n, jnp.finfo(dtype).tiny))
