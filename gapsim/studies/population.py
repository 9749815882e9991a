r"""N -> infinity population objectives with von Mises-Fisher modalities (Yi et al. 2025, Thm 2-3).

Yi, Douady & Chen (2025) state their cone and subspace theorems for the large-N limit of the
symmetric InfoNCE with each modality a von Mises-Fisher (vMF) distribution of fixed
concentration :math:`\kappa` and a free centre (docs/theory.md 2.2-2.3). This module evaluates those
objectives and minimises them over the centres, so that a claim is tested in its own model.

**vMF moment generating function.** For :math:`y \sim \mathrm{vMF}_p(\mu, \kappa)` on
:math:`S^{p-1}` (density :math:`C_p(\kappa)e^{\kappa\mu\cdot y}`,
:math:`C_p(k) = k^{p/2-1} / ((2\pi)^{p/2} I_{p/2-1}(k))`),

.. math:: E\, e^{v\cdot y} = C_p(\kappa) / C_p(\|\kappa\mu + v\|).

A vMF inside a k-dimensional subspace :math:`V = \mathrm{span}(Q_V)` sees only :math:`P_V v`:
:math:`r = \|\kappa Q_V^\top c + Q_V^\top v/\tau\|` with :math:`p = k`.

**Population InfoNCE (the whole objective).** With pairs :math:`(x, y)` drawn from a coupling of
the two modalities, the averaged symmetric InfoNCE satisfies, as :math:`N\to\infty`,

.. math:: L_N - \log N \to F = -\frac{E[x\cdot y]}{\tau}
   + \tfrac12 E_x \log E_{y'} e^{x\cdot y'/\tau} + \tfrac12 E_y \log E_{x'} e^{x'\cdot y/\tau}

(each row's log-sum-exp is :math:`\log N + \log` of the empirical mean over the other modality,
which converges to its expectation; the positive pair adds :math:`O(e^{1/\tau}/N)`). The inner
expectations are the closed form above; the outer ones are Monte Carlo over a fixed sample
(common random numbers), reported with a standard error. :func:`population_infonce_finite_n`
keeps the positive pair in the denominator for comparison with a finite-N draw.

**Centre-pair objective (only the leading term).** Replacing :math:`x` and :math:`y` by their
centres inside the outer expectations gives

.. math:: J(c_x, c_y) = -\frac{c_x\cdot c_y}{\tau}
   + \tfrac12\log E_{y\sim \mathrm{vMF}_B(c_y,\kappa)} e^{c_x\cdot y/\tau}
   + \tfrac12\log E_{x\sim \mathrm{vMF}_A(c_x,\kappa)} e^{c_y\cdot x/\tau},

which is :math:`F` to leading order as :math:`\kappa\to\infty` (the points concentrate on their
centres), not :math:`F` itself: Jensen's inequality and the spread of :math:`x` enter at order
:math:`1/\kappa`. For the cone it depends only on :math:`\cos\Delta\theta`:
:math:`J = -\cos\Delta\theta/\tau + \log C_d(\kappa) - \log C_d(r)`,
:math:`r^2 = \kappa^2 + \tau^{-2} + 2\kappa\cos\Delta\theta/\tau`. The averaged convention (1/2 per
direction) matches :func:`gapsim.core.loss.infonce`; the summed convention is twice it
(same argmin).

Everything is float64 NumPy/SciPy on the host.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import optimize
from scipy.special import gammaln, ive
from scipy.stats import vonmises_fisher

__all__ = [
    "VMF",
    "log_vmf_norm",
    "log_vmf_mgf",
    "sample_vmf",
    "centre_pair_objective",
    "cone_centre_pair",
    "cone_argmin",
    "subspace_centre_pair_argmin",
    "population_terms",
    "population_infonce",
    "population_infonce_finite_n",
    "coupled_samples",
]


class VMF(NamedTuple):
    """A von Mises-Fisher modality inside a subspace.

    Attributes:
        basis: ``(d, k)`` orthonormal basis of the subspace (the identity for the whole sphere).
        centre: ``(d,)`` unit centre, in the subspace.
        kappa: concentration (> 0).
    """

    basis: np.ndarray
    centre: np.ndarray
    kappa: float


def log_vmf_norm(p: int, k: np.ndarray | float) -> np.ndarray | float:
    r""":math:`\log C_p(k)`, the vMF normaliser on :math:`S^{p-1}`, via ``ive`` (no overflow).

    :math:`\log C_p(k) = \nu\log k - \tfrac p2\log 2\pi - \log\mathrm{ive}(\nu, k) - k`,
    :math:`\nu = p/2 - 1`; at :math:`k\to 0` it tends to :math:`-\log|S^{p-1}|`.

    Example:
        >>> round(float(np.exp(-log_vmf_norm(3, 1e-12))), 6)  # area of S^2 = 4 pi
        12.566371
    """
    nu = p / 2 - 1
    k = np.asarray(k, dtype=np.float64)
    small = k < 1e-8
    ks = np.where(small, 1.0, k)
    big = nu * np.log(ks) - p / 2 * np.log(2 * np.pi) - np.log(ive(nu, ks)) - ks
    # k^nu / I_nu(k) -> 2^nu Gamma(nu + 1) as k -> 0
    zero = nu * np.log(2) + gammaln(nu + 1) - p / 2 * np.log(2 * np.pi)
    return np.where(small, zero, big)


def log_vmf_mgf(p: int, kappa: float, r: np.ndarray | float) -> np.ndarray | float:
    r""":math:`\log E\,e^{v\cdot y} = \log C_p(\kappa) - \log C_p(r)`, :math:`r=\|\kappa\mu+v\|`."""
    return log_vmf_norm(p, kappa) - log_vmf_norm(p, r)


def _log_mgf_of(m: VMF, v: np.ndarray, tau: float) -> np.ndarray | float:
    r""":math:`\log E_{y\sim m} e^{v\cdot y/\tau}` for the rows of ``v`` (``(..., d)``)."""
    q = np.asarray(m.basis)
    r = np.linalg.norm(m.kappa * (q.T @ m.centre) + (v @ q) / tau, axis=-1)
    return log_vmf_mgf(q.shape[1], m.kappa, r)


def sample_vmf(rng: np.random.Generator, m: VMF, n: int) -> np.ndarray | float:
    """``n`` draws of ``m`` (``(n, d)``), sampled in subspace coordinates (scipy)."""
    q = np.asarray(m.basis)
    mu = q.T @ m.centre
    mu = mu / np.linalg.norm(mu)
    if q.shape[1] == 1:
        return np.tile(m.centre, (n, 1))
    w = vonmises_fisher(mu, m.kappa).rvs(n, random_state=rng)
    return w @ q.T


def centre_pair_objective(mx: VMF, my: VMF, tau: float) -> float:
    """The centre-pair objective :math:`J(c_x, c_y)` (module docstring; averaged convention)."""
    cx, cy = mx.centre, my.centre
    sym = _log_mgf_of(my, cx, tau) + _log_mgf_of(mx, cy, tau)
    return float(-cx @ cy / tau + 0.5 * sym)


def cone_centre_pair(
    cos_delta: np.ndarray | float, d: int, kappa: float, tau: float
) -> np.ndarray | float:
    r"""Yi Thm 2 centre-pair objective :math:`J(\cos\Delta\theta;\kappa)` on the whole sphere."""
    c = np.asarray(cos_delta, dtype=np.float64)
    r = np.sqrt(np.maximum(kappa**2 + tau**-2 + 2 * kappa * c / tau, 0.0))
    return -c / tau + log_vmf_mgf(d, kappa, r)


def cone_argmin(d: int, kappa: float, tau: float, grid: int = 721) -> dict[str, float]:
    r"""Minimise :func:`cone_centre_pair` over :math:`\Delta\theta\in[0,\pi]` (grid, then Brent).

    Returns the argmin ``delta``, the value ``J`` and ``J(0) - J(pi)``.
    """
    ds = np.linspace(0.0, np.pi, grid)
    vals = cone_centre_pair(np.cos(ds), d, kappa, tau)
    i = int(np.argmin(vals))
    lo, hi = ds[max(i - 1, 0)], ds[min(i + 1, grid - 1)]
    res = optimize.minimize_scalar(
        lambda t: float(cone_centre_pair(np.cos(t), d, kappa, tau)),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-10},
    )
    delta, val = (float(res.x), float(res.fun)) if res.fun <= vals[i] else (ds[i], vals[i])
    return {"delta": delta, "J": val, "J0_minus_Jpi": float(vals[0] - vals[-1])}


def subspace_centre_pair_argmin(
    qu: np.ndarray, qv: np.ndarray, kappa: float, tau: float, rng: np.random.Generator, starts: int
) -> dict[str, float]:
    r"""Minimise :math:`J(c_x, c_y)` over unit centres :math:`c_x\in U`, :math:`c_y\in V`.

    Parametrised by :math:`c = Q w/\|w\|` (L-BFGS from ``starts`` random starts plus the starts
    "both in C" and "both on the private directions"), keeping the lowest value. Returns the
    centroid angle ``delta``, the norms of the centres' components in
    :math:`C = U\cap V` (``shared_x``, ``shared_y``), the value ``J`` and the spread over starts.
    """
    from gapsim.core.subspaces import ZERO_ANGLE_TOL, principal_vectors

    ku = qu.shape[1]
    pv = principal_vectors(qu, qv)
    shared = pv.angles < ZERO_ANGLE_TOL
    pc = pv.u[:, shared]

    def centres(w):
        wx, wy = w[:ku], w[ku:]
        return qu @ wx / np.linalg.norm(wx), qv @ wy / np.linalg.norm(wy)

    def f(w):
        cx, cy = centres(w)
        return centre_pair_objective(VMF(qu, cx, kappa), VMF(qv, cy, kappa), tau)

    def coords(cx, cy):
        return np.concatenate([qu.T @ cx, qv.T @ cy])

    inits = [rng.normal(size=ku + qv.shape[1]) for _ in range(starts)]
    if pc.shape[1]:
        inits.append(coords(pc[:, 0], pc[:, 0]))
    if (~shared).any():
        inits.append(coords(pv.u[:, ~shared][:, 0], pv.v[:, ~shared][:, 0]))
    vals, best = [], None
    for w0 in inits:
        res = optimize.minimize(f, w0, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
        vals.append(float(res.fun))
        if best is None or res.fun < best.fun:
            best = res
    cx, cy = centres(best.x)
    return {
        "delta": float(np.arccos(np.clip(cx @ cy, -1.0, 1.0))),
        "shared_x": float(np.linalg.norm(pc.T @ cx)) if pc.size else 0.0,
        "shared_y": float(np.linalg.norm(pc.T @ cy)) if pc.size else 0.0,
        "J": float(best.fun),
        "J_spread_over_starts": float(np.ptp(vals)),
    }


def coupled_samples(
    z: np.ndarray, qu: np.ndarray, qv: np.ndarray, omega: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""Pairs with the pair structure of Yi Thm 4: :math:`x = Q_U w`, :math:`y = Q_V w`.

    ``z`` are draws of :math:`\mathrm{vMF}_k(e_1, \kappa)` (``(n, k)``, fixed: common random
    numbers); a Householder reflection maps :math:`e_1` to the unit ``omega``, so that
    :math:`w\sim\mathrm{vMF}_k(\omega,\kappa)`. With principal-vector bases (those of
    :func:`gapsim.core.subspaces.subspace_pair`) this gives :math:`P_Cx = P_Cy` and :math:`a = b`,
    centres :math:`Q_U\omega` and :math:`Q_V\omega`.
    """
    e1 = np.zeros_like(omega)
    e1[0] = 1.0
    h = e1 - omega
    nh = h @ h
    w = z if nh < 1e-30 else z - 2.0 * np.outer(z @ h, h) / nh
    return w @ qu.T, w @ qv.T


def population_terms(
    x: np.ndarray, y: np.ndarray, mx: VMF, my: VMF, tau: float
) -> np.ndarray | float:
    r"""Per-pair terms of :math:`F`.

    :math:`t_i = -x_i\cdot y_i/\tau + \tfrac12(\log M_Y(x_i) + \log M_X(y_i))`, with
    :math:`M_Y(x) = E_{y'} e^{x\cdot y'/\tau}` in closed form.

    Their mean is the Monte Carlo estimate of :math:`F`; differences of two such arrays over the
    same draws (common random numbers) give the standard error of a difference of objectives.
    """
    return -np.sum(x * y, axis=1) / tau + 0.5 * (_log_mgf_of(my, x, tau) + _log_mgf_of(mx, y, tau))


def population_infonce(
    x: np.ndarray, y: np.ndarray, mx: VMF, my: VMF, tau: float
) -> tuple[float, float]:
    r"""Monte Carlo of the population InfoNCE :math:`F` (module docstring) over paired draws.

    Returns ``(F, standard error)``; the inner expectations are exact (closed form).
    """
    t = population_terms(x, y, mx, my, tau)
    return float(t.mean()), float(t.std(ddof=1) / np.sqrt(t.size))


def population_infonce_finite_n(
    x: np.ndarray, y: np.ndarray, mx: VMF, my: VMF, tau: float, n: int
) -> float:
    r"""Expected :math:`L_N - \log N` to first order: the positive pair kept in each denominator.

    Row i contributes :math:`\log\big(((N-1)M_Y(x_i) + e^{x_i\cdot y_i/\tau})/N\big)` instead of
    :math:`\log M_Y(x_i)`, with :math:`M_Y(x) = E_{y'} e^{x\cdot y'/\tau}` (and symmetrically);
    the fluctuation of the empirical mean adds a further :math:`O(1/N)` (Jensen).
    """
    s = np.sum(x * y, axis=1) / tau

    def lse(log_m):
        return np.logaddexp(np.log(n - 1) + log_m, s) - np.log(n)

    return float(np.mean(-s + 0.5 * (lse(_log_mgf_of(my, x, tau)) + lse(_log_mgf_of(mx, y, tau)))))
