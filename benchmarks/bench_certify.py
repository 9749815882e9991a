"""Time to a certified optimum: one-by-one, batched (app.batch) and scipy L-BFGS-B (issue 15).

Usage: python benchmarks/bench_certify.py [--json] [--full] [--repeats R] [--scipy-seeds K]
[--cert-seeds K] [--cert-max-vars V]

A certified optimum costs two things: the **solve** (float64 L-BFGS to the first-order
tolerance, gtol = 1e-9 on the Riemannian gradient norm) and the **second-order certificate**
(:func:`gapsim.core.certificate.kkt_certificate`: the reduced Hessian's smallest eigenvalue, dense
LAPACK on the host up to ``dense_max`` dimensions, Lanczos above). Batching (what
:mod:`gapsim.app.batch` does) can only speed up the first; so the two are timed apart. For each
(N, d) and seed count S, the same S configs (no constraint, tau = 0.1, ``Config`` defaults
otherwise):

- ``one_by_one``: a Python loop of :func:`gapsim.simulate` with ``second_order=False``
  (prepare, solve, first-order certificate and measures of each);
- ``batched``: :func:`gapsim.app.batch.simulate_batch` of the same configs, in its ``auto`` mode
  (``lax.map`` for L-BFGS on a CPU: all seeds in one compiled program) and, where measured,
  ``vmap`` (the vmapped ``while_loop``; see :mod:`gapsim.app.batch` for why it is slow on a CPU);
- ``scipy``: ``scipy.optimize.minimize(method="L-BFGS-B")`` on the same parametrisation
  ``z_i = w_i / ||w_i||`` from the same starts, with a jitted float64 value-and-gradient of the
  same objective (memory 20, as gapsim's), stopped by a callback as soon as the same
  stationarity measure (:func:`gapsim.core.solvers.stationarity`) is at most gtol, on the first
  ``--scipy-seeds`` seeds (default 4; its time is reported per first-order optimum);
- ``second_order_s``: the second-order certificate alone, per seed: the median over
  ``--cert-seeds`` seeds (default 2) of ``simulate(cfg)`` minus ``simulate(cfg,
  second_order=False)``, measured in the same interleaved rounds; ``null`` where the problem
  has more than ``--cert-max-vars`` variables 2 N d (default 4096: N = 256 at d = 8; at d = 64
  the certificate runs Lanczos on 8192+ variables, minutes per seed on 2 cores);
- ``best_lazy_s``: :func:`gapsim.best_of_seeds` with ``second_order="best"`` over the S seeds
  (batched first-order solves, then the second-order certificate by increasing loss to the
  first minimum: the same best certified minimum), and ``speedup_best_lazy`` =
  ``(one_by_one + S * second_order_s) / best_lazy_s``, the speed-up on the time to the best
  certified optimum, which is what a check waits for, estimated from ``second_order_s`` (seeds
  0 and 1; the lazy run certifies the lowest-loss seed, whose certificate may cost more or
  less); where S * 2Nd <= 65,536 also timed directly against ``best_of_seeds`` certifying
  every seed (``best_all_s``, ``best_all_vs_lazy``: median of per-round ratios; ``best_same_seed``).

Every method is warmed up once (compiles) and then timed ``--repeats`` times interleaved
(A B C A B C ...): ``speedup`` is the median of the per-round ratios one_by_one / batched (the
solve) and ``speedup_spread`` their min and max, so a load that shifts during the run shows up
as spread instead of a biased ratio; ``speedup_cpu`` the same from the CPU seconds of this
process. ``speedup_certified`` is the speed-up on time to *second-order* certified optima:
``(one_by_one + S * second_order_s) / (batched + S * second_order_s)``, and
``second_order_share`` the certificate's share of the one-by-one time. Rows: N = 64 (S = 8,
64) and N = 256 (S = 8) at d = 8, 64; ``--full`` adds S = 64 at N = 256 and the N = 1024 rows.
Progress goes to stderr, one line per row; ``--json`` prints one JSON document on stdout.
"""

import argparse
import json
import os
import statistics
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)  # the scipy baseline runs in float64 too

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402

from gapsim import Config, simulate  # noqa: E402
from gapsim.app.batch import best_of_seeds, simulate_batch  # noqa: E402
from gapsim.app.parts import prepare  # noqa: E402
from gapsim.core.solvers import objective_at, params0, stationarity  # noqa: E402

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
            p = {**params0(static, args), "z": w / jnp.linalg.norm(w, axis=-1, keepdims=True)}
            return objective_at(static, args, p, 0, False)

        v, g = jax.value_and_grad(f)(w)
        z = w / jnp.linalg.norm(w, axis=-1, keepdims=True)
        gn = stationarity(static, args, {**params0(static, args), "z": z}, 0)
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


def bench_row(
    n: int, d: int, n_seeds: int, repeats: int, scipy_seeds: int, vmap: bool, cert_seeds: int
) -> dict:
    """One table row: solve times (one-by-one, batched, scipy) and the second-order cost."""
    base = Config(n_pairs=n, dim=d, tau=TAU, second_order=False)
    configs = [base.replace(seed=s) for s in range(n_seeds)]
    methods = {
        "one_by_one": lambda: [simulate(c) for c in configs],
        "batched": lambda: simulate_batch(configs),
    }
    if vmap:
        methods["vmap"] = lambda: simulate_batch(configs, "vmap")
    sp = scipy_maker(configs[0])
    sp_configs = configs[:scipy_seeds]
    methods["scipy"] = lambda: [sp(c) for c in sp_configs]
    second = [c.replace(second_order=True) for c in configs[:cert_seeds]]
    for c in second:  # the certificate's cost: simulate with it minus simulate without it
        methods[f"second_{c.seed}"] = lambda c=c: [simulate(c)]
        methods[f"first_{c.seed}"] = lambda c=c: [simulate(c.replace(second_order=False))]
    if second:  # the best certified minimum, second order only where needed
        lazy_cfg = base.replace(second_order=True)
        methods["best_lazy"] = lambda: [
            best_of_seeds(lazy_cfg, range(n_seeds), second_order="best")[0]
        ]
        if n_seeds * 2 * n * d <= 65536:  # and with every seed certified, timed directly
            methods["best_all"] = lambda: [best_of_seeds(lazy_cfg, range(n_seeds))[0]]
    for fn in methods.values():  # warm-ups: compile every program once
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
    main = [k for k in methods if k in ("one_by_one", "batched", "vmap")]
    n_cert = {k: sum(r.converged for r in outs[k]) for k in main}
    n_cert["scipy"] = sum(ok for _, _, ok in outs["scipy"])
    per_opt = {k: statistics.median(times[k]) / max(n_cert[k], 1e-300) for k in main + ["scipy"]}
    sec = {k: statistics.median(times[k]) for k in main + ["scipy"]}
    row = {
        "n": n,
        "d": d,
        "seeds": n_seeds,
        "scipy_seeds": len(sp_configs),
        "seconds": sec,
        "seconds_all": {k: times[k] for k in main + ["scipy"]},
        "cpu_seconds": {k: statistics.median(cpu[k]) for k in main + ["scipy"]},
        "first_order_certified": n_cert,
        "per_first_order_optimum_s": per_opt,
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
        "second_order_s": None,
    }
    if second:
        diffs = [
            statistics.median(
                [
                    a - b
                    for a, b in zip(
                        times[f"second_{c.seed}"], times[f"first_{c.seed}"], strict=True
                    )
                ]
            )
            for c in second
        ]
        so = statistics.median(diffs)
        kinds = [outs[f"second_{c.seed}"][0].certificate.kind for c in second]
        total_1 = sec["one_by_one"] + n_seeds * so
        row.update(
            second_order_s=so,
            second_order_spread=[min(diffs), max(diffs)],
            second_order_kinds=kinds,
            second_order_share=n_seeds * so / total_1,
            speedup_certified=total_1 / (sec["batched"] + n_seeds * so),
            best_lazy_s=statistics.median(times["best_lazy"]),
            best_lazy_checked=outs["best_lazy"][0].measures["seeds_second_order_checked"],
            speedup_best_lazy=total_1 / statistics.median(times["best_lazy"]),
        )
        if "best_all" in times:
            r_all, r_lazy = outs["best_all"][0], outs["best_lazy"][0]
            row.update(
                best_all_s=statistics.median(times["best_all"]),
                best_all_vs_lazy=statistics.median(
                    [a / b for a, b in zip(times["best_all"], times["best_lazy"], strict=True)]
                ),
                best_same_seed=r_all.config.seed == r_lazy.config.seed,
            )
    if vmap:
        row["vmap_speedup"] = statistics.median(
            [a / b for a, b in zip(times["one_by_one"], times["vmap"], strict=True)]
        )
        row["vmap_speedup_cpu"] = statistics.median(
            [a / b for a, b in zip(cpu["one_by_one"], cpu["vmap"], strict=True)]
        )
    return row


def _line(row: dict) -> str:
    sec, po = row["seconds"], row["per_first_order_optimum_s"]
    vm = f"  vmap {row['vmap_speedup']:.2f}x" if "vmap_speedup" in row else ""
    so = (
        f"  2nd order {row['second_order_s']:.2f} s/seed ({100 * row['second_order_share']:.0f}%"
        f" of one-by-one), certified speedup {row['speedup_certified']:.2f}x; best of seeds "
        f"with second_order='best' {row['best_lazy_s']:.2f} s ({row['best_lazy_checked']} "
        f"certificate(s), {row['speedup_best_lazy']:.1f}x estimated"
        + (
            f"; against best_of_seeds certifying all, timed: {row['best_all_s']:.2f} s, "
            f"{row['best_all_vs_lazy']:.1f}x, same seed {row['best_same_seed']})"
            if "best_all_s" in row
            else ")"
        )
        if row["second_order_s"] is not None
        else "  2nd order not measured"
    )
    return (
        f"N={row['n']:5d} d={row['d']:3d} S={row['seeds']:3d}  solve: one-by-one "
        f"{sec['one_by_one']:8.2f} s  batched {sec['batched']:8.2f} s  speedup "
        f"{row['speedup']:.2f}x [{row['speedup_spread'][0]:.2f}, {row['speedup_spread'][1]:.2f}]"
        f" cpu {row['speedup_cpu']:.2f}x{vm}  per optimum: batched {po['batched']:.3f} s, "
        f"scipy {po['scipy']:.3f} s ({row['batched_vs_scipy']:.1f}x){so}  "
        f"first-order certified {row['first_order_certified']}"
    )


def _rows(text: str) -> list[tuple[int, int, int]]:
    """``NxDxS,...`` -> [(N, D, S), ...]: positive integers, N >= 2, D >= 2."""
    try:
        rows = [tuple(int(v) for v in r.split("x")) for r in text.split(",")]
    except ValueError:
        rows = []
    if not rows or any(len(r) != 3 or r[0] < 2 or r[1] < 2 or r[2] < 1 for r in rows):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NxDxS[,NxDxS...], e.g. 64x8x8")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--full", action="store_true", help="also S = 64 at N = 256, and N = 1024")
    p.add_argument("--repeats", type=int, default=3, help="interleaved timing rounds")
    p.add_argument("--scipy-seeds", type=int, default=4, help="seeds run with scipy")
    p.add_argument("--cert-seeds", type=int, default=2, help="seeds timed with the 2nd order")
    p.add_argument("--cert-max-vars", type=int, default=4096, help="largest 2Nd timed with it")
    p.add_argument("--quick", action="store_true", help="N = 16, d = 4 only (smoke test)")
    p.add_argument(
        "--rows", type=_rows, help="instead of the plan: rows NxDxS, e.g. 1024x8x8,1024x64x8"
    )
    a = p.parse_args()
    plan = [(64, 8, 8), (64, 8, 64), (64, 64, 8), (64, 64, 64), (256, 8, 8), (256, 64, 8)]
    if a.full:
        plan += [(256, 8, 64), (256, 64, 64), (1024, 8, 8), (1024, 64, 8)]
        plan += [(1024, 8, 64), (1024, 64, 64)]
    if a.quick:
        plan = [(16, 4, 4)]
    if a.rows:
        plan = a.rows
    load0 = os.getloadavg()
    rows = []
    for n, d, s in plan:
        vmap = n <= 64 and (s <= 8 or a.full)
        cert = min(a.cert_seeds, s) if 2 * n * d <= a.cert_max_vars else 0
        row = bench_row(n, d, s, 1 if a.quick else a.repeats, a.scipy_seeds, vmap, cert)
        row["loadavg"] = os.getloadavg()
        rows.append(row)
        print(_line(row), file=sys.stderr if a.json else sys.stdout, flush=True)
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
