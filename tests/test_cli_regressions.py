"""Issue 24's regression list: invocations that crashed, ran nonsense, hung or replaced files.

Each runs in process with the work stubbed (a simulation, a sweep, an analysis, a figure, a
check, a demo: the stub raises :class:`Worked`), in an arena of input files and existing
outputs. The contract: exit status 2, one line on stderr, no traceback, no work started,
every file of the arena unchanged. On main these gave a traceback (``tb``), exit 0 after doing
something else than asked (``silent``), ran without end (``hang``) or replaced a file
(``replaced``); the tag says which. The full campaign over every command is
``tests/fuzz_campaign.py`` (slow tier: ``test_cli_fuzz.py``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import shlex

import numpy as np
import pytest

import gapsim.analysis
import gapsim.app.figures
import gapsim.app.store
import gapsim.app.sweep
import gapsim.checks.report
from gapsim.cli import main

SIMULATE = importlib.import_module("gapsim.app.simulate")
AN = "analyze x.npy y.npy --no-store --quiet"
DEMO = "demo closing --n-pairs 6 --steps 60 --frames 4 --dpi 30 --quiet"
SWEEP = "sweep --grid tau=0.1,0.2 --n-pairs 4 --dim 3 --solver gd --steps 20 --quiet"
CHECK = "check --quick --only yi.subspace.theta1_bound --quiet"
FIG = "figures --quick --only yaras_fig4a --quiet"

CASES = [
    # item 2: nothing replaced without --overwrite, every output checked before work
    ("replaced", f"{CHECK} --report jsonexists.md"),  # replaced jsonexists.json silently
    ("replaced", f"{CHECK} --report old.md"),
    ("tb", f"{CHECK} --report adir"),  # overwrote adir.json, then crashed
    ("tb", f"{CHECK} --report /proc/nope/r.md"),
    ("silent", f"{CHECK} --report r.json"),  # the report and its JSON are one file
    ("replaced", "run --n-pairs 4 --dim 3 --no-store --quiet --out res"),
    ("replaced", "report store --csv old.csv"),
    ("tb", f"{FIG} --out afile"),
    ("replaced", f"{FIG} --out figs"),
    ("replaced", f"{DEMO} --out old.gif"),
    ("replaced", f"{AN} --figure old.png"),
    # item 4: estimates before work; requested sizes never cut
    ("hang", "sweep --grid seed=0:5000 --n-pairs 4 --solver gd --steps 10 --no-store"),
    ("hang", "demo closing --n-pairs 100000 --out big.gif"),
    ("hang", "run --n-pairs 20000 --dim 3 --solver gd --steps 2000 --no-store"),
    ("silent", f"{AN} --simulate --simulate-n 100000"),  # was cut to N silently
    # item 5: tracebacks
    ("tb", f"{AN} --block 0"),
    ("tb", "analyze empty.npy y.npy --no-store"),
    ("tb", "analyze trunc.npz --no-store"),
    ("tb", f"{AN} --figure out.txt"),  # after the whole analysis
    ("tb", f"{AN} --uniformity-sample 1"),
    ("tb", f"{AN} --eval-sample 1"),
    ("tb", f"{DEMO} --dpi 100000 --out d.gif"),
    ("tb", "embed --images adir --captions cap.txt --out e.npz --batch-size 0"),  # with clip
    # item 5: silent accepts
    ("silent", f"{AN} --eval-sample -1"),
    ("silent", f"{AN} --curve-sample -1"),
    ("silent", f"{AN} --ssp-k -3"),
    ("silent", f"{AN} --ssp-k 9"),  # d = 8
    ("silent", f"{AN} --seed -1"),
    ("silent", f"{AN} --c3-sigma -1"),
    ("silent", f"{AN} --tau nan"),
    ("silent", f"{AN} --taus 0"),
    ("silent", f"{AN} --simulate --simulate-tau 0"),
    ("silent", f"{AN} --simulate-n 8"),  # without --simulate
    ("silent", f"{AN} --simulate-steps 8"),
    ("silent", f"{AN} --simulate-solver gd"),
    ("silent", f"{AN} --figure ."),  # wrote ./.png
    ("silent", f"{AN} --x-key a"),  # .npy arrays have no names
    ("silent", f"{AN} --store s2"),  # --store with --no-store
    ("silent", "run --n-pairs 4 --dim 3 --no-store --quiet --out ''"),
    ("silent", "run --n-pairs 4 --dim 3 --no-store --store s2 --quiet"),
    ("silent", f"{SWEEP} --no-store --process-id 1"),  # without --distributed
    ("silent", f"{SWEEP} --no-store --coordinator localhost:1"),
    ("silent", f"{SWEEP} --no-store --num-processes 2"),
    ("silent", f"{DEMO} --out x.png"),  # wrote x.png.gif
    ("silent", f"{DEMO} --out noext"),
]


BINDERS = (
    "gapsim.analysis.replay",
    "gapsim.app.batch",
    "gapsim.checks.yi_cone",
    "gapsim.demos.base",
    "gapsim.demos.scenes",
    "gapsim.studies.bridge",
    "gapsim.studies.runs",
)
"""Library modules that bind a stubbed function at import (``from gapsim.app.simulate import
simulate``), found with grep; the experiments modules are imported through the registry."""


class Worked(Exception):
    """Raised by every stub: the command got past its checks and started the work."""


def _stop(*a, **k):
    raise Worked


@pytest.fixture
def arena(tmp_path, monkeypatch):
    """Input files and existing outputs in a fresh folder (the cwd), every work stubbed."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)) + 1.0
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", x + rng.normal(size=x.shape))
    (tmp_path / "empty.npy").write_bytes(b"")
    np.savez(tmp_path / "trunc.npz", x=x, y=x)
    (tmp_path / "trunc.npz").write_bytes((tmp_path / "trunc.npz").read_bytes()[:60])
    for name in ("old.md", "old.json", "old.csv", "jsonexists.json", "res.json", "res.npz"):
        (tmp_path / name).write_text(f"precious {name}\n")
    (tmp_path / "old.png").write_bytes(b"\x89PNG precious")
    (tmp_path / "old.gif").write_bytes(b"GIF89a precious")
    (tmp_path / "afile").write_text("a file\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "cap.txt").write_text("a\n")
    (tmp_path / "figs").mkdir()
    (tmp_path / "figs" / "yaras_fig4a.png").write_bytes(b"precious")
    (tmp_path / "figs" / "yaras_fig4a.json").write_text("{}")
    run = tmp_path / "store" / "run1"
    run.mkdir(parents=True)
    (run / "config.json").write_text('{"config": {"tau": 0.1}}')
    (run / "metrics.json").write_text('{"diverged": false, "loss": 1.0}')
    monkeypatch.chdir(tmp_path)
    # modules that bind a stubbed name at import (``from gapsim import simulate``) are imported
    # first: imported under the stub they would keep it for the rest of the session
    for name in gapsim.app.figures.figure_names():
        gapsim.app.figures.module(name)
    for name in BINDERS:
        importlib.import_module(name)
    monkeypatch.setattr(SIMULATE, "simulate", _stop)
    monkeypatch.setattr(gapsim.app.store, "run_sweep", _stop)
    monkeypatch.setattr(gapsim.app.sweep, "sweep", _stop)
    monkeypatch.setattr(gapsim.analysis, "analyze", _stop)
    monkeypatch.setattr(gapsim.app.figures, "build", _stop)
    monkeypatch.setattr(gapsim.checks.report, "run_checks", _stop)
    from gapsim.demos.scenes import DEMOS

    for name, d in list(DEMOS.items()):
        monkeypatch.setitem(DEMOS, name, dataclasses.replace(d, build=_stop))
    return tmp_path


def _digest(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(("was", "cmd"), CASES, ids=[c for _, c in CASES])
def test_refused_in_one_line_before_any_work(arena, capsys, was, cmd):
    before = _digest(arena)
    try:
        code = main(shlex.split(cmd))
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    except Worked:
        pytest.fail(f"{cmd}: the work started (on main: {was})")
    out, err = capsys.readouterr()
    assert code == 2, (cmd, code, err)
    assert err.startswith("gapsim: error: "), err
    assert err.count("\n") == 1, err
    assert _digest(arena) == before  # nothing written, nothing replaced


def test_run_header_names_the_init_file():
    # item 7: the run header said init=uniform for a run started from --init-file
    from gapsim import Config
    from gapsim.cli.run import describe

    cfg = Config(n_pairs=4, dim=3, init_file="start.npz")
    assert " init=file(start.npz) " in describe(cfg)
    assert " init=uniform " in describe(Config(n_pairs=4, dim=3))


def test_check_report_links_resolve_from_where_the_report_is_written(tmp_path, monkeypatch):
    # item 7: links were relative to the current folder's figures/, so a report written
    # elsewhere (or from another folder) pointed nowhere; now they reach the clone's figures/
    # and docs/theory.md from the report's own folder
    from pathlib import Path

    import gapsim
    from gapsim.cli.check import figures_link

    clone = Path(gapsim.__file__).resolve().parents[1]
    monkeypatch.chdir(tmp_path)
    for report in (tmp_path / "deep" / "r.md", Path("r.md"), clone / "reports" / "x.md"):
        link = figures_link(str(report))
        target = (report.resolve().parent / link).resolve()
        assert target == clone / "figures", (report, link)
        assert (target.parent / "docs" / "theory.md").is_file()
    assert figures_link(str(clone / "reports" / "x.md")) == "../figures"


def test_missing_and_undefined_values_print_as_a_dash():
    # item 7: the README says '-', analyze printed 'nan' (an undefined centroid angle)
    from gapsim.app.runs import MISSING, format_value

    assert MISSING == "-"
    assert format_value(float("nan")) == format_value(None) == "-"
    assert format_value(np.float64("nan")) == "-"
