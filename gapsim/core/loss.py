r"""Symmetric InfoNCE (the CLIP loss) over paired points, with a fused closed-form gradient.

With similarities :math:`S = XY^\top`, inverse temperature :math:`\beta = 1/\tau` and logits
:math:`M = \beta S`,

.. math::
    L = \frac{1}{2N}\sum_i \Big[\big(\mathrm{lse}_j M_{ij} - M_{ii}\big)
        + \big(\mathrm{lse}_j M_{ji} - M_{ii}\big)\Big],

the *average* of the image-to-text and text-to-image cross-entropies (some papers sum the two
directions, which doubles :math:`L`). The positive is in the denominator. Its gradient with
respect to the logits is :math:`G = \frac{1}{2N}[\mathrm{rowsoftmax}(M) + \mathrm{colsoftmax}(M)]
- I/N`, hence :math:`\partial L/\partial X = \beta G Y`,
:math:`\partial L/\partial Y = \beta G^\top X` and
:math:`\partial L/\partial\beta = \langle G, S\rangle = \sum_i x_i\cdot(GY)_i`.

**Fused kernel.** :func:`infonce` is a ``jax.custom_jvp`` whose rule evaluates the value and
all three gradients in one pass: one matrix of exponentials serves both softmax directions,
and a step costs three :math:`N\times N\times d` matrix products (:math:`XY^\top`,
:math:`G'Y`, :math:`X^\top G'`). One matrix suffices because the logits are bounded: with
:math:`K = \max_i\|x_i\|\max_j\|y_j\|` (1 on the sphere), :math:`|M_{ij}| \le \beta K`, so
:math:`E = \exp(M - \beta K)` has entries in :math:`[e^{-2\beta K}, 1]` and
:math:`\mathrm{lse}_j M_{ij} = \beta K + \log\sum_j E_{ij}` (likewise over columns) with no
overflow. Where a row or column sum of :math:`E` could have lost terms to underflow (below
:math:`N\cdot\mathrm{tiny}/\epsilon`; always safe when :math:`e^{-2\beta K}` is above that, e.g.
float32 with :math:`\beta \lesssim 32`, and in practice far beyond: a row whose positive is
aligned has a sum near 1 at any temperature) the kernel falls back to the textbook shifts, the
row and column maxima, with two exponential matrices (a ``lax.cond``). All shifts are constants
for differentiation (``stop_gradient``).

The diagonal is kept out of the sums: with :math:`o_i = \sum_{j\ne i}E_{ij}` and
:math:`e_i = E_{ii}`, each cross-entropy is :math:`\log(1 + o_i/e_i)` (``log1p``; relative
precision even when the loss is :math:`10^{-30}`) and :math:`G_{ii} = -\frac{1}{2N}
(o_i/r_i + o'_i/c_i)` with :math:`r_i = o_i + e_i` (no cancellation in :math:`p_{ii} - 1`).

Above :data:`gapsim.core.blocks.DENSE_MAX_N` points (or with a ``block_size`` argument, see
:func:`gapsim.core.blocks.block_rows`) the same kernel runs over row blocks in
:math:`O(N\cdot\mathrm{block})` memory: one pass for the row and column sums, one to form
:math:`G'` block by block (four matrix products per step instead of three).

Being a ``custom_jvp`` (not a ``custom_vjp``), the loss still supports forward mode and higher
derivatives (``jax.hessian``), with the same cost for ``jax.grad``.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.custom_batching import custom_vmap
from jax.custom_derivatives import SymbolicZero

from gapsim.core._types import Points, Scalar
from gapsim.core.blocks import block_rows, scan_rows

__all__ = ["infonce", "infonce_value_and_grad", "InfoNCEGrad"]

_Need = tuple[bool, bool, bool]  # which of d/dx, d/dy, d/dbeta to compute


class InfoNCEGrad(NamedTuple):
    """Gradient of :func:`infonce` with respect to ``x``, ``y`` and ``beta``."""

    x: Points
    y: Points
    beta: Scalar


class _Sums(NamedTuple):
    """Shifted softmax denominators of the rows (shifts ``a``) and the columns (shifts ``b``).

    Row i sums :math:`e^{M_{ij}-a_i}`, column j sums :math:`e^{M_{ij}-b_j}`: ``ro``/``co`` off
    the diagonal, ``er``/``ec`` the diagonal term. The shifts are scalars or ``(n,)`` vectors.
    """

    ro: jax.Array
    co: jax.Array
    er: jax.Array
    ec: jax.Array
    a: jax.Array
    b: jax.Array


def _floor(n: int, dtype) -> float:
    """Smallest shifted row/column sum trusted: terms under ``tiny`` cost < ``eps`` relative."""
    fi = jnp.finfo(dtype)
    return n * float(fi.tiny) / float(fi.eps)


def _shift(x: Points, y: Points, beta: Scalar) -> Scalar:
    r""":math:`|\beta|\max_i\|x_i\|\max_j\|y_j\|`, a bound on every :math:`|M_{ij}|`."""
    kx = jnp.sqrt(jnp.max(jnp.sum(x * x, axis=1)))
    ky = jnp.sqrt(jnp.max(jnp.sum(y * y, axis=1)))
    return jax.lax.stop_gradient(jnp.abs(beta) * kx * ky)


def _ce(o: jax.Array, e: jax.Array, shift: jax.Array, md: jax.Array) -> jax.Array:
    r"""Cross-entropies :math:`\log(o + e) + \mathrm{shift} - M_{ii}`.

    Computed as ``log1p(o/e)`` where :math:`o < e`: there the loss is small, and this form keeps
    its relative precision.
    """
    small = o < e
    return jnp.where(small, jnp.log1p(o / jnp.where(small, e, 1)), jnp.log(o + e) + shift - md)


def _value(s: _Sums, md: jax.Array) -> Scalar:
    return 0.5 * (jnp.mean(_ce(s.ro, s.er, s.a, md)) + jnp.mean(_ce(s.co, s.ec, s.b, md)))


def _weights(s: _Sums) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Weights ``(wr, wc, dg)`` of :math:`G` (``E^r``, ``E^c``: row/column exponentials).

    :math:`2N G_{ij} = E^r_{ij}w^r_i + E^c_{ij}w^c_j` off the diagonal and
    :math:`2N G_{ii} = dg_i = -(o_i w^r_i + o'_i w^c_i)`.
    """
    wr, wc = 1 / (s.ro + s.er), 1 / (s.co + s.ec)
    return wr, wc, -(s.ro * wr + s.co * wc)


@custom_vmap
def _all_over_batch(ok: jax.Array) -> jax.Array:
    """``ok`` itself; under ``vmap``, whether ``ok`` holds for the whole batch (unbatched).

    The kernel branches on ``ok`` with ``lax.cond``. Batched, a cond on a batched predicate
    becomes a ``select`` that runs both branches for every member, which would make the
    shared-exponential path pay for the fallback in every sweep. With an unbatched predicate the
    batch takes the fast path when all its members can, and the (always valid) fallback
    otherwise.
    """
    return ok


@_all_over_batch.def_vmap
def _all_over_batch_vmap(axis_size: int, in_batched: list[bool], ok: jax.Array):
    del axis_size, in_batched
    return jnp.all(ok), False


def _ok(s: _Sums, n: int) -> jax.Array:
    """Whether the shared-shift sums are trustworthy (False on NaN), batch-uniform."""
    ok = jnp.minimum(jnp.min(s.ro + s.er), jnp.min(s.co + s.ec)) >= _floor(n, s.ro.dtype)
    return _all_over_batch(ok)


def _xt_dot(x: Points, gp: jax.Array) -> jax.Array:
    r""":math:`X^\top G'` as a plain ``(d, n) @ (n, m)`` product.

    The barriers keep XLA from folding the transposes (of ``x``, or of the result by swapping
    the operands) into the product: XLA:CPU runs a product whose left operand contracts its
    first axis 3-4x slower than a plain one.
    """
    barrier = jax.lax.optimization_barrier
    return barrier(barrier(x.T) @ gp)


def _finish(x, y, beta, value, gy_, gtx_t, dg, need: _Need):
    r"""Gradients from :math:`G'Y` (``gy_``), :math:`X^\top G'` (``gtx_t``) and ``dg``."""
    n = x.shape[0]
    c = 1 / (2 * n)
    gy_full = c * (gy_ + dg[:, None] * y)  # G Y
    gx = beta * gy_full if need[0] else None
    gy = beta * c * (gtx_t.T + dg[:, None] * x) if need[1] else None
    gb = jnp.sum(x * gy_full) if need[2] else None
    return value, gx, gy, gb


# ------------------------------------------------------------------------------------------
# dense: the whole N x N matrix at once
# ------------------------------------------------------------------------------------------


def _dense(x: Points, y: Points, beta: Scalar, need: _Need):
    n = x.shape[0]
    m = beta * (x @ y.T)
    md = beta * jnp.sum(x * y, axis=1)
    sh = _shift(x, y, beta)
    off = ~jnp.eye(n, dtype=bool)
    e = jnp.where(off, jnp.exp(m - sh), 0)
    ed = jnp.exp(md - sh)
    fast = _Sums(jnp.sum(e, axis=1), jnp.sum(e, axis=0), ed, ed, sh, sh)

    def slow_parts():
        mo = jnp.where(off, m, -jnp.inf)
        a = jax.lax.stop_gradient(jnp.maximum(jnp.max(mo, axis=1), md))
        b = jax.lax.stop_gradient(jnp.maximum(jnp.max(mo, axis=0), md))
        er = jnp.where(off, jnp.exp(m - a[:, None]), 0)
        ec = jnp.where(off, jnp.exp(m - b[None, :]), 0)
        s = _Sums(jnp.sum(er, axis=1), jnp.sum(ec, axis=0), jnp.exp(md - a), jnp.exp(md - b), a, b)
        return s, er, ec

    if not any(need):
        value = jax.lax.cond(
            _ok(fast, n), lambda: _value(fast, md), lambda: _value(slow_parts()[0], md)
        )
        return value, None, None, None

    def fast_g():
        wr, wc, dg = _weights(fast)
        return _value(fast, md), e * (wr[:, None] + wc[None, :]), dg

    def slow_g():
        s, er, ec = slow_parts()
        wr, wc, dg = _weights(s)
        return _value(s, md), er * wr[:, None] + ec * wc[None, :], dg

    value, gp, dg = jax.lax.cond(_ok(fast, n), fast_g, slow_g)
    gy_ = gp @ y if need[0] or need[2] else jnp.zeros_like(y)
    gtx_t = _xt_dot(x, gp) if need[1] else None
    return _finish(x, y, beta, value, gy_, gtx_t, dg, need)


# ------------------------------------------------------------------------------------------
# blocked: row blocks of X, O(N * block) memory
# ------------------------------------------------------------------------------------------


def _mask(idx: jax.Array, valid: jax.Array, n: int) -> jax.Array:
    """``(block, n)``: True off the diagonal in valid rows."""
    return valid[:, None] & (idx[:, None] != jnp.arange(n)[None, :])


def _blocked(x: Points, y: Points, beta: Scalar, need: _Need, block: int):
    n, dt = x.shape[0], x.dtype
    md = beta * jnp.sum(x * y, axis=1)
    sh = _shift(x, y, beta)
    ed = jnp.exp(md - sh)

    def sums_fast(co, idx, valid, xb):
        e = jnp.where(_mask(idx, valid, n), jnp.exp(beta * (xb @ y.T) - sh), 0)
        return co + jnp.sum(e, axis=0), jnp.sum(e, axis=1)

    co, ro = scan_rows(sums_fast, jnp.zeros(n, dt), (x,), block)
    fast = _Sums(ro, co, ed, ed, sh, sh)

    def sums_slow(carry, idx, valid, xb, mdb):
        cmax, csum = carry
        mask = _mask(idx, valid, n)
        m = beta * (xb @ y.T)
        mo = jnp.where(mask, m, -jnp.inf)
        a = jnp.maximum(jnp.max(mo, axis=1), mdb)
        ro = jnp.sum(jnp.where(mask, jnp.exp(m - a[:, None]), 0), axis=1)
        new = jnp.maximum(cmax, jnp.max(mo, axis=0))
        scale = jnp.where(new == -jnp.inf, 0, jnp.exp(cmax - new))
        csum = csum * scale + jnp.sum(jnp.where(mask, jnp.exp(m - new[None, :]), 0), axis=0)
        return (new, csum), (ro, a)

    def slow_sums() -> _Sums:
        init = (jnp.full(n, -jnp.inf, dt), jnp.zeros(n, dt))
        (cmax, csum), (ro, a) = scan_rows(sums_slow, init, (x, md), block)
        b = jnp.maximum(cmax, md)
        co = csum * jnp.where(cmax == -jnp.inf, 0, jnp.exp(cmax - b))
        a, b = jax.lax.stop_gradient(a), jax.lax.stop_gradient(b)
        return _Sums(ro, co, jnp.exp(md - a), jnp.exp(md - b), a, b)

    ok = _ok(fast, n)
    if not any(need):
        value = jax.lax.cond(ok, lambda: _value(fast, md), lambda: _value(slow_sums(), md))
        return value, None, None, None

    def grads(s: _Sums, shared: bool):
        wr, wc, dg = _weights(s)
        a = jnp.broadcast_to(s.a, (n,))

        def body(gtx_t, idx, valid, xb, wrb, ab):
            mask = _mask(idx, valid, n)
            m = beta * (xb @ y.T)
            if shared:
                gp = jnp.where(mask, jnp.exp(m - sh), 0) * (wrb[:, None] + wc[None, :])
            else:
                er = jnp.where(mask, jnp.exp(m - ab[:, None]), 0)
                ec = jnp.where(mask, jnp.exp(m - s.b[None, :]), 0)
                gp = er * wrb[:, None] + ec * wc[None, :]
            if need[1]:
                gtx_t = gtx_t + _xt_dot(xb, gp)
            return gtx_t, gp @ y

        gtx_t0 = jnp.zeros((x.shape[1], n), dt) if need[1] else None
        gtx_t, gy_ = scan_rows(body, gtx_t0, (x, wr, a), block)
        return _value(s, md), gy_, gtx_t, dg

    value, gy_, gtx_t, dg = jax.lax.cond(
        ok, lambda: grads(fast, True), lambda: grads(slow_sums(), False)
    )
    return _finish(x, y, beta, value, gy_, gtx_t, dg, need)


def _kernel(x: Points, y: Points, beta: Scalar, need: _Need, block: int | None):
    """``(value, dL/dx, dL/dy, dL/dbeta)``, each gradient ``None`` where not in ``need``."""
    if block is None:
        return _dense(x, y, beta, need)
    return _blocked(x, y, beta, need, block)


@partial(jax.custom_jvp, nondiff_argnums=(3,))
def _infonce(x: Points, y: Points, beta: Scalar, block: int | None) -> Scalar:
    # ``block`` is an explicit static argument, so that JAX's cache of traced custom rules
    # cannot hand back a trace made with another setting
    return _kernel(x, y, beta, (False, False, False), block)[0]


def _infonce_jvp(block, primals, tangents):
    live = tuple(not isinstance(t, SymbolicZero) for t in tangents)
    value, *grads = _kernel(*primals, live, block)
    out = jnp.zeros_like(value)
    for g, t in zip(grads, tangents, strict=True):
        if g is not None:
            out = out + jnp.sum(g * t)
    return value, out


_infonce.defjvp(_infonce_jvp, symbolic_zeros=True)

# Entry points compiled once per shape: called eagerly (tests, host code), the kernel's cond and
# scans would otherwise dispatch op by op. Under an outer jit these are inlined.
_infonce_jit = jax.jit(_infonce, static_argnums=3)
_kernel_jit = jax.jit(_kernel, static_argnums=(3, 4))


def _cast(x, y, beta) -> tuple[Points, Points, Scalar]:
    dt = jnp.result_type(x, y, beta)
    return jnp.asarray(x, dt), jnp.asarray(y, dt), jnp.asarray(beta, dt)


def infonce(x: Points, y: Points, beta: Scalar | float, block_size: int = 0) -> Scalar:
    r"""Symmetric InfoNCE :math:`L(X, Y; \beta)`, averaged over both directions.

    Differentiable in all three arguments through the fused closed-form rule (module docstring).

    Args:
        x: ``(n, d)`` first modality (unit rows on the sphere, though any rows work).
        y: ``(n, d)`` second modality; row i is the positive partner of ``x[i]``.
        beta: inverse temperature :math:`1/\tau`.
        block_size: rows per block of the :math:`N\times N` logits (``0`` automatic; see
            :func:`gapsim.core.blocks.block_rows`). A trace-time setting: static under ``jit``.

    Returns:
        The scalar loss, in the promoted dtype of the inputs (a Python float ``beta`` does not
        promote).

    Example:
        >>> x = jnp.eye(3)
        >>> float(infonce(x, x, 10.0))  # log(1 + 2 exp(-10))
        9.07...e-05
    """
    x, y, beta = _cast(x, y, beta)
    return _infonce_jit(x, y, beta, block_rows(x.shape[0], x.dtype, block_size))


def infonce_value_and_grad(
    x: Points, y: Points, beta: Scalar | float, block_size: int = 0
) -> tuple[Scalar, InfoNCEGrad]:
    r"""Value and closed-form gradient of :func:`infonce` from the same fused kernel.

    :math:`G = \frac{1}{2N}[\mathrm{rowsoftmax}(M) + \mathrm{colsoftmax}(M)] - I/N`;
    returns :math:`(L, (\beta G Y, \beta G^\top X, \langle G, S\rangle))`.

    Example:
        >>> value, g = infonce_value_and_grad(jnp.eye(3), jnp.eye(3), 10.0)
        >>> g.x.shape
        (3, 3)
    """
    x, y, beta = _cast(x, y, beta)
    block = block_rows(x.shape[0], x.dtype, block_size)
    value, gx, gy, gb = _kernel_jit(x, y, beta, (True, True, True), block)
    return value, InfoNCEGrad(gx, gy, gb)
