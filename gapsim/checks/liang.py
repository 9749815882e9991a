r"""Checks of Liang et al. (2022), "Mind the Gap" (docs/theory.md section 4): the embedding shift.

Shift both modalities along the gap vector, :math:`x - \lambda\Delta/2`,
:math:`y + \lambda\Delta/2`, renormalise (:func:`gapsim.gap_shift_curve`) and find where
InfoNCE is smallest. Liang et al. report the minimum near the trained gap
(:math:`\lambda = 0`) for CLIP, whose temperature was learned, and show with a 3-d toy
holding one mismatched pair that at a large logit scale the minimum sits away from zero gap.

The toy here: :math:`N` equally spaced azimuths on two parallel circles at heights
:math:`\pm\gamma_0` (x above, y below), with the partners of pairs 0 and 1 exchanged. With
:math:`\hat Z` the cosines of the unlifted circle points, every logit is
:math:`\beta[(1-\gamma^2)\hat Z - \gamma^2]` and the constant cancels in the softmax, so the loss
is :math:`\ell(\beta(1-\gamma^2))` with :math:`\ell(a) = L(a\hat Z)`. The mismatched pair makes
:math:`\ell` rise again at large :math:`a`: it has a minimiser :math:`a^*`, and the loss over the
gap is smallest at :math:`\gamma^* = \sqrt{1 - a^*/\beta}` when :math:`\beta > a^*` (a gap) and
at :math:`\gamma = 0` otherwise. At the temperature that is stationary for the points
(:math:`\beta(1-\gamma_0^2) = a^*`) the minimum is at the trained gap, :math:`\lambda = 0`: true
by construction, so a unit test of the engine (:func:`stationary_shift_argmin`), not a row.
Predictions come from a NumPy reference of :math:`\ell`; measurements from the engine's curve.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar

from gapsim.alignment import gap_shift_curve
from gapsim.app.scenarios import cone_effect
from gapsim.checks.base import AGREES, DISAGREES, Paper, Regime, Verdict, register, run_cached
from gapsim.studies.liang_toy import (
    GAMMA0,
    N_TOY,
    ell,
    stationary_temperature,
    toy_points,
    unlifted_cosines,
)

__all__ = [
    "toy_points",
    "stationary_temperature",
    "stationary_shift_argmin",
    "toy_swapped_pair",
    "trained_free_points",
]

LIANG = Paper("Liang et al. 2022", 4)
_EPS = 1e-15  # relative rounding of a float64 loss of order one
_ULP = float(np.finfo(np.float64).eps)  # 2.2e-16


def _lam_of_gamma(gamma: float, gamma0: float) -> float:
    """The shift lambda whose renormalised heights are +-gamma (the shift scales the height)."""
    r0 = math.sqrt(1 - gamma0**2)
    return 1 - (r0 / gamma0) * gamma / math.sqrt(1 - gamma**2)


def _prediction(beta: float, a_star: float) -> tuple[float, float]:
    """(gamma*, lam(gamma*)): the toy's loss-minimising height at logit scale beta, and its shift.

    gamma* = sqrt(1 - a*/beta) when beta > a* (a gap), else 0 (zero gap).
    """
    g_star = math.sqrt(1 - a_star / beta) if beta > a_star else 0.0
    return g_star, _lam_of_gamma(g_star, GAMMA0)


_XATOL = 1e-9  # the bounded Brent search's absolute tolerance in lam


def _argmin_shift(x: np.ndarray, y: np.ndarray, tau: float, lo: float, hi: float) -> float:
    def f(lam: float) -> float:
        return float(gap_shift_curve(x, y, tau, [lam]).losses[0])

    opts = {"xatol": _XATOL}
    return float(minimize_scalar(f, bounds=(lo, hi), method="bounded", options=opts).x)


def _reference_loss(lam: float, beta: float) -> float:
    """The toy's loss after the shift lam, from the reference: l(beta (1 - gamma(lam)^2))."""
    s = (1 - lam) * GAMMA0 / math.sqrt(1 - GAMMA0**2)  # height / radius after the shift
    return ell(beta / (1 + s * s), unlifted_cosines())


def _rounding(beta: float, loss: float) -> float:
    """Absolute rounding of the float64 loss: eps_mach * beta * max|Z| + 1e-15 * |L|.

    Each term ``logsumexp(beta Z_i) - beta Z_ii`` subtracts numbers of size ``beta max|Z|``, so
    its rounding grows with the logit scale, not with the loss (at beta = 100 the loss is 0.74
    but rounds to ~1e-14: the spread of the engine's loss about a quadratic over
    ``lam +- 1e-5``, measured in ``tests/test_checks.py``). The second term covers a loss of
    order one at small beta.
    """
    return _ULP * beta * float(np.abs(unlifted_cosines()).max()) + _EPS * abs(loss)


def _resolution(beta: float, lam: float) -> float:
    """How precisely the engine's argmin is known: noise + search, sqrt(4 delta / L'') + 2 tol1.

    A loss known to +-delta (:func:`_rounding`) cannot tell apart points whose values differ by
    less than 2 delta: about the minimum, ``L''(lam - lam*)^2 / 2 < 2 delta``. The bounded Brent
    search stops within ``2 tol1`` of its bracketed minimum, ``tol1 = sqrt(eps_mach) |lam| +
    xatol / 3`` (``scipy.optimize.fminbound``). ``L''`` from the reference by central differences.
    """
    h = 1e-3
    f = [_reference_loss(lam + k * h, beta) for k in (-1, 0, 1)]
    curv = max((f[0] - 2 * f[1] + f[2]) / h**2, 1e-300)
    search = 2 * (math.sqrt(_ULP) * abs(lam) + _XATOL / 3)
    return math.sqrt(4 * _rounding(beta, f[1]) / curv) + search


def stationary_shift_argmin() -> tuple[float, float]:
    """The engine's shift-curve argmin at beta = a*/(1 - gamma0^2), and its resolution.

    At the temperature that is stationary for the toy's points the loss along the gap shift is
    smallest at lam = 0 (module docstring: dL/dbeta and dL/dgamma vanish together). That is
    true by construction, so it is not a check row: it is a unit test of the engine's loss and
    shift against the NumPy reference (``tests/test_checks.py``), with planted loss faults that
    must move the argmin beyond the resolution (``tests/test_faults_checks.py``).
    """
    beta = stationary_temperature() / (1 - GAMMA0**2)
    x, y = toy_points()
    return _argmin_shift(x, y, 1 / beta, -0.5, 0.9), _resolution(beta, 0.0)


@register(
    "liang.toy_swapped_pair",
    LIANG,
    "(3-d toy, one swapped pair) at a large logit scale (beta = 100) the loss along the gap "
    "shift is smallest away from zero gap, at gamma* = sqrt(1 - a*/beta); at beta = 1 < a* at zero",
    figures=("liang_shift.png",),
)
def toy_swapped_pair(quick: bool) -> Verdict:
    """The engine's shift-curve argmin at beta = 100 and beta = 1 against the reference."""
    a_star = stationary_temperature()
    x, y = toy_points()
    rows = []
    for beta in (100.0, 1.0):
        g_star, pred = _prediction(beta, a_star)
        lam = _argmin_shift(x, y, 1 / beta, -10.0, 1.0)  # lam > 1 mirrors lam < 1
        tol = _resolution(beta, pred)
        rows.append(
            {
                "beta": beta,
                "gamma_star": g_star,
                "predicted_lam": pred,
                "measured_lam": lam,
                "tol": tol,
            }
        )
    ok = all(abs(r["measured_lam"] - r["predicted_lam"]) <= r["tol"] for r in rows)
    return Verdict(
        verdict=AGREES if ok else DISAGREES,
        quantity="argmin over lam of the loss along the gap shift",
        unit="lam (1 = gap closed)",
        predicted={f"beta={r['beta']:g}": r["predicted_lam"] for r in rows},
        measured={f"beta={r['beta']:g}": r["measured_lam"] for r in rows},
        tolerance={f"beta={r['beta']:g}": r["tol"] for r in rows},
        why_tolerance="the argmin of a loss known to +-delta is pinned only to "
        "sqrt(4 delta / L''), delta = 2.2e-16 beta max|Z| + 1e-15 |L| (the logits are of size "
        "beta), plus the bounded Brent search's stopping width 2 (sqrt(eps) |lam| + xatol / 3); "
        "at beta = 1 the minimum is the end point lam = 1 of the search (zero gap).",
        regime=Regime(n=N_TOY, d=3, tau=[0.01, 1.0], solver="closed form (toy)", note="gamma0 0.6"),
        details={"a_star": a_star, "rows": rows},
    )


@register(
    "liang.shift_minimum_free_points_fixed_tau",
    LIANG,
    "free points trained from the cone-effect start at a FIXED low tau (not Liang's regime: "
    "their tau is not stationary): is the shift minimum near lam = 0?",
    figures=("liang_shift.png", "demos/shift.gif"),
)
def trained_free_points(quick: bool) -> Verdict:
    """Argmin of the shift curve on a 0.05 grid of lam in [-1, 1], per seed and tau."""
    taus = [0.02] if quick else [0.01, 0.02, 0.07]
    seeds = [0, 1] if quick else [0, 1, 2, 3]
    lambdas = np.linspace(-1, 1, 41)
    rows = []
    for tau in taus:
        for s in seeds:
            cfg = cone_effect(n_pairs=16, dim=8, tau=tau, steps=1500 if quick else 3000, seed=s)
            r = run_cached(cfg)
            c = gap_shift_curve(r.x, r.y, tau, lambdas)
            k = int(np.argmin(c.losses))
            rows.append(
                {
                    "tau": tau,
                    "seed": s,
                    "lam_min": float(lambdas[k]),
                    "gap": r.measures["centroid_distance"],
                    "loss_at_0": float(c.losses[20]),
                    "loss_min": float(c.losses[k]),
                }
            )
    worst = max(abs(r["lam_min"]) for r in rows)
    tol = 0.05
    return Verdict(
        verdict=AGREES if worst <= tol else DISAGREES,
        quantity="largest |argmin lam| over seeds and tau",
        unit="lam (1 = gap closed)",
        predicted=0.0,
        measured=[r["lam_min"] for r in rows],
        tolerance=tol,
        why_tolerance="discretisation: one step of the 0.05 grid of lam.",
        regime=Regime(n=16, d=8, tau=taus, solver="adam, cone start", certified=False),
        details={"runs": rows},
    )
