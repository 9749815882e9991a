"""``gapsim figures``: rebuild the paper figures (PNG + JSON data) into a folder.

The registry is :func:`gapsim.app.figures.figure_names` (the modules ``experiments/NAME.py``, each
figure's one home); ``--list`` prints it, ``--only NAME`` (repeatable)
selects (without it: every figure that needs no optional extra), ``--quick`` builds the small
sizes. A name not in the registry exits 2; a figure whose optional extra is missing is skipped
with the reason.
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
    from gapsim.app.figures import build, figure_names, module

    if ns.list:
        for name in figure_names():
            mod = module(name)
            doc = (mod.__doc__ or "").strip()
            extra = f"  [extra '{mod.EXTRA}'; only with --only]" if hasattr(mod, "EXTRA") else ""
            print(f"{name:<22} {doc.splitlines()[0] if doc else ''}{extra}")
        return EXIT_OK
    from gapsim.core.progress import interactive

    build(ns.only, quick=ns.quick, outdir=ns.out, progress=interactive(ns.quiet))
    return EXIT_OK
