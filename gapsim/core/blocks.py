r"""Row blocks: evaluate :math:`N\times N` quantities in :math:`O(N\cdot\mathrm{block})` memory.

Every pairwise quantity of gapsim (the InfoNCE logits :math:`\beta XY^\top`, the Gram matrices
of the uniformity, the retrieval ranks and margins) is a reduction over an :math:`N\times N`
matrix. Up to :data:`DENSE_MAX_N` points the matrix is built whole (fastest); above it,
:func:`scan_rows` walks over blocks of ``block`` rows of the first operand with ``lax.scan``:
row reductions finish inside their block, column reductions are accumulated in the carry, and
only a ``(block, N)`` slab is alive at a time. ``N = 65,536`` points in ``d = 64`` then need
a few slabs of 64 MiB instead of 16 GiB matrices.

The block size is an explicit argument, never hidden state: :func:`block_rows` turns the
setting ``block_size`` into rows per block (``0``, the default, means automatic; a positive
number forces that many rows per block; a number ``>= N`` means dense). Every function that
evaluates an :math:`N\times N` quantity (:func:`gapsim.core.loss.infonce`,
:func:`gapsim.core.measures.measures`, :func:`gapsim.core.objective.objective`, ...) takes it as a
``block_size`` keyword. :class:`gapsim.app.config.Config` carries it as ``block_size`` and the
solvers pass ``Static.block_size`` down; being part of the compile-time ``Static``, a changed
setting compiles a new program rather than reusing a stale one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["DENSE_MAX_N", "SLAB_BYTES", "block_rows", "slab_rows", "scan_rows"]

DENSE_MAX_N = 4096
"""Largest N evaluated densely by default (an N x N float32 matrix of 64 MiB)."""
SLAB_BYTES = 64 * 2**20
"""Automatic block size: rows such that one ``(block, N)`` slab takes at most this many bytes."""


def block_rows(n: int, dtype: Any, block_size: int = 0) -> int | None:
    """Rows per block for ``n`` points of ``dtype``, or ``None`` for the dense evaluation.

    Args:
        n: number of rows (points).
        dtype: their dtype (sets the bytes per slab).
        block_size: the setting: ``0`` automatic, ``k > 0`` blocks of ``k`` rows (dense when
            ``k >= n``).

    Automatic (block size 0): dense up to :data:`DENSE_MAX_N`, else the largest multiple of 8
    rows whose ``(block, n)`` slab fits in :data:`SLAB_BYTES`.

    Example:
        >>> block_rows(1000, jnp.float32, 64), block_rows(50, jnp.float32, 64)
        (64, None)
        >>> block_rows(1000, jnp.float32) is None  # automatic: dense up to DENSE_MAX_N
        True
    """
    size = int(block_size)
    if size <= 0:
        if n <= DENSE_MAX_N:
            return None
        size = slab_rows(n, dtype)
    return None if size >= n else size


def slab_rows(n: int, dtype: Any) -> int:
    """Rows per block: the largest multiple of 8 (at least 8) with a slab within SLAB_BYTES.

    A ``(rows, n)`` slab of ``dtype`` fits in :data:`SLAB_BYTES`: the one block-size rule of the
    blocked passes (the loss and measures here, :mod:`gapsim.analysis.pairs` on the host).

    Example:
        >>> slab_rows(100_000, np.float32), slab_rows(100_000, np.float64)
        (160, 80)
    """
    return max(8, SLAB_BYTES // (n * np.dtype(dtype).itemsize) // 8 * 8)


def scan_rows(
    body: Callable[..., tuple[Any, Any]],
    carry: Any,
    rows: tuple[jax.Array, ...],
    block: int,
) -> tuple[Any, Any]:
    """``lax.scan`` of ``body`` over blocks of ``block`` rows of the arrays in ``rows``.

    The arrays (leading dimension ``n``) are zero-padded to a multiple of ``block``.

    Args:
        body: ``body(carry, idx, valid, *blocks) -> (carry, out)``; ``idx`` are the
            ``(block,)`` global row indices, ``valid`` marks the rows that are not padding
            (their entries must be masked out of every column reduction), ``blocks`` the
            ``(block, ...)`` slices of ``rows``.
        carry: initial carry (column accumulators).
        rows: arrays of shape ``(n, ...)``.
        block: rows per block.

    Returns:
        ``(carry, out)`` with every leaf of ``out`` of shape ``(n, ...)`` (padding dropped).
    """
    n = rows[0].shape[0]
    nb = -(-n // block)
    pad = nb * block - n

    def split(a: jax.Array) -> jax.Array:
        a = jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1))
        return a.reshape(nb, block, *a.shape[1:])

    idx = jnp.arange(nb * block).reshape(nb, block)
    carry, out = jax.lax.scan(
        lambda c, xs: body(c, xs[0], xs[0] < n, *xs[1:]), carry, (idx, *map(split, rows))
    )
    return carry, jax.tree.map(lambda a: a.reshape(nb * block, *a.shape[2:])[:n], out)
