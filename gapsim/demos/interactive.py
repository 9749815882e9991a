"""``gapsim demo NAME --interactive``: the demo's figure with sliders that re-run it.

One slider per parameter of the demo (:attr:`gapsim.demos.base.Demo.sliders`: tau, phi, the
cap angle, the swap fraction) and one for the frame. Moving a parameter slider marks the
simulation stale; releasing the mouse re-runs it (the runs are small: seconds, and no
recompilation for a new tau, phi or cap angle, which are traced values) and redraws sphere,
curve and caption. :func:`explorer` builds all of it on any backend, so the re-run callback is
tested headless (Agg); :func:`show` opens the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gapsim.demos.base import Demo
from gapsim.demos.render import FPS, MovieFigure, draw_curve, draw_frame, movie_figure

__all__ = ["Explorer", "explorer", "show"]

SLIDER_HEIGHT = 0.045


@dataclass
class Explorer:
    """The interactive figure and its state.

    Attributes:
        demo: the demo.
        params: the current parameters (slider values included).
        mf: the figure (:class:`gapsim.demos.render.MovieFigure`).
        movie: the current movie.
        sliders: the parameter sliders by parameter name.
        frame: the frame slider.
        stale: a parameter slider moved since the last run.
    """

    demo: Demo
    params: dict[str, Any]
    mf: MovieFigure
    movie: Any
    sliders: dict[str, Any] = field(default_factory=dict)
    frame: Any = None
    stale: bool = False

    def show_frame(self, k: float) -> None:
        """Draw frame ``k`` (rounded, clipped to the movie)."""
        k = min(max(int(round(k)), 0), self.movie.n_frames - 1)
        draw_frame(self.mf, self.movie, k)
        self.mf.fig.canvas.draw_idle()

    def rerun(self) -> None:
        """Re-run the demo with the slider values and redraw (at the same frame position)."""
        self.params.update({name: float(s.val) for name, s in self.sliders.items()})
        self.movie = self.demo.build(self.params)
        fig, ax = self.mf.fig, self.mf.curve
        keep = {self.mf.sphere, ax, self.frame.ax, *(s.ax for s in self.sliders.values())}
        for other in [a for a in fig.axes if a not in keep]:  # the curve's twin axis
            other.remove()
        ax.cla()
        self.mf = self.mf._replace(cursor=draw_curve(ax, self.movie))
        self.mf.title.set_text(self.movie.title)
        self.stale = False
        self.show_frame(self.frame.val)


def explorer(demo: Demo, params: dict[str, Any], *, width: float = 8.0) -> Explorer:
    """Build the figure, the sliders and their callbacks for ``demo`` at ``params``."""
    from matplotlib.widgets import Slider as SliderWidget

    movie = demo.build(params)
    n = len(demo.sliders) + 1
    bottom = SLIDER_HEIGHT * (n + 1)
    mf = movie_figure(movie, width=width, height=4.0 / (1 - bottom), bottom=bottom)
    ex = Explorer(demo, dict(params), mf, movie)

    def row(i):
        return mf.fig.add_axes((0.2, SLIDER_HEIGHT * (n - i), 0.6, SLIDER_HEIGHT * 0.6))

    last = params["frames"] - 1
    ex.frame = SliderWidget(row(0), "frame", 0, last, valinit=last, valstep=1)
    ex.frame.on_changed(ex.show_frame)
    for i, s in enumerate(demo.sliders, start=1):
        w = SliderWidget(row(i), s.label, s.lo, s.hi, valinit=float(params[s.name]))
        w.on_changed(lambda _v, ex=ex: setattr(ex, "stale", True))
        ex.sliders[s.name] = w

    def on_release(_event):
        if ex.stale:
            ex.rerun()

    mf.fig.canvas.mpl_connect("button_release_event", on_release)
    ex.show_frame(last)
    return ex


def show(demo: Demo, params: dict[str, Any]) -> None:
    """Open the interactive window (needs a GUI backend); plays the frames in a loop."""
    import matplotlib.pyplot as plt

    ex = explorer(demo, params)
    timer = ex.mf.fig.canvas.new_timer(interval=int(1000 / FPS))

    def advance():
        if not ex.stale:
            ex.frame.set_val((int(ex.frame.val) + 1) % ex.movie.n_frames)

    timer.add_callback(advance)
    timer.start()
    plt.show()
