"""Raw parametrisation: a peer's free-vector SGD replayed against an independent NumPy reference.

C3's free-point toy (Zhang et al. 2024, "Connect, Collapse, Corrupt", ICLR) trains unnormalised
vectors with plain SGD and normalises inside the loss; ``parametrization="raw"`` is that update.
The reference below is written from docs/theory.md section 0 by hand (no JAX, no gapsim): the logit
gradient ``(rowsoftmax + colsoftmax)/(2N) - I/N``, the chain rule through ``z = w/||w||`` and
``w <- w - lr * grad``. Loss and gap at every recorded step must agree to rounding (float64).
"""

import warnings

import numpy as np
import pytest
from testutil import assert_close

from gapsim import Config, simulate
from gapsim.errors import ConfigError


def _softmax(m: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(m - m.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _loss_grad(wx: np.ndarray, wy: np.ndarray, beta: float):
    """Averaged symmetric InfoNCE of the normalised rows, its gradient in the raw rows, the gap."""
    nx, ny = np.linalg.norm(wx, axis=1, keepdims=True), np.linalg.norm(wy, axis=1, keepdims=True)
    x, y = wx / nx, wy / ny
    n = x.shape[0]
    m = beta * x @ y.T

    def lse(a, axis):
        top = a.max(axis=axis)
        return top + np.log(np.exp(a - np.expand_dims(top, axis)).sum(axis=axis))

    loss = (np.sum(lse(m, 1)) + np.sum(lse(m, 0)) - 2 * np.trace(m)) / (2 * n)
    gm = (_softmax(m, 1) + _softmax(m, 0)) / (2 * n) - np.eye(n) / n
    gx, gy = beta * gm @ y, beta * gm.T @ x

    def pull(g, z, nrm):  # d/dw of f(w/||w||) = (I - z z^T) g / ||w||
        return (g - np.sum(g * z, axis=1, keepdims=True) * z) / nrm

    gap = np.linalg.norm(x.mean(0) - y.mean(0))
    return loss, pull(gx, x, nx), pull(gy, y, ny), gap


def _reference(wx, wy, beta, lr, steps, stride):
    rows = []
    for t in range(steps + 1):
        loss, gx, gy, gap = _loss_grad(wx, wy, beta)
        if t % stride == 0 or t == steps:
            rows.append((t, loss, gap))
        if t < steps:
            wx, wy = wx - lr * gx, wy - lr * gy
    return np.array(rows), (wx, wy)


def test_raw_sgd_replays_independent_reference_step_by_step():
    # small C3-style set-up: tau 0.07, SGD lr 0.1, Gaussian (non-unit) raw start
    n, d, tau, lr, steps, stride = 24, 8, 0.07, 0.1, 60, 5
    rng = np.random.default_rng(3)
    w0 = rng.normal(size=(2, n, d)) * rng.uniform(0.5, 1.5, size=(2, n, 1))
    cfg = Config(
        n_pairs=n,
        dim=d,
        tau=tau,
        solver="gd",
        lr=lr,
        steps=steps,
        stride=stride,
        early_stop=False,
        dtype="float64",
        parametrization="raw",
    )
    r = simulate(cfg, w0)
    ref, (wx, wy) = _reference(w0[0], w0[1], 1 / tau, lr, steps, stride)
    assert_close(r.history["step"], ref[:, 0], atol=0)
    # float64 rounding over 60 steps of an O(beta) gradient (seen: 2e-15); 1e-12 leaves room
    assert_close(r.history["loss"], ref[:, 1], atol=1e-12)
    assert_close(r.history["centroid_distance"], ref[:, 2], atol=1e-12)
    assert_close(r.arrays["raw_norms"], np.linalg.norm(np.stack([wx, wy]), axis=-1), atol=1e-12)
    assert_close(r.z0, w0, atol=0)  # the raw start is kept exactly (no normalisation)


def test_projected_differs_from_raw_and_norms_drift():
    # the two parametrisations are different dynamics: the raw norms move away from 1
    cfg = Config(n_pairs=8, dim=3, tau=0.1, solver="gd", lr=0.05, steps=40, dtype="float64")
    raw = simulate(cfg.replace(parametrization="raw"))
    proj = simulate(cfg)
    assert abs(raw.measures["loss"] - proj.measures["loss"]) > 1e-6
    assert raw.measures["raw_norm_max"] > 1 + 1e-6  # tangent steps only grow the norms


def test_modality_lrs_scale_each_modality():
    base = Config(n_pairs=6, dim=3, tau=0.2, solver="gd", lr=0.05, steps=10, dtype="float64")
    frozen = simulate(base.replace(modality_lrs=(0.05, 1e-300)))
    np.testing.assert_allclose(frozen.y, frozen.y0, atol=1e-12)  # y barely moves
    assert np.abs(frozen.x - frozen.x0).max() > 1e-3
    same = simulate(base.replace(modality_lrs=(0.05, 0.05)))
    np.testing.assert_allclose(same.z, simulate(base).z, atol=1e-14)


def test_projected_mode_warns_and_normalises_non_unit_rows():
    z = np.random.default_rng(0).normal(size=(2, 4, 3)) * 3.0
    cfg = Config(n_pairs=4, dim=3, solver="gd", steps=0, dtype="float64")
    with pytest.warns(UserWarning, match=r"8 of 8 rows are not unit vectors \(norms min"):
        r = simulate(cfg, z)
    np.testing.assert_allclose(np.linalg.norm(r.z0, axis=-1), 1.0, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        raw = simulate(cfg.replace(parametrization="raw"), z)
    np.testing.assert_array_equal(raw.z0, z)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"parametrization": "raw"}, "parametrization"),  # lbfgs
        (
            {"parametrization": "raw", "solver": "gd", "constraint": "cone", "cone_angle": 0.5},
            "parametrization",
        ),
        ({"modality_lrs": (0.1,), "solver": "gd"}, "modality_lrs"),
        ({"modality_lrs": (0.1, -1.0), "solver": "gd"}, "modality_lrs"),
        ({"modality_lrs": (0.1, 0.1)}, "modality_lrs"),  # lbfgs
    ],
)
def test_raw_options_refused_where_meaningless(kw, field):
    with pytest.raises(ConfigError) as e:
        Config(**kw)
    assert e.value.field == field
