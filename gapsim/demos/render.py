"""Drawing a :class:`~gapsim.demos.base.Movie`: one figure, redrawn frame by frame.

Layout: the sphere (:func:`gapsim.app.plotting.sphere_panel`, starting points faint) on the left,
the side-panel curve with a cursor at the current frame on the right, the title on top and the
frame's caption (step, gap, centroid angle, tau) below. :func:`render` writes the frames as a
GIF (matplotlib's PillowWriter) and, where ``ffmpeg`` is on the PATH, an MP4.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from gapsim.app.plotting import COLORS, figure, sphere_panel
from gapsim.core.progress import bar
from gapsim.demos.base import Movie

__all__ = [
    "MovieFigure",
    "movie_figure",
    "draw_frame",
    "render",
    "FPS",
    "PROJECTOR_DPI",
    "TEXT_PT",
    "PREVIEW_DPI",
]

FPS = 8


class MovieFigure(NamedTuple):
    """A figure ready to show any frame of a movie (see :func:`movie_figure`)."""

    fig: Any
    sphere: Any
    curve: Any
    cursor: Any
    caption: Any
    title: Any


PROJECTOR_DPI = 200
"""Default GIF resolution: 1600 x 800 px for the 8 x 4 in figure, so text of :data:`TEXT_PT`
is 25 px (a font of s pt is s * dpi / 72 px): legible on a projector (at 150 dpi it was 19 px,
at 80 dpi 10 px)."""
TEXT_PT = 9.0
"""Every text of a demo figure (title, caption, labels, ticks, legend), in points."""
PREVIEW_DPI = 60
"""``gapsim demo NAME --preview``: 480 x 240 px frames."""


def movie_figure(
    movie: Movie, *, width: float = 8.0, height: float = 4.0, bottom: float = 0.0
) -> MovieFigure:
    """The figure of ``movie``: sphere axis, curve axis with cursor, title and caption.

    ``bottom`` is a fraction of the height left free below (for the interactive sliders).
    """
    fig, _ = figure(1, width=width, height=height, layout=None)
    fig.clf()

    def rect(left, low, w, h):
        return (left, bottom + low * (1 - bottom), w, h * (1 - bottom))

    sphere = fig.add_axes(rect(-0.02, 0.12, 0.56, 0.8), projection="3d")
    ax = fig.add_axes(rect(0.58, 0.3, 0.32, 0.52))
    cursor = draw_curve(ax, movie)
    title = fig.text(0.5, 0.985, movie.title, ha="center", va="top", fontsize=TEXT_PT)
    caption = fig.text(
        0.5, bottom + 0.03, "", ha="center", va="bottom", fontsize=TEXT_PT, family="monospace"
    )
    return MovieFigure(fig, sphere, ax, cursor, caption, title)


def draw_curve(ax, movie: Movie):
    """Draw the movie's curve on ``ax`` (and a twin axis); returns the cursor (a vertical line)."""
    c = movie.curve
    t = np.asarray(c.t)
    keep = t > 0 if c.log_x else np.ones(t.shape, bool)
    ax.plot(t[keep], c.left[1][keep], color=COLORS["x"])
    ax.set_ylabel(c.left[0], color=COLORS["x"], fontsize=TEXT_PT)
    ax.set_xlabel(c.xlabel, fontsize=TEXT_PT)
    if c.log_x:
        ax.set_xscale("log")
    ax.tick_params(which="both", labelsize=TEXT_PT)
    if c.right is not None:
        ax2 = ax.twinx()
        ax2.plot(t[keep], c.right[1][keep], color=COLORS["y"])
        ax2.set_ylabel(c.right[0], color=COLORS["y"], fontsize=TEXT_PT)
        ax2.tick_params(which="both", labelsize=TEXT_PT)
        ax2.grid(False)
    return ax.axvline(_cursor_at(movie, 0), color=COLORS["mark"], lw=1.0)


def _cursor_at(movie: Movie, k: int) -> float:
    t = float(movie.cursor[k])
    if movie.curve.log_x:  # t = 0 is off a log axis: pin it to the first positive time
        t = max(t, float(np.min(movie.curve.t[movie.curve.t > 0])))
    return t


def draw_frame(mf: MovieFigure, movie: Movie, k: int) -> None:
    """Redraw ``mf`` at frame ``k``: sphere, cursor and caption."""
    mf.sphere.cla()
    x0, y0 = movie.ghost if movie.ghost is not None else (movie.x[0], movie.y[0])
    sphere_panel(
        mf.sphere,
        movie.x[k],
        movie.y[k],
        x0=x0,
        y0=y0,
        planes=movie.planes,
        cap_angle=movie.cap_angle,
    )
    mf.sphere.legend(loc="upper left", fontsize=TEXT_PT)
    for axis in (mf.sphere.xaxis, mf.sphere.yaxis, mf.sphere.zaxis):
        axis.set_ticklabels([])
    mf.cursor.set_xdata([_cursor_at(movie, k)] * 2)
    mf.caption.set_text(movie.captions[k])


def render(
    movie: Movie,
    path: str | Path,
    *,
    mp4: bool = False,
    dpi: int = PROJECTOR_DPI,
    width: float = 8.0,
    height: float = 4.0,
    fps: int = FPS,
    progress: bool = False,
) -> tuple[list[Path], str | None]:
    """Write every frame of ``movie`` as a GIF at ``path`` (``.gif`` appended unless given).

    With ``mp4`` (or a ``.mp4`` path) an MP4 with the same stem is written too where
    ``ffmpeg`` is on the PATH (matplotlib's FFMpegWriter); without it, the GIF only.

    ``progress`` draws a bar over the frames written (:mod:`gapsim.core.progress`).

    Returns:
        ``(paths written, note)``; ``note`` says when an MP4 was asked for but ``ffmpeg`` is
        missing, else ``None``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter

    path = Path(path)
    stem = path.with_suffix("") if path.suffix.lower() in (".gif", ".mp4") else path

    def named(ext: str) -> Path:  # appended, so "tau0.1" gives "tau0.1.gif", not "tau0.gif"
        return stem.with_name(stem.name + ext)

    writers: dict[Path, Any] = {named(".gif"): PillowWriter(fps=fps)}
    note = None
    if mp4 or path.suffix.lower() == ".mp4":
        if shutil.which("ffmpeg"):
            writers[named(".mp4")] = FFMpegWriter(fps=fps)
        else:
            note = "no MP4 written: ffmpeg is not on the PATH (the GIF has the same frames)"
    path.parent.mkdir(parents=True, exist_ok=True)
    mf = movie_figure(movie, width=width, height=height)
    with bar(movie.n_frames * len(writers), "frames", progress, unit="frame") as b:
        for out, writer in writers.items():
            anim = FuncAnimation(
                mf.fig, lambda k: draw_frame(mf, movie, k), frames=movie.n_frames, repeat=False
            )
            anim.save(str(out), writer=writer, dpi=dpi, progress_callback=lambda i, n: b.update())
    plt.close(mf.fig)
    return list(writers), note
