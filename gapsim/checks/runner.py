"""Find the checks: import every check module of this package by name, then select among them.

The check modules register themselves (:func:`gapsim.checks.base.register`) when imported; this
module imports them (the registry's plugin loading) and is the one place that does, so that the
check modules, which import :mod:`gapsim.checks.base`, make no import cycle with their loader
(``tests/test_layout.py``).
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import pkgutil

from gapsim.checks.base import REGISTRY, Check

__all__ = ["load_checks", "select", "INFRA"]

INFRA = frozenset({"base", "report", "cli", "runner", "docs", "docs_population"})
"""Modules of this package that are not check modules."""


def load_checks() -> list[str]:
    """Import every check module of this package by name (once); return their names."""
    here = os.path.dirname(os.path.abspath(__file__))  # this package's folder, not the package
    names = [
        m.name
        for m in pkgutil.iter_modules([here])
        if m.name not in INFRA and not m.name.startswith("_")
    ]
    for name in names:
        importlib.import_module(f"gapsim.checks.{name}")
    return names


def select(pattern: str | None = None) -> list[Check]:
    """Registered checks whose id matches ``pattern`` (a glob, or a substring), in order.

    The order is the paper's section of docs/theory.md, then the order of registration.
    """
    load_checks()
    checks = sorted(REGISTRY.values(), key=lambda c: c.section)
    if not pattern:
        return checks
    glob = any(c in pattern for c in "*?[")
    return [c for c in checks if (fnmatch.fnmatch(c.id, pattern) if glob else pattern in c.id)]
