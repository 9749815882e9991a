"""The paper figures: a registry of the modules ``experiments/NAME.py`` and :func:`build`.

Each figure has one home, ``experiments/NAME.py`` (installed with gapsim as the package
``experiments``), which defines ``run(size) -> data`` (a JSON-ready dict; ``size`` is ``"tiny"``
for the smoke tests, ``"quick"`` or ``"full"``) and ``plot(data, path)``, and ends with
``if __name__ == "__main__": main("NAME")``. :func:`build_one` runs, saves ``NAME.json`` beside
``NAME.png`` in the output folder, and plots; ``gapsim figures`` calls :func:`build`.

The registry does not import its users: :func:`figure_names` finds the figure modules by name in
the ``experiments`` package (those whose source defines ``run`` and ``plot``) and a figure module
is imported only when it is built or listed; the display order is ``experiments.ORDER`` (by
paper, as in docs/theory.md).
A module that needs an optional extra says so with ``EXTRA = "name"`` and ``available() -> str``
(empty when usable, else the reason): it is built only when named (not in :func:`default_names`),
and skipped with that reason, instead of failing, when the extra is missing.
matplotlib is imported only when plotting (:mod:`gapsim.app.plotting`).
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from gapsim.app.figure_io import SIZES, build_figure, load_data, missing, save_data
from gapsim.app.figure_io import main as figure_main
from gapsim.errors import ConfigError

__all__ = [
    "SIZES",
    "figure_names",
    "default_names",
    "module",
    "missing_extra",
    "build",
    "build_one",
    "save_data",
    "load_data",
    "main",
]

PACKAGE = "experiments"
"""The package that holds one module per figure."""


def _defines_figure(path: str) -> bool:
    """Whether the source at ``path`` defines top-level functions ``run`` and ``plot``."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    defs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    return {"run", "plot"} <= defs


@functools.cache
def figure_names() -> tuple[str, ...]:
    """The figure names: the modules of ``experiments`` that define ``run`` and ``plot``.

    Found by name (:func:`pkgutil.iter_modules`) and read, not imported (:mod:`ast`), so that
    listing imports no figure; ordered by ``experiments.ORDER``, the rest sorted after it.
    """
    pkg = importlib.import_module(PACKAGE)
    found = {
        m.name
        for m in pkgutil.iter_modules(pkg.__path__)
        if not m.name.startswith("_")
        and _defines_figure(importlib.util.find_spec(f"{PACKAGE}.{m.name}").origin)
    }
    order = [n for n in getattr(pkg, "ORDER", ()) if n in found]
    return tuple(order + sorted(found - set(order)))


def __getattr__(attr: str) -> Any:
    """``FIGURES``: the registry, :func:`figure_names` (computed on first use, not at import)."""
    if attr == "FIGURES":
        return figure_names()
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def default_names() -> tuple[str, ...]:
    """The figures built when none is named: every figure without an optional ``EXTRA``.

    ``clip_init_free_points`` (extra ``clip``) is left out: its quick size embeds with three
    random-init ViT-B/32 models and took over 400 s on 2 shared cores, alone near the whole
    budget of ``gapsim figures --quick``.
    """
    return tuple(n for n in figure_names() if not hasattr(module(n), "EXTRA"))


def module(name: str) -> ModuleType:
    """The figure module ``experiments.NAME``; ConfigError (field ``only``) for an unknown name."""
    if name not in figure_names():
        raise ConfigError("only", name, f"must be one of {', '.join(figure_names())}")
    return importlib.import_module(f"{PACKAGE}.{name}")


def missing_extra(name: str) -> str:
    """Why figure ``name`` cannot be built here ('' when it can): its ``EXTRA`` is not usable."""
    return missing(module(name))


def build_one(name: str, size: str = "quick", outdir: str | Path = "figures") -> dict[str, Any]:
    """Run figure ``name`` at ``size``, save ``outdir/name.json`` and ``outdir/name.png``."""
    return build_figure(module(name), name, size, outdir)


def build(
    names: Sequence[str] | None = None,
    quick: bool = True,
    outdir: str | Path = "figures",
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Rebuild figures (:func:`default_names` when ``names`` is None); one line per figure.

    A figure whose extra is missing (:func:`missing_extra`) is skipped with a line saying why.
    ``progress`` draws a bar over the figures on stderr (:mod:`gapsim.core.progress`).
    """
    from gapsim.core.progress import bar, note

    todo = list(names or default_names())
    for n in todo:
        module(n)
    done = []
    with bar(len(todo), "figures", progress, unit="figure") as pbar:
        for n in todo:
            pbar.set_postfix_str(n)
            why = missing_extra(n)
            if why:
                note(pbar, f"{n:<20} skipped: {why}", sys.stdout)
            else:
                r = build_one(n, "quick" if quick else "full", outdir)
                note(pbar, f"{n:<20} {r['seconds']:7.1f} s  {r['png']}", sys.stdout)
                done.append(r)
            pbar.update(1)
    return done


def main(name: str, argv: Sequence[str] | None = None) -> int:
    """:func:`gapsim.app.figure_io.main` for figure ``name`` (the registry's module)."""
    return figure_main(module(name), name, argv)
