"""Batched runs (gapsim.app.batch): one vmapped program, each element with its own stopping rule."""

import numpy as np
import pytest

from gapsim import Config, DivergenceError, best_of_seeds, simulate
from gapsim.app.batch import _run_stacked, resolve_mode, simulate_batch

LBFGS_CFG = Config(n_pairs=6, dim=3, tau=0.2)


@pytest.mark.parametrize("mode", ["vmap", "map"])
def test_lbfgs_seeds_batched_equal_one_by_one(mode):
    cfg = LBFGS_CFG
    configs = [cfg.replace(seed=s) for s in range(5)]
    batched = simulate_batch(configs, mode)
    alone = [simulate(c) for c in configs]
    steps = [r.certificate.steps for r in alone]
    # the seeds stop at different iterations: the batch runs until the last one stops, so the
    # earlier ones are only right if vmap froze them at their own stopping step
    assert len(set(steps)) > 1, steps
    for b, a in zip(batched, alone, strict=True):
        assert b.converged
        assert a.converged
        # Equal to rounding: XLA may sum a batched product in another order, and the line
        # search can turn last-bit differences into other (equally certified) iterates, so the
        # runs are compared where they end, as in tests/test_sweep.py: the certified loss to
        # 1e-10 relative, the points to 1e-6 (an optimum certified to gtol = 1e-9 is pinned
        # only to ~gtol / curvature).
        np.testing.assert_allclose(b.measures["loss"], a.measures["loss"], rtol=1e-10)
        np.testing.assert_allclose(b.x, a.x, atol=1e-6)
        np.testing.assert_allclose(b.y, a.y, atol=1e-6)
        assert b.certificate.grad_norm <= b.certificate.gtol


def test_early_stopped_elements_are_frozen_at_their_own_step():
    # gd in float64 stops at the first record where the gradient norm is below gtol; the seeds
    # reach it at different steps. Without a line search the batched run follows each seed's
    # one-by-one trajectory to rounding (1e-12: a few ulp per step of a float64 product summed
    # in another order, over < 2000 steps of a contracting flow), so the stopping step must
    # be the same record, and the final points those of that step.
    cfg = Config(n_pairs=5, dim=3, tau=0.5, solver="gd", steps=2000, dtype="float64")
    cfg = cfg.replace(gtol=1e-6)
    configs = [cfg.replace(seed=s) for s in range(4)]
    batched = simulate_batch(configs, "vmap")
    alone = [simulate(c) for c in configs]
    steps = [r.certificate.steps for r in alone]
    assert len(set(steps)) > 1, steps
    assert max(steps) < cfg.steps, steps
    for b, a in zip(batched, alone, strict=True):
        assert b.certificate.steps == a.certificate.steps
        np.testing.assert_allclose(b.x, a.x, atol=1e-12)
        np.testing.assert_allclose(b.history["loss"], a.history["loss"], rtol=1e-12)


def test_a_diverging_element_leaves_the_others_alone():
    cfg = Config(n_pairs=5, dim=3, solver="adam", steps=60, dtype="float32")
    configs = [cfg.replace(lr=lr) for lr in (0.01, 1e38, 0.02)]
    batched = simulate_batch(configs)
    assert isinstance(batched[1], DivergenceError)
    with pytest.raises(DivergenceError) as e:
        simulate(configs[1])
    assert batched[1].step == e.value.step
    for i in (0, 2):
        # float32, 60 steps, no line search: the trajectory to 1e-5 (as in tests/test_sweep.py)
        np.testing.assert_allclose(batched[i].x, simulate(configs[i]).x, atol=1e-5)


def test_best_of_seeds_batched_equals_looped_and_compiles_once():
    cfg = LBFGS_CFG  # the shapes of the first test: its compiled programs serve here too
    r_b, losses_b = best_of_seeds(cfg, range(5))
    size = _run_stacked._cache_size()
    r_b2, _ = best_of_seeds(cfg, range(10, 15))  # new seeds, same shapes: no new program
    assert _run_stacked._cache_size() == size
    assert r_b2.converged
    r_l, losses_l = best_of_seeds(cfg, range(5), batched=False)
    # same tolerance as the per-seed comparison above: certified losses to 1e-10 relative
    np.testing.assert_allclose(losses_b, losses_l, rtol=1e-10)
    assert r_b.config.seed == r_l.config.seed or np.isclose(
        r_b.measures["loss"], r_l.measures["loss"], rtol=1e-10
    )


# distinct minima: on the circle one start ends at a local minimum where two pairs coincide
# (seed 3: loss 0.462; the others reach the simplex)
DISTINCT_CFG = Config(n_pairs=3, dim=2, tau=0.07)


def test_best_of_seeds_second_order_best_equals_all():
    r_all, losses_all = best_of_seeds(DISTINCT_CFG, range(8))
    r_best, losses_best = best_of_seeds(DISTINCT_CFG, range(8), second_order="best")
    assert np.nanmax(losses_all) > np.nanmin(losses_all) + 0.1  # the minima differ
    assert r_best.certificate.kind == "minimum"
    assert r_best.config.seed == r_all.config.seed
    assert r_best.measures["loss"] == r_all.measures["loss"]  # the same end point, bit for bit
    assert r_best.measures["seeds_second_order_checked"] == 1
    assert np.isfinite(losses_best).sum() == 1
    assert r_all.measures["seeds_second_order_checked"] == 8
    with pytest.raises(ValueError, match="second_order"):
        best_of_seeds(DISTINCT_CFG, range(2), second_order="some")


def test_best_of_seeds_second_order_best_skips_a_saddle(monkeypatch):
    """The lowest-loss seed planted as a saddle: the next one in loss order is certified."""
    import dataclasses

    import gapsim.app.batch as batch

    _, losses = best_of_seeds(DISTINCT_CFG, range(8))
    order = np.argsort(losses, kind="stable")
    real = batch.finish

    def planted(c, *a, **k):
        r = real(c, *a, **k)
        if c.seed == order[0] and c.second_order:
            cert = dataclasses.replace(r.certificate, converged=False, kind="saddle")
            r = dataclasses.replace(r, certificate=cert)
        return r

    monkeypatch.setattr(batch, "finish", planted)
    r, _ = best_of_seeds(DISTINCT_CFG, range(8), second_order="best")
    assert r.config.seed == order[1]
    assert r.converged
    assert r.measures["seeds_saddle"] == 1
    assert r.measures["seeds_second_order_checked"] == 2


def test_auto_mode_and_bad_mode():
    from gapsim.app.parts import prepare

    static, _ = prepare(LBFGS_CFG)
    assert resolve_mode(static) == "map"  # L-BFGS on the CPU backend (module docstring)
    assert resolve_mode(prepare(LBFGS_CFG.replace(solver="gd"))[0]) == "vmap"
    with pytest.raises(ValueError, match="mode"):
        resolve_mode(static, "pmap")
