"""``gapsim demo NAME [--out FILE] [--frames N] [--interactive] ...``: render an animated demo.

``gapsim demo --html PAGE.html [--quick]`` writes the teaching page instead
(:mod:`gapsim.cli._page`).

Headless by default (Agg backend): writes a GIF (and an MP4 where ``ffmpeg`` exists) and prints
where, with the final gap. ``--interactive`` opens a window with sliders instead (needs a GUI
backend). Bad input is a :class:`gapsim.errors.ConfigError`: one line, exit status 2. The
registry is :data:`gapsim.demos.DEMOS` (``--list``).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time
from collections.abc import Iterator

from gapsim.cli._budget import add_allow_large_flag
from gapsim.cli._common import EXIT_OK, add_list_flag, add_quiet_flag, positive_int
from gapsim.cli._paths import check_output_file
from gapsim.errors import ConfigError

__all__ = ["NAME", "HELP", "add_parser", "run"]

NAME = "demo"
HELP = "animate the gap on S^2 (GIF), explore it with sliders, or write the teaching page (--html)"

MAX_FRAMES = 1000
PREVIEW_FRAMES = 12
DPI_RANGE = (20, 600)
"""``--dpi`` bounds: 160 x 80 px to 4800 x 2400 px frames (8 x 4 inches)."""
SCENE_FLAGS = (
    ("--phi", "ANGLE", "'hyperplanes': dihedral angle (radians, or 30deg, 0.25pi)"),
    ("--cone-angle", "ANGLE", "'cone': cap half-angle (radians, or 30deg)"),
    ("--swap-p", "P", "'yaras': fraction of steps with modality swapping, in [0, 1]"),
)
"""The sliders of the interactive demos, as headless flags (each for the demo that has it)."""
GUI_BACKENDS = ("QtAgg", "TkAgg", "GTK4Agg", "GTK3Agg", "MacOSX", "WXAgg")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``gapsim demo`` on the ``gapsim`` subparsers."""
    p = sub.add_parser(
        NAME,
        help=HELP,
        description="Animate paired points on S^2 under InfoNCE: " + _names() + ".",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="the demo (see --list)")
    add_list_flag(p, "demos")
    p.add_argument(
        "--out",
        metavar="FILE",
        help="output GIF, ending in .gif (an MP4 beside it where ffmpeg exists) "
        "[figures/demos/NAME.gif]",
    )
    add_allow_large_flag(p)
    p.add_argument("--frames", type=int, metavar="N", help="number of frames [48]")
    p.add_argument("--interactive", action="store_true", help="open a window with sliders")
    p.add_argument("--seed", type=int, help="random seed [0]")
    p.add_argument("--n-pairs", type=int, metavar="N", help="number of pairs (demo default)")
    p.add_argument("--tau", type=float, help="temperature (start value for 'yaras')")
    p.add_argument("--steps", type=int, help="optimisation steps (demo default)")
    p.add_argument(
        "--dpi",
        type=_dpi,
        help=f"resolution of the frames, {DPI_RANGE[0]}..{DPI_RANGE[1]} [200: 1600 x 800 px, "
        "text 25 px, legible on a projector; 60 with --preview]",
    )
    p.add_argument(
        "--preview",
        action="store_true",
        help=f"a short low-resolution GIF: {PREVIEW_FRAMES} frames at 60 dpi, no MP4, "
        "XLA compiled unoptimised where that is faster",
    )
    from gapsim.cli._config import angle

    for flag, metavar, what in SCENE_FLAGS:
        kind = angle if metavar == "ANGLE" else float
        p.add_argument(flag, type=kind, metavar=metavar, help=what)
    from gapsim.cli._page import add_page_flags

    add_page_flags(p)  # --html PAGE: the teaching page (gapsim/cli/_page.py)
    add_quiet_flag(p)


def _dpi(text: str) -> int:
    """An argparse ``type=`` for ``--dpi``: an integer in :data:`DPI_RANGE`."""
    value = positive_int(text)
    if not DPI_RANGE[0] <= value <= DPI_RANGE[1]:
        raise argparse.ArgumentTypeError(f"must lie in {DPI_RANGE[0]}..{DPI_RANGE[1]}")
    return value


_dpi.__name__ = "resolution"


def _names() -> str:
    from gapsim.demos.scenes import DEMOS

    return ", ".join(DEMOS)


def run(ns: argparse.Namespace) -> int:
    """Run ``gapsim demo``; returns the exit status (ConfigError propagates: exit 2)."""
    from gapsim.demos.scenes import DEMOS

    if ns.list:
        print("\n".join(f"{d.name:<12} {d.summary}" for d in DEMOS.values()))
        return EXIT_OK
    from gapsim.cli._page import check_page_flags, run_page

    check_page_flags(ns)
    if ns.html is not None:
        return run_page(ns)
    if ns.name not in DEMOS:
        raise ConfigError("demo", ns.name, f"must be one of {_names()}")
    if ns.frames is not None and not 2 <= ns.frames <= MAX_FRAMES:
        raise ConfigError("frames", ns.frames, f"must lie in 2..{MAX_FRAMES}")
    demo = DEMOS[ns.name]
    from gapsim.core.progress import interactive

    show_bars = interactive(ns.quiet)
    if ns.preview and ns.interactive:
        raise ConfigError("preview", True, "makes a GIF; not used with --interactive")
    if not ns.interactive:  # checked before the (long) simulation; nothing replaced
        out = ns.out if ns.out is not None else f"figures/demos/{ns.name}.gif"
        _check_out(out, ns.overwrite, mp4=not ns.preview)
    scene = {}
    for flag, _, _ in SCENE_FLAGS:
        key = flag[2:].replace("-", "_")
        value = getattr(ns, key)
        if value is None:
            continue
        if key not in demo.defaults:
            users = [d.name for d in DEMOS.values() if key in d.defaults]
            raise ConfigError(key, value, f"only used by the demo {', '.join(users)}")
        scene[key] = value
    frames = PREVIEW_FRAMES if ns.preview and ns.frames is None else ns.frames
    params = demo.params(
        frames=frames, seed=ns.seed, n_pairs=ns.n_pairs, tau=ns.tau, steps=ns.steps, **scene
    )
    from gapsim.demos.render import PREVIEW_DPI, PROJECTOR_DPI, render

    dpi = ns.dpi or (PREVIEW_DPI if ns.preview else PROJECTOR_DPI)
    _check_size(ns.name, params, dpi, ns.allow_large)
    if ns.interactive:
        from gapsim.demos.interactive import show

        _gui_backend()
        show(demo, params)
        return 0
    t0 = time.perf_counter()
    with _unoptimised_xla(ns.preview and demo.preview_unoptimised):
        movie = demo.build({**params, "progress": show_bars})
    out = ns.out or f"figures/demos/{ns.name}.gif"
    paths, note = render(movie, out, mp4=not ns.preview, dpi=dpi, progress=show_bars)
    f = movie.final
    angle = f["centroid_angle_deg"]
    angle_s = "undefined (a mean ~ 0)" if math.isnan(angle) else f"{angle:.1f} deg"
    print(f"gapsim demo {ns.name}: {movie.n_frames} frames in {time.perf_counter() - t0:.1f} s")
    for path in paths:
        print(f"  wrote {path}")
    if note:
        print(f"  {note}")
    print(
        f"  final gap ||mean x - mean y|| = {f['gap']:.4g}, centroid angle = {angle_s}, "
        f"tau = {f['tau']:.4g}, "
        f"mean x_i.y_i = {f['paired_cosine_mean']:.4f}"
    )
    for k, v in f.items():
        if k not in ("gap", "centroid_angle_deg", "tau", "paired_cosine_mean"):
            print(f"  {k} = {v:.4g}")
    return EXIT_OK


@contextlib.contextmanager
def _unoptimised_xla(on: bool) -> Iterator[None]:
    """With ``on``, compile with XLA's optimisations off, then restore the caller's setting.

    A preview's time is mostly compilation, and unoptimised XLA compiles faster.
    """
    import jax

    before = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", before or on)
    try:
        yield
    finally:
        jax.config.update("jax_disable_most_optimizations", before)


def _check_size(name: str, params: dict, dpi: int, allow_large: bool) -> None:
    """Refuse a demo whose simulation and frames exceed the limits of :mod:`gapsim.cli._budget`.

    The simulation: Adam on S^2 (:func:`gapsim.cli._budget.run_work`); each frame draws every
    pair (about 0.5 s a frame at 150 dpi and 1e-4 s a pair, growing with the pixels) and is
    held as RGBA until the GIF is written.
    """
    from gapsim.cli._budget import check_budget, run_work, seconds

    n, steps, frames = params["n_pairs"], params["steps"], params["frames"]
    sim = {"n_pairs": n, "dim": 3, "solver": "adam", "steps": steps, "second_order": False}
    draw = frames * (0.5 * (dpi / 150) ** 2 + 1e-4 * abs(n))
    check_budget(
        f"demo {name} with {n} pairs, {steps} steps, {frames} frames at {dpi} dpi",
        cpu_seconds=seconds(run_work(sim), runs=1) + draw,
        memory=frames * (8 * dpi) * (4 * dpi) * 4,
        allow_large=allow_large,
    )


def _check_out(out: str, overwrite: bool, mp4: bool = True) -> None:
    """The GIF (and the MP4 beside it, where ffmpeg exists): writable, new unless overwrite."""
    import shutil

    check_output_file(out, "out", overwrite=overwrite, suffixes=(".gif", ".mp4"))
    check_output_file(_gif_path(out), "out", overwrite=overwrite)
    if mp4 and shutil.which("ffmpeg"):
        check_output_file(_gif_path(out)[:-4] + ".mp4", "out", overwrite=overwrite)


def _gif_path(out: str) -> str:
    """The GIF that :func:`gapsim.demos.render.render` writes for ``out``."""
    low = out.lower()
    return out[:-4] + ".gif" if low.endswith((".gif", ".mp4")) else out + ".gif"


def _gui_backend() -> None:
    """Switch matplotlib to the first GUI backend that loads (gapsim.app.plotting selects Agg)."""
    import matplotlib.pyplot as plt

    for name in GUI_BACKENDS:
        try:
            plt.switch_backend(name)
            return
        except (ImportError, RuntimeError):
            continue
    raise ConfigError("interactive", True, "no GUI backend for matplotlib (is there a display?)")
