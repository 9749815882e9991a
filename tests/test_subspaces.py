"""Orthonormal bases, principal angles and vectors, subspace pairs (docs/theory.md section 1).

Oracles: ``scipy.linalg.subspace_angles`` and SVDs of scipy's orthonormal bases; round trips
through the pair constructors (whose angles are known exactly, small angles included); and the
hard fact x . y <= cos(theta_1) for unit x in U, y in V.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from hypothesis import example, given
from hypothesis import strategies as st
from testutil import assert_close, gauss

from gapsim import (
    ConfigError,
    Constraint,
    hyperplane_pair,
    orthonormalize,
    principal_angles,
    principal_vectors,
    project,
    subspace_pair,
)
from gapsim.core.subspaces import ZERO_ANGLE_TOL, random_orthogonal

EPS = float(np.finfo(np.float64).eps)
HALF_PI = np.pi / 2

project_jit = jax.jit(project)

seeds = st.integers(0, 2**32 - 1)
dims = st.integers(2, 6)


def projector(q: np.ndarray) -> np.ndarray:
    """Orthogonal projector onto the span of orthonormal columns ``q``."""
    return q @ q.T


def assert_orthonormal_columns(q: np.ndarray, atol: float) -> None:
    assert_close(q.T @ q, np.eye(q.shape[1]), atol=atol)


# ---------------------------------------------------------------------------- orthonormalize


@given(dims, st.integers(1, 6), st.floats(-3.0, 3.0), seeds)
def test_orthonormalize_is_gram_schmidt_of_the_input(d, k, log_scale, seed):
    k = min(k, d)
    b = gauss(seed, 0, d, k) * 10.0 ** (log_scale * np.linspace(-1.0, 1.0, k))  # mixed scales
    q = orthonormalize(b)
    assert q.shape == (d, k)
    assert q.dtype == np.float64
    # Householder QR of <= 6 columns: orthogonality to a few tens of eps
    assert_orthonormal_columns(q, atol=32 * EPS)
    # same span: every input column is reproduced by the projector (relative to its norm)
    col = np.linalg.norm(b, axis=0)
    assert_close((projector(q) @ b) / col, b / col, atol=32 * EPS)
    # Gram-Schmidt order: R = Q^T B is upper triangular with a positive diagonal
    r = (q.T @ b) / col
    assert_close(np.tril(r, -1), 0.0, atol=32 * EPS)
    assert np.all(np.diag(r) > 0)


@given(st.integers(2, 6), st.integers(2, 6), st.integers(0, 5), st.integers(0, 3), seeds)
def test_orthonormalize_rejects_rank_deficient_input(d, k, j, mode, seed):
    k = min(k, d)
    j = j % k  # the dependent column may sit anywhere, first included
    b = gauss(seed, 0, d, k).copy()
    others = np.delete(np.arange(k), j)
    if mode == 0:
        b[:, j] = 0.0
    elif mode == 1:
        b[:, j] = b[:, others[0]]
    elif mode == 2:
        b[:, j] = -2.0 * b[:, others[0]]
    else:  # a small-integer combination of all the others
        coef = np.arange(1, k) * np.where(np.arange(k - 1) % 2, -1.0, 1.0)
        b[:, j] = b[:, others] @ coef
    with pytest.raises(ConfigError) as info:
        orthonormalize(b, "my_basis")
    assert info.value.field == "my_basis"


@pytest.mark.parametrize(
    "b",
    [
        np.ones(3),  # 1-D
        np.ones((2, 3)),  # more columns than rows
        np.ones((3, 0)),  # no columns
        np.ones((2, 2, 2)),
        np.array([[1.0, 0.0], [0.0, np.nan], [0.0, 1.0]]),
        np.array([[1.0, 0.0], [0.0, np.inf], [0.0, 1.0]]),
        np.zeros((3, 1)),
    ],
)
def test_orthonormalize_rejects_bad_shapes_and_values(b):
    with pytest.raises(ConfigError):
        orthonormalize(b)


@given(dims, seeds)
def test_random_orthogonal_is_orthogonal(d, seed):
    q = random_orthogonal(jax.random.key(seed), d)
    assert q.shape == (d, d)
    # QR of a d x d Gaussian matrix: orthogonal to a few tens of eps
    assert_close(q.T @ q, np.eye(d), atol=32 * EPS)
    assert_close(q @ q.T, np.eye(d), atol=32 * EPS)


# ------------------------------------------------------------------------- principal angles


@given(dims, st.integers(1, 6), st.integers(1, 6), seeds)
def test_principal_angles_match_scipy(d, k, m, seed):
    k, m = min(k, d), min(m, d)
    a, b = gauss(seed, 0, d, k), gauss(seed, 1, d, m)
    ours = principal_angles(a, b)
    assert ours.shape == (min(k, m),)
    assert np.all(np.diff(ours) >= 0)
    assert np.all((ours >= 0) & (ours <= HALF_PI))
    # scipy sorts descending; where k + m > d it may take a shared (zero) angle from arccos,
    # which is accurate only to sqrt(2 eps) ~ 2e-8
    assert_close(ours, np.sort(scipy.linalg.subspace_angles(a, b)), atol=1e-7)
    # the cosines exactly: singular values of QA^T QB from scipy's orthonormal bases; the
    # cosine of a small angle is flat, so this checks every angle to ~eps / sin(theta)
    cos_ref = scipy.linalg.svdvals(scipy.linalg.orth(a).T @ scipy.linalg.orth(b))
    assert_close(np.cos(ours), cos_ref, atol=16 * EPS)
    # symmetric in its arguments: the same singular values, to rounding
    assert_close(principal_angles(b, a), ours, atol=16 * EPS)


@st.composite
def prescribed_angles(draw):
    """``(d, thetas)`` with a valid count of zero angles, exact 0, pi/2 and tiny angles."""
    d = draw(dims)
    k = draw(st.integers(1, d))
    n_zero = draw(st.integers(max(0, 2 * k - d), k))  # k + #nonzero <= d
    nonzero = st.one_of(
        st.just(HALF_PI),
        st.just(1e-9),
        st.floats(1e-12, 1e-6),
        st.floats(1e-6, HALF_PI),
        st.floats(np.pi / 4 - 1e-3, np.pi / 4 + 1e-3),  # the sine/cosine switch
    )
    thetas = [0.0] * n_zero + [draw(nonzero) for _ in range(k - n_zero)]
    return d, draw(st.permutations(thetas))


@given(prescribed_angles(), st.one_of(st.none(), seeds))
def test_subspace_pair_round_trip(d_thetas, seed):
    d, thetas = d_thetas
    key = None if seed is None else jax.random.key(seed)
    u, v = subspace_pair(d, thetas, key)
    k = len(thetas)
    assert u.shape == v.shape == (d, k)
    # a frame of cos/sin combinations of orthonormal columns: a few eps
    assert_orthonormal_columns(u, atol=16 * EPS)
    assert_orthonormal_columns(v, atol=16 * EPS)
    # the sine branch resolves small angles to absolute rounding (~1e-16); 1e-12 leaves room
    # for the QR inside principal_angles and still separates 1e-9 from 0
    assert_close(principal_angles(u, v), np.sort(thetas), atol=1e-12)
    if key is None:  # canonical frame: U is spanned by the first k standard basis vectors
        assert_close(u, np.eye(d)[:, :k], atol=0.0)


@given(
    dims,
    st.one_of(st.just(0.0), st.just(HALF_PI), st.floats(1e-12, 1e-6), st.floats(0.0, HALF_PI)),
    st.one_of(st.none(), seeds),
)
def test_hyperplane_pair_round_trip(d, phi, seed):
    key = None if seed is None else jax.random.key(seed)
    u, v = hyperplane_pair(d, phi, key)
    assert u.shape == v.shape == (d, d - 1)
    assert_orthonormal_columns(u, atol=16 * EPS)  # as in test_subspace_pair_round_trip
    assert_orthonormal_columns(v, atol=16 * EPS)
    expected = np.array([0.0] * (d - 2) + [phi])
    assert_close(principal_angles(u, v), expected, atol=1e-12)  # as above
    if key is None:  # the documented layout, exactly
        e = np.eye(d)
        assert_close(u, e[:, : d - 1], atol=0.0)
        assert_close(v[:, : d - 2], e[:, : d - 2], atol=0.0)
        assert_close(v[:, d - 2], np.cos(phi) * e[:, d - 2] + np.sin(phi) * e[:, d - 1], atol=0.0)


@pytest.mark.parametrize(
    ("d", "thetas"),
    [
        (3, [0.1, 0.2]),  # two non-zero angles of 2-dim subspaces need d >= 4
        (2, [0.0, 0.5]),  # needs d >= 3
        (1, [0.3]),
        (5, [0.1, 0.2, 0.3]),  # needs 6
        (4, [-0.1]),
        (4, [-1e-300]),
        (4, [float(np.nextafter(HALF_PI, 4.0))]),
        (4, [2.0]),
        (4, [np.nan]),
        (4, [np.inf]),
        (4, []),
        (2, [0.0, 0.0, 0.0]),  # more angles than dimensions
    ],
)
def test_subspace_pair_rejects_bad_input(d, thetas):
    with pytest.raises(ConfigError) as info:
        subspace_pair(d, thetas)
    assert info.value.field == "thetas"


@given(st.integers(1, 4), st.integers(1, 4), seeds)
def test_subspace_pair_rejects_too_few_dims(k, nonzero, seed):
    nonzero = min(nonzero, k)
    thetas = [0.0] * (k - nonzero) + [0.5] * nonzero
    with pytest.raises(ConfigError):
        subspace_pair(k + nonzero - 1, thetas, jax.random.key(seed))
    u, v = subspace_pair(k + nonzero, thetas, jax.random.key(seed))  # just enough: fine
    assert u.shape == (k + nonzero, k)


@pytest.mark.parametrize(
    ("d", "phi", "field"),
    [(1, 0.1, "dim"), (3, -0.1, "phi"), (3, 1.6, "phi"), (3, np.nan, "phi"), (3, 4.0, "phi")],
)
def test_hyperplane_pair_rejects_bad_input(d, phi, field):
    with pytest.raises(ConfigError) as info:
        hyperplane_pair(d, phi)
    assert info.value.field == field


def test_principal_angles_rejects_mismatched_rows():
    with pytest.raises(ConfigError):
        principal_angles(np.eye(3)[:, :2], np.eye(4)[:, :2])


# ------------------------------------------------------------------------ principal vectors


@given(dims, st.integers(1, 6), st.integers(1, 6), seeds)
def test_principal_vectors(d, k, m, seed):
    k, m = min(k, d), min(m, d)
    a, b = gauss(seed, 0, d, k), gauss(seed, 1, d, m)
    pv = principal_vectors(a, b)
    r = min(k, m)
    assert pv.u.shape == pv.v.shape == (d, r)
    # the same function on bases orthonormalised once more: equal to rounding
    assert_close(pv.angles, principal_angles(a, b), atol=16 * EPS)
    # products of orthonormal factors (QR, SVD) of <= 6 x 6 matrices: a few tens of eps
    tol = 32 * EPS
    assert_orthonormal_columns(pv.u, atol=tol)
    assert_orthonormal_columns(pv.v, atol=tol)
    assert_close(pv.u.T @ pv.v, np.diag(np.cos(pv.angles)), atol=tol)
    qa, qb = scipy.linalg.orth(a), scipy.linalg.orth(b)
    assert_close(projector(qa) @ pv.u, pv.u, atol=tol)
    assert_close(projector(qb) @ pv.v, pv.v, atol=tol)


@given(st.integers(3, 6), st.floats(1e-6, HALF_PI), seeds)
@example(d=4, phi=1e-6, seed=0)
def test_principal_vectors_of_zero_angles_span_the_intersection(d, phi, seed):
    # hyperplanes: C = U ∩ V has dimension d - 2 and is spanned by the u with angle ~0
    # (ZERO_ANGLE_TOL = 1e-8 < phi), as principal_vectors documents
    u, v = hyperplane_pair(d, phi, jax.random.key(seed))
    pv = principal_vectors(u, v)
    shared = pv.u[:, pv.angles < ZERO_ANGLE_TOL]
    assert shared.shape == (d, d - 2)
    # C from the pair itself: the null space of [U, -V] gives the common vectors
    ns = scipy.linalg.null_space(np.concatenate([u, -v], axis=1))
    c = scipy.linalg.orth(u @ ns[: d - 1])
    # U ∩ V moves by ~eps / sin(phi) when U, V move by eps, so that is what an accurate method
    # (here the SVD null space) achieves; equal projectors to that
    assert_close(projector(shared), projector(c), atol=64 * EPS / np.sin(phi))


# ----------------------------------------------------------------------------- the hard fact


@given(dims, st.integers(1, 6), st.integers(1, 6), seeds)
def test_paired_cosine_bounded_by_smallest_principal_angle(d, k, m, seed):
    k, m = min(k, d), min(m, d)
    a, b = gauss(seed, 0, d, k), gauss(seed, 1, d, m)
    theta_1 = principal_angles(a, b)[0]
    cu, cv = Constraint.make(d, basis=a), Constraint.make(d, basis=b)
    x = np.asarray(project_jit(cu, jnp.asarray(gauss(seed, 2, 64, d))))
    y = np.asarray(project_jit(cv, jnp.asarray(gauss(seed, 3, 64, d))))
    # x, y unit and in U, V to a few eps; a dot product of 6 terms and cos(theta_1) add a few more
    tol = 16 * EPS
    assert np.max(x @ y.T) <= np.cos(theta_1) + tol
    # the bound is attained by the first principal vectors
    pv = principal_vectors(a, b)
    assert_close(pv.u[:, 0] @ pv.v[:, 0], np.cos(theta_1), atol=tol)
