"""What every ``gapsim`` command shares: the parser class, the shared flags, exit codes, output.

The conventions themselves are stated once, in :mod:`gapsim.cli`'s docstring; this module
implements them. It imports nothing heavy (no JAX), so ``gapsim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import typing
from typing import Any

__all__ = [
    "EXIT_OK",
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "THEORY_DOC",
    "Parser",
    "add_quiet_flag",
    "add_json_flag",
    "add_list_flag",
    "print_json",
    "positive_int",
    "number",
    "error",
]

EXIT_OK = 0
"""Exit status: the command did what was asked."""
EXIT_BAD_INPUT = 2
"""Exit status: bad input (a flag, a value, a file, a name that matches nothing); nothing ran."""
EXIT_FAILED = 3
"""Exit status: the run diverged, or a check failed (raised, or ``--fail-on`` was met)."""

THEORY_DOC = "docs/theory.md"
"""Where the claims that ``gapsim check`` tests are stated (formula, paper, regime)."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, without the usage block (exit status 2)."""

    def error(self, message: str) -> typing.NoReturn:  # noqa: D102
        self.exit(EXIT_BAD_INPUT, f"gapsim: error: {message}\n")


def add_quiet_flag(p: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bar or progress lines (bars show only in a terminal anyway)."""
    p.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")


def add_json_flag(p: argparse.ArgumentParser, what: str) -> None:
    """``--json``: print ``what`` as one JSON document on stdout (and nothing else there)."""
    p.add_argument("--json", action="store_true", help=f"print {what} as one JSON document")


def add_list_flag(p: argparse.ArgumentParser, what: str) -> None:
    """``--list``: print the registry's names (one per line, with a summary) and exit 0."""
    p.add_argument("--list", action="store_true", help=f"list the {what} and exit")


def print_json(doc: Any) -> None:
    """Print ``doc`` as one JSON document (NaN/inf as ``null``, as in ``jsonable``)."""
    from gapsim.app.result import jsonable

    print(json.dumps(jsonable(doc)))


def positive_int(text: str) -> int:
    """An argparse ``type=`` for integers >= 1 (``--chunk 0`` no longer means the default)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


positive_int.__name__ = "integer >= 1"


def number(kind: type, low: float, name: str, strict: bool = False, high: float = math.inf):
    """An argparse ``type=``: a finite ``kind`` in [``low``, ``high``], ``low`` excluded if strict.

    Anything else (``nan``, ``inf``, ``-1`` for a count, ``abc``) is refused in one line.

    Example:
        >>> number(float, 0.0, "number", strict=True)("0.07")
        0.07
    """

    def conv(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a {name}, got {text!r}") from None
        if not math.isfinite(v) or v < low or (strict and v == low) or v > high:
            top = "" if high == math.inf else f" and <= {high:g}"
            op = ">" if strict else ">="
            raise argparse.ArgumentTypeError(f"must be a finite {name} {op} {low:g}{top}: {text}")
        return v

    conv.__name__ = name
    return conv


def error(message: str) -> None:
    """Print the one-line error ``gapsim: error: message`` on stderr."""
    print(f"gapsim: error: {message}", file=sys.stderr)
