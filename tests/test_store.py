"""The results store: run folders, sweep folders that resume after a kill, ``gapsim report``."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gapsim import Config, DivergenceError, Result
from gapsim.app.store import config_hash, load_entry, write_entry
from gapsim.cli import main

REPO = Path(__file__).resolve().parents[1]
ENTRY_FILES = {"config.json", "metrics.json", "metrics.csv", "result.json", "result.npz"}

# 8 configs in chunks of 2 on one device; 3000 float32 gd steps at N = 32 make each chunk long
# enough (about 0.2 s here) to kill the process between its first and its last chunk.
SWEEP = ["sweep", "--grid", "seed=0:8", "--n-pairs", "32", "--dim", "8", "--solver", "gd"]
SWEEP += ["--steps", "2000", "--no-early-stop", "--chunk", "2", "--host-devices", "1", "--quiet"]


def _files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def _assert_same_entries(a: Path, b: Path) -> None:
    """Same files; equal JSON (metrics, results) and bit-identical arrays."""
    fa, fb = _files(a / "configs"), _files(b / "configs")
    assert list(fa) == list(fb)
    for name, path in fa.items():
        if name.endswith(".npz"):
            with np.load(path) as x, np.load(fb[name]) as y:
                assert x.files == y.files
                for k in x.files:
                    np.testing.assert_array_equal(x[k], y[k], err_msg=f"{name}:{k}")
        else:
            assert path.read_text() == fb[name].read_text(), name
    assert (a / "sweep.jsonl").read_text() == (b / "sweep.jsonl").read_text()


def test_run_folder_contents_and_round_trip(tmp_path, capsys):
    argv = ["run", "--json", "--n-pairs", "4", "--tau", "0.5", "--store", str(tmp_path)]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    (folder,) = tmp_path.iterdir()
    cfg = Config(n_pairs=4, tau=0.5)
    assert folder.name.startswith("run-")
    assert folder.name.endswith(config_hash(cfg))
    assert set(_files(folder)) == ENTRY_FILES
    meta = json.loads((folder / "config.json").read_text())
    assert meta["gapsim_version"] == __import__("gapsim").__version__
    assert Config.from_dict(meta["config"]) == cfg
    assert json.loads((folder / "metrics.json").read_text()) == {"diverged": False, **summary}
    with (folder / "metrics.csv").open() as f:
        (row,) = list(csv.DictReader(f))
    assert float(row["loss"]) == summary["loss"]
    r = load_entry(folder)
    assert isinstance(r, Result)
    assert r.summary() == summary
    # a second write of the same entry is refused, a diverged entry round-trips
    with pytest.raises(FileExistsError):
        write_entry(folder, cfg, r)
    err = load_entry(write_entry(tmp_path / "div", cfg, DivergenceError(10, "lr too large")))
    assert isinstance(err, DivergenceError)
    assert (err.step, err.cause) == (10, "lr too large")


def test_sweep_killed_midway_resumes_to_the_same_bits(tmp_path, capsys):
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "gapsim.cli", *SWEEP, "--out", str(killed)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first_chunk = killed / "configs" / "0001"  # folders appear whole (staged, then renamed)
    deadline = time.monotonic() + 300
    while not first_chunk.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    proc.stderr.close()
    n_done = len(list((killed / "configs").glob("[0-9]*")))
    assert 2 <= n_done < 8, "the kill must land between the first and the last chunk"
    assert not (killed / "sweep.jsonl").exists()
    # resume (in process, one CPU device as in the child), then an uninterrupted reference
    assert main([*SWEEP, "--out", str(killed)]) == 0
    err = capsys.readouterr().err
    reused = n_done - n_done % 2  # whole chunks only; a half-written chunk is run again
    assert f"reused {reused} of 8 configs" in err
    assert main([*SWEEP, "--out", str(whole)]) == 0
    assert "reused" not in capsys.readouterr().err
    _assert_same_entries(killed, whole)
    leftovers = [p for p in killed.rglob("*") if "tmp" in p.name or p.name.startswith(".")]
    assert leftovers == []


def test_mismatched_grid_is_a_one_line_error_unless_overwrite(tmp_path, capsys):
    base = ["sweep", "--n-pairs", "4", "--solver", "gd", "--steps", "5", "--quiet"]
    out = ["--out", str(tmp_path)]
    assert main([*base, "--grid", "seed=0:3", *out]) == 0
    assert main([*base, "--grid", "seed=1:4", *out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gapsim: error: out=")
    assert "different sweep" in err
    assert err.count("\n") == 1
    assert main([*base, "--grid", "seed=1:4", *out, "--overwrite"]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [c["config"]["seed"] for c in manifest["configs"]] == [1, 2, 3]
    assert len(list((tmp_path / "configs").iterdir())) == 3


def test_report_table_json_csv_sort_pending_and_errors(tmp_path, capsys):
    root = tmp_path / "results"
    sw = root / "sw"
    assert main(["sweep", "--n-pairs", "4", "--solver", "gd", "--steps", "5",
                 "--grid", "tau=0.2,0.4,0.3", "--out", str(sw)]) == 0  # fmt: skip
    # stdout is not a terminal here: no bar, but a progress line per tenth on stderr (item 8)
    assert "gapsim sweep: 3/3 configs (100%) in " in capsys.readouterr().err
    assert main(["run", "--n-pairs", "4", "--tau", "0.5", "--store", str(root)]) == 0
    for p in (sw / "configs" / "0001").iterdir():  # make config 1 pending again
        p.unlink()
    (sw / "configs" / "0001").rmdir()
    (sw / "configs" / ".staging-0001-1").mkdir()  # what a kill mid-write leaves: ignored
    capsys.readouterr()
    assert (
        main(["report", str(root), "--json", "--sort", "tau", "--csv", str(tmp_path / "t.csv")])
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["tau"] for r in rows] == [0.2, 0.3, 0.4, 0.5]
    assert [r["status"] for r in rows] == ["done", "done", "pending", "done"]
    assert rows[2]["entry"] == "sw/configs/0001"
    assert rows[2]["loss"] is None
    assert {"solver", "config.steps", "loss", "centroid_angle", "converged", "steps"} <= set(
        rows[0]
    )
    assert "seed" not in rows[0]  # equal everywhere: not a column
    with (tmp_path / "t.csv").open() as f:
        assert [r["entry"] for r in csv.DictReader(f)] == [r["entry"] for r in rows]
    assert main(["report", str(sw)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split()[:3] == ["entry", "status", "tau"]
    assert "3 entries: 2 done, 1 pending" in text
    (tmp_path / "empty").mkdir()
    for argv in (["report", str(tmp_path / "empty")], ["report", str(root), "--sort", "nope"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("gapsim: error: ")
        assert err.count("\n") == 1
    # --csv never replaces a file without --overwrite (item 2), checked before reading DIR
    assert main(["report", str(root), "--csv", str(tmp_path / "t.csv")]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert main(["report", str(root), "--csv", str(tmp_path / "t.csv"), "--overwrite"]) == 0
    # --plot FIELD: a measure against a swept field (item 8); the pending config left out
    capsys.readouterr()
    assert main(["report", str(sw), "--plot", "tau", "--plot-out", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    assert f"plot: {tmp_path / 'p.png'}" in capsys.readouterr().out
    for bad in (["--plot", "seed"], ["--plot", "nope"], ["--plot", "tau", "--plot-y", "nope"]):
        assert main(["report", str(sw), *bad, "--plot-out", str(tmp_path / "q.png")]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "q.png").exists()


def test_store_load_has_the_report_rows(tmp_path, monkeypatch):
    # issue 24, item 3: gapsim.app.store.load and gapsim report walk a root the same way. On main
    # load(root) returned only the run folders directly under root (1 row here, 9 in the
    # issue), and no entry column. A root with a run, a nested sweep (one config pending) and
    # a corrupt run folder; the folders are written by hand (the store's layout), no run.
    import gapsim.app.store
    from gapsim.app.runs import collect

    root = tmp_path / "results"
    run = root / "run-a"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"config": {"tau": 0.5, "n_pairs": 4}}))
    (run / "metrics.json").write_text(json.dumps({"diverged": False, "loss": 1.5}))
    sw = root / "deep" / "sw"
    (sw / "configs" / "0000").mkdir(parents=True)
    configs = [{"index": i, "hash": "h", "config": {"tau": t, "n_pairs": 4}}
               for i, t in enumerate((0.1, 0.2))]  # fmt: skip
    (sw / "manifest.json").write_text(json.dumps({"configs": configs}))
    (sw / "configs" / "0000" / "metrics.json").write_text('{"diverged": false, "loss": 0.5}')
    bad = root / "run-bad"
    bad.mkdir()
    (bad / "config.json").write_text("{}")
    (bad / "metrics.json").write_text("{not json")
    report = collect(root)
    table = gapsim.app.store.load(root)
    pd = pytest.importorskip("pandas")  # the 'pandas' extra
    assert isinstance(table, pd.DataFrame)
    rows = table.to_dict("records")
    assert [r["entry"] for r in rows] == [e["entry"] for e in report]
    assert [r["entry"] for r in rows] == [
        "deep/sw/configs/0000", "deep/sw/configs/0001", "run-a", "run-bad"
    ]  # fmt: skip
    assert [r["status"] for r in rows] == ["done", "pending", "done", "unreadable"]
    assert rows[0]["config.tau"] == 0.1
    assert rows[2]["loss"] == 1.5
    assert rows[3]["error"] == "KeyError: 'config'"  # config.json holds no config
    monkeypatch.setitem(__import__("sys").modules, "pandas", None)  # without pandas: dicts
    plain = gapsim.app.store.load(root)
    assert isinstance(plain, list)
    assert [r["entry"] for r in plain] == [r["entry"] for r in rows]
