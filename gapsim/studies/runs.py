"""Runs memoised per process: what the studies and the checks measure, computed once.

A study row and the check that judges it read the same runs; memoising on the (frozen,
hashable) config keeps a report from solving a setting twice. Tests that plant a fault in the
engine call :func:`clear_caches` first.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from gapsim.app.batch import best_of_seeds
from gapsim.app.config import Config
from gapsim.app.result import Result
from gapsim.app.simulate import simulate

__all__ = ["run_cached", "best_cached", "clear_caches"]


@functools.lru_cache(maxsize=512)
def run_cached(cfg: Config) -> Result:
    """:func:`gapsim.simulate` memoised on the (frozen, hashable) config."""
    return simulate(cfg)


@functools.lru_cache(maxsize=128)
def _best(cfg: Config, seeds: tuple[int, ...]) -> tuple[Result, np.ndarray]:
    return best_of_seeds(cfg, seeds)


def best_cached(cfg: Config, seeds: Sequence[int]) -> tuple[Result, np.ndarray]:
    """:func:`gapsim.best_of_seeds` memoised on the config and the seeds."""
    return _best(cfg, tuple(int(s) for s in seeds))


def clear_caches() -> None:
    """Forget every memoised run (tests that plant a fault in the engine call this)."""
    run_cached.cache_clear()
    _best.cache_clear()
