"""Fuzz of the command line, in process (issues 16, 24): every command over hostile flag values,
combinations, input files and output paths (``run``, ``sweep``, ``analyze``, ``demo``,
``figures``, ``check``; ``report`` in ``test_store.py``, every command end to end in the slow
tier through ``tests/fuzz_campaign.py``).

The contract: exit status 0 (done), 2 (bad input: one line on stderr) or 3 (diverged); never a
traceback; an accepted command ran a sane Config (:func:`test_config_fuzz._assert_sane`); and
the work (the simulation, stubbed here so that a hundred invocations take seconds) starts only
after the sizes and the output paths were checked.
"""

from __future__ import annotations

import importlib
import math
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


# --------------------------------------------------------------------------------------------
# issue 24: analyze, demo, figures, report and check, in process, the work stubbed
# --------------------------------------------------------------------------------------------

HOSTILE = ["-1", "0", "1", "2", "0.5", "nan", "inf", "abc", "1e12", "100000"]
ANALYZE_FLAGS = {  # flag: (kind, low, high): a value is valid iff it parses within [low, high]
    "--tau": ("float", 1e-300, math.inf),
    "--taus": ("float", 1e-300, math.inf),
    "--seed": ("int", 0, 2**32 - 1),
    "--uniformity-sample": ("int", 2, math.inf),
    "--eval-sample": ("int", 2, math.inf),
    "--curve-sample": ("int", 2, math.inf),
    "--ssp-k": ("int", 1, 8),  # d = 8
    "--c3-sigma": ("float", 0, math.inf),
    "--block": ("int", 1, math.inf),
}


class Worked(Exception):
    """Raised by a stub: the command passed its checks and started the work."""


def _stop(*a, **k):
    raise Worked


def _valid(value: str, kind: str, low: float, high: float) -> bool:
    try:
        v = int(value) if kind == "int" else float(value)
    except ValueError:
        return False
    return math.isfinite(v) and low <= v <= high


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)) + 1.0
    np.save(root / "x.npy", x)
    np.save(root / "y.npy", x + rng.normal(size=x.shape))
    (root / "old.png").write_bytes(b"precious")
    (root / "afile").write_text("a file")
    return root


def _run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    except Worked:
        code = "worked"
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if code == 2:
        assert err.startswith("gapsim: error: "), err
        assert err.count("\n") == 1, err
    return code


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(ANALYZE_FLAGS)), st.sampled_from(HOSTILE)),
        max_size=3,
        unique_by=lambda fv: fv[0],
    ),
    st.sampled_from(["none", "fresh.png", "old.png", "out.txt", "afile/f.png", "."]),
)
def test_analyze_flag_space(inputs, capsys, monkeypatch, flags, figure):
    # refused (2, one line) iff a value is out of its range or the figure path is bad; else
    # the analysis starts (stubbed), and nothing was written
    import gapsim.analysis

    monkeypatch.setattr(gapsim.analysis, "analyze", _stop)
    argv = ["analyze", str(inputs / "x.npy"), str(inputs / "y.npy"), "--no-store", "--quiet"]
    for f, v in flags:
        argv += [f, v]
    if figure != "none":
        argv += ["--figure", str(inputs / figure)]
    ok = all(_valid(v, *ANALYZE_FLAGS[f]) for f, v in flags) and figure in ("none", "fresh.png")
    code = _run(argv, capsys)
    assert code == ("worked" if ok else 2), (argv, code)
    assert not (inputs / "fresh.png").exists()
    assert (inputs / "old.png").read_bytes() == b"precious"


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(["closing", "cone", "bogus"]),
    st.sampled_from(["--dpi", "--frames", "--n-pairs", "--tau", "--seed"]),
    st.sampled_from(HOSTILE),
    st.sampled_from(["d.gif", "x.png", "old.png", "noext", "afile/d.gif"]),
)
def test_demo_flag_space(inputs, capsys, monkeypatch, name, flag, value, out):
    # the demos' own checks (their Config) run; the simulation is stubbed
    import gapsim.demos.base
    import gapsim.demos.scenes

    monkeypatch.setattr(gapsim.demos.base, "simulate", _stop)
    monkeypatch.setattr(gapsim.demos.scenes, "simulate", _stop)
    argv = ["demo", name, "--steps", "60", "--quiet", flag, value, "--out", str(inputs / out)]
    rules = {
        "--dpi": ("int", 20, 600),
        "--frames": ("int", 2, 61),  # 60 steps: stride 1, 61 records at most
        "--n-pairs": ("int", 2, 5000),  # 100000 pairs: refused by the estimate
        "--tau": ("float", 1e-300, math.inf),
        "--seed": ("int", 0, 2**32 - 1),
    }
    ok = name != "bogus" and out == "d.gif" and _valid(value, *rules[flag])
    code = _run(argv, capsys)
    assert code == ("worked" if ok else 2), (argv, code)
    assert not (inputs / "d.gif").exists()


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.sampled_from(["yaras_fig4a", "liang_shift", "bogus"]), max_size=2),
    st.sampled_from(["fresh", "afile", "figs"]),
    st.booleans(),
)
def test_figures_flag_space(inputs, capsys, monkeypatch, only, out, overwrite):
    import gapsim.app.figures

    monkeypatch.setattr(gapsim.app.figures, "build", _stop)
    (inputs / "figs").mkdir(exist_ok=True)
    (inputs / "figs" / "yaras_fig4a.png").write_bytes(b"precious")
    argv = ["figures", "--quick", "--quiet", "--out", str(inputs / out)]
    for n in only:
        argv += ["--only", n]
    argv += ["--overwrite"] if overwrite else []
    replaces = out == "figs" and (not only or "yaras_fig4a" in only) and not overwrite
    ok = "bogus" not in only and out != "afile" and not replaces
    assert _run(argv, capsys) == ("worked" if ok else 2), argv
    assert (inputs / "figs" / "yaras_fig4a.png").read_bytes() == b"precious"


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(["", "nomatch*", "yi.subspace.theta1_bound"]),
    st.sampled_from(["none", "fresh.md", "old.png", "r.json", "afile/r.md", "/proc/x/r.md"]),
    st.booleans(),
)
def test_check_flag_space(inputs, capsys, monkeypatch, only, report, overwrite):
    import gapsim.checks.report

    monkeypatch.setattr(gapsim.checks.report, "run_checks", _stop)
    argv = ["check", "--quick", "--quiet"] + (["--only", only] if only else [])
    if report != "none":
        argv += ["--report", report if report.startswith("/") else str(inputs / report)]
    argv += ["--overwrite"] if overwrite else []
    ok = (
        only != "nomatch*"
        and report in ("none", "fresh.md", "old.png")
        and (report != "old.png" or overwrite)
        and (report != "none" or not overwrite)
    )
    assert _run(argv, capsys) == ("worked" if ok else 2), argv
    assert not (inputs / "fresh.md").exists()
    assert (inputs / "old.png").read_bytes() == b"precious"


@pytest.mark.slow  # about 440 invocations, each its own process: tens of minutes on 2 cores
@pytest.mark.long  # outside CI's tiers (its time alone exceeds CI's budget)
def test_fuzz_campaign_every_command(tmp_path):
    # tests/fuzz_campaign.py: 0 tracebacks, silent accepts, hangs, replaced files, false
    # refusals; every invocation ok or refused in one line
    import fuzz_campaign

    assert fuzz_campaign.main(["--jobs", "2", "--json", str(tmp_path / "out.json")]) == 0
