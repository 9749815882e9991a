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
    p.add_argument(
        "--quick",
        action="store_true",
        help="small sizes (the ten default figures in about 5 min on 2 CPU cores; without it "
        "publication sizes, 16 s to 20 min each)",
    )
    p.add_argument("--only", action="append", metavar="NAME", help="this figure (repeatable)")
    p.add_argument("--out", default="figures", metavar="DIR", help="output folder [figures]")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace figures already in --out (NAME.png, NAME.json); needed to rebuild the "
        "committed figures/ in place",
    )
    add_list_flag(p, "figures")
    add_quiet_flag(p)


def check_outputs(names: list[str], out: str, overwrite: bool) -> None:
    """Every ``out/NAME.png`` and ``out/NAME.json`` writable, and new unless ``overwrite``.

    Checked before the first figure is built (a figure takes seconds to minutes).

    Raises:
        ConfigError: ``out`` is not a writable folder, or a figure's file exists.
    """
    from gapsim.cli._paths import check_output_dir, check_output_files

    check_output_dir(out, "out")
    for n in names:
        check_output_files([f"{out}/{n}.png", f"{out}/{n}.json"], "out", overwrite=overwrite)


def run(ns: argparse.Namespace) -> int:
    """Build the selected figures (or list them); every output checked first."""
    from gapsim.app.figures import build, default_names, figure_names, missing_extra, module

    for name in ns.only or ():
        module(name)  # an unknown name: exit 2, with or without --list
    if ns.list:
        for name in figure_names():
            mod = module(name)
            doc = (mod.__doc__ or "").strip()
            extra = f"  [extra '{mod.EXTRA}'; only with --only]" if hasattr(mod, "EXTRA") else ""
            print(f"{name:<22} {doc.splitlines()[0] if doc else ''}{extra}")
        return EXIT_OK
    from gapsim.core.progress import interactive

    names = list(ns.only or default_names())
    check_outputs([n for n in names if not missing_extra(n)], ns.out, ns.overwrite)
    build(names, quick=ns.quick, outdir=ns.out, progress=interactive(ns.quiet))
    return EXIT_OK
