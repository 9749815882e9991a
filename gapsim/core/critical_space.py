r"""The whole problem's critical subspace, matrix-free: flat variables and deflated rotations.

:mod:`gapsim.core.critical` acts on one modality; the certificate works on the flat variable vector
:math:`v` (``ravel_pytree`` of :func:`gapsim.core._kkt.variables`: points, learnable axes, and
the mechanisms' variables, which no constraint touches). :class:`Space` maps
flat vectors to per-modality views and vmaps the constraint operators over the modalities.

**Symmetries** (:func:`deflate`; the rules of :mod:`gapsim.core.certificate`, module docstring item
3, with its tolerances). A joint rotation :math:`v \mapsto vE_{ab}` of every point-like
variable leaves InfoNCE unchanged. Its :math:`d(d-1)/2` images (the only dense block,
``d(d-1)/2 x n``) are reduced to those that keep the strictly active constraints, the null
space of :math:`A_cG` (QR of a vector with the same Gram as :math:`A_cu` per generator, then
the SVD of the small triangular factor, cut at :math:`\sqrt\epsilon` times the largest
generator norm); projected onto the critical subspace and orthonormalised (QR, SVD of the
factor, same cut); and of these only the eigen-directions of :math:`S^\top HS` in the kernel
of the reduced Hessian (:math:`\|P_c H s\| \le` ``res / sigma_min`` :math:`+ \sqrt n\,\epsilon
\max(\|S^\top HS\|, 1)`) are deflated: a rotation that keeps the active constraints to first
order only keeps its curvature.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from gapsim.core import critical
from gapsim.core._types import Array

__all__ = ["Space", "Symmetries", "generators", "deflate"]

EPS = float(np.finfo(np.float64).eps)
SYM_RTOL = math.sqrt(EPS)
"""Relative singular-value cut of the symmetry generators (as :mod:`gapsim.core.certificate`)."""


class Space(NamedTuple):
    """Flat vectors <-> (points, axes, rest) and the constraint operators of every modality.

    Attributes:
        c: the stacked constraint sets (leading modality axis).
        z: ``(M, N, d)`` points; ``a``: ``(M, d)`` learnable axes or ``None``.
        unravel: flat vector -> variables pytree.
    """

    c: Any
    z: Array
    a: Array | None
    unravel: Callable

    def split(self, u: Array) -> tuple[dict, Array, Array | None]:
        """The variables pytree of ``u``, its points part and its axes part."""
        t = self.unravel(u)
        return t, t["z"], t.get("axis")

    def join(self, t: dict, uz: Array, ua: Array | None) -> Array:
        """The flat vector of ``t`` with its points (and axes) replaced."""
        t = {**t, "z": uz}
        if ua is not None:
            t["axis"] = ua
        return ravel_pytree(t)[0]

    def modalities(self, fn: Callable, *args: Any) -> Any:
        """``fn(c, x, a, *args)`` vmapped over modalities; ``None`` arguments stay ``None``."""
        every = (self.c, self.z, self.a, *args)
        given = [x for x in every if x is not None]

        def one(*xs):
            it = iter(xs)
            return fn(*(None if x is None else next(it) for x in every))

        return jax.vmap(one)(*given)

    def project(self, nm: Any, u: Array) -> Array:
        r"""Orthogonal projection onto :math:`\ker A` (rows counted in ``nm``)."""
        t, uz, ua = self.split(u)
        return self.join(t, *self.modalities(critical.project, nm, uz, ua))

    def zero_rest(self, t: dict, uz: Array, ua: Array | None) -> Array:
        """A flat vector with these points (and axes) and zeros elsewhere."""
        return self.join(jax.tree.map(jnp.zeros_like, t), uz, ua)

    def normal_operator(self, w: Array, u: Array) -> Array:
        r""":math:`A^\top Au` with the cap rows ``w``."""
        t, uz, ua = self.split(u)
        return self.zero_rest(t, *self.modalities(critical.normal_operator, w, uz, ua))

    def constraint_image(self, w: Array, u: Array) -> Array:
        """A vector with the Gram of :math:`A_cu`: local part, then the coupling rows."""
        _, uz, ua = self.split(u)
        lx, la = self.modalities(critical.local_jump, uz, ua)
        cr = self.modalities(critical.coupling_apply, w, uz, ua)
        parts = [lx.ravel(), cr.ravel()] + ([] if la is None else [la.ravel()])
        return jnp.concatenate(parts)


def generators(var: dict, keys: tuple[str, ...]) -> Array:
    r"""``(d(d-1)/2, n)``: images :math:`v \mapsto vE_{ab}` (the variables ``keys`` rotate).

    ``keys``: the point-like variables (points, axes, the mechanisms' point-like ones).
    """
    d = var["z"].shape[-1]
    pairs = [(a, b) for a in range(d) for b in range(a + 1, d)]
    e = np.zeros((len(pairs), d, d))
    for k, (a, b) in enumerate(pairs):
        e[k, a, b], e[k, b, a] = 1.0, -1.0
    e = jnp.asarray(e, var["z"].dtype)

    def image(ek):
        img = {k: (x @ ek if k in keys else jnp.zeros_like(x)) for k, x in var.items()}
        return ravel_pytree(img)[0]

    return jax.vmap(image)(e)


def _orthonormal_range(b: Array, cut: Array) -> Array:
    """Orthonormal rows spanning the rows of ``b`` (``(k, n)``) above a singular-value cut.

    QR of ``b.T`` (Householder, stable), then the SVD of the ``k x k`` factor; rows below the
    cut are zero.
    """
    q, r = jnp.linalg.qr(b.T)
    u, s, _ = jnp.linalg.svd(r)
    return jnp.where((s > cut)[:, None], (q @ u).T, 0.0)


def _null_rows(b: Array, cut: Array) -> tuple[Array, Array]:
    """Right singular vectors of ``b.T`` (``(n', k)``), and which have singular value <= ``cut``.

    QR of ``b.T``, then the SVD of its factor; with fewer rows than ``k``, the missing
    singular values are zero.
    """
    _, r = jnp.linalg.qr(b.T)
    _, s, vt = jnp.linalg.svd(r, full_matrices=True)
    s = jnp.concatenate([s, jnp.zeros(vt.shape[0] - s.shape[0], s.dtype)])
    return vt, s <= cut


class Symmetries(NamedTuple):
    r"""The deflated rotation directions (see the module docstring).

    Attributes:
        rows: ``(d(d-1)/2, n)`` orthonormal rows in the critical subspace (zero rows unused).
        count: how many rows are used.
        scale: largest ``|eigenvalue|`` of :math:`S^\top HS` over the candidates.
        curvature: largest ``|eigenvalue|`` over the deflated ones.
        products: Hessian-vector products taken.
    """

    rows: Array
    count: Array
    scale: Array
    curvature: Array
    products: int


def deflate(
    space: Space,
    var: dict,
    keys: tuple[str, ...],
    strong: Array,
    p_crit: Callable[[Array], Array],
    hvp: Callable[[Array], Array],
    base_tol: Array,
    batch: int,
) -> Symmetries:
    """The rotation directions to deflate from the critical subspace (module docstring).

    Args:
        space: the problem's :class:`Space`.
        var: the variables pytree.
        keys: its point-like variables (rotated with the points).
        strong: ``(M, N)`` the cap rows held as equalities.
        p_crit: projection onto the critical subspace.
        hvp: product with the Hessian of the Lagrangian.
        base_tol: ``residual / sigma_min`` (the multipliers' precision).
        batch: directions multiplied by the Hessian at a time (memory).
    """
    gens = generators(var, keys)
    n = gens.shape[1]
    cut = SYM_RTOL * jnp.maximum(1.0, jnp.max(jnp.linalg.norm(gens, axis=1)))
    images = jax.vmap(partial(space.constraint_image, strong))(gens)
    vt, null = _null_rows(images, cut)
    gens = jnp.where(null[:, None], vt @ gens, 0.0)
    sym = _orthonormal_range(jax.vmap(p_crit)(gens), cut)
    hs = jax.lax.map(hvp, sym, batch_size=batch)
    mat = sym @ hs.T
    mat = (mat + mat.T) / 2
    used = jnp.linalg.norm(sym, axis=1) > 0.5
    lift = 2 * jnp.linalg.norm(mat) + 1  # unused rows decouple above every used eigenvalue
    ev, vec = jnp.linalg.eigh(mat + jnp.diag(jnp.where(used, 0.0, lift)))
    valid = ev < lift / 2
    scale = jnp.max(jnp.where(valid, jnp.abs(ev), 0.0))
    kernel = jnp.linalg.norm(jax.vmap(p_crit)(vec.T @ hs), axis=1)
    flat = valid & (kernel <= base_tol + math.sqrt(n) * EPS * jnp.maximum(scale, 1.0))
    return Symmetries(
        rows=jnp.where(flat[:, None], vec.T @ sym, 0.0),
        count=jnp.sum(flat).astype(jnp.int32),
        scale=scale,
        curvature=jnp.max(jnp.where(flat, jnp.abs(ev), 0.0)),
        products=gens.shape[0],
    )
