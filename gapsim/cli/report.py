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
from gapsim.errors import ConfigError

__all__ = ["NAME", "HELP", "DESCRIPTION", "add_parser", "add_plot_flags", "plot_request", "run"]

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
    "(exit status 2). --plot FIELD draws a measure against a config field (the picture after "
    "a sweep); nothing is replaced without --overwrite."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``gapsim report`` on the ``gapsim`` subparsers."""
    p = sub.add_parser(NAME, help=HELP, description=DESCRIPTION)
    p.add_argument("dir", metavar="DIR", help="a run folder, a sweep folder, or a root of them")
    add_json_flag(p, "the rows (a list with one object per entry)")
    p.add_argument("--csv", metavar="PATH", help="also write the rows, every metric, as CSV")
    p.add_argument("--sort", metavar="FIELD", help="order by any metric (missing values last)")
    add_plot_flags(p, "plot-FIELD.png")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --csv/plot file")


def add_plot_flags(p: argparse.ArgumentParser, default_out: str) -> None:
    """``--plot FIELD``, ``--plot-y MEASURE`` (repeatable), ``--plot-out PNG`` (report, sweep)."""
    from gapsim.app.plot_runs import DEFAULT_MEASURES

    p.add_argument(
        "--plot",
        metavar="FIELD",
        help="draw a measure against this config field (one line per value of the other "
        "fields that differ) to --plot-out",
    )
    p.add_argument(
        "--plot-y",
        action="append",
        metavar="MEASURE",
        help=f"the measure drawn, repeatable [{', '.join(DEFAULT_MEASURES)}]",
    )
    p.add_argument("--plot-out", metavar="PNG", help=f"where the plot goes [{default_out}]")


def plot_request(ns: argparse.Namespace, default_out: str) -> tuple[str, list[str]] | None:
    """``(png, measures)`` of the plot flags (None without ``--plot``), its path checked.

    Raises:
        ConfigError: ``--plot-y``/``--plot-out`` without ``--plot``, or a bad output path.
    """
    from gapsim.app.plot_runs import DEFAULT_MEASURES

    if ns.plot is None:
        for flag in ("plot_y", "plot_out"):
            if getattr(ns, flag) is not None:
                raise ConfigError(flag, getattr(ns, flag), "needs --plot FIELD")
        return None
    out = ns.plot_out if ns.plot_out is not None else default_out
    check_output_file(out, "plot_out", overwrite=ns.overwrite, suffixes=(".png",))
    return out, list(ns.plot_y or DEFAULT_MEASURES)


def run(ns: argparse.Namespace) -> int:
    """Collect, tabulate and print (or write) the rows; every output checked first."""
    from gapsim.app.plot_runs import check_plot_request, plot_field
    from gapsim.app.result import _atomic_write_text
    from gapsim.app.runs import collect, format_table, tabulate
    from gapsim.app.sweep import csv_text

    if ns.csv is not None:
        check_output_file(ns.csv, "csv", overwrite=ns.overwrite)
    plot = plot_request(ns, f"plot-{ns.plot}.png")
    entries = collect(ns.dir)
    rows = tabulate(entries, ns.sort)
    if plot:
        check_plot_request(entries, ns.plot, plot[1])
    if ns.csv is not None:  # every metric, not only the displayed columns
        _atomic_write_text(Path(ns.csv), csv_text(tabulate(entries, ns.sort, full=True)))
    if plot:
        plot_field(entries, ns.plot, plot[0], plot[1])
    if ns.json:
        print_json(rows)
        return EXIT_OK
    print(format_table(rows))
    states = ("done", "diverged", "pending", "unreadable")
    counts = {s: sum(r["status"] == s for r in rows) for s in states}
    print(f"{len(rows)} entries: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if ns.csv is not None:
        print(f"csv: {ns.csv}")
    if plot:
        print(f"plot: {plot[0]}")
    return EXIT_OK
