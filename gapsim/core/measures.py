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
- ``r1_xy`` / ``r1_yx``: recall@1 of retrieving :math:`y_i` from :math:`x_i` and back, ties
  counted by their expectation under a uniformly random tie-break (:func:`recall_at_k`);
- ``margin`` :math:`\alpha = \min_{i\ne j}\min(S_{ii}-S_{ij}, S_{jj}-S_{ij})` and
  ``matched_fraction``: the fraction of pairs with :math:`S_{ii} > \max_{j\ne i}\max(S_{ij},S_{ji})`
  by more than the tie tolerance (Yaras et al.: all pairs are matched iff :math:`\alpha > 0`;
  a tie is not a match).

**Ties.** Two scores of one query tie when they differ by at most
:math:`\delta = d\,\epsilon` (:func:`tie_tolerance`): the worst-case rounding of a
:math:`d`-term dot product of unit vectors (Higham 2002, Thm 3.1), so a duplicate row (a caption
shared by several images) always ties with its twin, whatever order the arithmetic summed in
(the diagonal and a matrix slab are two computations); scores closer than that are not ordered
by the arithmetic at all. With :math:`g` candidates above the partner's score by more than
:math:`\delta` and :math:`e` others within :math:`\delta` of it, the partner's rank is
uniform on :math:`g+1, \dots, g+e+1` under a random tie-break, and R@k counts its expectation
:math:`\min(1, \max(0, (k-g)/(e+1)))`: identical rows give chance, :math:`1/N`.

:func:`measures` is pure JAX (it runs inside the compiled solver loops);
:func:`subspace_measures` runs on the host after a subspace-constrained run. Above
:data:`gapsim.core.blocks.DENSE_MAX_N` points (or with a ``block_size`` argument) the
pairwise measures (loss, uniformity, R@1, margin) run over row blocks in
:math:`O(N\cdot\mathrm{block})` memory: row reductions inside each block, column maxima and
rank counts accumulated across blocks (the same counts and ties as the dense pass).
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
    "recall_at_k",
    "slab_counts",
    "SlabCounts",
    "tie_tolerance",
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


def tie_tolerance(d: int, dtype) -> float:
    r"""Scores of one query that differ by at most this tie: :math:`\delta = d\,\epsilon`.

    :math:`\epsilon` is the machine epsilon of ``dtype``. A :math:`d`-term dot product of unit
    vectors is computed to within :math:`\gamma_d \approx d\epsilon/2` whatever the order of
    the sums (Higham 2002, Thm 3.1), so two computations of one score (a duplicate row, or the
    diagonal computed apart from a matrix slab) differ by at most :math:`\delta`. Module
    docstring: the tie rule.

    Example:
        >>> f"{tie_tolerance(768, np.float32):.1e}", f"{tie_tolerance(3, np.float64):.1e}"
        ('9.2e-05', '6.7e-16')
    """
    return d * float(jnp.finfo(dtype).eps)


def recall_at_k(greater: jax.Array | np.ndarray, tied: jax.Array | np.ndarray, k: int, dtype=None):
    r"""Expected hit of R@k for each query under a uniformly random tie-break.

    With ``greater`` :math:`= g` candidates scoring above the partner (beyond the tie
    tolerance) and ``tied`` :math:`= e` others tied with it, the partner's rank is uniform on
    :math:`g+1, \dots, g+e+1`, so the hit is :math:`\min(1, \max(0, (k-g)/(e+1)))`; the mean
    over queries is R@k. Without ties (:math:`e = 0`) this is the plain indicator
    :math:`g < k`.

    NumPy counts give a float64 NumPy array (the host side of :mod:`gapsim.analysis`), JAX
    counts a JAX array of ``dtype`` (default: JAX's default float).

    Example:
        >>> recall_at_k(np.array([0, 0, 3]), np.array([0, 9, 0]), 1).tolist()
        [1.0, 0.1, 0.0]
    """
    if isinstance(greater, np.ndarray) and isinstance(tied, np.ndarray):
        g, e = greater.astype(np.float64), tied.astype(np.float64)
        return np.clip((k - g) / (e + 1), 0.0, 1.0)
    dtype = dtype or jnp.result_type(float)
    g, e = jnp.asarray(greater).astype(dtype), jnp.asarray(tied).astype(dtype)
    return jnp.clip((k - g) / (e + 1), 0, 1)


class _Pairwise(NamedTuple):
    r"""Per-pair results of the :math:`N\times N` similarity matrix :math:`S = XY^\top`."""

    diag: jax.Array  # S_ii
    greater_xy: jax.Array  # #{j != i: S_ij > S_ii + delta}
    tied_xy: jax.Array  # #{j != i: |S_ij - S_ii| <= delta}
    greater_yx: jax.Array  # #{j != i: S_ji > S_ii + delta}
    tied_yx: jax.Array  # #{j != i: |S_ji - S_ii| <= delta}
    margin: jax.Array  # S_ii - max_{j != i} max(S_ij, S_ji)


_HIGHEST = jax.lax.Precision.HIGHEST  # full float32 products on GPUs too (not TF32): ranks


def _pairwise_dense(x: Points, y: Points) -> _Pairwise:
    r"""Dense :class:`_Pairwise`: rank counts against the partner (module docstring: ties)."""
    n, d = x.shape
    s = jnp.matmul(x, y.T, precision=_HIGHEST)
    diag = jnp.diagonal(s)
    tol = tie_tolerance(d, x.dtype)

    def counts(partner, axis):  # the partner ties with itself: one tie less
        above = jnp.sum(s > partner + tol, axis=axis)
        return above, jnp.sum(jnp.abs(s - partner) <= tol, axis=axis) - 1

    g_xy, e_xy = counts(diag[:, None], 1)
    g_yx, e_yx = counts(diag[None, :], 0)
    off = jnp.where(jnp.eye(n, dtype=bool), -jnp.inf, jnp.maximum(s, s.T))
    return _Pairwise(diag, g_xy, e_xy, g_yx, e_yx, diag - jnp.max(off, axis=1))


class SlabCounts(NamedTuple):
    r"""Rank counts of one row block (slab) of :math:`S` against the partners' scores."""

    greater_rows: jax.Array  # #{j != i: S_ij > d_i + delta}, per row of the slab
    tied_rows: jax.Array  # #{j != i: |S_ij - d_i| <= delta}
    max_rows: jax.Array  # max_{j != i} S_ij
    greater_cols: jax.Array  # #{rows i of the slab, i != j: S_ij > d_j + delta}, per column
    tied_cols: jax.Array  # #{rows i of the slab, i != j: |S_ij - d_j| <= delta}
    max_cols: jax.Array  # max over the slab's rows i != j of S_ij


def slab_counts(
    s: jax.Array, diag: jax.Array, valid: jax.Array, d_row: jax.Array, d_col: jax.Array, tol
) -> SlabCounts:
    r"""The tie rule's counts on one ``(b, N)`` slab of :math:`S = XY^\top` (module docstring).

    ``diag[r, j]``: column j is row r's partner; ``valid[r]``: row r is a point (not padding);
    ``d_row``/``d_col``: the partner scores of the slab's rows and of every column (computed
    apart from the slab, within ``tol`` of it). Row counts finish in the slab; column counts and
    maxima are the slab's contributions, summed (maximised) across slabs by the caller. The one
    kernel of the blocked measures here and of the host pass of :mod:`gapsim.analysis.pairs`.
    """
    own = valid[:, None] & ~diag  # padded rows and the partner out of column reductions
    return SlabCounts(
        jnp.sum(~diag & (s > d_row[:, None] + tol), axis=1),
        jnp.sum(~diag & (jnp.abs(s - d_row[:, None]) <= tol), axis=1),
        jnp.max(jnp.where(diag, -jnp.inf, s), axis=1),
        jnp.sum(own & (s > d_col[None, :] + tol), axis=0),
        jnp.sum(own & (jnp.abs(s - d_col[None, :]) <= tol), axis=0),
        jnp.max(jnp.where(own, s, -jnp.inf), axis=0),
    )


def _pairwise_blocked(x: Points, y: Points, block: int) -> _Pairwise:
    n, d = x.shape
    dt = x.dtype
    cols = jnp.arange(n)
    tol = tie_tolerance(d, dt)
    dg = jnp.sum(x * y, axis=1)  # the columns' partner scores (within delta of the slab's)

    def body(carry, idx, valid, xb):
        g_c, e_c, cmax = carry
        s = jnp.matmul(xb, y.T, precision=_HIGHEST)
        diag = idx[:, None] == cols[None, :]
        dr = jnp.sum(jnp.where(diag, s, 0), axis=1)
        c = slab_counts(s, diag, valid, dr, dg, tol)
        carry = (g_c + c.greater_cols, e_c + c.tied_cols, jnp.maximum(cmax, c.max_cols))
        return carry, (dr, c.greater_rows, c.tied_rows, c.max_rows)

    zeros = jnp.zeros(n, cols.dtype)
    init = (zeros, zeros, jnp.full(n, -jnp.inf, dt))
    (g_c, e_c, cmax), (diag, g_r, e_r, rmax) = scan_rows(body, init, (x,), block)
    return _Pairwise(diag, g_r, e_r, g_c, e_c, diag - jnp.maximum(rmax, cmax))


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
    n, d = x.shape
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
        r1_xy=jnp.mean(recall_at_k(p.greater_xy, p.tied_xy, 1, dtype)),
        r1_yx=jnp.mean(recall_at_k(p.greater_yx, p.tied_yx, 1, dtype)),
        margin=jnp.min(p.margin),
        matched_fraction=jnp.mean((p.margin > tie_tolerance(d, dtype)).astype(dtype)),
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
