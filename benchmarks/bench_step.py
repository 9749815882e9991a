"""Steps per second of gapsim against naive baselines and this machine's roofline (issue 6).

Usage: python benchmarks/bench_step.py [--json] [--quick] [--sizes 256x16,1024x64,4096x64]

All in one run, float32, for each (N, d):

- ``gapsim``: :func:`gapsim.solvers.run_dynamics` with ``adam`` (fused InfoNCE kernel,
  Riemannian gradient, optax Adam, projection back to the sphere), no early stop;
- ``torch``: naive PyTorch eager: leaf tensors, autograd of the textbook loss
  (``cross_entropy`` of the logits and of their transpose), ``torch.optim.Adam``, rows
  renormalised after every step (``null`` if torch is not installed: ``pip install .[bench]``);
- ``jax_autodiff``: plain JAX: ``jax.grad`` of the textbook loss (``logsumexp`` over rows and
  columns), optax Adam, renormalisation, in one jitted ``fori_loop``;
- ``roofline``: the essential work of one step measured on this machine in the same run: three
  N x N x d products in their fastest layout (``X Y^T``, ``E Y``, ``E X``) and N^2 exponentials
  (``E = exp(S)``), in one jitted loop. ``roofline_fraction`` = roofline time / gapsim step time.

Rates are marginal: each method runs ``s1`` and ``s2 > s1`` steps (best of ``--repeats``), and
steps/s = (s2 - s1) / (t2 - t1), so one-time costs (dispatch, gapsim's trajectory records at the
first and last step) cancel. ``sweep_speedup``: a 256-config sweep (N = 64, d = 8, 2,000 ``gd``
steps, 64 seeds x 4 temperatures, trajectory every 10 steps, no early stop) with
:func:`gapsim.sweep.sweep` against a Python loop of :func:`gapsim.simulate` over the same
configs, both including start-up (``prepare``) and certification (``finish``) of every config,
after one warm-up each. The script shards over all CPU cores (``jax_num_cpu_devices``).
"""

import argparse
import json
import os
import time

import jax

jax.config.update("jax_num_cpu_devices", os.cpu_count() or 1)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from gapsim import Config, simulate  # noqa: E402
from gapsim.simulate import prepare  # noqa: E402
from gapsim.solvers import run_dynamics  # noqa: E402
from gapsim.sweep import grid, sweep  # noqa: E402

TAU, LR = 0.1, 1e-3


def _best(fn, repeats: int) -> float:
    fn()  # warm-up (compiles)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _rate(make, s1: int, s2: int, repeats: int) -> float:
    """Marginal steps per second from runs of s1 and s2 steps."""
    t1, t2 = _best(make(s1), repeats), _best(make(s2), repeats)
    return (s2 - s1) / max(t2 - t1, 1e-9)


def _start(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((2, n, d)).astype(np.float32)
    unit = lambda z: z / np.linalg.norm(z, axis=1, keepdims=True)  # noqa: E731
    return unit(x), unit(y)


def gapsim_maker(n: int, d: int):
    def make(steps: int):
        cfg = Config(n_pairs=n, dim=d, tau=TAU, solver="adam", lr=LR, steps=steps)
        cfg = cfg.replace(stride=steps, early_stop=False, dtype="float32")
        static, args = prepare(cfg)
        return lambda: jax.block_until_ready(run_dynamics(args, static))

    return make


def _plain_loss(x, y, beta):
    m = beta * (x @ y.T)
    lse = jax.nn.logsumexp(m, axis=1) + jax.nn.logsumexp(m, axis=0)
    return 0.5 * jnp.mean(lse) - jnp.mean(jnp.diagonal(m))


def jax_autodiff_maker(n: int, d: int):
    x0, y0 = (jnp.asarray(a) for a in _start(n, d))
    opt = optax.adam(LR)
    beta = jnp.float32(1 / TAU)

    def make(steps: int):
        @jax.jit
        def run(x, y):
            def body(_, c):
                x, y, s = c
                g = jax.grad(_plain_loss, argnums=(0, 1))(x, y, beta)
                u, s = opt.update(g, s, (x, y))
                x, y = x + u[0], y + u[1]
                x = x / jnp.linalg.norm(x, axis=1, keepdims=True)
                y = y / jnp.linalg.norm(y, axis=1, keepdims=True)
                return x, y, s

            return jax.lax.fori_loop(0, steps, body, (x, y, opt.init((x, y))))[:2]

        return lambda: jax.block_until_ready(run(x0, y0))

    return make


def torch_maker(n: int, d: int):
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    x0, y0 = (torch.from_numpy(a) for a in _start(n, d))
    labels = torch.arange(n)

    def make(steps: int):
        def run():
            x, y = x0.clone().requires_grad_(True), y0.clone().requires_grad_(True)
            opt = torch.optim.Adam([x, y], lr=LR)
            for _ in range(steps):
                opt.zero_grad()
                logits = (x @ y.T) / TAU
                loss = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
                loss.backward()
                opt.step()
                with torch.no_grad():
                    x /= x.norm(dim=1, keepdim=True)
                    y /= y.norm(dim=1, keepdim=True)
            return loss.item()

        return run

    return make


def roofline_maker(n: int, d: int):
    x0, y0 = (jnp.asarray(a) for a in _start(n, d))

    def make(steps: int):
        @jax.jit
        def run(x, y):
            def body(_, c):
                x, y = c
                e = jnp.exp(x @ y.T)  # N^2 exponentials of one N x N x d product
                return x + 1e-30 * (e @ y), y + 1e-30 * (e @ x)  # two more, plain layout

            return jax.lax.fori_loop(0, steps, body, (x, y))

        return lambda: jax.block_until_ready(run(x0, y0))

    return make


def bench_row(n: int, d: int, s1: int, s2: int, torch_steps: tuple[int, int], repeats: int):
    row = {"n": n, "d": d, "steps": [s1, s2]}
    row["gapsim"] = _rate(gapsim_maker(n, d), s1, s2, repeats)
    row["jax_autodiff"] = _rate(jax_autodiff_maker(n, d), s1, s2, repeats)
    tm = torch_maker(n, d)
    row["torch"] = _rate(tm, *torch_steps, repeats) if tm else None
    row["roofline"] = _rate(roofline_maker(n, d), s1, s2, repeats)
    row["roofline_fraction"] = row["gapsim"] / row["roofline"]
    row["speedup_vs_torch"] = row["gapsim"] / row["torch"] if row["torch"] else None
    row["speedup_vs_jax_autodiff"] = row["gapsim"] / row["jax_autodiff"]
    return row


def bench_sweep(n_seeds: int, steps: int) -> dict:
    base = Config(n_pairs=64, dim=8, solver="gd", steps=steps, early_stop=False)
    configs = grid(base, {"tau": [0.05, 0.1, 0.2, 0.4], "seed": range(n_seeds)})
    sweep(configs[: jax.device_count()])  # warm-up: compiles a chunk of another size, then
    sweep(configs)  # the real chunk size once
    t0 = time.perf_counter()
    swept = sweep(configs)
    t_sweep = time.perf_counter() - t0
    simulate(configs[0])  # warm-up
    t0 = time.perf_counter()
    looped = [simulate(c) for c in configs]
    t_loop = time.perf_counter() - t0
    pairs = zip(swept, looped, strict=True)
    worst = max(abs(a.measures["loss"] - b.measures["loss"]) for a, b in pairs)
    return {
        "configs": len(configs),
        "n": 64,
        "d": 8,
        "steps": steps,
        "devices": jax.device_count(),
        "sweep_s": t_sweep,
        "loop_s": t_loop,
        "speedup": t_loop / t_sweep,
        "max_final_loss_difference": worst,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quick", action="store_true", help="fewer steps and configs (smoke test)")
    p.add_argument("--sizes", default="256x16,1024x64,4096x64")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    steps = {256: (200, 1200), 1024: (20, 120), 4096: (3, 13)}
    torch_steps = {256: (20, 220), 1024: (5, 25), 4096: (1, 4)}
    rows = []
    for size in a.sizes.split(","):
        n, d = (int(v) for v in size.split("x"))
        s = steps.get(n, (5, 25))
        ts = torch_steps.get(n, (2, 8))
        if a.quick:
            s, ts = (1, 3), (1, 2)
        rows.append(bench_row(n, d, *s, ts, 1 if a.quick else a.repeats))
        if not a.json:
            r = rows[-1]
            torch_txt = f"{r['torch']:9.1f}" if r["torch"] else "      n/a"
            print(
                f"N={n:5d} d={d:3d}  gapsim {r['gapsim']:9.1f}  torch {torch_txt}  "
                f"jax_autodiff {r['jax_autodiff']:9.1f}  roofline {r['roofline']:9.1f} steps/s  "
                f"({100 * r['roofline_fraction']:.0f}% of roofline)",
                flush=True,
            )
    sw = bench_sweep(2 if a.quick else 64, 20 if a.quick else 2000)
    out = {
        "device": str(jax.devices()[0].device_kind),
        "cpu_count": os.cpu_count(),
        "rows": rows,
        "sweep_speedup": sw["speedup"],
        "sweep": sw,
    }
    if a.json:
        print(json.dumps(out))
    else:
        print(
            f"sweep: {sw['configs']} configs (N=64, d=8, {sw['steps']} steps) in "
            f"{sw['sweep_s']:.2f} s vs a loop of single runs {sw['loop_s']:.2f} s: "
            f"{sw['speedup']:.1f}x on {sw['devices']} device(s)"
        )


if __name__ == "__main__":
    main()
