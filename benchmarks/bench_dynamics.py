"""Steps per second of the dynamics solver (issue 2's figure of merit).

Usage: python benchmarks/bench_dynamics.py [--n 1024] [--dim 64] [--steps 500] [--json]

Times ``gapsim.core.solvers.run_dynamics`` end to end (one compiled call, trajectory recorded every
``stride`` steps, no early stop), after a warm-up call that compiles it. Reports the best of
``--repeats`` runs.
"""

import argparse
import json
import time

import jax

from gapsim import Config
from gapsim.app.parts import prepare
from gapsim.core.solvers import run_dynamics


def bench(n: int, d: int, steps: int, solver: str, stride: int, repeats: int) -> dict:
    cfg = Config(
        n_pairs=n,
        dim=d,
        tau=0.1,
        solver=solver,
        steps=steps,
        stride=stride,
        early_stop=False,
        dtype="float32",
    )
    static, args = prepare(cfg)
    t0 = time.perf_counter()
    jax.block_until_ready(run_dynamics(args, static))
    compile_s = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(run_dynamics(args, static))
        best = min(best, time.perf_counter() - t0)
    return {
        "n": n,
        "d": d,
        "solver": solver,
        "steps": steps,
        "stride": stride,
        "steps_per_s": steps / best,
        "first_call_s": compile_s,
        "device": str(jax.devices()[0]),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1024)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--stride", type=int, default=10)
    p.add_argument("--solver", default="gd", choices=("gd", "sgd", "adam"))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    r = bench(a.n, a.dim, a.steps, a.solver, a.stride, a.repeats)
    print(
        json.dumps(r)
        if a.json
        else f"{r['solver']} N={r['n']} d={r['d']}: {r['steps_per_s']:.1f} steps/s "
        f"(stride {r['stride']}; first call {r['first_call_s']:.1f} s) on {r['device']}"
    )


if __name__ == "__main__":
    main()
