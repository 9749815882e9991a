"""Regression tests for the user-path traps of issue 16 not covered by the fuzz tests."""

import importlib
import json

import jax
import numpy as np
import pytest
from test_files import _result
from test_raw import _loss_grad

from gapsim import Config, simulate
from gapsim.app.init import initial_points
from gapsim.app.parts import make_constraints
from gapsim.cli import main
from gapsim.cli.sweep import parse_grid

SIMULATE = importlib.import_module("gapsim.app.simulate")


@pytest.fixture
def ran(monkeypatch):
    """Stub the simulation of ``gapsim run``; the list collects the configs it was given."""
    calls = []

    def fake(cfg, *a, **k):
        calls.append(cfg)
        r = _result()
        return type(r)(
            cfg, r.z, r.z0, r.history, {"loss": 1.0, "centroid_angle": 0.1}, r.certificate
        )

    monkeypatch.setattr(SIMULATE, "simulate", fake)
    return calls


def test_config_file_reruns_a_stored_config_and_flags_override(tmp_path, ran, capsys):
    cfg = Config(n_pairs=5, tau=0.3, solver="gd", lr=0.01, steps=7, seed=4)
    _result().__class__(cfg, *(_result().z, _result().z0, {}, {}, _result().certificate)).save(
        tmp_path / "old"
    )
    (tmp_path / "folder.json").write_text(json.dumps({"config": cfg.to_dict()}))
    for stored in ("old.json", "folder.json"):
        assert main(["run", "--no-store", "--config", str(tmp_path / stored)]) == 0
        assert ran[-1] == cfg
    assert main(["run", "--no-store", "--config", str(tmp_path / "old.json"), "--seed", "9"]) == 0
    assert ran[-1] == cfg.replace(seed=9)
    (tmp_path / "bad.json").write_text('{"config": {"nope": 1}}')
    capsys.readouterr()
    assert main(["run", "--no-store", "--config", str(tmp_path / "bad.json")]) == 2
    assert "unknown fields nope" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--swap-p", "0.1"],  # the default value, but given: refused all the same
        ["--momentum", "0", "--solver", "gd"],
        ["--tau-param", "exp"],
        ["--gamma0", "0.3", "--solver", "gd"],
        ["--init-angle", "0.2"],
        ["--lr", "0.1"],
        ["--cone-axis", "free"],
        ["--align-lambda", "1"],
        ["--init", "file"],
    ],
)
def test_explicit_unused_flags_are_refused(argv, ran, capsys):
    assert main(["run", "--no-store", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gapsim: error: ")
    assert err.count("\n") == 1
    assert not ran


def test_repeated_grid_fields_merge():
    # was: the last --grid seed=... replaced the earlier ones
    assert parse_grid(["seed=0:2", "tau=0.1", "seed=5,1"]) == {"seed": [0, 1, 5], "tau": [0.1]}


def test_divergence_diagnosis_names_the_real_cause():
    from gapsim.app.simulate import _divergence_cause

    tiny = _divergence_cause(Config(tau=1e-300, solver="gd"))
    assert "too small" in tiny  # was: "lr=0 is likely too large"
    assert "lr" not in tiny
    f64 = _divergence_cause(Config(tau=1e-300))  # lbfgs runs float64 already
    assert "--dtype float64" not in f64
    start = _divergence_cause(Config(solver="gd"), np.full((2, 3, 3), np.nan))
    assert "starting points" in start


def test_parallel_starts_default_to_the_papers_angle():
    cfg = Config(n_pairs=6, dim=3, init="parallel-mismatched", solver="gd")
    z0 = np.asarray(initial_points(jax.random.key(0), cfg, make_constraints(cfg)))
    # x on the circle at polar angle 1.0 rad from e_d (was 0.2: both circles near the poles)
    np.testing.assert_allclose(z0[0][:, -1], np.cos(1.0), atol=1e-6)
    np.testing.assert_allclose(z0[1][:, -1], -np.cos(1.0), atol=1e-6)


def test_zero_steps_evaluates_loss_gradient_and_measures_of_the_start():
    # an oracle: the hand-written loss and gradient of tests/test_raw.py at the given points
    z = np.random.default_rng(5).normal(size=(2, 6, 3))
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    r = simulate(Config(n_pairs=6, dim=3, tau=0.2, steps=0, solver="gd", dtype="float64"), z)
    loss, gx, gy, gap = _loss_grad(z[0], z[1], 1 / 0.2)
    assert r.certificate.steps == 0
    np.testing.assert_array_equal(r.z, z)
    np.testing.assert_allclose(r.measures["loss"], loss, atol=1e-12)
    np.testing.assert_allclose(r.measures["centroid_distance"], gap, atol=1e-12)
    np.testing.assert_allclose(r.certificate.grad_norm, np.sqrt(np.sum(gx**2 + gy**2)), rtol=1e-10)
    assert {"alignment", "uniformity", "margin", "r1_xy"} <= set(r.measures)


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "yaras", "--frames", "2", "--dpi", "0"],  # was: IndexError, exit 1
        ["demo", "closing", "--out", "/proc/gapsim-demo.gif"],
        ["demo", "cone", "--phi", "30deg"],  # a scene flag of another demo
        ["sweep", "--chunk", "0"],
        ["sweep", "--host-devices", "0"],
        ["run", "--init", "file", "--no-store"],  # was: TypeError, exit 1
        ["run", "--tau-schedule", "custom", "--no-store"],  # API only
        ["run", "--no-store", "--out", "{tmp}/afile/r"],
        ["run", "--store", "{tmp}/afile"],
        ["sweep", "--out", "{tmp}/afile"],
        ["report", "{tmp}", "--csv", "{tmp}"],
    ],
)
def test_cli_refusals_are_one_line_before_any_work(argv, tmp_path, ran, capsys):
    (tmp_path / "afile").write_text("")
    _fake_runs(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("gapsim: error: ")
    assert err.count("\n") == 1
    assert not ran
    assert not list(tmp_path.glob("**/*.tmp"))


def _fake_runs(root):
    from test_files import _fake_run

    (root / "runs").mkdir()
    _fake_run(root / "runs", "run-a", 0.1, 1.5)


def test_report_survives_corrupt_files_and_csv_has_every_metric(tmp_path, capsys):
    import csv

    _fake_runs(tmp_path)
    bad = tmp_path / "runs" / "run-bad"
    bad.mkdir()
    (bad / "config.json").write_text("{")
    (bad / "metrics.json").write_text("{")
    assert main(["report", str(tmp_path), "--csv", str(tmp_path / "t.csv")]) == 0
    out = capsys.readouterr().out
    assert "2 entries: 1 done, 1 unreadable" in out
    with (tmp_path / "t.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {"entry", "status", "loss", "error"} <= set(rows[0])
