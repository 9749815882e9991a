r"""Modality swapping (Yaras et al. 2025, docs/theory.md 3.3, their Table 5), M = 2.

On a fraction ``swap_p`` of steps: ``hard`` exchanges each coordinate of :math:`x_i` and
:math:`y_i` with probability 1/2; ``row`` exchanges whole rows with probability 1/2; ``soft``
mixes coordinate-wise, :math:`x' = \lambda x + (1-\lambda) y`,
:math:`y' = (1-\lambda)x + \lambda y`, :math:`\lambda \sim U(0,1)` per coordinate. Swapped copies
are renormalised to the sphere (as CLIP normalises its features), which keeps every logit
within :math:`\pm\beta`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from gapsim.core.mechanisms.base import Mechanism
from gapsim.core.sets import safe_normalize

__all__ = ["Swapping", "SwapHyper", "SWAPS"]

SWAPS = ("hard", "row", "soft")


class SwapHyper(NamedTuple):
    """Traced part of :class:`Swapping`."""

    swap_p: jax.Array
    """Fraction of steps with swapping."""


def _swap(kind: str, key: jax.Array, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    if kind == "row":
        m = jax.random.bernoulli(key, 0.5, (x.shape[0], 1))
    elif kind == "hard":
        m = jax.random.bernoulli(key, 0.5, x.shape)
    else:  # soft
        m = jax.random.uniform(key, x.shape, x.dtype)
    m = m.astype(x.dtype)
    xs, ys = (1 - m) * x + m * y, m * x + (1 - m) * y
    if kind == "row":
        return xs, ys
    return safe_normalize(xs, x), safe_normalize(ys, y)


@dataclass(frozen=True)
class Swapping(Mechanism):
    """Swapping of kind ``hard``, ``row`` or ``soft`` between modalities 0 and 1."""

    kind: str = "hard"
    stochastic: ClassVar[bool] = True
    stream: ClassVar[int] = 2
    """Stream 2 decides whether a step swaps; stream 3 draws the swap."""

    def perturb(self, hyper: SwapHyper, keys, z, t):  # noqa: D102
        do = jax.random.bernoulli(keys[self.stream], hyper.swap_p)
        xs, ys = _swap(self.kind, keys[self.stream + 1], z[0], z[1])
        return z.at[0].set(jnp.where(do, xs, z[0])).at[1].set(jnp.where(do, ys, z[1]))

    def describe(self, hyper: SwapHyper) -> str:  # noqa: D102
        return f"swap={self.kind}(p={float(hyper.swap_p):g})"
