"""Second-order (KKT) certificates: minima certify, saddles and non-stationary points are refused.

Each case is also checked against the *old* first-order certificate (the Riemannian gradient
norm of :func:`gapsim.core.solvers.stationarity` against gtol), which accepted the saddles.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import gapsim
from gapsim import Config, simplex_loss
from gapsim.app.batch import best_of_seeds, solve_batch
from gapsim.app.parts import prepare
from gapsim.app.simulate import finish, simulate
from gapsim.core.certificate import centroid_angle_precision, kkt_certificate, mean_error
from gapsim.core.loss import infonce
from gapsim.core.solvers import certify, params0

GTOL = 1e-9


def _certify(cfg, z, **kw):
    """KKT certificate and the old first-order measure of points ``z`` (M, N, d) under ``cfg``."""
    static, args = prepare(cfg, z)
    p = params0(static, args)
    old = float(certify(args, p, jnp.asarray(0), static).grad_norm)
    kw.setdefault("active_tol", 1e-14)
    return kkt_certificate(static, args, p, 0, GTOL, **kw), old


def _rotation_zeros(d, k):
    """Joint rotations acting non-trivially on points spanning a k-dim subspace of R^d."""
    return d * (d - 1) // 2 - (d - k) * (d - k - 1) // 2


def _simplex(n, d):
    """Regular simplex of n <= d+1 unit vectors in R^d (centred basis vectors of R^n)."""
    e = np.eye(n) - 1 / n
    q = np.linalg.svd(e)[2][: n - 1]  # orthonormal basis of the sum-zero plane
    s = e @ q.T
    s /= np.linalg.norm(s, axis=1, keepdims=True)
    return np.pad(s, ((0, 0), (0, d - n + 1)))


def _rim(n, alpha):
    """n points equally spaced on the rim of the cap x . e1 >= cos(alpha) in R^3."""
    a = np.arange(n) * 2 * np.pi / n
    return np.stack(
        [np.full(n, np.cos(alpha)), np.sin(alpha) * np.cos(a), np.sin(alpha) * np.sin(a)], 1
    )


@pytest.mark.parametrize(("n", "d", "tau"), [(4, 3, 0.2), (3, 4, 0.3), (4, 5, 0.1)])
def test_simplex_optimum_is_a_minimum_with_rotation_zeros(n, d, tau):
    # Yi et al. 2.1: for N <= d+1 the optimum is the regular simplex with x_i = y_i, which spans
    # an (N-1)-dim subspace: d(d-1)/2 - (d-N+1)(d-N)/2 rotations move it (exact zero modes).
    x = _simplex(n, d)
    assert np.allclose(x @ x.T, np.where(np.eye(n) > 0, 1, -1 / (n - 1)))
    so, old = _certify(Config(n_pairs=n, dim=d, tau=tau), np.stack([x, x]))
    assert so.kind == "minimum", so
    assert so.n_symmetries == _rotation_zeros(d, n - 1)
    assert so.lambda_min > so.hess_tol  # strictly positive once the symmetries are removed
    # on the sphere the KKT residual is the Riemannian gradient norm; at an exact critical
    # point both are rounding (1e-15 with N*d terms of size ~beta)
    assert so.kkt_residual <= 1e-13
    assert old <= 1e-13


def test_simulate_certifies_minima_and_refuses_a_saddle_start(tmp_path):
    # one compiled L-BFGS program (N = 4, d = 3) for every simulate() of this test
    cfg = Config(n_pairs=4, dim=3, tau=0.2)
    r = simulate(cfg)
    c = r.certificate
    assert c.kind == "minimum", c
    assert r.converged
    assert r.measures["loss"] == pytest.approx(simplex_loss(4, 0.2), abs=1e-10)
    assert c.n_symmetries == 3
    # smooth set: the KKT residual is the Riemannian gradient norm (same number; 1e-3 relative
    # because two float64 evaluations of a ~1e-11 number differ in their rounding)
    assert c.kkt_residual == pytest.approx(c.grad_norm, rel=1e-3, abs=1e-14)
    assert c.position_error == pytest.approx(c.kkt_residual / c.lambda_min)
    # L-BFGS cannot leave an exact saddle (zero gradient): the run ends where it started, and
    # the result must say "saddle" where the first-order certificate said "converged"
    sq = _square()
    s = simulate(cfg, (sq, sq))
    assert s.certificate.grad_norm <= GTOL
    assert s.certificate.kind == "saddle"
    assert not s.converged
    assert "saddle" in str(s.certificate)
    # switched off: first order only, and the file round trip keeps NaN / inf
    off = simulate(cfg.replace(second_order=False))
    assert off.certificate.kind == "stationary"
    assert off.converged
    back = gapsim.Result.load(off.save(tmp_path / "run"))
    assert back.certificate.kind == "stationary"
    assert math.isnan(back.certificate.lambda_min)
    assert back.certificate.position_error == math.inf
    # best of seeds keeps a certified minimum and counts the kinds
    best, losses = best_of_seeds(cfg, [0, 1])
    m = best.measures
    assert best.certificate.kind == "minimum"
    assert m["seeds_minimum"] + m["seeds_saddle"] + m["seeds_not_stationary"] == 2
    assert np.isfinite(losses).sum() == m["seeds_minimum"]


def _square():
    ang = np.arange(4) * np.pi / 2
    return np.stack([np.cos(ang), np.sin(ang), np.zeros(4)], 1)


def _rayleigh(x, y, u, v, tau, h=1e-4):
    """Second derivative of the loss along the retraction normalize(z + t w), over ||w||^2.

    At a critical point any retraction gives the Riemannian Hessian's quadratic form
    (Absil et al. 2008, Prop. 5.5.6). Central difference: truncation O(h^2) ~ 1e-8 and
    rounding eps/h^2 ~ 1e-8 relative, far below the curvatures tested (>= 1e-2).
    """

    def nz(a):
        return a / np.linalg.norm(a, axis=1, keepdims=True)

    def f(t):
        return float(infonce(nz(x + t * u), nz(y + t * v), 1 / tau))

    return (f(h) - 2 * f(0) + f(-h)) / h**2 / (np.sum(u * u) + np.sum(v * v))


def test_great_circle_square_is_a_saddle():
    # N = 4 pairs x_i = y_i at the corners of a square on the equator of S^2. Stationary by
    # symmetry (the 4-fold rotation and the reflections through each point fix it), but
    # tilting alternate points up and down (towards the tetrahedron) lowers the loss.
    tau, x = 0.5, _square()
    u = np.outer([1, -1, 1, -1], [0, 0, 1.0])
    rq = _rayleigh(x, x, u, u, tau)
    assert rq < -0.01  # by hand: negative curvature along a feasible curve (-0.0908)
    so, old = _certify(Config(n_pairs=4, dim=3, tau=tau), np.stack([x, x]))
    assert old <= GTOL  # the old certificate accepted it ...
    assert so.kkt_residual <= GTOL
    assert so.kind == "saddle", so  # ... the new one refuses it
    assert so.lambda_min <= rq + 1e-6  # Rayleigh: the minimum is below any quotient
    assert so.lambda_min == pytest.approx(rq, rel=1e-5)  # and this tilt is its eigenvector


def test_collapsed_configuration_is_a_saddle():
    # all x_i = y_i = e1: every gradient is radial (stationary), spreading lowers the loss
    tau = 0.3
    x = np.tile([1.0, 0.0, 0.0], (4, 1))
    u = np.outer(np.linspace(-1, 1, 4), [0, 1.0, 0])
    rq = _rayleigh(x, x, u, u, tau)
    assert rq < -0.01
    so, old = _certify(Config(n_pairs=4, dim=3, tau=tau), np.stack([x, x]))
    assert old <= GTOL
    assert so.kind == "saddle", so
    assert so.lambda_min <= rq + 1e-6


def test_non_stationary_point_is_refused():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((2, 4, 3))
    z /= np.linalg.norm(z, axis=2, keepdims=True)
    so, old = _certify(Config(n_pairs=4, dim=3, tau=0.2), z)
    assert so.kind == "not stationary"
    assert so.kkt_residual > GTOL
    assert so.kkt_residual == pytest.approx(old, rel=1e-12)  # the Riemannian gradient norm
    assert math.isnan(so.lambda_min)  # no curvature computed off a critical point


def test_fixed_axis_cap_rim_certifies_on_the_critical_cone():
    # Both modalities in the cap x . e1 >= cos 0.4 (same axis), x_i = y_i equally spaced on
    # the rim: stationary by symmetry, with the cap strictly active (InfoNCE pushes outwards:
    # positive multipliers). The critical subspace keeps the points on the rim circle; the only
    # symmetry left is the rotation about e1: 12 - 1 = 11 reduced dimensions.
    cfg = Config(
        n_pairs=6, dim=3, tau=0.2, constraint="cone", cone_angle=0.4, cone_axis="fixed",
        solver="gd", dtype="float64",
    )  # fmt: skip
    x = _rim(6, 0.4)
    so, old = _certify(cfg, np.stack([x, x]))
    assert so.kind == "minimum", so
    assert (so.n_active, so.n_weak, so.n_symmetries, so.dim) == (12, 0, 1, 11)
    assert so.min_multiplier > 0
    # the same rim with one point pulled inside the cap is not stationary (its gradient is
    # not balanced by a multiplier any more)
    y = x.copy()
    y[0] = _rim(1, 0.3)[0]
    bad, _ = _certify(cfg, np.stack([y, y]))
    assert (bad.kind, bad.n_active) == ("not stationary", 10)


def _two_clusters(alpha):
    """x_i = y_i merged into two clusters at (cos a, +-sin a, 0): the merged end points of the
    old free-axis cone check (issue 12: "2 distinct points per modality")."""
    c = np.array([[np.cos(alpha), np.sin(alpha), 0], [np.cos(alpha), -np.sin(alpha), 0]])
    return np.repeat(c, 2, axis=0)


def test_merged_cap_configurations_are_refused():
    # stationary (the old certificate accepted both), but:
    # - fixed axis: a saddle (un-merging each cluster along the rim lowers the loss);
    # - learnable axis (certified on (c, X) jointly, the axis a variable): also a saddle, with
    #   the 3 joint rotations of points and axis as symmetries. (The former mean-direction
    #   "free" axis, not a projection, gave a degenerate LICQ failure here.)
    x = _two_clusters(0.3)
    base = Config(n_pairs=4, dim=3, tau=0.1, constraint="cone", cone_angle=0.3, solver="gd")
    base = base.replace(dtype="float64")
    fixed, old_fixed = _certify(base.replace(cone_axis="fixed"), np.stack([x, x]))
    learned, old_learned = _certify(base, np.stack([x, x]))
    assert max(old_fixed, old_learned) <= GTOL
    assert fixed.kind == "saddle", fixed
    assert fixed.n_symmetries == 1  # the rotation about e1 only (not the in-plane ones)
    assert learned.kind == "saddle", learned
    assert learned.n_symmetries == 3


@pytest.mark.slow
def test_gd_on_a_fixed_cap_converges_to_the_rim_minimum():
    # the projected-gradient dynamics find the rim configuration above (same curvature)
    cfg = Config(
        n_pairs=6, dim=3, tau=0.2, constraint="cone", cone_angle=0.4, cone_axis="fixed",
        solver="gd", dtype="float64", steps=20000, lr=0.05,
    )  # fmt: skip
    r = simulate(cfg)
    x = _rim(6, 0.4)
    ref, _ = _certify(cfg, np.stack([x, x]))
    assert (r.certificate.kind, r.certificate.n_symmetries) == ("minimum", 1)
    # gd stops at gtol 1e-9: the curvature moves by ~||H'|| * position error (~1e-8)
    assert r.certificate.lambda_min == pytest.approx(ref.lambda_min, rel=1e-6)


def test_dense_and_lanczos_agree():
    # mid-size: the simplex of 12 points in R^11 (n = 264 variables, 55 rotation zeros)
    x = _simplex(12, 11)
    cfg = Config(n_pairs=12, dim=11, tau=0.3)
    dense, _ = _certify(cfg, np.stack([x, x]))
    lanczos, _ = _certify(cfg, np.stack([x, x]), dense_max=0)
    assert (dense.method, lanczos.method) == ("dense", "lanczos")
    assert dense.kind == lanczos.kind == "minimum"
    assert dense.n_symmetries == lanczos.n_symmetries == 55
    assert dense.dim == lanczos.dim == 264 - 24 - 55
    # Lanczos converges to machine precision on an extreme eigenvalue: 1e-8 relative
    assert lanczos.lambda_min == pytest.approx(dense.lambda_min, rel=1e-8)


def test_planted_fault_in_the_hessian_moves_the_verdict(monkeypatch):
    # a certificate that always said "minimum" would pass the simplex test; flip the sign of the
    # Hessian-vector products and the same optimum must become a saddle
    from gapsim.core import _kkt

    cfg = Config(n_pairs=4, dim=3, tau=0.5)
    x = _simplex(4, 3)
    z = np.stack([x, x])
    assert _certify(cfg, z)[0].kind == "minimum"
    good = _kkt.hvp_rows
    monkeypatch.setattr(_kkt, "hvp_rows", lambda *a: -good(*a))
    assert _certify(cfg, z)[0].kind == "saddle"


def test_centroid_angle_precision_propagates_the_position_error():
    # ||delta mean|| <= ||delta X||_F / sqrt(N); the angle moves by delta/||m|| per mean
    assert mean_error(0.4, 16) == pytest.approx(0.1)
    assert centroid_angle_precision((0.5, 0.25), 0.4, 16) == pytest.approx(0.1 / 0.5 + 0.1 / 0.25)
    assert centroid_angle_precision((0.05, 0.9), 0.4, 16) == math.inf  # undefined at precision


@pytest.mark.slow  # 18 s: a 2,048-variable solve and three certificates
def test_lanczos_failure_falls_back_to_dense_or_is_undecided(monkeypatch):
    """ARPACK's no-convergence (seen at N = 128, d = 8 on two-hyperplane optima) is no crash."""
    import scipy.sparse.linalg as spla

    import gapsim.core.certificate as certificate

    cfg = Config(n_pairs=64, dim=16, tau=0.5)  # 2Nd = 2048 > DENSE_MAX: the Lanczos path
    # of the dense method (method="auto" would take the matrix-free one at this size)
    monkeypatch.setattr(certificate, "MATRIX_FREE_MIN_VARS", 10**9)
    solved = solve_batch([cfg])[0]  # one solve; each case below certifies its end point
    assert finish(cfg, *solved).certificate.method == "lanczos"

    def fails(*a, **k):
        raise spla.ArpackNoConvergence("planted", np.zeros(0), np.zeros((0, 0)))

    monkeypatch.setattr(certificate.spla, "eigsh", fails)
    r = finish(cfg, *solved)
    assert r.certificate.method == "dense (Lanczos failed)"
    assert r.certificate.kind == "minimum"
    monkeypatch.setattr(certificate, "DENSE_FALLBACK", 0)
    r = finish(cfg, *solved)
    assert r.certificate.kind == "undecided"
    assert not r.converged
    assert np.isnan(r.certificate.lambda_min)


def test_the_run_certificate_is_the_kkt_certificate_plus_the_run():
    # one certificate: every field of the KKT certificate is a field of the run's, taken by
    # name (Certificate.of), so a field added to one cannot be dropped on the way to the JSON
    import dataclasses

    from gapsim.app.result import Certificate
    from gapsim.core.certificate import SecondOrder

    run = {f.name for f in dataclasses.fields(Certificate)}
    assert set(SecondOrder._fields) <= run
    assert run - set(SecondOrder._fields) == {
        "converged",
        "grad_norm",
        "criterion",
        "steps",
        "solver",
    }
    so = SecondOrder("minimum", 1e-12, 1e-9, lambda_min=0.5, eig_error=1e-13, matvecs=7)
    c = Certificate.of(
        so, grad_norm=1e-12, criterion="riemannian_grad_norm", steps=3, solver="lbfgs"
    )
    assert c.converged
    assert (c.eig_error, c.matvecs, c.kkt_residual) == (1e-13, 7, 1e-12)
    assert Certificate.from_dict(c.to_dict()) == c
