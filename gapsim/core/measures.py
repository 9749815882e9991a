r"""Gap and alignment measures (docs/theory.md section 0). Each answers a different question.

With means :math:`m_X = \frac1N\sum_i x_i`, :math:`m_Y` and :math:`S = XY^\top`:

- ``centroid_distance`` :math:`\Delta = \|m_X - m_Y\|` (Liang 2022, Yaras 2025, Grassucci 2026);
- ``centroid_angle`` :math:`\angle(m_X, m_Y)` (Yi 2025), with ``mean_norm_x``, ``mean_norm_y``;
  it moves by up to :math:`\delta/\|m\|` radians when a mean moves by :math:`\delta`, so it is
  flagged ill-conditioned (and reported as NaN in final measures) when a mean norm is below
  ``MIN_MEAN_NORM``;
- ``paired_cosine_mean`` / ``paired_cosine_min``: :math:`x_i\cdot y_i` ("Cos True Pairs");
- ``alignment`` :math:`\frac1N\sum_i\|x_i-y_i\|^2` and ``uniformity``
  :math:`\log \frac{1}{N(N-1)}\sum_{i\ne j} e^{-2\|z_i-z_j\|^2}` per modality and their mean
  (Wang & Isola 2020);
- ``r1_xy`` / ``r1_yx``: recall@1 of retrieving :math:`y_i` from :math:`x_i` and back;
- ``margin`` :math:`\alpha = \min_{i\ne j}\min(S_{ii}-S_{ij}, S_{jj}-S_{ij})` and
  ``matched_fraction``: the fraction of pairs with :math:`S_{ii} > \max_{j\ne i}\max(S_{ij},S_{ji})`
  (Yaras et al.: all pairs are matched iff :math:`\alpha > 0`).

:func:`measures` is pure JAX (it runs inside the compiled solver loops);
:func:`subspace_measures` runs on the host after a subspace-constrained run. Above
:data:`gapsim.core.blocks.DENSE_MAX_N` points (or with a ``block_size`` argument) the
pairwise measures (loss, uniformity, R@1, margin) run over row blocks in
:math:`O(N\cdot\mathrm{block})` memory: row reductions inside each block, column maxima and
arg-maxima accumulated across blocks (earlier rows win ties, as with ``argmax``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.core._types import Points, Scalar, keyed
from gapsim.core.blocks import block_rows, scan_rows
from gapsim.core.loss import infonce
from gapsim.core.subspaces import ZERO_ANGLE_TOL, principal_vectors

__all__ = [
    "measures",
    "Measures",
    "centroid_angle",
    "flag_centroid_angle",
    "uniformity",
    "subspace_measures",
    "MEASURE_KEYS",
    "MIN_MEAN_NORM",
    "unit_tolerance",
    "check_unit_rows",
]

MIN_MEAN_NORM = 1e-2
"""Below this mean norm the centroid angle is flagged ill-conditioned."""


def unit_tolerance(dtype) -> float:
    r"""Largest :math:`\big|\|z\|-1\big|` accepted as a unit row stored in ``dtype``.

    ``64 * eps`` of the storage dtype, and at least that of float32 (:math:`7.6\cdot10^{-6}`):
    rows normalised in float16 (eps :math:`9.8\cdot10^{-4}`) keep norm errors of a few eps,
    e.g. :math:`8\cdot10^{-5}` on CLIP features, and must pass; unnormalised rows must not.
    """
    try:
        eps = float(jnp.finfo(dtype).eps)
    except (TypeError, ValueError):
        eps = 0.0
    return 64 * max(eps, float(np.finfo(np.float32).eps))


def check_unit_rows(**arrays) -> None:
    """Raise :class:`gapsim.ConfigError` unless every row of every array is unit (host side).

    Example:
        >>> check_unit_rows(x=np.eye(2))
        >>> check_unit_rows(x=2 * np.eye(2))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        gapsim.errors.ConfigError: x='rows with | ||z|| - 1 | up to 1.00e+00': must be unit rows
    """
    from gapsim.errors import ConfigError

    for name, z in arrays.items():
        a = np.asarray(z)
        err = float(np.max(np.abs(np.linalg.norm(a.astype(np.float64), axis=-1) - 1)))
        if not err <= unit_tolerance(a.dtype):  # NaN fails too
            raise ConfigError(
                name,
                f"rows with | ||z|| - 1 | up to {err:.2e}",
                "must be unit rows (normalise them, or use gapsim.analyze)",
            )


@keyed
class Measures(NamedTuple):
    """Every scalar measure of one configuration (module docstring), a pytree of scalars.

    Indexing by name (``m["loss"]``) still works, as it did when this was a dict; fields are
    the way to read it (``m.loss``), and ``m._asdict()`` gives the plain dict.
    """

    loss: Scalar
    centroid_distance: Scalar
    centroid_angle: Scalar
    mean_norm_x: Scalar
    mean_norm_y: Scalar
    paired_cosine_mean: Scalar
    paired_cosine_min: Scalar
    alignment: Scalar
    uniformity: Scalar
    uniformity_x: Scalar
    uniformity_y: Scalar
    r1_xy: Scalar
    r1_yx: Scalar
    margin: Scalar
    matched_fraction: Scalar


MEASURE_KEYS = Measures._fields
"""The names of :class:`Measures`, in order."""


def centroid_angle(mx: jax.Array, my: jax.Array) -> Scalar:
    r"""Angle between two vectors, :math:`2\,\mathrm{atan2}(\|\hat a-\hat b\|, \|\hat a+\hat b\|)`.

    Accurate for angles near 0 and :math:`\pi` (unlike ``arccos`` of the cosine). Zero vectors
    give a finite (meaningless) value: check the norms.
    """
    tiny = jnp.finfo(mx.dtype).tiny
    na = jnp.sqrt(jnp.maximum(jnp.sum(mx * mx), tiny))
    nb = jnp.sqrt(jnp.maximum(jnp.sum(my * my), tiny))
    a, b = mx / na, my / nb
    return 2 * jnp.arctan2(jnp.linalg.norm(a - b), jnp.linalg.norm(a + b))


def uniformity(z: Points, t: float = 2.0, block_size: int = 0) -> Scalar:
    r"""Wang & Isola's :math:`\log \frac{1}{N(N-1)}\sum_{i\ne j}\exp(-t\|z_i-z_j\|^2)`.

    ``block_size``: rows per block (``0`` automatic; :func:`gapsim.core.blocks.block_rows`).
    """
    n = z.shape[0]
    sq = jnp.sum(z * z, axis=1)
    block = block_rows(n, z.dtype, block_size)
    if block is None:
        d2 = jnp.maximum(sq[:, None] + sq[None, :] - 2 * z @ z.T, 0.0)
        logits = jnp.where(jnp.eye(n, dtype=bool), -jnp.inf, -t * d2)
        return jax.nn.logsumexp(logits) - jnp.log(n * (n - 1.0))

    def body(carry, idx, valid, zb, sqb):  # padded rows are dropped: no column reduction
        d2 = jnp.maximum(sqb[:, None] + sq[None, :] - 2 * zb @ z.T, 0.0)
        diag = idx[:, None] == jnp.arange(n)[None, :]
        return carry, jax.nn.logsumexp(jnp.where(diag, -jnp.inf, -t * d2), axis=1)

    _, rows = scan_rows(body, None, (z, sq), block)
    return jax.nn.logsumexp(rows) - jnp.log(n * (n - 1.0))


class _Pairwise(NamedTuple):
    r"""Per-pair results of the :math:`N\times N` similarity matrix :math:`S = XY^\top`."""

    diag: jax.Array  # S_ii
    hit_xy: jax.Array  # argmax_j S_ij == i
    hit_yx: jax.Array  # argmax_j S_ji == i
    margin: jax.Array  # S_ii - max_{j != i} max(S_ij, S_ji)


def _pairwise_dense(x: Points, y: Points) -> _Pairwise:
    r"""Dense :class:`_Pairwise`, with the hits of ``argmax`` but no ``argmax``.

    ``argmax_j S_ij == i`` (first maximum wins) holds iff :math:`S_{ii} > S_{ij}` for
    :math:`j < i` and :math:`S_{ii} \ge S_{ij}` for :math:`j > i`: four masked maxima, which XLA
    vectorises on CPU, where its variadic arg-max reduction is several times slower than the
    rest of the measures together (it ran at every trajectory record).
    """
    n = x.shape[0]
    s = x @ y.T
    diag = jnp.diagonal(s)
    below = jnp.tri(n, k=-1, dtype=bool)  # [i, j]: j < i

    def masked_max(mask, axis):
        return jnp.max(jnp.where(mask, s, -jnp.inf), axis=axis)

    # rows: j < i is `below`, j > i is `below.T`; columns (S_ji): j < i is `below.T` on axis 0
    hit_xy = (diag > masked_max(below, 1)) & (diag >= masked_max(below.T, 1))
    hit_yx = (diag > masked_max(below.T, 0)) & (diag >= masked_max(below, 0))
    off = jnp.where(jnp.eye(n, dtype=bool), -jnp.inf, jnp.maximum(s, s.T))
    return _Pairwise(diag, hit_xy, hit_yx, diag - jnp.max(off, axis=1))


def _pairwise_blocked(x: Points, y: Points, block: int) -> _Pairwise:
    n, dt = x.shape[0], x.dtype
    cols = jnp.arange(n)

    def body(carry, idx, valid, xb):
        best, arg, cmax = carry
        s = xb @ y.T
        diag = idx[:, None] == cols[None, :]
        sv = jnp.where(valid[:, None], s, -jnp.inf)  # padded rows out of column reductions
        bmax = jnp.max(sv, axis=0)
        upd = bmax > best  # strict: an earlier row keeps a tie, like argmax
        best = jnp.where(upd, bmax, best)
        arg = jnp.where(upd, idx[jnp.argmax(sv, axis=0)], arg)
        off = jnp.where(diag, -jnp.inf, sv)
        cmax = jnp.maximum(cmax, jnp.max(off, axis=0))
        out = (jnp.sum(jnp.where(diag, s, 0), axis=1), jnp.argmax(s, axis=1) == idx, off.max(1))
        return (best, arg, cmax), out

    init = (jnp.full(n, -jnp.inf, dt), jnp.zeros(n, cols.dtype), jnp.full(n, -jnp.inf, dt))
    (_, arg, cmax), (diag, hit_xy, rmax) = scan_rows(body, init, (x,), block)
    return _Pairwise(diag, hit_xy, arg == cols, diag - jnp.maximum(rmax, cmax))


def measures(x: Points, y: Points, beta: Scalar | float, block_size: int = 0) -> Measures:
    """Every scalar measure (:class:`Measures`) of one configuration (jit-friendly).

    ``centroid_angle`` here is the raw value; see :data:`MIN_MEAN_NORM`. ``block_size``: rows
    per block of the pairwise quantities (``0`` automatic; :func:`gapsim.core.blocks.block_rows`).
    Every measure assumes unit rows: called on concrete arrays (outside a trace) it checks them
    (:func:`check_unit_rows`) and raises rather than return, say, a paired cosine of 176.

    Example:
        >>> x = jnp.eye(3)
        >>> float(measures(x, x, 10.0).paired_cosine_min)
        1.0
    """
    if not isinstance(x, jax.core.Tracer) and not isinstance(y, jax.core.Tracer):
        check_unit_rows(x=x, y=y)
    n = x.shape[0]
    mx, my = jnp.mean(x, axis=0), jnp.mean(y, axis=0)
    block = block_rows(n, x.dtype, block_size)
    p = _pairwise_dense(x, y) if block is None else _pairwise_blocked(x, y, block)
    ux, uy = uniformity(x, block_size=block_size), uniformity(y, block_size=block_size)
    dtype = x.dtype
    return Measures(
        loss=infonce(x, y, beta, block_size),
        centroid_distance=jnp.linalg.norm(mx - my),
        centroid_angle=centroid_angle(mx, my),
        mean_norm_x=jnp.linalg.norm(mx),
        mean_norm_y=jnp.linalg.norm(my),
        paired_cosine_mean=jnp.mean(p.diag),
        paired_cosine_min=jnp.min(p.diag),
        alignment=jnp.mean(jnp.sum((x - y) ** 2, axis=1)),
        uniformity=(ux + uy) / 2,
        uniformity_x=ux,
        uniformity_y=uy,
        r1_xy=jnp.mean(p.hit_xy.astype(dtype)),
        r1_yx=jnp.mean(p.hit_yx.astype(dtype)),
        margin=jnp.min(p.margin),
        matched_fraction=jnp.mean((p.margin > 0).astype(dtype)),
    )


def flag_centroid_angle(m: dict[str, float]) -> dict[str, float]:
    """Host-side report of the centroid angle: NaN when a mean norm is below MIN_MEAN_NORM.

    Adds ``centroid_angle_raw`` (the number) and ``centroid_angle_ill_conditioned``; the angle
    moves by up to delta/||m|| when a mean moves by delta, so it is not read as a number then.
    """
    ill = min(m["mean_norm_x"], m["mean_norm_y"]) < MIN_MEAN_NORM
    return {
        **m,
        "centroid_angle": math.nan if ill else m["centroid_angle"],
        "centroid_angle_raw": m["centroid_angle"],
        "centroid_angle_ill_conditioned": ill,
    }


def subspace_measures(
    x: np.ndarray, y: np.ndarray, qu: np.ndarray, qv: np.ndarray
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    r"""Measures for points ``x`` in span(qu) and ``y`` in span(qv) (Yi et al. section 2.3).

    With principal vectors :math:`(u_j, v_j)` (:func:`gapsim.core.subspaces.principal_vectors`), the
    shared subspace :math:`C` is spanned by the :math:`u_j` with angle below ``ZERO_ANGLE_TOL``;
    the private coordinates are :math:`a_{ij} = x_i\cdot u_j`, :math:`b_{ij} = y_i\cdot v_j` for
    the non-zero angles (for hyperplanes: :math:`a_i = x_i\cdot u_A`, :math:`b_i = y_i\cdot u_B`).
    If :math:`P_C x_i = P_C y_i` and :math:`a_i = b_i` then
    :math:`x_i\cdot y_i = 1 - \sum_j (1-\cos\theta_j) a_{ij}^2`; ``paired_cosine_formula_residual``
    is the largest deviation from that formula.

    Returns:
        ``(scalars, arrays)``: scalars ``theta_min``, ``theta_min_nonzero`` (NaN if the subspaces
        coincide), ``shared_dim``, ``shared_residual`` :math:`\max_i\|P_C x_i - P_C y_i\|`,
        ``private_mismatch`` :math:`\max_{ij}|a_{ij}-b_{ij}|`, ``private_abs_mean``,
        ``paired_cosine_formula_residual``; arrays ``principal_angles``, ``private_a``,
        ``private_b`` (``(N, p)``).
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    pv = principal_vectors(qu, qv)
    shared = pv.angles < ZERO_ANGLE_TOL
    c = pv.u[:, shared]
    a, b = x @ pv.u[:, ~shared], y @ pv.v[:, ~shared]
    resid = (x - y) @ c
    cos_pred = 1.0 - np.sum((1 - np.cos(pv.angles[~shared])) * a**2, axis=1)
    nonzero = pv.angles[~shared]
    scalars = {
        "theta_min": float(pv.angles[0]),
        "theta_min_nonzero": float(nonzero[0]) if nonzero.size else float("nan"),
        "shared_dim": int(shared.sum()),
        "shared_residual": float(np.max(np.linalg.norm(resid, axis=1))) if c.size else 0.0,
        "private_mismatch": float(np.max(np.abs(a - b))) if a.size else 0.0,
        "private_abs_mean": float(np.mean(np.abs(a))) if a.size else 0.0,
        "paired_cosine_formula_residual": float(np.max(np.abs(np.sum(x * y, axis=1) - cos_pred))),
    }
    return scalars, {"principal_angles": pv.angles, "private_a": a, "private_b": b}
