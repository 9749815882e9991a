"""The fused InfoNCE kernel against plain autodiff (theory.md 0): values, gradients, both paths.

The oracle here is the textbook loss, ``logsumexp`` over rows and columns of ``beta * X Y^T``,
differentiated by JAX (``_plain``), evaluated in float64 on the same inputs. The fused kernel
has two paths: one shared exponential matrix ``exp(M - beta K)`` (K = product of the largest row
norms, 1 on the sphere) and, where a shifted row or column sum could have lost terms to
underflow, per-row and per-column maxima. Each is checked on its own by forcing it (monkeypatching
the trust threshold), and the automatic choice is checked to pick the shared path wherever it
is valid and the fallback elsewhere.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gapsim
import gapsim.core.loss as loss_mod

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)


def _plain(x, y, beta):
    m = beta * (x @ y.T)
    lse = jax.nn.logsumexp(m, axis=1) + jax.nn.logsumexp(m, axis=0)
    return 0.5 * jnp.mean(lse) - jnp.mean(jnp.diagonal(m))


_plain_vg = jax.jit(jax.value_and_grad(_plain, argnums=(0, 1, 2)))
_fused_vg = jax.jit(jax.value_and_grad(gapsim.infonce, argnums=(0, 1, 2)))


def _points(seed: int, n: int, d: int, dtype, aligned: float = 0.0):
    """Unit rows; ``aligned`` in [0, 1] pulls y_i towards x_i (1: y = x)."""
    kx, ky = jax.random.split(jax.random.key(seed))
    x = jax.random.normal(kx, (n, d), jnp.float64)
    y = (1 - aligned) * jax.random.normal(ky, (n, d), jnp.float64) + aligned * x
    unit = lambda z: z / jnp.linalg.norm(z, axis=1, keepdims=True)  # noqa: E731
    return unit(x).astype(dtype), unit(y).astype(dtype)


def _shared_path_valid(x, y, beta) -> bool:
    """NumPy float64 replica of the kernel's test: every shifted row/column sum >= N tiny/eps."""
    x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
    fi = np.finfo(np.dtype(x.dtype))
    k = np.max(np.linalg.norm(x64, axis=1)) * np.max(np.linalg.norm(y64, axis=1))
    e = np.exp(beta * (x64 @ y64.T) - beta * k)
    floor = x.shape[0] * fi.tiny / fi.eps
    return min(e.sum(0).min(), e.sum(1).min()) >= floor


def _compare(x, y, beta, rtol, atol_scale):
    """Fused value and (x, y, beta) gradients against the float64 autodiff oracle."""
    b = jnp.asarray(beta, x.dtype)
    val, grads = _fused_vg(x, y, b)
    want, wgrads = _plain_vg(x.astype(jnp.float64), y.astype(jnp.float64), jnp.float64(beta))
    assert val.dtype == x.dtype
    assert all(g.dtype == x.dtype for g in grads)
    np.testing.assert_allclose(float(val), float(want), rtol=rtol, atol=atol_scale * beta)
    for got, ref in zip(grads, wgrads, strict=True):
        got, ref = np.asarray(got, np.float64), np.asarray(ref)
        assert np.all(np.isfinite(got))
        # norm-wise: entries of the x/y gradients are beta * (convex combinations of rows)
        err = np.linalg.norm(got - ref)
        assert err <= rtol * np.linalg.norm(ref) + atol_scale * beta, (err, np.linalg.norm(ref))


# float64: a handful of roundings of O(beta) logits -> relative 1e-12, absolute 1e-13 * beta.
# float32: logits rounded at eps32 * beta, exponentials amplify by the same: relative error of
# the loss and gradient up to ~d * beta * eps32 for beta <= 200 (1e-4 at d = 6, beta = 200);
# tolerances are 10x those bounds.
TOL = {jnp.float64: (1e-12, 1e-13), jnp.float32: (2e-3, 50 * EPS32)}


@settings(max_examples=10)  # each new (n, d) compiles: draw them from a few
@given(
    n=st.sampled_from([2, 5, 12]),
    d=st.sampled_from([2, 6]),
    log_tau=st.floats(np.log(0.005), np.log(2.0)),
    aligned=st.sampled_from([0.0, 0.7, 1.0]),
    dtype=st.sampled_from([jnp.float32, jnp.float64]),
    seed=st.integers(0, 2**20),
)
def test_fused_matches_autodiff(n, d, log_tau, aligned, dtype, seed):
    x, y = _points(seed, n, d, dtype, aligned)
    beta = float(np.exp(-log_tau))
    _compare(x, y, beta, *TOL[dtype])


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("aligned", [0.0, 1.0])
def test_small_tau_both_paths(dtype, aligned):
    # tau = 0.005 (beta = 200): exp(-2 beta) = 1e-174 underflows float32 (tiny 1e-38) but not
    # float64. Random pairs in float32 need the fallback; aligned pairs (row sums ~1) and
    # float64 keep the shared exponential.
    x, y = _points(3, 40, 5, dtype, aligned)
    beta = 200.0
    expect_shared = dtype == jnp.float64 or aligned == 1.0
    assert _shared_path_valid(x, y, beta) == expect_shared
    _compare(x, y, beta, *TOL[dtype])


@pytest.mark.parametrize("force", ["shared", "fallback"])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_each_path_alone(monkeypatch, force, dtype):
    # force a path by moving the trust threshold of the shifted sums: 0 (shared, valid here as
    # tau = 0.1 cannot underflow) or inf (always the fallback)
    floor = 0.0 if force == "shared" else np.inf
    monkeypatch.setattr(loss_mod, "_floor", lambda n, dt: floor)
    x, y = _points(5, 17, 4, dtype, 0.5)
    b = jnp.asarray(10.0, dtype)
    val, grads = jax.value_and_grad(gapsim.infonce, argnums=(0, 1, 2))(x, y, b)  # not cached
    want, wgrads = _plain_vg(x.astype(jnp.float64), y.astype(jnp.float64), jnp.float64(10.0))
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(float(val), float(want), rtol=rtol, atol=atol * 10)
    for got, ref in zip(grads, wgrads, strict=True):
        np.testing.assert_allclose(np.asarray(got, np.float64), ref, rtol=rtol, atol=atol * 10)


def test_rows_off_the_sphere_use_the_norm_bound():
    # |M_ij| <= beta max|x| max|y|: rows of norm 3 and 2 at beta = 20 give logits up to 120,
    # which would overflow exp(M - beta) in float32 without the norm factor.
    x, y = _points(7, 9, 3, jnp.float32, 0.5)
    _compare(3 * x, 2 * y, 20.0, *TOL[jnp.float32])


def test_value_and_grad_helper_is_the_same_kernel():
    x, y = _points(11, 10, 4, jnp.float64, 0.3)
    val, g = gapsim.infonce_value_and_grad(x, y, 7.0)
    jval, (gx, gy, gb) = _fused_vg(x, y, jnp.float64(7.0))
    # the same arithmetic, traced once eagerly and once under jit: equal to rounding
    np.testing.assert_allclose(float(val), float(jval), rtol=1e-14)
    for a, b in ((g.x, gx), (g.y, gy), (g.beta, gb)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-15)


def test_tiny_loss_keeps_relative_precision():
    # aligned simplex-like points at beta = 50: L ~ 1e-20. The kernel's log1p form keeps
    # relative precision where logsumexp - diagonal cancels to rounding noise (~1e-16 abs).
    x = jnp.eye(4, dtype=jnp.float64)
    exact = np.log1p(3 * np.exp(-50.0))  # every cross-entropy is log(1 + 3 e^{-50})
    np.testing.assert_allclose(float(gapsim.infonce(x, x, 50.0)), exact, rtol=1e-13)


def test_hessian_and_forward_mode_work():
    # a custom_jvp (not custom_vjp) keeps jax.hessian and jax.jvp available
    x, y = _points(13, 4, 3, jnp.float64, 0.5)
    h = jax.hessian(gapsim.infonce)(x, y, 3.0)
    h_ref = jax.hessian(_plain)(x, y, 3.0)
    np.testing.assert_allclose(np.asarray(h), np.asarray(h_ref), rtol=1e-9, atol=1e-12)
    v = jnp.ones_like(x)
    _, t = jax.jvp(lambda z: gapsim.infonce(z, y, 3.0), (x,), (v,))
    _, t_ref = jax.jvp(lambda z: _plain(z, y, 3.0), (x,), (v,))
    np.testing.assert_allclose(float(t), float(t_ref), rtol=1e-12)


def test_vmap_mixed_batch_takes_a_valid_path_for_all():
    # float32, beta = 200: a batch mixing an aligned config (shared path valid) with a random
    # one (fallback needed) must give each member its own correct values.
    xa, ya = _points(17, 12, 4, jnp.float32, 1.0)
    xr, yr = _points(19, 12, 4, jnp.float32, 0.0)
    assert _shared_path_valid(xa, ya, 200.0)
    assert not _shared_path_valid(xr, yr, 200.0)
    xs, ys = jnp.stack([xa, xr]), jnp.stack([ya, yr])
    b = jnp.full((2,), 200.0, jnp.float32)
    vals, grads = jax.vmap(jax.value_and_grad(gapsim.infonce, argnums=(0, 1, 2)))(xs, ys, b)
    for i, (x, y) in enumerate(((xa, ya), (xr, yr))):
        want, wgrads = _plain_vg(x.astype(jnp.float64), y.astype(jnp.float64), jnp.float64(200))
        rtol, atol = TOL[jnp.float32]
        np.testing.assert_allclose(float(vals[i]), float(want), rtol=rtol, atol=atol * 200)
        for got, ref in zip(grads, wgrads, strict=True):
            err = np.linalg.norm(np.asarray(got[i], np.float64) - np.asarray(ref))
            assert err <= rtol * np.linalg.norm(ref) + atol * 200


def _subjaxprs(eqn):
    for p in eqn.params.values():
        for j in p if isinstance(p, tuple | list) else (p,):
            if hasattr(j, "eqns"):  # Jaxpr
                yield j
            elif hasattr(getattr(j, "jaxpr", None), "eqns"):  # ClosedJaxpr
                yield j.jaxpr


def _count(jaxpr, prim: str, shape=None) -> int:
    """Occurrences of primitive ``prim`` in ``jaxpr`` and all its sub-jaxprs (cond branches,
    scan bodies, custom rules), optionally only those with output ``shape``."""
    total = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == prim and (shape is None or eqn.outvars[0].aval.shape == shape):
            total += 1
        total += sum(_count(sub, prim, shape) for sub in _subjaxprs(eqn))
    return total


def test_three_matmuls_and_one_exponential_matrix_per_gradient():
    # the claim of the issue: one step's gradient costs three N x N x d products and, on the
    # shared path, one N x N exponential (the fallback branch of the cond has its own two)
    n, d = 16, 3
    x, y = _points(23, n, d, jnp.float32)
    jaxpr = jax.make_jaxpr(jax.grad(gapsim.infonce, argnums=(0, 1)))(x, y, jnp.float32(5.0))
    assert _count(jaxpr.jaxpr, "dot_general") == 3
    assert _count(jaxpr.jaxpr, "exp", (n, n)) == 1 + 2
