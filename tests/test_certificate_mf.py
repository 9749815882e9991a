"""The matrix-free certificate (gapsim.core.certificate_mf) against the dense reference (issue 23).

Agreement criterion, everywhere: the same verdict, and ``lambda_min`` equal to 1e-8 relative or
within the matrix-free path's stated eigenvalue error plus the rounding floor of an HVP,
``sqrt(n) eps ||H||`` (the second term of ``hess_tol``, shared by both paths: the dense
reduced Hessian carries that rounding itself). The default tier runs one case of each kind
(minimum, saddle, saddle with curvature below 1e-6); the slow tier the whole grid of
constraint sets and mechanisms (the learnable cap axis among them), and the planted
configurations of ``tests/test_certificate.py``.
"""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_certificate import _rim, _simplex, _square, _two_clusters

import gapsim.core.certificate as certificate
from gapsim import Config
from gapsim.app.batch import best_of_seeds
from gapsim.app.parts import prepare
from gapsim.app.simulate import _to_float64, finish
from gapsim.core import certificate_mf, critical
from gapsim.core.certificate import from_raw, kkt_certificate, kkt_certificates
from gapsim.core.krylov import smallest
from gapsim.core.sets import Constraint
from gapsim.core.solvers import execute, params0

GTOL = 1e-9
EPS = float(np.finfo(np.float64).eps)
TINY_TAU = 0.06
"""The square on the equator is a saddle at every tau tried (0.05 to 5); its only negative
curvature decays like exp(-c/tau) as tau -> 0. At tau = 0.06 it is -5.0e-7, the next
eigenvalue +5.0e-7 (checked below)."""


def _end_point(cfg, z=None):
    static, args = prepare(cfg, z)
    return static, args, params0(static, args)


def _agree(dense, mf, n_vars):
    """Same verdict and lambda_min (module docstring)."""
    assert mf.kind == dense.kind, (dense, mf)
    assert mf.n_symmetries == dense.n_symmetries
    assert mf.dim == dense.dim
    assert (mf.n_active, mf.n_weak) == (dense.n_active, dense.n_weak)
    if not math.isfinite(dense.lambda_min):
        assert mf.lambda_min == dense.lambda_min or math.isnan(mf.lambda_min)
        return
    floor = mf.eig_error + math.sqrt(n_vars) * EPS * max(mf.hess_norm, dense.hess_norm)
    tol = max(1e-8 * abs(dense.lambda_min), floor)
    assert abs(mf.lambda_min - dense.lambda_min) <= tol, (dense.lambda_min, mf.lambda_min, tol)
    assert mf.lambda_min >= dense.lambda_min - floor  # Rayleigh-Ritz: an upper bound
    # the same least-squares residual; at an exact critical point both are rounding (1e-15)
    assert mf.kkt_residual == pytest.approx(dense.kkt_residual, rel=1e-6, abs=1e-13)


# --------------------------------------------------------------------------------------------
# the Lanczos solver on its own
# --------------------------------------------------------------------------------------------


def _random_problem(n, k, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    a = (a + a.T) / 2
    q = np.linalg.qr(rng.standard_normal((n, k)))[0]
    comp = np.linalg.svd(np.eye(n) - q @ q.T)[0][:, : n - k]  # basis of the subspace
    exact = np.linalg.eigvalsh(comp.T @ a @ comp)
    return jnp.asarray(a), jnp.asarray(q), exact


def test_lanczos_with_restarts_finds_the_smallest_eigenvalue_within_its_bound():
    # 120 x 120 random symmetric matrix on a 110-dim subspace, a basis of 12 vectors (keep 4):
    # the iteration must restart many times. Its error bound must hold, and rounding aside the
    # Ritz value is an upper bound of the eigenvalue.
    a, q, exact = _random_problem(120, 10, 0)
    r = smallest(
        lambda u: a @ u,
        lambda u: u - q @ (q.T @ u),
        jax.random.key(0),
        120,
        krylov=12,
        keep=4,
        max_matvecs=5000,
        stop=lambda t, e, s: e <= 1e-8 * s,  # the residual (it converges like sqrt(theta))
    )
    assert bool(r.converged)
    assert not bool(r.exhausted)
    assert int(r.matvecs) > 12  # restarted
    assert abs(float(r.value) - exact[0]) <= float(r.error) + 1e-12
    assert float(r.error) <= 1e-8 * float(r.norm)
    assert float(r.value) >= exact[0] - 1e-12
    # the same subspace with a basis as large as it: exhausted, the Ritz values exact
    full = smallest(
        lambda u: a @ u,
        lambda u: u - q @ (q.T @ u),
        jax.random.key(1),
        120,
        krylov=112,
        keep=4,
        max_matvecs=5000,
        stop=lambda t, e, s: e < 0,  # never: only exhaustion stops it
    )
    assert bool(full.exhausted)
    assert int(full.dim) == 110
    assert float(full.value) == pytest.approx(exact[0], rel=1e-12)


def test_lanczos_budget_leaves_the_error_stated():
    # too few products: not converged, and the stated error still bounds the true one
    a, q, exact = _random_problem(120, 10, 2)
    r = smallest(
        lambda u: a @ u,
        lambda u: u - q @ (q.T @ u),
        jax.random.key(0),
        120,
        krylov=12,
        keep=4,
        max_matvecs=20,
        stop=lambda t, e, s: e <= 1e-12 * s,
    )
    assert not bool(r.converged)
    assert int(r.matvecs) == 20
    assert abs(float(r.value) - exact[0]) <= float(r.error)
    assert float(r.value) >= exact[0]


def test_lanczos_basis_stays_in_the_subspace_when_the_residuals_get_small():
    # a cluster of small eigenvalues (5e-6 to 4e-4) under large ones (to 100) on a subspace
    # whose complement carries large ones too: once the residuals are small, a candidate
    # cleaned without a second projection leaked out of the subspace, and the complement's
    # zero (of P H P) appeared as a Ritz value below the true smallest eigenvalue
    n, k = 600, 150
    rng = np.random.default_rng(0)
    q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    b, c = q[:, : n - k], q[:, n - k :]
    ev = np.concatenate(
        [
            4e-6 + np.abs(rng.standard_normal(100)) * 1e-4,
            np.abs(rng.standard_normal(n - k - 100)) * 30,
        ]
    )
    h = jnp.asarray((b * ev) @ b.T + (c * rng.uniform(-50, 50, k)) @ c.T)
    p = jnp.asarray(b @ b.T)
    r = smallest(
        lambda u: h @ u,
        lambda u: p @ u,
        jax.random.key(0),
        n,
        krylov=64,
        keep=32,
        max_matvecs=1000,  # (the leaky version reached 1e-9 here, the true value being 4e-6)
        stop=lambda t, e, s: e <= 1e-10 * jnp.abs(t),
    )
    assert float(r.value) >= ev.min() - 1e-12  # Rayleigh-Ritz on an orthonormal basis of P
    assert abs(float(r.value) - ev.min()) <= float(r.error)


# --------------------------------------------------------------------------------------------
# the verdict from the numbers
# --------------------------------------------------------------------------------------------


def _raw(**kw):
    base = {
        "kkt_residual": 1e-12,
        "n_active": 0,
        "n_weak": 0,
        "min_multiplier": math.inf,
        "sigma_min": 1.0,
        "sigma_max": 1.0,
        "lambda_min": 0.1,
        "eig_error": 1e-12,
        "hess_norm": 1.0,
        "sym_scale": 0.0,
        "symmetry_curvature": 0.0,
        "n_symmetries": 3,
        "dim": 10,
        "matvecs": 30,
        "exhausted": False,
        "n": 100,
    }
    base.update(kw)
    return certificate_mf.Raw(**{k: np.asarray(v) for k, v in base.items()})


def test_verdict_is_decided_from_the_ritz_value_and_its_error():
    tol = 1e-12 + 10 * EPS  # residual / sigma_min + sqrt(n) eps ||H|| with these numbers
    assert from_raw(_raw(), GTOL).kind == "minimum"
    assert from_raw(_raw(), GTOL).hess_tol == pytest.approx(tol)
    # a Ritz value below -hess_tol proves a negative eigenvalue, whatever its error
    assert from_raw(_raw(lambda_min=-1e-9, eig_error=1.0), GTOL).kind == "saddle"
    # a Ritz value just above -hess_tol, but not by its error: the eigenvalue may be below
    assert from_raw(_raw(lambda_min=1e-9, eig_error=1e-6), GTOL).kind == "undecided"
    assert from_raw(_raw(lambda_min=1e-5, eig_error=1e-6), GTOL).kind == "minimum"
    assert from_raw(_raw(lambda_min=1e-5, eig_error=1e-6), GTOL).position_error == pytest.approx(
        1e-12 / (1e-5 - 1e-6)
    )
    assert from_raw(_raw(kkt_residual=1e-3), GTOL).kind == "not stationary"
    assert from_raw(_raw(sigma_min=1e-6), GTOL).kind == "degenerate"  # < eps^(1/4) sigma_max
    assert from_raw(_raw(), GTOL, second_order=False).kind == "stationary"
    assert math.isnan(from_raw(_raw(), GTOL).min_multiplier)  # no active cap


# --------------------------------------------------------------------------------------------
# against the dense reference: one case of each kind (default tier)
# --------------------------------------------------------------------------------------------


def _three_end_points():
    """The simplex (a minimum), the square on the equator (a saddle, -0.091) and the same
    square at tau = 0.06 (its only negative curvature -5e-7): one shape, N = 4, d = 3."""
    sq, tet = _square(), _simplex(4, 3)
    cases = [(0.2, tet), (0.5, sq), (TINY_TAU, sq)]
    return [_end_point(Config(n_pairs=4, dim=3, tau=tau), np.stack([x, x])) for tau, x in cases]


def _batch(points):
    return kkt_certificates(
        points[0][0],
        [a for _, a, _ in points],
        [p for _, _, p in points],
        [0] * len(points),
        GTOL,
        active_tol=1e-14,
        method="matrix-free",
    )


def test_one_minimum_saddle_and_tiny_saddle_agree_with_dense_in_one_batch(monkeypatch):
    # the matrix-free certificates of the three end points come from one vmapped program
    points = _three_end_points()
    assert all(p[0] == points[0][0] for p in points)
    spectra = []
    eigvalsh = np.linalg.eigvalsh

    def spy(h):  # the dense path's full reduced spectrum
        ev = eigvalsh(h)
        spectra.append(ev)
        return ev

    monkeypatch.setattr(certificate.np.linalg, "eigvalsh", spy)
    dense = [
        kkt_certificate(s, a, p, 0, GTOL, active_tol=1e-14, method="dense") for s, a, p in points
    ]
    monkeypatch.undo()
    mf = _batch(points)
    assert [d.kind for d in dense] == ["minimum", "saddle", "saddle"]
    tiny = spectra[2]
    assert -1e-6 < tiny[0] < -1e3 * dense[2].hess_tol  # below 1e-6, far beyond the tolerance
    assert tiny[1] > 0  # the only negative direction
    for d, m in zip(dense, mf, strict=True):
        assert m.method == "matrix-free"
        _agree(d, m, 24)


def test_planted_fault_in_the_matrix_free_hessian_moves_the_verdict(monkeypatch):
    # the objective negated inside the compiled certificate: at the simplex (a minimum) the
    # gradient stays zero, the multipliers flip, and the Lagrangian's Hessian is negated
    points = _three_end_points()
    good = _batch(points)[0]  # the program of the test above (same shapes: no compile)
    assert good.kind == "minimum"
    real = certificate_mf.objective_at
    monkeypatch.setattr(certificate_mf, "objective_at", lambda *a, **k: -real(*a, **k))
    compiled = (certificate_mf.certify_batch, certificate_mf.certify_one)  # (nested jit traces)
    for fn in compiled:
        fn.clear_cache()
    try:
        bad = _batch(points)[0]
    finally:
        monkeypatch.undo()
        for fn in compiled:
            fn.clear_cache()
    assert bad.kind == "saddle"
    assert bad.lambda_min < -good.lambda_min / 2


@pytest.mark.slow
def test_learnable_axis_two_cluster_saddle_agrees_with_dense():
    # the merged cap configuration of tests/test_certificate.py, with the axis a variable:
    # coupling rows through the axis (Woodbury solve), 3 joint rotations of points and axis
    x = _two_clusters(0.3)
    cfg = Config(n_pairs=4, dim=3, tau=0.1, constraint="cone", cone_angle=0.3, solver="gd")
    s, a, p = _end_point(cfg.replace(dtype="float64"), np.stack([x, x]))
    dense = kkt_certificate(s, a, p, 0, GTOL, active_tol=1e-14, method="dense")
    mf = kkt_certificate(s, a, p, 0, GTOL, active_tol=1e-14, method="matrix-free")
    assert (dense.kind, dense.n_symmetries) == ("saddle", 3)
    _agree(dense, mf, 24 + 6)


@pytest.mark.slow
def test_best_of_seeds_certifies_its_seeds_as_one_matrix_free_batch(monkeypatch):
    # three seeds of one config: with the matrix-free method forced, their second orders are
    # one vmapped program (one call), with the dense path's verdicts and eigenvalues
    cfg = Config(n_pairs=4, dim=3, tau=0.2)
    ref, ref_losses = best_of_seeds(cfg, [0, 1, 2])
    monkeypatch.setattr(certificate, "MATRIX_FREE_MIN_VARS", 0)
    calls = []
    real = certificate_mf.certify_batch

    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(certificate_mf, "certify_batch", counted)
    best, losses = best_of_seeds(cfg, [0, 1, 2])
    assert len(calls) == 1
    assert best.certificate.method == "matrix-free"
    assert ref.certificate.method == "dense"
    np.testing.assert_array_equal(np.isnan(losses), np.isnan(ref_losses))
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-12)  # same solves, same end points
    for k in ("seeds_minimum", "seeds_saddle", "seeds_not_stationary"):
        assert best.measures[k] == ref.measures[k]
    c, rc = best.certificate, ref.certificate
    assert c.kind == rc.kind == "minimum"
    assert c.lambda_min == pytest.approx(rc.lambda_min, rel=1e-8)


def test_auto_picks_matrix_free_above_the_size_threshold():
    cfg = Config(n_pairs=4, dim=3, tau=0.5)
    s, a, p = _end_point(cfg, np.stack([_simplex(4, 3)] * 2))
    assert certificate._method(s, a, p, "auto") == "dense"  # 24 variables
    big = {**p, "z": jnp.zeros((2, 128, 8))}
    assert certificate._method(s, a, big, "auto") == "matrix-free"  # 2048 variables
    with pytest.raises(ValueError, match="method"):
        certificate._method(s, a, p, "qr")
    # a set whose part has no matrix-free operators is certified densely at any size
    odd = a._replace(constraints=Constraint.of(*a.constraints.parts, _Band(jnp.zeros(2))))
    assert not critical.supported(odd.constraints)
    assert certificate._method(s, odd, big, "auto") == "dense"
    with pytest.raises(NotImplementedError, match="_Band"):
        critical.coupling(odd.constraints)


class _Band(NamedTuple):
    """A part with no matrix-free operators (a new set before its certificate support)."""

    height: jax.Array


# --------------------------------------------------------------------------------------------
# the full grid (slow tier)
# --------------------------------------------------------------------------------------------

SOLVED = {
    "sphere": Config(n_pairs=16, dim=3, tau=0.2),
    "three_modalities": Config(n_pairs=8, dim=3, tau=0.3, modalities=3),
    "hyperplanes": Config(n_pairs=16, dim=4, tau=0.2, constraint="subspace", phi=0.5),
    "subspace_k2": Config(
        n_pairs=12, dim=5, tau=0.3, constraint="subspace", subspace_dim=2, thetas=(0.3, 0.6)
    ),
    "concentration": Config(
        n_pairs=12, dim=3, tau=0.2, constraint="concentration", kappa=2.0, solver="gd",
        steps=4000,
    ),
    "concentration_in_subspace": Config(
        n_pairs=12, dim=4, tau=0.2, constraint="subspace", phi=0.4, kappa=2.0, solver="gd",
        steps=4000,
    ),
    "cone_fixed": Config(
        n_pairs=12, dim=3, tau=0.2, constraint="cone", cone_angle=0.5, cone_axis="fixed",
        cone_axis_angle=0.3, solver="gd", steps=4000,
    ),
    "cone_learned": Config(
        n_pairs=12, dim=3, tau=0.2, constraint="cone", cone_angle=0.5, solver="gd", steps=4000
    ),
    "cone_in_subspace": Config(
        n_pairs=10, dim=4, tau=0.2, constraint="subspace", phi=0.4, cone_angle=0.6, solver="gd",
        steps=4000,
    ),
    "gamma_lift": Config(n_pairs=8, dim=3, tau=0.3, gamma_lift=True, solver="gd", steps=4000),
    "learn_tau": Config(n_pairs=8, dim=3, tau=0.3, learn_tau=True, solver="gd", steps=3000),
    "sphere_64x8": Config(n_pairs=64, dim=8, tau=0.2),
    "sphere_128x4": Config(n_pairs=128, dim=4, tau=0.2),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.long  # the full grid: each case solves its end point (outside CI's budget)
@pytest.mark.parametrize("name", sorted(SOLVED))
def test_matrix_free_agrees_with_dense_at_solved_end_points(name):
    # end points of the solvers (second order off); where a run stops above 1e-9 the
    # certificate's gtol is twice the gradient norm reached, so that the second order runs
    cfg = SOLVED[name].replace(second_order=False, dtype="float64")
    static, args = prepare(cfg)
    out = execute(static, args)
    r = finish(cfg, static, args, out)
    args64, p64 = _to_float64(args, out.params)
    t = max(int(out.steps) - 1, 0)
    gtol = max(GTOL, 2 * r.certificate.grad_norm)
    active_tol = (cfg.dim + 2) * EPS
    kw = {"active_tol": active_tol}
    dense = kkt_certificate(static, args64, p64, t, gtol, method="dense", **kw)
    mf = kkt_certificate(static, args64, p64, t, gtol, method="matrix-free", **kw)
    assert dense.kind in ("minimum", "saddle")
    n_vars = sum(np.size(v) for v in certificate._kkt.variables(static, p64).values())
    _agree(dense, mf, n_vars)


PLANTED = {
    "simplex_4_3": (Config(n_pairs=4, dim=3, tau=0.2), _simplex(4, 3)),
    "simplex_3_4": (Config(n_pairs=3, dim=4, tau=0.3), _simplex(3, 4)),
    "simplex_4_5": (Config(n_pairs=4, dim=5, tau=0.1), _simplex(4, 5)),
    "simplex_12_11": (Config(n_pairs=12, dim=11, tau=0.3), _simplex(12, 11)),
    "collapsed": (Config(n_pairs=4, dim=3, tau=0.3), np.tile([1.0, 0.0, 0.0], (4, 1))),
    "rim_fixed": (
        Config(
            n_pairs=6, dim=3, tau=0.2, constraint="cone", cone_angle=0.4, cone_axis="fixed",
            solver="gd", dtype="float64",
        ),
        _rim(6, 0.4),
    ),
    "clusters_fixed": (
        Config(
            n_pairs=4, dim=3, tau=0.1, constraint="cone", cone_angle=0.3, cone_axis="fixed",
            solver="gd", dtype="float64",
        ),
        _two_clusters(0.3),
    ),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PLANTED))
def test_matrix_free_agrees_with_dense_on_planted_configurations(name):
    cfg, x = PLANTED[name]
    s, a, p = _end_point(cfg, np.stack([x, x]))
    dense = kkt_certificate(s, a, p, 0, GTOL, active_tol=1e-14, method="dense")
    mf = kkt_certificate(s, a, p, 0, GTOL, active_tol=1e-14, method="matrix-free")
    _agree(dense, mf, x.size * 2)


@pytest.mark.slow
def test_restarted_lanczos_resolves_the_tiny_saddle():
    # a basis of 6 vectors on the 13-dim reduced space: the Lanczos restarts, and must still
    # find the only negative curvature (-5e-7) against the next one (+5e-7)
    sq = _square()
    s, a, p = _end_point(Config(n_pairs=4, dim=3, tau=TINY_TAU), np.stack([sq, sq]))
    dense = kkt_certificate(s, a, p, 0, GTOL, active_tol=1e-14, method="dense")
    small = certificate_mf.Settings(krylov=6, keep=2)
    mf = kkt_certificate(s, a, p, 0, GTOL, active_tol=1e-14, method="matrix-free", settings=small)
    assert mf.matvecs > 6 + 3  # restarted (3 symmetry products besides)
    _agree(dense, mf, 24)
