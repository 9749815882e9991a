r"""Gap measures of large paired sets in one blocked pass over :math:`S = XY^\top`.

:func:`pair_measures` gives every key of :data:`gapsim.core.measures.MEASURE_KEYS` plus R@5 both
ways, without an :math:`N\times N` matrix: row blocks of ``block`` rows of X meet all of Y
(a ``(block, N)`` slab at a time); row quantities finish in the block, column quantities are
carried across blocks. With :math:`d_i = x_i\cdot y_i`:

- rank of the partner, row i: :math:`g_i = \#\{j\ne i: S_{ij} > d_i + \delta\}` candidates
  above it and :math:`e_i = \#\{j\ne i: |S_{ij} - d_i| \le \delta\}` tied with it (column j
  likewise against :math:`d_j`), :math:`\delta = d\,\epsilon`
  (:func:`gapsim.core.measures.tie_tolerance`); R@k is the mean of
  :math:`\min(1, \max(0, (k-g_i)/(e_i+1)))`, the expected recall under a uniformly random
  tie-break (:func:`gapsim.core.measures.recall_at_k`: the rule of every gapsim
  measure; identical rows give chance, not a hit);
- InfoNCE (averaged convention, :func:`gapsim.infonce`): logits are at most :math:`\beta`, so
  one :math:`e^{\beta(S_{ij}-1)}` per entry serves the row and the column sums whenever
  :math:`e^{-2\beta}` does not underflow (docs/theory.md 0); otherwise row log-sum-exps inside the
  block and column log-sum-exps as running (max, sum) pairs;
- margin :math:`\alpha_i = d_i - \max_{j\ne i}\max(S_{ij}, S_{ji})` (Yaras et al. 2025) and
  the matched fraction (:math:`\alpha_i > \delta`: a tie is not a match).

Everything :math:`O(Nd)` (centroids, paired cosines, alignment) is exact in float64. The
uniformity (Wang & Isola 2020) is exact on all pairs up to ``uniformity_sample`` rows and
above that estimated on a random subsample of that many rows of each modality (the estimator
of :math:`\log E_{i\ne j}e^{-2\|z_i-z_j\|^2}` over the sampled pairs; documented in the
output as ``uniformity_sample``). The pass runs in the dtype of the rows (float32 for
float32/float16 input: cosines known to about ``1e-6``, so ranks of near-ties are read to that
precision only; the slab products at full float32 precision, not TF32, on a GPU too).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.core.blocks import slab_rows
from gapsim.core.measures import (
    centroid_angle,
    recall_at_k,
    slab_counts,
    tie_tolerance,
    uniformity,
)
from gapsim.core.precision import x64
from gapsim.core.sampling import subsample

__all__ = ["pair_measures", "subsample"]


@partial(jax.jit, static_argnames=("shared", "tol"))
def _block(carry, xb, start, y, dg, beta, shared: bool, tol: float):
    """One row block: the slab ``S[start:start+b]``.

    Ranks, ties and off-diagonal maxima are the core's kernel
    (:func:`gapsim.core.measures.slab_counts`); the exponential sums read the slab with its
    partners set to -inf, and the partners' exponentials are added back.
    """
    g_c, e_c, cmax, cm, cs = carry
    b = xb.shape[0]
    rows = jnp.arange(b, dtype=start.dtype)  # int32 like start (strict dtype promotion)
    cols = start + rows
    s = jnp.matmul(xb, y.T, precision=jax.lax.Precision.HIGHEST)
    d_slab = s[rows, cols]
    diag = cols[:, None] == jnp.arange(y.shape[0], dtype=start.dtype)[None, :]
    c = slab_counts(s, diag, jnp.ones(b, bool), dg[cols], dg, tol)  # the core's tie rule
    g_r, e_r, rmax = c.greater_rows, c.tied_rows, c.max_rows
    g_c = g_c + c.greater_cols.astype(g_c.dtype)
    e_c = e_c + c.tied_cols.astype(e_c.dtype)
    cmax = jnp.maximum(cmax, c.max_cols)
    off = jnp.where(diag, -jnp.inf, s)
    if shared:  # logits <= beta: one exp(beta (S - 1)) serves rows and columns (docs/theory.md 0)
        e = jnp.exp(beta * (off - 1))
        ed = jnp.exp(beta * (d_slab - 1))
        cs = (cs + jnp.sum(e, axis=0)).at[cols].add(ed)
        return (g_c, e_c, cmax, cm, cs), (g_r, e_r, rmax, beta + jnp.log(e.sum(1) + ed))
    lse_r = jax.nn.logsumexp(beta * s, axis=1)
    bm = jnp.maximum(cm, beta * jnp.max(s, axis=0))
    cs = cs * jnp.exp(cm - bm) + jnp.sum(jnp.exp(beta * s - bm[None, :]), axis=0)
    return (g_c, e_c, cmax, bm, cs), (g_r, e_r, rmax, lse_r)


def _pass(x, y, beta: float, block: int, tick: Callable[[int], None] | None):
    n, dt = x.shape[0], x.dtype
    tol = tie_tolerance(x.shape[1], dt)
    # exp(-2 beta) must not underflow for the shared exponent (smallest normal: e^-87 in f32)
    shared = bool(2 * beta < 0.9 * -np.log(np.finfo(dt).tiny))
    yj = jnp.asarray(y)
    dg = jnp.asarray(np.einsum("ij,ij->i", x, y))
    carry = (
        jnp.zeros(n, jnp.int32),
        jnp.zeros(n, jnp.int32),
        jnp.full(n, -jnp.inf, dt),
        jnp.full(n, beta if shared else -np.inf, dt),  # the shared shift is beta
        jnp.zeros(n, dt),
    )
    outs = []
    for start in range(0, n, block):  # the last block may be shorter: at most two shapes
        xb = jnp.asarray(x[start : start + block])
        st = jnp.asarray(start, jnp.int32)
        carry, out = _block(carry, xb, st, yj, dg, jnp.asarray(beta, dt), shared, tol)
        outs.append([np.asarray(o) for o in out])
        if tick is not None:
            tick(xb.shape[0])
    g_r, e_r, rmax, lse_r = (np.concatenate(o) for o in zip(*outs, strict=True))
    g_c, e_c, cmax, cm, cs = (np.asarray(c) for c in carry)
    return (g_r, e_r), (g_c, e_c), rmax, cmax, lse_r, cm + np.log(cs)


@x64  # float64 rows stay float64 (and ranked with the float64 tie tolerance) in any caller
def pair_measures(
    x: np.ndarray,
    y: np.ndarray,
    tau: float,
    key: jax.Array,
    *,
    block: int | None = None,
    uniformity_sample: int | None = 10_000,
    tick: Callable[[int], None] | None = None,
) -> dict[str, float]:
    r"""Every gap measure of paired unit rows, in one blocked pass (module docstring).

    Args:
        x: ``(N, d)`` unit rows (float32 or float64; the pass runs in this dtype).
        y: ``(N, d)`` unit rows paired with ``x``.
        tau: temperature of the ``loss`` entry.
        key: PRNG key of the uniformity subsample.
        block: rows per block (default: :func:`gapsim.core.blocks.slab_rows`, a ``(block, N)``
            slab of at most 64 MiB, at most N).
        uniformity_sample: exact uniformity up to this many rows, a subsample above (None: exact).
        tick: called with the number of rows done after each block (progress).

    Returns:
        The keys of :data:`gapsim.core.measures.MEASURE_KEYS` (``centroid_angle`` raw;
        ``uniformity`` is the mean of ``uniformity_x`` and ``uniformity_y``) plus
        ``uniformity_joint`` (the uniformity of the joint set: the sampled rows of X and of Y
        together, cross-modal pairs included, which the per-modality values and their mean leave
        out), ``r5_xy``, ``r5_yx``, ``uniformity_sample`` (rows of each modality used; N when
        exact).

    Example:
        >>> z = np.eye(4)
        >>> pair_measures(z, z, 0.1, jax.random.key(0))["r1_xy"]
        1.0
    """
    n = x.shape[0]
    if block is None:
        block = slab_rows(n, x.dtype)
    block = int(min(block, n))
    rank_r, rank_c, rmax, cmax, lse_r, lse_c = _pass(x, y, 1.0 / tau, block, tick)
    dg = np.einsum("ij,ij->i", x, y, dtype=np.float64)
    beta = 1.0 / tau
    margin = dg - np.maximum(rmax, cmax)
    tol = tie_tolerance(x.shape[1], x.dtype)

    def recall(rank, k):
        return float(np.mean(recall_at_k(*rank, k)))

    mx, my = x.mean(axis=0, dtype=np.float64), y.mean(axis=0, dtype=np.float64)
    rows = subsample(key, n, uniformity_sample)

    def sq(z):
        return np.einsum("ij,ij->i", z, z, dtype=np.float64)

    ux = float(uniformity(jnp.asarray(x[rows])))
    uy = float(uniformity(jnp.asarray(y[rows])))
    uxy = float(uniformity(jnp.asarray(np.concatenate([x[rows], y[rows]]))))
    return {
        "loss": float(np.mean(lse_r + lse_c - 2 * beta * dg) / 2),
        "centroid_distance": float(np.linalg.norm(mx - my)),
        "centroid_angle": float(centroid_angle(jnp.asarray(mx), jnp.asarray(my))),
        "mean_norm_x": float(np.linalg.norm(mx)),
        "mean_norm_y": float(np.linalg.norm(my)),
        "paired_cosine_mean": float(dg.mean()),
        "paired_cosine_min": float(dg.min()),
        "alignment": float(np.mean(sq(x) + sq(y) - 2 * dg)),
        "uniformity": (ux + uy) / 2,
        "uniformity_x": ux,
        "uniformity_y": uy,
        "uniformity_joint": uxy,
        "r1_xy": recall(rank_r, 1),
        "r1_yx": recall(rank_c, 1),
        "r5_xy": recall(rank_r, 5),
        "r5_yx": recall(rank_c, 5),
        "margin": float(margin.min()),
        "matched_fraction": float(np.mean(margin > tol)),
        "uniformity_sample": int(rows.size),
    }
