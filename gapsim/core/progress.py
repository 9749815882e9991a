"""Progress bars (tqdm) for long runs, sweeps, checks and figure builds; silent by default.

The command line shows a bar only in an interactive session: :func:`interactive` is true unless
``--quiet`` was given or standard output or standard error is not a terminal (piped JSON, a log
file, a test). The bar is drawn on standard error, so it never mixes with results on standard
output. API functions take ``progress: bool = False`` and draw a bar when it is true.

The steps of one compiled run are reported from inside the jitted loop: with ``progress=True``
the solvers are traced with a ``jax.debug.callback`` at every record (every ``stride`` steps)
that calls :func:`report_step`, which advances the innermost bar opened by :func:`steps_bar`.
The default program (``progress=False``) has no callback, so results do not depend on it.

Example:
    >>> with bar(total=3, enabled=False) as b:  # a no-op bar
    ...     for _ in range(3):
    ...         b.update(1)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

__all__ = ["interactive", "bar", "note", "steps_bar", "report_step"]

_OPEN_STEP_BARS: list[tqdm] = []
"""Bars opened by :func:`steps_bar`, innermost last (the callback advances the last)."""


def interactive(quiet: bool = False) -> bool:
    """Whether the command line should draw bars: not ``quiet`` and stdout, stderr are terminals."""
    return not quiet and sys.stdout.isatty() and sys.stderr.isatty()


def bar(total: int, desc: str = "", enabled: bool = True, file: Any = None, **kw: Any) -> tqdm:
    """A tqdm bar over ``total`` items on ``file`` (default: stderr); a no-op when not ``enabled``.

    Args:
        total: the count the bar reaches when done.
        desc: a short label.
        enabled: draw it; when false the bar is tqdm's disabled bar (updates cost nothing).
        file: the stream (default: ``sys.stderr`` as it is at call time).
        **kw: passed to :class:`tqdm.tqdm` (e.g. ``unit``).
    """
    stream = sys.stderr if file is None else file
    return tqdm(total=total, desc=desc, disable=not enabled, file=stream, dynamic_ncols=True, **kw)


def note(b: tqdm, text: str, file: Any = None) -> None:  # a text stream
    """Print a line above bar ``b`` (without breaking it) and flush; ``file`` defaults to stderr."""
    stream = sys.stderr if file is None else file
    b.write(text, file=stream)
    stream.flush()


@contextmanager
def steps_bar(total: int, enabled: bool, desc: str = "run") -> Iterator[tqdm]:
    """A bar over the steps of one compiled run, advanced by :func:`report_step`.

    A run that stops early (converged) ends its bar at the step it stopped: full, not stuck.
    """
    b = bar(total, desc, enabled, unit="step")
    _OPEN_STEP_BARS.append(b)
    try:
        yield b
        if 0 < b.n < total:
            b.total = b.n
            b.refresh()
    finally:
        _OPEN_STEP_BARS.remove(b)
        b.close()


def report_step(step: Any) -> None:
    """Host callback of the jitted loop: move the innermost :func:`steps_bar` to ``step``."""
    if _OPEN_STEP_BARS:
        b = _OPEN_STEP_BARS[-1]
        b.update(max(int(step) - b.n, 0))  # never backwards, whatever the callback order
