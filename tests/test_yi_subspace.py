"""gapsim.checks.yi_subspace: the mean decomposition, regimes, verdicts, and the alignment fixes.

The former check rows ``yi.ssp.perfect_alignment`` and ``yi.rotation.perfect_alignment`` only
restated the pair structure; they are unit tests here.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gapsim.checks.yi_subspace as ys
import gapsim.studies.yi_subspace as study
from gapsim import Config, hyperplane_pair, hyperplane_rotation, simulate, ssp_from_bases
from gapsim.app.parts import make_constraints
from gapsim.checks.base import AGREES, DISAGREES, INCONCLUSIVE


def _pair_structured(seed, n, d, phi, c_shift, a_shift):
    """x in A, y = the same coordinates in B (P_C x = P_C y, a = b): the Thm 4 structure."""
    qu, qv = hyperplane_pair(d, phi)
    w = np.random.default_rng(seed).normal(size=(n, d - 1))  # NumPy: no compile per shape
    w[:, 0] += c_shift  # a shared (C) component of the means
    w[:, -1] += a_shift  # a private component
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    return w @ qu.T, w @ qv.T, qu, qv


@given(
    d=st.integers(3, 9),
    phi=st.floats(0.1, 1.5),
    c_shift=st.floats(0.0, 2.0),
    a_shift=st.floats(0.3, 2.0),
    seed=st.integers(0, 2**16),
)
def test_centroid_identity_holds_for_pair_structured_points(d, phi, c_shift, a_shift, seed):
    # cos(angle) = (|m_C|^2 + abar^2 cos phi)/(|m_C|^2 + abar^2): exact algebra, float64 rounding
    x, y, qu, qv = _pair_structured(seed, 64, d, phi, c_shift, a_shift)
    dec = study.mean_decomposition(x, y, qu, qv)
    assert dec["angle_raw"] == pytest.approx(dec["angle_identity"], abs=1e-7)
    assert dec["angle_raw"] <= phi + 1e-9  # the angle never exceeds phi with the pair structure


def test_identity_fails_without_the_pair_structure():
    # planted fault: y's private coordinates flipped (b = -a): the identity no longer applies
    x, y, qu, qv = _pair_structured(0, 64, 5, 0.8, 1.0, 1.0)
    pv_priv = qv[:, -1]
    y_bad = y - 2 * np.outer(y @ pv_priv, pv_priv)
    dec = study.mean_decomposition(x, y_bad, qu, qv)
    assert abs(dec["angle_raw"] - dec["angle_identity"]) > 0.1


def test_regimes():
    # N = 4: a mean below 1/sqrt(4) = 0.5 is no centre; eps 1e-9 pins everything else
    base = {"mean_norm_min": 0.6, "max_abs_a": 0.5, "m_C": 0.0, "abar": np.array([0.3])}
    eps, n = 1e-9, 4
    assert study.regime(base, eps, n) == "phi"
    assert study.regime({**base, "m_C": 0.2}, eps, n) == "between"
    assert study.regime({**base, "abar": np.array([0.0]), "m_C": 0.2}, eps, n) == "zero"
    assert study.regime({**base, "max_abs_a": 0.0, "abar": np.array([0.0])}, eps, n) == "abandoned"
    # k-dim: a second private mean makes the angle differ from theta_1
    assert study.regime({**base, "abar": np.array([0.3, 0.1])}, eps, n) == "between"
    assert study.regime({**base, "abar": np.array([0.0, 0.1])}, eps, n) == "theta_j"


def test_no_gap_below_the_mean_norm_of_uniform_points():
    # a resolved, structured mean (angle phi by its shape) below 1/sqrt(N) is not a gap
    dec = {"mean_norm_min": 0.02, "max_abs_a": 0.5, "m_C": 0.0, "abar": np.array([0.02])}
    assert study.shape(dec, 1e-9, 32) == "phi"
    assert study.regime(dec, 1e-9, 32) == "no_gap"
    assert study.regime({**dec, "mean_norm_min": 0.2}, 1e-9, 32) == "phi"  # 0.2 > 1/sqrt(32)
    # a mean that its error could lift above 1/sqrt(N) is unresolved, not "no gap"
    eps = 0.5 * np.sqrt(32)  # mean error 0.5
    assert study.regime(dec, eps, 32) == "unresolved"
    assert study.regime(dec, np.inf, 32) == "unpinned"
    # the threshold is E|mean|^2 = 1/N for uniform points: Monte Carlo, 4 standard errors
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4000, 16, 5))
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    m2 = np.sum(z.mean(1) ** 2, axis=-1)
    assert abs(m2.mean() - study.min_mean_norm(16) ** 2) <= 4 * m2.std() / np.sqrt(len(m2))


def _row(angle, phi, regime="phi", unc=1e-6, defined=True, reproduced=True):
    return {
        "n": 32,
        "d": 8,
        "tau": 0.5,
        "regime": regime,
        "angle_raw": angle,
        "phi": phi,
        "angle_uncertainty": unc,
        "angle_defined": defined,
        "reproduced": reproduced,
        "loss_spread": 0.0,
    }


def test_angle_verdict_can_go_every_way():
    assert ys._verdict_on_angle([_row(0.7, 0.7)], "phi").verdict == AGREES
    assert ys._verdict_on_angle([_row(0.5, 0.7, "between")], "phi").verdict == DISAGREES
    unresolved = _row(math.nan, 0.7, "unresolved", math.inf, False)
    assert ys._verdict_on_angle([unresolved], "phi").verdict == INCONCLUSIVE
    # a tiny miss within 10 uncertainties is not a disagreement
    assert ys._verdict_on_angle([_row(0.7 + 5e-6, 0.7)], "phi").verdict == AGREES
    # no gap: the claim predicts displaced means at angle phi, there are none
    no_gap = _row(0.7, 0.7, "no_gap")
    out = ys._verdict_on_angle([_row(0.7, 0.7), no_gap], "phi")
    assert out.verdict == DISAGREES
    assert out.measured["verdict_reasons"] == {"angle at target": 1, "no gap": 1}
    assert "1 have no gap" in out.measured["sentence"]
    # a best loss found by one seed only is not judged, whatever its regime
    assert ys._verdict_on_angle([{**no_gap, "reproduced": False}], "phi").verdict == INCONCLUSIVE
    # ... and does not mask a judged counterexample (gapsim.checks.base.combine)
    nc = {"n": 32, "d": 8, "tau": 0.5, "phi": 0.7, "regime": "not_certified"}
    assert ys._verdict_on_angle([nc, no_gap], "phi").verdict == DISAGREES


@pytest.fixture(scope="module")
def optimum():
    """A certified optimum in two hyperplanes of R^8 (the quick study's shape; one compile)."""
    r = simulate(Config(n_pairs=32, dim=8, tau=0.5, constraint="subspace", phi=0.7, steps=5000))
    assert r.converged
    return r


@pytest.mark.parametrize("method", ["ssp", "rotation"])
def test_alignment_fixes_align_a_certified_optimum(optimum, method):
    # Yi Cor 3/4: with the pair structure (residual r ~ position error), the aligned paired
    # cosines are 1 - O(r^2); 1e-9 is far above r^2 ~ 1e-16 and far below any real misalignment
    cs = make_constraints(optimum.config)
    qu, qv = np.asarray(cs[0].basis), np.asarray(cs[1].basis)
    f = ssp_from_bases if method == "ssp" else hyperplane_rotation
    after = f(optimum.x, optimum.y, qu, qv).after
    assert after["paired_cosine_min"] >= 1 - 1e-9


def test_decomposition_of_a_certified_optimum(optimum):
    dec = study.decomposition(optimum)
    assert dec["regime"] in study.REGIMES
    # the precision of the points is the second-order certificate's (gtol / lambda_min)
    assert dec["position_error"] == pytest.approx(optimum.certificate.position_error)
    assert 0 < dec["position_error"] < 1e-3
    assert dec["angle_raw"] == pytest.approx(optimum.measures["centroid_angle_raw"], abs=1e-9)
    assert dec["angle_raw"] == pytest.approx(
        dec["angle_identity"], abs=1e3 * dec["angle_uncertainty"]
    )


def test_rows_move_under_a_planted_wrong_principal_angle(monkeypatch, optimum):
    """A decomposition with doubled principal angles breaks the identity row."""
    # d = 8, N = 8, tau = 0.1: an optimum whose centroid angle the certificate pins (~0.01 rad)
    small = Config(n_pairs=8, dim=8, tau=0.1, constraint="subspace", phi=0.7, seed=0)

    def tiny_study(quick):
        return study.study([small], [0], lambda c: {"phi": c.phi})

    monkeypatch.setattr(ys, "hyperplane_study", tiny_study)
    monkeypatch.setattr(ys, "subspace_study", lambda quick: [])
    clean = ys.centroid_identity(True)
    assert clean.verdict == AGREES
    real = study.principal_vectors

    def doubled(qu, qv):
        pv = real(qu, qv)
        return pv._replace(angles=np.where(pv.angles > 1e-8, 2 * pv.angles, pv.angles))

    monkeypatch.setattr(study, "principal_vectors", doubled)
    assert ys.centroid_identity(True).verdict == DISAGREES
