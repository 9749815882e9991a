r"""The training objective: InfoNCE over modality pairs plus the mechanisms it is given.

Parameters are a dict: ``{"z": (M, N, d) points}`` plus the learnable variables the mechanisms
add (``nu``, ``gamma``, ...; :mod:`gapsim.core.mechanisms`). With :math:`P = M(M-1)/2`
modality pairs, the objective at update index :math:`t` is

.. math::
    \mathcal{L} = \frac1P\sum_{p = (m,m')} L\big(Z'_m, Z'_{m'};\ \beta_t\,s_p\big)
      + \sum_k T_k(Z'),

where :math:`L` is the symmetric InfoNCE of :mod:`gapsim.core.loss`, :math:`\beta_t` the
temperature after every mechanism's :meth:`~gapsim.core.mechanisms.Mechanism.temperature`,
:math:`s_p` the product of their :meth:`~gapsim.core.mechanisms.Mechanism.pair_scale` (the
gamma-lift's :math:`1-\gamma_p^2`), :math:`Z'` the points after their
:meth:`~gapsim.core.mechanisms.Mechanism.perturb` (swapping, re-drawn partners; the points stay
the free parameters) and :math:`T_k` their added terms (Grassucci et al.'s ATP and CU). The
mechanisms and their math: docs/theory.md 2.3-5 and the modules of
:mod:`gapsim.core.mechanisms`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gapsim.core._types import keyed
from gapsim.core.loss import infonce
from gapsim.core.mechanisms import KEY_STREAMS, Mechanism, lift
from gapsim.core.mechanisms import stochastic as _stochastic

__all__ = [
    "pairs",
    "beta_at",
    "clip_loss",
    "perturb",
    "objective",
    "measured_pair",
    "reduced_rates",
    "Rates",
]


def pairs(m: int) -> list[tuple[int, int]]:
    """Modality pairs ``(a, b)``, ``a < b``, in a fixed order (the order of ``gamma``)."""
    return [(a, b) for a in range(m) for b in range(a + 1, m)]


def beta_at(
    mechs: Sequence[Mechanism], hypers: Sequence[Any], beta0: jax.Array, params: dict, t, steps
) -> jax.Array:
    """Inverse temperature at update index ``t`` of ``steps`` (fixed ``beta0`` without any)."""
    beta = beta0
    for m, h in zip(mechs, hypers, strict=True):
        beta = m.temperature(h, params, beta, t, steps)
    return beta


def clip_loss(
    z: jax.Array, beta: jax.Array, scales: Sequence[Any] | None = None, block_size: int = 0
) -> jax.Array:
    r"""Mean over modality pairs of InfoNCE at :math:`\beta s_p` (``scales``: ``None`` = 1).

    ``block_size``: rows per block of the logits (:func:`gapsim.core.blocks.block_rows`).
    """
    ps = pairs(z.shape[0])
    scales = [None] * len(ps) if scales is None else scales
    losses = [
        infonce(z[a], z[b], beta if s is None else beta * s, block_size)
        for (a, b), s in zip(ps, scales, strict=True)
    ]
    return sum(losses) / len(ps)


def _pair_scales(mechs, hypers, params: dict, n_pairs: int) -> list[Any]:
    out: list[Any] = []
    for p in range(n_pairs):
        s = None
        for m, h in zip(mechs, hypers, strict=True):
            f = m.pair_scale(h, params, p)
            if f is not None:
                s = f if s is None else s * f
        out.append(s)
    return out


def perturb(
    mechs: Sequence[Mechanism], hypers: Sequence[Any], key: jax.Array, z: jax.Array, t
) -> jax.Array:
    """The stochastic mechanisms at step ``t`` (identity when none is on).

    ``key``: the run's raw key data; each step splits ``fold_in(key, t)`` into
    :data:`~gapsim.core.mechanisms.KEY_STREAMS` streams, one per kind of draw.
    """
    if not _stochastic(tuple(mechs)):
        return z
    keys = jax.random.split(jax.random.fold_in(jax.random.wrap_key_data(key), t), KEY_STREAMS)
    for m, h in zip(mechs, hypers, strict=True):
        z = m.perturb(h, keys, z, t)
    return z


def objective(
    mechs: Sequence[Mechanism],
    hypers: Sequence[Any],
    key: jax.Array,
    params: dict,
    beta: jax.Array,
    t,
    stochastic: bool = True,
    block_size: int = 0,
) -> jax.Array:
    r"""The total loss (module docstring); ``stochastic=False`` gives its noise-free version.

    ``beta``: the temperature at ``t`` (:func:`beta_at`). ``block_size``: rows per block of the
    :math:`N\times N` quantities (``0`` automatic; :func:`gapsim.core.blocks.block_rows`),
    given by the solvers from ``Static.block_size``.
    """
    z = perturb(mechs, hypers, key, params["z"], t) if stochastic else params["z"]
    scales = _pair_scales(mechs, hypers, params, len(pairs(z.shape[0])))
    loss = clip_loss(z, beta, scales, block_size)
    for m, h in zip(mechs, hypers, strict=True):
        term = m.term(h, params, z, block_size)
        if term is not None:
            loss = loss + term
    return loss


def measured_pair(mechs: Sequence[Mechanism], params: dict) -> tuple[jax.Array, jax.Array]:
    """Modalities 0 and 1 as measured (lifted by the gamma-lift)."""
    x, y = params["z"][0], params["z"][1]
    for m in mechs:
        x, y = m.lift(params, x, y)
    return x, y


@keyed
class Rates(NamedTuple):
    r"""Yaras et al.'s reduced dynamics at one state (:func:`reduced_rates`)."""

    beta: jax.Array
    a: jax.Array
    r"""Effective inverse temperature :math:`\beta(1-\gamma^2)`."""
    g: jax.Array
    r""":math:`g = -\partial L/\partial a`."""
    dbeta_dt: jax.Array
    dgamma_dt: jax.Array
    invariant: jax.Array
    r""":math:`\beta^2\gamma e^{-\gamma^2/2}` (Lemma 3.1)."""


def reduced_rates(
    x: jax.Array,
    y: jax.Array,
    nu: jax.Array | float,
    gamma: jax.Array | float,
    tau_param: str = "exp",
    tau_scale: float = 1.0,
) -> Rates:
    r"""Yaras et al.'s reduced :math:`(\beta, \gamma)` dynamics at points ``x``, ``y`` (M = 2).

    With :math:`a = \beta(1-\gamma^2)` and :math:`g = -\langle Z, \nabla L(aZ)\rangle
    = -\partial L/\partial a` (the :math:`\beta`-gradient of InfoNCE at :math:`a`, negated),
    the gradient flow with equal rates for :math:`\nu` and :math:`\gamma` is

    .. math::
        \dot\beta = \beta'(\nu)^2 (1-\gamma^2)\, g, \qquad \dot\gamma = -2\beta\gamma\, g,

    whatever the points do. Sign rule: :math:`g \ge 0` for matched pairs (the temperature and the
    gap fall together), :math:`g < 0` for mismatched ones (both rise). For the ``exp``
    parametrisation :math:`\beta^2\gamma e^{-\gamma^2/2}` is invariant (Lemma 3.1).

    Returns:
        :class:`Rates`: ``beta``, ``a``, ``g``, ``dbeta_dt``, ``dgamma_dt``, ``invariant``.
    """
    from gapsim.core.loss import infonce_value_and_grad
    from gapsim.core.temperature import beta_of_nu

    beta = beta_of_nu(nu, tau_param, tau_scale)
    dbeta_dnu = jax.grad(beta_of_nu)(jnp.asarray(nu, x.dtype), tau_param, tau_scale)
    a = beta * (1 - gamma**2)
    g = -infonce_value_and_grad(x, y, a)[1].beta
    return Rates(
        beta=beta,
        a=a,
        g=g,
        dbeta_dt=dbeta_dnu**2 * (1 - gamma**2) * g,
        dgamma_dt=-2 * beta * gamma * g,
        invariant=beta**2 * gamma * jnp.exp(-(gamma**2) / 2),
    )


__all__ += ["lift"]
