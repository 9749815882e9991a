"""Planted faults: every check can fail, and each fault moves its check.

Each test breaks one ingredient a check depends on (monkeypatch of the engine, a theory
function or the check's own rule), runs the check's quick form and compares it with the same
check run without the fault (:func:`assert_fault_moves`): the verdict must change, or the
measured value must move by more than the row's tolerance. A fault test that only asserted
"not agrees" passed without the fault wherever the row already disagreed or was inconclusive
(yaras.swapping_hard_vs_row, liang.shift_minimum_free_points_fixed_tau). A fault that a check
must NOT see is asserted too (a rescaled loss has the same argmin). Checks whose quick form
takes more than ~20 s on 2 shared cores are in the slow tier.

Faults: ``summed`` (InfoNCE summed over pairs instead of averaged), ``no_positive`` (the
positive left out of each denominator), ``tau_twice`` (logits at beta^2), ``rates_sign`` (the
sign of g flipped in the reduced rates), ``tau_flow_sign`` (the temperature's gradient flipped
in the dynamics), ``frozen`` (a constant loss: nothing moves), ``no_schedule`` (a temperature
schedule ignored), ``bessel_order`` (I_{rho+2}/I_{rho+1} for I_{rho+1}/I_rho), ``labels``
(the ATP and CU terms dropped), ``no_swap`` (the swap mechanism a no-op), ``scrambled pairs``
(retrieval broken in one arm), ``no mean floor`` (the minimum mean norm of a gap dropped).
"""

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.special import logsumexp

import gapsim.alignment.shift as shift_mod
import gapsim.checks.grassucci as grassucci
import gapsim.checks.liang as liang
import gapsim.checks.wang_isola as wang_isola
import gapsim.checks.yaras as yaras
import gapsim.checks.yaras_flow as yaras_flow
import gapsim.core.mechanisms.swapping as swapping
import gapsim.core.objective as objective
import gapsim.core.solvers as solvers
import gapsim.studies.yi_subspace as yi_subspace_study
from gapsim.checks import REGISTRY, select
from gapsim.checks.base import AGREES, CheckResult, clear_caches, run_check
from gapsim.core.loss import infonce
from gapsim.core.mechanisms.temperature import ScheduledTemperature as Scheduled

_CLEAN: dict[str, CheckResult] = {}


def _forget() -> None:
    clear_caches()
    jax.clear_caches()


@pytest.fixture
def fault(monkeypatch):
    """monkeypatch with every memoised run and compiled function forgotten before and after."""
    select()
    _forget()
    yield monkeypatch
    monkeypatch.undo()
    _forget()


def _run(cid: str) -> CheckResult:
    r = run_check(REGISTRY[cid], quick=True)
    assert r.verdict != "error", r.details.get("traceback")
    return r


def clean_run(cid: str) -> CheckResult:
    """The check's quick run without any fault (memoised per test session)."""
    if cid not in _CLEAN:
        _forget()
        _CLEAN[cid] = _run(cid)
    return _CLEAN[cid]


def _numeric(v: Any) -> np.ndarray | None:
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return None
    return a


def assert_fault_moves(
    fault,
    cid: str,
    plant: Callable[[Any], None],
    value: Callable[[CheckResult], Any] | None = None,
    by: float | None = None,
) -> tuple[CheckResult, CheckResult]:
    """Plant a fault; the check's verdict, or its measured value, must move against the clean run.

    ``value``: what is compared when the verdict stays (default: ``measured``); ``by``: how far
    it must move (default: the row's numeric tolerance, else any change beyond 1e-12).
    Returns (clean, faulted).
    """
    clean = clean_run(cid)
    plant(fault)
    _forget()
    broken = _run(cid)
    if broken.verdict != clean.verdict:
        return clean, broken
    get = value or (lambda r: r.measured)
    a, b = _numeric(get(clean)), _numeric(get(broken))
    assert a is not None, (cid, "no numeric value to compare")
    assert b is not None, (cid, "no numeric value to compare")
    tol = by if by is not None else _numeric(clean.tolerance)
    tol = float(tol) if tol is not None and np.ndim(tol) == 0 else 1e-12
    moved = a.shape != b.shape or bool(np.any(np.abs(b - a) > tol))
    assert moved, (cid, clean.verdict, get(clean), get(broken), tol)
    return clean, broken


# The faults take the engine's optional block size (objective.objective passes it) and ignore it.


def summed(x, y, beta, block_size=0):
    return x.shape[0] * infonce(x, y, beta)


def tau_twice(x, y, beta, block_size=0):
    return infonce(x, y, beta * beta)


def frozen(x, y, beta, block_size=0):
    return 0.0 * infonce(x, y, beta)


def no_positive(x, y, beta, block_size=0):
    s = beta * (x @ y.T)
    off = jnp.where(jnp.eye(s.shape[0], dtype=bool), -jnp.inf, s)
    d = jnp.diag(s)
    return 0.5 * jnp.mean(logsumexp(off, 1) - d) + 0.5 * jnp.mean(logsumexp(off, 0) - d)


LOSS_FAULTS = {"summed": summed, "no_positive": no_positive, "tau_twice": tau_twice}


def _set(target, name, val):
    """A plant: set ``target.name`` to ``val`` on the fixture."""
    return lambda f: f.setattr(target, name, val)


# --- Wang & Isola: the loss itself ------------------------------------------------------------


@pytest.mark.parametrize("name", list(LOSS_FAULTS))
def test_wang_isola_sees_every_loss_fault(fault, name):
    cid = "wang_isola.large_n_decomposition"
    assert_fault_moves(fault, cid, _set(wang_isola, "infonce", LOSS_FAULTS[name]))


# --- Liang: the engine's shift curve against the NumPy reference ------------------------------


@pytest.mark.parametrize("name", ["no_positive", "tau_twice"])
def test_liang_toy_sees_loss_faults(fault, name):
    assert_fault_moves(
        fault, "liang.toy_swapped_pair", _set(shift_mod, "infonce", LOSS_FAULTS[name])
    )


@pytest.mark.parametrize("name", ["no_positive", "tau_twice"])
def test_liang_stationary_argmin_moves_with_loss_faults(fault, name):
    # the former row liang.shift_minimum_at_stationary_temperature, now a unit test of the
    # engine: a loss fault moves the argmin beyond its resolution
    lam, tol = liang.stationary_shift_argmin()
    fault.setattr(shift_mod, "infonce", LOSS_FAULTS[name])
    _forget()
    lam_f, _ = liang.stationary_shift_argmin()
    assert abs(lam_f - lam) > tol, (lam, lam_f, tol)


# The tolerance (1.1e-6 in lam at beta = 100) leaves room for faults far below the coarse ones
# above, on either side of the comparison:


def test_liang_toy_sees_a_small_engine_fault(fault):
    # a logit scale 1e-5 too large in the engine moves the argmin ~2.7e-5
    small = lambda x, y, beta, block_size=0: infonce(x, y, beta * (1 + 1e-5))  # noqa: E731
    assert_fault_moves(fault, "liang.toy_swapped_pair", _set(shift_mod, "infonce", small))


def test_liang_toy_sees_a_small_prediction_fault(fault):
    # a prediction made for heights gamma0 + 1e-6 moves it ~1.3e-5
    assert_fault_moves(fault, "liang.toy_swapped_pair", _set(liang, "GAMMA0", liang.GAMMA0 + 1e-6))


def test_liang_toy_ignores_a_rescaled_loss(fault):
    # a loss times N has the same argmin: this fault must not move the verdict or the argmin
    clean = clean_run("liang.toy_swapped_pair")
    fault.setattr(shift_mod, "infonce", summed)
    _forget()
    r = _run("liang.toy_swapped_pair")
    assert r.verdict == clean.verdict == AGREES
    for k, v in r.measured.items():
        assert abs(v - clean.measured[k]) <= clean.tolerance[k]


@pytest.mark.slow  # ~50 s: trains free points twice
def test_liang_free_points_row_moves_with_the_loss(fault):
    # it disagrees as measured: the argmins must move by more than the 0.05 grid step
    assert_fault_moves(
        fault,
        "liang.shift_minimum_free_points_fixed_tau",
        _set(shift_mod, "infonce", tau_twice),
    )


# --- Yaras: theory, reduced rates, dynamics ----------------------------------------------------


def _flip_g(x, y, nu, gamma):
    r = objective.reduced_rates(x, y, nu, gamma)
    return r._replace(g=-r.g, dbeta_dt=-r.dbeta_dt, dgamma_dt=-r.dgamma_dt)


def _flip_tau_flow(*args, **kwargs):
    b = objective.beta_at(*args, **kwargs)
    return 2 * jax.lax.stop_gradient(b) - b  # same value, gradient of the temperature negated


def _no_schedule(mechs, hypers, beta0, params, t, steps):
    # the schedule's temperature hook skipped: a learnable temperature still applies
    kept = [(m, h) for m, h in zip(mechs, hypers, strict=True) if not isinstance(m, Scheduled)]
    return objective.beta_at([m for m, _ in kept], [h for _, h in kept], beta0, params, t, steps)


@pytest.mark.slow  # ~35 s
def test_initial_rate_sees_a_wrong_bessel_order(fault):
    orig = yaras.yaras_initial_rates
    wrong = lambda d, b, g: orig(d + 2, b, g)  # noqa: E731
    assert_fault_moves(fault, "yaras.initial_rate", _set(yaras, "yaras_initial_rates", wrong))


@pytest.mark.slow  # ~40 s
def test_sign_rule_sees_a_sign_flip_of_g(fault):
    assert_fault_moves(fault, "yaras.sign_rule", _set(yaras, "_rates", jax.jit(_flip_g)))


@pytest.mark.slow  # ~20-45 s (runs the check twice)
def test_parallel_circle_row_moves_with_the_sign_of_g(fault):
    # it disagrees as measured (fraction 0.03 at N = 64); flipping g moves the small-N cells
    _, broken = assert_fault_moves(
        fault,
        "yaras.sign_rule_parallel_circles",
        _set(yaras, "_rates", jax.jit(_flip_g)),
        value=lambda r: r.measured["N=4"],
        by=0.5,
    )
    assert broken.verdict != AGREES


@pytest.mark.slow  # ~25 s
def test_invariant_sees_a_sign_flip_in_the_temperature_flow(fault):
    assert_fault_moves(fault, "yaras.invariant", _set(solvers, "beta_at", _flip_tau_flow))


@pytest.mark.slow  # ~25 s
def test_invariant_does_not_pass_frozen_dynamics(fault):
    # nothing moves, the invariant's drift is 0: it used to pass as exact conservation
    clean, broken = assert_fault_moves(fault, "yaras.invariant", _set(objective, "infonce", frozen))
    assert (clean.verdict, broken.verdict) == (AGREES, "inconclusive")


@pytest.mark.slow  # ~40 s
def test_slow_closure_sees_a_sign_flip_in_the_temperature_flow(fault):
    assert_fault_moves(
        fault, "yaras.learnable_tau_slow_closure", _set(solvers, "beta_at", _flip_tau_flow)
    )


@pytest.mark.slow  # ~25 s
@pytest.mark.parametrize("name", ["summed", "tau_twice"])
def test_fixed_tau_exponential_sees_engine_loss_faults(fault, name):
    assert_fault_moves(
        fault, "yaras.fixed_tau_exponential", _set(objective, "infonce", LOSS_FAULTS[name])
    )


@pytest.mark.slow  # ~25 s
def test_fixed_tau_exponential_sees_a_sign_flip_of_g(fault):
    assert_fault_moves(
        fault, "yaras.fixed_tau_exponential", _set(yaras_flow, "_rates", jax.jit(_flip_g))
    )


@pytest.mark.slow  # ~60 s: the schedule family over three spans, twice
def test_schedule_rate_sees_an_ignored_schedule(fault):
    # the scheduled run stays at beta0: its rate is the beta0 rate, not the ramp average
    assert_fault_moves(fault, "yaras.schedule_rate", _set(solvers, "beta_at", _no_schedule))


@pytest.mark.slow  # ~100 s
def test_swapping_sees_a_swap_that_does_nothing(fault):
    # inconclusive as measured (p = 1 unresolved): the p = 0.1 difference must vanish
    noop = lambda kind, key, x, y: (x, y)  # noqa: E731
    assert_fault_moves(
        fault,
        "yaras.swapping_hard_vs_row",
        _set(swapping, "_swap", noop),
        value=lambda r: r.measured["p=0.1"],
        by=clean_run("yaras.swapping_hard_vs_row").tolerance["p=0.1"],
    )


# --- Grassucci: training with ATP + CU, group measures -----------------------------------------


@pytest.mark.slow  # ~100 s
def test_grassucci_sees_the_atp_cu_terms_dropped(fault):
    # the method under test not applied: both arms train the same points, the gap does not
    # close, so the claim cannot be decided
    orig = grassucci._config
    same = lambda quick, atp, cu, seed: orig(quick, 0.0, 0.0, seed)  # noqa: E731
    assert_fault_moves(
        fault,
        "grassucci.clustering_vs_retrieval",
        _set(grassucci, "_config", same),
        value=lambda r: r.measured["gap change"],
        by=0.5,
    )


@pytest.mark.slow
def test_grassucci_sees_labels_unrelated_to_the_points(fault):
    # class labels scrambled before scoring (a broken label pipeline): the gain that remains
    # comes from merging the two modalities alone, which the permuted-label null also gets
    orig = grassucci.group_measures

    def scrambled(x, y, labels, **kw):
        rng = np.random.default_rng(7)
        return orig(x, y, rng.permutation(np.asarray(labels)), **kw)

    assert_fault_moves(
        fault,
        "grassucci.clustering_vs_retrieval",
        _set(grassucci, "group_measures", scrambled),
        value=lambda r: r.measured["V-measure gain"],
        by=clean_run("grassucci.clustering_vs_retrieval").tolerance["t * se(V)"],
    )


@pytest.mark.slow
def test_grassucci_retrieval_half_can_fail(fault):
    # the ATP + CU arm's pairs scrambled within their classes after training: retrieval drops,
    # the groups do not change; the R@1 change must show it (it could not at R@1 = 1 ceilings)
    orig = grassucci.run_cached

    def scrambled_pairs(cfg):
        r = orig(cfg)
        if cfg.atp == 0.0:
            return r
        perm = np.arange(r.y.shape[0]).reshape(-1, grassucci.K)  # rows i, i + K, ... share a class
        perm = np.roll(perm, 1, axis=0).reshape(-1)
        return SimpleNamespace(x=r.x, y=r.y[perm], measures=r.measures)

    clean, broken = assert_fault_moves(
        fault,
        "grassucci.clustering_vs_retrieval",
        _set(grassucci, "run_cached", scrambled_pairs),
        value=lambda r: r.measured["R@1 change"],
        by=0.1,
    )
    assert broken.measured["R@1 change"] < clean.measured["R@1 change"]


# --- Yi et al.: finite N, free points, certified L-BFGS -----------------------------------------


@pytest.mark.slow  # 15 s
def test_simplex_row_sees_a_wrong_closed_form(fault):
    import gapsim.checks.yi as yi

    real = yi.simplex_loss
    wrong = lambda n, tau: real(n, 1.01 * tau)  # noqa: E731
    assert_fault_moves(fault, "yi.unconstrained.simplex", _set(yi, "simplex_loss", wrong))


@pytest.mark.slow  # ~30 s
def test_large_n_row_sees_a_wrong_limit(fault):
    import gapsim.checks.yi as yi

    real = yi.large_n_limit
    off = lambda d, tau: real(d, tau) + 1e-3  # noqa: E731
    assert_fault_moves(fault, "yi.unconstrained.large_n_limit", _set(yi, "large_n_limit", off))


@pytest.mark.slow  # ~40 s: the quick hyperplane study twice
def test_gap_vs_phi_needs_its_mean_floor(fault):
    # without the minimum mean norm (1/sqrt N) the rows read angles of vanishing means again:
    # the regime counts must move (no_gap -> a shape)
    assert_fault_moves(
        fault,
        "yi.subspace.gap_vs_phi",
        _set(yi_subspace_study, "min_mean_norm", lambda n: 0.0),
        value=lambda r: r.measured["regime_counts"]["no_gap"],
        by=0.5,
    )
