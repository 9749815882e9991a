"""Fuzz of the command line, in process (issue 16): ``gapsim run`` and ``gapsim sweep`` over
hostile flag values, combinations, init files and output paths.

The contract: exit status 0 (done), 2 (bad input: one line on stderr) or 3 (diverged); never a
traceback; an accepted command ran a sane Config (:func:`test_config_fuzz._assert_sane`); and
the work (the simulation, stubbed here so that a hundred invocations take seconds) starts only
after the sizes and the output paths were checked.
"""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_config_fuzz import _assert_sane
from test_files import _result

import gapsim.app.store
from gapsim.app.init import load_points
from gapsim.cli import main

SIMULATE = importlib.import_module("gapsim.app.simulate")  # the module, not the function

VALUES = ["0", "1", "2", "3", "-1", "2.5", "inf", "nan", "1e12", "4294967296", "abc", "", "30deg"]
VALUES += ["0.25pi", "0.07", "0.5", "none", "gd", "sgd", "adam", "hard", "raw", "cones"]
FLAGS = {
    "--n-pairs": VALUES,
    "--dim": VALUES,
    "--tau": VALUES,
    "--steps": VALUES,
    "--stride": VALUES,
    "--seed": VALUES,
    "--gtol": VALUES,
    "--lr": VALUES,
    "--momentum": VALUES,
    "--solver": ["lbfgs", "gd", "sgd", "adam", "newton"],
    "--swap": ["none", "hard", "row"],
    "--swap-p": VALUES,
    "--tau-param": ["exp", "scaled", "custom"],
    "--tau-schedule": ["none", "cosine", "custom"],
    "--tau-period": VALUES,
    "--tau-end": VALUES,
    "--constraint": ["none", "cone", "subspace"],
    "--cone-angle": VALUES,
    "--cone-axis": ["free", "fixed"],
    "--phi": VALUES,
    "--thetas": ["0.1,0.2", "0.1,0.2,0.3,0.4", "30deg", "a,b"],
    "--init": ["uniform", "cones", "parallel-matched", "file", "bogus"],
    "--init-angle": VALUES,
    "--align": ["none", "shift"],
    "--align-lambda": VALUES,
    "--parametrization": ["projected", "raw"],
    "--modalities": VALUES,
    "--classes": VALUES,
    "--class-p": VALUES,
}
SWITCHES = ["--learn-tau", "--gamma-lift", "--json", "--no-early-stop"]
FILES = ["good.npy", "nonunit.npy", "int.npy", "empty.npy", "trunc.npz", "missing.npy"]
OUTS = ["fresh", "afile", "afile/under", "ro/x"]
RO_BLOCKS = [True]  # whether the read-only folder refuses writes (not for root)


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    """Init files (good and bad) and output places (fresh, a file, read-only)."""
    root = tmp_path_factory.mktemp("arena")
    z = np.random.default_rng(0).normal(size=(2, 16, 3))
    np.save(root / "good.npy", z / np.linalg.norm(z, axis=-1, keepdims=True))
    np.save(root / "nonunit.npy", z)
    np.save(root / "int.npy", z.astype(int))
    (root / "empty.npy").write_bytes(b"")
    np.savez(root / "trunc.npz", z=z)
    (root / "trunc.npz").write_bytes((root / "trunc.npz").read_bytes()[:50])
    (root / "afile").write_text("not a folder")
    (root / "ro").mkdir()
    os.chmod(root / "ro", 0o500)
    try:  # root ignores permissions: then "ro" is writable and not an error case
        (root / "ro" / "probe").write_text("")
        (root / "ro" / "probe").unlink()
        RO_BLOCKS[0] = False
    except OSError:
        RO_BLOCKS[0] = True
    yield root
    os.chmod(root / "ro", 0o700)


class Stub:
    """Stands in for the simulation: records what ran and that outputs were checked first."""

    def __init__(self, root):
        self.root, self.calls = root, []

    def simulate(self, cfg, *a, **k):
        if cfg.init_file is not None:  # the real simulate's first step: read the start
            load_points(cfg.init_file, cfg.modalities, cfg.n_pairs, cfg.dim)
        self.calls.append(cfg)
        r = _result()
        measures = {"loss": 1.0, "centroid_distance": 0.5, "centroid_angle": 0.1}
        return type(r)(cfg, r.z, r.z0, r.history, measures, r.certificate)


@st.composite
def run_argv(draw):
    flags = draw(st.lists(st.sampled_from(sorted(FLAGS)), max_size=5, unique=True))
    argv = ["run", "--quiet"]
    for f in flags:
        argv += [f, draw(st.sampled_from(FLAGS[f]))]
    argv += draw(st.lists(st.sampled_from(SWITCHES), max_size=2, unique=True))
    if draw(st.booleans()):
        argv += ["--init-file", "@" + draw(st.sampled_from(FILES))]
    store = draw(st.sampled_from(["--no-store", "store", *OUTS]))
    argv += ["--no-store"] if store == "--no-store" else ["--store", "@" + store]
    if draw(st.booleans()):
        argv += ["--out", "@" + draw(st.sampled_from(OUTS)) + "/res0.1"]
    return argv


def _invoke(argv, root, capsys):
    argv = [a.replace("@", f"{root}/") if a.startswith("@") else a for a in argv]
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    out, err = capsys.readouterr()
    return argv, code, out, err


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(run_argv())
def test_run_flag_space(arena, capsys, monkeypatch, argv):
    stub = Stub(arena)
    monkeypatch.setattr(SIMULATE, "simulate", stub.simulate)
    argv, code, out, err = _invoke(argv, arena, capsys)
    assert code in (0, 2, 3), (argv, code, err)
    assert "Traceback" not in err
    if code == 2:
        assert err.startswith("gapsim: error: "), err
        assert err.count("\n") == 1, err
        assert not stub.calls  # refused before any work (or by the start's own check)
        return
    assert code == 0, (argv, err)
    (cfg,) = stub.calls
    _assert_sane(cfg)
    bad = ("afile", "/ro/") if RO_BLOCKS[0] else ("afile",)
    for flag in ("--out", "--store"):  # every output place was usable
        if flag in argv:
            value = argv[argv.index(flag) + 1]
            assert not any(s in value for s in bad), argv


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(
            ["tau=0.1,0.2", "seed=0:3", "seed=5", "tau=abc", "bogus=1", "tau", "seed=3:1",
             "steps=0,10", "n_pairs=1000000"]
        ),
        max_size=3,
    ),
    st.sampled_from(["1", "0", "-2", "x"]),
    st.sampled_from(["fresh", "afile", "ro/x"]),
)  # fmt: skip
def test_sweep_flag_space(arena, capsys, monkeypatch, grids, chunk, out):
    calls = []

    def fake_run_sweep(configs, folder, **kw):
        calls.append((configs, folder))
        raise SystemExit(0)  # the work would start here

    monkeypatch.setattr(gapsim.app.store, "run_sweep", fake_run_sweep)
    argv = ["sweep", "--quiet", "--solver", "gd", "--chunk", chunk, "--out", f"@{out}"]
    for g in grids:
        argv += ["--grid", g]
    argv, code, _, err = _invoke(argv, arena, capsys)
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        assert err.count("\n") == 1, err
        assert not calls
        return
    ((configs, folder),) = calls
    assert out == "fresh" or (out == "ro/x" and not RO_BLOCKS[0])
    assert int(chunk) >= 1
    for cfg in configs:
        _assert_sane(cfg)
    seeds = [v for g in grids if g.startswith("seed=") for v in g[5:].split(",")]
    if "seed=5" in grids and "seed=0:3" in grids:  # repeated axes merge
        assert sorted({c.seed for c in configs}) == [0, 1, 2, 5], seeds
