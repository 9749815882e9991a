r"""Yi et al. (2025) subspace claims at finite N: the verdicts (docs/theory.md 2.3).

The study behind them (certified free-point optima, the decomposition of their means, the
regimes, the precision rules) is :mod:`gapsim.studies.yi_subspace`, which the figures share.
"""

from __future__ import annotations

import math

import numpy as np

from gapsim.app.config import Config
from gapsim.app.parts import make_constraints
from gapsim.checks.base import (
    AGREES,
    DISAGREES,
    INCONCLUSIVE,
    Regime,
    Verdict,
    combine,
    register,
)
from gapsim.checks.yi import YI
from gapsim.studies.yi_subspace import (
    ANGLE_RESOLUTION,
    GAP_REGIMES,
    MIN_SEEDS_AT_BEST,
    REGIMES,
    RESOLVED,
    hyperplane_study,
    subspace_study,
)

__all__ = [
    "gap_vs_phi",
    "gap_vs_theta1",
    "centroid_identity",
    "pair_structure",
    "theta1_bound",
    "setting_verdict",
]


def _regime(rows: list[dict], note: str = "") -> Regime:
    """N, d, tau of a study's settings; certified when every setting has a certified optimum."""
    return Regime(
        n=sorted({r["n"] for r in rows}),
        d=sorted({r["d"] for r in rows}),
        tau=sorted({r["tau"] for r in rows}),
        solver="lbfgs, best of seeds",
        certified=bool(rows) and all(r["regime"] != "not_certified" for r in rows),
        note=note,
    )


def setting_verdict(r: dict, target: float) -> tuple[str, str]:
    """(verdict, reason) of one setting of the claim "the gap's angle is ``target``".

    Not certified, not reproduced by two seeds, unresolved or unpinned: inconclusive. No gap:
    disagrees (the claim predicts a gap, displaced means, at angle ``target``; there is none).
    A gap: its angle within 10 uncertainties of ``target`` agrees, beyond disagrees,
    unreadable (uncertainty above ``ANGLE_RESOLUTION``) inconclusive.
    """
    if r["regime"] == "not_certified":
        return INCONCLUSIVE, "not certified"
    if not r["reproduced"]:
        return INCONCLUSIVE, "best loss not reproduced"
    if r["regime"] == "no_gap":
        return DISAGREES, "no gap"
    if r["regime"] not in GAP_REGIMES:
        return INCONCLUSIVE, r["regime"]
    if not r["angle_defined"]:
        return INCONCLUSIVE, "angle not pinned"
    off = abs(r["angle_raw"] - target) > RESOLVED * r["angle_uncertainty"]
    return (DISAGREES, "angle off target") if off else (AGREES, "angle at target")


def _verdict_on_angle(rows: list[dict], name: str, where: str = "") -> Verdict:
    """Verdict of "the best certified optimum has a gap at the angle ``name``", per setting.

    ``where``: the sentence's pointer to where the N -> infinity form is tested, if anywhere.
    """
    for r in rows:
        r["verdict"], r["reason"] = setting_verdict(r, r["phi"])
    v = combine([r["verdict"] for r in rows])
    counts = {k: sum(r["regime"] == k for r in rows) for k in [*REGIMES, "not_certified"]}
    reasons = {}
    for r in rows:
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    read = [r for r in rows if r["reason"] in ("angle at target", "angle off target")]
    unrepro = [r for r in rows if r["reason"] == "best loss not reproduced"]
    regimes = ", ".join(f"{counts[k]} {k}" for k in counts if counts[k])
    sentence = (
        f"Of {len(rows)} settings ({regimes}), {reasons.get('no gap', 0)} have no gap "
        f"(reproduced certified optima whose smaller mean is below 1/sqrt(N)), "
        f"{reasons.get('angle at target', 0)} a gap at {name}, "
        f"{reasons.get('angle off target', 0)} a gap at another angle, and "
        f"{len(rows) - len(read) - reasons.get('no gap', 0)} are not judged "
        f"({', '.join(f'{n} {k}' for k, n in reasons.items() if k not in JUDGED) or 'none'}). "
        + {
            AGREES: f"So every judged optimum has a gap at {name}.",
            DISAGREES: f"So the finite-N form of the claim (a gap at {name}) fails with free "
            f"points{where}.",
            INCONCLUSIVE: "No setting could be judged.",
        }[v]
    )
    return Verdict(
        verdict=v,
        quantity=f"per setting: gap or no gap at the best certified optimum, and its angle "
        f"minus {name}",
        unit="rad",
        predicted=f"a gap (means above 1/sqrt(N)) at centroid angle {name} (rad)",
        measured={
            "sentence": sentence,
            "regime_counts": counts,
            "verdict_reasons": reasons,
            "read_angle_minus_target": [r["angle_raw"] - r["phi"] for r in read],
            "loss_spread_not_reproduced": [r["loss_spread"] for r in unrepro],
        },
        tolerance=f"{RESOLVED} x the angle's uncertainty; mean norm > 1/sqrt(N)",
        why_tolerance="a gap is a displacement of the means, so it is read only where the "
        "smaller mean is above 1/sqrt(N), the mean norm of N points without a centre (uniform "
        "points: E|mean|^2 = 1/N), and resolved above 10 mean errors (position error / "
        "sqrt(N)); an optimum whose mean is certainly below it has no gap. The angle's "
        "uncertainty is max(centroid_angle_precision, spread over seeds at the same optimum), "
        f"read where <= {ANGLE_RESOLUTION} rad; an angle differs from the target when it is "
        f"more than {RESOLVED} uncertainties away. A setting is judged when at least "
        f"{MIN_SEEDS_AT_BEST} seeds reach its best certified loss; settings are combined by "
        "gapsim.checks.base.combine (a judged disagreement is never masked).",
        regime=_regime(rows, f"{name} = smallest non-zero principal angle"),
        decides=f"optima certified and reproduced by {MIN_SEEDS_AT_BEST} seeds, with means "
        "resolved on either side of 1/sqrt(N)",
    )


JUDGED = ("no gap", "angle at target", "angle off target")


def _public(rows):
    return [{k: v for k, v in r.items() if k not in ("abar", "theta_nonzero")} for r in rows]


@register(
    "yi.subspace.gap_vs_phi",
    YI,
    "(finite-N form of Thm 3, which the paper states for N -> infinity; DISPUTED) two "
    "hyperplanes at dihedral angle phi: the centroid angle of the best certified optimum is phi",
    figures=("yi_regime_map.png", "gap_vs_angle.png", "demos/hyperplanes.gif"),
)
def gap_vs_phi(quick: bool) -> Verdict:
    """Regime map of certified free-point optima in two hyperplanes (module docstring)."""
    rows = hyperplane_study(quick)
    out = _verdict_on_angle(
        rows,
        "phi",
        "; the paper states it for N -> infinity, where yi.subspace.population_argmin tests it",
    )
    return out._replace(details={"regimes": REGIMES, "runs": _public(rows)})


@register(
    "yi.subspace.gap_vs_theta1",
    YI,
    "(finite N, free points; a question the paper leaves open) k-dim subspaces with trivial "
    "intersection: the centroid angle of the best certified optimum is theta_1",
    figures=("gap_vs_angle.png",),
)
def gap_vs_theta1(quick: bool) -> Verdict:
    """As gap_vs_phi, for k-dim subspaces whose principal angles are all non-zero."""
    rows = subspace_study(quick)
    out = _verdict_on_angle(rows, "theta_1", " (the paper leaves this case open)")
    return out._replace(details={"regimes": REGIMES, "runs": _public(rows)})


@register(
    "yi.subspace.centroid_identity",
    YI,
    "(Cor 2) with the pair structure, cos(angle) = (|m_C|^2 + abar^2 cos phi)/(|m_C|^2 + abar^2)",
    figures=("yi_regime_map.png",),
)
def centroid_identity(quick: bool) -> Verdict:
    """The measured centroid angle against the identity, at optima where the angle is defined."""
    study_rows = hyperplane_study(quick) + subspace_study(quick)
    rows = [r for r in study_rows if r.get("angle_defined")]
    worst = max((r["identity_residual"] / r["angle_uncertainty"] for r in rows), default=math.nan)
    v = INCONCLUSIVE if not rows else (AGREES if worst <= RESOLVED else DISAGREES)
    return Verdict(
        verdict=v,
        quantity="max |angle - identity| over the defined optima, in angle uncertainties",
        unit="1",
        predicted="angle = identity(|m_C|, abar, principal angles), residual 0 (rad)",
        measured={"max_residual_in_uncertainties": worst, "defined_optima": len(rows)},
        tolerance=f"{RESOLVED} x the angle's uncertainty",
        why_tolerance="residual |angle - identity| in units of the angle's uncertainty "
        "(position error / min mean norm, or the seed spread): exact at an exact optimum.",
        regime=_regime(study_rows, "hyperplanes and k-dim subspaces"),
        decides="at least one optimum whose angle is defined",
        details={
            "runs": [
                {k: r[k] for k in ("n", "d", "tau", "phi", "angle_raw", "angle_identity")}
                | {"residual": r["identity_residual"], "uncertainty": r["angle_uncertainty"]}
                for r in rows
            ]
        },
    )


@register(
    "yi.subspace.pair_structure",
    YI,
    "(Thm 4) at the hyperplane optimum P_C x_i = P_C y_i and a_i = b_i, so "
    "x_i.y_i = 1-(1-cos phi) a_i^2",
    figures=("yi_pair_structure.png",),
)
def pair_structure(quick: bool) -> Verdict:
    """Residuals of the pair structure at the best certified optima, in position errors."""
    study_rows = hyperplane_study(quick)
    rows = [r for r in study_rows if "pair_residual" in r]
    ratio = [r["pair_residual"] / r["position_error"] for r in rows]
    worst = max(ratio, default=math.nan)
    v = INCONCLUSIVE if not rows else (AGREES if worst <= RESOLVED else DISAGREES)
    return Verdict(
        verdict=v,
        quantity="max pair-structure residual at the best certified optima, in position errors",
        unit="1",
        predicted="residual 0",
        measured={
            "max_residual_in_position_errors": worst,
            "max_residual": max((r["pair_residual"] for r in rows), default=math.nan),
        },
        tolerance=f"{RESOLVED} x the position error",
        why_tolerance="max(|P_C x - P_C y|, |a - b|, paired-cosine formula) is exact at an "
        "exact optimum; a certified point is known to its position error "
        "|grad| N/(beta^2 min(L,1)).",
        regime=_regime(study_rows, "two hyperplanes"),
        decides="at least one certified optimum",
        details={
            "runs": [
                {k: r[k] for k in ("n", "d", "tau", "phi", "pair_residual", "position_error")}
                for r in rows
            ],
            "not_certified": sum(r["regime"] == "not_certified" for r in study_rows),
        },
    )


@register(
    "yi.subspace.theta1_bound",
    YI,
    "for x in U, y in V: x.y <= cos theta_1, so every pair angle and the centroid angle >= theta_1",
)
def theta1_bound(quick: bool) -> Verdict:
    """Hard fact on random points in random subspaces (tests the subspace construction).

    The former optimum half (hyperplane optima against theta_min = 0) could not fail and is gone.
    """
    rng = np.random.default_rng(0)
    viol, skipped = 0.0, 0
    trials = 200 if quick else 2000
    for _ in range(trials):
        d = int(rng.integers(3, 9))
        k = int(rng.integers(1, d // 2 + 1))
        th = tuple(np.sort(rng.uniform(0.05, math.pi / 2, k)))
        cs = make_constraints(Config(n_pairs=8, dim=d, constraint="subspace", thetas=th))
        qu, qv = np.asarray(cs[0].basis), np.asarray(cs[1].basis)
        x = rng.normal(size=(8, k)) @ qu.T
        y = rng.normal(size=(8, k)) @ qv.T
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        y /= np.linalg.norm(y, axis=1, keepdims=True)
        viol = max(viol, float(np.max(x @ y.T)) - math.cos(th[0]))
        mx, my = x.mean(0), y.mean(0)
        nx, ny = np.linalg.norm(mx), np.linalg.norm(my)
        if min(nx, ny) < 1e-6:  # the angle of exactly-cancelling means is not a number
            skipped += 1
            continue
        viol = max(viol, th[0] - math.acos(np.clip(mx @ my / nx / ny, -1, 1)))
    tol = 1e-9
    return Verdict(
        verdict=AGREES if viol <= tol else DISAGREES,
        quantity="max over random points of x.y - cos theta_1 and theta_1 - centroid angle",
        unit="1 (cosine) / rad (angle)",
        predicted="max violation <= 0",
        measured=viol,
        tolerance=tol,
        why_tolerance="an inequality; 1e-9 covers float64 rounding of the angle computations.",
        regime=Regime(n=8, d="3..8", solver="random points in random subspaces (no run)"),
        details={"random_trials": trials, "skipped_zero_means": skipped},
    )
