"""``gapsim check [--quick] [--only PATTERN] [--json] [--report PATH] [--quiet]``: the verdicts.

A line per finished check on stderr and, in a terminal, a progress bar; ``--quiet`` drops both.

Exit status 0 when every selected check ran, whatever the verdicts (a disagreement is a
result); 1 when a check raised (verdict ``error``) or no check matched.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

__all__ = ["add_check_parser", "run_check_command"]


def add_check_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``check`` subcommand on the ``gapsim`` subparsers."""
    p = sub.add_parser(
        "check",
        help="run the theorem checks and print the verdict table",
        description="Run the named checks of THEORY.md sections 2-6 and print the verdicts.",
    )
    p.add_argument("--quick", action="store_true", help="quick tier (< 5 min on 2 CPU cores)")
    p.add_argument("--only", metavar="PATTERN", help="ids matching a glob or containing PATTERN")
    p.add_argument("--json", action="store_true", help="print a JSON list of results on stdout")
    p.add_argument("--report", metavar="PATH", help="write the markdown report to PATH")
    p.add_argument("--list", action="store_true", help="list the check ids and exit")
    from gapsim.cli import add_quiet_flag

    add_quiet_flag(p)


def run_check_command(ns: argparse.Namespace) -> int:
    """Run the selected checks; print table or JSON; write the report."""
    from gapsim.checks.base import ERROR, select
    from gapsim.checks.report import run_checks, to_json, verdict_table, write_report

    checks = select(ns.only)
    if ns.list:
        print("\n".join(f"{c.id:<36} {c.paper}" for c in checks))
        return 0
    if not checks:
        print(f"gapsim: error: no check matches --only {ns.only!r}", file=sys.stderr)
        return 1
    from gapsim.progress import bar, interactive, note

    t0 = time.perf_counter()
    with bar(len(checks), "checks", interactive(ns.quiet), unit="check") as pbar:

        def progress(r):
            if not ns.quiet:
                note(pbar, f"  {r.id:<36} {r.verdict:<12} {r.runtime_s:6.1f} s")
            pbar.update(1)

        results = run_checks(ns.only, quick=ns.quick, progress=progress)
    wall = time.perf_counter() - t0
    if ns.report:
        figures = Path(os.path.relpath("figures", Path(ns.report).resolve().parent))
        write_report(ns.report, results, ns.quick, wall, figures.as_posix())
    if ns.json:
        print(to_json(results))
    else:
        print(verdict_table(results))
        print(
            f"{len(results)} checks in {wall:.1f} s"
            + (f"; report: {ns.report}" if ns.report else "")
        )
    for r in results:
        if r.verdict == ERROR:
            print(f"gapsim: error in {r.id}: {r.details.get('error')}", file=sys.stderr)
    return 1 if any(r.verdict == ERROR for r in results) else 0
