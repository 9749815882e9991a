r"""Couplings of two vMF modalities in two subspaces: the optimal one where known, else a bound.

The population InfoNCE :math:`F` of :mod:`gapsim.studies.population` depends on how the pairs are
coupled only through its positive term :math:`-E[x\cdot y]/\tau`; the other two terms depend on
the marginals alone. So for given marginals (centres :math:`c_x\in U`, :math:`c_y\in V`,
concentration :math:`\kappa`) the best coupling is the one that maximises :math:`E[x\cdot y]`,
an optimal-transport problem. This module gives its value exactly where the marginals
correspond and a bound from above everywhere (Yi, Douady & Chen 2025, Thm 3-4; the coupling of
Thm 4 is the pair structure :math:`P_Cx = P_Cy`, :math:`a = b`).

**Coordinates.** With principal-vector bases (:func:`gapsim.core.subspaces.hyperplane_pair`),
:math:`x = Q_U w`, :math:`y = Q_V w'` with :math:`w, w'\in S^{k-1}` and
:math:`x\cdot y = w^\top D w'`, :math:`D = Q_U^\top Q_V = \mathrm{diag}(\cos\theta_j)`,
positive semi-definite because principal angles lie in :math:`[0, \pi/2]`. For two hyperplanes
:math:`D = \mathrm{diag}(1,\dots,1,\cos\varphi)`. The marginals are
:math:`w\sim\mathrm{vMF}_k(\omega_x,\kappa)`, :math:`w'\sim\mathrm{vMF}_k(\omega_y,\kappa)`, with
mean :math:`m = A_k(\kappa)\,\omega` and second moment
:math:`\Sigma = E[ww^\top] = \frac{A_k(\kappa)}{\kappa}I + \big(1 - \frac{kA_k(\kappa)}{\kappa}\big)
\omega\omega^\top`, :math:`A_k = I_{k/2}/I_{k/2-1}` (Mardia & Jupp 2000, 9.3).

**The bound (every coupling).** :math:`v\mapsto v^\top Dv` is convex (D is PSD), so by Jensen
:math:`E[(w-w')^\top D(w-w')] \ge (m_x-m_y)^\top D(m_x-m_y)` for every coupling, that is

.. math:: E[w^\top Dw'] \le W(\omega_x,\omega_y) = \tfrac12\mathrm{tr}(D\Sigma_x)
   + \tfrac12\mathrm{tr}(D\Sigma_y) - \tfrac12(m_x-m_y)^\top D(m_x-m_y).

It depends on the marginals only, so :math:`F \ge F_{low} = -W/\tau + ` (the marginal terms)
for every coupling (:func:`coupling_bound`).

**The optimal coupling where the marginals correspond.** When :math:`\omega_x = \omega_y`
(:math:`c_y = Rc_x`, R the rotation of U onto V that maps each principal vector to its partner)
the coupling :math:`w' = w` (:math:`y = Rx`, Thm 4's pair structure) gives
:math:`E[w^\top Dw] = \mathrm{tr}(D\Sigma) = W`: it attains the bound, so it is optimal over
**all** couplings of those marginals, not only within a family. When
:math:`\omega_x \ne \omega_y` no coupling attains the bound (equality in Jensen needs
:math:`w - w'` constant, impossible for two distinct full-support laws on a sphere when D is
positive definite) and the optimal coupling has no closed form; any explicit coupling, such as
:func:`common_draws` (one draw reflected onto each centre), gives F from above.

So :math:`F(\omega,\omega)` is known exactly (with the pair-structure coupling) and every other
pair of centres is bounded from below over all couplings: if the bound exceeds the claimed
optimum's value, no coupling of those centres does better.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ive

from gapsim.studies.population import VMF, population_terms

__all__ = [
    "mean_resultant",
    "second_moment",
    "coupling_bound",
    "centre_coords",
    "reflect",
    "common_draws",
    "circle_nodes",
    "bound_terms",
]


def mean_resultant(k: int, kappa: float) -> float:
    r""":math:`A_k(\kappa) = I_{k/2}(\kappa)/I_{k/2-1}(\kappa)`, the mean norm of a vMF on S^{k-1}.

    Example:
        >>> round(mean_resultant(3, 5.0), 6)  # coth(5) - 1/5
        0.800091
    """
    if kappa < 1e-8:
        return kappa / k  # A_k(kappa) = kappa / k + O(kappa^3)
    return float(ive(k / 2, kappa) / ive(k / 2 - 1, kappa))


def second_moment(k: int, kappa: float, omega: np.ndarray) -> np.ndarray:
    r"""The vMF second moment (``(k, k)``).

    :math:`E[ww^\top] = \frac{A}{\kappa}I + (1 - \frac{kA}{\kappa})\omega\omega^\top`,
    :math:`A = A_k(\kappa)`. At :math:`\kappa\to 0` it tends to :math:`I/k` (uniform).
    """
    a_over_k = 1.0 / k if kappa < 1e-8 else mean_resultant(k, kappa) / kappa
    return a_over_k * np.eye(k) + (1.0 - k * a_over_k) * np.outer(omega, omega)


def coupling_bound(
    omega_x: np.ndarray, omega_y: np.ndarray, dvec: np.ndarray, kappa: float
) -> float:
    r""":math:`W(\omega_x,\omega_y) \ge E[w^\top Dw']` over every coupling (module docstring).

    ``dvec``: the diagonal of :math:`D = Q_U^\top Q_V` (the cosines of the principal angles).
    Equal to :math:`E[w^\top Dw]` of the coupling :math:`w' = w` when
    :math:`\omega_x = \omega_y`.
    """
    k = len(dvec)
    m = mean_resultant(k, kappa) * (omega_x - omega_y)
    tx = np.sum(dvec * np.diag(second_moment(k, kappa, omega_x)))
    ty = np.sum(dvec * np.diag(second_moment(k, kappa, omega_y)))
    return float(0.5 * (tx + ty) - 0.5 * np.sum(dvec * m * m))


def centre_coords(s: float, psi: float, k: int) -> np.ndarray:
    r"""A centre in subspace coordinates at angle ``s`` from C.

    :math:`\omega = (\cos s\cos\psi, \cos s\sin\psi, 0, \dots, 0, \sin s)`: coordinates
    :math:`0..k-2` span C (principal angle 0), the last one is the private direction; ``psi``
    turns the C part within C (needs :math:`k\ge 3`, i.e. C of dimension 2 or more).
    """
    w = np.zeros(k)
    w[-1] = np.sin(s)
    if k >= 3:
        w[0], w[1] = np.cos(s) * np.cos(psi), np.cos(s) * np.sin(psi)
    else:
        w[0] = np.cos(s)
    return w


def reflect(z: np.ndarray, omega: np.ndarray) -> np.ndarray:
    r"""Draws ``z`` of :math:`\mathrm{vMF}_k(e_1,\kappa)` mapped to ``omega``'s vMF.

    The Householder reflection that takes :math:`e_1` to the unit ``omega`` (a vMF law is
    invariant under the orthogonal maps that fix its centre).
    """
    h = -omega.copy()
    h[0] += 1.0
    nh = h @ h
    return z if nh < 1e-30 else z - 2.0 * np.outer(z @ h, h) / nh


def common_draws(
    z: np.ndarray, qu: np.ndarray, qv: np.ndarray, omega_x: np.ndarray, omega_y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A coupling with the right marginals: one draw reflected onto each centre (``(n, d)`` x2).

    With ``omega_x == omega_y`` it is the pair-structure coupling :math:`y = Rx` (optimal).
    """
    return reflect(z, omega_x) @ qu.T, reflect(z, omega_y) @ qv.T


def circle_nodes(kappa: float, n: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    r"""Quadrature for :math:`\mathrm{vMF}_2(e_1,\kappa)` (von Mises): ``(n, 2)`` nodes, weights.

    The periodic trapezoid rule on :math:`n` equally spaced angles with weights proportional to
    :math:`e^{\kappa(\cos\theta - 1)}` (normalised to 1): for the analytic periodic integrands
    of F its error falls geometrically in n, far below float64 rounding at n = 4096. Used in
    place of Monte Carlo draws when k = 2 (two planes in R^3): means become exact.
    """
    th = 2 * np.pi * np.arange(n) / n - np.pi
    w = np.exp(kappa * (np.cos(th) - 1.0))
    return np.stack([np.cos(th), np.sin(th)], axis=1), w / w.sum()


def bound_terms(
    z: np.ndarray,
    qu: np.ndarray,
    qv: np.ndarray,
    omega_x: np.ndarray,
    omega_y: np.ndarray,
    kappa: float,
    tau: float,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-draw terms of :math:`F_{low}` and :math:`F_{up}` at centres ``omega_x``, ``omega_y``.

    ``low``: the marginal terms of :func:`gapsim.studies.population.population_terms` with the
    positive term replaced by the bound :math:`-W/\tau` (every coupling's F is at least its
    mean); ``up``: F with the :func:`common_draws` coupling (one coupling's F, so the optimum's
    is at most its mean). Both are arrays over the same draws ``z`` (common random numbers);
    when ``omega_x == omega_y`` their means are equal in expectation (the coupling is then
    optimal) and ``low`` carries the positive term exactly, without Monte Carlo noise.
    """
    x, y = common_draws(z, qu, qv, omega_x, omega_y)
    mx, my = VMF(qu, qu @ omega_x, kappa), VMF(qv, qv @ omega_y, kappa)
    up = population_terms(x, y, mx, my, tau)
    dvec = np.diag(qu.T @ qv)
    low = up + np.sum(x * y, axis=1) / tau - coupling_bound(omega_x, omega_y, dvec, kappa) / tau
    return low, up
