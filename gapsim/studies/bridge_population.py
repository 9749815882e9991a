r"""The population reference of the bridge study: the vMF optimum and its uncertainty.

For a :class:`Setting` (hyperplanes at angle phi, or the whole sphere) the population InfoNCE F
of :mod:`gapsim.studies.population` is scanned over the centres' angle from C (hyperplanes; coupling
:math:`y = Rx`, R the rotation of A onto B) or over the angle between the centres (cone;
rotation coupling), Monte Carlo with common random numbers. The argmin lies among the grid
points within ``N_SIGMA`` standard errors of the paired difference of the smallest F; its
*band* is the hull of that set widened by one grid step. Where F at the argmin is a 1-D
integral (a circle, k = 2; the cone at angle 0) it is also computed by quadrature.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import roots_jacobi

from gapsim.core.subspaces import hyperplane_pair
from gapsim.studies.population import VMF, coupled_samples, population_terms, sample_vmf

__all__ = ["Setting", "N_SIGMA", "population", "gap_of_shared_angle"]

N_SIGMA = 4.0
"""A Monte Carlo difference is significant at 4 standard errors (as in the population rows)."""


class Setting(NamedTuple):
    r"""One bridge setting.

    Attributes:
        model: ``"subspace"`` (two hyperplanes at dihedral angle ``phi``) or ``"cone"`` (the whole
            sphere, gap predicted 0).
        d: ambient dimension.
        kappa: vMF concentration; each modality's mean norm is :math:`A_k(\kappa)`.
        tau: temperature.
        phi: dihedral angle (hyperplanes only).
    """

    model: str
    d: int
    kappa: float
    tau: float
    phi: float | None = None

    @property
    def target(self) -> float:
        """The population gap: phi (hyperplanes) or 0 (cone)."""
        return float(self.phi) if self.model == "subspace" else 0.0


def gap_of_shared_angle(s_angle: np.ndarray | float, phi: float) -> np.ndarray | float:
    """Centroid angle of centres at angle s from C in hyperplanes at angle phi."""
    c = np.cos(s_angle) ** 2 + np.sin(s_angle) ** 2 * np.cos(phi)
    return np.arccos(np.clip(c, -1.0, 1.0))


def _quadrature_value(s: Setting, s_star: float) -> float | None:
    """F at the population argmin by quadrature where it is 1-D (else None).

    Hyperplanes in R^3 (k = 2): the vMF on the circle, trapezoid rule (periodic, spectrally
    accurate). Cone at angle 0 (coupling y = x): F = -1/tau + E log M(x.mu), with x.mu of
    density proportional to (1 - t^2)^((d-3)/2) e^(kappa t): Gauss-Jacobi.
    """
    if s.model == "subspace" and s.d == 3:
        qu, qv = (np.asarray(q) for q in hyperplane_pair(3, s.phi))
        th = 2 * np.pi * np.arange(2048) / 2048
        w = np.stack([np.cos(th), np.sin(th)], axis=1)
        om = np.array([np.cos(s_star), np.sin(s_star)])
        wt = np.exp(s.kappa * (w @ om - 1.0))
        x, y = w @ qu.T, w @ qv.T
        t = population_terms(x, y, VMF(qu, qu @ om, s.kappa), VMF(qv, qv @ om, s.kappa), s.tau)
        return float(wt @ t / wt.sum())
    if s.model == "cone" and s_star == 0.0:
        a = (s.d - 3) / 2
        t, wq = roots_jacobi(200, a, a)
        wt = wq * np.exp(s.kappa * (t - 1.0))
        x = np.zeros((t.size, s.d))
        x[:, 0], x[:, 1] = t, np.sqrt(1 - t**2)
        m = VMF(np.eye(s.d), np.eye(s.d)[0], s.kappa)
        return float(wt @ population_terms(x, x, m, m, s.tau) / wt.sum())
    return None


def population(s: Setting, draws: int = 20000, grid: int = 25, seed: int = 1) -> dict:
    r"""The population optimum at ``s`` and its uncertainty (module docstring).

    Returns the grid, F on it, the argmin, the confidence set, the gap band ``gap_band``
    (rad), for hyperplanes the shared-component band ``shared_band`` (:math:`|P_Cc| = \cos s`),
    the value ``F`` at the argmin with its standard error ``F_se`` and ``F_quadrature``.
    """
    k = s.d - 1 if s.model == "subspace" else s.d
    z = sample_vmf(np.random.default_rng(seed), VMF(np.eye(k), np.eye(k)[0], s.kappa), draws)
    if s.model == "subspace":
        qu, qv = (np.asarray(q) for q in hyperplane_pair(s.d, s.phi))
        ts = np.linspace(0.0, np.pi / 2, grid)  # centre's angle from C; F(s) = F(pi - s)
    else:
        qu = np.eye(s.d)
        ts = np.linspace(0.0, np.pi, grid)  # angle between the centres
    terms = []
    for t in ts:
        om = np.zeros(k)
        if s.model == "subspace":
            om[0], om[-1] = np.cos(t), np.sin(t)  # coordinate 0 in C, k-1 private
            qvt = qv
        else:
            om[0] = 1.0
            qvt = np.eye(s.d)
            qvt[:2, :2] = [[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]
        x, y = coupled_samples(z, qu, qvt, om)
        mx, my = VMF(qu, qu @ om, s.kappa), VMF(qvt, qvt @ om, s.kappa)
        terms.append(population_terms(x, y, mx, my, s.tau))
    terms = np.array(terms)
    f = terms.mean(axis=1)
    i = int(np.argmin(f))
    se_diff = (terms - terms[i]).std(axis=1, ddof=1) / np.sqrt(draws)
    inside = np.flatnonzero(f - f[i] <= N_SIGMA * se_diff)
    step = ts[1] - ts[0]
    lo, hi = max(ts[inside[0]] - step, ts[0]), min(ts[inside[-1]] + step, ts[-1])
    out = {
        "grid": ts,
        "F_grid": f,
        "argmin": float(ts[i]),
        "confidence_set": [float(ts[j]) for j in inside],
        "decided": not (0 in inside and grid - 1 in inside),
        "F": float(f[i]),
        "F_se": float(terms[i].std(ddof=1) / np.sqrt(draws)),
        "F_quadrature": _quadrature_value(s, float(ts[i])),
        "draws": draws,
    }
    if s.model == "subspace":
        out["gap_band"] = [float(gap_of_shared_angle(t, s.phi)) for t in (lo, hi)]
        out["shared_band"] = [float(np.cos(hi)), float(np.cos(lo))]
    else:
        out["gap_band"] = [float(lo), float(hi)]
    return out
