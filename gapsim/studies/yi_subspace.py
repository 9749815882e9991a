r"""The finite-N subspace study of Yi et al. (2025): certified free-point optima, decomposed.

Free points in two subspaces U, V (two hyperplanes, or k-dim subspaces), certified L-BFGS optima
(float64), best of several seeds. At each optimum the means split into a shared part and private
parts along the principal vectors (:func:`decomposition`):

.. math:: m_X = m_C + \sum_j \bar a_j u_j,\quad m_Y = m_C' + \sum_j \bar b_j v_j,

and with the pair structure (:math:`P_Cx_i = P_Cy_i`, :math:`a_i = b_i`, Thm 4)

.. math:: \cos\Delta\theta = \frac{\|m_C\|^2 + \sum_j \bar a_j^2\cos\theta_j}
   {\|m_C\|^2 + \sum_j \bar a_j^2}.

So the centroid angle is the smallest non-zero principal angle exactly when :math:`m_C = 0` and
only the first private mean is non-zero; it is smaller when :math:`m_C \ne 0`; it is 0 when the
private means vanish, and undefined when both do.

**Precision.** A certified point set is known to its *position error* :math:`\epsilon`
(:func:`position_error`: the second-order certificate's residual / lambda_min, a bound on
:math:`\|\delta X\|_F`), so each mean is known to :math:`\delta = \epsilon/\sqrt N`
(:func:`gapsim.core.certificate.mean_error`, Cauchy-Schwarz) and the centroid angle to
:math:`\delta/\|m_x\| + \delta/\|m_y\|` (:func:`gapsim.core.certificate.centroid_angle_precision`),
or the spread over the seeds that reached the same optimum if larger. A component of a mean is
*resolved* above :math:`10\delta`.

**A gap needs means: the minimum mean norm.** A gap is a displacement of the two modality means
and its angle is the angle between them, so the question "is the gap phi?" presupposes that
each modality has a mean, a centre that is more than what N points with no centre at all would
give. For N i.i.d. uniform points on any sphere the mean has :math:`E\|\bar x\|^2 = 1/N`
exactly (the N(N-1) cross terms vanish), so :math:`1/\sqrt N` is the mean norm of a modality
without a centre (:func:`min_mean_norm`). A certified optimum whose smaller mean is certainly
below it (:math:`\|m\| + \delta \le 1/\sqrt N`) has **no gap**: a regime of its own, where the
angle between the means is not read (it is the direction of a residual, not of a gap). A gap is
read where the smaller mean is above both :math:`1/\sqrt N` and :math:`10\delta`; in between, or
where the certificate does not pin the points (infinite position error), the setting is
unresolved. The identity row (:func:`centroid_identity`) asks another question, an algebraic
relation between the angle and the mean decomposition that holds at any resolved mean, so it
reads every angle the certificate pins to ``ANGLE_RESOLUTION``, gap or not.

**Seeds.** A setting's optimum is the lowest certified loss over the seeds; it is judged only
when at least two seeds reach it (to ``SAME_OPTIMUM_RTOL``): a minimum found once may not be the
optimum. Otherwise the setting is reported as not reproduced, with the spread of the certified
losses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gapsim.app.config import Config
from gapsim.app.parts import make_constraints
from gapsim.app.result import Result
from gapsim.core.certificate import centroid_angle_precision, mean_error
from gapsim.core.subspaces import ZERO_ANGLE_TOL, principal_vectors
from gapsim.studies.runs import run_cached

RESOLVED = 10.0  # a component is resolved at 10 x its uncertainty
ANGLE_RESOLUTION = 1e-2  # rad: an angle read to better than this can be told from phi or 0
SAME_OPTIMUM_RTOL = 1e-9  # seeds whose loss agrees to 9 digits reached the same optimum
MIN_SEEDS_AT_BEST = 2  # a setting's optimum is judged when this many seeds reach it

__all__ = [
    "decomposition",
    "mean_decomposition",
    "regime",
    "shape",
    "position_error",
    "min_mean_norm",
    "study",
    "hyperplane_study",
    "subspace_study",
    "REGIMES",
    "GAP_REGIMES",
    "RESOLVED",
    "ANGLE_RESOLUTION",
    "SAME_OPTIMUM_RTOL",
    "MIN_SEEDS_AT_BEST",
]

REGIMES = {
    "phi": "angle = smallest non-zero principal angle (m_C = 0, one private mean)",
    "theta_j": "angle = a larger principal angle theta_j, j > 1 (m_C = 0, one private mean)",
    "between": "0 < angle < phi (m_C and the private mean both non-zero, or several private means)",
    "zero": "angle 0 (private means vanish, m_C non-zero)",
    "abandoned": "private direction abandoned (a_i = 0): both modalities in C, angle 0",
    "no_gap": "no gap: a mean certainly below 1/sqrt(N), the mean norm of N uniform points",
    "unresolved": "a mean neither certainly below 1/sqrt(N) nor resolved above it",
    "unpinned": "the certificate does not pin the points (infinite position error)",
}
"""The regime of a certified optimum (:func:`regime`); ``not_certified`` beside them."""

GAP_REGIMES = ("phi", "theta_j", "between", "zero", "abandoned")
"""The regimes with a gap (means above :func:`min_mean_norm`): their angle is read."""


def min_mean_norm(n: int) -> float:
    r"""The mean norm of N points with no centre: :math:`1/\sqrt N` (module docstring).

    For i.i.d. uniform unit vectors :math:`E\|\bar x\|^2 = \frac1{N^2}\sum_{i,j}E\,x_i\cdot
    x_j = 1/N`. A modality whose mean is below it has no centre, so the pair has no gap.

    Example:
        >>> min_mean_norm(64)
        0.125
    """
    return 1.0 / math.sqrt(n)


def position_error(r: Result) -> float:
    r"""How precisely the certified points of ``r`` are known.

    ``certificate.position_error`` (second-order certificate: residual / lambda_min) when the
    certificate computed one; infinite when it found the points unpinned (a flat direction or
    a saddle): then nothing that depends on the positions is read. Only where no second-order
    certificate was computed, the estimate :math:`g N/(\beta^2\min(L, 1))` (module docstring).
    """
    pe = getattr(r.certificate, "position_error", None)
    if pe is not None and getattr(r.certificate, "method", "none") not in ("none", ""):
        return float(pe)  # finite, or inf: unpinned points (never read a flat valley)
    beta = 1.0 / r.measures.get("tau_final", r.config.tau)
    mu = beta**2 * min(r.measures["loss"], 1.0) / r.config.n_pairs
    return float(r.certificate.grad_norm / max(mu, np.finfo(np.float64).tiny))


def mean_decomposition(x: np.ndarray, y: np.ndarray, qu: np.ndarray, qv: np.ndarray) -> dict:
    r"""Shared/private decomposition of the means of points ``x`` in U, ``y`` in V.

    Returns :math:`\|m_C\|` (``m_C``, the C-part of mean(X)), the private means ``abar``
    (:math:`\bar a_j`, along the principal vectors with non-zero angle ``theta_nonzero``),
    ``E_a2`` (:math:`E\sum_j a_j^2`), ``max_abs_a``, the centroid angle ``angle_raw`` and the
    identity's ``angle_identity`` (module docstring), and the quantiles of the pair angles.
    """
    pv = principal_vectors(qu, qv)
    shared = pv.angles < ZERO_ANGLE_TOL
    th = pv.angles[~shared]
    m_c = float(np.linalg.norm(pv.u[:, shared].T @ x.mean(0))) if shared.any() else 0.0
    a = x @ pv.u[:, ~shared]
    abar = a.mean(0)
    num = m_c**2 + float(np.sum(abar**2 * np.cos(th)))
    den = m_c**2 + float(np.sum(abar**2))
    mx, my = x.mean(0), y.mean(0)
    nx, ny = float(np.linalg.norm(mx)), float(np.linalg.norm(my))
    ux, uy = mx / max(nx, 1e-300), my / max(ny, 1e-300)
    pair = np.arccos(np.clip(np.sum(x * y, axis=1), -1.0, 1.0))
    return {
        "m_C": m_c,
        "abar": abar,
        "abar_abs_first": float(abs(abar[0])) if abar.size else 0.0,
        "E_a2": float(np.mean(np.sum(a**2, axis=1))),
        "max_abs_a": float(np.max(np.abs(a))) if a.size else 0.0,
        "theta_nonzero": th,
        "angle_raw": 2 * math.atan2(np.linalg.norm(ux - uy), np.linalg.norm(ux + uy)),
        "angle_identity": math.acos(min(max(num / den, -1.0), 1.0)) if den > 0 else math.nan,
        "mean_norm_x": nx,
        "mean_norm_y": ny,
        "mean_norm_min": min(nx, ny),
        "pair_angle_quantiles": np.quantile(pair, [0, 0.1, 0.5, 0.9, 1]),
        "pair_angle_frac_at_theta": float(np.mean(pair >= th[0] - 1e-3)) if th.size else 0.0,
        "pair_angle_frac_at_0": float(np.mean(pair <= 1e-3)),
    }


def regime(dec: dict, eps: float, n: int) -> str:
    """The regime (a key of :data:`REGIMES`) of N points known to position error ``eps``.

    The smaller mean decides first (module docstring): no gap when it is certainly below
    :func:`min_mean_norm`, unresolved when it is not resolved above it; then the shape of the
    means (components resolved above 10 mean errors, a private coordinate above 10 ``eps``).
    """
    if not math.isfinite(eps):
        return "unpinned"
    delta = mean_error(eps, n)
    norm = dec["mean_norm_min"]
    if norm + delta <= min_mean_norm(n):
        return "no_gap"
    if norm <= max(min_mean_norm(n), RESOLVED * delta):
        return "unresolved"
    return shape(dec, eps, n)


def shape(dec: dict, eps: float, n: int) -> str:
    """The shape of resolved means: ``phi``, ``theta_j``, ``between``, ``zero``, ``abandoned``.

    Used by :func:`regime` above the minimum mean norm, and reported as ``structure`` below it
    (the shape of a residual mean, for the record; no angle is read from it).
    """
    res = RESOLVED * mean_error(eps, n)
    abar = np.asarray(dec["abar"])
    if dec["max_abs_a"] <= RESOLVED * eps:
        return "abandoned"
    if np.all(np.abs(abar) <= res):
        return "zero"
    on = np.abs(abar) > res
    if dec["m_C"] <= res and on.sum() == 1:
        return "phi" if on[0] else "theta_j"
    return "between"


def decomposition(r: Result) -> dict:
    """:func:`mean_decomposition` of a subspace run, with its precision and :func:`regime`.

    ``angle_uncertainty``: :func:`gapsim.core.certificate.centroid_angle_precision` (infinite where
    a mean is not above its error); ``structure``: :func:`shape` (``undefined`` where a mean is
    not resolved).
    """
    cs = make_constraints(r.config)
    dec = mean_decomposition(r.x, r.y, np.asarray(cs[0].basis), np.asarray(cs[1].basis))
    eps, n = position_error(r), r.config.n_pairs
    norms = (dec["mean_norm_x"], dec["mean_norm_y"])
    unc = centroid_angle_precision(norms, eps, n) if math.isfinite(eps) else math.inf
    resolved = math.isfinite(eps) and dec["mean_norm_min"] > RESOLVED * mean_error(eps, n)
    return {
        **dec,
        "position_error": eps,
        "mean_error": mean_error(eps, n),
        "min_mean_norm": min_mean_norm(n),
        "angle_uncertainty": unc,
        "regime": regime(dec, eps, n),
        "structure": shape(dec, eps, n) if resolved else "undefined",
    }


def study(configs: Sequence[Config], seeds: Sequence[int], label) -> list[dict]:
    """Best certified optimum of each config over ``seeds``, decomposed; seed spread attached.

    ``reproduced``: at least :data:`MIN_SEEDS_AT_BEST` seeds reached the best loss;
    ``loss_spread``: the range of the certified losses (0 when they all agree).
    """
    rows = []
    for cfg in configs:
        runs = [run_cached(cfg.replace(seed=int(s))) for s in seeds]
        ok = [r for r in runs if r.converged]
        row = {**label(cfg), "n": cfg.n_pairs, "d": cfg.dim, "tau": cfg.tau, "seeds": len(runs)}
        row["certified"] = len(ok)
        if not ok:
            rows.append({**row, "regime": "not_certified"})
            continue
        best = min(ok, key=lambda r: r.measures["loss"])
        lb = best.measures["loss"]
        same = [r for r in ok if abs(r.measures["loss"] - lb) <= SAME_OPTIMUM_RTOL * abs(lb)]
        dec = decomposition(best)
        spread = float(np.ptp([decomposition(r)["angle_raw"] for r in same]))
        unc = max(dec["angle_uncertainty"], spread if len(same) > 1 else 0.0)
        m = best.measures
        rows.append(
            {
                **row,
                **dec,
                "loss": lb,
                "seed_losses": [r.measures["loss"] for r in runs],
                "seeds_at_best": len(same),
                "reproduced": len(same) >= MIN_SEEDS_AT_BEST,
                "loss_spread": float(np.ptp([r.measures["loss"] for r in ok])),
                "angle_seed_spread": spread,
                "angle_uncertainty": unc,
                "angle_defined": unc <= ANGLE_RESOLUTION,
                "identity_residual": abs(dec["angle_raw"] - dec["angle_identity"]),
                "pair_residual": max(
                    m["shared_residual"], m["private_mismatch"], m["paired_cosine_formula_residual"]
                ),
                "grad_norm": best.certificate.grad_norm,
            }
        )
    return rows


def _cfg(n, d, tau, **kw) -> Config:
    return Config(n_pairs=n, dim=d, tau=tau, constraint="subspace", steps=5000, **kw)


def hyperplane_study(quick: bool) -> list[dict]:
    """Two hyperplanes: d in {3, 4, 8, 16}, N in {8, 32, 128}, tau, phi (quick: one shape)."""
    if quick:
        grid = [(32, 8, t, 0.7) for t in (0.1, 0.5)]
    else:
        grid = [
            (n, d, t, p)
            for d in (3, 4, 8, 16)
            for n in (8, 32, 128)
            for t in (0.1, 0.5)
            for p in (0.4, 1.0)
        ]
    configs = [_cfg(n, d, t, phi=p) for n, d, t, p in grid]
    return study(configs, range(3 if quick else 4), lambda c: {"phi": c.phi})


def subspace_study(quick: bool) -> list[dict]:
    """k-dim subspaces with trivial intersection (all principal angles > 0)."""
    if quick:
        # a setting whose optimum the full tier reads (the d = 4, N = 32 means vanish)
        grid = [(8, 8, 0.1, (0.2, 0.5, 0.8, 1.2))]
    else:
        grid = [
            (n, d, t, th)
            for n in (8, 32, 128)
            for d, th in ((4, (0.4, 0.9)), (6, (0.3, 0.6, 1.0)), (8, (0.2, 0.5, 0.8, 1.2)))
            for t in (0.1, 0.5)
        ]
    configs = [_cfg(n, d, t, thetas=th) for n, d, t, th in grid]
    return study(configs, range(3 if quick else 4), lambda c: {"phi": min(c.thetas)})
