"""gapsim.studies.population_coupling: vMF moments, the bound on E[x.y] over couplings, quadrature.

Closed forms against scipy's vMF sampler (an independent code path) and against explicit
couplings: the bound must hold for every coupling and be attained by y = R x at c_y = R c_x.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import i0e, i1e

import gapsim.studies.population_coupling as pc
from gapsim.core.subspaces import hyperplane_pair
from gapsim.studies.population import VMF, sample_vmf

Z_MAX = 4.0  # Monte Carlo agreement at 4 standard errors


@pytest.mark.parametrize(("k", "kappa"), [(2, 0.5), (4, 3.0), (7, 20.0)])
def test_vmf_moments_match_the_sampler(k, kappa):
    om = pc.centre_coords(0.6, 0.3, k)
    w = sample_vmf(np.random.default_rng(1), VMF(np.eye(k), om, kappa), 40000)
    se_m = w.std(0, ddof=1) / np.sqrt(len(w))
    assert np.all(np.abs(w.mean(0) - pc.mean_resultant(k, kappa) * om) <= Z_MAX * se_m + 1e-12)
    ww = w[:, :, None] * w[:, None, :]
    se_s = ww.std(0, ddof=1) / np.sqrt(len(w))
    err = np.abs(ww.mean(0) - pc.second_moment(k, kappa, om))
    assert np.all(err <= Z_MAX * se_s + 1e-12)
    assert np.trace(pc.second_moment(k, kappa, om)) == pytest.approx(1.0, abs=1e-14)


def test_mean_resultant_small_kappa_and_circle():
    assert pc.mean_resultant(5, 1e-10) == pytest.approx(1e-10 / 5, rel=1e-9)
    assert pc.mean_resultant(2, 3.0) == pytest.approx(i1e(3.0) / i0e(3.0), rel=1e-14)


def test_circle_quadrature_is_exact():
    # E cos(theta) = A_2(kappa) and E sin(theta) = 0 under von Mises(0, kappa)
    z, w = pc.circle_nodes(7.0)
    assert w @ z[:, 0] == pytest.approx(pc.mean_resultant(2, 7.0), abs=1e-14)
    assert abs(w @ z[:, 1]) < 1e-15


def _draws(k, kappa, seed, n=40000):
    return sample_vmf(np.random.default_rng(seed), VMF(np.eye(k), np.eye(k)[0], kappa), n)


def test_pair_structure_coupling_attains_the_bound():
    d, phi, kappa = 5, 0.8, 3.0
    qu, qv = hyperplane_pair(d, phi)
    om = pc.centre_coords(1.1, 0.4, d - 1)
    x, y = pc.common_draws(_draws(d - 1, kappa, 2), qu, qv, om, om)
    xy = np.sum(x * y, axis=1)
    w = pc.coupling_bound(om, om, np.diag(qu.T @ qv), kappa)
    assert abs(xy.mean() - w) <= Z_MAX * xy.std(ddof=1) / np.sqrt(len(xy))


@settings(max_examples=10, deadline=None)
@given(
    s_x=st.floats(0.0, np.pi / 2),
    s_y=st.floats(-np.pi, np.pi),
    psi=st.floats(0.0, np.pi / 2),
    kappa=st.floats(0.5, 20.0),
    phi=st.floats(0.1, 1.5),
)
def test_the_bound_holds_for_explicit_couplings(s_x, s_y, psi, kappa, phi):
    # every coupling's E[x.y] is at most W: the one-draw coupling and a reflected one
    d = 4
    qu, qv = hyperplane_pair(d, phi)
    ox, oy = pc.centre_coords(s_x, 0.0, d - 1), pc.centre_coords(s_y, psi, d - 1)
    z = _draws(d - 1, kappa, 3, 8000)
    w = pc.coupling_bound(ox, oy, np.diag(qu.T @ qv), kappa)
    x, y = pc.common_draws(z, qu, qv, ox, oy)
    _, y2 = pc.common_draws(z * np.array([1.0, -1.0, 1.0]), qu, qv, ox, oy)
    for yy in (y, y2):
        xy = np.sum(x * yy, axis=1)
        assert xy.mean() <= w + Z_MAX * xy.std(ddof=1) / np.sqrt(len(xy))


def test_bound_terms_low_and_up_bracket_and_meet_on_the_diagonal():
    d, phi, kappa, tau = 3, 0.7, 5.0, 0.3
    qu, qv = hyperplane_pair(d, phi)
    z, w = pc.circle_nodes(kappa)
    om = pc.centre_coords(np.pi / 2, 0.0, 2)
    low, up = pc.bound_terms(z, qu, qv, om, om, kappa, tau)
    assert w @ low == pytest.approx(w @ up, abs=1e-12)  # quadrature: exact means
    ox, oy = pc.centre_coords(0.4, 0.0, 2), pc.centre_coords(-2.0, 0.0, 2)
    low, up = pc.bound_terms(z, qu, qv, ox, oy, kappa, tau)
    assert w @ low < w @ up
