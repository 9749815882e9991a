"""The bridge study (gapsim.studies.bridge, rows yi.bridge.*) and fixed concentration in k-dim.

Default tier: the identity behind the study, the fit, the report block, the concentration
projection from far starts, a k-dim subspace optimum, and the study at its smallest size with
a planted fault (a wrong population) that moves the measured band test. Slow tier: two sizes,
where the verdict itself moves under the fault.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest
from testutil import assert_close

from gapsim import Config
from gapsim.app.parts import make_constraints, prepare
from gapsim.app.result import jsonable
from gapsim.app.simulate import simulate
from gapsim.checks.base import AGREES, DISAGREES, INCONCLUSIVE
from gapsim.checks.docs import rewrite
from gapsim.checks.yi_bridge import CONE, SUBSPACE, judge
from gapsim.core.loss import infonce
from gapsim.core.precision import x64
from gapsim.core.sets import mean_resultant_length
from gapsim.studies.bridge import against, loglog_fit, ns_up_to, study
from gapsim.studies.bridge_population import population
from gapsim.studies.bridge_report import render


@x64
def test_loss_minus_log_n_is_f_at_the_empirical_distribution():
    # L_N - log N = F(P_N): each row's log-sum-exp is log N + log of an empirical mean, so
    # F's terms with the empirical means in place of the expectations give the loss exactly
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 3))
    y = rng.standard_normal((12, 3))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    tau = 0.3
    s = x @ y.T / tau
    lme_row = np.log(np.mean(np.exp(s), axis=1))
    lme_col = np.log(np.mean(np.exp(s), axis=0))
    f_emp = float(np.mean(-np.diag(s) + 0.5 * (lme_row + lme_col)))
    loss = float(infonce(jnp.asarray(x), jnp.asarray(y), 1 / tau))
    assert_close(loss - math.log(12), f_emp, atol=1e-14)  # float64 rounding of ~12 terms


def test_loglog_fit_recovers_a_power_law_and_refuses_two_points():
    ns = np.array([8, 16, 32, 64])
    fit = loglog_fit(ns, 3.0 * ns**-1.5 * np.exp([0.01, -0.01, 0.01, -0.01]))
    assert fit["interval"][0] < -1.5 < fit["interval"][1]
    assert abs(fit["slope"] + 1.5) < 0.05  # noise of 1% in y moves the slope by ~0.01
    assert loglog_fit([8, 16], [1.0, 0.5]) is None
    assert ns_up_to(64) == [8, 16, 32, 64]


@x64
def test_population_band_and_quadrature_match_the_monte_carlo():
    pop = population(SUBSPACE, draws=4000, grid=13)
    assert pop["decided"]
    assert pop["argmin"] == pytest.approx(math.pi / 2)
    lo, hi = pop["gap_band"]
    assert lo < SUBSPACE.phi <= hi + 1e-15  # the band holds phi, the population gap
    # quadrature (circle, exact to rounding) against the CRN Monte Carlo within 4 SE
    assert abs(pop["F_quadrature"] - pop["F"]) <= 4 * pop["F_se"]


@x64
def test_concentration_projection_lands_from_near_uniform_starts():
    # issue 22: at N >= 128 a start whose mean nearly vanishes sent the unguarded Newton out of
    # its basin (NaN starts: N = 128 seed 1 in two planes of R^3; N = 256 seed 6 on S^2), and
    # the fixed point drifted out of the subspace. Every start now lies on its set.
    for kw in ({"constraint": "subspace", "phi": 0.7}, {"constraint": "concentration"}):
        n, seed = (128, 1) if kw["constraint"] == "subspace" else (256, 6)
        cfg = Config(n_pairs=n, dim=3, tau=0.3, kappa=5.0, seed=seed, **kw)
        z = np.asarray(prepare(cfg)[1].z0)
        for zm, c in zip(z, make_constraints(cfg), strict=True):
            assert np.isfinite(zm).all()
            assert_close(np.linalg.norm(zm.mean(0)), float(c.rho), atol=1e-14)
            assert_close(np.linalg.norm(zm, axis=1), 1.0, atol=1e-14)
            if c.basis is not None:
                q = np.asarray(c.basis)
                assert_close(zm - zm @ q @ q.T, 0.0, atol=1e-14)


def test_fixed_concentration_in_a_k_dim_subspace_projects_onto_the_set():
    # item 1 for k-dim subspaces with trivial intersection: a 2-dim subspace of R^4 (principal
    # angles 0.4, 0.9 with its partner), mean norm A_2(kappa) inside it
    cfg = Config(n_pairs=8, dim=4, tau=0.3, constraint="subspace", thetas=(0.4, 0.9), kappa=3.0)
    rho = mean_resultant_length(3.0, 2)
    z = np.asarray(prepare(cfg)[1].z0)
    for zm, c in zip(z, make_constraints(cfg), strict=True):
        assert float(c.rho) == rho
        assert_close(np.linalg.norm(zm.mean(0)), rho, atol=1e-14)
        q = np.asarray(c.basis)
        assert q.shape == (4, 2)
        assert_close(zm - zm @ q @ q.T, 0.0, atol=1e-14)


@pytest.mark.slow
def test_fixed_concentration_in_k_dim_subspaces_certifies():
    # L-BFGS certifies a minimum on that set (N = 8, seed 0)
    cfg = Config(n_pairs=8, dim=4, tau=0.3, constraint="subspace", thetas=(0.4, 0.9), kappa=3.0)
    r = simulate(cfg)
    assert r.certificate.kind == "minimum"
    rho = mean_resultant_length(3.0, 2)
    for z, c in zip((r.x, r.y), make_constraints(cfg), strict=True):
        assert_close(np.linalg.norm(z.mean(0)), rho, atol=1e-13)
        q = np.asarray(c.basis)
        assert_close(z - z @ q @ q.T, 0.0, atol=1e-14)


@pytest.fixture(scope="module")
def tiny():
    return study(SUBSPACE, 8, seeds=(0,), pop=population(SUBSPACE, draws=1000, grid=13))


def test_tiny_study_and_a_wrong_population(tiny):
    (row,) = tiny["rows"]
    assert row["certified"] == 1
    assert row["certificate"] == "minimum"
    # measured at N = 8: both centres orthogonal to C, gap phi to the certificate's precision
    assert abs(row["gap"] - SUBSPACE.phi) <= row["gap_precision"]
    assert row["shared"] <= 10 * row["shared_precision"]
    assert row["gap_in_band"]
    assert tiny["within_band_from_n"] == 8
    assert judge(tiny, "tiny").verdict == INCONCLUSIVE  # one size cannot show convergence
    # planted fault: the population of another phi; the same optima leave its band
    wrong = against(tiny, population(SUBSPACE._replace(phi=1.0), draws=1000, grid=13))
    assert not wrong["rows"][0]["gap_in_band"]
    assert wrong["within_band_from_n"] is None
    # and the loss is measured against the wrong F (quadrature, exact: F(phi = 1.0) is 0.0054
    # above F(phi = 0.7), measured 2026-12; any move above rounding shows the fault)
    moved = tiny["rows"][0]["loss_minus_F"] - wrong["rows"][0]["loss_minus_F"]
    assert moved > 1e-3


def test_render_writes_between_the_markers(tiny):
    v = judge(tiny, "tiny")
    row = {"id": "yi.bridge.subspace_convergence", "verdict": v.verdict, "runtime_s": 1.0}
    row = jsonable({**row, "measured": v.measured, "details": v.details})
    text = render({row["id"]: row})
    assert "| 8 | 1 of 1" in text
    assert "inconclusive" in text
    # the docs generator writes it into the gen:bridge block, from the full report if it has
    # the row, else the quick one; without a bridge row the block stays as it is
    doc = "a\n<!-- gen:bridge -->\nold\n<!-- /gen:bridge -->\nb\n"
    out = rewrite(doc, {"quick": {row["id"]: row}})
    assert out.startswith("a\n<!-- gen:bridge -->\n**`yi.bridge")
    assert out.endswith("-->\nb\n")
    assert "old" not in out
    assert rewrite(doc, {"quick": {}}) == doc


@pytest.mark.slow
def test_two_sizes_agree_and_a_wrong_population_disagrees(two_sizes):
    out = two_sizes
    assert judge(out, "slow").verdict == AGREES
    wrong = against(out, population(SUBSPACE._replace(phi=1.0), draws=4000))
    assert judge(wrong, "slow").verdict == DISAGREES


# --- the verdict rules on synthetic studies (a referee's wrong passes, each one refused) ------

_POP = {"gap_band": [0.0, 0.13], "decided": True, "F": 0.0, "F_se": 0.0, "F_quadrature": 0.0}


def _synthetic(gaps, random_at_best=None, identified=None, prec=1e-8):
    """A cone study whose certified sizes N = 8, 16, ... have these gaps (target 0)."""
    rows = []
    for i, g in enumerate(gaps):
        n = 8 * 2**i
        rows.append(
            {
                "n": n,
                "certified": 1,
                "gap": g,
                "gap_minus_target": g,
                "gap_precision": prec,
                "loss_minus_log_n": -1.0 - 1e-3 * i,
                "random_at_best": True if random_at_best is None else random_at_best[i],
                "gap_identified": True if identified is None else identified[i],
            }
        )
    out = {"setting": CONE._asdict(), "rows": rows, "n_max": rows[-1]["n"]}
    return against(out | {"largest_certified_n": rows[-1]["n"], "stopped": None}, _POP)


def test_judge_needs_two_independent_sizes_in_the_band():
    assert judge(_synthetic([0.0, 0.0, 0.0]), "t").verdict == AGREES
    # only the largest size in the band (it used to agree): not convergence
    assert judge(_synthetic([0.7, 0.7, 0.0]), "t").verdict == INCONCLUSIVE
    # the largest outside: a certified best optimum off the population answer
    assert judge(_synthetic([0.0, 0.0, 0.7]), "t").verdict == DISAGREES
    # sizes whose best is only the doubled start carry the previous gap: not evidence
    assert judge(_synthetic([0.7, 0.0, 0.0, 0.0], [1, 1, 0, 0]), "t").verdict == INCONCLUSIVE
    assert judge(_synthetic([0.7, 0.0, 0.0, 0.0], [1, 1, 1, 0]), "t").verdict == AGREES


def test_an_unidentified_or_unresolved_gap_is_never_judged():
    # a twin tie (gap pi with the loss of gap 0) is a regime, not a gap of 0
    out = _synthetic([math.pi, math.pi], identified=[False, False])
    v = judge(out, "t")
    assert v.verdict == INCONCLUSIVE
    assert v.measured["not_identified_at"] == [8, 16]
    assert [r["gap_in_band"] for r in out["rows"]] == [None, None]
    assert "not identified" in v.measured["sentence"]
    # vanishing means (infinite precision: a dropped concentration) are in no band
    out = _synthetic([1.0, 2.0, 3.0], prec=math.inf)
    assert judge(out, "t").verdict == INCONCLUSIVE
    assert out["within_band_from_n"] is None


_STUDY = """
import dataclasses, json, sys
import gapsim.studies.bridge as bridge
from gapsim.app.result import jsonable
from gapsim.studies.bridge_population import population
if sys.argv[1] == "fault":  # the concentration dropped on the finite-N side
    real = bridge.config
    bridge.config = lambda *a, **k: dataclasses.replace(real(*a, **k), kappa=None)
pop = population(bridge.SUBSPACE, draws=4000)
print(json.dumps(jsonable(bridge.study(bridge.SUBSPACE, 16, seeds=(0, 1), pop=pop))))
"""


def _study_in_a_fresh_process(kind: str) -> dict:
    """The two-size study (N = 8, 16; seeds 0, 1), ``kind`` clean or fault, in its own process.

    In the slow tier's long-lived xdist worker this study's batched L-BFGS crashed twice in
    XLA (an abort, then a segmentation fault, both in ``app.batch.run_stacked`` after other
    test files) while the same tests pass alone: a fresh interpreter keeps them apart.
    """
    r = subprocess.run(
        [sys.executable, "-c", _STUDY, kind], capture_output=True, text=True, timeout=1200
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def two_sizes():
    return _study_in_a_fresh_process("clean")


@pytest.mark.slow
def test_free_points_instead_of_fixed_concentration_move_the_verdict(two_sizes):
    # planted fault on the finite-N side: the concentration dropped (free points in the
    # hyperplanes, whose means vanish); compared with the unfaulted study of the same sizes
    faulted = _study_in_a_fresh_process("fault")
    assert judge(two_sizes, "clean").verdict == AGREES
    assert judge(faulted, "fault").verdict != AGREES
