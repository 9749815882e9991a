r"""Named, reusable starts and flows: the settings that checks, figures and demos share.

Each scenario is a function ``NAME(**overrides) -> Config``: the fields that define the setting
(the start, the dynamics) are fixed here once, with the paper they come from; the caller adds the
size (``n_pairs``, ``steps``, ``seed`` ...) and may override any field, since
``scenario(**kw)`` is ``Config(**{**defaults, **kw})``. :data:`SCENARIOS` names them all.

- :func:`cone_effect`: the two-cone start (Liang et al. 2022's cone effect, Yi et al. 2025
  Fig. 1), trained by Adam for a fixed budget.
- :func:`parallel_flow`: Yaras et al. (2025) Fig. 2 / 4a, n = 5 on :math:`S^2` from pairs on
  parallel circles, plain gradient descent as a discretised gradient flow (time = step * lr).
- :func:`mismatched_flow`: :func:`parallel_flow` from the mismatched start with a learnable
  temperature (Yaras Fig. 2).
- :func:`gamma_lift_flow`: the gamma-lift dynamics of Yaras et al. (2025) Sec. 3.
- :func:`two_hyperplanes`: each modality in its own hyperplane, the planes at angle ``phi``
  (Yi et al. 2025 Thm 3).

Example:
    >>> from gapsim.app.scenarios import cone_effect
    >>> cfg = cone_effect(n_pairs=8, dim=4, tau=0.02, steps=100)
    >>> (cfg.init, cfg.init_angle, cfg.init_axis_angle, cfg.solver, cfg.early_stop)
    ('cones', 0.3, 1.5, 'adam', False)

See docs/theory.md sections 2-4 for the claims these settings test. Modality swapping (Yaras
Sec. 4) is one ``replace(swap=..., swap_p=...)`` on :func:`cone_effect`, not a scenario of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gapsim.app.config import Config

__all__ = [
    "CONE_START",
    "SCENARIOS",
    "cone_effect",
    "parallel_flow",
    "mismatched_flow",
    "gamma_lift_flow",
    "two_hyperplanes",
]

CONE_START = {"init": "cones", "init_angle": 0.3, "init_axis_angle": 1.5}
"""The two-cone start: each modality uniform in a cap of half-angle 0.3 rad, axes 1.5 rad apart."""


def _config(defaults: dict[str, Any], overrides: dict[str, Any]) -> Config:
    return Config(**{**defaults, **overrides})


def cone_effect(**kw: Any) -> Config:
    """The cone-effect start (:data:`CONE_START`) trained by Adam for a fixed number of steps.

    Liang et al. (2022), *Mind the Gap*, Sec. 3: at initialisation each modality's embeddings sit
    in a narrow cone, the cones apart; Yi et al. (2025) Fig. 1 start from two such cones.
    ``solver="adam"``, ``early_stop=False`` (a fixed budget, the way the papers train).
    """
    return _config({**CONE_START, "solver": "adam", "early_stop": False}, kw)


def parallel_flow(matched: bool = False, **kw: Any) -> Config:
    r"""Yaras et al. (2025) Fig. 2 / 4a: n = 5 pairs on :math:`S^2` from parallel circles.

    ``init = "parallel-matched"`` (each :math:`y_i` at :math:`x_i`'s azimuth) or
    ``"parallel-mismatched"`` (at its neighbour's), circles ``init_angle = 1.0`` rad apart;
    float64 gradient descent at ``lr = 1e-3`` without early stop, the explicit Euler
    discretisation of their gradient flow (time :math:`t` = step * lr).
    """
    defaults = {
        "n_pairs": 5,
        "dim": 3,
        "init": "parallel-matched" if matched else "parallel-mismatched",
        "init_angle": 1.0,
        "solver": "gd",
        "lr": 1e-3,
        "early_stop": False,
        "dtype": "float64",
    }
    return _config(defaults, kw)


def mismatched_flow(**kw: Any) -> Config:
    r"""Yaras et al. (2025) Fig. 2: :func:`parallel_flow` mismatched, learnable tau from 0.1.

    The sign rule (their Sec. 3.1): while pairs are mismatched the gap :math:`\Delta` and
    :math:`\tau` rise; they peak near the time all pairs become matched, then fall.
    """
    return parallel_flow(False, **{"tau": 0.1, "learn_tau": True, "stride": 10, **kw})


def gamma_lift_flow(**kw: Any) -> Config:
    r"""The gamma-lift dynamics of Yaras et al. (2025) Sec. 3 (Lemma 3.1, Thm 3.2).

    One extra coordinate :math:`+\gamma` on every x and :math:`-\gamma` on every y
    (:math:`\Delta \ge 2\gamma`), :math:`\gamma_0 = 0.3`; N = 8 on :math:`S^2`, float64 gradient
    descent at ``lr = 1e-3`` without early stop, recorded every 20 steps.
    """
    defaults = {
        "n_pairs": 8,
        "dim": 3,
        "solver": "gd",
        "dtype": "float64",
        "lr": 1e-3,
        "stride": 20,
        "early_stop": False,
        "gamma_lift": True,
        "gamma0": 0.3,
    }
    return _config(defaults, kw)


def two_hyperplanes(phi: float, **kw: Any) -> Config:
    r"""Yi et al. (2025) Thm 3: x in one hyperplane, y in another, the planes at angle ``phi``.

    ``constraint = "subspace"``; the claim: the optimal centroid angle is :math:`\phi`, so the gap
    cannot close (docs/theory.md 2.3).
    """
    return _config({"constraint": "subspace", "phi": phi}, kw)


SCENARIOS: dict[str, Callable[..., Config]] = {
    "cone_effect": cone_effect,
    "parallel_flow": parallel_flow,
    "mismatched_flow": mismatched_flow,
    "gamma_lift_flow": gamma_lift_flow,
    "two_hyperplanes": two_hyperplanes,
}
"""Every scenario by name."""
