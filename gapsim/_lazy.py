"""Lazy public names of a package (PEP 562): a name's module is imported on first use.

A package lists ``_EXPORTS = {module: (name, ...)}`` and calls :func:`attach`; importing the
package then imports none of those modules, so importing one of its submodules from elsewhere
runs no more than that submodule (``tests/test_layout.py`` reads ``_EXPORTS`` as the package's
run-time imports).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["attach"]


def attach(
    namespace: dict[str, Any], exports: dict[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str], dict[str, str]]:
    """``(__getattr__, __dir__, __all__, where)`` for a package's ``exports``.

    ``where`` maps each public name to its module. The returned ``__getattr__`` imports the
    module on first use and reads the name from it on every use (not cached in ``namespace``: a
    name first read while its module's attribute was patched, e.g. by a test's monkeypatch,
    would otherwise keep the patch after it is undone).
    """
    where = {name: module for module, names in exports.items() for name in names}
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:  # noqa: N807
        if name in where:
            return getattr(importlib.import_module(where[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:  # noqa: N807
        return sorted({*namespace, *where})

    return __getattr__, __dir__, sorted(where), where
