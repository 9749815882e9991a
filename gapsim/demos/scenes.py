r"""The five demos: paired points on :math:`S^2` under InfoNCE, and what happens to the gap.

Settings follow the paper figures that already draw these configurations
(``experiments/yi_fig1.py``, ``experiments/yaras_fig2.py``, ``experiments/liang_shift.py``),
built from the same named scenarios (:mod:`gapsim.app.scenarios`), with fewer pairs and steps so
that each demo runs in seconds. Every demo runs without early stopping, so the number of frames
is exact.

- ``closing``: no constraint, from two narrow cones (Liang et al.'s cone-effect start). The
  optimum of symmetric InfoNCE has :math:`x_i = y_i` spread over the sphere (Yi et al. 2025,
  Thm 1; docs/theory.md 2.1), so the gap :math:`\Delta = \|\bar x - \bar y\|` closes.
- ``cone``: each modality kept in a cap of half-angle :math:`\alpha` with a learnable axis
  (the exact projection onto "fits in some cap", :mod:`gapsim.core.sets`). Gap 0 is still
  optimal (docs/theory.md 2.2; not uniquely: where points fill the cap
  rims, gapped twins with one constant added to every logit have the same loss, see
  ``yi.cone.gap_zero``), but the caps drift apart from this start (measured: centroid angle
  177 deg after the demo's steps): the dynamic reading of the cone effect, a gap held open.
- ``hyperplanes``: X on one great circle, Y on another at dihedral angle :math:`\varphi`,
  free points. Pairs cannot all coincide, :math:`x_i\cdot y_i = 1 - (1-\cos\varphi)a_i^2` with
  :math:`a_i` the coordinate off the shared line (Yi et al. 2025, Thm 4; docs/theory.md 2.3).
  What the frames show: the points spread over their circles until both means vanish, so the
  gap falls to ~0 and the centroid angle is undefined; the title says what the run ended with.
  Yi et al.'s centroid angle phi needs a fixed concentration (the teaching page's chapter 3).
- ``yaras``: :math:`n = 5` pairs from the mismatched parallel start with a learnable
  temperature :math:`\beta = e^\nu` (Yaras et al. 2025, Fig. 2; docs/theory.md 3.1). While pairs are
  mismatched, :math:`\Delta` and :math:`\tau` rise together; once all pairs are matched
  (margin > 0) both fall. Frames are log-spaced in gradient-flow time ``t = step * lr``.
  With ``swap_p > 0``, hard modality swapping (docs/theory.md 3) on that fraction of steps.
- ``shift``: Liang et al.'s (2022) embedding shift. From points trained at low temperature
  with a gap left, :math:`x_i - \lambda\Delta/2`, :math:`y_i + \lambda\Delta/2` renormalised
  (:func:`gapsim.gap_shift`); :math:`\lambda = 1` closes the gap, :math:`\lambda < 0` widens
  it (the renormalisation leaves a small gap at :math:`\lambda = 1`). The frames sweep
  :math:`\lambda`; the side panel is the InfoNCE loss over :math:`\lambda`
  (:func:`gapsim.gap_shift_curve`). Points trained at a fixed temperature for a finite budget are
  not at equilibrium: the title says where the loss is smallest, and whether that is 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gapsim.alignment import gap_shift, gap_shift_curve
from gapsim.app.config import Config
from gapsim.app.scenarios import CONE_START, mismatched_flow
from gapsim.app.simulate import simulate
from gapsim.core.measures import MIN_MEAN_NORM
from gapsim.demos.base import Curve, Demo, Movie, Slider, final_numbers, trajectory_movie

__all__ = ["DEMOS"]

TAU = Slider("tau", "τ", 0.05, 1.0)


def _base(p: dict[str, Any], **kw: Any) -> Config:
    """Adam dynamics on S^2 for ``p["steps"]`` steps, recorded about 4 times per frame."""
    stride = max(1, p["steps"] // (4 * (p["frames"] - 1)))
    cfg = dict(
        n_pairs=p["n_pairs"],
        dim=3,
        tau=p["tau"],
        solver="adam",
        lr=p.get("lr", 1e-2),
        steps=p["steps"],
        stride=stride,
        early_stop=False,
        seed=p["seed"],
    )
    return Config(**{**cfg, **kw})


def _closing(p: dict[str, Any]) -> Movie:
    title = f"No constraint, two-cone start: the gap closes (N = {p['n_pairs']})"
    return trajectory_movie(
        _base(p, **CONE_START), p["frames"], title, progress=p.get("progress", False)
    )[0]


def _cone(p: dict[str, Any]) -> Movie:
    alpha = p["cone_angle"]
    cfg = _base(p, constraint="cone", cone_angle=alpha, **CONE_START)
    title = (
        f"Cone constraint (caps of {math.degrees(alpha):.0f}°, learnable axes): the gap stays open"
    )
    return trajectory_movie(cfg, p["frames"], title, progress=p.get("progress", False))[0]


def _hyperplanes(p: dict[str, Any]) -> Movie:
    phi = p["phi"]
    cfg = _base(p, constraint="subspace", phi=phi)
    movie, r = trajectory_movie(cfg, p["frames"], "", progress=p.get("progress", False))
    m = r.measures
    head = f"Two planes at φ = {math.degrees(phi):.0f}°, free points: "
    if min(m["mean_norm_x"], m["mean_norm_y"]) < MIN_MEAN_NORM:  # what the frames end with
        title = head + f"the means vanish (gap {m['centroid_distance']:.2g}, no centroid angle)"
    else:
        angle = math.degrees(m["centroid_angle"])
        title = head + f"gap {m['centroid_distance']:.3g}, centroid angle {angle:.0f}°"
    return movie._replace(title=title)


def _yaras(p: dict[str, Any]) -> Movie:
    swap = {"swap": "hard", "swap_p": p["swap_p"]} if p["swap_p"] > 0 else {}
    cfg = mismatched_flow(
        n_pairs=p["n_pairs"],
        tau=p["tau"],
        steps=p["steps"],
        stride=max(1, p["steps"] // (50 * p["frames"])),
        seed=p["seed"],
        **swap,
    )
    title = "Mismatched parallel start, learnable τ: Δ and τ rise, then fall once pairs match"
    if swap:
        title += f" (swap p = {p['swap_p']:g})"
    progress = p.get("progress", False)
    return trajectory_movie(
        cfg, p["frames"], title, log_time=True, lr_time=True, progress=progress
    )[0]


def _shift(p: dict[str, Any]) -> Movie:
    cfg = _base({**p, "frames": 2}, stride=p["steps"], **CONE_START)
    r = simulate(cfg, progress=p.get("progress", False))
    x, y, tau = r.x, r.y, cfg.tau
    grid = gap_shift_curve(x, y, tau, np.linspace(-1.0, 1.0, 201))
    lams = np.linspace(-1.0, 1.0, p["frames"])
    shifted = [gap_shift(x, y, float(lam), tau=tau) for lam in lams]
    captions = tuple(
        f"λ = {lam:+.2f}  (0: as trained, drawn faint; 1: mean difference subtracted, then "
        f"renormalised),  τ = {tau:.3g}\n"
        f"loss = {s.after['loss']:.4f},  gap ‖x̄ − ȳ‖ = {s.after['centroid_distance']:.3f}"
        for lam, s in zip(lams, shifted, strict=True)
    )
    curve = Curve(
        grid.lambdas,
        ("InfoNCE loss", grid.losses),
        ("gap ‖x̄ − ȳ‖", grid.centroid_distance),
        "shift λ along the gap vector",
    )
    i = int(np.argmin(grid.losses))
    final = {**final_numbers(r), "lambda_min_loss": float(grid.lambdas[i])}
    return Movie(
        np.stack([s.x for s in shifted]),
        np.stack([s.y for s in shifted]),
        captions,
        lams,
        curve,
        f"Gap shift (Liang et al.) of points trained {p['steps']} Adam steps at fixed τ = {tau:g}: "
        f"loss smallest at λ = {grid.lambdas[i]:.2f}"
        + (" (λ = 0: as trained)" if abs(grid.lambdas[i]) < 1e-12 else ", not at 0 (as trained)"),
        final=final,
        ghost=(x, y),
    )


def _demo(
    name: str,
    summary: str,
    build,
    sliders: tuple[Slider, ...],
    preview_unoptimised: bool = True,
    **defaults: Any,
) -> Demo:
    common = {"n_pairs": 24, "seed": 0, "frames": 48, "steps": 1500}
    return Demo(name, summary, build, {**common, **defaults}, sliders, preview_unoptimised)


DEMOS: dict[str, Demo] = {
    d.name: d
    for d in (
        _demo(
            "closing",
            "no constraint, two-cone start: the gap closes",
            _closing,
            (TAU,),
            tau=0.2,
            lr=3e-3,
            steps=1000,
        ),
        _demo(
            "cone",
            "cone constraint (learnable-axis caps): the caps hold the gap open",
            _cone,
            (TAU, Slider("cone_angle", "cap α", 0.1, 1.5)),
            preview_unoptimised=False,  # the cap projection runs slowly unoptimised
            tau=0.2,
            cone_angle=0.7,
            lr=2e-3,
            steps=3000,
        ),
        _demo(
            "hyperplanes",
            "two great circles at dihedral angle phi: free points' means vanish (no gap)",
            _hyperplanes,
            (TAU, Slider("phi", "φ", 0.0, math.pi / 2)),
            tau=0.2,
            phi=math.pi / 3,
        ),
        _demo(
            "yaras",
            "n = 5, mismatched parallel start, learnable tau: gap and tau rise then fall",
            _yaras,
            (Slider("tau", "τ₀", 0.02, 0.5), Slider("swap_p", "swap p", 0.0, 1.0)),
            n_pairs=5,
            tau=0.1,
            swap_p=0.0,
            steps=20000,
        ),
        _demo(
            "shift",
            "Liang et al.'s gap shift: loss against the shift along the gap vector",
            _shift,
            (Slider("tau", "τ (training)", 0.01, 0.5),),
            n_pairs=16,
            tau=0.02,
            steps=800,
        ),
    )
}
