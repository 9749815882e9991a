"""Post-hoc alignment (gapsim.alignment) against the identities of docs/theory.md 2.3, 4 and 5.

Data with the exact pair structure of Yi et al. is built in a random frame of
``gapsim.hyperplane_pair`` / ``gapsim.subspace_pair``; every check is an exact identity, so the
tolerances are a few hundred ulps of float64 unless a comment says otherwise. Shapes are fixed
(N, D) so that the jitted measures compile once.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gapsim
from gapsim.alignment import (
    DEGENERATE_NORM,
    AlignResult,
    data_basis,
    gap_shift,
    gap_shift_curve,
    hyperplane_rotation,
    inject_gap,
    mean_removal,
    ssp,
    ssp_from_bases,
)
from gapsim.errors import ConfigError

N, D = 24, 6
seeds = st.integers(0, 2**31 - 1)
_measures = jax.jit(gapsim.measures)  # eager measures compile op by op: seconds per shape


def _unit(z: np.ndarray) -> np.ndarray:
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _normal(seed: int, n: int, d: int) -> np.ndarray:
    return np.asarray(jax.random.normal(jax.random.key(seed), (n, d), dtype=np.float64))


def _pair_structured(seed: int, thetas, same_private: bool):
    """Unit x_i in U, y_i in V with P_C x_i = P_C y_i and b_i = +-a_i (docs/theory.md 2.3).

    ``x = c + sum_j a_j u_j``, ``y = c + sum_j b_j v_j`` over the non-zero principal angles, with
    ``b = a`` (``same_private``) or ``b = s * a`` for random signs s (then P_C x = P_C y still
    holds, because ||c||^2 = 1 - ||a||^2 = 1 - ||b||^2, but a != b).
    """
    k_frame, k_c, k_a, k_s = jax.random.split(jax.random.key(seed), 4)
    qu, qv = gapsim.subspace_pair(D, thetas, k_frame)
    pv = gapsim.principal_vectors(qu, qv)
    shared = pv.angles < 1e-8
    c_basis, ua, vb = pv.u[:, shared], pv.u[:, ~shared], pv.v[:, ~shared]
    p = ua.shape[1]
    # private coordinates bounded away from 0 and from 1 so that every direction carries energy
    a = np.asarray(jax.random.uniform(k_a, (N, p), minval=0.2, maxval=0.5)) / np.sqrt(p)
    a = a * np.where(np.asarray(jax.random.bernoulli(k_a, 0.5, (N, p))), 1.0, -1.0)
    b = (
        a
        if same_private
        else a * np.where(np.asarray(jax.random.bernoulli(k_s, 0.5, (N, p))), 1.0, -1.0)
    )
    c = _unit(np.asarray(jax.random.normal(k_c, (N, c_basis.shape[1]))))
    c = c * np.sqrt(1 - np.sum(a**2, axis=1, keepdims=True))
    x = c @ c_basis.T + a @ ua.T
    y = c @ c_basis.T + b @ vb.T
    return x, y, qu, qv, c_basis


def _random_pairs(seed: int, noise: float = 0.5):
    x = _unit(_normal(seed, N, D))
    return x, _unit(x + noise * _normal(seed + 1, N, D))


# --------------------------------------------------------------------------------------------
# orthogonal gap injection (docs/theory.md 5)
# --------------------------------------------------------------------------------------------


@given(seed=seeds, g=st.floats(0.0, 0.99))
def test_orthogonal_gap_keeps_every_cross_modal_ranking(seed, g):
    x, y = _random_pairs(seed)
    x, y = np.hstack([x, np.zeros((N, 1))]), np.hstack([y, np.zeros((N, 1))])
    u = np.eye(D + 1)[-1]
    xg, yg = inject_gap(x, y, g, u)
    s0, s = x @ y.T, xg @ yg.T
    # exact identity; each entry is a sum of D+1 products: a few ulps
    np.testing.assert_allclose(s, (1 - g**2) * s0 - g**2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(xg, axis=1), 1.0, rtol=0, atol=1e-14)
    # every row and column ranking is unchanged (random data: no near-ties at this scale)
    np.testing.assert_array_equal(np.argsort(s, axis=1), np.argsort(s0, axis=1))
    np.testing.assert_array_equal(np.argsort(s, axis=0), np.argsort(s0, axis=0))
    # the centroids move apart by exactly 2g along u
    gap = xg.mean(axis=0) - yg.mean(axis=0)
    np.testing.assert_allclose(gap[-1], 2 * g, rtol=0, atol=1e-14)


# --------------------------------------------------------------------------------------------
# Liang et al.: shift along the gap vector
# --------------------------------------------------------------------------------------------


def test_gap_shift_lambda_zero_is_the_identity():
    x, y = _random_pairs(0)
    r = gap_shift(x, y, 0.0)
    assert isinstance(r, AlignResult)
    # only the renormalisation of rows of norm 1 +- 1e-16 acts: a few ulps
    np.testing.assert_allclose(r.x, x, rtol=0, atol=1e-15)
    np.testing.assert_allclose(r.y, y, rtol=0, atol=1e-15)
    for k, v in r.before.items():
        assert r.after[k] == pytest.approx(v, rel=1e-12, abs=1e-14), k


@given(seed=seeds, lam=st.floats(-2.0, 2.0))
def test_gap_shift_moves_the_raw_centroids_by_lambda(seed, lam):
    x, y = _random_pairs(seed)
    y = _unit(y + np.array([1.0, 0.5, 0, 0, 0, 0])[None, :])  # a definite gap
    r = gap_shift(x, y, lam)
    delta = x.mean(axis=0) - y.mean(axis=0)
    np.testing.assert_allclose(r.info["gap_vector"], delta, rtol=0, atol=1e-15)
    raw_x, raw_y = r.x * r.info["norm_x"][:, None], r.y * r.info["norm_y"][:, None]
    # brute-force reference for the unnormalised shift (sums of O(1) terms: 1e-14)
    np.testing.assert_allclose(raw_x, x - lam * delta / 2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(raw_y, y + lam * delta / 2, rtol=0, atol=1e-14)
    # before renormalising, the means differ by (1 - lam) Delta: equal at lam = 1
    np.testing.assert_allclose(
        raw_x.mean(axis=0) - raw_y.mean(axis=0), (1 - lam) * delta, rtol=0, atol=1e-14
    )
    np.testing.assert_allclose(np.linalg.norm(r.x, axis=1), 1.0, rtol=0, atol=1e-15)


def test_gap_shift_lambda_one_equalises_raw_centroids():
    x, y = _random_pairs(3)
    y = _unit(y + np.array([0, 0, 2.0, 0, 0, 0])[None, :])
    r = gap_shift(x, y, 1.0)
    raw_x, raw_y = r.x * r.info["norm_x"][:, None], r.y * r.info["norm_y"][:, None]
    np.testing.assert_allclose(raw_x.mean(axis=0), raw_y.mean(axis=0), rtol=0, atol=1e-15)
    # after renormalising the gap is smaller, though not zero (row norms differ)
    assert r.after["centroid_distance"] < 0.5 * r.before["centroid_distance"]


def test_gap_shift_curve_matches_pointwise_loss():
    x, y = _random_pairs(5, noise=0.2)
    y = _unit(y + np.array([0, 1.5, 0, 0, 0, 0])[None, :])
    lams = np.linspace(-1, 1, 9)
    curve = gap_shift_curve(x, y, 0.1, lams)
    np.testing.assert_array_equal(curve.lambdas, lams)
    for lam, loss, dist in zip(lams, curve.losses, curve.centroid_distance, strict=True):
        r = gap_shift(x, y, float(lam), tau=0.1)
        # same float64 formula, vmapped vs not: rounding only
        assert loss == pytest.approx(r.after["loss"], rel=1e-12)
        assert dist == pytest.approx(r.after["centroid_distance"], rel=1e-12, abs=1e-15)
    # negative lambda widens the gap, positive closes it
    assert curve.centroid_distance[0] > curve.centroid_distance[4] > curve.centroid_distance[-1]


def test_gap_shift_curve_blocked_equals_one_matrix_per_shift():
    # the memory fix (issue 23): the grid is evaluated one shift at a time, with row blocks of
    # the logits; the former form vmapped over the grid with the dense N x N logits (one
    # matrix per shift). Same float64 formula, sums in another order: 1e-10 relative.
    from gapsim.alignment.shift import _shift
    from gapsim.core.loss import infonce

    x, y = _random_pairs(3, noise=0.3)
    y = _unit(y + np.array([0, 1.0, 0, 0, 0, 0])[None, :])
    lams = np.linspace(-1, 1, 7)

    def dense(lam):
        xn, yn, *_ = _shift(jax.numpy.asarray(x), jax.numpy.asarray(y), lam)
        return infonce(xn, yn, 10.0, block_size=x.shape[0])  # block >= N: the dense kernel

    with jax.enable_x64(True):
        ref = np.asarray(jax.vmap(dense)(jax.numpy.asarray(lams)))
    for block in (0, 3, 8):  # automatic (dense at this N), and two row-block sizes
        curve = gap_shift_curve(x, y, 0.1, lams, block_size=block)
        np.testing.assert_allclose(curve.losses, ref, rtol=1e-10, atol=0)


# --------------------------------------------------------------------------------------------
# mean removal
# --------------------------------------------------------------------------------------------


def test_mean_removal_zeroes_the_raw_means():
    x, y = _random_pairs(7)
    y = _unit(y + np.array([1.0, 0, 0, 0, 0, 0])[None, :])
    r = mean_removal(x, y)
    raw_x, raw_y = r.x * r.info["norm_x"][:, None], r.y * r.info["norm_y"][:, None]
    np.testing.assert_allclose(raw_x.mean(axis=0), 0.0, rtol=0, atol=1e-15)  # ulps of O(1)
    np.testing.assert_allclose(raw_y.mean(axis=0), 0.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(r.info["mean_x"], x.mean(axis=0), rtol=0, atol=0)
    assert r.after["centroid_distance"] < r.before["centroid_distance"]


# --------------------------------------------------------------------------------------------
# Yi et al.: shared space projection and rotation
# --------------------------------------------------------------------------------------------


@given(seed=seeds, phi=st.floats(0.3, np.pi / 2))
def test_ssp_from_bases_aligns_pairs_with_equal_shared_parts(seed, phi):
    x, y, qu, qv, _ = _pair_structured(seed, [0.0] * (D - 2) + [phi], same_private=False)
    r = ssp_from_bases(x, y, qu, qv)
    assert r.info["shared_dim"] == D - 2
    # P_C x = P_C y to rounding, so the renormalised rows agree to a few ulps
    np.testing.assert_allclose(r.x, r.y, rtol=0, atol=1e-13)
    assert r.after["paired_cosine_min"] == pytest.approx(1.0, abs=1e-13)
    assert r.before["paired_cosine_min"] < 1 - 1e-3  # a_i != 0: the pairs were not aligned


def test_ssp_from_bases_general_subspaces_and_top_k():
    # 4-dim subspaces of R^6 with angles (0, 0, 0.5, 0.9): C is 2-dim
    x, y, qu, qv, c_basis = _pair_structured(11, [0.0, 0.0, 0.5, 0.9], same_private=False)
    r = ssp_from_bases(x, y, qu, qv, k=1)
    assert r.info["shared_dim"] == 2
    assert r.info["basis"].shape == (D, 1)
    # the kept direction lies in C (angle 0 to rounding)
    assert gapsim.principal_angles(r.info["basis"], c_basis)[0] < 1e-7
    assert r.after["paired_cosine_min"] == pytest.approx(1.0, abs=1e-13)


@given(seed=seeds, k=st.sampled_from([None, 1, 2]))
def test_ssp_from_data_recovers_the_shared_subspace(seed, k):
    x, y, _, _, c_basis = _pair_structured(seed, [0.0] * (D - 2) + [0.8], same_private=False)
    r = ssp(x, y, k=k)
    # the data span their hyperplanes exactly (every direction carries >= 1% of the energy)
    assert r.info["rank_x"] == r.info["rank_y"] == D - 1
    assert r.info["shared_dim"] == D - 2
    assert r.info["basis"].shape[1] == (D - 2 if k is None else k)
    # estimated shared directions lie in C: SVD of exact data, errors of 1e-15 / sigma_min
    assert gapsim.principal_angles(r.info["basis"], c_basis)[-1] < 1e-7
    assert np.all(np.diff(r.info["projected_energy"]) <= 0)
    assert r.after["paired_cosine_min"] == pytest.approx(1.0, abs=1e-12)


def test_data_basis_variance_cut_and_no_centring():
    # points in a narrow cone around e_1 (the cone effect): the mean direction must be kept
    z = _unit(np.array([1.0, 0, 0, 0, 0, 0])[None, :] + 0.05 * _normal(2, N, D))
    b = data_basis(z, 0.99)
    assert gapsim.principal_angles(b, np.eye(D)[:, :1])[0] < 0.05  # e_1 is (nearly) in span
    assert b.shape[1] < D
    np.testing.assert_allclose(b.T @ b, np.eye(b.shape[1]), rtol=0, atol=1e-14)  # orthonormal
    assert data_basis(z, 0.5).shape[1] == 1


def test_ssp_zero_shared_projection_is_flagged_not_nan():
    x, y, qu, qv, _ = _pair_structured(4, [0.0] * (D - 2) + [0.8], same_private=True)
    pv = gapsim.principal_vectors(qu, qv)
    x[0], y[0] = pv.u[:, -1], pv.v[:, -1]  # P_C x_0 = P_C y_0 = 0
    r = ssp_from_bases(x, y, qu, qv)
    assert np.all(np.isfinite(r.x))
    assert np.all(np.isfinite(r.y))
    assert r.info["degenerate_x"] == r.info["degenerate_y"] == 1
    assert r.info["norm_x"][0] < DEGENERATE_NORM
    np.testing.assert_allclose(r.x[0], r.info["basis"][:, 0], rtol=0, atol=0)  # fallback point


@given(seed=seeds, phi=st.floats(0.05, np.pi / 2), estimate=st.booleans())
def test_rotation_aligns_the_pair_structure(seed, phi, estimate):
    x, y, qu, qv, c_basis = _pair_structured(seed, [0.0] * (D - 2) + [phi], same_private=True)
    r = hyperplane_rotation(x, y) if estimate else hyperplane_rotation(x, y, qu, qv)
    rot = r.info["rotation"]
    np.testing.assert_allclose(rot.T @ rot, np.eye(D), rtol=0, atol=1e-14)  # orthogonal
    np.testing.assert_allclose(rot @ c_basis, c_basis, rtol=0, atol=1e-12)  # fixes C
    assert r.info["rotated_angles"] == pytest.approx([phi], abs=1e-10)
    np.testing.assert_array_equal(r.y, y)  # Y is untouched
    # R u_A = u_B, so x_i = c_i + a_i u_A -> c_i + a_i u_B = y_i. Estimated bases come from an
    # SVD of exact data, so both agree to 1e-12 (1e-15 / smallest singular value ~ 0.1).
    np.testing.assert_allclose(r.x, y, rtol=0, atol=1e-12)
    assert r.after["paired_cosine_min"] == pytest.approx(1.0, abs=1e-12)


def test_rotation_general_subspaces_and_its_limit():
    thetas = [0.0, 0.0, 0.5, 0.9]
    x, y, qu, qv, _ = _pair_structured(8, thetas, same_private=True)
    r = hyperplane_rotation(x, y, qu, qv)
    ru = r.info["rotation"] @ qu
    assert gapsim.principal_angles(ru, qv)[-1] < 1e-7  # R U = V
    assert r.after["paired_cosine_min"] == pytest.approx(1.0, abs=1e-12)
    # with b_i = -a_i for some pairs the rotation cannot align them (SSP can)
    x, y, qu, qv, _ = _pair_structured(8, thetas, same_private=False)
    assert hyperplane_rotation(x, y, qu, qv).after["paired_cosine_min"] < 1 - 1e-3
    assert ssp_from_bases(x, y, qu, qv).after["paired_cosine_min"] == pytest.approx(1.0, abs=1e-12)


# --------------------------------------------------------------------------------------------
# measures and validation
# --------------------------------------------------------------------------------------------


def test_before_and_after_are_gapsim_measures():
    x, y = _random_pairs(9)
    r = mean_removal(x.astype(np.float32), y.astype(np.float32), tau=0.2)  # float32 accepted
    assert r.x.dtype == np.float64
    for pts, got in (((x, y), r.before), ((r.x, r.y), r.after)):
        ref = _measures(pts[0], pts[1], 1 / 0.2)
        for k, v in ref._asdict().items():
            if k == "centroid_angle" and got["centroid_angle_ill_conditioned"]:
                assert np.isnan(got[k])
                continue
            # float32 input rounded to float64: 1e-6 relative
            assert got[k] == pytest.approx(float(v), rel=1e-6, abs=1e-6), k


def _bad_calls():
    x, y = _random_pairs(1)
    qu, qv = gapsim.hyperplane_pair(D, 0.5)
    return [
        (lambda: gap_shift(x, y, float("nan")), "lam"),
        (lambda: gap_shift(x, y, 0.5, tau=0.0), "tau"),
        (lambda: gap_shift(x, y[:3], 0.5), "y"),
        (lambda: gap_shift(2 * x, y, 0.5), "x"),
        (lambda: gap_shift_curve(x, y, 0.1, [[0.0]]), "lambdas"),
        (lambda: ssp(x, y, variance=1.0), "variance"),
        (lambda: ssp(x, y, cos_threshold=1.5), "cos_threshold"),
        (lambda: ssp(x, y, k=0), "k"),
        (lambda: ssp_from_bases(x, y, qu, np.eye(D)[:, :1] * 0), "qv"),
        (lambda: ssp_from_bases(x, y, np.eye(D)[:, :2], np.eye(D)[:, 2:4]), "shared_dim"),
        (lambda: hyperplane_rotation(x, y, qu, None), "qv"),
        (lambda: inject_gap(x, y, 1.5, np.eye(D)[0]), "g"),
        (lambda: inject_gap(x, y, 0.5, np.eye(D)[0]), "u"),
    ]


@pytest.mark.parametrize("i", range(13))
def test_bad_inputs_raise_config_error_naming_the_field(i):
    call, field = _bad_calls()[i]
    with pytest.raises(ConfigError) as e:
        call()
    assert e.value.field == field
