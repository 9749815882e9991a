"""The ``gapsim`` command line: one module per command, conventions stated once (here).

Commands (one module each): ``gapsim run`` (:mod:`gapsim.cli.run`, one simulation),
``sweep`` (:mod:`gapsim.cli.sweep`, a grid of them, batched), ``check``
(:mod:`gapsim.cli.check`, the theorem checks of ``docs/theory.md``), ``figures``
(:mod:`gapsim.cli.figures`, the paper figures), ``demo`` (:mod:`gapsim.cli.demo`, animations
on S^2), ``report`` (:mod:`gapsim.cli.report`, a results folder as a table), ``analyze``
(:mod:`gapsim.cli.analyze`, your own paired embeddings) and ``embed``
(:mod:`gapsim.cli.embed`, open_clip embeddings, offline). Shared flags
and exit codes live in :mod:`gapsim.cli._common`; the Config flags of ``run`` and ``sweep`` in
:mod:`gapsim.cli._config`. Library modules never import from here.

Conventions (every command):

- Exit status 0: done. 2: bad input (a flag, a value, a file, a name that matches nothing);
  one line ``gapsim: error: ...`` on stderr, no traceback. 3: the run diverged, or a check
  failed (raised, or ``check --fail-on`` was met).
- ``--json`` prints one JSON document on stdout (an object for ``run``; a list for ``sweep``,
  ``check`` and ``report``); NaN and missing values are ``null``.
- In text output a missing value prints as ``-``.
- ``--list`` prints a registry's names and exits 0 (``check``, ``figures``, ``demo``).
- ``--quiet`` drops progress bars and progress lines (bars show only in a terminal anyway).
- ``--out`` is where the command writes its output: a folder for commands that write many files
  (``sweep``, ``figures``), a file path for one (``demo``: the GIF; ``run``: ``PATH.json`` +
  ``PATH.npz``).
- Every flag is validated and every output path checked before any work starts; no file is
  replaced without ``--overwrite`` (:mod:`gapsim.cli._paths`).
- Work and memory are estimated before a run, sweep, demo or analysis starts; beyond the
  limits of :mod:`gapsim.cli._budget` the command is refused with the estimate unless
  ``--allow-large``. A requested size is never changed silently.

Command modules import JAX only when they run, so ``gapsim --help`` does not import it. A
command runs in JAX's 64-bit mode (:func:`gapsim.core.precision.x64`): the checks and certificates
compute in float64; a float32 run stays float32 (explicit dtypes).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable, Sequence

from gapsim.cli._common import EXIT_BAD_INPUT, EXIT_FAILED, THEORY_DOC, Parser, error
from gapsim.core.precision import x64
from gapsim.errors import ConfigError, DivergenceError

__all__ = ["COMMANDS", "main", "build_parser"]

COMMANDS = ("run", "sweep", "check", "figures", "demo", "report", "analyze", "embed")
"""The subcommands, in help order; each is the module ``gapsim.cli.NAME``."""

EPILOG = f"""\
exit status: 0 done; 2 bad input (one line on stderr); 3 the run diverged or a check failed.
--json prints one JSON document; a missing value prints as '-' (null in JSON).
Nothing is replaced without --overwrite; work beyond the stated limits needs --allow-large.
The claims that 'gapsim check' tests: {THEORY_DOC}.
"""


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The ``gapsim`` argument parser.

    Args:
        commands: the subcommands that get their full flags (default: all). The others are
            registered by name and help line only, which is all ``gapsim --help`` needs, so
            building it imports no command's dependencies.
    """
    from gapsim._version import __version__

    full = set(COMMANDS if commands is None else commands)
    p = Parser(
        prog="gapsim",
        description="Simulate the modality gap of contrastive learning.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"gapsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")
    for name in COMMANDS:
        mod = importlib.import_module(f"gapsim.cli.{name}")
        if name in full:
            mod.add_parser(sub)
        else:
            sub.add_parser(name, help=mod.HELP)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gapsim`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    ns = build_parser([command] if command in COMMANDS else []).parse_args(argv)
    try:
        run = importlib.import_module(f"gapsim.cli.{ns.command}").run
        return x64(run)(ns)  # the command is the process: float64 checks and certificates
    except ConfigError as e:
        error(str(e))
        return EXIT_BAD_INPUT
    except DivergenceError as e:
        error(str(e))
        return EXIT_FAILED
