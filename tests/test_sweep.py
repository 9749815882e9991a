"""Sweeps: grids, the CLI, and batched sharded runs equal to one-by-one runs.

The device count of JAX is fixed when its backend starts, so the 4-device check runs in a
subprocess started with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import gapsim
from gapsim import Config, ConfigError
from gapsim.app.sweep import grid
from gapsim.cli import build_parser, main
from gapsim.cli.sweep import parse_grid as _parse_grid

# The child checks every config of a mixed sweep (4 groups: gd/float32, adam/float32 with a
# diverging config, lbfgs/float64 with a swept phi, a free-axis cap; chunks of 3 padded to the 4
# devices) against simulate(). The batched program runs the same operations per config, but
# XLA may sum a batched product in another order, so equality is to rounding. Dynamics (float32,
# 40-60 steps): the whole trajectory to 1e-5 and the same number of steps. L-BFGS (float64):
# its line search turns last-bit differences into different (equally valid) iterates along
# the way (seen: 1e-6 relative mid-run), so it is compared where it ends: the certified loss
# to 1e-10 and the points to 1e-6 (an optimum certified to gtol = 1e-9 is pinned only to
# ~gtol / curvature; seen: 6e-9). The child also reports how many agree bit for bit.
CHILD = textwrap.dedent(
    """
    import json, numpy as np, jax
    from gapsim import Config, simulate, DivergenceError
    from gapsim.app.sweep import grid, sweep
    assert len(jax.devices()) == 4, jax.devices()
    configs = (
        grid(Config(n_pairs=6, dim=3, solver="gd", steps=40),
             {"tau": [0.1, 0.3], "seed": [0, 1, 2]})
        + grid(Config(n_pairs=5, dim=3, solver="adam", steps=60, dtype="float32"),
               {"lr": [0.01, 1e39], "seed": [4]})
        + grid(dict(n_pairs=5, dim=3, constraint="subspace"), {"phi": [0.3, 0.6], "seed": [0, 1]})
        + grid(Config(n_pairs=6, dim=3, constraint="cone", cone_angle=0.5, solver="gd",
                      steps=40, init="cones"), {"seed": [0, 1]})
    )
    results = sweep(configs, chunk=3)
    bitwise, report = 0, []
    for cfg, r in zip(configs, results):
        try:
            s = simulate(cfg)
        except DivergenceError as e:
            assert isinstance(r, DivergenceError), (cfg, r)
            assert r.step == e.step
            report.append("diverged")
            continue
        if cfg.solver == "lbfgs":  # float64, certified: compare where it ended
            np.testing.assert_allclose(r.x, s.x, atol=1e-6)
            np.testing.assert_allclose(r.y, s.y, atol=1e-6)
            np.testing.assert_allclose(r.measures["loss"], s.measures["loss"], rtol=1e-10)
            assert r.converged and s.converged
        else:  # float32 dynamics: the whole trajectory. The batched program fuses the step
            # differently (not bitwise): float32 rounding (eps 1.2e-7) amplified over 40 gd
            # steps at beta = 10 reaches ~1e-5 in the points (1.4e-5 seen after the raw-mode
            # branch joined the step), so points agree to 1e-4, the loss curve to 1e-5
            np.testing.assert_allclose(r.x, s.x, atol=1e-4)
            np.testing.assert_allclose(r.y, s.y, atol=1e-4)
            np.testing.assert_allclose(r.history["loss"], s.history["loss"], rtol=1e-5)
            assert r.certificate.steps == s.certificate.steps
            for k, v in s.measures.items():
                if isinstance(v, float) and np.isfinite(v):
                    # measures of points that agree to 1e-4 (a margin is a min over pairs)
                    np.testing.assert_allclose(r.measures[k], v, rtol=1e-5, atol=1e-4, err_msg=k)
        bitwise += bool(np.array_equal(r.x, s.x) and np.array_equal(r.y, s.y))
        report.append("ok")
    print(json.dumps({"n": len(configs), "bitwise": bitwise, "report": report}))
    """
)


@pytest.mark.slow  # ~65 s on 2 cores, 8 programs compiled in a child; the default-tier sweep
# tests run the same shard_map program on one device
def test_sweep_on_four_devices_equals_one_by_one_runs():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["n"] == 14
    assert out["report"].count("diverged") == 1  # lr = 1e39 overflows float32
    assert out["report"].count("ok") == 13


def test_grid_order_and_validation():
    cfgs = grid(Config(solver="gd"), {"tau": [0.1, 0.2], "seed": range(3)})
    assert [(c.tau, c.seed) for c in cfgs] == [(t, s) for t in (0.1, 0.2) for s in range(3)]
    # a base that is only valid once the grid fills in a field
    cfgs = grid({"constraint": "subspace", "dim": 3}, {"phi": [0.1, 0.2]})
    assert [c.phi for c in cfgs] == [0.1, 0.2]
    with pytest.raises(ConfigError):
        grid(Config(), {"nope": [1]})
    with pytest.raises(ConfigError):
        grid(Config(), {"tau": []})
    with pytest.raises(ConfigError) as e:
        grid(Config(), {"tau": [0.1, -1.0]})
    assert e.value.field == "tau"


def test_parse_grid_specs():
    axes = _parse_grid(["tau=0.05,0.1", "seed=0:8:3", "phi=10deg,0.25pi", "n-pairs=4,8"])
    assert axes["tau"] == [0.05, 0.1]
    assert list(axes["seed"]) == [0, 3, 6]  # a range: its length known before listing it
    assert axes["phi"] == pytest.approx([0.17453292519943295, 0.7853981633974483])
    assert axes["n_pairs"] == [4, 8]
    assert _parse_grid(["thetas=0.1,0.2;0.3,0.4"])["thetas"] == [(0.1, 0.2), (0.3, 0.4)]
    assert _parse_grid(["early_stop=true,false"])["early_stop"] == [True, False]
    for bad in ("tau", "nope=1", "tau=abc", "seed=0:x"):
        with pytest.raises(ConfigError):
            _parse_grid([bad])


def test_every_config_field_is_a_sweep_flag():
    sweep_parser = build_parser()._subparsers._group_actions[0].choices["sweep"]
    flags = {a.dest for a in sweep_parser._actions}
    assert {f.name for f in gapsim.app.config.dataclasses.fields(Config)} <= flags


def test_cli_sweep_writes_table_and_matches_simulate(capsys, tmp_path):
    argv = ["sweep", "--grid", "seed=0:2", "--grid", "tau=0.2,0.4", "--n-pairs", "4"]
    argv += ["--solver", "gd", "--steps", "30", "--out", str(tmp_path), "--json"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)  # one JSON document
    assert [(r["seed"], r["tau"]) for r in rows] == [(0, 0.2), (0, 0.4), (1, 0.2), (1, 0.4)]
    table = [json.loads(line) for line in (tmp_path / "sweep.jsonl").read_text().splitlines()]
    assert table == rows
    header = (tmp_path / "sweep.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["index", "seed", "tau"]
    one = gapsim.simulate(Config(n_pairs=4, solver="gd", steps=30, seed=1, tau=0.4))
    # in-process: one device, the same batched program per config; float32, 30 steps
    assert rows[3]["loss"] == pytest.approx(one.measures["loss"], rel=1e-5)
    assert rows[3]["steps"] == one.certificate.steps


def test_cli_sweep_bad_grid_is_one_line_exit_2(capsys):
    assert main(["sweep", "--grid", "tau=0.1,-2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gapsim: error: tau=")
    assert err.count("\n") == 1
