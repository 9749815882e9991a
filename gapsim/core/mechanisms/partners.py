r"""Re-drawn partners: Grassucci et al.'s class structure and exploratory noisy pairs.

Both permute each non-anchor modality's points (the points stay the parameters; the permuted
copies only enter the loss):

- :class:`ClassPartners`: on a fraction ``class_p`` of steps, at random *within* each class
  (class of pair i: i mod K), so same-class points act as positives of each other (Grassucci et
  al. 2026's group structure);
- :class:`NoisyPartners`: the first :math:`\lfloor FN\rfloor` pairs' partners re-drawn among those
  pairs every step, so they carry no signal that free points could fit (docs/theory.md 3.3).

Applied in that order, the two permutations compose: ``z[j][perm_c][perm_n]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from gapsim.core.mechanisms.base import Mechanism

__all__ = ["ClassPartners", "ClassHyper", "NoisyPartners", "group_permutation"]


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


def _permute_rows(z: jax.Array, perm_of) -> jax.Array:
    """Modality 0 as it is; modality ``j >= 1`` gathered by ``perm_of(j)``."""
    return jnp.stack([z[0], *(z[j][perm_of(j)] for j in range(1, z.shape[0]))])


class ClassHyper(NamedTuple):
    """Traced part of :class:`ClassPartners`."""

    class_p: jax.Array
    """Fraction of steps with within-class re-draws."""


@dataclass(frozen=True)
class ClassPartners(Mechanism):
    """Partners re-drawn within K classes on a fraction ``class_p`` of steps."""

    classes: int = 2
    stochastic: ClassVar[bool] = True
    stream: ClassVar[int] = 0

    def perturb(self, hyper: ClassHyper, keys, z, t):  # noqa: D102
        idx = jnp.arange(z.shape[1])

        def perm(j):
            k_on, k_perm = jax.random.split(jax.random.fold_in(keys[self.stream], j))
            on = jax.random.bernoulli(k_on, hyper.class_p)
            return group_permutation(k_perm, idx % self.classes, jnp.full(z.shape[1], on))

        return _permute_rows(z, perm)

    def describe(self, hyper: ClassHyper) -> str:  # noqa: D102
        return f"classes={self.classes}(p={float(hyper.class_p):g})"


@dataclass(frozen=True)
class NoisyPartners(Mechanism):
    """The first ``n_noisy`` pairs' partners re-drawn among them every step (exploratory)."""

    n_noisy: int = 1
    fraction: float = 0.0
    """The configured fraction (for the description only)."""
    stochastic: ClassVar[bool] = True
    stream: ClassVar[int] = 1

    def perturb(self, hyper, keys, z, t):  # noqa: D102
        idx = jnp.arange(z.shape[1])
        noisy = idx < self.n_noisy

        def perm(j):
            kn = jax.random.fold_in(keys[self.stream], j)
            return group_permutation(kn, jnp.zeros(z.shape[1], idx.dtype), noisy)

        return _permute_rows(z, perm)

    def describe(self, hyper) -> str:  # noqa: D102
        return f"noisy={self.fraction:g}"
