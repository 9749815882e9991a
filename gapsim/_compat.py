"""Old import paths of the modules that moved in wave 3 (issue 21), for a deprecation period.

``import gapsim.loss`` still works: it returns the module :mod:`gapsim.core.loss` itself (the
same object, so monkeypatching either name patches both) and warns with a
:class:`DeprecationWarning` naming the new path. The table :data:`MOVED` is the one list of
moves; ``CHANGELOG.md`` states them and ``tests/test_layout.py`` imports every old path.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

__all__ = ["MOVED", "install"]

MOVED = {
    "gapsim._types": "gapsim.core._types",
    "gapsim.blocks": "gapsim.core.blocks",
    "gapsim.loss": "gapsim.core.loss",
    "gapsim.measures": "gapsim.core.measures",
    "gapsim.groups": "gapsim.core.groups",
    "gapsim.subspaces": "gapsim.core.subspaces",
    "gapsim.geometry": "gapsim.core.sets",
    "gapsim.cone_sets": "gapsim.core.sets",
    "gapsim.temperature": "gapsim.core.temperature",
    "gapsim.objective": "gapsim.core.objective",
    "gapsim.solvers": "gapsim.core.solvers",
    "gapsim._kkt": "gapsim.core._kkt",
    "gapsim.certificate": "gapsim.core.certificate",
    "gapsim.precision": "gapsim.core.precision",
    "gapsim.progress": "gapsim.core.progress",
    "gapsim.config": "gapsim.app.config",
    "gapsim.config_rules": "gapsim.app.config_rules",
    "gapsim.parts": "gapsim.app.parts",
    "gapsim.init": "gapsim.app.init",
    "gapsim.simulate": "gapsim.app.simulate",
    "gapsim.batch": "gapsim.app.batch",
    "gapsim.sweep": "gapsim.app.sweep",
    "gapsim.result": "gapsim.app.result",
    "gapsim.posthoc": "gapsim.app.postrun",
    "gapsim.scenarios": "gapsim.app.scenarios",
    "gapsim.store": "gapsim.app.store",
    "gapsim.runs": "gapsim.app.runs",
    "gapsim.figures": "gapsim.app.figures",
    "gapsim.plotting": "gapsim.app.plotting",
    "gapsim.embed": "gapsim.app.embed",
    "gapsim.population": "gapsim.studies.population",
    "gapsim.theory": "gapsim.studies.theory",
}
"""Old module path -> new module path."""


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path and loads it as the module at its new path."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: D102
        if fullname in MOVED:
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec) -> ModuleType:  # noqa: D102
        new = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} moved to {new}; the old path will be removed (CHANGELOG.md)",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:  # noqa: D102
        pass  # the module at the new path is already executed


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` once (after the regular finders)."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())
