"""Strict test settings: rank promotion raises, warnings are errors (pyproject), Agg backend.

Hypothesis profiles: ``fast`` (default, CI) and ``slow`` (more examples, select with
``HYPOTHESIS_PROFILE=slow``). Slow tests are marked ``@pytest.mark.slow`` and run with ``-m slow``.
"""

import os

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

import gapsim  # noqa: E402, F401  (switches on x64 before any test builds arrays)

jax.config.update("jax_numpy_rank_promotion", "raise")

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
