"""``gapsim figures``: rebuild the paper figures (PNG + JSON data) into a folder.

The registry is :data:`gapsim.figures.FIGURES`; ``--list`` prints it, ``--only NAME`` (repeatable)
selects, ``--quick`` builds the small sizes. A name not in the registry exits 2.
"""

from __future__ import annotations

import argparse

from gapsim.cli._common import EXIT_OK, add_list_flag, add_quiet_flag

__all__ = ["NAME", "HELP", "add_parser", "run"]

NAME = "figures"
HELP = "rebuild the paper figures into --out (PNG + JSON)"


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``gapsim figures`` on the ``gapsim`` subparsers."""
    p = sub.add_parser(NAME, help=HELP, description="Rebuild the paper figures (PNG + JSON).")
    p.add_argument("--quick", action="store_true", help="small sizes (all in < 10 min)")
    p.add_argument("--only", action="append", metavar="NAME", help="this figure (repeatable)")
    p.add_argument("--out", default="figures", metavar="DIR", help="output folder [figures]")
    add_list_flag(p, "figures")
    add_quiet_flag(p)


def run(ns: argparse.Namespace) -> int:
    """Build the selected figures (or list them)."""
    from gapsim.figures import FIGURES, build

    if ns.list:
        import importlib

        for name in FIGURES:
            doc = importlib.import_module(f"gapsim.figures.{name}").__doc__ or ""
            print(f"{name:<20} {doc.strip().splitlines()[0] if doc.strip() else ''}")
        return EXIT_OK
    from gapsim.progress import interactive

    build(ns.only, quick=ns.quick, outdir=ns.out, progress=interactive(ns.quiet))
    return EXIT_OK
