"""Time and peak memory of ``gapsim.analyze`` on a large synthetic pair (issue 13).

Synthetic CLIP-like embeddings: a shared latent ``s`` (``N x 256``, spectrum decaying as
``1/sqrt(j)``), each modality ``normalize(3 c_m + s W_m + 0.3 e)`` with its own cone axis
``c_m`` (a modality gap), ``W_y`` a perturbation of ``W_x`` (paired rows correlate), written as
float32 ``.npy`` files, then read back and analysed as a user would.

    python benchmarks/bench_analyze.py --n 100000 --d 768 --out /tmp/big
    python benchmarks/bench_analyze.py --n 100000 --d 768 --out /tmp/big --cli

Prints wall times per stage and the peak resident memory (``ru_maxrss``) as one JSON line.

``--cli`` (issue 23) instead runs the command a user runs, ``gapsim analyze X Y --json
--no-store --quiet`` (``python -m gapsim.cli``), as one uninterrupted child process on the
files written, and records its wall time, its peak resident memory (``ru_maxrss`` of the
child, from ``RUSAGE_CHILDREN``: this process only writes the files, in 10,000-row chunks) and
its exit code, with the summary it printed. ``--curve-sample`` passes through (``all``: the
shift curves on every pair, the N x N case the blocked ``gap_shift_curve`` is for).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def make(n: int, d: int, folder: Path, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    k = 256
    wx = rng.normal(size=(k, d)) / np.sqrt(np.arange(1, k + 1))[:, None] / 4
    wy = wx + 0.5 * rng.normal(size=(k, d)) / np.sqrt(np.arange(1, k + 1))[:, None] / 4
    cx, cy = rng.normal(size=d), rng.normal(size=d)
    cx, cy = cx / np.linalg.norm(cx), cy / np.linalg.norm(cy)
    folder.mkdir(parents=True, exist_ok=True)
    px, py = folder / "x.npy", folder / "y.npy"
    x = np.lib.format.open_memmap(px, "w+", np.float32, (n, d))
    y = np.lib.format.open_memmap(py, "w+", np.float32, (n, d))
    for s in range(0, n, 10_000):
        m = min(10_000, n - s)
        lat = rng.normal(size=(m, k))
        for out, c, w in ((x, cx, wx), (y, cy, wy)):
            z = 3 * c + lat @ w + 0.3 * rng.normal(size=(m, d)) / np.sqrt(d) * 4
            out[s : s + m] = z  # not normalised: analyze normalises (and says so)
    x.flush()
    y.flush()
    del x, y
    return px, py


def run_cli(px: Path, py: Path, curve_sample: str | None) -> dict:
    """One ``gapsim analyze`` as a child process: wall time, peak memory, exit code, summary."""
    cmd = [sys.executable, "-m", "gapsim.cli", "analyze", str(px), str(py)]
    cmd += ["--json", "--no-store", "--quiet"]
    if curve_sample is not None:
        cmd += ["--curve-sample", curve_sample]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB -> GiB
    lines = [line for line in p.stdout.splitlines() if line.strip()]
    try:
        summary = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        summary = None
    return {
        "command": " ".join(cmd[1:]),
        "exit_code": p.returncode,
        "wall_s": round(wall, 1),
        "peak_rss_gib": round(peak, 2),
        "summary": summary,
        "stderr_tail": p.stderr[-2000:] if p.returncode else "",
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--d", type=int, default=768)
    p.add_argument("--out", default="/tmp/gapsim-bench-analyze")
    p.add_argument("--simulate", action="store_true")
    p.add_argument("--cli", action="store_true", help="time one `gapsim analyze` child process")
    p.add_argument("--curve-sample", help="with --cli: passed to gapsim analyze ('all', N)")
    a = p.parse_args()
    t0 = time.perf_counter()
    px, py = make(a.n, a.d, Path(a.out))
    t_make = time.perf_counter() - t0
    if a.cli:
        out = {"n": a.n, "d": a.d, "make_s": round(t_make, 1), **run_cli(px, py, a.curve_sample)}
        print(json.dumps(out))
        return
    import warnings

    from gapsim.analysis import analyze, load_pair

    t0 = time.perf_counter()
    x, y = load_pair(px, py)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = {"n": 256, "steps": 500} if a.simulate else None
        res = analyze(x, y, taus=(0.01, 0.07), simulate=sim, progress=True)
    t_total = time.perf_counter() - t0
    res.save(Path(a.out) / "analysis")
    out = {
        "n": a.n,
        "d": a.d,
        "make_s": round(t_make, 1),
        "load_s": round(t_load, 1),
        "analyze_s": round(t_total, 1),
        "stages_s": {k: round(v, 1) for k, v in res.timings.items()},
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "centroid_distance": res.measures["centroid_distance"],
        "r1_xy": res.measures["r1_xy"],
        "r5_xy": res.measures["r5_xy"],
        "cone_cosine_x": res.structure["cone_cosine_x"],
        "overlap_dim": res.structure["overlap_dim"],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
