"""``gapsim check``: run the theorem checks and print the verdicts.

The claims are stated in ``docs/theory.md``; the checks are registered in
:mod:`gapsim.checks`. A line per finished check on stderr and, in a terminal, a progress bar;
``--quiet`` drops both. ``--json`` prints the results as one JSON list, ``--report PATH`` writes
the markdown report (and its JSON); ``--merge`` keeps the report's other rows (a tier run one
group at a time).

Exit status: 0 when every selected check ran, whatever the verdicts (a disagreement is a
finding, not a failure of the command); 2 when ``--only`` matches no check; 3 when a check
raised (verdict ``error``) or, with ``--fail-on VERDICT``, when a verdict at least as bad as
VERDICT occurred: ``--fail-on disagrees`` fails on ``disagrees``; ``--fail-on inconclusive``
fails on ``disagrees`` or ``inconclusive`` (for CI).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from gapsim.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    THEORY_DOC,
    add_json_flag,
    add_list_flag,
    add_quiet_flag,
    error,
)
from gapsim.cli._paths import check_output_file, check_output_files
from gapsim.errors import ConfigError

__all__ = ["NAME", "HELP", "FAIL_ON", "add_parser", "failing", "report_paths", "figures_link"]
__all__ += ["run"]

NAME = "check"
HELP = "run the theorem checks and print the verdict table"

FAIL_ON = {"disagrees": ("disagrees",), "inconclusive": ("disagrees", "inconclusive")}
"""``--fail-on`` value -> the verdicts that make ``gapsim check`` exit 3."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``gapsim check`` on the ``gapsim`` subparsers."""
    p = sub.add_parser(
        NAME,
        help=HELP,
        description=(
            f"Run the named checks of the claims stated in {THEORY_DOC} and print the verdicts. "
            "Exit status 0 when every check ran (whatever the verdicts), 2 when --only matches "
            "nothing, 3 when a check raised or a --fail-on verdict occurred."
        ),
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="quick tier (about 2-3 min on 2 CPU cores; the full tier about 27 min)",
    )
    p.add_argument("--only", metavar="PATTERN", help="ids matching a glob or containing PATTERN")
    add_json_flag(p, "the results (a list with one object per check)")
    p.add_argument(
        "--report",
        metavar="PATH",
        help="write the markdown report to PATH and every number to PATH with .json (links "
        "to the figures and docs relative to PATH)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing report")
    p.add_argument(
        "--merge",
        action="store_true",
        help="with --report: keep the other checks' rows of the report's JSON and re-render "
        "the report from all rows (a tier run one group of checks at a time)",
    )
    p.add_argument(
        "--fail-on",
        choices=tuple(FAIL_ON),
        help="exit 3 if a check disagrees ('disagrees'), or disagrees or is inconclusive "
        "('inconclusive'); for CI [default: only an error exits 3]",
    )
    add_list_flag(p, "check ids")
    add_quiet_flag(p)


def failing(results: list, fail_on: str | None) -> list:
    """The results that make the command fail: verdict ``error``, or one ``fail_on`` names.

    Example:
        >>> from types import SimpleNamespace as R
        >>> rs = [R(id="a", verdict="agrees"), R(id="b", verdict="inconclusive")]
        >>> [r.id for r in failing(rs, None)], [r.id for r in failing(rs, "inconclusive")]
        ([], ['b'])
    """
    bad = {"error", *FAIL_ON.get(fail_on, ())}
    return [r for r in results if str(getattr(r.verdict, "value", r.verdict)) in bad]


def report_paths(report: str, overwrite: bool) -> tuple[Path, Path]:
    """The markdown report and its JSON (``PATH`` with ``.json``), checked before any work.

    Raises:
        ConfigError: a path is empty, a folder, in an unwritable place, or exists (and not
            ``overwrite``); or the report itself ends in ``.json`` (both would be one file).
    """
    md = check_output_file(report, "report", overwrite=overwrite)
    if md.suffix.lower() == ".json":
        raise ConfigError("report", report, "is the markdown report: give PATH.md (the JSON "
                          "goes beside it)")  # fmt: skip
    (js,) = check_output_files([md.with_suffix(".json")], "report", overwrite=overwrite)
    return md, js


def figures_link(report: str) -> str:
    """The project's ``figures/`` folder as a link relative to where the report is written.

    The project is the clone gapsim runs from (the folder holding the ``gapsim`` package) when
    it has ``figures/``, else the current folder; the report's ``docs/theory.md`` link sits
    beside it (:func:`gapsim.checks.report.markdown_report`), so both resolve wherever the
    report is written.
    """
    import gapsim

    clone = Path(gapsim.__file__).resolve().parents[1]
    root = clone if (clone / "figures").is_dir() else Path.cwd()
    target = root / "figures"
    return Path(os.path.relpath(target, Path(report).resolve().parent)).as_posix()


def run(ns: argparse.Namespace) -> int:
    """Run the selected checks; print table or JSON; write the report; the exit status."""
    from gapsim.checks.base import ERROR
    from gapsim.checks.runner import select

    checks = select(ns.only)
    if not checks:
        raise ConfigError("only", ns.only, "no check matches (see gapsim check --list)")
    if ns.merge and not ns.report:
        raise ConfigError("merge", True, "--merge needs --report PATH")
    if ns.report is not None and not ns.list:  # both files checked before any check runs
        report_paths(ns.report, ns.overwrite or ns.merge)  # --merge updates the report in place
    elif ns.overwrite:
        raise ConfigError("overwrite", True, "applies to --report only")
    if ns.list:
        width = max(len(c.id) for c in checks)
        print("\n".join(f"{c.id:<{width}}  {c.paper}" for c in checks))
        return EXIT_OK
    from gapsim.checks.report import (
        run_checks,
        to_json,
        verdict_table,
        write_report,
    )
    from gapsim.core.progress import bar, interactive, note

    t0 = time.perf_counter()
    with bar(len(checks), "checks", interactive(ns.quiet), unit="check") as pbar:

        def progress(r):
            if not ns.quiet:
                note(pbar, f"  {r.id:<36} {r.verdict:<12} {r.runtime_s:6.1f} s")
            pbar.update(1)

        results = run_checks(ns.only, quick=ns.quick, progress=progress)
    wall = time.perf_counter() - t0
    if ns.report:
        write_report(ns.report, results, ns.quick, wall, figures_link(ns.report), merge=ns.merge)
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
            error(f"in {r.id}: {r.details.get('error')}")
    bad = failing(results, ns.fail_on)
    if bad and ns.fail_on:
        error(f"--fail-on {ns.fail_on}: " + ", ".join(f"{r.id} {r.verdict}" for r in bad))
    return EXIT_FAILED if bad else EXIT_OK
