r"""Liang et al. (2022)'s swapped-pair toy: the points, its loss, its stationary temperature.

N pairs equally spaced on two circles at heights :math:`\pm\gamma_0` on :math:`S^2`, partners 0
and 1 swapped (one mismatched pair). The check :mod:`gapsim.checks.liang` and the figure
``liang_shift`` share it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp, softmax

__all__ = [
    "N_TOY",
    "GAMMA0",
    "toy_points",
    "ell",
    "dell",
    "unlifted_cosines",
    "stationary_temperature",
]

N_TOY, GAMMA0 = 8, 0.6
"""The toy's size and height."""


def toy_points(n: int = N_TOY, gamma0: float = GAMMA0) -> tuple[np.ndarray, np.ndarray]:
    """The toy: equally spaced pairs on circles at heights +-gamma0, partners 0 and 1 swapped."""
    th = 2 * np.pi * np.arange(n) / n
    r = math.sqrt(1 - gamma0**2)
    x = np.stack([r * np.cos(th), r * np.sin(th), np.full(n, gamma0)], 1)
    y = x * np.array([1.0, 1.0, -1.0])
    y[[0, 1]] = y[[1, 0]]
    return x, y


def ell(a: float, z: np.ndarray) -> float:
    """NumPy reference: symmetric InfoNCE of logits a Z, averaged over both directions."""
    m = a * z
    d = np.diag(m)
    return float(0.5 * np.mean(logsumexp(m, 1) - d) + 0.5 * np.mean(logsumexp(m, 0) - d))


def unlifted_cosines(n: int = N_TOY) -> np.ndarray:
    """The cosines X Y^T of the toy at height 0 (the logits' matrix before the lift)."""
    x, y = toy_points(n, 0.0)
    return x @ y.T


def dell(a: float, z: np.ndarray) -> float:
    """l'(a) in closed form: the softmax-weighted mean cosine minus the paired one, both ways."""
    rows = np.sum(softmax(a * z, 1) * z, 1)
    cols = np.sum(softmax(a * z, 0) * z, 0)
    return float(0.5 * np.mean(rows - np.diag(z)) + 0.5 * np.mean(cols - np.diag(z)))


def stationary_temperature(n: int = N_TOY) -> float:
    """a* with l'(a*) = 0: the logit scale at which the toy's temperature is stationary.

    The root of the closed-form derivative (Brent's root finder to 1e-14), not the argmin of l
    itself: a minimiser of the rounded l is only known to sqrt(eps) relative (it was 1.3e-8 too
    high, which moved the beta = 100 prediction by 3.5e-8).
    """
    z = unlifted_cosines(n)
    return float(brentq(lambda a: dell(a, z), 1e-3, 1e3, xtol=1e-14, rtol=1e-15))
