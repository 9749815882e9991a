r"""What a demo produces: a :class:`Movie` of paired points on :math:`S^2`, frame by frame.

A demo is a function ``build(params) -> Movie`` (no matplotlib here: drawing is in
:mod:`gapsim.demos.render`). :func:`trajectory_movie` turns one simulation, run with
``record_points=True``, into frames: the points at chosen records, a caption per frame with the
step, the gap :math:`\Delta = \|\bar x - \bar y\|`, the centroid angle
:math:`\angle(\bar x, \bar y)` and the temperature, and a trace of :math:`\Delta` (and
:math:`\tau` when it moves) over the whole run for the side panel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from gapsim.app.config import Config
from gapsim.app.parts import make_constraints
from gapsim.app.result import Result
from gapsim.app.simulate import simulate
from gapsim.core.measures import MIN_MEAN_NORM
from gapsim.errors import ConfigError

__all__ = ["Curve", "Movie", "Slider", "Demo", "final_numbers", "frame_indices", "trajectory_movie"]


class Curve(NamedTuple):
    """The side panel: one or two series over time (or over the shift lambda).

    Attributes:
        t: ``(R,)`` abscissa.
        left: ``(label, (R,) values)`` on the left axis.
        right: optional ``(label, (R,) values)`` on a twin right axis.
        xlabel: abscissa label.
        log_x: logarithmic abscissa.
    """

    t: np.ndarray
    left: tuple[str, np.ndarray]
    right: tuple[str, np.ndarray] | None
    xlabel: str
    log_x: bool = False


class Movie(NamedTuple):
    """Everything needed to draw the frames of a demo.

    Attributes:
        x: ``(F, N, 3)`` points of X per frame.
        y: ``(F, N, 3)`` points of Y per frame (row i pairs with ``x[:, i]``).
        captions: one caption per frame.
        cursor: ``(F,)`` position of each frame on the curve's abscissa.
        curve: the side panel.
        title: figure title.
        planes: ``(3, 2)`` bases of the great circles X and Y live on, or ``None``.
        cap_angle: half-angle of the learnable-axis caps (drawn around each frame's
            learnable axes), or ``None``.
        final: final numbers printed by the CLI (``gap``, ``centroid_angle_deg``, ``tau``...).
        ghost: ``(x, y)`` reference points drawn faint (default: the first frame).
    """

    x: np.ndarray
    y: np.ndarray
    captions: tuple[str, ...]
    cursor: np.ndarray
    curve: Curve
    title: str
    planes: list[np.ndarray] | None = None
    cap_angle: float | None = None
    final: dict[str, float] = {}
    ghost: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_frames(self) -> int:
        """Number of frames F."""
        return len(self.captions)


class Slider(NamedTuple):
    """A parameter of a demo that the interactive window exposes as a slider."""

    name: str
    label: str
    lo: float
    hi: float


@dataclass(frozen=True)
class Demo:
    """A named demo: ``build(params)`` with ``params`` = :attr:`defaults` updated by the caller.

    ``params`` always holds ``n_pairs``, ``seed`` and ``frames`` besides the demo's own
    parameters (``tau``, ``phi``, ``cone_angle``, ``swap_p``...); angles in radians.
    """

    name: str
    summary: str
    build: Callable[[dict[str, Any]], Movie]
    defaults: dict[str, Any] = field(default_factory=dict)
    sliders: tuple[Slider, ...] = ()
    preview_unoptimised: bool = True
    """``--preview`` compiles with XLA's optimisations off (faster to compile); ``False`` where
    the unoptimised run costs more than the compile saves (``cone``: 67 s of CPU against 29 s)."""

    def params(self, **overrides: Any) -> dict[str, Any]:
        """The defaults with the given non-``None`` overrides."""
        return {**self.defaults, **{k: v for k, v in overrides.items() if v is not None}}

    def movie(self, **overrides: Any) -> Movie:
        """Run the demo with :meth:`params` ``(**overrides)``."""
        return self.build(self.params(**overrides))


def frame_indices(n_records: int, frames: int, log: bool = False) -> np.ndarray:
    """``frames`` strictly increasing record indices from 0 to ``n_records - 1``.

    Evenly spaced, or (``log``) geometrically spaced after record 0, pushed apart where they
    would repeat.

    Raises:
        ConfigError: ``frames < 2`` or ``frames > n_records``.
    """
    if not 2 <= frames <= n_records:
        raise ConfigError("frames", frames, f"must lie in 2..{n_records} (more need more steps)")
    if log:
        idx = np.concatenate([[0.0], np.geomspace(1, n_records - 1, frames - 1)])
    else:
        idx = np.linspace(0, n_records - 1, frames)
    idx = np.round(idx).astype(int)
    idx[-1] = n_records - 1  # geomspace with one point is its start
    for k in range(1, frames):  # strictly increasing, and room left for the frames after k
        idx[k] = min(max(idx[k], idx[k - 1] + 1), n_records - frames + k)
    return idx


def _angle_text(h: dict[str, np.ndarray], i: int | np.integer) -> str:
    if min(h["mean_norm_x"][i], h["mean_norm_y"][i]) < MIN_MEAN_NORM:
        return "undefined (a mean ≈ 0)"
    return f"{math.degrees(h['centroid_angle'][i]):.1f}°"


def trajectory_movie(
    cfg: Config,
    frames: int,
    title: str,
    *,
    log_time: bool = False,
    lr_time: bool = False,
    progress: bool = False,
) -> tuple[Movie, Result]:
    """Simulate ``cfg`` (``dim=3``) recording the points and cut the run into ``frames`` frames.

    ``cfg.stride`` should leave at least ``frames`` records (demos use
    ``early_stop=False``). With ``lr_time`` the abscissa is gradient-flow time
    ``t = step * lr`` instead of the step. The curve shows the gap and, with a learnable
    temperature, tau on the right axis. ``progress`` draws a bar over the steps.
    """
    r = simulate(cfg, record_points=True, progress=progress)
    h = r.history
    idx = frame_indices(len(h["step"]), frames, log=log_time)
    t = h["step"] * cfg.effective_lr if lr_time else h["step"].astype(float)
    clock = "t = step × lr" if lr_time else "step"
    captions = tuple(
        (f"step {int(h['step'][i])}" + (f" (t = {t[i]:.3g})" if lr_time else ""))
        + f",  τ = {h['tau'][i]:.3g},  mean xᵢ·yᵢ = {h['paired_cosine_mean'][i]:.3f}\n"
        + f"gap ‖x̄ − ȳ‖ = {h['centroid_distance'][i]:.3f},  "
        + f"centroid angle = {_angle_text(h, i)}"
        for i in idx
    )
    tau = ("temperature τ", h["tau"]) if cfg.learn_tau else None
    curve = Curve(t, ("gap ‖x̄ − ȳ‖", h["centroid_distance"]), tau, clock, log_x=log_time)
    cs = make_constraints(cfg)
    planes = [np.asarray(c.basis) for c in cs] if cfg.constraint == "subspace" else None
    z = h["z"][idx].astype(np.float64)
    movie = Movie(
        z[:, 0],
        z[:, 1],
        captions,
        t[idx],
        curve,
        title,
        planes=planes,
        cap_angle=cfg.cone_angle if cfg.constraint == "cone" else None,
        final=final_numbers(r),
    )
    return movie, r


def final_numbers(r: Result) -> dict[str, float]:
    """The final gap, centroid angle (degrees; NaN when a mean is near 0), tau, mean x_i.y_i."""
    m = r.measures
    return {
        "gap": m["centroid_distance"],
        "centroid_angle_deg": math.degrees(m["centroid_angle"]),
        "tau": m["tau_final"],
        "paired_cosine_mean": m["paired_cosine_mean"],
    }
