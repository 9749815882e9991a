r"""Temperature: fixed, learnable (four parametrisations) or scheduled.

Learnable (Yaras et al. 2025, theory.md 3.1): the inverse temperature is :math:`\beta = f(\nu)` with
:math:`\nu` a free parameter updated by the same optimiser as the points, at ``tau_lr_mult``
times their step size (the step ratio is a first-order knob for how strongly the temperature
freezes the gap). Parametrisations :math:`f`:

- ``exp``: :math:`e^\nu` (CLIP's ``logit_scale``; the Lemma 3.1 invariant holds for this one),
- ``softplus``: :math:`\log(1 + e^\nu)`,
- ``identity``: :math:`\nu` (kept positive by clipping at ``BETA_MIN``),
- ``scaled``: :math:`e^{\nu/s}` (``tau_scale`` = s).

Schedules give :math:`\tau` as a function of the update index :math:`t = 0, \dots, T-1`
(:math:`T` = ``steps``), reaching ``tau_end`` exactly on the last step:

- ``linear``: :math:`\tau_t = \tau_0 + (\tau_1 - \tau_0)\,t/(T-1)`,
- ``linear_beta``: :math:`\beta_t = \beta_0 + (\beta_1 - \beta_0)\,t/(T-1)` (the schedule of
  Yaras et al.'s rate formula
  :math:`c = [(\beta_0+1)e^{-\beta_0} - (\beta_1+1)e^{-\beta_1}]/(\beta_1-\beta_0)`),
- ``cosine``: alternation :math:`\tau_t = \tau_0 + (\tau_1-\tau_0)(1-\cos(2\pi t/P))/2` with
  period :math:`P` = ``tau_period`` (so :math:`\tau_1` is reached at :math:`t = P/2`),
- any callable ``fn(t) -> tau`` (traceable by JAX) through the API.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from gapsim.core._types import IntScalar, Scalar

__all__ = ["TAU_PARAMS", "SCHEDULES", "beta_of_nu", "nu_of_beta", "scheduled_tau"]

TAU_PARAMS = ("exp", "softplus", "identity", "scaled")
SCHEDULES = ("none", "linear", "linear_beta", "cosine", "custom")
BETA_MIN = 1e-6


def beta_of_nu(nu: Scalar, param: str, scale: float | Scalar = 1.0) -> Scalar:
    r""":math:`\beta = f(\nu)` for the parametrisation ``param`` (see the module docstring)."""
    if param == "exp":
        return jnp.exp(nu)
    if param == "softplus":
        return jnp.logaddexp(nu, 0.0)
    if param == "identity":
        return jnp.maximum(nu, BETA_MIN)
    if param == "scaled":
        return jnp.exp(nu / scale)
    raise ValueError(f"tau_param={param!r}: must be one of {', '.join(TAU_PARAMS)}")


def nu_of_beta(beta: float, param: str, scale: float = 1.0) -> float:
    r"""Inverse of :func:`beta_of_nu`: the :math:`\nu` that gives ``beta``."""
    import math

    if param == "exp":
        return math.log(beta)
    if param == "softplus":
        return beta + math.log(-math.expm1(-beta))  # log(e^beta - 1), stable
    if param == "identity":
        return beta
    if param == "scaled":
        return scale * math.log(beta)
    raise ValueError(f"tau_param={param!r}: must be one of {', '.join(TAU_PARAMS)}")


def scheduled_tau(
    kind: str,
    t: Scalar | IntScalar | int | float,
    steps: int,
    tau0: Scalar,
    tau1: Scalar,
    period: Scalar,
    fn: Callable[[Scalar], Scalar] | None = None,
) -> Scalar:
    """Temperature at update index ``t`` for schedule ``kind`` (``none`` gives ``tau0``)."""
    frac = t / max(steps - 1, 1)
    if kind == "none":
        return tau0 + 0.0 * frac
    if kind == "linear":
        return tau0 + (tau1 - tau0) * frac
    if kind == "linear_beta":
        return 1.0 / (1.0 / tau0 + (1.0 / tau1 - 1.0 / tau0) * frac)
    if kind == "cosine":
        return tau0 + (tau1 - tau0) * (1 - jnp.cos(2 * jnp.pi * t / period)) / 2
    if kind == "custom":
        return fn(t)
    raise ValueError(f"tau_schedule={kind!r}: must be one of {', '.join(SCHEDULES)}")
