r"""Post-hoc alignments of real embeddings and Liang et al.'s loss-versus-shift curve.

Each alignment of :mod:`gapsim.alignment` is applied to the same evaluation set (all pairs up
to ``eval_sample``, a random subsample above: the before/after measures, R@1 among them, are
those of that set, so retrieval is among ``eval_sample`` candidates):

- ``gap_shift``: Liang et al. (2022)'s shift by the whole gap vector (:math:`\lambda = 1`);
- ``ssp_kK``: Yi, Douady & Chen (2025)'s shared space projection, top ``K = ssp_k``
  directions (``ssp_kall``: every shared direction);
- ``mean_removal``: subtract each modality's mean and renormalise;
- ``c3``: C3-style (Zhang et al. 2024, "Connect, Collapse, Corrupt"): mean removal, then
  Gaussian noise :math:`\mathcal N(0, \sigma^2 I)` added to the second modality (C3 corrupts
  the modality it trains on) and renormalised: :math:`y_i' \propto (y_i-\bar y)/\|y_i-\bar y\|
  + \sigma\varepsilon_i`;
- ``hyperplane_rotation``: Yi et al.'s minimal rotation of X's data subspace onto Y's, where it
  applies (both data subspaces of equal dimension below d; otherwise skipped with the reason).

An alignment that cannot run on the data (e.g. SSP finds no shared direction) is reported
with its reason instead of numbers.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.alignment import (
    data_basis,
    gap_shift,
    gap_shift_curve,
    hyperplane_rotation,
    mean_removal,
    ssp,
)
from gapsim.alignment._common import AlignResult, _finish, _pair, _renormalize
from gapsim.errors import ConfigError

__all__ = ["c3_noise_alignment", "alignments", "shift_curves", "ssp_label"]

TABLE_KEYS = (
    "centroid_distance",
    "centroid_angle",
    "paired_cosine_mean",
    "r1_xy",
    "r1_yx",
    "matched_fraction",
    "uniformity",
    "loss",
)
"""Measures kept in the before/after table of each alignment."""


def c3_noise_alignment(x, y, key: jax.Array, *, sigma: float = 0.01, tau: float = 0.07):
    r"""Mean removal plus Gaussian noise on the second modality (C3-style, module docstring).

    Args:
        x: ``(N, d)`` unit rows.
        y: ``(N, d)`` unit rows paired with ``x``.
        key: PRNG key of the noise.
        sigma: per-coordinate noise standard deviation (added to unit rows).
        tau: temperature of the ``loss`` measure.

    Returns:
        :class:`gapsim.AlignResult`; ``info``: ``sigma``, ``mean_x``, ``mean_y``.
    """
    x, y = _pair(x, y)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ConfigError("sigma", sigma, "must be finite and >= 0")
    mx, my = x.mean(axis=0), y.mean(axis=0)
    e1 = jnp.zeros(x.shape[1], jnp.float64).at[0].set(1.0)
    xn, nx = _renormalize(jnp.asarray(x - mx), e1)
    yc, _ = _renormalize(jnp.asarray(y - my), e1)
    eps = jax.random.normal(key, y.shape, jnp.float64)
    yn, ny = _renormalize(yc + sigma * eps, e1)
    return _finish(x, y, xn, yn, nx, ny, tau, {"sigma": sigma, "mean_x": mx, "mean_y": my})


def _rotation(x, y, tau: float, variance: float) -> AlignResult:
    rx, ry = data_basis(x, variance).shape[1], data_basis(y, variance).shape[1]
    d = x.shape[1]
    if rx != ry or rx >= d:
        raise ConfigError(
            "hyperplane_rotation",
            f"data subspaces of dimension {rx}, {ry} in d = {d}",
            "applies to two subspaces of equal dimension below d",
        )
    return hyperplane_rotation(x, y, variance=variance, tau=tau)


RENAMED = {"uniformity": "uniformity_mean_xy"}
"""Table names that say what the value is: the mean of the two per-modality uniformities."""


def _row(r: AlignResult) -> dict[str, Any]:
    keep = {k: v for k, v in r.info.items() if np.ndim(v) == 0 and not isinstance(v, (str, bytes))}
    return {
        "before": {RENAMED.get(k, k): r.before[k] for k in TABLE_KEYS},
        "after": {RENAMED.get(k, k): r.after[k] for k in TABLE_KEYS},
        "info": keep,
    }


def ssp_label(ssp_k: int | None) -> str:
    """The name of the SSP row, with its k: ``ssp_k10``, ``ssp_kall``."""
    return f"ssp_k{'all' if ssp_k is None else ssp_k}"


def alignments(
    x: np.ndarray,
    y: np.ndarray,
    key: jax.Array,
    *,
    tau: float = 0.07,
    variance: float = 0.99,
    ssp_k: int | None = 10,
    c3_sigma: float = 0.01,
) -> dict[str, dict[str, Any]]:
    """Every alignment of the module docstring on unit rows ``x``, ``y`` (float64 copies).

    Returns:
        ``{name: {"before", "after", "info"}}`` (measures of :data:`TABLE_KEYS`; scalar info),
        or ``{name: {"skipped": reason}}``.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    runs = {
        "gap_shift": lambda: gap_shift(x, y, 1.0, tau=tau),
        ssp_label(ssp_k): lambda: ssp(x, y, variance=variance, k=ssp_k, tau=tau),
        "mean_removal": lambda: mean_removal(x, y, tau=tau),
        "c3": lambda: c3_noise_alignment(x, y, key, sigma=c3_sigma, tau=tau),
        "hyperplane_rotation": lambda: _rotation(x, y, tau, variance),
    }
    out: dict[str, dict[str, Any]] = {}
    for name, fn in runs.items():
        try:
            out[name] = _row(fn())
        except ConfigError as e:
            out[name] = {"skipped": str(e)}
    return out


def shift_curves(x: np.ndarray, y: np.ndarray, taus, lambdas=None) -> dict[str, dict[str, Any]]:
    r"""Liang et al.'s InfoNCE along the gap shift at each temperature, with its minimum.

    :func:`gapsim.gap_shift_curve` on the rows given (a batch: InfoNCE depends on N through
    :math:`\log N`, so the curve is that of a batch of this size). ``gap_shift_curve`` evaluates
    its grid one shift at a time with the blocked InfoNCE, so memory is one ``(block, N)`` slab
    (:mod:`gapsim.core.blocks`), whatever the grid.

    Returns:
        ``{str(tau): {"lambdas", "losses", "centroid_distance", "lam_min", "loss_min",
        "loss_at_0"}}``.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    out = {}
    grid = np.linspace(-1.0, 1.0, 41) if lambdas is None else np.asarray(lambdas, np.float64)
    for tau in taus:
        c = gap_shift_curve(x, y, tau, grid)
        k = int(np.argmin(c.losses))
        i0 = int(np.argmin(np.abs(c.lambdas)))
        out[f"{tau:g}"] = {
            "lambdas": c.lambdas,
            "losses": c.losses,
            "centroid_distance": c.centroid_distance,
            "lam_min": float(c.lambdas[k]),
            "loss_min": float(c.losses[k]),
            "loss_at_0": float(c.losses[i0]),
        }
    return out
