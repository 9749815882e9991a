r"""Checks of Yi, Douady & Chen (2025), "Decipher the Modality Gap" (THEORY.md section 2).

Optimum claims use certified L-BFGS optima (float64, Riemannian gradient norm <= 1e-9) and the
best of several seeds (distinct local optima exist). Caps need projected dynamics (``gd``,
gradient-mapping certificate). The subspace claims (THEORY 2.3) are in
:mod:`gapsim.checks.yi_subspace` (finite N, free points) and :mod:`gapsim.checks.yi_population`
(N -> infinity, vMF modalities).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from gapsim.checks.base import (
    AGREES,
    DISAGREES,
    INCONCLUSIVE,
    best_cached,
    register,
    run_cached,
    verdict_within,
)
from gapsim.config import Config
from gapsim.loss import infonce
from gapsim.theory import large_n_limit, simplex_loss

YI = "Yi, Douady & Chen 2025"


def _seeds(quick: bool, n_quick: int = 3, n_full: int = 8) -> list[int]:
    return list(range(n_quick if quick else n_full))


@register(
    "yi.unconstrained.simplex",
    YI,
    "for 2 <= N <= d+1 the optimum is a regular simplex with x_i = y_i, "
    "L* = log(1 + (N-1) exp(-N/((N-1) tau)))",
)
def simplex(quick: bool) -> dict:
    """Best-of-seeds certified optimum against the simplex value, over (N, d, tau)."""
    grid = (
        [(4, 3, 0.1), (4, 3, 0.5)]
        if quick
        else [
            (n, d, t)
            for (n, d) in [(2, 2), (3, 2), (4, 3), (5, 4), (3, 5)]
            for t in (0.05, 0.1, 0.5, 1.0)
        ]
    )
    rows, errs, conclusive = [], [], True
    for n, d, tau in grid:
        best, losses, _ = best_cached(Config(n_pairs=n, dim=d, tau=tau), _seeds(quick, 4, 6))
        err = best.measures["loss"] - simplex_loss(n, tau)
        conclusive &= best.converged
        errs.append(err)
        rows.append(
            {
                "n": n,
                "d": d,
                "tau": tau,
                "loss": best.measures["loss"],
                "simplex": simplex_loss(n, tau),
                "err": err,
                "seed_losses": losses,
                "paired_cosine_min": best.measures["paired_cosine_min"],
            }
        )
    # the certificate (grad <= 1e-9) resolves the argmin only where the curvature ~beta^2 L* is
    # well above gtol; below that (small tau) L* and its flat neighbourhood are indistinguishable
    for r in rows:
        r["argmin_resolved"] = r["simplex"] / r["tau"] ** 2 >= 1e-6
    resolved = [r for r in rows if r["argmin_resolved"]]
    conclusive &= len(resolved) > 0
    worst = float(np.max(np.abs([r["err"] for r in resolved]))) if resolved else float("nan")
    cos_ok = min((r["paired_cosine_min"] for r in resolved), default=1.0) > 1 - 1e-6
    tol = 1e-8
    v = verdict_within(worst, tol, conclusive)
    if v == AGREES and not cos_ok:
        v = DISAGREES
    return {
        "verdict": v,
        "predicted": 0.0,
        "measured": worst,
        "tolerance": tol,
        "why_tolerance": "|L_best - L*|; a certified stationary point (grad <= 1e-9) is within "
        "O(gtol^2/curvature) ~1e-16 of the optimum value; 1e-8 leaves room for float64 "
        "summation. Also x_i . y_i >= 1 - 1e-6 (x_i = y_i). Only grid points with beta^2 L* >= "
        "1e-6 count: there the certificate pins the points to ~1e-3 and the cosines to ~1e-6.",
        "details": {"grid": rows},
    }


def _pos_term(n: int, d: int, tau: float) -> float:
    """Finite-N prediction: the positive pair in the denominator, other points ~ uniform."""
    z = math.exp(large_n_limit(d, tau) + 1 / tau)  # E_u exp(u_1/tau)
    return -1 / tau + math.log(((n - 1) * z + math.exp(1 / tau)) / n)


@register(
    "yi.unconstrained.large_n_limit",
    YI,
    "L - log N -> -1/tau + log(Gamma(nu+1)(2tau)^nu I_nu(1/tau)) as N -> infinity (paired uniform)",
)
def large_n(quick: bool) -> dict:
    """Certified optima at growing N; the gap to the limit must shrink like the O(1/N) term."""
    d, tau = 3, 0.5
    ns = [16, 64] if quick else [16, 64, 256]
    lim = large_n_limit(d, tau)
    rows, conclusive = [], True
    for n in ns:
        best, losses, _ = best_cached(Config(n_pairs=n, dim=d, tau=tau), _seeds(quick, 2, 3))
        conclusive &= best.converged
        val = best.measures["loss"] - math.log(n)
        rows.append(
            {
                "n": n,
                "L_minus_logN": val,
                "limit": lim,
                "err": val - lim,
                "finite_n_positive_term": _pos_term(n, d, tau) - lim,
                "seed_losses": losses,
            }
        )
    err = rows[-1]["err"]
    tol = 2 * abs(rows[-1]["finite_n_positive_term"])
    shrinking = all(abs(a["err"]) > abs(b["err"]) for a, b in zip(rows, rows[1:], strict=False))
    v = verdict_within(err, tol, conclusive)
    if v == AGREES and not shrinking:
        v = DISAGREES
    return {
        "verdict": v,
        "predicted": lim,
        "measured": rows[-1]["L_minus_logN"],
        "tolerance": tol,
        "why_tolerance": "at finite N the positive pair sits in each denominator: "
        "log(1 + (e^{1/tau} - Z)/(N Z)), Z = E exp(u_1/tau), is the leading O(1/N) term; "
        "tolerance = twice it at the largest N, and the error must shrink with N.",
        "details": {"d": d, "tau": tau, "sweep": rows, "error_shrinks_with_n": shrinking},
    }


@register(
    "yi.cone.gap_zero",
    YI,
    "with each modality in a cap of fixed half-angle (free centre) the optimal centroid angle is 0",
)
def cone_gap_zero(quick: bool) -> dict:
    """Projected gradient descent (float64) in free-axis caps; centroid angle at the end."""
    alphas = [0.5, 1.0] if quick else [0.3, 0.5, 1.0, 1.5]
    taus = [0.1] if quick else [0.05, 0.1, 0.5]
    steps = 4000 if quick else 20000
    rows = []
    for a in alphas:
        for tau in taus:
            for s in _seeds(quick, 2, 3):
                cfg = Config(
                    n_pairs=16,
                    dim=3,
                    tau=tau,
                    constraint="cone",
                    cone_angle=a,
                    solver="gd",
                    dtype="float64",
                    steps=steps,
                    gtol=1e-6,
                    lr=0.02,
                    seed=s,
                )
                r = run_cached(cfg)
                rows.append(
                    {
                        "alpha": a,
                        "tau": tau,
                        "seed": s,
                        "converged": r.converged,
                        "grad_norm": r.certificate.grad_norm,
                        "centroid_angle": r.measures["centroid_angle"],
                        "mean_norm_x": r.measures["mean_norm_x"],
                        "loss": r.measures["loss"],
                        **_gap_zero_twin(r.x, r.y, tau, r.measures["loss"]),
                    }
                )
    best = _best(rows, "alpha")  # the optimum = the best certified seed per (alpha, tau)
    ok = [r for r in best if np.isfinite(r["centroid_angle"])]
    worst = max((r["centroid_angle"] for r in ok), default=float("nan"))
    tol = 1e-3
    # One certified best run with a gap whose gap-0 twin (Y := X) has the same loss refutes
    # "the cap changes the loss value, not the argmin" (a unique argmin at angle 0) by itself.
    degenerate = [r for r in ok if r["centroid_angle"] > tol and r["twin_equal_loss"]]
    conclusive = bool(degenerate) or len(ok) == len({(r["alpha"], r["tau"]) for r in rows})
    v = verdict_within(worst, tol, conclusive)
    return {
        "verdict": v,
        "predicted": 0.0,
        "measured": worst,
        "tolerance": tol,
        "why_tolerance": "stationarity to gtol 1e-6 (gradient mapping) puts the means within "
        "~1e-6/curvature of the stationary point; 1e-3 rad is far above that and far below "
        "any gap of interest. Judged on the best certified seed per (alpha, tau); "
        "inconclusive unless every (alpha, tau) has one, or one of them is a degenerate "
        "optimum (a gap with an equal-loss gap-0 twin: a counterexample to a unique argmin).",
        "details": {
            "reading": "where points fill the cap rims, X Y^T - X X^T can be constant: every "
            "logit moves by the same amount, InfoNCE does not change, and Y := X (gap 0, "
            "feasible: the caps have free axes) has the same loss. Gap 0 is then optimal, but "
            "so are the gapped twins: the argmin is not unique.",
            "degenerate_optima": len(degenerate),
            "best_per_alpha_tau": best,
            "runs": rows,
            "certified": sum(r["converged"] for r in rows),
            "total": len(rows),
        },
    }


def _gap_zero_twin(x: np.ndarray, y: np.ndarray, tau: float, loss: float) -> dict:
    r"""Compare a cap configuration with its gap-0 twin :math:`Y := X` (same caps, free axes).

    InfoNCE is invariant to adding one constant to every logit, so if
    :math:`XY^\top - XX^\top` is constant the twin has exactly the same loss.
    """
    shift = x @ y.T - x @ x.T
    twin = float(infonce(jnp.asarray(x), jnp.asarray(x), 1.0 / tau))
    return {
        "logit_shift_spread": float(np.ptp(shift)),
        "twin_loss": twin,
        "twin_equal_loss": bool(abs(twin - loss) <= 1e-9 * max(1.0, abs(loss))),
    }


def _best(rows: list[dict], key: str = "phi") -> list[dict]:
    """The lowest-loss certified run of each (key, tau) group (THEORY 1: optimum = best seed)."""
    out = []
    for g in sorted({(str(r[key]), r["tau"]) for r in rows}):
        grp = [r for r in rows if (str(r[key]), r["tau"]) == g and r["converged"]]
        if grp:
            out.append(min(grp, key=lambda r: r["loss"]))
    return out


# The subspace rows (yi.subspace.*) live in gapsim.checks.yi_subspace; the former
# yi.ssp/rotation.perfect_alignment rows restated the pair structure and are unit tests now
# (tests/test_yi_subspace.py).


__all__ = [
    "simplex",
    "large_n",
    "cone_gap_zero",
    "INCONCLUSIVE",
]
