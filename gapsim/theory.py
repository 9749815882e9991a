r"""Closed-form predictions (THEORY.md), each citing its source.

Everything is float64 NumPy/SciPy on the host.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, ive

from gapsim.errors import ConfigError

__all__ = ["simplex_loss", "large_n_limit"]


def simplex_loss(n: int, tau: float) -> float:
    r"""Minimum of the averaged symmetric InfoNCE for :math:`2 \le N \le d+1` (Yi et al. 2025).

    The minimiser is a regular simplex with :math:`x_i = y_i` and
    :math:`x_i\cdot x_j = -1/(N-1)`, giving
    :math:`L^* = \log\big(1 + (N-1)\exp(-N/((N-1)\tau))\big)`.

    Example:
        >>> round(simplex_loss(2, 1.0), 6)  # log(1 + e^-2)
        0.126928
    """
    if n < 2:
        raise ConfigError("n_pairs", n, "must be >= 2")
    if not tau > 0:
        raise ConfigError("tau", tau, "must be > 0")
    return float(np.log1p((n - 1) * np.exp(-n / ((n - 1) * tau))))


def large_n_limit(d: int, tau: float) -> float:
    r"""Large-N limit of :math:`L - \log N` for paired uniform points (Yi et al. 2025).

    :math:`-1/\tau + \log\big(\Gamma(\nu+1)(2\tau)^\nu I_\nu(1/\tau)\big)`, :math:`\nu = d/2-1`,
    evaluated with the exponentially scaled Bessel function
    (:math:`I_\nu(z) = \mathrm{ive}(\nu, z)\,e^{z}`), so the :math:`-1/\tau` cancels exactly.
    """
    if d < 2:
        raise ConfigError("dim", d, "must be >= 2")
    if not tau > 0:
        raise ConfigError("tau", tau, "must be > 0")
    nu = d / 2 - 1
    return float(gammaln(nu + 1) + nu * np.log(2 * tau) + np.log(ive(nu, 1 / tau)))
