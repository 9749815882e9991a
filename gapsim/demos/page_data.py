r"""What the teaching page shows, as data: chapters of precomputed runs, frame by frame.

A :class:`Chapter` is a grid of runs (its :class:`Axis` values are the page's sliders) and a
:class:`Run` is one setting's trajectory: the points of both modalities at a few frames, the
numbers printed under the plot at each frame, and the side panel's curve. Every printed number
is the engine's value for that setting and frame, formatted here once
(:func:`gap_text`, :func:`angle_text`, ...): the last frame of a trajectory shows the final,
float64 measures of the :class:`~gapsim.app.result.Result` (what ``gapsim run`` reports), earlier
frames the recorded history. A centroid angle between means shorter than
:data:`gapsim.core.measures.MIN_MEAN_NORM` is printed as ``undefined (means vanish)``, never as a
number (docs/theory.md section 0).

Example:
    >>> gap_text(0.26561)
    '0.2656'
    >>> number_text(1.59984)
    '1.600'
    >>> angle_text(0.7, 0.89, 0.89)
    '40.11° (0.7000 rad)'
    >>> angle_text(0.7, 1e-11, 2e-11)
    'undefined (means vanish)'
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from gapsim.app.result import Result
from gapsim.core.measures import MIN_MEAN_NORM
from gapsim.demos.base import frame_indices
from gapsim.errors import DivergenceError

__all__ = [
    "Axis",
    "Run",
    "Chapter",
    "Series",
    "UNDEFINED_ANGLE",
    "QUANTITIES",
    "axis",
    "stored_sweep",
    "gap_text",
    "angle_text",
    "number_text",
    "frame_numbers",
    "trajectory_run",
]

UNDEFINED_ANGLE = "undefined (means vanish)"
DIGITS = 4
"""Significant digits of a printed number (the browser test reads them back)."""


class Axis(NamedTuple):
    """One slider of a chapter: a config field (or a chapter parameter) and its grid.

    Attributes:
        name: the field swept (``tau``, ``phi``, ``kappa``, ``beta``...).
        label: the slider's label, with its unit.
        values: the grid.
        texts: how each value is printed beside the slider.
    """

    name: str
    label: str
    values: tuple
    texts: tuple[str, ...]


class Series(NamedTuple):
    """One curve of the side panel: ``(name, t, values)``, NaN where undefined (a gap)."""

    name: str
    t: np.ndarray
    values: np.ndarray


class Run(NamedTuple):
    """One setting of a chapter, cut into frames.

    Attributes:
        z: ``(F, 2, N, 3)`` the points of X and Y per frame (row i of X pairs with row i of Y).
        numbers: per frame, the printed numbers by quantity key (``gap``, ``angle``...).
        t: ``(F,)`` each frame's abscissa on the curve.
        series: the curves of the side panel.
        planes: ``(3, 2)`` bases of the great circles the modalities live on (may be empty).
        marks: ``(name, x)`` vertical reference lines on the curve (a prediction...).
        summary: one line about the whole run (its certificate, a comparison).
        engine: the engine's final values, unformatted (for tests and the CLI's report).
    """

    z: np.ndarray
    numbers: tuple[dict[str, str], ...]
    t: np.ndarray
    series: tuple[Series, ...]
    planes: tuple[np.ndarray, ...] = ()
    marks: tuple[tuple[str, float], ...] = ()
    summary: str = ""
    engine: dict[str, float] = {}


class Chapter(NamedTuple):
    """A chapter of the page.

    Attributes:
        key: short name (HTML ids, the test's handle).
        title: heading.
        caption: what to look at and what it shows (HTML, measured numbers filled in).
        axes: the sliders; ``runs`` holds one run per grid point, the first axis slowest.
        runs: the runs.
        quantities: ``(key, label)`` of the numbers printed under the plot, in order.
        xlabel, ylabel: the curve panel's axis labels.
        log_x: logarithmic abscissa on the curve.
        setting: a line naming the fixed part of the setting (sizes, solver, start).
    """

    key: str
    title: str
    caption: str
    axes: tuple[Axis, ...]
    runs: tuple[Run, ...]
    quantities: tuple[tuple[str, str], ...]
    xlabel: str
    ylabel: str
    log_x: bool = False
    setting: str = ""

    def run_at(self, *index: int) -> Run:
        """The run at one index per axis."""
        flat = 0
        for i, ax in zip(index, self.axes, strict=True):
            flat = flat * len(ax.values) + i
        return self.runs[flat]


QUANTITIES = (
    ("time", "at"),
    ("gap", "gap ‖x̄ − ȳ‖"),
    ("angle", "centroid angle"),
    ("pairs", "mean xᵢ·yᵢ"),
    ("loss", "loss"),
    ("tau", "τ"),
)
"""The numbers printed under a trajectory's plot: ``(key, label)`` of :func:`frame_numbers`."""


def axis(name: str, label: str, values: tuple, fmt=lambda v: f"{v:g}") -> Axis:
    """An :class:`Axis` over ``values``, each printed by ``fmt``."""
    return Axis(name, label, tuple(values), tuple(fmt(v) for v in values))


def stored_sweep(base: dict[str, Any], axes: dict[str, tuple], store: Path | None, progress: bool):
    """Run (or load from the store) the grid ``axes`` over ``base``, points recorded.

    The sweep engine (:func:`gapsim.app.sweep.sweep`) runs the grid; with a ``store`` the runs are
    cached under ``store/page/sweep-<hash>/`` (:func:`gapsim.app.store.run_sweep`) and a rebuild
    loads them. A diverged run raises its :class:`~gapsim.errors.DivergenceError`.
    """
    from gapsim.app.store import run_sweep, sweep_dir
    from gapsim.app.sweep import grid, sweep

    configs = grid(base, axes)
    if store is None:
        results = sweep(configs, progress=progress, record_points=True)
    else:
        out = sweep_dir(configs, None, store / "page", record_points=True)
        results, _ = run_sweep(
            configs, out, axes=axes, base=base, progress=progress, record_points=True
        )
    for r in results:
        if isinstance(r, DivergenceError):
            raise r
    return results


def number_text(v: float, digits: int = DIGITS) -> str:
    """``v`` to ``digits`` significant digits, trailing zeros kept (1.600, not 1.6).

    Scientific notation below 1e-3 (and where ``g`` chooses it).
    """
    if not math.isfinite(v):
        return "undefined"
    if v != 0 and abs(v) < 1e-3:
        return f"{v:.{digits - 1}e}"
    return f"{v:#.{digits}g}".rstrip(".")


def gap_text(v: float) -> str:
    r"""The gap :math:`\|\bar x - \bar y\|` (in units of the sphere's radius)."""
    return number_text(v)


def angle_text(angle: float, norm_x: float, norm_y: float) -> str:
    """The centroid angle in degrees and radians, or why it is undefined.

    Undefined when a mean is shorter than :data:`MIN_MEAN_NORM` (the angle between vanishing
    means is not a measurement) or when the engine flagged it (NaN: below its precision).
    """
    if min(norm_x, norm_y) < MIN_MEAN_NORM:
        return UNDEFINED_ANGLE
    if not math.isfinite(angle):
        return "undefined (below its precision)"
    return f"{math.degrees(angle):.{DIGITS}g}° ({angle:.{DIGITS}f} rad)"


def frame_numbers(m: dict, clock: str, time: float) -> dict[str, str]:
    """The printed numbers of one frame from a dict of engine measures."""
    return {
        "time": f"{clock} {time:g}",
        "gap": gap_text(m["centroid_distance"]),
        "angle": angle_text(m["centroid_angle"], m["mean_norm_x"], m["mean_norm_y"]),
        "norms": f"{number_text(m['mean_norm_x'], 3)}, {number_text(m['mean_norm_y'], 3)}",
        "pairs": number_text(m["paired_cosine_mean"]),
        "loss": f"{number_text(m['loss'])} nats",
        "tau": f"{m['tau']:.{DIGITS}g}",  # a setting (or a learned value): no padding zeros
    }


def trajectory_run(
    r: Result,
    frames: int,
    *,
    log_time: bool = False,
    clock: str = "step",
    curves: tuple[tuple[str, str], ...] = (("gap ‖x̄ − ȳ‖", "centroid_distance"),),
    planes: tuple[np.ndarray, ...] = (),
    marks: tuple[tuple[str, float], ...] = (),
    summary: str = "",
) -> Run:
    """Cut a run recorded with points (``record_points``) into at most ``frames`` frames.

    The last frame is the final point of the run with its final measures (float64); the
    others are records of the history. ``curves`` maps a series name to a history key
    (``centroid_angle_over_phi``: the centroid angle divided by ``phi``; undefined angles
    are left out of the curve).
    """
    h = r.history
    n = len(h["step"])
    idx = frame_indices(n, min(frames, n), log=log_time)
    z = np.asarray(h["z"], np.float64)[idx]
    z[-1] = r.z
    steps = np.asarray(h["step"], np.float64)
    rows = []
    for i in idx[:-1]:
        m = {k: float(v[i]) for k, v in h.items() if k != "z"}
        rows.append(frame_numbers(m, clock, steps[i]))
    final = {**r.measures, "tau": r.measures["tau_final"]}
    rows.append(frame_numbers(final, clock, steps[idx[-1]]))
    series = tuple(Series(name, steps, _curve(r, key)) for name, key in curves)
    engine = {k: float(final[k]) for k in _ENGINE_KEYS if k in final}
    return Run(z, tuple(rows), steps[idx], series, planes, marks, summary, engine)


_ENGINE_KEYS = (
    "centroid_distance",
    "centroid_angle",
    "mean_norm_x",
    "mean_norm_y",
    "paired_cosine_mean",
    "paired_cosine_min",
    "loss",
    "tau",
)


def _curve(r: Result, key: str) -> np.ndarray:
    h = r.history
    if key == "centroid_angle_over_phi":
        ok = np.minimum(h["mean_norm_x"], h["mean_norm_y"]) >= MIN_MEAN_NORM
        return np.where(ok, h["centroid_angle"] / r.config.phi, np.nan)
    return np.asarray(h[key], np.float64)
