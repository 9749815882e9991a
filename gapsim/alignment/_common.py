"""Shared parts of :mod:`gapsim.alignment`: the result types, validation, renormalisation."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.core.measures import flag_centroid_angle, measures, unit_tolerance
from gapsim.errors import ConfigError

DEGENERATE_NORM = 1e-10
"""Rows shorter than this before renormalisation are degenerate (replaced and counted)."""
UNIT_TOL = 1e-6
"""Input rows must have norm 1 to this tolerance (float32 embeddings normalised are ~1e-7)."""


class AlignResult(NamedTuple):
    """Aligned points and their measures.

    Attributes:
        x, y: ``(N, d)`` float64 aligned unit rows.
        before, after: measures of the input and output points (keys of
            :data:`gapsim.core.measures.MEASURE_KEYS`, plus ``centroid_angle_raw`` and
            ``centroid_angle_ill_conditioned``; ``centroid_angle`` is NaN when a mean norm is
            below :data:`gapsim.core.measures.MIN_MEAN_NORM`).
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
    """Float64 copies of paired unit rows; unit to the precision of the input dtype.

    Rows normalised in float16 (``|norm - 1|`` up to ~1e-4) are accepted
    (:func:`gapsim.core.measures.unit_tolerance`) and renormalised in float64.
    """
    tol_x, tol_y = (unit_tolerance(np.asarray(z).dtype) for z in (x, y))
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ConfigError("x", f"array of shape {x.shape}", "must be (N, d) with N >= 2")
    if y.shape != x.shape:
        raise ConfigError("y", f"array of shape {y.shape}", f"must have the shape of x {x.shape}")
    out = []
    for name, z, tol in (("x", x, tol_x), ("y", y, tol_y)):
        if not np.all(np.isfinite(z)):
            raise ConfigError(name, "array with NaN/inf", "must be finite")
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        err = float(np.max(np.abs(norms - 1)))
        if err > max(tol, UNIT_TOL):
            raise ConfigError(name, f"rows with | ||z|| - 1 | up to {err:.2e}", "must be unit rows")
        out.append(z if err <= UNIT_TOL else z / norms)  # float16-normalised: renormalise
    return out[0], out[1]


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
        raw = _measures(a, b, 1.0 / tau)._asdict()
        return flag_centroid_angle({k: float(v) for k, v in raw.items()})

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
