r"""Post-hoc alignment of two point sets: remove (or widen) the modality gap after training.

Every method takes paired unit rows ``x``, ``y`` (``(N, d)``, row i of each is a pair) and
returns an :class:`AlignResult`: the new points and the measures of
:func:`gapsim.measures.measures` before and after (with the centroid-angle ill-conditioning
flag as in ``gapsim.simulate``), plus method details in ``info``.

- :func:`gap_shift`: shift along the gap vector (Liang et al. 2022); :func:`gap_shift_curve`
  gives the InfoNCE loss as a function of the shift (their embedding-shift experiment).
- :func:`ssp` / :func:`ssp_from_bases`: shared space projection (Yi, Douady & Chen 2025, Cor 4).
- :func:`hyperplane_rotation`: rotate one subspace onto the other (Yi et al. 2025, Cor 3).
- :func:`mean_removal`: subtract each modality's mean and renormalise (a common baseline).
- :func:`inject_gap`: the reverse, a gap orthogonal to every point (Grassucci et al. 2026).

Renormalisation: a row whose norm before renormalising is below :data:`DEGENERATE_NORM` has no
reliable direction (e.g. :math:`P_C x = 0` in SSP); it is replaced by a fixed reference point
(the library's zero-vector policy, :mod:`gapsim.geometry`: the first basis vector of the target
subspace, :math:`e_1` without one) and counted in ``info["degenerate_x"]`` / ``["degenerate_y"]``.
Never NaN. All computation is float64 on the host (NumPy, with JAX for the loss).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.errors import ConfigError
from gapsim.loss import infonce
from gapsim.measures import flag_centroid_angle, measures
from gapsim.subspaces import ZERO_ANGLE_TOL, orthonormalize, principal_vectors

__all__ = [
    "AlignResult",
    "GapShiftCurve",
    "gap_shift",
    "gap_shift_curve",
    "data_basis",
    "ssp",
    "ssp_from_bases",
    "hyperplane_rotation",
    "mean_removal",
    "inject_gap",
    "DEGENERATE_NORM",
]

DEGENERATE_NORM = 1e-10
"""Rows shorter than this before renormalisation are degenerate (replaced and counted)."""
UNIT_TOL = 1e-6
"""Input rows must have norm 1 to this tolerance (float32 embeddings normalised are ~1e-7)."""


class AlignResult(NamedTuple):
    """Aligned points and their measures.

    Attributes:
        x, y: ``(N, d)`` float64 aligned unit rows.
        before, after: measures of the input and output points (keys of
            :data:`gapsim.measures.MEASURE_KEYS`, plus ``centroid_angle_raw`` and
            ``centroid_angle_ill_conditioned``; ``centroid_angle`` is NaN when a mean norm is
            below :data:`gapsim.measures.MIN_MEAN_NORM`).
        info: method details (documented by each method).
    """

    x: np.ndarray
    y: np.ndarray
    before: dict[str, Any]
    after: dict[str, Any]
    info: dict[str, Any]


class GapShiftCurve(NamedTuple):
    """InfoNCE along the gap shift (see :func:`gap_shift_curve`); arrays of equal length."""

    lambdas: np.ndarray
    losses: np.ndarray
    centroid_distance: np.ndarray


# ---------------------------------------------------------------------------------------------
# validation and shared helpers
# ---------------------------------------------------------------------------------------------


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ConfigError("x", f"array of shape {x.shape}", "must be (N, d) with N >= 2")
    if y.shape != x.shape:
        raise ConfigError("y", f"array of shape {y.shape}", f"must have the shape of x {x.shape}")
    for name, z in (("x", x), ("y", y)):
        if not np.all(np.isfinite(z)):
            raise ConfigError(name, "array with NaN/inf", "must be finite")
        err = float(np.max(np.abs(np.linalg.norm(z, axis=1) - 1)))
        if err > UNIT_TOL:
            raise ConfigError(name, f"rows with | ||z|| - 1 | up to {err:.2e}", "must be unit rows")
    return x, y


def _check(name: str, value, ok: bool, allowed: str) -> None:
    if not ok:
        raise ConfigError(name, value, allowed)


def _real(name: str, value, lo: float, hi: float, allowed: str) -> float:
    """``float(value)`` if it is a real number in ``[lo, hi]``, else :class:`ConfigError`."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(name, value, allowed) from None
    _check(name, value, lo <= v <= hi, allowed)
    return v


def _tau(tau: float) -> float:
    tau = _real("tau", tau, 0.0, math.inf, "must be finite and > 0")
    _check("tau", tau, 0 < tau < math.inf, "must be finite and > 0")
    return tau


def _renormalize(z: jax.Array, fallback: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Unit rows of ``z`` (degenerate rows -> ``fallback``) and the norms before."""
    n = jnp.linalg.norm(z, axis=1, keepdims=True)
    bad = n < DEGENERATE_NORM
    return jnp.where(bad, fallback[None, :], z / jnp.where(bad, 1.0, n)), n[:, 0]


def _finish(x, y, xn, yn, nx, ny, tau: float, info: dict[str, Any]) -> AlignResult:
    def meas(a, b):
        return flag_centroid_angle({k: float(v) for k, v in _measures(a, b, 1.0 / tau).items()})

    info = dict(info)
    if nx is not None:
        nx, ny = np.asarray(nx), np.asarray(ny)
        info.update(norm_x=nx, norm_y=ny)
        info.update(degenerate_x=int(np.sum(nx < DEGENERATE_NORM)))
        info.update(degenerate_y=int(np.sum(ny < DEGENERATE_NORM)))
    xn, yn = np.asarray(xn, np.float64), np.asarray(yn, np.float64)
    return AlignResult(xn, yn, meas(x, y), meas(xn, yn), info)


@jax.jit
def _measures(x, y, beta):
    return measures(x, y, beta)


def _e1(d: int) -> jax.Array:
    return jnp.zeros(d, jnp.float64).at[0].set(1.0)


# ---------------------------------------------------------------------------------------------
# Liang et al. 2022: shift along the gap vector
# ---------------------------------------------------------------------------------------------


def _shift(x: jax.Array, y: jax.Array, lam: jax.Array):
    delta = jnp.mean(x, axis=0) - jnp.mean(y, axis=0)
    e1 = _e1(x.shape[1])
    xn, nx = _renormalize(x - (lam / 2) * delta[None, :], e1)
    yn, ny = _renormalize(y + (lam / 2) * delta[None, :], e1)
    return xn, yn, nx, ny, delta


def gap_shift(x, y, lam: float, *, tau: float = 0.07) -> AlignResult:
    r"""Shift both modalities along the gap vector and renormalise (Liang et al. 2022).

    With :math:`\Delta = \bar x - \bar y` (the difference of the means),

    .. math:: x_i' = \frac{x_i - \lambda\Delta/2}{\|x_i - \lambda\Delta/2\|},\qquad
              y_i' = \frac{y_i + \lambda\Delta/2}{\|y_i + \lambda\Delta/2\|}.

    Before renormalising, the means differ by :math:`(1-\lambda)\Delta`: ``lam=1`` closes the
    gap (the renormalised means then differ only through the different row norms), ``lam=0`` is
    the identity, ``lam<0`` widens the gap. Liang et al. (NeurIPS 2022, "Mind the Gap")
    report that at low temperature the InfoNCE loss is smallest near the original gap (see
    :func:`gap_shift_curve`).

    Args:
        x: ``(N, d)`` unit rows of the first modality.
        y: ``(N, d)`` unit rows of the second; row i pairs with ``x[i]``.
        lam: the shift :math:`\lambda` (any finite number).
        tau: temperature for the ``loss`` entry of the measures (CLIP's initial 0.07).

    Returns:
        :class:`AlignResult`; ``info``: ``gap_vector`` :math:`\Delta`, ``lam``, ``norm_x`` and
        ``norm_y`` (row norms before renormalising, so ``x * norm_x[:, None]`` is the raw
        shift), ``degenerate_x``, ``degenerate_y``.

    Example:
        >>> x, y = np.eye(3)[:2], np.eye(3)[1:]
        >>> r = gap_shift(x, y, 0.0)
        >>> bool(np.allclose(r.x, x))
        True
    """
    x, y = _pair(x, y)
    lam = _real("lam", lam, -math.inf, math.inf, "must be finite")
    _check("lam", lam, math.isfinite(lam), "must be finite")
    xn, yn, nx, ny, delta = _shift(jnp.asarray(x), jnp.asarray(y), jnp.float64(lam))
    info = {"gap_vector": np.asarray(delta), "lam": lam}
    return _finish(x, y, xn, yn, nx, ny, _tau(tau), info)


@jax.jit
def _shift_losses(x, y, beta, lambdas):
    def one(lam):
        xn, yn, *_ = _shift(x, y, lam)
        return infonce(xn, yn, beta), jnp.linalg.norm(jnp.mean(xn, axis=0) - jnp.mean(yn, axis=0))

    return jax.vmap(one)(lambdas)


def gap_shift_curve(x, y, tau: float, lambdas=None) -> GapShiftCurve:
    r"""InfoNCE (:func:`gapsim.infonce`, averaged convention) along :func:`gap_shift`.

    Liang et al. (2022) report that for embeddings trained at low temperature the loss over
    :math:`\lambda` is smallest near :math:`\lambda = 0` (the gap as trained): closing the gap
    raises the loss. This returns the curve to check that; one compiled call over the grid.

    Args:
        x: ``(N, d)`` unit rows of the first modality.
        y: ``(N, d)`` unit rows of the second; row i pairs with ``x[i]``.
        tau: temperature of the loss (> 0).
        lambdas: 1-D grid of shifts; default ``np.linspace(-1, 1, 41)``.

    Returns:
        :class:`GapShiftCurve` ``(lambdas, losses, centroid_distance)``, the last measured on the
        renormalised points.
    """
    x, y = _pair(x, y)
    beta = 1.0 / _tau(tau)
    lam = np.linspace(-1.0, 1.0, 41) if lambdas is None else np.asarray(lambdas, np.float64)
    shape = f"array of shape {lam.shape}"
    _check("lambdas", shape, lam.ndim == 1 and lam.size >= 1, "must be a non-empty 1-D grid")
    _check("lambdas", shape, bool(np.all(np.isfinite(lam))), "must be finite")
    losses, dist = _shift_losses(jnp.asarray(x), jnp.asarray(y), jnp.float64(beta), lam)
    return GapShiftCurve(lam, np.asarray(losses), np.asarray(dist))


# ---------------------------------------------------------------------------------------------
# Yi et al. 2025: shared space projection and hyperplane rotation
# ---------------------------------------------------------------------------------------------


def data_basis(z, variance: float = 0.99) -> np.ndarray:
    r"""Orthonormal basis of the span of the rows of ``z``, truncated at ``variance``.

    The right-singular vectors of the *uncentred* ``z`` (SVD :math:`z = U\Sigma V^\top`),
    the fewest :math:`r` with :math:`\sum_{j\le r}\sigma_j^2 / \sum_j\sigma_j^2 \ge`
    ``variance`` (THEORY 2.3). Not centred because the constraint it estimates is a *linear*
    subspace through the origin: centring would give the directions of the affine hull, which
    for points in a narrow cone (the cone effect) drops the mean direction although every point
    has a large component along it.

    Returns:
        ``(d, r)`` float64 array with orthonormal columns, by decreasing singular value.
    """
    z = np.asarray(z, np.float64)
    v = _real("variance", variance, 0.0, 1.0, "must lie in (0, 1)")
    _check("variance", variance, 0 < v < 1, "must lie in (0, 1)")
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    frac = np.cumsum(s**2) / np.sum(s**2)
    r = min(int(np.searchsorted(frac, v)) + 1, s.size)
    return vt[:r].T.copy()


def _shared_directions(qu, qv, max_angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal basis of the near-shared directions of two subspaces, and all angles.

    The principal vector pairs with angle ``< max_angle``; each direction is the bisector
    ``normalize(u_j + v_j)`` (the two coincide for an exactly shared direction). Bisectors of
    different pairs are orthogonal because ``u_i . v_j = 0`` for ``i != j``.
    """
    pv = principal_vectors(qu, qv)
    keep = pv.angles < max_angle
    w = pv.u[:, keep] + pv.v[:, keep]
    return w / np.linalg.norm(w, axis=0, keepdims=True), pv.angles


def _project(x, y, w: np.ndarray, k: int | None, tau: float, info: dict) -> AlignResult:
    if w.shape[1] == 0:
        raise ConfigError("shared_dim", 0, "no shared direction found: SSP needs >= 1")
    energy = np.mean(np.concatenate([x @ w, y @ w]) ** 2, axis=0)
    order = np.argsort(-energy, kind="stable")
    if k is not None:
        ok = isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1
        _check("k", k, ok, "must be an integer >= 1 (or None)")
        order = order[:k]
    w = w[:, order]
    fb = jnp.asarray(w[:, 0])
    xn, nx = _renormalize(jnp.asarray((x @ w) @ w.T), fb)
    yn, ny = _renormalize(jnp.asarray((y @ w) @ w.T), fb)
    info = {**info, "basis": w, "shared_dim": int(energy.size), "projected_energy": energy[order]}
    return _finish(x, y, xn, yn, nx, ny, tau, info)


def ssp(
    x,
    y,
    *,
    variance: float = 0.99,
    cos_threshold: float = 1 - 1e-3,
    k: int | None = None,
    tau: float = 0.07,
) -> AlignResult:
    r"""Shared space projection from data (Yi, Douady & Chen 2025, Cor 4; THEORY 2.3).

    1. :math:`B_X` = :func:`data_basis` ``(x, variance)``, :math:`B_Y` likewise (uncentred);
    2. SVD :math:`B_X^\top B_Y = A\Sigma B^\top`; keep the principal pairs
       :math:`(B_X a_j, B_Y b_j)` with :math:`\sigma_j >` ``cos_threshold`` (angle
       :math:`\lesssim 2.6^\circ` at the default :math:`1-10^{-3}`); the shared basis :math:`W`
       is their bisectors;
    3. optionally keep the top ``k`` directions by projected energy
       :math:`\frac{1}{2N}\sum_i[(x_i\cdot w)^2 + (y_i\cdot w)^2]` (uncentred, like the bases;
       the paper used ``k=10`` on CLIP);
    4. :math:`x^* = P_W x / \|P_W x\|`, :math:`y^* = P_W y / \|P_W y\|`, :math:`P_W = WW^\top`.

    If :math:`P_C x_i = P_C y_i` for the true shared subspace :math:`C`, every pair becomes
    identical (paired cosine 1). Reported on CLIP ViT-B/32, CIFAR-10: centroid angle 74.69 deg
    -> 5.37 deg, zero-shot top-1 89.00 -> 86.43.

    Args:
        x: ``(N, d)`` unit rows of the first modality.
        y: ``(N, d)`` unit rows of the second; row i pairs with ``x[i]``.
        variance: cumulative-variance cut of each modality's basis, in ``(0, 1)``.
        cos_threshold: keep principal directions with cosine above this, in ``(0, 1)``.
        k: keep at most the top ``k`` shared directions by projected energy (``None``: all).
        tau: temperature for the ``loss`` measure.

    Returns:
        :class:`AlignResult`; ``info``: ``basis`` :math:`W` (``(d, m)``, by decreasing energy),
        ``shared_dim`` (before ``k``), ``projected_energy``, ``principal_angles`` of
        :math:`B_X, B_Y`, ``rank_x``, ``rank_y``, ``norm_x``, ``norm_y``, ``degenerate_x``,
        ``degenerate_y``.

    Raises:
        ConfigError: bad inputs, or no principal angle below the threshold.
    """
    x, y = _pair(x, y)
    tau = _tau(tau)
    cos_min = _real("cos_threshold", cos_threshold, 0.0, 1.0, "must lie in (0, 1)")
    _check("cos_threshold", cos_threshold, 0 < cos_min < 1, "must lie in (0, 1)")
    bx, by = data_basis(x, variance), data_basis(y, variance)
    w, angles = _shared_directions(bx, by, float(np.arccos(cos_min)))
    info = {"principal_angles": angles, "rank_x": bx.shape[1], "rank_y": by.shape[1]}
    return _project(x, y, w, k, tau, info)


def ssp_from_bases(x, y, qu, qv, *, k: int | None = None, tau: float = 0.07) -> AlignResult:
    r"""Shared space projection with known subspaces (Yi et al. 2025, Cor 4).

    :math:`C = U\cap V` is spanned by the principal vectors
    (:func:`gapsim.subspaces.principal_vectors`) with angle below
    :data:`gapsim.subspaces.ZERO_ANGLE_TOL`; then :math:`x^* = P_C x/\|P_C x\|`,
    :math:`y^* = P_C y/\|P_C y\|` (optionally the top ``k`` directions of :math:`C` by projected
    energy, as in :func:`ssp`). With :math:`P_C x_i = P_C y_i` the paired cosine is exactly 1.

    Args:
        x: ``(N, d)`` unit rows, normally in ``span(qu)``.
        y: ``(N, d)`` unit rows paired with ``x``, normally in ``span(qv)``.
        qu: ``(d, k_u)`` basis of U (orthonormalised here).
        qv: ``(d, k_v)`` basis of V.
        k: keep at most the top ``k`` directions of :math:`C` by projected energy.
        tau: temperature for the ``loss`` measure.

    Returns:
        :class:`AlignResult`, ``info`` as in :func:`ssp` without the ranks.

    Example:
        >>> from gapsim import hyperplane_pair
        >>> qu, qv = hyperplane_pair(3, 0.5)
        >>> x = np.array([[0.6, 0.8, 0.0], [0.8, -0.6, 0.0]])  # in U = span(e1, e2)
        >>> y = np.array([[0.6, 0.0, 0.8], [0.8, 0.0, -0.6]])  # P_C y = P_C x, C = span(e1)
        >>> float(ssp_from_bases(x, y, qu, qv).after["paired_cosine_min"])
        1.0
    """
    x, y = _pair(x, y)
    tau = _tau(tau)
    qu, qv = orthonormalize(qu, "qu"), orthonormalize(qv, "qv")
    for name, q in (("qu", qu), ("qv", qv)):
        _check(name, f"array of shape {q.shape}", q.shape[0] == x.shape[1], "needs d rows")
    w, angles = _shared_directions(qu, qv, ZERO_ANGLE_TOL)
    return _project(x, y, w, k, tau, {"principal_angles": angles})


def hyperplane_rotation(
    x, y, qu=None, qv=None, *, variance: float = 0.99, tau: float = 0.07
) -> AlignResult:
    r"""Rotate X's subspace onto Y's by the minimal rotation (Yi et al. 2025, Cor 3).

    With principal vectors :math:`(u_j, v_j)` and angles :math:`\theta_j > 0` of U and V, let
    :math:`w_j = (v_j - \cos\theta_j u_j)/\sin\theta_j`. The rotation

    .. math:: R = I + \sum_j \big[(\cos\theta_j - 1)(u_ju_j^\top + w_jw_j^\top)
              + \sin\theta_j (w_ju_j^\top - u_jw_j^\top)\big]

    turns each :math:`u_j` into :math:`v_j` within the plane :math:`(u_j, w_j)` (the planes are
    mutually orthogonal) and fixes everything orthogonal to them, in particular
    :math:`C = U\cap V`; so :math:`RU = V`. For two hyperplanes it is the rotation by the
    dihedral angle :math:`\varphi` in the plane of :math:`(u_A, u_B)`. Applied to X only:
    :math:`x_i' = Rx_i`, :math:`y_i' = y_i`. With the pair structure :math:`P_C x_i = P_C y_i`,
    :math:`a_i = b_i` (THEORY 2.3), :math:`Rx_i = y_i`: paired cosine 1.

    Args:
        x: ``(N, d)`` unit rows, rotated.
        y: ``(N, d)`` unit rows paired with ``x``, left as they are.
        qu: ``(d, k_u)`` basis of X's subspace; with ``qv=None`` too, both are estimated from
            the data with :func:`data_basis` ``(., variance)`` (uncentred SVD). With estimated
            bases of unequal rank, only ``min(k_u, k_v)`` principal pairs are rotated.
        qv: ``(d, k_v)`` basis of Y's subspace.
        variance: cumulative-variance cut for estimated bases.
        tau: temperature for the ``loss`` measure.

    Returns:
        :class:`AlignResult`; ``info``: ``rotation`` :math:`R` (``(d, d)``, orthogonal),
        ``principal_angles`` (all), ``rotated_angles`` (those above ``ZERO_ANGLE_TOL``).
    """
    x, y = _pair(x, y)
    tau = _tau(tau)
    if (qu is None) != (qv is None):
        raise ConfigError("qv" if qv is None else "qu", None, "give both bases or neither")
    if qu is None:
        qu, qv = data_basis(x, variance), data_basis(y, variance)
    qu, qv = orthonormalize(qu, "qu"), orthonormalize(qv, "qv")
    for name, q in (("qu", qu), ("qv", qv)):
        _check(name, f"array of shape {q.shape}", q.shape[0] == x.shape[1], "needs d rows")
    pv = principal_vectors(qu, qv)
    rot = pv.angles > ZERO_ANGLE_TOL
    th, u = pv.angles[rot], pv.u[:, rot]
    w = (pv.v[:, rot] - np.cos(th) * u) / np.sin(th)
    r = np.eye(x.shape[1]) + (np.cos(th) - 1) * u @ u.T + (np.cos(th) - 1) * w @ w.T
    r += np.sin(th) * w @ u.T - np.sin(th) * u @ w.T
    info = {"rotation": r, "principal_angles": pv.angles, "rotated_angles": th}
    return _finish(x, y, x @ r.T, y, None, None, tau, info)


# ---------------------------------------------------------------------------------------------
# baseline and the reverse operation
# ---------------------------------------------------------------------------------------------


def mean_removal(x, y, *, tau: float = 0.07) -> AlignResult:
    r"""Subtract each modality's own mean and renormalise: :math:`x_i' = (x_i-\bar x)/\|\cdot\|`.

    A common baseline: both means are zero before renormalisation, so the centroid distance is
    small after it, but the modalities need not be aligned (a rotation between them survives),
    and the centroid angle becomes ill-conditioned (reported NaN).

    Returns:
        :class:`AlignResult`; ``info``: ``mean_x``, ``mean_y``, ``norm_x``, ``norm_y``,
        ``degenerate_x``, ``degenerate_y``.
    """
    x, y = _pair(x, y)
    mx, my = x.mean(axis=0), y.mean(axis=0)
    e1 = _e1(x.shape[1])
    xn, nx = _renormalize(jnp.asarray(x - mx[None, :]), e1)
    yn, ny = _renormalize(jnp.asarray(y - my[None, :]), e1)
    return _finish(x, y, xn, yn, nx, ny, _tau(tau), {"mean_x": mx, "mean_y": my})


def inject_gap(x, y, g: float, u) -> tuple[np.ndarray, np.ndarray]:
    r"""Open a gap of size ``g`` along a direction ``u`` orthogonal to every point.

    :math:`x_i' = \sqrt{1-g^2}\,x_i + gu`, :math:`y_i' = \sqrt{1-g^2}\,y_i - gu`. For unit
    ``u`` orthogonal to all rows, :math:`x_i'\cdot y_j' = (1-g^2)\,x_i\cdot y_j - g^2`: a
    monotone map of every cross-modal similarity, so every retrieval ranking is unchanged
    (THEORY 5). Within a modality :math:`x_i'\cdot x_j' = (1-g^2)\,x_i\cdot x_j + g^2`, so in
    the mixed set a same-modality point of another class can be nearer than the partner, and
    the centroids move :math:`2g` apart along ``u`` (Grassucci et al. 2026). With ``u`` a new
    coordinate this is Yaras et al.'s (2025) gamma-lift.

    Args:
        x: ``(N, d)`` unit rows of the first modality.
        y: ``(N, d)`` unit rows of the second; row i pairs with ``x[i]``.
        g: gap size in ``[0, 1]``.
        u: ``(d,)`` unit vector orthogonal to every row (to 1e-8).

    Returns:
        ``(x', y')``, float64 unit rows.
    """
    x, y = _pair(x, y)
    u = np.asarray(u, np.float64).reshape(-1)
    g = _real("g", g, 0.0, 1.0, "must lie in [0, 1]")
    _check("u", f"array of shape {u.shape}", u.shape == (x.shape[1],), f"must be ({x.shape[1]},)")
    _check("u", "vector", abs(float(np.linalg.norm(u)) - 1) <= UNIT_TOL, "must be a unit vector")
    off = float(np.max(np.abs(np.concatenate([x @ u, y @ u]))))
    _check("u", f"vector with |z . u| up to {off:.2e}", off <= 1e-8, "must be orthogonal to rows")
    c = math.sqrt(1 - g * g)
    return c * x + g * u[None, :], c * y - g * u[None, :]
