"""Time to a certified optimum: one-by-one, batched (gapsim.batch) and scipy L-BFGS-B (issue 15).

Usage: python benchmarks/bench_certify.py [--json] [--full] [--repeats R] [--scipy-seeds K]

For each (N, d) and seed count S, the same S configs (no constraint, tau = 0.1, float64
L-BFGS, gtol = 1e-9 on the Riemannian gradient norm, ``Config`` defaults otherwise):

- ``one_by_one``: a Python loop of :func:`gapsim.simulate` (prepare, solve, certify each);
- ``batched``: :func:`gapsim.batch.simulate_batch` in its ``auto`` mode (``lax.map`` for
  L-BFGS on a CPU: all seeds in one compiled program) and, where measured, ``vmap`` (the
  vmapped ``while_loop``; see the module docstring of :mod:`gapsim.batch` for why it is slow
  on a CPU);
- ``scipy``: ``scipy.optimize.minimize(method="L-BFGS-B")`` on the same parametrisation
  ``z_i = w_i / ||w_i||`` from the same starts, with a jitted float64 value-and-gradient of the
  same objective (memory 20, as gapsim's), stopped by a callback as soon as the same
  stationarity measure (:func:`gapsim.solvers.stationarity`) is at most gtol, on the first
  ``--scipy-seeds`` seeds (default 4; its time is reported per certified optimum).

Every method is warmed up once (compiles) and then timed ``--repeats`` times interleaved
(A B C A B C ...): ``speedup`` is the median of the per-round ratios one_by_one / batched and
``speedup_spread`` their min and max, so a load that shifts during the run shows up as spread
instead of a biased ratio. ``speedup_cpu``: the same from the CPU seconds of this process (all
threads), which a shared machine distorts less than wall time. The ``vmap`` column is measured
at N = 64 with S = 8 (and S = 64 with ``--full``). Default rows: N = 64 (S = 8, 64) and
N = 256 (S = 8) at d = 8, 64; ``--full`` adds S = 64 at N = 256 and the N = 1024 rows (long
on 2 cores).
"""

import argparse
import json
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from gapsim import Config, simulate
from gapsim.batch import simulate_batch
from gapsim.objective import objective
from gapsim.parts import prepare
from gapsim.solvers import stationarity

TAU = 0.1


def _timed(fn):
    """Wall seconds, CPU seconds of this process (all threads) and the result of ``fn()``."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def _loss(runs) -> float:
    return min(r.measures["loss"] for r in runs if r.converged)


def scipy_maker(cfg: Config):
    """One scipy L-BFGS-B run per call, from the start gapsim uses for ``cfg``."""
    static, args = prepare(cfg)
    shape = args.z0.shape

    @jax.jit
    def value_grad_gn(wflat, args):
        w = wflat.reshape(shape)

        def f(w):
            p = {"z": w / jnp.linalg.norm(w, axis=-1, keepdims=True)}
            p.update(nu=args.nu0, gamma=args.gamma0)
            return objective(static.mech, args.mech, p, args.beta, 0, stochastic=False)

        v, g = jax.value_and_grad(f)(w)
        z = w / jnp.linalg.norm(w, axis=-1, keepdims=True)
        gn = stationarity(static, args, {"z": z, "nu": args.nu0, "gamma": args.gamma0}, 0)
        return v, g.reshape(-1), gn

    def run(cfg: Config) -> tuple[float, float, bool]:
        _, a = prepare(cfg)
        last = {}

        def fun(x):
            v, g, gn = jax.device_get(value_grad_gn(x, a))
            last.update(x=x.copy(), gn=float(gn))
            return float(v), np.asarray(g, np.float64)

        def callback(intermediate_result):
            x = intermediate_result.x
            gn = last["gn"] if np.array_equal(x, last["x"]) else float(value_grad_gn(x, a)[2])
            if gn <= cfg.effective_gtol:
                raise StopIteration

        opts = {"maxiter": cfg.steps, "maxcor": 20, "gtol": 0.0, "ftol": 0.0}
        x0 = np.asarray(a.z0, np.float64).reshape(-1)
        res = scipy.optimize.minimize(
            fun, x0, jac=True, method="L-BFGS-B", callback=callback, options=opts
        )
        v, _, gn = jax.device_get(value_grad_gn(res.x, a))
        return float(v), float(gn), float(gn) <= cfg.effective_gtol

    return run


def bench_row(n: int, d: int, n_seeds: int, repeats: int, scipy_seeds: int, vmap: bool):
    configs = [Config(n_pairs=n, dim=d, tau=TAU, seed=s) for s in range(n_seeds)]
    methods = {
        "one_by_one": lambda: [simulate(c) for c in configs],
        "batched": lambda: simulate_batch(configs),
    }
    if vmap:
        methods["vmap"] = lambda: simulate_batch(configs, "vmap")
    sp = scipy_maker(configs[0])
    sp_configs = configs[:scipy_seeds]
    methods["scipy"] = lambda: [sp(c) for c in sp_configs]
    simulate(configs[0])  # warm-ups: compile every program once
    for name, fn in methods.items():
        if name != "one_by_one":
            fn()
    times: dict[str, list[float]] = {k: [] for k in methods}
    cpu: dict[str, list[float]] = {k: [] for k in methods}
    outs = {}
    for _ in range(repeats):  # interleaved rounds
        for name, fn in methods.items():
            t, c, outs[name] = _timed(fn)
            times[name].append(t)
            cpu[name].append(c)
    ratios = [a / b for a, b in zip(times["one_by_one"], times["batched"], strict=True)]
    cpu_ratios = [a / b for a, b in zip(cpu["one_by_one"], cpu["batched"], strict=True)]
    n_cert = {k: sum(r.converged for r in outs[k]) for k in methods if k != "scipy"}
    n_cert["scipy"] = sum(ok for _, _, ok in outs["scipy"])
    per_opt = {k: statistics.median(times[k]) / max(n_cert[k], 1e-300) for k in methods}
    row = {
        "n": n,
        "d": d,
        "seeds": n_seeds,
        "scipy_seeds": len(sp_configs),
        "seconds": {k: statistics.median(v) for k, v in times.items()},
        "seconds_all": times,
        "cpu_seconds": {k: statistics.median(v) for k, v in cpu.items()},
        "certified": n_cert,
        "per_certified_optimum_s": per_opt,
        "speedup": statistics.median(ratios),
        "speedup_spread": [min(ratios), max(ratios)],
        "speedup_cpu": statistics.median(cpu_ratios),
        "speedup_cpu_spread": [min(cpu_ratios), max(cpu_ratios)],
        "batched_vs_scipy": per_opt["scipy"] / per_opt["batched"],
        "best_loss": {
            "one_by_one": _loss(outs["one_by_one"]),
            "batched": _loss(outs["batched"]),
            "scipy": min((v for v, _, ok in outs["scipy"] if ok), default=float("nan")),
        },
        "max_iterations": max(r.certificate.steps for r in outs["one_by_one"]),
    }
    if vmap:
        row["vmap_speedup"] = statistics.median(
            [a / b for a, b in zip(times["one_by_one"], times["vmap"], strict=True)]
        )
        row["vmap_speedup_cpu"] = statistics.median(
            [a / b for a, b in zip(cpu["one_by_one"], cpu["vmap"], strict=True)]
        )
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--full", action="store_true", help="also S = 64 at N = 256, and N = 1024")
    p.add_argument("--repeats", type=int, default=3, help="interleaved timing rounds")
    p.add_argument("--scipy-seeds", type=int, default=4, help="seeds run with scipy")
    p.add_argument("--quick", action="store_true", help="N = 16, d = 4 only (smoke test)")
    a = p.parse_args()
    plan = [(64, 8, 8), (64, 8, 64), (64, 64, 8), (64, 64, 64), (256, 8, 8), (256, 64, 8)]
    if a.full:
        plan += [(256, 8, 64), (256, 64, 64), (1024, 8, 8), (1024, 64, 8)]
        plan += [(1024, 8, 64), (1024, 64, 64)]
    if a.quick:
        plan = [(16, 4, 4)]
    load0 = os.getloadavg()
    rows = []
    for n, d, s in plan:
        vmap = n <= 64 and (s <= 8 or a.full)
        row = bench_row(n, d, s, 1 if a.quick else a.repeats, a.scipy_seeds, vmap=vmap)
        rows.append(row)
        if not a.json:
            sec, po = row["seconds"], row["per_certified_optimum_s"]
            vm = (
                f"  vmap {row['vmap_speedup']:.2f}x (cpu {row['vmap_speedup_cpu']:.2f}x)"
                if "vmap_speedup" in row
                else ""
            )
            print(
                f"N={n:5d} d={d:3d} S={s:3d}  one-by-one {sec['one_by_one']:8.2f} s  "
                f"batched {sec['batched']:8.2f} s  speedup {row['speedup']:.2f}x "
                f"[{row['speedup_spread'][0]:.2f}, {row['speedup_spread'][1]:.2f}] "
                f"cpu {row['speedup_cpu']:.2f}x{vm}  "
                f"per optimum: batched {po['batched']:.3f} s, scipy {po['scipy']:.3f} s "
                f"({row['batched_vs_scipy']:.1f}x)  certified {row['certified']}",
                flush=True,
            )
    out = {
        "device": str(jax.devices()[0].device_kind),
        "cpu_count": os.cpu_count(),
        "loadavg_start": load0,
        "loadavg_end": os.getloadavg(),
        "rows": rows,
    }
    if a.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
