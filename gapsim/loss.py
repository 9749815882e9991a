r"""Symmetric InfoNCE (the CLIP loss) over paired points, with its closed-form gradient.

With similarities :math:`S = XY^\top`, inverse temperature :math:`\beta = 1/\tau` and logits
:math:`M = \beta S`,

.. math::
    L = \frac{1}{2N}\sum_i \Big[\big(\mathrm{lse}_j M_{ij} - M_{ii}\big)
        + \big(\mathrm{lse}_j M_{ji} - M_{ii}\big)\Big],

the *average* of the image-to-text and text-to-image cross-entropies (some papers sum the two
directions, which doubles :math:`L`). The positive is in the denominator. Its gradient with
respect to the logits is :math:`G = \frac{1}{2N}[\mathrm{rowsoftmax}(M) + \mathrm{colsoftmax}(M)]
- I/N`, hence :math:`\partial L/\partial X = \beta G Y`,
:math:`\partial L/\partial Y = \beta G^\top X` and
:math:`\partial L/\partial\beta = \langle G, S\rangle`.

Both log-sum-exps subtract their own row/column maximum, so values and gradients stay finite in
float32 down to :math:`\tau = 0.005` (logits up to 200) and beyond.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from gapsim._types import Points, Scalar

__all__ = ["infonce", "infonce_value_and_grad", "InfoNCEGrad"]


def _log1p_sum_exp(d: jax.Array, axis: int) -> jax.Array:
    r""":math:`\log(1 + \sum_j e^{d_j})` along ``axis``, without cancellation or overflow.

    With :math:`m = \max(0, \max_j d_j)` (a constant for autodiff): :math:`m +
    \mathrm{log1p}(\mathrm{expm1}(-m) + \sum_j e^{d_j - m})`, which is ``log1p`` of the exact
    small sum when every :math:`d_j < 0` (matched pairs, low temperature).
    """
    m = jax.lax.stop_gradient(jnp.maximum(jnp.max(d, axis=axis, keepdims=True), 0.0))
    s = jnp.sum(jnp.exp(d - m), axis=axis, keepdims=True)
    return m + jnp.log1p(jnp.expm1(-m) + s)


def _margins(s: jax.Array, beta: Scalar | float) -> tuple[jax.Array, jax.Array]:
    r"""Logit margins of rows and columns, :math:`-\infty` on the diagonal.

    Rows: :math:`\beta(S_{ij} - S_{ii})`; columns: :math:`\beta(S_{ij} - S_{jj})`.
    """
    diag = jnp.diagonal(s)
    off = ~jnp.eye(s.shape[0], dtype=bool)
    neg = jnp.asarray(-jnp.inf, s.dtype)
    return (
        jnp.where(off, beta * (s - diag[:, None]), neg),
        jnp.where(off, beta * (s - diag[None, :]), neg),
    )


def infonce(x: Points, y: Points, beta: Scalar | float) -> Scalar:
    r"""Symmetric InfoNCE :math:`L(X, Y; \beta)`, averaged over both directions.

    Each cross-entropy is computed from the logit margins,
    :math:`\mathrm{lse}_j M_{ij} - M_{ii} = \log(1 + \sum_{j\ne i} e^{M_{ij}-M_{ii}})`, so that a
    small loss keeps its relative accuracy (subtracting two numbers of size :math:`\beta`
    would leave an absolute error of :math:`\beta\epsilon`, all of a float32 loss at
    :math:`\tau = 0.005`); autodiff of this form gives the cancellation-free gradient.

    Args:
        x: ``(n, d)`` first modality (unit rows on the sphere, though any rows work).
        y: ``(n, d)`` second modality; row i is the positive partner of ``x[i]``.
        beta: inverse temperature :math:`1/\tau`.

    Returns:
        The scalar loss, in the dtype of ``x``.

    Example:
        >>> x = jnp.eye(3)
        >>> float(infonce(x, x, 10.0))  # log(1 + 2 exp(-10))
        9.07...e-05
    """
    dr, dc = _margins(x @ y.T, beta)
    return 0.5 * (jnp.mean(_log1p_sum_exp(dr, 1)) + jnp.mean(_log1p_sum_exp(dc, 0)))


class InfoNCEGrad(NamedTuple):
    """Gradient of :func:`infonce` with respect to ``x``, ``y`` and ``beta``."""

    x: Points
    y: Points
    beta: Scalar


def infonce_value_and_grad(
    x: Points, y: Points, beta: Scalar | float
) -> tuple[Scalar, InfoNCEGrad]:
    r"""Value and closed-form gradient of :func:`infonce` (one shared similarity matrix).

    :math:`G = \frac{1}{2N}[\mathrm{rowsoftmax}(M) + \mathrm{colsoftmax}(M)] - I/N`;
    returns :math:`(L, (\beta G Y, \beta G^\top X, \langle G, S\rangle))`. Computed without
    cancellation: the off-diagonal probabilities come from the margins, the diagonal of
    :math:`G` is minus their row (column) sums over :math:`2N`, and
    :math:`\langle G, S\rangle = \frac{1}{2N}\sum_{i\ne j}[P^r_{ij}(S_{ij}-S_{ii}) +
    P^c_{ij}(S_{ij}-S_{jj})]`.
    """
    n = x.shape[0]
    s = x @ y.T
    dr, dc = _margins(s, beta)
    ce_r, ce_c = _log1p_sum_exp(dr, 1), _log1p_sum_exp(dc, 0)
    pr, pc = jnp.exp(dr - ce_r), jnp.exp(dc - ce_c)  # off-diagonal probabilities, 0 on diag
    value = 0.5 * (jnp.mean(ce_r) + jnp.mean(ce_c))
    g = (pr + pc - jnp.diag(jnp.sum(pr, axis=1) + jnp.sum(pc, axis=0))) / (2 * n)
    diag = jnp.diagonal(s)
    gbeta = jnp.sum(pr * (s - diag[:, None]) + pc * (s - diag[None, :])) / (2 * n)
    return value, InfoNCEGrad(beta * (g @ y), beta * (g.T @ x), gbeta)
