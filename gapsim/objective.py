r"""The training objective with every mechanism of the papers (docs/theory.md 2.3, 3, 4, 5).

Parameters are a dict ``{"z": (M, N, d) points, "nu": temperature parameter, "gamma": (P,)}``
with :math:`P = M(M-1)/2` modality pairs. The objective at update index :math:`t` is

.. math::
    \mathcal{L} = \frac1P\sum_{m<m'} L\big(Z'_m, Z'_{m'};\ \beta_t (1-\gamma_{mm'}^2)\big)
      + w_\mathrm{ATP} L_\mathrm{ATP}(Z') + w_\mathrm{CU} L_\mathrm{CU}(Z'),

where :math:`L` is the symmetric InfoNCE of :mod:`gapsim.loss` and :math:`Z'` are the points
after the stochastic mechanisms (the points stay the free parameters; the perturbed copies only
enter the loss):

- **gamma-lift** (Yaras et al.): appending :math:`\pm\gamma` to :math:`\sqrt{1-\gamma^2}\,x`,
  :math:`\sqrt{1-\gamma^2}\,y` shifts every logit by :math:`-\beta\gamma^2` (which cancels) and
  scales the rest by :math:`1-\gamma^2`: the loss is :math:`L` at :math:`a = \beta(1-\gamma^2)`;
  measures are taken on the lifted points, whose centroid distance is
  :math:`\sqrt{(1-\gamma^2)\Delta^2 + 4\gamma^2} \ge 2\gamma`.
- **partner re-draws**: with ``classes`` K, on a fraction ``class_p`` of steps each non-anchor
  modality's points are permuted at random *within* their class (class of pair i: i mod K), so
  same-class points act as positives of each other (Grassucci et al.'s group structure);
  with ``noisy`` pairs (the first :math:`\lfloor FN\rfloor`), their partners are re-drawn among
  the noisy pairs every step, so they carry no signal that free points could fit
  (exploratory, docs/theory.md 3.3).
- **swapping** (Yaras et al., M = 2): on a fraction ``swap_p`` of steps, ``hard`` exchanges each
  coordinate of :math:`x_i` and :math:`y_i` with probability 1/2; ``row`` exchanges whole rows
  with probability 1/2; ``soft`` mixes coordinate-wise,
  :math:`x' = \lambda x + (1-\lambda) y`, :math:`y' = (1-\lambda)x + \lambda y`,
  :math:`\lambda \sim U(0,1)` per coordinate. Swapped copies are renormalised to the sphere (as
  CLIP normalises its features), which keeps every logit within :math:`\pm\beta`.
- **ATP + CU** (Grassucci et al. 2026): :math:`L_\mathrm{ATP} = \frac{1}{M-1}\sum_{m\ge1}
  \frac1N\sum_i\|z^m_i - z^0_i\|^2` (modality 0 is the anchor) and
  :math:`L_\mathrm{CU} = \log\frac{1}{N(N-1)}\sum_{i\ne j}e^{-2\|\mu_i-\mu_j\|^2}`,
  :math:`\mu_i = \mathrm{normalize}(\frac1M\sum_m z^m_i)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from gapsim.geometry import safe_normalize
from gapsim.loss import infonce
from gapsim.measures import uniformity
from gapsim.temperature import beta_of_nu, scheduled_tau

__all__ = [
    "Mechanisms",
    "MechArgs",
    "pairs",
    "beta_at",
    "clip_loss",
    "perturb",
    "objective",
    "lift",
    "group_permutation",
    "reduced_rates",
]


class Mechanisms(NamedTuple):
    """Compile-time switches of the objective (part of :class:`gapsim.solvers.Static`)."""

    n_modalities: int = 2
    learn_tau: bool = False
    tau_param: str = "exp"
    schedule: str = "none"
    tau_fn: Callable | None = None
    gamma_lift: bool = False
    swap: str = "none"
    n_noisy: int = 0
    classes: int = 0
    atp: bool = False
    cu: bool = False

    @property
    def stochastic(self) -> bool:
        """Whether the objective changes from step to step at random."""
        return self.swap != "none" or self.n_noisy > 0 or self.classes > 0


class MechArgs(NamedTuple):
    """Traced parameters of the mechanisms (part of :class:`gapsim.solvers.Args`)."""

    key: jax.Array  # raw key data (uint32), so that Args stack and convert like any array
    tau_end: jax.Array
    tau_period: jax.Array
    tau_scale: jax.Array
    tau_lr_mult: jax.Array
    gamma_lr_mult: jax.Array
    swap_p: jax.Array
    class_p: jax.Array
    atp: jax.Array
    cu: jax.Array


def pairs(m: int) -> list[tuple[int, int]]:
    """Modality pairs ``(a, b)``, ``a < b``, in a fixed order (the order of ``gamma``)."""
    return [(a, b) for a in range(m) for b in range(a + 1, m)]


def beta_at(
    mech: Mechanisms, ma: MechArgs, beta0: jax.Array, nu: jax.Array, t, steps: int
) -> jax.Array:
    """Inverse temperature at update index ``t`` of ``steps``: learnable, scheduled or fixed."""
    if mech.learn_tau:
        return beta_of_nu(nu, mech.tau_param, ma.tau_scale)
    if mech.schedule == "none":
        return beta0
    tau = scheduled_tau(mech.schedule, t, steps, 1 / beta0, ma.tau_end, ma.tau_period, mech.tau_fn)
    return 1.0 / tau


def lift(x: jax.Array, y: jax.Array, gamma: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""Gamma-lift: :math:`[\sqrt{1-\gamma^2}x,\gamma]` and :math:`[\sqrt{1-\gamma^2}y,-\gamma]`."""
    c = jnp.sqrt(1 - gamma**2)
    col = jnp.full((x.shape[0], 1), gamma, x.dtype)
    return jnp.concatenate([c * x, col], 1), jnp.concatenate([c * y, -col], 1)


def clip_loss(z: jax.Array, beta: jax.Array, gamma: jax.Array, block_size: int = 0) -> jax.Array:
    r"""Mean over modality pairs of InfoNCE at :math:`\beta(1-\gamma_p^2)`.

    ``block_size``: rows per block of the logits (:func:`gapsim.blocks.block_rows`).
    """
    ps = pairs(z.shape[0])
    losses = [
        infonce(z[a], z[b], beta * (1 - gamma[p] ** 2), block_size) for p, (a, b) in enumerate(ps)
    ]
    return sum(losses) / len(ps)


def group_permutation(key: jax.Array, groups: jax.Array, active: jax.Array) -> jax.Array:
    """Random permutation moving each active index to an active index of the same group.

    Inactive indices map to themselves. ``perm[i]`` is the new partner of ``i``.
    """
    n = groups.shape[0]
    idx = jnp.arange(n)
    g = jnp.where(active, groups, jnp.max(groups) + 1 + idx.astype(groups.dtype))  # singletons
    r = jax.random.uniform(key, (n,))
    g = g.astype(r.dtype)  # group + a fraction in [0, 1) sorts by group, then by the fraction
    home = jnp.argsort(g + idx.astype(r.dtype) / n)  # positions in group order
    rand = jnp.argsort(g + r)  # a random order inside each group
    return jnp.zeros(n, idx.dtype).at[home].set(rand)


def _swap(kind: str, key: jax.Array, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    if kind == "row":
        m = jax.random.bernoulli(key, 0.5, (x.shape[0], 1))
    elif kind == "hard":
        m = jax.random.bernoulli(key, 0.5, x.shape)
    else:  # soft
        m = jax.random.uniform(key, x.shape, x.dtype)
    m = m.astype(x.dtype)
    xs, ys = (1 - m) * x + m * y, m * x + (1 - m) * y
    if kind == "row":
        return xs, ys
    return safe_normalize(xs, x), safe_normalize(ys, y)


def perturb(mech: Mechanisms, ma: MechArgs, z: jax.Array, t) -> jax.Array:
    """The stochastic mechanisms at step ``t`` (identity when none is on)."""
    if not mech.stochastic:
        return z
    key = jax.random.wrap_key_data(ma.key)
    k_cls, k_noise, k_do, k_swap = jax.random.split(jax.random.fold_in(key, t), 4)
    m, n = z.shape[0], z.shape[1]
    idx = jnp.arange(n)
    rows = []
    for j in range(1, m):
        perm = idx
        kc, kn = jax.random.fold_in(k_cls, j), jax.random.fold_in(k_noise, j)
        if mech.classes > 0:
            k_on, k_perm = jax.random.split(kc)
            on = jax.random.bernoulli(k_on, ma.class_p)
            perm = group_permutation(k_perm, idx % mech.classes, jnp.full(n, on))
        if mech.n_noisy > 0:
            noisy = idx < mech.n_noisy
            perm = perm[group_permutation(kn, jnp.zeros(n, idx.dtype), noisy)]
        rows.append(z[j][perm])
    z = jnp.stack([z[0], *rows])
    if mech.swap != "none":
        do = jax.random.bernoulli(k_do, ma.swap_p)
        xs, ys = _swap(mech.swap, k_swap, z[0], z[1])
        z = z.at[0].set(jnp.where(do, xs, z[0])).at[1].set(jnp.where(do, ys, z[1]))
    return z


def objective(
    mech: Mechanisms,
    ma: MechArgs,
    params: dict,
    beta: jax.Array,
    t,
    stochastic: bool = True,
    block_size: int = 0,
) -> jax.Array:
    r"""The total loss (module docstring); ``stochastic=False`` gives its noise-free version.

    ``block_size``: rows per block of the :math:`N\times N` quantities (``0`` automatic;
    :func:`gapsim.blocks.block_rows`), given by the solvers from ``Static.block_size``.
    """
    z = perturb(mech, ma, params["z"], t) if stochastic else params["z"]
    loss = clip_loss(z, beta, params["gamma"], block_size)
    if mech.atp:
        loss = loss + ma.atp * jnp.mean(jnp.sum((z[1:] - z[:1]) ** 2, axis=-1))
    if mech.cu:
        mu = safe_normalize(jnp.mean(z, axis=0), z[0])
        loss = loss + ma.cu * uniformity(mu, block_size=block_size)
    return loss


def reduced_rates(
    x: jax.Array,
    y: jax.Array,
    nu: jax.Array | float,
    gamma: jax.Array | float,
    tau_param: str = "exp",
    tau_scale: float = 1.0,
) -> dict[str, jax.Array]:
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
        dict with ``beta``, ``a``, ``g``, ``dbeta_dt``, ``dgamma_dt`` and ``invariant``.
    """
    from gapsim.loss import infonce_value_and_grad

    beta = beta_of_nu(nu, tau_param, tau_scale)
    dbeta_dnu = jax.grad(beta_of_nu)(jnp.asarray(nu, x.dtype), tau_param, tau_scale)
    a = beta * (1 - gamma**2)
    g = -infonce_value_and_grad(x, y, a)[1].beta
    return {
        "beta": beta,
        "a": a,
        "g": g,
        "dbeta_dt": dbeta_dnu**2 * (1 - gamma**2) * g,
        "dgamma_dt": -2 * beta * gamma * g,
        "invariant": beta**2 * gamma * jnp.exp(-(gamma**2) / 2),
    }
