"""Cost of the second-order (KKT) certificate at N = 64, 256, 1024, d = 8 (issue 12).

Usage (from the repository root):
``PYTHONPATH=. python benchmarks/bench_certificate.py [--json] [--sizes 64,256,1024] [--dim 8]``

For each N: an L-BFGS run in float64 (``second_order=False``, so that the run itself compiles
nothing of the certificate; where it stops above 1e-9 the certificate's gtol is twice the
gradient norm reached, ``certificate_gtol``, so that the second order is timed), then
:func:`gapsim.core.certificate.kkt_certificate` at its end point twice: ``cold_s`` (first call:
compiles the gradient, Jacobian, HVP and generator programs for this shape) and ``warm_s``
(second call: nothing compiles). Also reported: the eigensolver used (``dense`` up to
``DENSE_MAX`` reduced dimensions, Lanczos above), the reduced dimension, the verdict,
``lambda_min``, the symmetries deflated, and the time of the L-BFGS run itself for scale. Wall
times; on a shared machine say under what load they were taken (``load_average_1min``).
"""

import argparse
import json
import os
import time

import jax.numpy as jnp

from gapsim import Config
from gapsim.app.parts import prepare
from gapsim.app.simulate import finish
from gapsim.core.certificate import kkt_certificate
from gapsim.core.solvers import execute, params0


def bench(n: int, d: int, tau: float, steps: int) -> dict:
    """One size: solve, then certify cold and warm."""
    cfg = Config(n_pairs=n, dim=d, tau=tau, steps=steps, second_order=False)
    static, args = prepare(cfg)
    t0 = time.perf_counter()
    out = execute(static, args)
    r = finish(cfg, static, args, out)
    solve_s = time.perf_counter() - t0
    p64 = {**params0(static, args), "z": jnp.asarray(r.z)}  # lbfgs: float64
    t = max(int(out.steps) - 1, 0)
    # time the second order even where L-BFGS stopped short of 1e-9 (flat landscapes at large
    # N): the tolerance is then the gradient norm reached (reported), so the curvature runs
    gtol = max(cfg.effective_gtol, 2 * r.certificate.grad_norm)
    times, so = [], None
    for _ in range(2):
        t0 = time.perf_counter()
        so = kkt_certificate(static, args, p64, t, gtol, active_tol=0.0)
        times.append(time.perf_counter() - t0)
    return {
        "n_pairs": n,
        "dim": d,
        "tau": tau,
        "variables": 2 * n * d,
        "lbfgs_steps": r.certificate.steps,
        "lbfgs_s": solve_s,
        "grad_norm": r.certificate.grad_norm,
        "certificate_gtol": gtol,
        "cold_s": times[0],
        "warm_s": times[1],
        "method": so.method,
        "reduced_dim": so.dim,
        "kind": so.kind,
        "lambda_min": so.lambda_min,
        "hess_tol": so.hess_tol,
        "n_symmetries": so.n_symmetries,
        "position_error": so.position_error,
        "load_average_1min": os.getloadavg()[0],
    }


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="one JSON object per size")
    ap.add_argument("--sizes", default="64,256,1024", help="comma-separated N")
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--tau", type=float, default=0.2)
    ap.add_argument("--steps", type=int, default=2000, help="L-BFGS iteration limit")
    a = ap.parse_args()
    for n in (int(s) for s in a.sizes.split(",")):
        row = bench(n, a.dim, a.tau, a.steps)
        if a.json:
            print(json.dumps(row), flush=True)
        else:
            print(
                f"N={n:5d} d={a.dim} {row['method']:8s} dim={row['reduced_dim']:6d} "
                f"cold {row['cold_s']:7.2f}s warm {row['warm_s']:7.2f}s "
                f"(lbfgs {row['lbfgs_s']:.1f}s) {row['kind']} lambda_min={row['lambda_min']:.3e}",
                flush=True,
            )


if __name__ == "__main__":
    main()
