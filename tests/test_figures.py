"""Smoke tests of the paper figures: each runs at its tiny size and writes PNG + JSON.

The figures' scientific content is checked by the theory and mechanism tests; here we check
that every experiment runs end to end, saves its data with the expected fields beside a PNG,
and that ``gapsim figures`` is wired into the CLI. The slowest smoke tests (several compiled
solver variants even at tiny size) are in the slow tier.
"""

import json

import pytest

from gapsim.cli import main
from gapsim.figures import FIGURES, build_one

EXPECTED = {
    "yi_fig1": ("panels", "phi", "planes_basis"),
    "gap_vs_angle": ("angles", "hyper_free", "hyper_caps", "subspace_free"),
    "yi_pair_structure": ("runs",),
    "yi_regime_map": ("regimes", "runs"),
    "yaras_fig2": ("t", "delta", "tau", "t_all_matched", "snapshots", "landmarks"),
    "yaras_fig4a": ("curves",),
    "yaras_initial_rate": ("rows", "gamma0"),
    "yaras_tables": ("fixed", "learned", "schedule", "swap_hard", "swap_other", "paper"),
    "liang_shift": ("lambdas", "curves", "gap_trained", "toy"),
    "grassucci_fig1": ("sweep", "compare"),
}
SLOW = {"yi_fig1", "gap_vs_angle", "yaras_tables", "grassucci_fig1"}


def _params():
    for name in FIGURES:
        marks = [pytest.mark.slow] if name in SLOW else []
        yield pytest.param(name, marks=marks, id=name)


def test_every_figure_has_a_smoke_test():
    assert set(EXPECTED) == set(FIGURES)


@pytest.mark.parametrize("name", list(_params()))
def test_figure_smoke(name, tmp_path):
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
    import gapsim.figures as figs

    calls = []
    monkeypatch.setattr(
        figs, "build_one", lambda n, s, o: calls.append((n, s, o)) or {"png": o, "seconds": 0.0}
    )
    assert main(["figures", "--quick", "--only", "liang_shift", "--out", str(tmp_path)]) == 0
    assert calls == [("liang_shift", "quick", str(tmp_path))]
