"""What the docs promise is enforced in the test run: shape annotations and docstring examples.

- jaxtyping shape annotations (``gapsim.core._types``) are checked at runtime by the jaxtyping
  import hook with beartype (``--jaxtyping-packages`` in pyproject's ``addopts``);
- every docstring example of the library runs (below), under the test process's settings.

Strict dtype promotion is on for the whole test run (conftest.py): gapsim casts explicitly where
it mixes dtypes, and the two optimiser updates whose mixing happens inside optax (Adam's
``decay ** count`` with an int32 count; L-BFGS's int32/int64 indices and its default-dtype
memory) are traced under ``jax.numpy_dtype_promotion("standard")`` in ``gapsim.core.solvers``.
``tests/test_precision.py`` checks that importing gapsim leaves the setting alone and that a
user's strict mode runs.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import io
import pkgutil
from pathlib import Path

import jax.numpy as jnp
import jaxtyping
import pytest

import gapsim


def _modules_with_examples() -> list[str]:
    found = pkgutil.walk_packages(gapsim.__path__, "gapsim.")
    names = ["gapsim"] + [m.name for m in found if not m.name.endswith("__main__")]
    out = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec and spec.origin and ">>>" in Path(spec.origin).read_text(encoding="utf-8"):
            out.append(name)
    return out


@pytest.mark.parametrize("name", _modules_with_examples())
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    out = io.StringIO()
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    assert tests, f"{name} has '>>>' but no doctest was found"
    for t in tests:
        runner.run(t, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, out.getvalue()[-4000:]


def test_shape_annotations_are_checked():
    # Points = Float[Array, "n d"] for both x and y: a y with another n violates the annotation
    with pytest.raises(jaxtyping.TypeCheckError):
        gapsim.infonce(jnp.ones((3, 3)), jnp.ones((4, 3)), 1.0)
