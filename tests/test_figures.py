"""Smoke tests of the paper figures: each runs at its tiny size and writes PNG + JSON.

The figures' scientific content is checked by the theory and mechanism tests; here we check
that every experiment runs end to end, saves its data with the expected fields beside a PNG,
that the registry is the set of ``experiments/NAME.py`` modules (each importable, each a script),
and that ``gapsim figures`` is wired into the CLI. The slowest smoke tests (several compiled
solver variants even at tiny size) are in the slow tier.
"""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import gapsim.app.figures as figs
from gapsim.app.figures import FIGURES, build_one
from gapsim.cli import main

ROOT = Path(__file__).resolve().parents[1]

EXPECTED = {
    "yi_fig1": ("panels", "phi", "planes_basis"),
    "gap_vs_angle": ("angles", "hyper_free", "hyper_caps", "subspace_free"),
    "yi_pair_structure": ("runs",),
    "yi_regime_map": ("regimes", "runs"),
    "yi_bridge": ("subspace", "cone"),
    "yaras_fig2": ("t", "delta", "tau", "t_all_matched", "snapshots", "landmarks"),
    "yaras_fig4a": ("curves",),
    "yaras_initial_rate": ("rows", "gamma0"),
    "yaras_tables": ("fixed", "learned", "schedule", "swap_hard", "swap_other", "paper"),
    "liang_shift": ("lambdas", "curves", "gap_trained", "toy"),
    "grassucci_fig1": ("sweep", "compare"),
    "clip_init_free_points": ("model", "n", "tau", "runs"),
}
SLOW = {
    "yi_fig1",
    "gap_vs_angle",
    "yaras_tables",
    "grassucci_fig1",
    "clip_init_free_points",
    "yi_pair_structure",  # ~12 s each on 2 quiet cores (certified L-BFGS runs at tiny size)
    "yaras_fig2",
    "yi_bridge",  # certified L-BFGS runs and two population scans at tiny size
}


def _params():
    for name in FIGURES:
        marks = [pytest.mark.slow] if name in SLOW else []
        yield pytest.param(name, marks=marks, id=name)


def test_every_figure_has_a_smoke_test():
    assert set(EXPECTED) == set(FIGURES)


@pytest.mark.parametrize("name", list(_params()))
def test_figure_smoke(name, tmp_path):
    why = figs.missing_extra(name)
    if why:
        pytest.skip(why)
    r = build_one(name, "tiny", tmp_path)
    png, js = tmp_path / f"{name}.png", tmp_path / f"{name}.json"
    assert r["png"] == png
    assert png.stat().st_size > 1000
    assert png.read_bytes()[:4] == b"\x89PNG"
    data = json.loads(js.read_text())
    for key in EXPECTED[name]:
        assert key in data, key
    assert data["meta"] == {"figure": name, "size": "tiny", "seconds": data["meta"]["seconds"]}


def test_fig4a_rows_have_matching_lengths(tmp_path):
    build_one("yaras_fig4a", "tiny", tmp_path)
    data = json.loads((tmp_path / "yaras_fig4a.json").read_text())
    for c in data["curves"].values():
        assert len(c["t"]) == len(c["delta"]) == len(c["tau"]) > 10


def test_cli_figures_rejects_unknown_name(capsys, tmp_path):
    assert main(["figures", "--only", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gapsim: error: only=")
    assert err.count("\n") == 1


def test_cli_figures_builds_one(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(
        figs, "build_one", lambda n, s, o: calls.append((n, s, o)) or {"png": o, "seconds": 0.0}
    )
    assert main(["figures", "--quick", "--only", "liang_shift", "--out", str(tmp_path)]) == 0
    assert calls == [("liang_shift", "quick", str(tmp_path))]


def test_registry_is_the_experiments_modules_in_order():
    import experiments

    files = {p.stem for p in (ROOT / "experiments").glob("*.py") if p.stem != "__init__"}
    assert set(FIGURES) == files  # every module there is a figure: no shims, no orphans
    assert FIGURES == experiments.ORDER
    for name in FIGURES:
        mod = importlib.import_module(f"experiments.{name}")
        assert callable(mod.run), name
        assert callable(mod.plot), name
        assert mod.__file__ == str(ROOT / "experiments" / f"{name}.py")
        # its footer builds it through figure_io, not the registry (no import cycle)
        assert f'main(sys.modules[__name__], "{name}")' in Path(mod.__file__).read_text()


def test_registry_does_not_import_figures(tmp_path):
    code = (
        "import sys, gapsim.app.figures as f; n = f.figure_names(); "
        "print(len(n), any(m.startswith('experiments.') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [str(len(FIGURES)), "False"]


def test_registry_finds_a_module_by_its_run_and_plot(tmp_path, monkeypatch):
    pkg = tmp_path / "experiments"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('ORDER = ("b",)\n')
    (pkg / "a.py").write_text(
        "def run(size):\n    return {}\n\n\ndef plot(data, path):\n    pass\n"
    )
    (pkg / "b.py").write_text(
        "def run(size):\n    return {}\n\n\ndef plot(data, path):\n    pass\n"
    )
    (pkg / "notes.py").write_text("def run(size):\n    return {}\n")  # no plot: not a figure
    for m in [m for m in sys.modules if m == "experiments" or m.startswith("experiments.")]:
        monkeypatch.delitem(sys.modules, m)
    monkeypatch.syspath_prepend(str(tmp_path))
    figs.figure_names.cache_clear()
    try:
        assert figs.figure_names() == ("b", "a")
    finally:
        figs.figure_names.cache_clear()


def test_missing_extra_is_skipped_not_a_crash(tmp_path, monkeypatch, capsys):
    mod = figs.module("clip_init_free_points")
    assert mod.EXTRA == "clip"
    monkeypatch.setattr(mod, "available", lambda: "needs the 'clip' extra (planted)")
    monkeypatch.setattr(mod, "run", lambda size: pytest.fail("ran without its extra"))
    assert figs.build(["clip_init_free_points"], outdir=tmp_path) == []
    out = capsys.readouterr().out
    assert out.startswith("clip_init_free_points")
    assert "skipped: needs the 'clip' extra (planted)" in out
    assert figs.main("clip_init_free_points", ["--tiny", "--out", str(tmp_path)]) == 3
    assert "skipped" in capsys.readouterr().err


def test_experiment_runs_as_a_script(tmp_path):
    r = subprocess.run(
        [sys.executable, "experiments/yaras_initial_rate.py", "--tiny", "--out", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "yaras_initial_rate.png").stat().st_size > 1000
    assert json.loads((tmp_path / "yaras_initial_rate.json").read_text())["meta"]["size"] == "tiny"


def test_cli_figures_list(capsys):
    assert main(["figures", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == list(FIGURES)
    assert "[extra 'clip'; only with --only]" in lines[FIGURES.index("clip_init_free_points")]


def test_default_build_leaves_out_figures_with_an_extra(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(
        figs, "build_one", lambda n, s, o: calls.append(n) or {"png": o, "seconds": 0}
    )
    figs.build(outdir=tmp_path)
    assert calls == [n for n in FIGURES if n != "clip_init_free_points"]
