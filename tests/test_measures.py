"""Gap and alignment measures against brute-force NumPy references (docs/theory.md 0, 2.3 and 6).

Every key of ``MEASURE_KEYS`` is recomputed here with explicit loops in float64 NumPy, from the
definitions in docs/theory.md section 0; ``subspace_measures`` is checked on points built to satisfy
the pair structure of docs/theory.md 2.3 (and on points built to break it).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp

import gapsim
from gapsim.core.measures import MEASURE_KEYS, centroid_angle

N_MAX, D_MAX = 8, 8
ns = st.integers(2, 7)
ds = st.integers(2, 6)
seeds = st.integers(0, 2**31 - 1)
log_taus = st.floats(np.log(0.05), np.log(5.0))
DISCRETE = ("r1_xy", "r1_yx", "matched_fraction")


# --------------------------------------------------------------------------------------------
# helpers and the reference
# --------------------------------------------------------------------------------------------


def _normal(key: jax.Array, n: int, d: int) -> np.ndarray:
    """iid N(0, 1) (n, d) block cut from one fixed-shape draw (one compile for every n, d)."""
    assert n <= N_MAX
    assert d <= D_MAX
    return np.array(jax.random.normal(key, (N_MAX, D_MAX), dtype=jnp.float64)[:n, :d])


def _unit(z: np.ndarray) -> np.ndarray:
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _random_orthogonal(key: jax.Array, d: int) -> np.ndarray:
    q, r = np.linalg.qr(_normal(key, d, d))
    return q * np.sign(np.diag(r))


def _pair(seed: int, n: int, d: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """x uniform-ish unit rows and y = normalize(x + noise * g), both placed in R^D_MAX.

    Every measure depends on the points only through inner products, so embedding R^d in a
    random d-dim subspace of R^D_MAX changes nothing and lets all d share one compiled shape.
    """
    kx, ky, kf = jax.random.split(jax.random.key(seed), 3)
    x = _unit(_normal(kx, n, d))
    y = _unit(x + noise * _normal(ky, n, d))
    frame = _random_orthogonal(kf, D_MAX)[:, :d]
    return x @ frame.T, y @ frame.T


_measures = jax.jit(gapsim.measures)


def _gapsim_measures(x, y, beta, dtype=jnp.float64) -> dict[str, float]:
    out = _measures(jnp.asarray(x, dtype), jnp.asarray(y, dtype), jnp.asarray(beta, dtype))
    assert isinstance(out, gapsim.core.measures.Measures)
    out = out._asdict()
    assert tuple(out) == MEASURE_KEYS
    for v in out.values():
        assert v.dtype == dtype
    return {k: float(v) for k, v in out.items()}


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between a and b via the component of b orthogonal to a (accurate near 0 and pi)."""
    perp = b - (a @ b) / (a @ a) * a
    return float(np.arctan2(np.linalg.norm(perp) * np.linalg.norm(a), a @ b))


def _uniformity(z: np.ndarray, t: float = 2.0) -> float:
    n = z.shape[0]
    terms = [-t * np.sum((z[i] - z[j]) ** 2) for i in range(n) for j in range(n) if i != j]
    return float(logsumexp(terms) - np.log(len(terms)))


def _ref_measures(x, y, beta) -> dict[str, float]:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    n = x.shape[0]
    s = np.array([[x[i] @ y[j] for j in range(n)] for i in range(n)])
    m = beta * s
    loss = sum(
        (logsumexp(m[i, :]) - m[i, i]) + (logsumexp(m[:, i]) - m[i, i]) for i in range(n)
    ) / (2 * n)
    mx, my = x.mean(axis=0), y.mean(axis=0)
    others = [[j for j in range(n) if j != i] for i in range(n)]
    r1_xy = np.mean([all(s[i, i] > s[i, j] for j in others[i]) for i in range(n)])
    r1_yx = np.mean([all(s[i, i] > s[j, i] for j in others[i]) for i in range(n)])
    margin = min(min(s[i, i] - s[i, j], s[j, j] - s[i, j]) for i in range(n) for j in others[i])
    matched = np.mean([s[i, i] > max(max(s[i, j], s[j, i]) for j in others[i]) for i in range(n)])
    ux, uy = _uniformity(x), _uniformity(y)
    cos = [s[i, i] for i in range(n)]
    return {
        "loss": float(loss),
        "centroid_distance": float(np.linalg.norm(mx - my)),
        "centroid_angle": _angle(mx, my),
        "mean_norm_x": float(np.linalg.norm(mx)),
        "mean_norm_y": float(np.linalg.norm(my)),
        "paired_cosine_mean": float(np.mean(cos)),
        "paired_cosine_min": float(np.min(cos)),
        "alignment": float(np.mean([np.sum((x[i] - y[i]) ** 2) for i in range(n)])),
        "uniformity": (ux + uy) / 2,
        "uniformity_x": ux,
        "uniformity_y": uy,
        "r1_xy": float(r1_xy),
        "r1_yx": float(r1_yx),
        "margin": float(margin),
        "matched_fraction": float(matched),
    }


def _tolerances(ref: dict[str, float], beta: float, eps: float) -> dict[str, float]:
    """Absolute tolerance per key, in units of the working precision eps."""
    # Most measures are sums/means of N <= 8 products of O(1) numbers: ~N eps; allow 100 eps.
    tol = dict.fromkeys(MEASURE_KEYS, 100 * eps)
    # the loss is a difference of O(beta) log-sum-exps
    tol["loss"] = 100 * eps * max(beta, 1.0)
    # the angle between the means moves by (rounding of a mean) / (its norm)
    tol["centroid_angle"] = 100 * eps / min(ref["mean_norm_x"], ref["mean_norm_y"])
    for k in DISCRETE:
        tol[k] = 2 * eps  # a count divided by N: k/N is correctly rounded in the working dtype
    return tol


def _assert_keys(got, ref, tol, keys) -> None:
    bad = {k: (got[k], ref[k]) for k in keys if not abs(got[k] - ref[k]) <= tol[k]}
    assert not bad, f"(got, want) beyond tolerance: {bad}"


def test_reference_on_hand_computed_case():
    # x = y = standard basis of R^3: S = I, so margin 1, every pair matched, mean e/3 for both;
    # uniformity: every ||z_i - z_j||^2 = 2, so log exp(-4) = -4.
    x = np.eye(3)
    ref = _ref_measures(x, x, 2.0)
    assert ref["margin"] == 1.0
    assert ref["matched_fraction"] == ref["r1_xy"] == ref["r1_yx"] == 1.0
    assert ref["uniformity_x"] == pytest.approx(-4.0, rel=1e-15)
    assert ref["centroid_distance"] == ref["centroid_angle"] == 0.0
    # a cyclic shift of y: S_ii = 0 < S_i,i+1 = 1, so margin -1 and nothing matched
    ref = _ref_measures(x, np.roll(x, 1, axis=0), 2.0)
    assert ref["margin"] == -1.0
    assert ref["matched_fraction"] == ref["r1_xy"] == ref["r1_yx"] == 0.0


# --------------------------------------------------------------------------------------------
# measures() against the reference
# --------------------------------------------------------------------------------------------


@given(n=ns, d=ds, log_tau=log_taus, noise=st.floats(0.0, 2.0), seed=seeds)
def test_measures_match_reference_float64(n, d, log_tau, noise, seed):
    x, y = _pair(seed, n, d, noise)
    beta = float(np.exp(-log_tau))
    got = _gapsim_measures(x, y, beta)
    ref = _ref_measures(x, y, beta)
    tol = _tolerances(ref, beta, float(np.finfo(np.float64).eps))
    _assert_keys(got, ref, tol, [k for k in MEASURE_KEYS if k not in DISCRETE])
    # Yaras et al.: all pairs are matched iff the margin is positive
    assert (got["margin"] > 0) == (got["matched_fraction"] == 1.0)
    assert (ref["margin"] > 0) == (ref["matched_fraction"] == 1.0)


@given(n=ns, d=ds, noise=st.floats(0.0, 2.0), seed=seeds)
def test_measure_counts_float64(n, d, noise, seed):
    # r1_xy, r1_yx, matched_fraction: k/N must be the float64 k/N (not a float32 mean)
    x, y = _pair(seed, n, d, noise)
    got = _gapsim_measures(x, y, 1.0)
    ref = _ref_measures(x, y, 1.0)
    _assert_keys(got, ref, _tolerances(ref, 1.0, float(np.finfo(np.float64).eps)), DISCRETE)


@given(n=ns, d=ds, log_tau=st.floats(np.log(0.1), np.log(2.0)), noise=st.floats(0.0, 2.0),
       seed=seeds)  # fmt: skip
def test_measures_match_reference_float32(n, d, log_tau, noise, seed):
    x, y = _pair(seed, n, d, noise)
    x32, y32 = np.float32(x), np.float32(y)
    beta = float(np.exp(-log_tau))
    got = _gapsim_measures(x32, y32, beta, jnp.float32)
    ref = _ref_measures(x32, y32, beta)  # reference on the float32 inputs: arithmetic error only
    tol = _tolerances(ref, beta, float(np.finfo(np.float32).eps))
    # Counts could flip if two float32 similarities came within ~eps32 of each other; continuous
    # draws essentially never do, so they are held to the count tolerance too.
    _assert_keys(got, ref, tol, MEASURE_KEYS)


@given(n=ns, d=ds, log_tau=log_taus, noise=st.floats(0.0, 2.0), seed=seeds)
def test_measures_invariant_under_joint_rotation_and_permutation(n, d, log_tau, noise, seed):
    x, y = _pair(seed, n, d, noise)
    kr, kp = jax.random.split(jax.random.fold_in(jax.random.key(seed), 1))
    r = _random_orthogonal(kr, D_MAX)
    perm = np.asarray(jax.random.permutation(kp, N_MAX))
    perm = perm[perm < n]
    beta = float(np.exp(-log_tau))
    base = _gapsim_measures(x, y, beta)
    tol = _tolerances(base, beta, float(np.finfo(np.float64).eps))
    for xx, yy in ((x @ r.T, y @ r.T), (x[perm], y[perm])):
        _assert_keys(_gapsim_measures(xx, yy, beta), base, tol, MEASURE_KEYS)


# --------------------------------------------------------------------------------------------
# centroid angle near 0 and pi, and at vanishing means
# --------------------------------------------------------------------------------------------


@given(
    n=ns,
    d=ds,
    log_delta=st.floats(np.log(1e-10), np.log(1e-2)),
    near_pi=st.booleans(),
    seed=seeds,
)
def test_centroid_angle_near_zero_and_pi(n, d, log_delta, near_pi, seed):
    delta = float(np.exp(log_delta))
    theta = np.pi - delta if near_pi else delta
    kx, kv, kf = jax.random.split(jax.random.key(seed), 3)
    # points concentrated around e_1 (mean norm >= 0.5), embedded in R^D_MAX
    z = _normal(kx, n, d)
    z[:, 0] += 4.0
    frame = _random_orthogonal(kf, D_MAX)[:, :d]
    x = _unit(z) @ frame.T
    mx = x.mean(axis=0)
    assert np.linalg.norm(mx) > 0.5
    # y = R x with R the rotation by theta in the plane of mean(x) and a unit v orthogonal to it:
    # mean(y) = R mean(x), so the centroid angle is exactly theta.
    e = mx / np.linalg.norm(mx)
    v = _normal(kv, 1, D_MAX)[0]
    v -= (v @ e) * e
    v /= np.linalg.norm(v)
    c, s = np.cos(theta), np.sin(theta)
    rot = (
        np.eye(D_MAX)
        + (c - 1) * (np.outer(e, e) + np.outer(v, v))
        + s * (np.outer(v, e) - np.outer(e, v))
    )
    y = x @ rot.T
    # rounding of the points and means is ~N eps64 relative to means of norm >= 0.5:
    # 1e-13 absolute (an arccos of the cosine would be off by ~sqrt(eps) ~ 1e-8 near 0 and pi)
    got = _gapsim_measures(x, y, 1.0)["centroid_angle"]
    np.testing.assert_allclose(got, theta, rtol=0, atol=1e-13)
    np.testing.assert_allclose(_angle(mx, y.mean(axis=0)), theta, rtol=0, atol=1e-13)


@pytest.mark.parametrize(
    ("dtype", "delta", "atol"),
    [
        # float64: the half-angle formula keeps ~eps64 absolute accuracy
        (jnp.float64, 1e-12, 1e-15),
        # float32: ~eps32 absolute; an arccos would give ~sqrt(eps32) = 3e-4
        (jnp.float32, 1e-5, 1e-6),
    ],
)
@pytest.mark.parametrize("near_pi", [False, True])
def test_centroid_angle_function_extremes(dtype, delta, atol, near_pi):
    theta = np.pi - delta if near_pi else delta
    a = jnp.array([2.0, 0.0, 0.0], dtype)  # norms other than 1 on purpose
    b = jnp.array([0.5 * np.cos(theta), 0.5 * np.sin(theta), 0.0], dtype)
    want = _angle(np.asarray(a, np.float64), np.asarray(b, np.float64))  # angle of the inputs
    got = centroid_angle(a, b)
    assert got.dtype == dtype
    np.testing.assert_allclose(float(got), want, rtol=0, atol=atol)


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_centroid_angle_finite_for_zero_means(dtype):
    # The docstring promises "Zero vectors give a finite (meaningless) value"; measures() runs
    # inside the solvers' traces, float32 by default for dynamics, where a NaN would be recorded.
    zero, b = jnp.zeros(3, dtype), jnp.array([1.0, 0.0, 0.0], dtype)
    assert np.isfinite(float(centroid_angle(zero, b)))
    assert np.isfinite(float(centroid_angle(zero, zero)))
    # antipodal points: both means are exactly zero
    x = jnp.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]], dtype)
    y = jnp.array([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]], dtype)
    out = _gapsim_measures(x, y, 1.0, dtype)
    assert out["mean_norm_x"] == out["mean_norm_y"] == 0.0
    assert np.isfinite(out["centroid_angle"]), out


# --------------------------------------------------------------------------------------------
# subspace_measures (docs/theory.md 2.3)
# --------------------------------------------------------------------------------------------

# Points built from exact formulas in float64 satisfy the pair structure to ~eps64 per
# coordinate, and the principal vectors are accurate to ~eps64 / (gap between the singular values
# of Q_U^T Q_V): exactly repeated values share their block rotation between u and v, and the gap
# between the shared block (cosine 1) and cos(phi) is 1 - cos(phi) ~ phi^2/2.
STRUCT_TOL = 1e-12


def _struct_tol(phi: float) -> float:
    # ~450 eps64 / gap; the largest seen while writing these tests was ~10 eps64 / gap
    return max(STRUCT_TOL, 1e-13 / (1 - np.cos(phi)))


@given(
    d=st.integers(3, 7),
    n=ns,
    phi=st.floats(0.05, np.pi / 2),
    random_frame=st.booleans(),
    seed=seeds,
)
def test_subspace_measures_hyperplane_pair_structure(d, n, phi, random_frame, seed):
    kf, kw = jax.random.split(jax.random.key(seed))
    qu, qv = gapsim.hyperplane_pair(d, phi, kf if random_frame else None)
    # x_i = Q_U w_i, y_i = Q_V w_i: the same C-part (first d-2 columns coincide) and a_i = b_i
    w = _unit(_normal(kw, n, d - 1))
    x, y = w @ qu.T, w @ qv.T
    c = qu[:, : d - 2]
    np.testing.assert_allclose(x @ c, y @ c, rtol=0, atol=STRUCT_TOL)  # the construction
    scalars, arrays = gapsim.subspace_measures(x, y, qu, qv)
    tol = _struct_tol(phi)
    assert scalars["shared_dim"] == d - 2
    assert scalars["theta_min"] < STRUCT_TOL
    np.testing.assert_allclose(scalars["theta_min_nonzero"], phi, rtol=0, atol=STRUCT_TOL)
    np.testing.assert_allclose(arrays["principal_angles"][-1], phi, rtol=0, atol=STRUCT_TOL)
    assert scalars["shared_residual"] < tol
    assert scalars["private_mismatch"] < tol
    assert scalars["paired_cosine_formula_residual"] < tol
    # the private coordinate is the last coefficient, up to the sign of u_A
    a = arrays["private_a"][:, 0]
    np.testing.assert_allclose(np.abs(a), np.abs(w[:, -1]), rtol=0, atol=tol)
    np.testing.assert_allclose(scalars["private_abs_mean"], np.mean(np.abs(w[:, -1])), atol=1e-12)
    # and the paired cosine formula x.y = 1 - (1 - cos phi) a^2 holds, checked directly
    np.testing.assert_allclose(
        np.sum(x * y, axis=1), 1 - (1 - np.cos(phi)) * a**2, rtol=0, atol=tol
    )


@given(
    d=st.integers(3, 8),
    data=st.data(),
    seed=seeds,
)
def test_subspace_measures_general_pair_structure(d, data, seed):
    k = data.draw(st.integers(2, d - 1), label="k")
    n_zero = data.draw(st.integers(0, k - 1), label="n_zero")
    n_nonzero = min(k - n_zero, d - k)  # subspace_pair needs d >= k + #non-zero angles
    n_zero = k - n_nonzero
    grid = np.round(np.arange(0.1, 1.55, 0.1), 1).tolist()  # repeats allowed, near-ties not
    nonzero = data.draw(st.lists(st.sampled_from(grid), min_size=n_nonzero, max_size=n_nonzero))
    thetas = [0.0] * n_zero + nonzero
    n = data.draw(ns, label="n")
    kf, kw = jax.random.split(jax.random.key(seed))
    qu, qv = gapsim.subspace_pair(d, thetas, kf)
    w = _unit(_normal(kw, n, k))
    x, y = w @ qu.T, w @ qv.T
    scalars, arrays = gapsim.subspace_measures(x, y, qu, qv)
    tol = _struct_tol(min(nonzero))  # grid spacing keeps the gaps between cosines larger
    np.testing.assert_allclose(arrays["principal_angles"], sorted(thetas), atol=STRUCT_TOL)
    assert scalars["shared_dim"] == n_zero
    assert scalars["shared_residual"] < tol
    assert scalars["private_mismatch"] < tol
    assert scalars["paired_cosine_formula_residual"] < tol
    np.testing.assert_allclose(scalars["theta_min"], min(thetas), atol=STRUCT_TOL)
    np.testing.assert_allclose(scalars["theta_min_nonzero"], min(nonzero), atol=STRUCT_TOL)


@given(d=st.integers(3, 7), n=st.integers(3, 7), phi=st.floats(0.05, np.pi / 2), seed=seeds)
def test_subspace_measures_generic_points_are_not_structured(d, n, phi, seed):
    kf, kx, ky = jax.random.split(jax.random.key(seed), 3)
    qu, qv = gapsim.hyperplane_pair(d, phi, kf)
    x = _unit(_normal(kx, n, d - 1)) @ qu.T  # independent points in each hyperplane
    y = _unit(_normal(ky, n, d - 1)) @ qv.T
    scalars, _ = gapsim.subspace_measures(x, y, qu, qv)
    # independent draws: each max over >= 3 pairs of an O(1) random quantity; 1e-3 is far
    # below its typical size and far above the 1e-12 of the structured case
    assert scalars["shared_residual"] > 1e-3
    assert scalars["private_mismatch"] > 1e-3
    assert scalars["paired_cosine_formula_residual"] > 1e-3


@given(d=st.integers(3, 7), n=ns, phi=st.floats(0.05, 1.5), seed=seeds)
def test_subspace_measures_isolate_each_defect(d, n, phi, seed):
    # Break only a_i = b_i (flip the sign of the private coordinate of y): P_C x = P_C y still,
    # private_mismatch = 2 max|a_i| and x.y = |c|^2 - a^2 cos phi, off the formula by 2 a^2 cos phi.
    kf, kw = jax.random.split(jax.random.key(seed))
    qu, qv = gapsim.hyperplane_pair(d, phi, kf)
    w = _unit(_normal(kw, n, d - 1))
    flip = np.concatenate([np.ones(d - 2), [-1.0]])
    x, y = w @ qu.T, (w * flip) @ qv.T
    scalars, _ = gapsim.subspace_measures(x, y, qu, qv)
    a = w[:, -1]
    # exact formulas on float64 constructions, through principal vectors accurate to
    # ~eps64 / (1 - cos phi)
    tol = _struct_tol(phi)
    assert scalars["shared_residual"] < tol
    np.testing.assert_allclose(scalars["private_mismatch"], 2 * np.max(np.abs(a)), atol=tol)
    np.testing.assert_allclose(
        scalars["paired_cosine_formula_residual"], 2 * np.max(a**2) * np.cos(phi), atol=tol
    )


# The tie rule of R@1 and the matched fraction (with exact ties): tests/test_ties.py.
