r"""Grassucci et al. (2026)'s two loss terms: ATP (align true pairs) and CU (centroid uniformity).

:math:`L_\mathrm{ATP} = \frac{1}{M-1}\sum_{m\ge1}\frac1N\sum_i\|z^m_i - z^0_i\|^2` (modality 0
is the anchor) and :math:`L_\mathrm{CU} = \log\frac{1}{N(N-1)}\sum_{i\ne j}
e^{-2\|\mu_i-\mu_j\|^2}`, :math:`\mu_i = \mathrm{normalize}(\frac1M\sum_m z^m_i)`, each with a
weight :math:`w \ge 0` added to the contrastive loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp

from gapsim.core.measures import uniformity
from gapsim.core.mechanisms.base import Mechanism
from gapsim.core.sets import safe_normalize

__all__ = ["AlignTruePairs", "CentroidUniformity", "Weight"]


class Weight(NamedTuple):
    """Traced part of a weighted term."""

    weight: jax.Array


@dataclass(frozen=True)
class AlignTruePairs(Mechanism):
    r""":math:`w\,L_\mathrm{ATP}`."""

    def term(self, hyper: Weight, params, z, block_size):  # noqa: D102
        return hyper.weight * jnp.mean(jnp.sum((z[1:] - z[:1]) ** 2, axis=-1))

    def describe(self, hyper: Weight) -> str:  # noqa: D102
        return f"atp={float(hyper.weight):g}"


@dataclass(frozen=True)
class CentroidUniformity(Mechanism):
    r""":math:`w\,L_\mathrm{CU}`."""

    def term(self, hyper: Weight, params, z, block_size):  # noqa: D102
        mu = safe_normalize(jnp.mean(z, axis=0), z[0])
        return hyper.weight * uniformity(mu, block_size=block_size)

    def describe(self, hyper: Weight) -> str:  # noqa: D102
        return f"cu={float(hyper.weight):g}"
