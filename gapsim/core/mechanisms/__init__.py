"""Mechanisms of the objective as values (docs/developing.md, "Adding a mechanism").

:mod:`~gapsim.core.mechanisms.base` says what a mechanism is; one module per family:
the temperature (learnable, scheduled), the gamma-lift, re-drawn partners, swapping, and
Grassucci et al.'s terms. :mod:`gapsim.app.wiring` builds them from a config.
"""

from gapsim.core.mechanisms.base import (
    KEY_STREAMS,
    Mechanism,
    Variable,
    fixed_objective,
    stochastic,
    variables,
)
from gapsim.core.mechanisms.gamma_lift import GAMMA_MAX, GammaHyper, GammaLift, lift
from gapsim.core.mechanisms.grassucci import AlignTruePairs, CentroidUniformity, Weight
from gapsim.core.mechanisms.partners import (
    ClassHyper,
    ClassPartners,
    NoisyPartners,
    group_permutation,
)
from gapsim.core.mechanisms.swapping import SWAPS, SwapHyper, Swapping
from gapsim.core.mechanisms.temperature import (
    LearnedHyper,
    LearnedTemperature,
    ScheduledTemperature,
    ScheduleHyper,
)

__all__ = [
    "KEY_STREAMS",
    "Mechanism",
    "Variable",
    "fixed_objective",
    "stochastic",
    "variables",
    "GAMMA_MAX",
    "GammaHyper",
    "GammaLift",
    "lift",
    "AlignTruePairs",
    "CentroidUniformity",
    "Weight",
    "ClassHyper",
    "ClassPartners",
    "NoisyPartners",
    "group_permutation",
    "SWAPS",
    "SwapHyper",
    "Swapping",
    "LearnedHyper",
    "LearnedTemperature",
    "ScheduledTemperature",
    "ScheduleHyper",
]
