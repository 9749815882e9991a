"""Files a user hands gapsim or gets from it: results, the store, init files (issue 16)."""

import os
import subprocess
import sys
import types

import numpy as np
import pytest

from gapsim import Config
from gapsim.app import store as store_mod
from gapsim.app.init import load_points
from gapsim.app.result import Certificate, Result
from gapsim.errors import ConfigError


def _result(seed: int = 0) -> Result:
    """A small hand-made Result (no simulation: these tests are about files)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(2, 3, 2))
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    cert = Certificate(False, 1.0, 1e-9, "riemannian_grad_norm", 0, "lbfgs")
    hist = {"step": np.zeros(1), "loss": np.array([float(seed)])}
    return Result(Config(n_pairs=3, dim=2), z, z, hist, {"loss": float(seed)}, cert)


def test_dotted_stems_do_not_overwrite_each_other(tmp_path):
    # was: Path.with_suffix turned both into tau0.json / tau0.npz
    _result(1).save(tmp_path / "tau0.1")
    _result(2).save(tmp_path / "tau0.2")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "tau0.1.json",
        "tau0.1.npz",
        "tau0.2.json",
        "tau0.2.npz",
    ]
    assert Result.load(tmp_path / "tau0.1").measures["loss"] == 1.0
    assert Result.load(tmp_path / "tau0.2.json").measures["loss"] == 2.0


def test_mismatched_pair_is_detected(tmp_path):
    # a kill between the two renames leaves a new npz beside an old JSON: refuse to mix them
    _result(1).save(tmp_path / "a")
    _result(2).save(tmp_path / "b")
    os.replace(tmp_path / "b.npz", tmp_path / "a.npz")
    with pytest.raises(ConfigError, match="different saves"):
        Result.load(tmp_path / "a")


def test_failed_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        _result().save(tmp_path / "r")
    assert list(tmp_path.iterdir()) == []


def test_malformed_result_is_a_config_error(tmp_path):
    (tmp_path / "r.json").write_text("{not json")
    (tmp_path / "r.npz").write_bytes(b"")
    with pytest.raises(ConfigError, match="not a readable gapsim result"):
        Result.load(tmp_path / "r")


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_staging_cleanup_spares_live_writers(tmp_path):
    live = tmp_path / f".staging-0001-{os.getpid()}"
    dead = tmp_path / f".staging-0002-{_dead_pid()}"
    live.mkdir()
    dead.mkdir()
    assert store_mod.clear_stale_staging(tmp_path) == [dead]
    assert live.exists()
    assert not dead.exists()


def test_second_sweep_into_one_folder_is_refused(tmp_path):
    (tmp_path / ".lock").write_text(str(os.getppid()))  # a live process holds it
    with pytest.raises(ConfigError, match="another sweep"), store_mod.sweep_lock(tmp_path):
        pass
    (tmp_path / ".lock").write_text(str(_dead_pid()))  # a killed sweep's lock is taken over
    with store_mod.sweep_lock(tmp_path):
        assert (tmp_path / ".lock").read_text() == str(os.getpid())
    assert not (tmp_path / ".lock").exists()


def _fake_run(root, name, tau, loss):
    import json

    f = root / name
    f.mkdir()
    (f / "config.json").write_text(json.dumps({"config": Config(tau=tau).to_dict()}))
    (f / "metrics.json").write_text(json.dumps({"diverged": False, "loss": loss}))


def test_store_load_rows_and_dataframe(tmp_path, monkeypatch):
    _fake_run(tmp_path, "run-a", 0.1, 1.5)
    _fake_run(tmp_path, "run-b", 0.2, 2.5)
    monkeypatch.setitem(sys.modules, "pandas", None)  # pandas absent: a list of dicts
    rows = store_mod.load(tmp_path)
    assert [(r["config.tau"], r["loss"]) for r in rows] == [(0.1, 1.5), (0.2, 2.5)]
    fake = types.SimpleNamespace(DataFrame=lambda rows: ("frame", rows))
    monkeypatch.setitem(sys.modules, "pandas", fake)
    assert store_mod.load(tmp_path / "run-a")[0] == "frame"


# --- init files -----------------------------------------------------------------------------


def _npy(tmp_path, arr, name="z.npy"):
    path = tmp_path / name
    np.save(path, arr)
    return str(path)


GOOD = np.ones((2, 3, 2)) / np.sqrt(2)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: _npy(p, GOOD.astype(bool)), "dtype bool"),
        (lambda p: _npy(p, GOOD.astype(int)), "dtype int64"),
        (lambda p: _npy(p, GOOD.astype(complex)), "dtype complex128"),
        (lambda p: _npy(p, GOOD[:, :2]), r"shape \(2, 2, 2\)"),
        (lambda p: _npy(p, GOOD * 0), r"row \[0, 0\] of norm 0"),
        (lambda p: _npy(p, GOOD * 1e-310), r"row \[0, 0\] of norm"),  # subnormal
        (lambda p: _npy(p, np.where(np.arange(3)[None, :, None] == 2, np.nan, GOOD)), r"\[0, 2\]"),
        (lambda p: _npy(p, np.array([object()] * 12).reshape(2, 3, 2)), "readable"),  # pickle
        (lambda p: (p / "e.npy").write_bytes(b"") or str(p / "e.npy"), "readable"),
        (lambda p: str(p / "missing.npy"), "readable"),
    ],
)
def test_bad_init_files_are_one_line_config_errors(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(ConfigError, match=match) as e:
        load_points(path, 2, 3, 2)
    assert "\n" not in str(e.value)


def test_truncated_npz_is_a_config_error(tmp_path):
    path = tmp_path / "z.npz"
    np.savez(path, z=GOOD)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError, match="readable"):
        load_points(str(path), 2, 3, 2)


def test_good_init_file_loads(tmp_path):
    np.testing.assert_array_equal(load_points(_npy(tmp_path, GOOD), 2, 3, 2), GOOD)


def test_init_conflicts_are_refused():
    with pytest.raises(ConfigError, match="needs --init-file"):
        Config(init="file")
    with pytest.raises(ConfigError) as e:
        Config(init="cones", init_file="z.npy")
    assert e.value.field == "init"


# --- report reads every layout, and survives corrupt files ----------------------------------


def test_report_reads_saved_results_and_flags_corrupt_folders(tmp_path):
    from gapsim.app.runs import collect, tabulate

    _result(1).save(tmp_path / "out" / "tau0.1")  # what `run --out` and Result.save write
    _fake_run(tmp_path, "run-a", 0.2, 2.5)
    bad = tmp_path / "run-bad"
    bad.mkdir()
    (bad / "config.json").write_text("{truncated")
    (bad / "metrics.json").write_text("{}")
    sweep = tmp_path / "sweep-x"
    sweep.mkdir()
    (sweep / "manifest.json").write_text("[]")
    rows = tabulate(collect(tmp_path), sort="loss", full=True)
    by = {r["entry"]: r for r in rows}
    assert by["out/tau0.1"]["status"] == "done"
    assert by["out/tau0.1"]["loss"] == 1.0
    assert by["run-a"]["loss"] == 2.5
    assert by["run-bad"]["status"] == "unreadable"
    assert "JSONDecodeError" in by["run-bad"]["error"]
    assert by["sweep-x"]["status"] == "unreadable"
