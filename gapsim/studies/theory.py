r"""Closed-form predictions (docs/theory.md), each citing its source.

Everything is float64 NumPy/SciPy on the host.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import gammaln, ive

from gapsim.core._types import keyed
from gapsim.errors import ConfigError

__all__ = [
    "simplex_loss",
    "large_n_limit",
    "bessel_ratio",
    "yaras_initial_rates",
    "InitialRates",
    "fixed_tau_rate",
    "schedule_rate",
]


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


def bessel_ratio(rho: float | np.ndarray, a: float | np.ndarray) -> np.ndarray | float:
    r""":math:`I_{\rho+1}(a)/I_\rho(a)`, via exponentially scaled Bessel functions (no overflow).

    Equals :math:`E[u_1]` for :math:`u` von Mises-Fisher on :math:`S^{2\rho+1}` with
    concentration :math:`a`; :math:`\coth a - 1/a` for :math:`\rho = 1/2` (d = 3), about
    :math:`a/(2\rho+2) = a/d` for small :math:`a`.
    """
    return ive(np.add(rho, 1), a) / ive(rho, a)


@keyed
class InitialRates(NamedTuple):
    """Yaras et al. Thm 3.3's initial rates (:func:`yaras_initial_rates`)."""

    a: float
    ratio: float
    g: float
    dgamma_dt: float
    dbeta_dt: float


def yaras_initial_rates(d: int, beta0: float, gamma0: float) -> InitialRates:
    r"""Initial rates of the gamma-lift model at a uniform random start (Yaras et al. Thm 3.3).

    For :math:`N \to \infty`, points i.i.d. uniform on :math:`S^{d-1}`, :math:`a = \beta_0(1 -
    \gamma_0^2)`, :math:`\rho = (d-2)/2`, :math:`R = I_{\rho+1}(a)/I_\rho(a)`:
    :math:`\dot\gamma(0) = 2\beta_0\gamma_0 R`, :math:`\dot\beta(0) = -\beta_0^2(1-\gamma_0^2) R`
    (exp parametrisation, equal rates), i.e. :math:`g \to -R`. Finite N adds
    :math:`O(\sqrt{\log N/N})`. Example: d = 3, :math:`\beta_0 = 1/0.07`, :math:`\gamma_0 = 0.3`
    gives :math:`g \approx -0.92`.
    """
    if d < 2:
        raise ConfigError("dim", d, "must be >= 2")
    if not 0 <= gamma0 < 1:
        raise ConfigError("gamma0", gamma0, "must lie in [0, 1)")
    a = beta0 * (1 - gamma0**2)
    r = float(bessel_ratio((d - 2) / 2, a))
    return InitialRates(
        a=a,
        ratio=r,
        g=-r,
        dgamma_dt=2 * beta0 * gamma0 * r,
        dbeta_dt=-(beta0**2) * (1 - gamma0**2) * r,
    )


def fixed_tau_rate(beta: float) -> float:
    r"""Toy-model decay rate of the gap at fixed temperature (Yaras et al.).

    :math:`\gamma(t) \sim e^{-ct}` with :math:`c = \beta e^{-\beta}`: non-monotone in
    :math:`\beta`, largest at :math:`\beta = 1`.
    """
    return float(beta * np.exp(-beta))


def schedule_rate(beta0: float, beta1: float) -> float:
    r"""Toy-model rate for a linear schedule :math:`\beta_0 \to \beta_1` (Yaras et al.).

    :math:`c = [(\beta_0+1)e^{-\beta_0} - (\beta_1+1)e^{-\beta_1}]/(\beta_1-\beta_0)`, the
    average of :math:`\beta e^{-\beta}` over the schedule (tends to :func:`fixed_tau_rate` as
    :math:`\beta_1 \to \beta_0`).
    """
    if beta1 == beta0:
        return fixed_tau_rate(beta0)
    return float(((beta0 + 1) * np.exp(-beta0) - (beta1 + 1) * np.exp(-beta1)) / (beta1 - beta0))
