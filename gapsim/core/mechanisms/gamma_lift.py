r"""Yaras et al. (2025)'s gamma-lift (parallel) model as a mechanism (docs/theory.md 3.1).

Appending :math:`\pm\gamma` to :math:`\sqrt{1-\gamma^2}\,x`, :math:`\sqrt{1-\gamma^2}\,y` shifts
every logit by :math:`-\beta\gamma^2` (which cancels) and scales the rest by :math:`1-\gamma^2`:
the loss of pair :math:`p` is InfoNCE at :math:`a = \beta(1-\gamma_p^2)`. The measures are taken on
the lifted points, whose centroid distance is :math:`\sqrt{(1-\gamma^2)\Delta^2 + 4\gamma^2}
\ge 2\gamma`. One learnable :math:`\gamma_p` per modality pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from gapsim.core.mechanisms.base import Mechanism, Variable

__all__ = ["GammaLift", "GammaHyper", "lift", "GAMMA_MAX"]

GAMMA_MAX = 1 - 1e-6
"""gamma stays in [-GAMMA_MAX, GAMMA_MAX] after each step (|gamma| = 1 lifts to a point)."""


class GammaHyper(NamedTuple):
    """Traced part of :class:`GammaLift`."""

    gamma0: jax.Array
    """``(P,)`` starting gammas, one per modality pair."""
    lr_mult: jax.Array
    """Step-size ratio of gamma to the points."""


def lift(x: jax.Array, y: jax.Array, gamma: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""Gamma-lift: :math:`[\sqrt{1-\gamma^2}x,\gamma]` and :math:`[\sqrt{1-\gamma^2}y,-\gamma]`."""
    c = jnp.sqrt(1 - gamma**2)
    col = jnp.full((x.shape[0], 1), gamma, x.dtype)
    return jnp.concatenate([c * x, col], 1), jnp.concatenate([c * y, -col], 1)


@dataclass(frozen=True)
class GammaLift(Mechanism):
    """The gamma-lift with learnable ``gamma`` (``(P,)``, one per modality pair)."""

    variables: ClassVar[tuple[Variable, ...]] = (Variable("gamma"),)

    def init(self, hyper: GammaHyper) -> dict[str, jax.Array]:  # noqa: D102
        return {"gamma": hyper.gamma0}

    def lr_mult(self, hyper: GammaHyper) -> dict[str, Any]:  # noqa: D102
        return {"gamma": hyper.lr_mult}

    def clip(self, name: str, value: jax.Array) -> jax.Array:  # noqa: D102
        return jnp.clip(value, -GAMMA_MAX, GAMMA_MAX)

    def pair_scale(self, hyper, params, p):  # noqa: D102
        return 1 - params["gamma"][p] ** 2

    def lift(self, params, x, y):  # noqa: D102
        return lift(x, y, params["gamma"][0])

    def report(self, hyper: GammaHyper, params: dict) -> dict[str, float]:  # noqa: D102
        return {"gamma_final": float(params["gamma"][0])}

    def describe(self, hyper: GammaHyper) -> str:  # noqa: D102
        return f"gamma-lift(gamma0={float(hyper.gamma0[0]):g})"
