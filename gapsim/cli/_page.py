"""``gapsim demo --html PAGE.html [--quick] [--overwrite] [--store DIR]``: the teaching page.

The flags are registered on ``gapsim demo`` (:func:`add_page_flags`); :func:`run_page` checks
every input before any work (the page path, the store folder, flags that belong to the GIF
demos), computes or loads the chapters' runs (:func:`gapsim.demos.page.build_page`) and prints
where the page is, its size and the build time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gapsim.cli._common import EXIT_OK
from gapsim.cli._paths import check_output_dir, check_output_file
from gapsim.errors import ConfigError

__all__ = ["add_page_flags", "run_page", "check_page_flags", "GIF_ONLY"]

GIF_ONLY = ("frames", "interactive", "seed", "n_pairs", "tau", "steps", "phi", "cone_angle")
"""Flags of the GIF demos that mean nothing for the page (refused with ``--html``)."""


def add_page_flags(p: argparse.ArgumentParser) -> None:
    """Register ``--html``, ``--quick``, ``--overwrite`` and ``--store`` on ``gapsim demo``."""
    p.add_argument(
        "--html",
        metavar="PAGE",
        help="write the teaching page instead of a GIF: one self-contained HTML file "
        "(no NAME; plotly.js embedded, no network needed to view it)",
    )
    p.add_argument(
        "--quick", action="store_true", help="with --html: the small grids (under 2 minutes)"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing GIF/MP4, or with --html the PAGE",
    )
    p.add_argument(
        "--store",
        metavar="DIR",
        help="with --html: results store caching the page's runs, under DIR/page [results]",
    )


def check_page_flags(ns: argparse.Namespace) -> None:
    """Refuse page flags without ``--html`` and GIF flags with it (before any work).

    Raises:
        ConfigError: one line naming the flag.
    """
    if ns.html is None:
        for flag in ("quick", "store"):  # --overwrite also applies to the GIF
            if getattr(ns, flag) not in (None, False):
                raise ConfigError(flag, getattr(ns, flag), "only applies with --html PAGE")
        return
    if ns.name is not None:
        raise ConfigError("html", ns.html, f"writes the whole page; drop the demo name {ns.name!r}")
    for key in (*GIF_ONLY, "swap_p", "preview", "out", "dpi"):
        value = getattr(ns, key, None)
        if value not in (None, False):
            flag = "--" + key.replace("_", "-")
            raise ConfigError(key, value, f"is a GIF demo flag ({flag}); not used with --html")


def run_page(ns: argparse.Namespace) -> int:
    """Build the page; returns the exit status (ConfigError propagates: exit 2)."""
    from gapsim.core.progress import interactive

    path = check_output_file(ns.html, "html")
    if path.exists() and not ns.overwrite:
        raise ConfigError("html", ns.html, "exists; pass --overwrite to replace it")
    store = check_output_dir(ns.store or "results", "store")
    from gapsim.demos.page import build_page

    size = "quick" if ns.quick else "full"
    info = build_page(path, size, store, progress=interactive(ns.quiet))
    runs = sum(len(ch.runs) for ch in info.chapters)
    print(f"gapsim demo --html: wrote {path} ({info.bytes / 1e6:.1f} MB) in {info.seconds:.1f} s")
    print(f"  {len(info.chapters)} chapters, {runs} runs ({size} grids), cached in {store}/page")
    for ch in info.chapters:
        grid = " x ".join(f"{ax.name} {{{', '.join(ax.texts)}}}" for ax in ch.axes)
        print(f"  {ch.key:<12} {grid}")
    print(f"  open it in a browser: file://{Path(path).resolve()}")
    return EXIT_OK
