r"""The temperature as a mechanism: learnable (Yaras et al. 2025) or scheduled.

A fixed temperature is no mechanism: :math:`\beta` is ``Args.beta``. The parametrisations and
schedules are :mod:`gapsim.core.temperature`'s; these two values put them into the objective.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import jax

from gapsim.core.mechanisms.base import Mechanism, Variable
from gapsim.core.temperature import beta_of_nu, scheduled_tau

__all__ = ["LearnedTemperature", "LearnedHyper", "ScheduledTemperature", "ScheduleHyper"]


class LearnedHyper(NamedTuple):
    """Traced part of :class:`LearnedTemperature`."""

    nu0: jax.Array
    """Starting parameter :math:`\\nu_0 = f^{-1}(\\beta_0)` (``nu_of_beta``)."""
    scale: jax.Array
    """``s`` of the ``scaled`` parametrisation :math:`e^{\\nu/s}`."""
    lr_mult: jax.Array
    """Step-size ratio of :math:`\\nu` to the points."""


@dataclass(frozen=True)
class LearnedTemperature(Mechanism):
    r"""Learnable :math:`\beta = f(\nu)` (``exp``, ``softplus``, ``identity``, ``scaled``).

    Adds the variable ``nu``, updated by the same optimiser as the points at ``lr_mult`` times
    their step.
    """

    param: str = "exp"
    variables: ClassVar[tuple[Variable, ...]] = (Variable("nu"),)

    def init(self, hyper: LearnedHyper) -> dict[str, jax.Array]:  # noqa: D102
        return {"nu": hyper.nu0}

    def lr_mult(self, hyper: LearnedHyper) -> dict[str, Any]:  # noqa: D102
        return {"nu": hyper.lr_mult}

    def temperature(self, hyper, params, beta, t, steps):  # noqa: D102
        return beta_of_nu(params["nu"], self.param, hyper.scale)

    def describe(self, hyper: LearnedHyper) -> str:  # noqa: D102
        return f"learn-tau({self.param}, lr x{float(hyper.lr_mult):g})"


class ScheduleHyper(NamedTuple):
    """Traced part of :class:`ScheduledTemperature`."""

    tau_end: jax.Array
    period: jax.Array


@dataclass(frozen=True)
class ScheduledTemperature(Mechanism):
    """A temperature schedule from ``Args.beta`` to ``tau_end`` over the run's steps.

    ``kind``: ``linear``, ``linear_beta``, ``cosine``, or ``custom`` with ``fn(t) -> tau``.
    """

    kind: str = "linear"
    fn: Callable | None = None

    @property
    def moves(self) -> bool:  # noqa: D102
        return True

    def temperature(self, hyper: ScheduleHyper, params, beta, t, steps):  # noqa: D102
        tau = scheduled_tau(self.kind, t, steps, 1 / beta, hyper.tau_end, hyper.period, self.fn)
        return 1.0 / tau

    def describe(self, hyper: ScheduleHyper) -> str:  # noqa: D102
        return f"tau-schedule={self.kind}"
