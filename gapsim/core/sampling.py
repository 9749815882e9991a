"""Random subsets of rows, drawn with an explicit key (the starts and the analysis share it)."""

from __future__ import annotations

import jax
import numpy as np

__all__ = ["subsample"]


def subsample(key: jax.Array, n: int, m: int | None) -> np.ndarray:
    """Sorted indices of ``min(m, n)`` distinct rows drawn with ``key`` (all if ``m`` is None).

    Example:
        >>> subsample(jax.random.key(0), 5, None).tolist()
        [0, 1, 2, 3, 4]
    """
    if m is None or m >= n:
        return np.arange(n)
    return np.sort(np.asarray(jax.random.permutation(key, n)[:m]))
