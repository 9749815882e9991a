"""Row-block (O(N * block)) evaluation against the dense one: values, gradients, measures, runs.

Small N with small blocks, including blocks that do not divide N (padded rows), so that every
accumulator crosses block boundaries. The memory claim is checked structurally: the traced
program of the blocked loss, gradient and measures holds no N x N array at all.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gapsim
import gapsim.core.loss as loss_mod
from gapsim.app.parts import prepare
from gapsim.core.blocks import DENSE_MAX_N, block_rows
from gapsim.core.measures import measures
from gapsim.core.solvers import params0

DISCRETE = ("r1_xy", "r1_yx", "matched_fraction")


def _points(seed, n, d, dtype, aligned=0.0):
    kx, ky = jax.random.split(jax.random.key(seed))
    x = jax.random.normal(kx, (n, d), jnp.float64)
    y = (1 - aligned) * jax.random.normal(ky, (n, d), jnp.float64) + aligned * x
    unit = lambda z: z / jnp.linalg.norm(z, axis=1, keepdims=True)  # noqa: E731
    return unit(x).astype(dtype), unit(y).astype(dtype)


@partial(jax.jit, static_argnames="block")
def _vg(x, y, beta, block):
    return jax.value_and_grad(partial(gapsim.infonce, block_size=block), argnums=(0, 1, 2))(
        x, y, beta
    )


def _measures_and_stationarity(x, y, beta, block):
    n, d = x.shape
    cfg = gapsim.Config(n_pairs=n, dim=d, solver="gd", dtype=str(x.dtype), block_size=block)
    static, args = prepare(cfg)  # the sphere; only its constraint sets and shapes are used
    args = args._replace(beta=jnp.asarray(beta, x.dtype))
    params = {**params0(static, args), "z": jnp.stack([x, y])}
    c = gapsim.core.solvers.certify(args, params, jnp.asarray(0), static)
    return c.measures._asdict(), c.grad_norm


def test_block_rows_choice():
    assert block_rows(DENSE_MAX_N, jnp.float32) is None  # dense up to the threshold
    rows = block_rows(65536, jnp.float32)
    assert rows % 8 == 0
    assert rows * 65536 * 4 <= gapsim.core.blocks.SLAB_BYTES
    assert block_rows(1000, jnp.float64, 100) == 100
    assert block_rows(50, jnp.float64, 100) is None  # a block >= N is dense
    assert block_rows(1000, jnp.float64) is None  # no hidden setting: the default is automatic


def test_no_module_global_block_size():
    import gapsim.core.blocks
    import gapsim.core.solvers

    assert not [k for k in vars(gapsim.core.blocks) if "BLOCK_SIZE" in k or "use_block" in k]
    assert not hasattr(gapsim.core.solvers, "_traced_with_block_size")


# Dense and blocked perform the same operations on the same numbers except the order of the
# column sums (accumulated block by block) and the products' internal blocking: float64 agrees
# to ~1e-15 relative (tolerance 1e-12), float32 to ~1e-6 (tolerance 1e-4 on beta-scaled terms).
TOL = {jnp.float64: 1e-12, jnp.float32: 1e-4}


# few distinct shapes (each compiles); blocks that divide N and blocks that leave padding
SHAPES = [(13, 4), (16, 4), (7, 1), (20, 6)]


@settings(max_examples=6)  # each example compiles dense and blocked programs
@given(
    shape=st.sampled_from(SHAPES),
    d=st.just(3),
    beta=st.sampled_from([0.5, 10.0, 200.0]),
    aligned=st.sampled_from([0.0, 0.8]),
    dtype=st.sampled_from([jnp.float32, jnp.float64]),
    seed=st.integers(0, 2**20),
)
def test_blocked_loss_and_grads_equal_dense(shape, d, beta, aligned, dtype, seed):
    n, block = shape
    x, y = _points(seed, n, d, dtype, aligned)
    b = jnp.asarray(beta, dtype)
    val, grads = _vg(x, y, b, 0)
    bval, bgrads = _vg(x, y, b, block)
    tol = TOL[dtype]
    np.testing.assert_allclose(float(bval), float(val), rtol=tol, atol=tol * beta)
    for got, ref in zip(bgrads, grads, strict=True):
        err = np.linalg.norm(np.asarray(got, np.float64) - np.asarray(ref, np.float64))
        assert err <= tol * (np.linalg.norm(np.asarray(ref, np.float64)) + beta)


@pytest.mark.parametrize("floor", [0.0, np.inf])
def test_blocked_paths_each_equal_dense(monkeypatch, floor):
    # force the shared-exponential path (floor 0; valid here) or the online column
    # log-sum-exp fallback (floor inf) in both evaluations
    monkeypatch.setattr(loss_mod, "_floor", lambda n, dt: floor)
    x, y = _points(1, 13, 3, jnp.float64, 0.5)
    val, grads = _vg(x, y, 4.0, 0)
    bval, bgrads = _vg(x, y, 4.0, 4)
    np.testing.assert_allclose(float(bval), float(val), rtol=1e-12)
    for got, ref in zip(bgrads, grads, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-11, atol=1e-14)


@settings(max_examples=5)  # each example compiles dense and blocked programs
@given(
    shape=st.sampled_from(SHAPES),
    aligned=st.sampled_from([0.0, 0.9]),
    seed=st.integers(0, 2**20),
)
def test_blocked_measures_equal_dense(shape, aligned, seed):
    n, block = shape
    x, y = _points(seed, n, 3, jnp.float64, aligned)
    beta = jnp.float64(5.0)
    dense, gn_dense = _measures_and_stationarity(x, y, beta, 0)
    blocked, gn = _measures_and_stationarity(x, y, beta, block)
    for k, v in dense.items():
        if k in DISCRETE:  # counts of arg-maxima: random points have no near-ties
            assert float(blocked[k]) == float(v), k
        else:  # sums in another order, float64: 1e-12 relative
            np.testing.assert_allclose(float(blocked[k]), float(v), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(float(gn), float(gn_dense), rtol=1e-11)


def test_blocked_argmax_ties_resolve_like_dense():
    # duplicated points make exact ties; argmax keeps the first index, and so must the blocks
    x, _ = _points(3, 6, 3, jnp.float64)
    x = jnp.concatenate([x, x])  # x_i = x_{i+6}: every column has a tie
    dense, _ = _measures_and_stationarity(x, x, jnp.float64(2.0), 0)
    blocked, _ = _measures_and_stationarity(x, x, jnp.float64(2.0), 5)
    for k in DISCRETE:
        assert float(blocked[k]) == float(dense[k]), k


def test_simulate_with_block_size_equals_dense():
    cfg = gapsim.Config(n_pairs=11, dim=3, tau=0.2, solver="gd", steps=60, dtype="float64")
    dense, blocked = gapsim.simulate(cfg), gapsim.simulate(cfg.replace(block_size=4))
    # 60 float64 steps of a contraction: rounding differences stay ~1e-15
    np.testing.assert_allclose(blocked.x, dense.x, atol=1e-12)
    np.testing.assert_allclose(blocked.history["loss"], dense.history["loss"], rtol=1e-12)
    assert blocked.certificate.grad_norm == pytest.approx(dense.certificate.grad_norm, rel=1e-9)


def _largest_intermediate(jaxpr) -> int:
    """Largest number of elements of any value in ``jaxpr`` or its sub-jaxprs."""
    big = 0
    for eqn in jaxpr.eqns:
        for v in eqn.outvars:
            big = max(big, int(np.prod(getattr(v.aval, "shape", ()), dtype=np.int64)))
        for p in eqn.params.values():
            for j in p if isinstance(p, tuple | list) else (p,):
                sub = j if hasattr(j, "eqns") else getattr(j, "jaxpr", None)
                if hasattr(sub, "eqns"):
                    big = max(big, _largest_intermediate(sub))
    return big


def test_blocked_program_has_no_n_by_n_array():
    n, d, block = 96, 4, 8
    x, y = _points(0, n, d, jnp.float32)
    b = jnp.float32(10.0)
    # the block size is an explicit argument (jitted callers pass it statically, as the solvers
    # do from Static.block_size)
    loss = partial(gapsim.infonce, block_size=block)
    programs = [
        jax.make_jaxpr(jax.grad(loss, argnums=(0, 1, 2)))(x, y, b),
        jax.make_jaxpr(loss)(x, y, b),
        jax.make_jaxpr(partial(measures, block_size=block))(x, y, b),
    ]
    for p in programs:
        assert _largest_intermediate(p.jaxpr) <= block * n  # one (block, N) slab at most
    dense = jax.make_jaxpr(lambda *a: gapsim.infonce(*a))(x, y, b)
    assert _largest_intermediate(dense.jaxpr) == n * n  # the check has teeth


def test_config_block_size_validated():
    with pytest.raises(gapsim.ConfigError) as e:
        gapsim.Config(block_size=-1)
    assert e.value.field == "block_size"
