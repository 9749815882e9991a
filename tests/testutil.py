"""Shared test helpers: reproducible Gaussian arrays from one compiled pool, tolerance checks."""

import jax
import jax.numpy as jnp
import numpy as np

POOL = (512, 6)  # rows x columns of the Gaussian pool; every random array is a slice of one


@jax.jit
def _pool(key: jax.Array) -> jax.Array:
    return jax.random.normal(key, POOL, dtype=jnp.float64)


def gauss(seed: int, stream: int, rows: int, cols: int) -> np.ndarray:
    """An iid standard normal ``(rows, cols)`` float64 array from ``key(seed)`` and a stream id."""
    assert rows <= POOL[0]
    assert cols <= POOL[1]
    # streams start at 1000: fold_in(key, i) equals split(key)[i] for small i, and the library
    # splits the same key(seed) when a test hands it one
    key = jax.random.fold_in(jax.random.key(seed), 1000 + stream)
    return np.asarray(_pool(key))[:rows, :cols]


def assert_close(actual, desired, atol, rtol=0.0):
    """``np.testing.assert_allclose`` on float64 copies, with an explicit absolute tolerance."""
    np.testing.assert_allclose(
        np.asarray(actual, np.float64), np.asarray(desired, np.float64), rtol=rtol, atol=atol
    )
