"""Constraint sets and their projections (THEORY.md section 1), and sampling inside caps.

Every projection kind is checked for the four properties that define it: the output lies in the
set (unit norm, in U, in the cap), the map is idempotent, it is the nearest point of the set
(fixed-axis kinds, against random feasible points), and it never returns NaN (zero rows,
rows orthogonal to U, antipodal points; gradients too).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from gapsim import ConfigError, Constraint, project, tangent, uniform_in_cap

KINDS = ("sphere", "fixed_cap", "free_cap", "subspace", "subspace_fixed_cap", "subspace_free_cap")
FIXED_AXIS_KINDS = ("sphere", "fixed_cap", "subspace", "subspace_fixed_cap")
FIXED_CAP_KINDS = ("fixed_cap", "subspace_fixed_cap")
FREE_CAP_KINDS = ("free_cap", "subspace_free_cap")
DTYPES = ("float32", "float64")
EPS64 = float(np.finfo(np.float64).eps)


def eps(dtype) -> float:
    """Machine epsilon of ``dtype``."""
    return float(np.finfo(np.dtype(dtype)).eps)


def assert_close(actual, desired, atol, rtol=0.0):
    """``np.testing.assert_allclose`` on float64 copies, with an explicit absolute tolerance."""
    np.testing.assert_allclose(
        np.asarray(actual, np.float64), np.asarray(desired, np.float64), rtol=rtol, atol=atol
    )


class Setup(NamedTuple):
    """Small scalars drawn by hypothesis; arrays are built from ``seed`` inside the test."""

    kind: str
    d: int
    k: int
    n: int
    alpha: float
    log_scale: float
    aligned: bool
    seed: int
    dtype: str


@st.composite
def setups(draw, kinds=KINDS, dtypes=DTYPES) -> Setup:
    kind = draw(st.sampled_from(kinds))
    d = draw(st.integers(2, 6))
    k = d
    if kind.startswith("subspace"):
        k = draw(st.integers(2 if "cap" in kind else 1, d))
    return Setup(
        kind=kind,
        d=d,
        k=k,
        n=draw(st.integers(1, 6)),
        alpha=draw(st.floats(0.05, np.pi - 0.05)),
        log_scale=draw(st.floats(-3.0, 3.0)),
        aligned=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)),
        dtype=draw(st.sampled_from(dtypes)),
    )


def build(s: Setup) -> tuple[Constraint, jax.Array, np.ndarray | None]:
    """The constraint, a random input ``z`` and the raw (not orthonormal) user basis."""
    k_basis, k_axis, k_z = jax.random.split(jax.random.key(s.seed), 3)
    raw = None
    if s.kind.startswith("subspace"):
        raw = np.array(jax.random.normal(k_basis, (s.d, s.k), dtype=jnp.float64))
        if s.aligned:  # U = span(e_1..e_k) exactly, so e_d is exactly orthogonal to U when k < d
            raw[s.k :] = 0.0
    axis = "free"
    if s.kind in FIXED_CAP_KINDS:
        axis = np.asarray(jax.random.normal(k_axis, (s.d,), dtype=jnp.float64))
    cap = s.alpha if "cap" in s.kind else None
    c = Constraint.make(s.d, raw, cap, axis, s.dtype)
    z = jax.random.normal(k_z, (s.n, s.d), dtype=s.dtype) * (10.0**s.log_scale)
    return c, z.astype(s.dtype), raw


def np64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def subspace_projector(c: Constraint, d: int) -> np.ndarray:
    return np.eye(d) if c.basis is None else np64(c.basis) @ np64(c.basis).T


def free_axis_of(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Normalised mean of the rows (the free cap axis) and the norm of the mean."""
    m = x.mean(axis=0)
    nm = float(np.linalg.norm(m))
    return m / nm, nm


def assert_in_set(c: Constraint, x, s: Setup) -> None:
    """``x`` is finite, unit-norm, in U and inside the cap (own mean direction if free)."""
    e = eps(s.dtype)
    assert x.dtype == jnp.dtype(s.dtype)
    assert x.shape == (s.n, s.d)
    x64 = np64(x)
    assert np.all(np.isfinite(x64))
    # one division by a norm over <= 6 squares, maybe followed by the rim formula: a few ulps
    assert_close(np.linalg.norm(x64, axis=1), 1.0, atol=8 * e)
    # the stored basis is orthonormal only to the dtype's rounding; the rim formula adds a few ulps
    assert_close(x64 @ subspace_projector(c, s.d), x64, atol=16 * e)
    if c.cap_cos is None:
        return
    cos_a = float(c.cap_cos)
    if c.axis is not None:
        # x . c against the stored cos: the rim point is cos*c + sin*t to a few ulps
        assert np.all(x64 @ np64(c.axis) >= cos_a - 8 * e)
    else:
        axis, mean_norm = free_axis_of(x64)
        # the library stops at a violation of 10 eps, measured with its own dtype's mean, whose
        # direction is off by ~n*eps/|mean|; x . axis itself is exact in float64
        tol = 10 * e + 4 * s.n * e / mean_norm + 8 * e
        assert np.all(x64 @ axis >= cos_a - tol)


@given(setups())
def test_project_lands_in_set(s):
    c, z, _ = build(s)
    assert_in_set(c, project(c, z), s)


@given(setups())
def test_project_is_idempotent(s):
    c, z, _ = build(s)
    x = project(c, z)
    xx = project(c, x)
    e = eps(s.dtype)
    if s.kind in FREE_CAP_KINDS:
        # renormalising x may push a rim point up to ~10 eps outside (the stopping tolerance); the
        # repair rotates it by that much over sin(alpha), and the mean moves by at most as much
        tol = 40 * e / np.sin(s.alpha)
    else:
        # a second normalisation / Q Q^T / rim formula of a point already in the set: a few ulps
        tol = 16 * e
    assert_close(xx, x, atol=tol)


@given(setups(kinds=FREE_CAP_KINDS))
def test_free_cap_leaves_valid_configurations_unchanged(s):
    # points uniform in a cap of half-angle alpha/2 around a fixed axis: each lies within alpha
    # of the mean direction (which lies in the small cap), so the free-cap set holds them already
    c, _, _ = build(s)
    k_axis, k_pts = jax.random.split(jax.random.key(s.seed + 1))
    g = jax.random.normal(k_axis, (s.d,), dtype=s.dtype)
    if c.basis is not None:
        g = c.basis @ (c.basis.T @ g)
    axis = g / jnp.linalg.norm(g)
    x = uniform_in_cap(k_pts, s.n, axis, s.alpha / 2, c.basis)
    x = x / jnp.linalg.norm(x, axis=1, keepdims=True)
    # unchanged up to the renormalisation inside project (a few ulps)
    assert_close(project(c, x), x, atol=8 * eps(s.dtype))


def feasible_points(c: Constraint, key: jax.Array, m: int, d: int, dtype: str) -> np.ndarray:
    """``m`` random points of a fixed-axis set, sampled without :func:`project`."""
    if c.cap_cos is None:
        k = d if c.basis is None else c.basis.shape[1]
        g = np64(jax.random.normal(key, (m, k), dtype=jnp.float64))
        y = g if c.basis is None else g @ np64(c.basis).T
        return y / np.linalg.norm(y, axis=1, keepdims=True)
    alpha = float(np.arccos(np64(c.cap_cos)))
    return np64(uniform_in_cap(key, m, c.axis, alpha, c.basis))


@given(setups(kinds=FIXED_AXIS_KINDS))
def test_project_is_nearest_point(s):
    c, z, _ = build(s)
    p = project(c, z)
    k_far, k_near = jax.random.split(jax.random.key(s.seed + 2))
    far = feasible_points(c, k_far, 256, s.d, s.dtype)
    # feasible points near p, to check local optimality as well (their feasibility is the
    # subject of test_project_lands_in_set)
    near = [
        np64(project(c, p + scale * jax.random.normal(kk, p.shape, dtype=s.dtype)))
        for scale, kk in zip((1e-1, 1e-2, 1e-3), jax.random.split(k_near, 3), strict=True)
    ]
    z64, p64 = np64(z), np64(p)
    d_p = np.linalg.norm(p64 - z64, axis=1)
    # p and the candidates are in the set only to a few ulps of the dtype (each such error moves
    # a distance by at most its size); float64 distance arithmetic adds ~eps64 * |z|
    tol = 16 * eps(s.dtype) + 16 * EPS64 * (1 + np.linalg.norm(z64, axis=1))
    d_far = np.linalg.norm(far[None, :, :] - z64[:, None, :], axis=2).min(axis=1)
    assert np.all(d_p <= d_far + tol)
    for y in near:
        assert np.all(d_p <= np.linalg.norm(y - z64, axis=1) + tol)


def reference_point(c: Constraint, raw: np.ndarray | None, d: int) -> np.ndarray:
    """The documented image of a zero row, computed from the user's inputs."""
    if c.axis is not None:
        return np64(c.axis)
    if raw is not None:  # first basis vector of U: the user's first column, normalised
        return raw[:, 0] / np.linalg.norm(raw[:, 0])
    return np.eye(d)[0]


def orthogonal_row(c: Constraint, d: int) -> np.ndarray | None:
    """A non-zero row whose projection onto U is exactly zero, if the basis allows one."""
    if c.basis is None or c.basis.shape[1] == d:
        return None
    k = c.basis.shape[1]
    if not np.all(np64(c.basis)[k:] == 0):  # otherwise only orthogonal up to rounding
        return None
    return 3.0 * np.eye(d)[d - 1]


@given(setups(kinds=FIXED_AXIS_KINDS))
def test_zero_and_orthogonal_rows_map_to_reference(s):
    c, z, raw = build(s)
    ref = reference_point(c, raw, s.d)
    rows = [jnp.zeros(s.d, s.dtype), z[0]]
    orth = orthogonal_row(c, s.d)
    if orth is not None:
        rows.append(jnp.asarray(orth, s.dtype))
    x = project(c, jnp.stack(rows))
    assert_in_set(c, x, s._replace(n=len(rows)))
    # the reference point is stored in the dtype, hence equal up to its rounding
    assert_close(x[0], ref, atol=4 * eps(s.dtype))
    if orth is not None:
        assert_close(x[2], ref, atol=4 * eps(s.dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("subspace", [False, True])
def test_free_cap_all_zero_input_maps_to_reference(dtype, subspace):
    d = 4
    raw = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 1.0], [0.0, 0.0]]) if subspace else None
    c = Constraint.make(d, raw, cap_angle=0.4, axis="free", dtype=dtype)
    x = project(c, jnp.zeros((3, d), dtype))
    ref = raw[:, 0] / np.linalg.norm(raw[:, 0]) if subspace else np.eye(d)[0]
    # the reference point is stored in the dtype, hence equal up to its rounding
    assert_close(x, np.broadcast_to(ref, (3, d)), atol=4 * eps(dtype))


@given(setups(kinds=FREE_CAP_KINDS))
def test_free_cap_with_zero_rows_is_finite_and_in_set(s):
    c, z, _ = build(s)
    z = z.at[0].set(0.0)
    assert_in_set(c, project(c, z), s)


@given(setups(kinds=FIXED_CAP_KINDS))
def test_antipodal_point_goes_to_rim(s):
    c, z, _ = build(s)
    z = z.at[0].set(-c.axis * 2.0)
    x = project(c, z)
    assert_in_set(c, x, s)
    # every rim point is a nearest point of the cap to -c; the rim formula is exact to a few ulps
    assert_close(np64(x[0]) @ np64(c.axis), float(c.cap_cos), atol=8 * eps(s.dtype))


def degenerate_input(c: Constraint, s: Setup, z: jax.Array) -> jax.Array:
    """``z`` with a zero row, a row orthogonal to U (if any) and, with a fixed axis, -axis."""
    rows = [jnp.zeros(s.d, s.dtype), z[0]]
    orth = orthogonal_row(c, s.d)
    if orth is not None:
        rows.append(jnp.asarray(orth, s.dtype))
    if c.axis is not None:
        rows.append(-c.axis)
    return jnp.stack(rows)


@given(setups(kinds=FIXED_AXIS_KINDS))
def test_gradient_finite_at_degenerate_rows(s):
    c, z, _ = build(s)
    z = degenerate_input(c, s, z)
    g = jax.grad(lambda w: jnp.sum(project(c, w)))(z)
    assert g.dtype == jnp.dtype(s.dtype)
    assert np.all(np.isfinite(np64(g)))


@given(setups(kinds=FREE_CAP_KINDS))
def test_forward_derivative_finite_at_degenerate_rows_free_cap(s):
    # the free-axis projection is a lax.while_loop: forward mode is the derivative JAX offers
    c, z, _ = build(s)
    z = degenerate_input(c, s, z)
    v = jax.random.normal(jax.random.key(s.seed + 3), z.shape, dtype=s.dtype)
    _, dx = jax.jvp(lambda w: project(c, w), (z,), (v,))
    assert np.all(np.isfinite(np64(dx)))


@given(setups())
def test_tangent_is_orthogonal_in_subspace_and_a_projection(s):
    c, z, _ = build(s)
    x = project(c, z)
    v = jax.random.normal(jax.random.key(s.seed + 4), z.shape, dtype=s.dtype)
    t = tangent(c, x, v)
    x64, v64, t64 = np64(x), np64(v), np64(t)
    p = subspace_projector(c, s.d)
    # oracle: (P_U - x x^T) v row by row in float64
    pv = v64 @ p
    expected = pv - np.sum(x64 * pv, axis=1, keepdims=True) * x64
    scale = 1 + np.linalg.norm(v64, axis=1, keepdims=True)
    e = eps(s.dtype)
    # a few roundings per entry of sums over <= 6 terms, relative to |v|; the float32 basis is
    # orthonormal only to ~eps
    assert_close(t64 / scale, expected / scale, atol=32 * e)
    assert_close(np.sum(x64 * t64, axis=1) / scale[:, 0], 0.0, atol=32 * e)
    assert_close(t64 @ p / scale, t64 / scale, atol=32 * e)
    assert_close(np64(tangent(c, x, t)) / scale, t64 / scale, atol=32 * e)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cap_angle": 0.0}, "cone_angle"),
        ({"cap_angle": np.pi}, "cone_angle"),
        ({"cap_angle": -0.5}, "cone_angle"),
        ({"cap_angle": 0.5, "basis": np.eye(3)[:, :1]}, "subspace_dim"),
        ({"basis": np.eye(4)[:, :2]}, "basis"),
        ({"cap_angle": 0.5, "axis": np.zeros(3)}, "axis"),
        ({"cap_angle": 0.5, "axis": np.ones(4)}, "axis"),
        ({"cap_angle": 0.5, "basis": np.eye(3)[:, :2], "axis": np.eye(3)[2]}, "axis"),
    ],
)
def test_make_rejects_out_of_range_input(kwargs, field):
    with pytest.raises(ConfigError) as info:
        Constraint.make(3, **kwargs)
    assert info.value.field == field


@given(
    st.integers(2, 6),
    st.integers(1, 6),
    st.floats(0.05, np.pi),
    st.integers(0, 2**32 - 1),
    st.sampled_from(DTYPES),
)
def test_uniform_in_cap_lands_in_cap(d, k, alpha, seed, dtype):
    k = min(max(k, 2), d)
    k_basis, k_axis, k_pts = jax.random.split(jax.random.key(seed), 3)
    q = np.linalg.qr(np64(jax.random.normal(k_basis, (d, k), dtype=jnp.float64)))[0]
    a = q @ np64(jax.random.normal(k_axis, (k,), dtype=jnp.float64))
    axis = jnp.asarray(a / np.linalg.norm(a), dtype)
    basis = None if k == d else jnp.asarray(q, dtype)
    x = np64(uniform_in_cap(k_pts, 64, axis, alpha, basis))
    e = eps(dtype)
    assert np.all(np.isfinite(x))
    # cos/sin of the polar angle times unit vectors: a few ulps of the dtype
    assert_close(np.linalg.norm(x, axis=1), 1.0, atol=8 * e)
    assert_close(x @ q @ q.T, x, atol=16 * e)
    assert np.all(x @ np64(axis) >= np.cos(alpha) - 8 * e)


# Archimedes: on S^2 the height x . c of a uniform point is uniform, so in a cap it is uniform on
# [cos a, 1]. A wrong polar density (e.g. a uniform angle) is rejected by KS with p ~ 0 at this n.
KS_N = 4000
KS_SIGNIFICANCE = 1e-3  # fixed seeds: a correct sampler fails one case with probability 1e-3


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("alpha", "seed"), [(0.3, 0), (1.2, 1), (2.5, 2), (np.pi, 3)])
def test_uniform_in_cap_archimedes_ks(alpha, seed, dtype):
    axis = jnp.asarray(np.array([1.0, 2.0, 2.0]) / 3.0, dtype)
    x = np64(uniform_in_cap(jax.random.key(seed), KS_N, axis, alpha, None))
    h = x @ np64(axis)
    lo = np.cos(alpha)
    assert scipy.stats.kstest(h, scipy.stats.uniform(lo, 1 - lo).cdf).pvalue > KS_SIGNIFICANCE


@pytest.mark.parametrize(("alpha", "seed"), [(0.7, 10), (2.0, 11)])
def test_uniform_in_cap_archimedes_ks_in_subspace(alpha, seed):
    # a 3-dim subspace of R^5: the cap lives on the 2-sphere of U, so Archimedes holds there
    q = np.linalg.qr(np64(jax.random.normal(jax.random.key(seed), (5, 3), dtype=jnp.float64)))[0]
    axis = jnp.asarray(q @ np.array([0.0, 0.6, 0.8]))
    x = np64(uniform_in_cap(jax.random.key(seed + 1), KS_N, axis, alpha, jnp.asarray(q)))
    h = x @ np64(axis)
    lo = np.cos(alpha)
    assert scipy.stats.kstest(h, scipy.stats.uniform(lo, 1 - lo).cdf).pvalue > KS_SIGNIFICANCE


def test_uniform_in_cap_circle_has_uniform_angle():
    # k = 2 (a plane in R^4): the density sin^0 is flat, so the polar angle is uniform on [0, a]
    alpha = 1.1
    q = np.eye(4)[:, 1:3]
    axis = jnp.asarray(np.array([0.0, 0.8, 0.6, 0.0]))
    x = np64(uniform_in_cap(jax.random.key(20), KS_N, axis, alpha, jnp.asarray(q)))
    theta = np.arccos(np.clip(x @ np64(axis), -1.0, 1.0))
    assert scipy.stats.kstest(theta, scipy.stats.uniform(0.0, alpha).cdf).pvalue > KS_SIGNIFICANCE


@pytest.mark.parametrize("dtype", DTYPES)
def test_float32_tiny_rows_are_normalised_not_replaced(dtype):
    # the documented threshold is |P_U z| <= 1e-30; a row of norm 1e-20 is representable in
    # float32 (min normal ~1.2e-38) and has a well-defined direction e_2
    z = jnp.asarray([[0.0, 1e-20, 0.0], [0.0, 0.0, 5e-25]], dtype)
    x = project(Constraint(), z)
    # one division by a norm: a few ulps
    assert_close(x, [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], atol=4 * eps(dtype))
