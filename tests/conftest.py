"""Strict test settings: rank promotion raises, dtype promotion is strict (mixed dtypes must be
cast explicitly), warnings are errors (pyproject), Agg backend; jaxtyping checks the shape
annotations at runtime (pyproject's addopts). gapsim itself never sets the promotion mode.

The tests compare against float64 NumPy references, so this test process switches on JAX's
64-bit mode itself, as a user's float64 code would (importing gapsim no longer does;
``tests/test_precision.py`` checks, in fresh processes with the mode off, that gapsim asks
for float64 where it needs it and leaves the setting as it was).

Hypothesis profiles: ``fast`` (default, CI) and ``slow`` (more examples, select with
``HYPOTHESIS_PROFILE=slow``). Slow tests are marked ``@pytest.mark.slow`` and run with ``-m slow``.
"""

import os
import sys

import matplotlib

matplotlib.use("Agg")

# Compile time, not run time, is most of this tier: jax.monitoring counted 735 s of XLA
# compilation in 1031 s of test time on 2 cores. So the tier compiles unoptimised XLA builds
# (LLVM -O0; the same HLO), ~25% faster; set through the environment, so the subprocesses of
# the CLI and store tests inherit it. Rounding can differ from the optimised build in the last
# bits (tests/test_precision.py bounds the difference). The main job (checks, figures) runs
# the optimised build; ``JAX_DISABLE_MOST_OPTIMIZATIONS=0 pytest`` runs this tier on it.
# (A session-wide persistent compilation cache shared by the workers saved 15 s of 391: noise.)
# Set before jax is imported, so that jax parses the value itself, here and in the children.
_JAX_READ_ITS_FLAGS = "jax" in sys.modules  # a plugin imported jax before this file
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

import jax  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

jax.config.update("jax_enable_x64", True)  # before any test builds arrays
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")  # mixed dtypes must be explicit
if _JAX_READ_ITS_FLAGS:  # too late for the environment: set it as jax would have parsed it
    _TRUE = {"y", "yes", "t", "true", "on", "1"}
    _on = os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"].lower() in _TRUE
    jax.config.update("jax_disable_most_optimizations", _on)


def pytest_report_header(config):
    """State the XLA build the tier compiles (see the comment above)."""
    state = "off" if jax.config.read("jax_disable_most_optimizations") else "on"
    return f"gapsim: XLA backend optimisations {state} (JAX_DISABLE_MOST_OPTIMIZATIONS)"


settings.register_profile(
    "fast",
    max_examples=25,
    deadline=None,
    derandomize=True,  # CI runs are reproducible; the slow profile explores
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "slow", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


def _in_fast_tier(item, only) -> bool:
    """Whether a grid point of a ``fast``-marked test is the one the default tier runs."""
    indices = item.callspec.indices  # {argname: index in its parametrize list}
    if isinstance(only, dict):
        return all(indices.get(k) == v for k, v in only.items())
    return all(i == only for i in indices.values())


@pytest.hookimpl(tryfirst=True)  # before ``-m 'not slow'`` deselects
def pytest_collection_modifyitems(config, items):
    """Grids marked ``@pytest.mark.fast(only=...)`` run one point in the default tier.

    As ott-jax's ``fast`` marker (``only_fast``): the default tier runs the grid point(s) whose
    parametrize indices equal ``only`` (an int for every argument, or ``{argname: index}``); the
    others are marked ``slow`` and run in the slow tier (``-m slow``), which CI also runs.
    """
    for item in items:
        mark = item.get_closest_marker("fast")
        if mark is None or not hasattr(item, "callspec"):
            continue
        if not _in_fast_tier(item, mark.kwargs.get("only", 0)):
            item.add_marker(pytest.mark.slow)
