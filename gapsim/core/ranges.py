r"""Range rules of the constraint sets, written once (the core's ground floor).

Each raises :class:`gapsim.errors.ConfigError` naming the field, the value and what is allowed,
and is called wherever a value enters: :class:`~gapsim.app.config.Config`,
:meth:`gapsim.core.sets.Constraint.make` and :mod:`gapsim.core.subspaces`, so a value is
refused with the same message everywhere.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gapsim.errors import ConfigError

__all__ = [
    "check",
    "cap_angle",
    "cap_in_subspace",
    "concentration_rho",
    "concentration_in_subspace",
    "no_free_axis",
    "principal_angle",
    "principal_angles",
    "subspace_dim",
    "subspace_room",
]


def check(ok: bool, name: str, value: Any, allowed: str) -> None:
    """Raise :class:`ConfigError` ``(name, value, allowed)`` unless ``ok``."""
    if not ok:
        raise ConfigError(name, value, allowed)


def cap_angle(alpha: float, dtype: str | None = None, name: str = "cone_angle") -> None:
    r"""A cap half-angle: :math:`\alpha \in (0, \pi)`, and resolved in ``dtype``.

    Below :math:`\sqrt{32\epsilon}` the cosine :math:`\cos\alpha = 1 - \alpha^2/2 + \dots`
    differs from 1 by less than :math:`16\epsilon`: the cap is not resolved in that precision.
    """
    check(0 < alpha < math.pi, name, alpha, "must lie in (0, pi) radians")
    if dtype is None:
        return
    floor = math.sqrt(32 * float(np.finfo(dtype).eps))
    check(
        alpha >= floor,
        name,
        alpha,
        f"must be >= {floor:.2g} rad in {dtype} (cos(alpha) is not resolved below; use "
        "--dtype float64 for smaller caps)",
    )


def concentration_rho(rho: float, name: str = "rho") -> None:
    r"""A fixed mean norm :math:`\|\bar x\| = \rho \in (0, 1)` (0: zero mean, 1: collapse)."""
    check(0 < rho < 1, name, rho, "must lie in (0, 1)")


def principal_angle(name: str, theta: float) -> None:
    r"""One principal angle between subspaces: :math:`\theta \in [0, \pi/2]`."""
    check(0 <= theta <= math.pi / 2, name, theta, "must lie in [0, pi/2]")


def principal_angles(name: str, thetas: Any) -> None:
    r"""Every principal angle finite and in :math:`[0, \pi/2]`."""
    ok = all(math.isfinite(t) and 0 <= t <= math.pi / 2 for t in thetas)
    check(ok, name, tuple(thetas), "each angle must lie in [0, pi/2]")


def subspace_dim(k: int, d: int, name: str = "subspace_dim", value: Any = None) -> None:
    """A subspace dimension ``k`` in ``1..d``."""
    check(1 <= k <= d, name, k if value is None else value, f"must lie in 1..d={d}")


def subspace_room(d: int, thetas: Any, name: str = "dim", value: Any = None) -> None:
    r"""Room for two ``k``-dim subspaces at angles ``thetas``: :math:`d \ge k + \#\{\theta_j > 0\}`.

    (Each non-zero angle needs one direction of its own beside the ``k`` of the first subspace.)
    """
    k, nonzero = len(thetas), sum(t > 0 for t in thetas)
    need = k + nonzero
    check(
        d >= need,
        name,
        d if value is None else value,
        f"two {k}-dim subspaces with {nonzero} non-zero principal angles need dim >= {need}",
    )


def concentration_in_subspace(k: int, name: str = "subspace_dim") -> None:
    """A fixed concentration inside a subspace needs a circle at least: ``k >= 2``."""
    check(k >= 2, name, k, "a fixed concentration inside a subspace needs subspace_dim >= 2")


def cap_in_subspace(k: int, name: str = "subspace_dim") -> None:
    """A cap inside a subspace needs a circle at least: ``k >= 2``."""
    check(k >= 2, name, k, "a cap inside a subspace needs subspace_dim >= 2")


def no_free_axis(axis: Any, name: str = "cone_axis") -> None:
    """The former ``"free"`` cap axis is refused (it was not a projection)."""
    check(
        not (isinstance(axis, str) and axis == "free"),
        name,
        "free",
        "was removed (its mean-direction iteration is not a projection: points merged); "
        "use 'learned', the exact learnable-axis cap",
    )
