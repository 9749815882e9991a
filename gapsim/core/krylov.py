r"""The smallest eigenvalue of a symmetric operator on a subspace: thick-restart Lanczos in JAX.

:func:`smallest` finds the smallest algebraic eigenvalue :math:`\lambda_1` of a symmetric
operator :math:`H` restricted to the range of an orthogonal projection :math:`P`, from products
:math:`PHPv` only, as one compiled loop (``lax.while_loop``; fixed shapes, so it vmaps).

**Method.** Lanczos with full reorthogonalisation and thick restarts (Wu & Simon 2000; the
Krylov-Schur form of Stewart 2001). A basis :math:`V` of ``krylov`` orthonormal vectors in
:math:`\mathrm{range}(P)` and their images :math:`W = PHPV` are stored; each new vector is the
last image orthogonalised twice against :math:`V` ("twice is enough"), projected, and after
normalising projected and orthogonalised once more, so the basis stays orthonormal and inside
the subspace to rounding. (Without the second pass, a short candidate's rounding, amplified by
normalising, leaks out of the subspace once the residuals are small: a zero Ritz value of the
complement then appears below the true smallest eigenvalue; ``tests/test_certificate_mf.py``
has the case.)
When the basis is full, Rayleigh-Ritz on :math:`T = V^\top W` gives the Ritz pairs
:math:`(\theta_j, y_j)` and their residuals :math:`r_j = Hy_j - \theta_jy_j`, computed
explicitly from :math:`W` (no recurrence is trusted). The ``keep`` lowest Ritz vectors, with
their images, start the next cycle, continued along :math:`r_1`. A breakdown (the new vector
is rounding) continues with a random vector of the subspace; when that too is rounding, the
basis spans the whole subspace and the Ritz values are its exact eigenvalues (``exhausted``).
(A repeated eigenvalue needs one fresh direction per multiplicity: a Krylov space meets each
eigenspace in one dimension.)

**Why Lanczos, not LOBPCG.** ``jax.experimental.sparse.linalg.lobpcg_standard`` finds the
*largest* eigenvalues (so it needs a shift :math:`\sigma I - H` and a norm estimate first),
takes a fixed iteration count, and returns no residual bound to decide a verdict with. Here
the iteration is confined to :math:`\mathrm{range}(P)`, so the zero eigenvalues of the
complement never enter and no shift is needed: the smallest Ritz value approximates
:math:`\lambda_1` of the restricted operator directly. The residuals are explicit, so the
error is known, and the loop stops on it.

**Error.** Rayleigh-Ritz gives :math:`\theta_1 \ge \lambda_1` (Courant-Fischer): a Ritz value
below a threshold proves an eigenvalue below it. The other side: some eigenvalue lies within
:math:`\|r_1\|` of :math:`\theta_1` (the Krylov-Weinstein bound, :math:`\|y_1\| = 1`;
Parlett, *The Symmetric Eigenvalue Problem*, 1998), and ``error`` is :math:`\|r_1\|`. It
assumes that this eigenvalue is :math:`\lambda_1`, i.e. that no eigenvector below it is
orthogonal to the Krylov space: the start vector is random, so that has probability zero.
The sharper Kato-Temple bound :math:`\|r_1\|^2/(\lambda_2 - \theta_1)` (ibid.) is not
used: it needs a lower bound of :math:`\lambda_2`, and the Ritz value :math:`\theta_2` is an
*upper* bound that stays far above a near-double :math:`\lambda_1 \approx \lambda_2` until
the pair is resolved (seen at N = 64, d = 8: a pair split by 1.2e-11, a Ritz gap of 1.3e-4,
and a Kato-Temple "bound" below the true error). ``gap`` (:math:`\theta_2 - \|r_2\| -
\theta_1`) is reported for information only. The loop stops when ``stop(theta, error, norm)``
(the caller's rule), when the subspace is exhausted (error: the rounding of
:math:`\|r_1\|`), or after ``max_matvecs`` products.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from gapsim.core._types import Array

__all__ = ["Ritz", "smallest"]

BREAKDOWN_RTOL = 1e-8
"""A new direction shorter than this times the image it came from is rounding: replaced by a
random direction of the subspace (and the subspace is exhausted if that one is rounding too)."""


class Ritz(NamedTuple):
    r"""The smallest Ritz value and its error (see the module docstring).

    Attributes:
        value: :math:`\theta_1`, an upper bound of :math:`\lambda_1`.
        error: bound on :math:`|\theta_1 - \lambda_1|`: the residual :math:`\|r_1\|`.
        residual: :math:`\|r_1\|`.
        gap: :math:`\theta_2 - \|r_2\| - \theta_1` (inf with one Ritz value; information only).
        norm: largest :math:`|\theta|` seen (a lower bound of :math:`\|PHP\|`).
        matvecs: products with the operator.
        exhausted: the basis spans the whole subspace (the Ritz values are exact).
        converged: the caller's ``stop`` rule held, or exhausted.
        dim: number of Ritz values of the last Rayleigh-Ritz step.
    """

    value: Array
    error: Array
    residual: Array
    gap: Array
    norm: Array
    matvecs: Array
    exhausted: Array
    converged: Array
    dim: Array


class _State(NamedTuple):
    v: Array  # (krylov, n) orthonormal rows (zeros beyond nv)
    w: Array  # (krylov, n) images of the rows
    nv: Array
    exhausted: Array
    matvecs: Array
    norm: Array
    ritz: Ritz
    next: Array  # (n,) the direction the next basis vector comes from (0: a fresh one)


def _orth(v: Array, u: Array) -> Array:
    for _ in range(2):  # (v @ u) @ v, not v.T @ (v @ u): no transposed copy of the basis
        u = u - (v @ u) @ v
    return u


def _clean(project: Callable[[Array], Array], v: Array, u: Array) -> Array:
    return _orth(v, project(_orth(v, u)))


def smallest(
    op: Callable[[Array], Array],
    project: Callable[[Array], Array],
    key: jax.Array,
    n: int,
    *,
    krylov: int,
    keep: int,
    max_matvecs: int,
    stop: Callable[[Array, Array, Array], Array],
    active: Array | bool = True,
) -> Ritz:
    r"""Smallest eigenvalue of ``project o op o project`` on the range of ``project``.

    Args:
        op: symmetric :math:`H`, ``(n,) -> (n,)``.
        project: the orthogonal projection :math:`P`, ``(n,) -> (n,)``.
        key: PRNG key of the random start (rolled, the directions after a breakdown).
        n: dimension of the whole space.
        krylov: basis size (static).
        keep: Ritz vectors kept at a restart (``1 <= keep < krylov``).
        max_matvecs: budget of products with ``op``.
        stop: ``stop(theta, error, norm) -> bool``: enough (checked after each Rayleigh-Ritz
            step; ``norm`` is the largest ``|Ritz value|`` seen).
        active: when False (traced), no product is taken and the value is NaN.

    Returns:
        :class:`Ritz`.

    Example:
        >>> h = jnp.diag(jnp.arange(1.0, 6.0))
        >>> p = lambda u: u.at[0].set(0.0)  # the subspace without e_0
        >>> r = smallest(lambda u: h @ u, p, jax.random.key(0), 5, krylov=4, keep=2,
        ...              max_matvecs=50, stop=lambda t, e, s: e <= 1e-10 * s)
        >>> round(float(r.value), 8)
        2.0
    """
    if not 1 <= keep < krylov:
        raise ValueError(f"need 1 <= keep < krylov, got keep={keep}, krylov={krylov}")
    dtype = jnp.float64
    active = jnp.asarray(active)

    # directions after a breakdown: the random start vector, rolled (a permutation of i.i.d.
    # normal entries is i.i.d. normal: generic, without a random draw inside the loop)
    r0 = jax.random.normal(key, (n,), dtype)

    def fresh(i):
        return jnp.roll(r0, (1 + 7919 * i) % n)

    def rayleigh_ritz(s: _State) -> tuple[Array, Array, Ritz, Array]:
        valid = jnp.arange(krylov, dtype=jnp.int32) < s.nv
        t = s.v @ s.w.T
        t = (t + t.T) / 2
        lift = 2 * jnp.linalg.norm(t) + 1  # invalid rows decouple above every valid value
        theta, sv = jnp.linalg.eigh(t + jnp.diag(jnp.where(valid, 0.0, lift)))
        y, hy = sv.T @ s.v, sv.T @ s.w
        res = jnp.linalg.norm(hy - theta[:, None] * y, axis=1)
        top = theta[jnp.maximum(s.nv - 1, 0)]
        norm = jnp.maximum(s.norm, jnp.maximum(jnp.abs(theta[0]), jnp.abs(top)))
        gap = jnp.where(s.nv >= 2, theta[1] - res[1] - theta[0], jnp.inf)
        err = res[0]
        value = jnp.where(s.nv > 0, theta[0], jnp.inf)  # an empty subspace: no eigenvalue
        ok = s.exhausted | stop(value, err, norm)
        ritz = Ritz(value, err, res[0], gap, norm, s.matvecs, s.exhausted, ok, s.nv)
        return y, hy, ritz, theta

    def restart(s: _State) -> _State:
        """Rayleigh-Ritz; keep the lowest Ritz vectors and images, continue along r_1."""
        y, hy, ritz, theta = rayleigh_ritz(s)
        rows = jnp.arange(krylov)[:, None] < keep
        return s._replace(
            v=jnp.where(rows, y, 0.0),
            w=jnp.where(rows, hy, 0.0),
            nv=jnp.asarray(keep, jnp.int32),
            norm=ritz.norm,
            ritz=ritz,
            next=hy[0] - theta[0] * y[0],
        )

    def expand(s: _State) -> _State:
        """One product: the next basis vector from ``s.next``, or a fresh one on breakdown."""
        ref = jnp.linalg.norm(s.w[jnp.maximum(s.nv - 1, 0)])
        u = _clean(project, s.v, s.next)
        nu = jnp.linalg.norm(u)
        broke = nu <= BREAKDOWN_RTOL * ref  # (the start: u = 0, so a fresh direction)
        r = fresh(s.matvecs)
        u = jnp.where(broke, r, u / jnp.maximum(nu, 1e-300))
        # cleaned once more after normalising: a fresh direction's part in the subspace (none
        # is exhaustion), or the rounding of a short candidate, which normalising amplified
        u = _clean(project, s.v, u)
        nu = jnp.linalg.norm(u)
        done = broke & (nu <= BREAKDOWN_RTOL * jnp.linalg.norm(r))
        u = jnp.where(done, 0.0, u / jnp.maximum(nu, 1e-300))
        w_new = project(op(u))
        live = (~done).astype(jnp.int32)
        return s._replace(
            v=s.v.at[s.nv].set(u),
            w=s.w.at[s.nv].set(w_new),
            nv=s.nv + live,
            exhausted=done,
            matvecs=s.matvecs + live,
            next=w_new,
        )

    def cycle(s: _State) -> _State:
        """Fill the basis (one product per vector), then a Rayleigh-Ritz step and a restart."""
        s = jax.lax.while_loop(
            lambda s: (s.nv < krylov) & ~s.exhausted & (s.matvecs < max_matvecs), expand, s
        )
        return restart(s)

    v0 = jnp.zeros((krylov, n), dtype)
    nan = jnp.asarray(jnp.nan, dtype)
    zero, false = jnp.zeros((), jnp.int32), jnp.zeros((), bool)
    ritz0 = Ritz(nan, nan, nan, nan, nan, zero, false, false, zero)
    s = _State(v0, v0, zero, false, zero, jnp.zeros((), dtype), ritz0, jnp.zeros(n, dtype))
    s = jax.lax.while_loop(
        lambda s: active & ~s.ritz.converged & (s.matvecs < max_matvecs), cycle, s
    )
    return s.ritz
