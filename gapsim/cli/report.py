"""``gapsim report DIR``: tabulate a results folder (a run, a sweep, or a root holding many).

The rows come from :mod:`gapsim.app.runs` (:func:`~gapsim.app.runs.collect`,
:func:`~gapsim.app.runs.tabulate`). A folder with nothing to report, or a ``--sort`` column that
does not exist, is bad input (exit status 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gapsim.app.runs import COLUMNS, MISSING
from gapsim.cli._common import EXIT_OK, add_json_flag, print_json
from gapsim.cli._paths import check_output_file

__all__ = ["NAME", "HELP", "DESCRIPTION", "add_parser", "run"]

NAME = "report"
HELP = "tabulate a results folder (a run, a sweep, or a root with many)"
DESCRIPTION = (
    "Tabulate a results folder. Every run folder, every config of every sweep folder "
    "and every saved result (run --out PATH: PATH.json + PATH.npz) under DIR becomes a row: its "
    "path, its status (done, diverged, pending for a sweep config not finished yet, or "
    "unreadable with the reason in an error column), the config fields that differ between "
    "the rows (config.steps for the step budget, beside the measured steps), then the "
    f"measures {', '.join(COLUMNS)}. "
    f"A missing value prints as '{MISSING}'. A folder with nothing to report is an error "
    "(exit status 2)."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``gapsim report`` on the ``gapsim`` subparsers."""
    p = sub.add_parser(NAME, help=HELP, description=DESCRIPTION)
    p.add_argument("dir", metavar="DIR", help="a run folder, a sweep folder, or a root of them")
    add_json_flag(p, "the rows (a list with one object per entry)")
    p.add_argument("--csv", metavar="PATH", help="also write the rows, every metric, as CSV")
    p.add_argument("--sort", metavar="FIELD", help="order by any metric (missing values last)")


def run(ns: argparse.Namespace) -> int:
    """Collect, tabulate and print (or write) the rows."""
    from gapsim.app.result import _atomic_write_text
    from gapsim.app.runs import collect, format_table, tabulate
    from gapsim.app.sweep import csv_text

    if ns.csv:
        check_output_file(ns.csv, "csv")
    entries = collect(ns.dir)
    rows = tabulate(entries, ns.sort)
    if ns.csv:  # every metric, not only the displayed columns
        _atomic_write_text(Path(ns.csv), csv_text(tabulate(entries, ns.sort, full=True)))
    if ns.json:
        print_json(rows)
        return EXIT_OK
    print(format_table(rows))
    states = ("done", "diverged", "pending", "unreadable")
    counts = {s: sum(r["status"] == s for r in rows) for s in states}
    print(f"{len(rows)} entries: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if ns.csv:
        print(f"csv: {ns.csv}")
    return EXIT_OK
