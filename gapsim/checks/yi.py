r"""Checks of Yi, Douady & Chen (2025), "Decipher the Modality Gap" (THEORY.md section 2).

Optimum claims use certified L-BFGS optima (float64, Riemannian gradient norm <= 1e-9) and the
best of several seeds (distinct local optima exist). The cone rows live in
:mod:`gapsim.checks.yi_cone`. The disputed subspace claim (THEORY 2.3) is measured, with the
distribution over seeds, the mean norms, and the ill-conditioning flag of the centroid angle.
"""

from __future__ import annotations

import math

import numpy as np

from gapsim.alignment import hyperplane_rotation, ssp_from_bases
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
from gapsim.geometry import make_constraints
from gapsim.measures import MIN_MEAN_NORM
from gapsim.theory import large_n_limit, simplex_loss

YI = "Yi, Douady & Chen 2025"


def _seeds(quick: bool, n_quick: int = 3, n_full: int = 8) -> list[int]:
    return list(range(n_quick if quick else n_full))


@register(
    "yi.unconstrained.simplex",
    YI,
    "for 2 <= N <= d+1 the optimum is a regular simplex with x_i = y_i, "
    "L* = log(1 + (N-1) exp(-N/((N-1) tau)))",
    figures=("yi_fig1.png", "demos/closing.gif"),
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
        best, losses = best_cached(Config(n_pairs=n, dim=d, tau=tau), _seeds(quick, 4, 6))
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
    ns = [16, 32, 64] if quick else [16, 32, 64, 128, 256]
    lim = large_n_limit(d, tau)
    rows, conclusive = [], True
    for n in ns:
        best, losses = best_cached(Config(n_pairs=n, dim=d, tau=tau), _seeds(quick, 2, 3))
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
    # the errors fall faster than 1/N (optimal points are more even than random ones), so the
    # distance of the last value from the limit of the sequence is bounded by its last step
    err = rows[-1]["err"]
    tol = abs(rows[-2]["err"] - err) + 1e-8
    v = verdict_within(err, tol, conclusive)
    return {
        "verdict": v,
        "quantity": "(L - log N) - limit at the largest N",
        "unit": "nats",
        "regime": {"n": ns, "d": d, "tau": tau, "solver": "lbfgs", "certified": conclusive},
        "decides": "certified optima at every N",
        "predicted": 0.0,
        "measured": err,
        "tolerance": tol,
        "why_tolerance": "the optimum's loss is certified to ~1e-10 and its error falls faster "
        "than 1/N (4.6e-4, 7.7e-7, 4.5e-9 at N = 16, 32, 64): for a sequence converging at "
        "least geometrically the distance to the limit is bounded by the last step, "
        "|err(N_max/2) - err(N_max)|, plus 1e-8 for the certificate. A constant offset of the "
        "loss (a wrong formula) does not shrink and fails.",
        "details": {"d": d, "tau": tau, "sweep": rows, "last_step": tol - 1e-8},
    }


def _subspace_runs(quick: bool, phis, cap: float | None = None) -> list[dict]:
    rows = []
    for phi in phis:
        for tau in [0.1] if quick else [0.05, 0.1, 0.3]:
            for s in _seeds(quick, 3, 6):
                if cap is None:
                    cfg = Config(n_pairs=32, dim=3, tau=tau, constraint="subspace", phi=phi, seed=s)
                else:
                    cfg = Config(
                        n_pairs=32,
                        dim=3,
                        tau=tau,
                        constraint="subspace",
                        phi=phi,
                        cone_angle=cap,
                        solver="gd",
                        dtype="float64",
                        lr=0.02,
                        steps=4000 if quick else 20000,
                        gtol=1e-6,
                        seed=s,
                    )
                r = run_cached(cfg)
                m = r.measures
                rows.append(
                    {
                        "phi": phi,
                        "tau": tau,
                        "seed": s,
                        **_angle_fields(r),
                        "shared_residual": m["shared_residual"],
                        "private_mismatch": m["private_mismatch"],
                        "private_abs_mean": m["private_abs_mean"],
                        "formula_residual": m["paired_cosine_formula_residual"],
                        "theta_min": m["theta_min"],
                        "cfg": cfg,
                    }
                )
    return rows


def _angle_fields(r) -> dict:
    """The centroid-angle fields every subspace run reports (angle NaN when ill-conditioned)."""
    m = r.measures
    return {
        "converged": r.converged,
        "centroid_angle": m["centroid_angle"],
        "centroid_angle_raw": m["centroid_angle_raw"],
        "ill_conditioned": m["centroid_angle_ill_conditioned"],
        "mean_norm_x": m["mean_norm_x"],
        "mean_norm_y": m["mean_norm_y"],
        "paired_cosine_min": m["paired_cosine_min"],
        "loss": m["loss"],
    }


def _best(rows: list[dict], key: str = "phi") -> list[dict]:
    """The lowest-loss certified run of each (key, tau) group (THEORY 1: optimum = best seed)."""
    out = []
    for g in sorted({(str(r[key]), r["tau"]) for r in rows}):
        grp = [r for r in rows if (str(r[key]), r["tau"]) == g and r["converged"]]
        if grp:
            out.append(min(grp, key=lambda r: r["loss"]))
    return out


def _public(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "cfg"} for r in rows]


PHIS_QUICK, PHIS_FULL = [0.4, 1.0], [0.2, 0.4, 0.7, 1.0, 1.3]


@register(
    "yi.subspace.gap_vs_phi",
    YI,
    "(DISPUTED, Thm 3) two hyperplanes at dihedral angle phi: the centroid angle converges to phi",
)
def gap_vs_phi(quick: bool) -> dict:
    """Free points (L-BFGS optima) and caps inside the hyperplanes (gd); angle vs phi."""
    phis = PHIS_QUICK if quick else PHIS_FULL
    free = _subspace_runs(quick, phis)
    caps = _subspace_runs(quick, phis, cap=0.8)
    tol = 0.05

    def summary(rows):
        good = [r for r in _best(rows) if not r["ill_conditioned"]]
        errs = [r["centroid_angle"] - r["phi"] for r in good]
        every = [r for r in rows if r["converged"] and not r["ill_conditioned"]]
        return {
            "runs": len(rows),
            "certified": sum(r["converged"] for r in rows),
            "ill_conditioned": sum(r["ill_conditioned"] for r in rows),
            "best_usable": len(good),
            "max_abs_err": max(map(abs, errs), default=float("nan")),
            "best_angle_minus_phi": errs,
            "all_certified_angle_minus_phi": [r["centroid_angle"] - r["phi"] for r in every],
            "mean_norm_median": float(np.median([r["mean_norm_x"] for r in rows])),
        }

    sf, sc = summary(free), summary(caps)
    # a verdict needs a certified, well-conditioned best-of-seeds optimum for every (phi, tau)
    enough = sc["best_usable"] == len(phis) * (1 if quick else 3)
    v = verdict_within(sc["max_abs_err"], tol, enough)
    return {
        "verdict": v,
        "predicted": "centroid angle = phi",
        "measured": {"free_points": sf, "caps_inside": sc},
        "tolerance": tol,
        "why_tolerance": "0.05 rad: an angle within 3 degrees of phi; a converged run with "
        "means of norm >= 1e-2 determines the angle to far better than that. Free-point optima "
        "whose means are ~0 make the angle undefined (ill-conditioned), not a number.",
        "details": {
            "free_points": _public(free),
            "caps_inside_alpha_0.8": _public(caps),
            "note": "verdict from the caps runs (means non-zero by construction); "
            "free points reported beside it",
        },
    }


@register(
    "yi.subspace.gap_vs_theta1",
    YI,
    "k-dim subspaces with trivial intersection: the centroid angle converges to theta_1",
)
def gap_vs_theta1(quick: bool) -> dict:
    """Two 2-planes in R^4 with principal angles (theta_1, theta_2); L-BFGS optima."""
    grid = [(0.4, 0.9)] if quick else [(0.3, 0.6), (0.4, 0.9), (0.7, 1.2)]
    rows = []
    for th in grid:
        for tau in [0.1] if quick else [0.05, 0.1, 0.3]:
            for s in _seeds(quick, 3, 6):
                r = run_cached(
                    Config(n_pairs=32, dim=4, tau=tau, constraint="subspace", thetas=th, seed=s)
                )
                m = r.measures
                rows.append(
                    {
                        "thetas": th,
                        "tau": tau,
                        "seed": s,
                        **_angle_fields(r),
                        "bound_ok": m["centroid_angle_raw"] >= th[0] - 1e-9,
                    }
                )
    best = _best(rows, "thetas")
    good = [r for r in best if not r["ill_conditioned"]]
    errs = [r["centroid_angle"] - r["thetas"][0] for r in good]
    tol = 0.05
    groups = len({(r["thetas"], r["tau"]) for r in rows})
    v = verdict_within(max(map(abs, errs), default=float("nan")), tol, len(good) == groups)
    return {
        "verdict": v,
        "predicted": "centroid angle = theta_1",
        "measured": {
            "best_usable": len(good),
            "groups": groups,
            "ill_conditioned": sum(r["ill_conditioned"] for r in rows),
            "runs": len(rows),
            "best_angle_minus_theta1": errs,
            "all_certified_angle_minus_theta1": [
                r["centroid_angle"] - r["thetas"][0]
                for r in rows
                if r["converged"] and not r["ill_conditioned"]
            ],
        },
        "tolerance": tol,
        "why_tolerance": "as for gap_vs_phi: 0.05 rad (3 degrees).",
        "details": {"runs": rows},
    }


@register(
    "yi.subspace.pair_structure",
    YI,
    "at the hyperplane optimum P_C x_i = P_C y_i and a_i = b_i, so x_i.y_i = 1-(1-cos phi) a_i^2",
)
def pair_structure(quick: bool) -> dict:
    """Residuals of the pair structure at certified free-point optima."""
    rows = _subspace_runs(quick, PHIS_QUICK if quick else PHIS_FULL)
    best = _best(rows)

    def resid(r):
        return max(r["shared_residual"], r["private_mismatch"], r["formula_residual"])

    worst = max((resid(r) for r in best), default=float("nan"))
    tol = 1e-6
    groups = len({(r["phi"], r["tau"]) for r in rows})
    v = verdict_within(worst, tol, len(best) == groups)
    other = [r for r in rows if r["converged"] and resid(r) > tol]
    uses_private = [r["private_abs_mean"] for r in rows]
    return {
        "verdict": v,
        "predicted": 0.0,
        "measured": worst,
        "tolerance": tol,
        "why_tolerance": "points of a stationary point with grad <= 1e-9 are within "
        "~gtol/curvature (curvature ~beta^2/N >= 1e-2 here) of it: 1e-6 is a safe bound.",
        "details": {
            "best_per_phi_tau": _public(best),
            "runs": _public(rows),
            "private_abs_mean": uses_private,
            "certified_non_best_runs_violating": _public(other),
        },
    }


@register(
    "yi.subspace.theta1_bound",
    YI,
    "for x in U, y in V: x.y <= cos theta_1, so every pair angle and the centroid angle >= theta_1",
)
def theta1_bound(quick: bool) -> dict:
    """Hard fact on random points in random subspaces, and at the optima of the runs above."""
    rng = np.random.default_rng(0)
    viol, ill = 0.0, 0
    trials = 200 if quick else 2000
    for _ in range(trials):
        d = int(rng.integers(3, 9))
        k = int(rng.integers(1, d // 2 + 1))
        th = tuple(np.sort(rng.uniform(0.05, math.pi / 2, k)))
        cfg = Config(n_pairs=8, dim=d, constraint="subspace", thetas=th)
        cs = make_constraints(cfg)
        qu, qv = np.asarray(cs[0].basis), np.asarray(cs[1].basis)
        x = rng.normal(size=(8, k)) @ qu.T
        y = rng.normal(size=(8, k)) @ qv.T
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        y /= np.linalg.norm(y, axis=1, keepdims=True)
        mx, my = x.mean(0), y.mean(0)
        viol = max(viol, float(np.max(x @ y.T)) - math.cos(th[0]))
        if min(np.linalg.norm(mx), np.linalg.norm(my)) < MIN_MEAN_NORM:
            ill += 1  # the centroid angle of ~zero means is undefined, not a number
            continue
        ang = math.acos(np.clip(mx @ my / np.linalg.norm(mx) / np.linalg.norm(my), -1, 1))
        viol = max(viol, th[0] - ang)
    runs = _subspace_runs(quick, PHIS_QUICK if quick else PHIS_FULL)
    worst_run = max(r["theta_min"] - r["centroid_angle_raw"] for r in runs)  # theta_min = 0 here
    tol = 1e-9
    v = AGREES if max(viol, worst_run) <= tol else DISAGREES
    return {
        "verdict": v,
        "predicted": "max violation <= 0",
        "measured": viol,
        "tolerance": tol,
        "why_tolerance": "an inequality; 1e-9 covers float64 rounding of the angle computations.",
        "details": {
            "random_trials": trials,
            "max_violation_random": viol,
            "ill_conditioned_means_skipped": ill,
            "max_violation_hyperplane_optima": worst_run,
        },
    }


def _alignment_check(quick: bool, method: str) -> dict:
    rows = _best(_subspace_runs(quick, PHIS_QUICK if quick else PHIS_FULL))
    mins = []
    for r in rows:
        res = run_cached(r["cfg"])
        cs = make_constraints(r["cfg"])
        qu, qv = np.asarray(cs[0].basis), np.asarray(cs[1].basis)
        f = ssp_from_bases if method == "ssp" else hyperplane_rotation
        mins.append(float(f(res.x, res.y, qu, qv).after["paired_cosine_min"]))
    worst = 1 - min(mins, default=float("nan"))
    tol = 1e-6
    v = verdict_within(worst, tol, len(rows) > 0)
    return {
        "verdict": v,
        "predicted": 1.0,
        "measured": 1 - worst,
        "tolerance": tol,
        "why_tolerance": "with the pair structure to ~1e-9 (certified optima) the aligned "
        "paired cosines are 1 to second order; 1e-6 allows the residual squared and more.",
        "details": {
            "paired_cosine_min_after": mins,
            "note": "applied to the best certified free-point optimum per (phi, tau)",
        },
    }


@register(
    "yi.ssp.perfect_alignment",
    YI,
    "(Cor 4) shared space projection x* = P_C x/|P_C x| aligns every pair perfectly",
)
def ssp_check(quick: bool) -> dict:
    """SSP with the known bases at the hyperplane optima."""
    return _alignment_check(quick, "ssp")


@register(
    "yi.rotation.perfect_alignment",
    YI,
    "(Cor 3) rotating hyperplane A onto B aligns every pair perfectly",
)
def rotation_check(quick: bool) -> dict:
    """Minimal rotation of A onto B at the hyperplane optima."""
    return _alignment_check(quick, "rotation")


__all__ = [
    "simplex",
    "large_n",
    "gap_vs_phi",
    "gap_vs_theta1",
    "pair_structure",
    "theta1_bound",
    "ssp_check",
    "rotation_check",
    "INCONCLUSIVE",
]
