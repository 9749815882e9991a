"""One GPU run, one JSON: bench_step, bench_certificate and a large certified optimum (issue 23).

Usage (from the repository root, on a machine with a GPU and ``jax[cuda12]`` installed)::

    PYTHONPATH=. python benchmarks/gpu.py --out gpu.json
    PYTHONPATH=. python benchmarks/gpu.py --tiny --out /tmp/gpu_tiny.json   # smoke test (CPU)

Sections, each in its own try block (a failure is recorded as ``{"error": ...}`` and the run
goes on), each with a wall-clock limit:

1. ``bench_step``: ``benchmarks/bench_step.py --json`` (steps per second against baselines
   and the roofline; ``--quick`` with ``--tiny``), in a subprocess;
2. ``bench_certificate``: ``benchmarks/bench_certificate.py --json`` at N = 256, 1024, 4096,
   16384 (d = 8; ``--tiny``: its own tiny sizes), in a subprocess;
3. ``large_optimum``: one certified optimum at N = 16,384, d = 16 (``--tiny``: N = 64, d = 4),
   tau = 0.2, float64: an L-BFGS solve (``second_order=False``), then the matrix-free
   second-order certificate of its end point (:mod:`gapsim.core.certificate_mf`) timed cold
   (compiles) and warm. Where L-BFGS stops above 1e-9, the certificate's gtol is twice the
   gradient norm reached (recorded), as in bench_certificate.

The JSON also records the device, the JAX version and backend, and the total wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _subprocess_json(args: list[str], timeout: float) -> dict:
    """Run a benchmark script that prints one JSON object last on stdout."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env
    )
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        return {"error": f"exit {p.returncode}", "stderr_tail": p.stderr[-4000:], "wall_s": wall}
    last = [line for line in p.stdout.splitlines() if line.strip()][-1]
    return {"wall_s": wall, "result": json.loads(last), "stderr_tail": p.stderr[-2000:]}


def large_optimum(n: int, d: int, tau: float, steps: int) -> dict:
    """Solve, then certify with the matrix-free certificate (cold and warm)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from gapsim import Config
    from gapsim.app.parts import prepare
    from gapsim.core.certificate import kkt_certificate
    from gapsim.core.solvers import execute, params0, stationarity

    cfg = Config(n_pairs=n, dim=d, tau=tau, steps=steps, second_order=False)
    static, args = prepare(cfg)
    t0 = time.perf_counter()
    out = execute(static, args)
    jax.block_until_ready(out)
    solve_s = time.perf_counter() - t0
    params = {**params0(static, args), "z": out.params["z"]}
    t = max(int(out.steps) - 1, 0)
    gn = float(stationarity(static, args, params, jnp.asarray(t)))
    gtol = max(cfg.effective_gtol, 2 * gn)
    times, so = [], None
    for _ in range(2):
        t0 = time.perf_counter()
        so = kkt_certificate(static, args, params, t, gtol, active_tol=0.0, method="matrix-free")
        times.append(time.perf_counter() - t0)
    return {
        "n": n,
        "d": d,
        "tau": tau,
        "variables": 2 * n * d,
        "lbfgs_steps": int(out.steps),
        "solve_s": solve_s,
        "grad_norm": gn,
        "certificate_gtol": gtol,
        "certificate_cold_s": times[0],
        "certificate_warm_s": times[1],
        "kind": so.kind,
        "lambda_min": so.lambda_min,
        "eig_error": so.eig_error,
        "hess_tol": so.hess_tol,
        "matvecs": so.matvecs,
        "reduced_dim": so.dim,
        "n_symmetries": so.n_symmetries,
    }


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="gpu.json", help="the JSON written")
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (a smoke test on a CPU)")
    ap.add_argument("--section-timeout", type=float, default=3600.0, help="seconds per section")
    a = ap.parse_args()
    t_start = time.perf_counter()
    import jax

    report: dict = {
        "device": str(jax.devices()[0].device_kind),
        "backend": jax.default_backend(),
        "jax": jax.__version__,
        "tiny": a.tiny,
    }
    step_args = [str(HERE / "bench_step.py"), "--json"]
    step_args += ["--quick", "--sizes", "64x8"] if a.tiny else []
    cert_args = [str(HERE / "bench_certificate.py"), "--json"]
    cert_args += ["--tiny", "--seeds", "2"] if a.tiny else ["--sizes", "256,1024,4096,16384"]
    sections = {
        "bench_step": lambda: _subprocess_json(step_args, a.section_timeout),
        "bench_certificate": lambda: _subprocess_json(cert_args, a.section_timeout),
        "large_optimum": lambda: large_optimum(*((64, 4) if a.tiny else (16384, 16)), 0.2, 2000),
    }
    for name, fn in sections.items():
        t0 = time.perf_counter()
        try:
            report[name] = fn()
        except Exception as e:  # one section's failure must not lose the rest
            report[name] = {"error": repr(e), "traceback": traceback.format_exc()[-4000:]}
        print(f"{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        Path(a.out).write_text(json.dumps(report, indent=1, default=float))  # partial results
    report["total_s"] = time.perf_counter() - t_start
    Path(a.out).write_text(json.dumps(report, indent=1, default=float))
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
