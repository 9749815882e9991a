"""Liang et al. 2022's shift along the gap vector, mean removal, and gap injection."""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.alignment._common import (
    UNIT_TOL,
    AlignResult,
    GapShiftCurve,
    _check,
    _e1,
    _finish,
    _pair,
    _real,
    _renormalize,
    _tau,
)
from gapsim.core.loss import infonce

# ---------------------------------------------------------------------------------------------
# Liang et al. 2022: shift along the gap vector
# ---------------------------------------------------------------------------------------------


def _shift(x: jax.Array, y: jax.Array, lam: jax.Array):
    delta = jnp.mean(x, axis=0) - jnp.mean(y, axis=0)
    e1 = _e1(x.shape[1])
    xn, nx = _renormalize(x - (lam / 2) * delta[None, :], e1)
    yn, ny = _renormalize(y + (lam / 2) * delta[None, :], e1)
    return xn, yn, nx, ny, delta


def gap_shift(x, y, lam: float, *, tau: float = 0.07) -> AlignResult:
    r"""Shift both modalities along the gap vector and renormalise (Liang et al. 2022).

    With :math:`\Delta = \bar x - \bar y` (the difference of the means),

    .. math:: x_i' = \frac{x_i - \lambda\Delta/2}{\|x_i - \lambda\Delta/2\|},\qquad
              y_i' = \frac{y_i + \lambda\Delta/2}{\|y_i + \lambda\Delta/2\|}.

    Before renormalising, the means differ by :math:`(1-\lambda)\Delta`: ``lam=1`` closes the
    gap (the renormalised means then differ only through the different row norms), ``lam=0`` is
    the identity, ``lam<0`` widens the gap. Liang et al. (NeurIPS 2022, "Mind the Gap")
    report that at low temperature the InfoNCE loss is smallest near the original gap (see
    :func:`gap_shift_curve`).

    Args:
        x: ``(N, d)`` unit rows of the first modality.
        y: ``(N, d)`` unit rows of the second; row i pairs with ``x[i]``.
        lam: the shift :math:`\lambda` (any finite number).
        tau: temperature for the ``loss`` entry of the measures (CLIP's initial 0.07).

    Returns:
        :class:`AlignResult`; ``info``: ``gap_vector`` :math:`\Delta`, ``lam``, ``norm_x`` and
        ``norm_y`` (row norms before renormalising, so ``x * norm_x[:, None]`` is the raw
        shift), ``degenerate_x``, ``degenerate_y``.

    Example:
        >>> x, y = np.eye(3)[:2], np.eye(3)[1:]
        >>> r = gap_shift(x, y, 0.0)
        >>> bool(np.allclose(r.x, x))
        True
    """
    x, y = _pair(x, y)
    lam = _real("lam", lam, -math.inf, math.inf, "must be finite")
    _check("lam", lam, math.isfinite(lam), "must be finite")
    xn, yn, nx, ny, delta = _shift(jnp.asarray(x), jnp.asarray(y), jnp.float64(lam))
    info = {"gap_vector": np.asarray(delta), "lam": lam}
    return _finish(x, y, xn, yn, nx, ny, _tau(tau), info)


@partial(jax.jit, static_argnames=("block_size",))
def _shift_losses(x, y, beta, lambdas, block_size: int):
    """Loss and centroid distance at each shift, one shift at a time (``lax.map``)."""

    def one(lam):
        xn, yn, *_ = _shift(x, y, lam)
        loss = infonce(xn, yn, beta, block_size=block_size)
        return loss, jnp.linalg.norm(jnp.mean(xn, axis=0) - jnp.mean(yn, axis=0))

    return jax.lax.map(one, lambdas)


def gap_shift_curve(x, y, tau: float, lambdas=None, *, block_size: int = 0) -> GapShiftCurve:
    r"""InfoNCE (:func:`gapsim.infonce`, averaged convention) along :func:`gap_shift`.

    Liang et al. (2022) report that for embeddings trained at low temperature the loss over
    :math:`\lambda` is smallest near :math:`\lambda = 0` (the gap as trained): closing the gap
    raises the loss. This returns the curve to check that; one compiled call over the grid.

    Memory: the shifts are evaluated one after the other (``lax.map``), each by the blocked
    InfoNCE of :mod:`gapsim.core.loss` (row blocks of :func:`gapsim.core.blocks.block_rows`), so one
    ``(block, N)`` slab is alive at a time (a dense :math:`N\times N` matrix up to
    :data:`gapsim.core.blocks.DENSE_MAX_N` points), never one matrix per shift.

    Args:
        x: ``(N, d)`` unit rows of the first modality.
        y: ``(N, d)`` unit rows of the second; row i pairs with ``x[i]``.
        tau: temperature of the loss (> 0).
        lambdas: 1-D grid of shifts; default ``np.linspace(-1, 1, 41)``.
        block_size: rows per block of the :math:`N\times N` logits (``0`` automatic; see
            :func:`gapsim.core.blocks.block_rows`).

    Returns:
        :class:`GapShiftCurve` ``(lambdas, losses, centroid_distance)``, the last measured on the
        renormalised points.
    """
    x, y = _pair(x, y)
    beta = 1.0 / _tau(tau)
    lam = np.linspace(-1.0, 1.0, 41) if lambdas is None else np.asarray(lambdas, np.float64)
    shape = f"array of shape {lam.shape}"
    _check("lambdas", shape, lam.ndim == 1 and lam.size >= 1, "must be a non-empty 1-D grid")
    _check("lambdas", shape, bool(np.all(np.isfinite(lam))), "must be finite")
    losses, dist = _shift_losses(
        jnp.asarray(x), jnp.asarray(y), jnp.float64(beta), lam, int(block_size)
    )
    return GapShiftCurve(lam, np.asarray(losses), np.asarray(dist))


# ---------------------------------------------------------------------------------------------
# baseline and the reverse operation
# ---------------------------------------------------------------------------------------------


def mean_removal(x, y, *, tau: float = 0.07) -> AlignResult:
    r"""Subtract each modality's own mean and renormalise: :math:`x_i' = (x_i-\bar x)/\|\cdot\|`.

    A common baseline: both means are zero before renormalisation, so the centroid distance is
    small after it, but the modalities need not be aligned (a rotation between them survives),
    and the centroid angle becomes ill-conditioned (reported NaN).

    Returns:
        :class:`AlignResult`; ``info``: ``mean_x``, ``mean_y``, ``norm_x``, ``norm_y``,
        ``degenerate_x``, ``degenerate_y``.
    """
    x, y = _pair(x, y)
    mx, my = x.mean(axis=0), y.mean(axis=0)
    e1 = _e1(x.shape[1])
    xn, nx = _renormalize(jnp.asarray(x - mx[None, :]), e1)
    yn, ny = _renormalize(jnp.asarray(y - my[None, :]), e1)
    return _finish(x, y, xn, yn, nx, ny, _tau(tau), {"mean_x": mx, "mean_y": my})


def inject_gap(x, y, g: float, u) -> tuple[np.ndarray, np.ndarray]:
    r"""Open a gap of size ``g`` along a direction ``u`` orthogonal to every point.

    :math:`x_i' = \sqrt{1-g^2}\,x_i + gu`, :math:`y_i' = \sqrt{1-g^2}\,y_i - gu`. For unit
    ``u`` orthogonal to all rows, :math:`x_i'\cdot y_j' = (1-g^2)\,x_i\cdot y_j - g^2`: a
    monotone map of every cross-modal similarity, so every retrieval ranking is unchanged
    (theory.md 5). Within a modality :math:`x_i'\cdot x_j' = (1-g^2)\,x_i\cdot x_j + g^2`, so in
    the mixed set a same-modality point of another class can be nearer than the partner, and
    the centroids move :math:`2g` apart along ``u`` (Grassucci et al. 2026). With ``u`` a new
    coordinate this is Yaras et al.'s (2025) gamma-lift.

    Args:
        x: ``(N, d)`` unit rows of the first modality.
        y: ``(N, d)`` unit rows of the second; row i pairs with ``x[i]``.
        g: gap size in ``[0, 1]``.
        u: ``(d,)`` unit vector orthogonal to every row (to 1e-8).

    Returns:
        ``(x', y')``, float64 unit rows.
    """
    x, y = _pair(x, y)
    u = np.asarray(u, np.float64).reshape(-1)
    g = _real("g", g, 0.0, 1.0, "must lie in [0, 1]")
    _check("u", f"array of shape {u.shape}", u.shape == (x.shape[1],), f"must be ({x.shape[1]},)")
    _check("u", "vector", abs(float(np.linalg.norm(u)) - 1) <= UNIT_TOL, "must be a unit vector")
    off = float(np.max(np.abs(np.concatenate([x @ u, y @ u]))))
    _check("u", f"vector with |z . u| up to {off:.2e}", off <= 1e-8, "must be orthogonal to rows")
    c = math.sqrt(1 - g * g)
    return c * x + g * u[None, :], c * y - g * u[None, :]
