"""Progress bars: silent unless asked for, complete when shown, and no effect on results."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from gapsim import Config, simulate
from gapsim.app.sweep import grid, sweep
from gapsim.cli import main
from gapsim.core.progress import bar, interactive

RUN = ["run", "--n-pairs", "4", "--solver", "gd", "--steps", "40", "--no-early-stop"]
RUN += ["--no-store"]


def test_run_with_a_bar_gives_the_same_bits_and_the_bar_completes(capsys):
    cfg = Config(n_pairs=4, solver="gd", steps=40, early_stop=False)  # the program of RUN
    quiet, shown = simulate(cfg), simulate(cfg, progress=True)
    np.testing.assert_array_equal(shown.z, quiet.z)
    for k, v in quiet.history.items():
        np.testing.assert_array_equal(shown.history[k], v, err_msg=k)
    assert shown.summary() == quiet.summary()
    assert "40/40" in capsys.readouterr().err


def test_an_early_stop_ends_the_bar_full(capsys):
    r = simulate(Config(n_pairs=4, tau=0.5), progress=True)  # lbfgs converges early
    n = r.certificate.steps
    assert n < 2000
    assert f"{n}/{n}" in capsys.readouterr().err


def test_cli_is_silent_when_not_a_terminal_or_quiet(capsys, monkeypatch):
    assert not interactive()  # pytest captures: not a terminal
    assert main(RUN) == 0
    assert capsys.readouterr().err == ""
    for stream in (sys.stdout, sys.stderr):  # now pretend both are terminals
        monkeypatch.setattr(stream, "isatty", lambda: True)
    assert interactive()
    assert not interactive(quiet=True)
    assert main([*RUN, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert main(RUN) == 0
    assert "40/40" in capsys.readouterr().err


def test_sweep_bar_counts_configs(capsys):
    configs = grid(Config(n_pairs=4, solver="gd", steps=5), {"seed": range(3)})
    sweep(configs, chunk=2, progress=True)
    assert "3/3" in capsys.readouterr().err
    sweep(configs, chunk=2)
    assert capsys.readouterr().err == ""


def test_figures_bar_and_forced_bar_reach_their_totals(capsys, monkeypatch, tmp_path):
    import gapsim.app.figures as figs

    monkeypatch.setattr(figs, "build_one", lambda n, s, o: {"png": o, "seconds": 0.0})
    figs.build(["liang_shift", "yi_fig1"], outdir=tmp_path, progress=True)
    out, err = capsys.readouterr()
    assert out.count(str(tmp_path)) == 2  # one line per figure on stdout, as before
    assert "2/2" in err
    buf = io.StringIO()
    with bar(5, "x", file=buf) as b:
        for _ in range(5):
            b.update(1)
    assert "5/5" in buf.getvalue()
    with bar(5, "x", enabled=False, file=buf) as b:
        b.update(5)
    assert buf.getvalue().count("5/5") == 1


@pytest.mark.parametrize("command", ["run", "sweep", "check", "figures"])
def test_every_long_command_takes_quiet(command):
    from gapsim.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices[command]
    assert "quiet" in {a.dest for a in sub._actions}
