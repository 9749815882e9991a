r"""Yi et al. (2025) Thm 2 and Thm 3 under their own hypothesis at finite N, as N grows.

The bridge between the population rows (:mod:`gapsim.checks.yi_population`: N -> infinity,
vMF modalities) and the free-point rows (:mod:`gapsim.checks.yi_subspace`: finite N, no
concentration): certified best-of-seeds optima with each modality's mean norm held to
:math:`\rho = A_k(\kappa)` (the theorem's fixed concentration), for N = 8, 16, 32, ...
(:mod:`gapsim.studies.bridge`). The verdict is taken on the convergence of the gap to the
population optimum:

- ``agrees``: from some N on, every judged size up to the largest has its gap inside the
  population argmin's band (widened by the gap's certified precision), at two sizes at least
  whose best optimum a random start reached (a size whose best is only the doubled start, the
  previous optimum duplicated, carries that optimum's gap by construction: not evidence of its
  own);
- ``disagrees``: the largest judged size has its gap outside that band;
- ``inconclusive``: the population argmin is not decided (its confidence set holds both ends),
  fewer than two sizes are certified, or fewer than two independent sizes are in the band.

A size is *judged* when its gap is identified. On the whole sphere a certified optimum may tie
with its gap-0 twin :math:`Y := X` (every point of a modality on one latitude of its mean: each
row's logits then shift by one constant, so the gaps 0 and pi have the same loss); the gap of
such an optimum is not identified and is reported as that regime, never as 0.

The setting (d = 3, kappa = 5, tau = 0.3; phi = 0.7 for the hyperplanes) is the quick setting of
``yi.*.population_argmin``, where the population argmin is decided (s = pi/2, gap phi; cone:
gap 0) and the population F at the argmin is also a 1-D quadrature (no Monte Carlo error).
The quick tier runs N = 8, 16 (1 seed plus the doubled start); the full tier N = 8 ... N_MAX
(4 seeds plus the doubled start).
"""

from __future__ import annotations

from gapsim.checks.base import AGREES, DISAGREES, INCONCLUSIVE, Regime, Verdict, register
from gapsim.checks.yi import YI
from gapsim.studies.bridge import CONE, DRAWS, N_MAX, SEEDS, SUBSPACE, study
from gapsim.studies.bridge_population import Setting, population

__all__ = ["SUBSPACE", "CONE", "N_MAX", "judge", "sentence", "subspace_convergence"]


def _rate(fit: dict | None) -> str:
    if fit is None:
        return ""
    lo, hi = fit["interval"]
    return f"N^{fit['slope']:.2f} (95% interval [{lo:.2f}, {hi:.2f}], {fit['points']} sizes)"


def sentence(out: dict) -> str:
    """The one-sentence answer: what the finite-N gap converges to, and at what rate."""
    s = Setting(**out["setting"])
    rows = [r for r in out["rows"] if r["certified"]]
    if not rows:
        return "no size was certified: no answer."
    target = "phi" if s.model == "subspace" else "0"
    ns = f"N = {rows[0]['n']}..{rows[-1]['n']}"
    fits = out["fits"]
    unidentified = [r["n"] for r in rows if not r.get("gap_identified", True)]
    exact = not fits["gap_resolved_at"]
    if len(unidentified) == len(rows):
        gap = (
            f"is not identified at any certified size ({ns}): each optimum ties with its gap-0 "
            "twin Y := X (one logit shift per row), so gap 0 and its gap have the same loss"
        )
    elif exact:
        gap = (
            f"equals {target} to the certificate's precision at every certified size ({ns}): the "
            "finite-N optimum already sits at the population answer, so there is no rate to fit"
        )
    else:
        gap = f"converges to {target} at rate {_rate(fits['gap_minus_target']) or 'not fitted'}"
    if unidentified and len(unidentified) < len(rows):
        gap += f" (not identified at N = {', '.join(map(str, unidentified))}: a twin tie)"
    shared = fits.get("shared_resolved_at") or []
    if shared:
        gap += (
            f"; the shared component |P_C c| is resolved (above 10x its precision) at N = "
            f"{', '.join(map(str, shared))}, a second-order effect on the gap"
        )
    loss = rows[-1]["loss_minus_F"]
    dec = fits["loss_decrease_fit"]
    loss_txt = "; L_N - log N decreases along N -> 2N by " + ", ".join(
        f"{v:.1e}" for _, v in fits["loss_decrease"]
    )
    if dec and dec["interval"][1] < 0:  # a rate only where its interval excludes 0
        loss_txt += f" (rate {_rate(dec)})"
    return (
        f"Under fixed concentration the finite-N gap {gap}{loss_txt}, and sits "
        f"{abs(loss):.2e} {'below' if loss < 0 else 'above'} the population F of the vMF model "
        f"at N = {rows[-1]['n']} (the fixed mean norm leaves the shape of each modality free)."
    )


def judge(out: dict, name: str) -> Verdict:
    """The verdict on the convergence of a bridge study (module docstring)."""
    s = Setting(**out["setting"])
    pop = out["population"]
    rows = [r for r in out["rows"] if r["certified"]]
    judged = [r for r in rows if r["gap_in_band"] is not None]  # identified gaps only
    start = out["within_band_from_n"]
    independent = [
        r["n"] for r in judged if start is not None and r["n"] >= start and r["random_at_best"]
    ]
    if not pop["decided"] or len(rows) < 2 or not judged:
        v = INCONCLUSIVE
    elif not judged[-1]["gap_in_band"]:
        v = DISAGREES
    else:
        v = AGREES if len(independent) >= 2 else INCONCLUSIVE
    band = pop["gap_band"]
    return Verdict(
        verdict=v,
        quantity=f"centroid angle of the best certified optimum at N = 8 ... {out['n_max']}, "
        f"against the population argmin's band ({name})",
        unit="rad",
        predicted=f"gap -> {s.target:g} rad (population argmin; band [{band[0]:.4f}, "
        f"{band[1]:.4f}] rad)",
        measured={
            "sentence": sentence(out),
            "gap": [r["gap"] for r in rows],
            "n": [r["n"] for r in rows],
            "within_band_from_n": out["within_band_from_n"],
            "independent_sizes_in_band": independent,
            "not_identified_at": [r["n"] for r in rows if r["gap_in_band"] is None],
            "largest_certified_n": out["largest_certified_n"],
        },
        tolerance="the population band (confidence set of the argmin at 4 SE, widened by one "
        "grid step) widened by each gap's certified precision",
        why_tolerance="the population argmin is known only to its band (Monte Carlo F on a grid, "
        "common random numbers), and a certified gap only to centroid_angle_precision "
        "(position error / sqrt(N) / mean norm, both means): a finite-N gap is at the population "
        "answer when it cannot be told from the band.",
        regime=Regime(
            n=[r["n"] for r in out["rows"]],
            d=s.d,
            tau=s.tau,
            solver="lbfgs, best of seeds + doubled start",
            certified=bool(rows) and len(rows) == len(out["rows"]),
            note=f"fixed concentration kappa {s.kappa:g}"
            + (f", hyperplanes phi {s.phi:g}" if s.model == "subspace" else ", whole sphere"),
        ),
        decides="a decided population argmin and two or more certified sizes with identified "
        "gaps, two of them in the band reached from a random start",
        details=out,
    )


def _run(s: Setting, quick: bool) -> dict:
    tier = "quick" if quick else "full"
    n_max = N_MAX[tier]
    pop = population(s, draws=DRAWS[tier])
    return study(s, n_max, seeds=SEEDS[tier], pop=pop)


@register(
    "yi.bridge.subspace_convergence",
    YI,
    "(Thm 3 under its own hypothesis at finite N) each modality held to a fixed concentration "
    "kappa inside its hyperplane: as N grows the certified optimum's gap converges to the "
    "population argmin (phi, centres orthogonal to C)",
    figures=("yi_bridge.png",),
)
def subspace_convergence(quick: bool) -> Verdict:
    """Bridge study in two hyperplanes of R^3 (module docstring)."""
    return judge(_run(SUBSPACE, quick), "two hyperplanes")


@register(
    "yi.bridge.cone_convergence",
    YI,
    "(Thm 2 under its own hypothesis at finite N) each modality held to a fixed concentration "
    "kappa on the sphere: as N grows the certified optimum's gap converges to the population "
    "argmin 0",
    figures=("yi_bridge.png",),
)
def cone_convergence(quick: bool) -> Verdict:
    """Bridge study on the whole sphere (module docstring)."""
    return judge(_run(CONE, quick), "cone")
