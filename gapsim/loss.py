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


def infonce(x: Points, y: Points, beta: Scalar | float) -> Scalar:
    r"""Symmetric InfoNCE :math:`L(X, Y; \beta)`, averaged over both directions.

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
    m = beta * (x @ y.T)
    lse = jax.nn.logsumexp(m, axis=1) + jax.nn.logsumexp(m, axis=0)
    return 0.5 * jnp.mean(lse) - jnp.mean(jnp.diagonal(m))


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
    returns :math:`(L, (\beta G Y, \beta G^\top X, \langle G, S\rangle))`.
    """
    n = x.shape[0]
    s = x @ y.T
    m = beta * s
    lse_r = jax.nn.logsumexp(m, axis=1, keepdims=True)
    lse_c = jax.nn.logsumexp(m, axis=0, keepdims=True)
    value = 0.5 * (jnp.mean(lse_r) + jnp.mean(lse_c)) - jnp.mean(jnp.diagonal(m))
    g = (jnp.exp(m - lse_r) + jnp.exp(m - lse_c)) / (2 * n) - jnp.eye(n, dtype=x.dtype) / n
    return value, InfoNCEGrad(beta * (g @ y), beta * (g.T @ x), jnp.sum(g * s))
