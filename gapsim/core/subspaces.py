r"""Linear subspaces: orthonormal bases, principal angles, pairs with prescribed angles.

For orthonormal bases :math:`Q_U \in \mathbb{R}^{d\times k}`, :math:`Q_V \in \mathbb{R}^{d\times l}`
the principal angles :math:`0 \le \theta_1 \le \dots \le \theta_m \le \pi/2`, :math:`m=\min(k,l)`,
satisfy :math:`\cos\theta_j = \sigma_j(Q_U^\top Q_V)` (singular values, descending). Two distinct
hyperplanes of :math:`\mathbb{R}^d` have angles :math:`(0,\dots,0,\varphi)`: they share the
:math:`(d-2)`-dimensional :math:`C = U \cap V` and meet at the dihedral angle :math:`\varphi`.

Everything here runs on the host in float64 NumPy: these are set-up and measurement helpers,
not part of the compiled inner loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import numpy as np

from gapsim.core import ranges as rules
from gapsim.errors import ConfigError

__all__ = [
    "orthonormalize",
    "principal_angles",
    "principal_vectors",
    "subspace_pair",
    "hyperplane_pair",
    "random_orthogonal",
]

ZERO_ANGLE_TOL = 1e-8
"""Principal angles below this (radians) count as zero: the direction is shared."""


def orthonormalize(basis: np.ndarray, name: str = "basis") -> np.ndarray:
    """Orthonormal basis of the column span of ``basis``, in the order given (Gram-Schmidt).

    Computed as a QR decomposition with the signs fixed so that ``R`` has a positive diagonal:
    column ``j`` of the result is the unit part of the user's column ``j`` orthogonal to the
    columns before it.

    Args:
        basis: ``(d, k)`` array whose columns span the subspace; ``1 <= k <= d``.
        name: field name used in error messages.

    Returns:
        ``(d, k)`` float64 array with orthonormal columns spanning the same subspace.

    Raises:
        ConfigError: if the array is not 2-D, has more columns than rows, or is rank deficient.

    Example:
        >>> q = orthonormalize(np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]))
        >>> np.allclose(q.T @ q, np.eye(2))
        True
    """
    b = np.asarray(basis, dtype=np.float64)
    if b.ndim != 2 or not 1 <= b.shape[1] <= b.shape[0]:
        raise ConfigError(name, f"array of shape {b.shape}", "must be (d, k) with 1 <= k <= d")
    if not np.all(np.isfinite(b)):
        raise ConfigError(name, "array with NaN/inf", "must be finite")
    q, r = np.linalg.qr(b)
    diag = np.diag(r)
    scale = np.max(np.linalg.norm(b, axis=0))
    if scale == 0 or np.min(np.abs(diag)) <= scale * b.shape[0] * np.finfo(np.float64).eps * 10:
        raise ConfigError(name, f"array of shape {b.shape}", "columns must be linearly independent")
    return q * np.sign(diag)


def random_orthogonal(key: jax.Array, d: int) -> np.ndarray:
    """A Haar-random ``(d, d)`` orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    g = np.asarray(jax.random.normal(key, (d, d), dtype=np.float64))
    q, r = np.linalg.qr(g)
    return q * np.sign(np.diag(r))


def principal_angles(qu: np.ndarray, qv: np.ndarray) -> np.ndarray:
    r"""All principal angles between ``span(qu)`` and ``span(qv)``, in radians, ascending.

    Uses the cosine (SVD of :math:`Q_U^\top Q_V`) for large angles and the sine (SVD of the part
    of the smaller basis orthogonal to the larger subspace) for angles below :math:`\pi/4`,
    which keeps small angles accurate to machine precision (Knyazev & Argentati 2002; the same
    scheme as ``scipy.linalg.subspace_angles``, which returns them descending).

    Args:
        qu: ``(d, k)`` basis of U (orthonormalised here if it is not already).
        qv: ``(d, l)`` basis of V.

    Returns:
        ``(min(k, l),)`` float64 array :math:`\theta_1 \le \dots \le \theta_m`.

    Example:
        >>> u, v = hyperplane_pair(3, 0.5)
        >>> np.round(principal_angles(u, v), 6)
        array([0. , 0.5])
    """
    qu, qv = orthonormalize(qu, "qu"), orthonormalize(qv, "qv")
    if qu.shape[0] != qv.shape[0]:
        raise ConfigError("qv", f"array of shape {qv.shape}", f"must have {qu.shape[0]} rows")
    if qu.shape[1] < qv.shape[1]:
        qu, qv = qv, qu
    cos = np.clip(np.linalg.svd(qu.T @ qv, compute_uv=False), -1.0, 1.0)  # descending
    resid = qv - qu @ (qu.T @ qv)
    sin = np.clip(np.linalg.svd(resid, compute_uv=False), -1.0, 1.0)[::-1]  # ascending
    return np.where(cos**2 >= 0.5, np.arcsin(sin), np.arccos(cos))


class PrincipalVectors(NamedTuple):
    """Principal vectors of a pair of subspaces.

    Attributes:
        angles: ``(m,)`` principal angles, ascending.
        u: ``(d, m)`` principal vectors in U (column j pairs with ``v[:, j]``).
        v: ``(d, m)`` principal vectors in V, with ``u[:, j] . v[:, j] = cos(angles[j])``.
    """

    angles: np.ndarray
    u: np.ndarray
    v: np.ndarray


def principal_vectors(qu: np.ndarray, qv: np.ndarray) -> PrincipalVectors:
    r"""Principal angles and vectors of two subspaces.

    Large angles (:math:`\cos^2\theta < 1/2`) take their vectors from the cosine SVD
    :math:`Q_U^\top Q_V = A\Sigma B^\top` (:math:`u = Q_UA`, :math:`v = Q_VB`). Small angles take
    them from the sine SVD of :math:`(I - Q_UQ_U^\top)Q_V = W S B'^\top`: :math:`v = Q_V b'`,
    :math:`u = P_U v / \|P_U v\|`. Near-zero angles have cosines that differ only at order
    :math:`\theta^2` (the cosine SVD cannot tell their vectors apart below
    :math:`\theta \approx \sqrt{\epsilon}`), but sines that differ at order :math:`\theta`; so the
    span of the ``u`` with angle below ``ZERO_ANGLE_TOL`` is :math:`C = U\cap V` to rounding.
    The angles are those of :func:`principal_angles`.
    """
    qu, qv = orthonormalize(qu, "qu"), orthonormalize(qv, "qv")
    if qu.shape[1] < qv.shape[1]:
        pv = principal_vectors(qv, qu)
        return PrincipalVectors(pv.angles, pv.v, pv.u)
    angles = principal_angles(qu, qv)
    a, _, bt = np.linalg.svd(qu.T @ qv, full_matrices=False)
    u, v = qu @ a, qv @ bt.T  # cosine vectors, by descending cosine = ascending angle
    _, _, st = np.linalg.svd(qv - qu @ (qu.T @ qv), full_matrices=False)
    vs = (qv @ st.T)[:, ::-1]  # sine vectors, by ascending sine = ascending angle
    us = qu @ (qu.T @ vs)
    us /= np.maximum(np.linalg.norm(us, axis=0), np.finfo(np.float64).tiny)
    small = np.cos(angles) ** 2 >= 0.5
    return PrincipalVectors(angles, np.where(small, us, u), np.where(small, vs, v))


def subspace_pair(
    d: int, thetas: Sequence[float], key: jax.Array | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Two k-dimensional subspaces of :math:`\mathbb{R}^d` with prescribed principal angles.

    Built from one orthonormal frame: :math:`u_j` for :math:`j \le k`, and for each non-zero
    angle a further :math:`w_j`, with :math:`v_j = \cos\theta_j u_j + \sin\theta_j w_j`.
    So it needs :math:`d \ge k + \#\{j: \theta_j > 0\}`.

    Args:
        d: ambient dimension.
        thetas: the k principal angles, each in ``[0, pi/2]`` (any order).
        key: if given, the frame is Haar-random; otherwise it is the standard basis, with the
            non-zero angles placed last (so :math:`C` is spanned by the first basis vectors).

    Returns:
        ``(QU, QV)``, each ``(d, k)`` with orthonormal columns and
        ``principal_angles(QU, QV) == sorted(thetas)``.

    Raises:
        ConfigError: an angle outside ``[0, pi/2]``, ``k`` outside ``1..d``, or too few dimensions.

    Example:
        >>> u, v = subspace_pair(4, [0.3, 0.7])
        >>> np.round(principal_angles(u, v), 6)
        array([0.3, 0.7])
    """
    th = np.sort(np.asarray(thetas, dtype=np.float64).ravel())
    k, given = th.size, tuple(th.tolist())
    rules.subspace_dim(k, d, "thetas", given)
    rules.principal_angles("thetas", given)
    rules.subspace_room(d, given, "thetas", given)
    nonzero = th > 0
    frame = np.eye(d) if key is None else random_orthogonal(key, d)
    u = frame[:, :k]
    w = np.zeros_like(u)
    w[:, nonzero] = frame[:, k : k + int(nonzero.sum())]
    v = np.cos(th) * u + np.sin(th) * w
    return u.copy(), v


def hyperplane_pair(
    d: int, phi: float, key: jax.Array | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Two hyperplanes (dimension ``d-1``) of :math:`\mathbb{R}^d` at dihedral angle ``phi``.

    Principal angles are :math:`(0,\dots,0,\varphi)`; with ``key=None`` the shared subspace
    :math:`C` is spanned by :math:`e_1,\dots,e_{d-2}`, :math:`u_A = e_{d-1}` and
    :math:`u_B = \cos\varphi\, e_{d-1} + \sin\varphi\, e_d`.

    Raises:
        ConfigError: ``d < 2`` or ``phi`` outside ``[0, pi/2]``.
    """
    if d < 2:
        raise ConfigError("dim", d, "hyperplanes need dim >= 2")
    rules.principal_angle("phi", phi)
    return subspace_pair(d, [0.0] * (d - 2) + [phi], key)
