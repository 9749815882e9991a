r"""What a mechanism of the objective is: one value with its static part and its hooks.

In the style of optax's ``GradientTransformation``, a mechanism is a value, not a switch spread
over the solvers: a frozen (hashable) dataclass whose fields are its compile-time part, plus a
pytree of traced hyper-parameters (``hyper``, built by :mod:`gapsim.app.wiring`) that travels in
:class:`~gapsim.core.solvers.Args`. The objective, the solvers, the KKT certificate and the
final measures iterate the mechanisms they are given and call their hooks; none of them names
a mechanism. Every hook has a neutral default, so a mechanism overrides only what it does:

- :meth:`Mechanism.init` and :attr:`Mechanism.variables`: the learnable variables it adds to the
  parameters (``params[name]``), with their step-size multiplier (:meth:`Mechanism.lr_mult`)
  and their feasible range (:meth:`Mechanism.clip`);
- :meth:`Mechanism.temperature`: the inverse temperature :math:`\beta_t` (learnable, scheduled);
- :meth:`Mechanism.pair_scale`: a factor of :math:`\beta` for modality pair :math:`p`
  (the gamma-lift's :math:`1-\gamma_p^2`);
- :meth:`Mechanism.perturb`: a random change of the points as the loss sees them (swapping,
  re-drawn partners), with :attr:`Mechanism.stochastic`;
- :meth:`Mechanism.term`: an added loss term (Grassucci et al.'s ATP and CU);
- :meth:`Mechanism.lift`: the pair as measured (the gamma-lift's lifted points);
- :meth:`Mechanism.report`: final scalars for the result.

:attr:`Mechanism.moves` ("the objective changes during a run", so no fixed point to certify
and no L-BFGS) is the one predicate the config, the solvers and the certificate use
(:func:`fixed_objective`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import jax

__all__ = ["Mechanism", "Variable", "fixed_objective", "stochastic", "variables", "KEY_STREAMS"]

KEY_STREAMS = 4
"""A step's key is split in this many streams (``jax.random.split(fold_in(key, t), 4)``); each
stochastic mechanism draws from its own stream (:attr:`Mechanism.stream`). A new one takes
``fold_in(keys[0], id)`` with an id of its own, which leaves the existing streams' bits alone."""


class Variable(NamedTuple):
    r"""A learnable variable a mechanism adds to the parameters.

    Attributes:
        name: its key in ``params``.
        point_like: whether its last axis is a point of :math:`\mathbb{R}^d` (rotated with the
            points by a symmetry, as the learnable cap axis is).
    """

    name: str
    point_like: bool = False


@dataclass(frozen=True)
class Mechanism:
    """Base of every mechanism: neutral hooks (see the module docstring)."""

    variables: ClassVar[tuple[Variable, ...]] = ()
    stochastic: ClassVar[bool] = False
    stream: ClassVar[int | None] = None
    """Index of the key stream a stochastic mechanism draws from."""

    @property
    def moves(self) -> bool:
        """Whether the objective changes during a run (at random or with the step)."""
        return self.stochastic

    def init(self, hyper: Any) -> dict[str, jax.Array]:
        """Initial values of :attr:`variables` from the traced hyper-parameters."""
        return {}

    def lr_mult(self, hyper: Any) -> dict[str, Any]:
        """Step-size multiplier of each variable relative to the points' step."""
        return {}

    def clip(self, name: str, value: jax.Array) -> jax.Array:
        """The variable ``name`` put back into its feasible range after a step."""
        return value

    def temperature(self, hyper: Any, params: dict, beta: jax.Array, t: Any, steps: int):
        r"""The inverse temperature :math:`\beta_t` at update index ``t`` (``beta``: so far)."""
        return beta

    def pair_scale(self, hyper: Any, params: dict, p: int) -> jax.Array | None:
        """A factor of beta for modality pair ``p`` (``None``: none)."""
        return None

    def perturb(self, hyper: Any, keys: jax.Array, z: jax.Array, t: Any) -> jax.Array:
        """The points as the loss sees them at step ``t`` (``keys``: the step's streams)."""
        return z

    def term(self, hyper: Any, params: dict, z: jax.Array, block_size: int) -> jax.Array | None:
        """An added loss term at the (perturbed) points ``z`` (``None``: none)."""
        return None

    def lift(self, params: dict, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Modalities 0 and 1 as measured."""
        return x, y

    def report(self, hyper: Any, params: dict) -> dict[str, float]:
        """Final scalars of the mechanism for the result's measures."""
        return {}

    def describe(self, hyper: Any) -> str:
        """One short label for a run's header (``gapsim run``)."""
        return type(self).__name__


def fixed_objective(mechanisms: tuple[Mechanism, ...]) -> bool:
    """Whether the objective is fixed over the points alone (what L-BFGS optimises).

    False when a mechanism moves the objective (:attr:`Mechanism.moves`) or adds variables.
    """
    return not any(m.moves or m.variables for m in mechanisms)


def stochastic(mechanisms: tuple[Mechanism, ...]) -> bool:
    """Whether the objective changes from step to step at random."""
    return any(m.stochastic for m in mechanisms)


def variables(mechanisms: tuple[Mechanism, ...]) -> tuple[Variable, ...]:
    """The learnable variables the mechanisms add, in order."""
    return tuple(v for m in mechanisms for v in m.variables)
