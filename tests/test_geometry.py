"""Constraint sets and their projections (docs/theory.md section 1), and sampling inside caps.

Every constraint kind is checked for what defines its projection: the output lies in the set
(unit norm, in U, in the cap), the map is idempotent, it is the nearest point of the set
(fixed-axis kinds, against random feasible points and feasible points near the answer), and it
never returns NaN (zero rows, rows orthogonal to U, antipodal points; derivatives too).

Speed: compiling a projection costs ~0.3 s per new shape and kind, so the hypothesis tests call
module-level jitted wrappers, check several properties per example, and draw all random numbers
from one fixed-shape Gaussian pool (compiled once) sliced to size.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st
from testutil import assert_close, gauss

from gapsim import ConfigError, Constraint, project, tangent, uniform_in_cap
from gapsim.core.sets import cap_axis

KINDS = (
    "sphere",
    "fixed_cap",
    "learned_cap",
    "subspace",
    "subspace_fixed_cap",
    "subspace_learned_cap",
)
FIXED_AXIS_KINDS = ("sphere", "fixed_cap", "subspace", "subspace_fixed_cap")
FIXED_CAP_KINDS = ("fixed_cap", "subspace_fixed_cap")
FREE_CAP_KINDS = ("learned_cap", "subspace_learned_cap")
DTYPES = ("float32", "float64")
EPS64 = float(np.finfo(np.float64).eps)

project_jit = jax.jit(project)
tangent_jit = jax.jit(tangent)
grad_of_sum = jax.jit(jax.grad(lambda c, z: jnp.sum(project(c, z)), argnums=1))
jvp_of_project = jax.jit(lambda c, z, v: jax.jvp(lambda w: project(c, w), (z,), (v,))[1])


def eps(dtype) -> float:
    """Machine epsilon of ``dtype``."""
    return float(np.finfo(np.dtype(dtype)).eps)


def np64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def normalize(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


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
def setups(draw, kinds=KINDS) -> Setup:
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
        dtype=draw(st.sampled_from(DTYPES)),
    )


def build(s: Setup) -> tuple[Constraint, jax.Array, np.ndarray | None]:
    """The constraint, a random input ``z`` and the user's raw (not orthonormal) basis."""
    raw = None
    if s.kind.startswith("subspace"):
        raw = gauss(s.seed, 0, s.d, s.k).copy()
        if s.aligned:  # U = span(e_1..e_k) exactly, so e_d is exactly orthogonal to U when k < d
            raw[s.k :] = 0.0
    axis = "learned"
    if s.kind in FIXED_CAP_KINDS:
        axis = gauss(s.seed, 1, 1, s.d)[0]
    cap = s.alpha if "cap" in s.kind else None
    c = Constraint.make(s.d, raw, cap, axis, s.dtype)
    z = jnp.asarray(gauss(s.seed, 2, s.n, s.d) * 10.0**s.log_scale, s.dtype)
    return c, z, raw


def basis_of(c: Constraint, d: int) -> np.ndarray:
    return np.eye(d) if c.basis is None else np64(c.basis)


def in_cap_points(axis: np.ndarray, q: np.ndarray, theta: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Rows ``cos(theta) axis + sin(theta) u``; u: unit part of ``g @ q.T`` orthogonal to axis."""
    t = g @ q.T
    for _ in range(2):  # Gram-Schmidt twice: orthogonal to the axis to rounding
        t = t - (t @ axis)[:, None] * axis[None, :]
    return np.cos(theta)[:, None] * axis[None, :] + np.sin(theta)[:, None] * normalize(t)


def check_in_set(c: Constraint, x, s: Setup) -> None:
    """``x`` is finite, unit-norm, in U and inside the cap (around its learnable axis if any)."""
    e = eps(s.dtype)
    assert x.dtype == jnp.dtype(s.dtype)
    x64 = np64(x)
    assert np.all(np.isfinite(x64))
    # one division by a norm over <= 6 squares, maybe followed by the rim formula: a few ulps
    assert_close(np.linalg.norm(x64, axis=1), 1.0, atol=8 * e)
    # the stored basis is orthonormal only to the dtype's rounding; the rim formula adds a few ulps
    q = basis_of(c, s.d)
    assert_close(x64 @ q @ q.T, x64, atol=16 * e)
    if c.cap_cos is None:
        return
    cos_a = float(c.cap_cos)
    if c.axis is not None:
        # x . c against the stored cos: the rim point is cos*c + sin*t to a few ulps
        assert np.all(x64 @ np64(c.axis) >= cos_a - 8 * e)
    else:
        # the learnable axis of the set: the rows fit in the cap around it (rim formula: ulps)
        axis = np64(cap_axis(c, x))
        assert np.all(x64 @ axis >= cos_a - 16 * e)


def check_idempotent(c: Constraint, x, s: Setup) -> None:
    e = eps(s.dtype)
    if s.kind in FREE_CAP_KINDS:
        # renormalising x may leave a rim point up to ~10 eps outside (the stopping tolerance);
        # the repair rotates it by that much over sin(alpha), and the mean moves by no more
        tol = 40 * e / np.sin(s.alpha)
    else:
        # a second normalisation / Q Q^T / rim formula of a point already in the set: a few ulps
        tol = 16 * e
    assert_close(project_jit(c, x), x, atol=tol)


def feasible_points(c: Constraint, s: Setup, m: int) -> np.ndarray:
    """``m`` random points of a fixed-axis set, half of them on the cap's rim; no ``project``."""
    # a float32 basis is orthonormal only to float32 rounding: points built from it would leave
    # its span by ~1e-5; a float64 QR of it spans the same U exactly
    q = np.linalg.qr(basis_of(c, s.d))[0]
    g = gauss(s.seed, 3, m, q.shape[1])
    if c.cap_cos is None:
        return normalize(g @ q.T)
    alpha = float(np.arccos(np64(c.cap_cos)))
    theta = alpha * scipy.special.ndtr(gauss(s.seed, 4, m, 1)[:, 0])
    theta[: m // 2] = alpha
    return in_cap_points(normalize(np64(c.axis)), q, theta, g)


def check_nearest(c: Constraint, z, p, s: Setup) -> None:
    """``p`` is no farther from ``z`` than random feasible points, far and near."""
    far = feasible_points(c, s, 256)
    # feasible points near p (their feasibility is what check_in_set tests)
    near = [
        np64(project_jit(c, p + jnp.asarray(scale * gauss(s.seed, 5 + i, s.n, s.d), s.dtype)))
        for i, scale in enumerate((1e-1, 1e-2, 1e-3))
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


def check_learned_cap_keeps_valid_points(c: Constraint, s: Setup) -> None:
    # points within alpha/2 of an axis: their mean lies in that (convex) cap, so each point is
    # within alpha of the mean direction, where the axis search starts: the set holds them
    q = basis_of(c, s.d)
    axis = normalize(gauss(s.seed, 8, 1, q.shape[1])[0] @ q.T)
    theta = s.alpha / 2 * scipy.special.ndtr(gauss(s.seed, 9, s.n, 1)[:, 0])
    x = in_cap_points(axis, q, theta, gauss(s.seed, 10, s.n, q.shape[1]))
    x = jnp.asarray(x, s.dtype)
    x = x / jnp.linalg.norm(x, axis=1, keepdims=True)
    # unchanged up to the renormalisation inside project (a few ulps)
    assert_close(project_jit(c, x), x, atol=8 * eps(s.dtype))


def check_tangent(c: Constraint, x, s: Setup) -> None:
    v = jnp.asarray(gauss(s.seed, 11, s.n, s.d), s.dtype)
    t = tangent_jit(c, x, v)
    x64, v64, t64 = np64(x), np64(v), np64(t)
    q = basis_of(c, s.d)
    pv = v64 @ q @ q.T  # oracle: (P_U - x x^T) v row by row in float64
    expected = pv - np.sum(x64 * pv, axis=1, keepdims=True) * x64
    scale = 1 + np.linalg.norm(v64, axis=1, keepdims=True)
    # a few roundings per entry of sums over <= 6 terms, relative to |v|; the dtype's basis is
    # orthonormal only to ~eps
    e = 32 * eps(s.dtype)
    assert_close(t64 / scale, expected / scale, atol=e)
    assert_close(np.sum(x64 * t64, axis=1) / scale[:, 0], 0.0, atol=e)
    assert_close(t64 @ q @ q.T / scale, t64 / scale, atol=e)
    assert_close(np64(tangent_jit(c, x, t)) / scale, t64 / scale, atol=e)


def reference_point(c: Constraint, raw: np.ndarray | None, d: int) -> np.ndarray:
    """The documented image of a zero row, computed from the user's inputs."""
    if c.axis is not None:
        return np64(c.axis)
    if raw is not None:  # first basis vector of U: the user's first column, normalised
        return normalize(raw[:, 0])
    return np.eye(d)[0]


def orthogonal_row(c: Constraint, d: int) -> np.ndarray | None:
    """A non-zero row whose projection onto U is exactly zero, if the basis allows one."""
    if c.basis is None or c.basis.shape[1] == d:
        return None
    if not np.all(np64(c.basis)[c.basis.shape[1] :] == 0):  # orthogonal only up to rounding
        return None
    return 3.0 * np.eye(d)[d - 1]


def with_degenerate_rows(c: Constraint, z: jax.Array) -> jax.Array:
    """``z`` followed by a zero row and, where U allows it, a row exactly orthogonal to U."""
    orth = orthogonal_row(c, z.shape[1])
    extra = [np.zeros(z.shape[1])] + ([] if orth is None else [orth])
    return jnp.concatenate([z, jnp.asarray(np.stack(extra), z.dtype)])


@given(setups())
def test_project_is_the_projection(s):
    c, z, raw = build(s)
    z = with_degenerate_rows(c, z)
    n_random, s = s.n, s._replace(n=z.shape[0])
    x = project_jit(c, z)
    assert x.shape == z.shape
    check_in_set(c, x, s)
    check_idempotent(c, x, s)
    if s.kind in FIXED_AXIS_KINDS:
        # zero policy: degenerate rows map to the reference point, which is stored in the dtype
        ref = reference_point(c, raw, s.d)
        assert_close(x[n_random:], np.broadcast_to(ref, x[n_random:].shape), atol=4 * eps(s.dtype))
        check_nearest(c, z, x, s)
    else:
        check_learned_cap_keeps_valid_points(c, s)
    check_tangent(c, x, s)


@pytest.mark.parametrize(
    ("kind", "d", "k", "dtype"),
    [
        ("sphere", 3, 3, "float32"),
        ("fixed_cap", 2, 2, "float32"),
        ("fixed_cap", 2, 2, "float64"),
        ("learned_cap", 3, 3, "float64"),
        ("subspace", 4, 2, "float64"),
        ("subspace_fixed_cap", 4, 3, "float32"),
        ("subspace_fixed_cap", 4, 3, "float64"),
        ("subspace_learned_cap", 4, 3, "float32"),
    ],
)
def test_derivatives_finite_at_degenerate_rows(kind, d, k, dtype):
    s = Setup(kind, d, k, n=3, alpha=1.0, log_scale=0.0, aligned=True, seed=10 * d + k, dtype=dtype)
    c, z, _ = build(s)
    z = with_degenerate_rows(c, z)  # zero row, and a row orthogonal to U for the subspaces
    if c.axis is not None:  # the antipode of a fixed axis, at two scales
        z = jnp.concatenate([z, -c.axis[None, :], -3.0 * c.axis[None, :]])
    if kind in FIXED_AXIS_KINDS:
        g = grad_of_sum(c, z)
    else:  # the learnable axis is a lax.while_loop: forward mode is the derivative JAX offers
        g = jvp_of_project(c, z, jnp.ones_like(z))
    assert g.shape == z.shape
    assert g.dtype == jnp.dtype(dtype)
    assert np.all(np.isfinite(np64(g)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("kind", "d", "k", "alpha"),
    [
        ("fixed_cap", 2, 2, 1.0),
        ("fixed_cap", 3, 3, 0.2),
        ("fixed_cap", 6, 6, 2.5),
        ("subspace_fixed_cap", 3, 2, 1.0),
        ("subspace_fixed_cap", 6, 4, 0.7),
    ],
)
def test_antipodal_and_near_antipodal_points_go_to_the_rim(kind, d, k, alpha, dtype):
    # every rim point is a nearest point of the cap to -c; near -c the nearest point is the rim
    # point towards the offset. Whatever direction rounding picks there, the answer must be a
    # unit vector on the rim: both hold to a few ulps for cos(a) c + sin(a) t with t a unit
    # vector orthogonal to c. Random axes and bases from several seeds.
    rows, axes = [], []
    for seed in range(4):
        c, _, _ = build(Setup(kind, d, k, 1, alpha, 0.0, False, seed, dtype))
        q, a = basis_of(c, d), np64(c.axis)
        w = gauss(seed, 12, 1, q.shape[1])[0] @ q.T
        w = normalize(w - (w @ a) * a)
        z = [-a, -2.5 * a] + [-a + delta * w for delta in (1e-12, 1e-9, 1e-6)]
        x = np64(project_jit(c, jnp.asarray(np.stack(z), dtype)))
        rows.append(x)
        axes.append(np.broadcast_to(x @ np64(c.axis), (len(z),)))
    x, xc = np.concatenate(rows), np.concatenate(axes)
    e = eps(dtype)
    assert_close(np.linalg.norm(x, axis=1), 1.0, atol=8 * e)
    assert_close(xc, float(c.cap_cos), atol=8 * e)


@pytest.mark.parametrize("dtype", DTYPES)
def test_antipode_of_axis_is_a_unit_rim_point_example(dtype):
    # explicit reproducer: axis (0.3, -0.2, 0.9)/|.|, alpha = 1, z = -axis
    c = Constraint.make(3, cap_angle=1.0, axis=np.array([0.3, -0.2, 0.9]), dtype=dtype)
    x = np64(project(c, -c.axis[None, :]))[0]
    # unit rim point cos(a) c + sin(a) t: a few ulps
    assert_close(np.linalg.norm(x), 1.0, atol=8 * eps(dtype))
    assert_close(x @ np64(c.axis), np.cos(1.0), atol=8 * eps(dtype))


@pytest.mark.parametrize(("subspace", "dtype"), [(False, "float32"), (True, "float64")])
def test_learned_cap_all_zero_input_maps_to_reference(subspace, dtype):
    d = 4
    raw = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 1.0], [0.0, 0.0]]) if subspace else None
    c = Constraint.make(d, raw, cap_angle=0.4, axis="learned", dtype=dtype)
    x = project(c, jnp.zeros((3, d), dtype))
    ref = normalize(raw[:, 0]) if subspace else np.eye(d)[0]
    # the reference point is stored in the dtype, hence equal up to its rounding
    assert_close(x, np.broadcast_to(ref, (3, d)), atol=4 * eps(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_tiny_rows_are_normalised_not_replaced(dtype):
    # the documented threshold is |P_U z| <= 1e-30; rows of norm 1e-20 and 5e-25 are normal
    # float32 numbers (min normal ~1.2e-38) with well-defined directions e_2 and e_3
    z = jnp.asarray([[0.0, 1e-20, 0.0], [0.0, 0.0, 5e-25]], dtype)
    x = project(Constraint(), z)
    # one division by a norm: a few ulps
    assert_close(x, [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], atol=4 * eps(dtype))


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


# Archimedes: on S^2 the height x . c of a uniform point is uniform, so in a cap it is uniform on
# [cos a, 1]. A wrong polar density (e.g. a uniform angle) is rejected by KS with p ~ 0 at this n.
KS_N = 4000
KS_SIGNIFICANCE = 1e-3  # fixed seeds: a correct sampler fails one case with probability 1e-3


@pytest.mark.parametrize(
    ("d", "k", "alpha", "seed", "dtype"),
    [
        (2, 2, 1.0, 0, "float32"),
        (2, 2, 1.0, 0, "float64"),
        (3, 3, 0.3, 1, "float32"),
        (3, 3, 0.3, 1, "float64"),
        (4, 2, 2.0, 2, "float64"),
        (5, 3, 0.05, 3, "float64"),
        (6, 4, np.pi, 4, "float32"),
    ],
)
def test_uniform_in_cap_lands_in_cap(d, k, alpha, seed, dtype):
    # compiling the sampler costs ~0.6 s per shape, so a fixed grid (shapes shared with the KS
    # tests below) rather than hypothesis; KS_N points make near-degenerate draws likely
    q = np.linalg.qr(gauss(seed, 0, d, k))[0]
    axis = jnp.asarray(normalize(q @ gauss(seed, 1, 1, k)[0]), dtype)
    basis = None if k == d else jnp.asarray(q, dtype)
    x = np64(uniform_in_cap(jax.random.key(seed), KS_N, axis, alpha, basis))
    e = eps(dtype)
    assert x.shape == (KS_N, d)
    assert np.all(np.isfinite(x))
    # cos/sin of the polar angle times orthonormal unit vectors: a few ulps of the dtype
    assert np.all(x @ np64(axis) >= np.cos(alpha) - 8 * e)
    assert_close(x @ q @ q.T, x, atol=16 * e)
    assert_close(np.linalg.norm(x, axis=1), 1.0, atol=8 * e)


def ks_pvalue(sample: np.ndarray, lo: float, hi: float) -> float:
    return float(scipy.stats.kstest(sample, scipy.stats.uniform(lo, hi - lo).cdf).pvalue)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("alpha", "seed"), [(0.3, 0), (1.2, 1), (2.5, 2), (np.pi, 3)])
def test_uniform_in_cap_archimedes_ks(alpha, seed, dtype):
    axis = jnp.asarray(np.array([1.0, 2.0, 2.0]) / 3.0, dtype)
    x = np64(uniform_in_cap(jax.random.key(seed), KS_N, axis, alpha, None))
    assert ks_pvalue(x @ np64(axis), np.cos(alpha), 1.0) > KS_SIGNIFICANCE


@pytest.mark.parametrize(("alpha", "seed"), [(0.7, 10), (2.0, 11)])
def test_uniform_in_cap_archimedes_ks_in_subspace(alpha, seed):
    # a 3-dim subspace of R^5: the cap lives on the 2-sphere of U, so Archimedes holds there
    q = np.linalg.qr(gauss(seed, 0, 5, 3))[0]
    axis = jnp.asarray(q @ np.array([0.0, 0.6, 0.8]))
    x = np64(uniform_in_cap(jax.random.key(seed), KS_N, axis, alpha, jnp.asarray(q)))
    assert ks_pvalue(x @ np64(axis), np.cos(alpha), 1.0) > KS_SIGNIFICANCE


def test_uniform_in_cap_circle_has_uniform_angle():
    # k = 2 (a plane in R^4): the density sin^0 is flat, so the polar angle is uniform on [0, a]
    alpha = 1.1
    q = np.eye(4)[:, 1:3]
    axis = jnp.asarray(np.array([0.0, 0.8, 0.6, 0.0]))
    x = np64(uniform_in_cap(jax.random.key(20), KS_N, axis, alpha, jnp.asarray(q)))
    theta = np.arccos(np.clip(x @ np64(axis), -1.0, 1.0))
    assert ks_pvalue(theta, 0.0, alpha) > KS_SIGNIFICANCE
