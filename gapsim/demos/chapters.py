r"""The chapters of the teaching page (``gapsim demo --html``): settings, grids, captions.

Each chapter is a small grid of runs computed by the sweep engine (:func:`gapsim.app.sweep.sweep`,
points recorded) and cached in the results store (:func:`gapsim.app.store.run_sweep` under
``STORE/page/``), so a rebuild loads them instead of running them. Captions quote the runs'
own measured numbers.

1. ``closing`` (Yi, Douady & Chen 2025, Thm 1; docs/theory.md 2.1): no constraint, from two
   narrow cones; the pairs meet at the regular simplex, whose loss is
   :math:`\log(1 + (N-1)e^{-N/((N-1)\tau)})` (:func:`gapsim.simplex_loss`). Slider: tau.
2. ``temperature`` (Liang et al. 2022's cone effect; Yaras et al. 2025): the same start with 16
   pairs and a fixed budget of Adam steps: at low tau the gap persists; a learned temperature
   falls with the loss. Sliders: tau (the start value when learned), fixed / learned.
3. ``hyperplanes`` (Yi et al. 2025, Thm 3; docs/theory.md 2.3): X on one great circle, Y on
   another at dihedral angle phi, L-BFGS to a certified minimum: free points spread until
   their means vanish; held to a fixed concentration kappa the centroid angle is phi.
   Sliders: the arm (free / kappa), phi, the start (seed) and, in the full page, N.
4. ``shift`` (Liang et al. 2022, the swapped-pair toy; :mod:`gapsim.checks.liang`): the
   loss along the gap shift and where its minimum sits. Slider: the logit scale beta. Closed
   form evaluations of the engine's loss (:func:`gapsim.gap_shift_curve`), nothing to store.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gapsim.alignment import gap_shift, gap_shift_curve
from gapsim.app.scenarios import CONE_START, cone_effect
from gapsim.core.precision import x64
from gapsim.demos.page_data import (
    QUANTITIES,
    Chapter,
    Run,
    Series,
    axis,
    frame_numbers,
    number_text,
    stored_sweep,
)
from gapsim.demos.page_data import trajectory_run as _trajectory
from gapsim.demos.planes_chapter import hyperplanes
from gapsim.errors import ConfigError
from gapsim.studies.theory import simplex_loss

__all__ = ["SIZES", "CHAPTERS", "build_chapters"]

SIZES = ("tiny", "quick", "full")
"""``tiny``: one or two runs per chapter (tests); ``quick``: the page in under 2 minutes;
``full``: more grid points (N = 16 and three starts in the hyperplanes chapter)."""


SIMPLEX_RTOL = 1e-6
"""Chapter 1 says the simplex is reached when every run's loss is this close (relative)."""


def closing(size: str, store: Path | None, progress: bool = False) -> Chapter:
    """Chapter 1: no constraint, the gap closes and the pairs meet at the simplex."""
    steps = 40 if size == "tiny" else 2000
    base = dict(n_pairs=4, dim=3, solver="adam", lr=1e-2, steps=steps, stride=max(1, steps // 200))
    base.update(early_stop=False, second_order=False, **CONE_START)
    taus = (0.5,) if size == "tiny" else (0.2, 0.5, 1.0)
    results = stored_sweep(base, {"tau": taus}, store, progress)
    runs = []
    for r in results:
        simplex = simplex_loss(4, r.config.tau)
        g = r.x @ r.x.T
        dev = float(np.max(np.abs(g[~np.eye(4, dtype=bool)] + 1 / 3)))
        summary = (
            f"After {steps} Adam steps: loss {number_text(r.measures['loss'])} nats, the regular "
            f"simplex's {number_text(simplex)} nats; min xᵢ·yᵢ = "
            f"{number_text(r.measures['paired_cosine_min'], 6)}, max |xᵢ·xⱼ + 1/3| = "
            f"{number_text(dev, 2)}"
        )
        run = _trajectory(r, 40, log_time=True, summary=summary)
        runs.append(run._replace(engine={**run.engine, "simplex_loss": simplex}))
    last = runs[-1]
    rel = max(abs(r.engine["loss"] / r.engine["simplex_loss"] - 1) for r in runs)
    reached = rel < SIMPLEX_RTOL
    caption = (
        "Four pairs start in two narrow cones, 86° apart (Liang et al.'s cone effect); nothing "
        "else constrains them. InfoNCE pulls every xᵢ onto its yᵢ: the gap goes from "
        f"{last.numbers[0]['gap']} to {last.numbers[-1]['gap']} (τ = {results[-1].config.tau:g})"
        + (
            ", and the points end at a regular tetrahedron with every pair met, the loss "
            "minimum for N ≤ d + 1 (Yi, Douady &amp; Chen 2025): at every τ here the loss equals "
            f"the simplex's closed form log(1 + (N−1)e<sup>−N/((N−1)τ)</sup>) to {rel:.0e} "
            "relative. Without a constraint, the loss alone wants no gap."
            if reached
            else f"; the loss is still {rel:.2g} (relative) above the regular simplex's closed "
            "form log(1 + (N−1)e<sup>−N/((N−1)τ)</sup>) (Yi, Douady &amp; Chen 2025): "
            f"{steps} steps do not reach the optimum."
        )
    )
    return Chapter(
        "closing",
        "1. No constraint: the gap closes, pairs meet",
        caption,
        (axis("tau", "temperature τ", taus),),
        tuple(runs),
        QUANTITIES,
        "Adam step",
        "gap ‖x̄ − ȳ‖",
        log_x=True,
        setting=f"N = 4 pairs on S², Adam (lr 0.01), {steps} steps, two-cone start",
    )


def temperature(size: str, store: Path | None, progress: bool = False) -> Chapter:
    """Chapter 2: the cone-effect start at several temperatures, fixed or learned."""
    tiny = size == "tiny"
    n, steps = (4, 40) if tiny else (16, 1000)
    base = cone_effect(n_pairs=n, dim=3, lr=3e-3, steps=steps, stride=max(1, steps // 200))
    base = {**base.to_dict(), "second_order": False}
    taus = (0.05,) if tiny else (0.02, 0.05, 0.1, 0.2)
    learn = (False,) if tiny else (False, True)
    results = stored_sweep(base, {"learn_tau": learn, "tau": taus}, store, progress)
    curves = (("gap ‖x̄ − ȳ‖", "centroid_distance"), ("temperature τ", "tau"))
    runs = [_trajectory(r, 40, log_time=True, curves=curves) for r in results]
    gaps = {(r.config.learn_tau, r.config.tau): run for r, run in zip(results, runs, strict=True)}
    lo, hi = taus[0], taus[min(2, len(taus) - 1)]
    caption = (
        f"The same two-cone start with {n} pairs, trained for a fixed budget of {steps} Adam "
        "steps, the way networks are trained. After "
        f"{steps} steps the gap is {gaps[False, lo].numbers[-1]['gap']} at τ = {lo:g} and "
        f"{gaps[False, hi].numbers[-1]['gap']} at τ = {hi:g}"
    )
    if (
        gaps[False, lo].engine["centroid_distance"]
        > 10 * gaps[False, hi].engine["centroid_distance"]
    ):
        caption += (
            ": the gap persists where the temperature is low, because there the pull between "
            "the two clouds is exponentially weak (Yaras et al. 2025). The optimum has no gap "
            "(chapter 1): this gap is the dynamics'."
        )
    else:
        caption += "."
    if True in learn:
        run_l = gaps[True, hi]
        caption += (
            f" Learned temperature (from τ₀ = {hi:g}): τ falls to {run_l.numbers[-1]['tau']} as "
            f"the loss falls and leaves a gap of {run_l.numbers[-1]['gap']}, where the fixed "
            f"τ = {hi:g} leaves {gaps[False, hi].numbers[-1]['gap']}."
        )
    axes = (
        axis("learn_tau", "temperature", learn, lambda v: "learned" if v else "fixed"),
        axis("tau", "τ (start value when learned)", taus),
    )
    return Chapter(
        "temperature",
        "2. The cone effect and the temperature: the gap persists under the dynamics",
        caption,
        axes,
        tuple(runs),
        QUANTITIES,
        "Adam step",
        "gap ‖x̄ − ȳ‖ and τ",
        log_x=True,
        setting=f"N = {n} pairs on S², Adam (lr 0.003), {steps} steps, two-cone start",
    )


@x64
def shift(size: str, store: Path | None = None, progress: bool = False) -> Chapter:
    """Chapter 4: Liang's swapped-pair toy, the loss along the gap shift."""
    from gapsim.checks.liang import GAMMA0, N_TOY, _prediction, stationary_temperature, toy_points

    a_star = stationary_temperature()
    stationary = a_star / (1 - GAMMA0**2)
    betas = (1.0, stationary, 30.0, 100.0)
    x, y = toy_points()
    frames = np.linspace(-6.0, 1.5, 31)
    fine = np.linspace(-6.0, 1.5, 301)
    runs = []
    for beta in betas:
        tau = 1 / beta
        curve = gap_shift_curve(x, y, tau, fine)
        k = int(np.argmin(curve.losses))
        g_star, pred = _prediction(beta, a_star)
        shifted = [gap_shift(x, y, float(lam), tau=tau) for lam in frames]
        z = np.stack([np.stack([s.x, s.y]) for s in shifted])
        rows = tuple(
            frame_numbers({**s.after, "tau": tau}, "λ =", round(float(lam), 2))
            for lam, s in zip(frames, shifted, strict=True)
        )
        summary = (
            f"Loss smallest at λ = {fine[k]:.3f} (grid step {fine[1] - fine[0]:.3g}); "
            f"predicted λ(γ*) = {pred:.3f}, γ* = {'√(1 − a*/β)' if g_star else '0'} = "
            f"{g_star:.3f}, a* = {a_star:.3f}"
        )
        engine = {"beta": beta, "lam_min": float(fine[k]), "lam_predicted": pred}
        runs.append(
            Run(
                z,
                rows,
                frames,
                (Series("loss (nats)", fine, curve.losses),),
                marks=(("predicted minimum", pred),),
                summary=summary,
                engine=engine,
            )
        )
    lam_min = {b: r.engine["lam_min"] for b, r in zip(betas, runs, strict=True)}
    # the three statements below hold when each minimum is within a grid step of its prediction
    step = float(fine[1] - fine[0])
    agree = all(abs(r.engine["lam_min"] - r.engine["lam_predicted"]) <= step for r in runs)
    caption = (
        f"Liang et al.'s toy: {N_TOY} pairs on two circles at heights ±{GAMMA0:g} (X above, Y "
        "below), the partners of pairs 0 and 1 swapped. Play moves both modalities along the gap "
        "vector, x − λΔ/2 and y + λΔ/2, renormalised: λ = 1 closes the gap, λ &lt; 0 widens it. "
        "Where is the loss smallest? It depends on the logit scale β = 1/τ. At the β that is "
        f"stationary for these points ({stationary:.2f}) at the gap as given (λ = "
        f"{lam_min[stationary]:.2f}); at β = 100 at a wider gap (λ = {lam_min[100.0]:.2f}, as "
        f"γ* = √(1 − a*/β) predicts); at β = 1 at zero gap (λ = {lam_min[1.0]:.2f}). "
        + (
            "Each minimum is within one grid step of the toy's prediction (dashed line): "
            "with a mismatched pair, a gap can be what the loss wants at a low temperature."
            if agree
            else "Not every minimum is within a grid step of the toy's prediction (dashed line)."
        )
    )
    beta_axis = axis("beta", "logit scale β = 1/τ", betas, lambda v: f"{v:.3g}")
    return Chapter(
        "shift",
        "4. The swapped pair: the loss along the gap shift",
        caption,
        (beta_axis,),
        tuple(runs),
        (("time", "shift"), ("gap", "gap ‖x̄ − ȳ‖"), ("angle", "centroid angle"), ("loss", "loss")),
        "shift λ (1: gap closed)",
        "InfoNCE loss (nats)",
        setting=f"N = {N_TOY} pairs on S², fixed points, loss evaluated by the engine",
    )


CHAPTERS = (closing, temperature, hyperplanes, shift)


def build_chapters(size: str, store: str | Path | None, progress: bool = False) -> list[Chapter]:
    """Every chapter at ``size`` (:data:`SIZES`), runs cached under ``store/page/``.

    Raises:
        ConfigError: an unknown size.
    """
    if size not in SIZES:
        raise ConfigError("size", size, f"must be one of {', '.join(SIZES)}")
    root = None if store is None else Path(store)
    return [chapter(size, root, progress) for chapter in CHAPTERS]
