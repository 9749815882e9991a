r"""Constraint sets of one modality's points: the sphere and parts that compose.

:class:`Constraint` (:mod:`~gapsim.core.sets.constraint`) is the sphere intersected with parts:
a linear subspace (:mod:`~gapsim.core.sets.subspace`), a spherical cap with a fixed or learnable
axis (:mod:`~gapsim.core.sets.cap`), a fixed concentration (:mod:`~gapsim.core.sets.concentration`).
Each part carries its projection step, tangent condition, residuals and feasibility test;
:func:`project`, :func:`tangent`, :func:`residuals` and :func:`feasible` compose them.
"""

from gapsim.core.sets.cap import Cap, cap_axis, fit_axis
from gapsim.core.sets.concentration import (
    Concentration,
    concentration_normal,
    concentration_project,
    mean_resultant_length,
)
from gapsim.core.sets.constraint import Constraint, feasible, project, residuals, stack, tangent
from gapsim.core.sets.sphere import reject, safe_normalize
from gapsim.core.sets.subspace import Subspace

__all__ = [
    "Constraint",
    "Subspace",
    "Cap",
    "Concentration",
    "project",
    "tangent",
    "residuals",
    "feasible",
    "stack",
    "safe_normalize",
    "reject",
    "cap_axis",
    "fit_axis",
    "mean_resultant_length",
    "concentration_project",
    "concentration_normal",
]
