"""Peak memory of a large run: N = 65,536 pairs in d = 64, float32, on the O(N * block) path.

Usage: python benchmarks/bench_memory.py [--n 65536] [--dim 64] [--steps 1] [--json]

Runs ``gapsim run --n-pairs N --dim D --solver gd --steps S --stride S --dtype float32`` in a
child process (the whole CLI path: start, compiled loop with its trajectory records at step 0
and S, float64 certification in ``finish``) and reports the child's peak resident set size
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``) and its wall time. A dense N x N float32
matrix alone would take N^2 * 4 bytes (16 GiB at N = 65,536). Expect minutes: one step is four
N x N x d products (about 2.2e12 flops at these sizes), each record and the certification about
eight more (the certification in float64).
"""

import argparse
import json
import resource
import subprocess
import sys
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=65536)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    cmd = [sys.executable, "-m", "gapsim.cli", "run", "--n-pairs", str(a.n), "--dim", str(a.dim)]
    cmd += ["--solver", "gd", "--steps", str(a.steps), "--stride", str(a.steps)]
    cmd += ["--dtype", "float32", "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"gapsim run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    summary = json.loads(proc.stdout)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: KiB
    r = {
        "n": a.n,
        "d": a.dim,
        "steps": a.steps,
        "peak_rss_bytes": peak,
        "peak_rss_gib": peak / 2**30,
        "dense_matrix_gib": a.n * a.n * 4 / 2**30,
        "wall_s": wall,
        "loss": summary["loss"],
        "command": " ".join(cmd[1:]),
    }
    if a.json:
        print(json.dumps(r))
    else:
        print(
            f"N={a.n} d={a.dim} float32, {a.steps} step(s): peak RSS {r['peak_rss_gib']:.2f} GiB "
            f"(one dense N x N float32 matrix: {r['dense_matrix_gib']:.1f} GiB), "
            f"wall {wall:.0f} s, loss {summary['loss']:.6g}"
        )


if __name__ == "__main__":
    main()
