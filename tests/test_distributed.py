"""``gapsim sweep --distributed``: two local CPU processes equal one process with two devices.

Each process is a ``python -m gapsim.cli sweep`` subprocess with one CPU device, joined by
``jax.distributed`` through a coordinator on localhost; the reference is one process with two
CPU devices. Both shard every chunk over two devices the same way, so each device runs the same
program on the same rows: the stored results must be the same bits.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
GRID = ["--grid", "tau=0.1,0.2", "--grid", "seed=0:4", "--chunk", "4", "--quiet"]
BASE = ["--n-pairs", "6", "--dim", "3", "--solver", "gd", "--steps", "60"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _sweep(out: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gapsim.cli", "sweep", *BASE, *GRID, "--out", str(out), *extra]
    pipe = subprocess.PIPE
    return subprocess.Popen(cmd, cwd=ROOT, stdout=pipe, stderr=pipe, text=True)


def _wait(*procs: subprocess.Popen) -> list[tuple[str, str]]:
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-4000:]
    return outs


def _rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "sweep.jsonl").read_text().splitlines()]


def _points(out: Path) -> list[np.ndarray]:
    return [np.load(f / "result.npz")["z"] for f in sorted((out / "configs").iterdir())]


@pytest.mark.slow  # three JAX processes that each compile the sweep program (~40 s here)
def test_two_processes_equal_one_process(tmp_path):
    single, multi = tmp_path / "single", tmp_path / "multi"
    t0 = time.perf_counter()
    _wait(_sweep(single, "--host-devices", "2"))
    t_single = time.perf_counter() - t0
    port = _free_port()
    dist = ["--distributed", "--coordinator", f"localhost:{port}", "--num-processes", "2"]
    t0 = time.perf_counter()
    procs = [_sweep(multi, "--host-devices", "1", *dist, "--process-id", str(i)) for i in (0, 1)]
    (out0, _), (out1, _) = _wait(*procs)
    t_multi = time.perf_counter() - t0
    print(f"one process, 2 devices: {t_single:.1f} s; two processes: {t_multi:.1f} s")
    assert "8 configs" in out0  # process 0 prints the table ...
    assert out1 == ""  # ... the other one only stores its configs
    manifest = json.loads((multi / "manifest.json").read_text())
    assert manifest["devices"] == 2
    # the same bits: same chunks, same per-device programs, same rows per device
    assert _rows(multi) == _rows(single)
    for a, b in zip(_points(multi), _points(single), strict=True):
        np.testing.assert_array_equal(a, b)
    # a lost chunk (as if its process died): a rerun recomputes only that chunk
    shutil.rmtree(multi / "configs" / "0005")
    (multi / "sweep.jsonl").unlink()
    ((_, err),) = _wait(_sweep(multi, "--host-devices", "2"))
    assert "reused 4 of 8" in err
    assert _rows(multi) == _rows(single)


def test_distributed_needs_a_results_folder(capsys):
    import jax

    from gapsim.cli import main

    jax.devices()  # the backend is up: the sweep command keeps this process's devices
    assert main(["sweep", "--distributed", "--no-store", "--grid", "seed=0:2"]) == 2
    assert "distributed" in capsys.readouterr().err


def test_barrier_is_a_no_op_in_one_process():
    from gapsim.app.sweep import process_barrier

    process_barrier("alone", timeout_s=0.001)  # returns at once: one process
