r"""Yi et al. (2025) Thm 2 and Thm 3 under their own hypothesis at finite N, as N grows.

The bridge between the population rows (:mod:`gapsim.checks.yi_population`: N -> infinity,
vMF modalities) and the free-point rows (:mod:`gapsim.checks.yi_subspace`: finite N, no
concentration): certified best-of-seeds optima with each modality's mean norm held to
:math:`\rho = A_k(\kappa)` (the theorem's fixed concentration), for N = 8, 16, 32, ...
(:mod:`gapsim.studies.bridge`). The verdict is taken on the convergence of the gap to the
population optimum:

- ``agrees``: from some N on, every size up to the largest certified one has its gap inside the
  population argmin's band (widened by the gap's certified precision), at two sizes at least;
- ``disagrees``: the largest certified size has its gap outside that band;
- ``inconclusive``: the population argmin is not decided (its confidence set holds both ends),
  or fewer than two sizes are certified.

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
    exact = not fits["gap_resolved_at"]
    if exact:
        gap = (
            f"equals {target} to the certificate's precision at every certified size ({ns}): the "
            "finite-N optimum already sits at the population answer, so there is no rate to fit"
        )
    else:
        gap = f"converges to {target} at rate {_rate(fits['gap_minus_target']) or 'not fitted'}"
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
    last = rows[-1] if rows else None
    if not pop["decided"] or len(rows) < 2:
        v = INCONCLUSIVE
    elif not last["gap_in_band"]:
        v = DISAGREES
    else:
        v = AGREES if out["within_band_from_n"] is not None else DISAGREES
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
        decides="two or more certified sizes and a decided population argmin",
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
