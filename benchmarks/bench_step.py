"""Steps per second of gapsim against naive baselines and this machine's roofline (issue 6).

Usage: python benchmarks/bench_step.py [--json] [--quick] [--sizes 256x16,1024x64,4096x64]

All in one run, float32, for each (N, d):

- ``gapsim``: :func:`gapsim.core.solvers.run_dynamics` with ``adam`` (fused InfoNCE kernel,
  Riemannian gradient, optax Adam, projection back to the sphere), no early stop;
- ``torch``: naive PyTorch eager: leaf tensors, autograd of the textbook loss
  (``cross_entropy`` of the logits and of their transpose), ``torch.optim.Adam``, rows
  renormalised after every step (``null`` if torch is not installed: ``pip install .[bench]``);
- ``jax_autodiff``: plain JAX: ``jax.grad`` of the textbook loss (``logsumexp`` over rows and
  columns), optax Adam, renormalisation, in one jitted ``fori_loop``;
- ``roofline``: the essential work of one step measured on this machine in the same run: three
  N x N x d products in their fastest layout (``X Y^T``, ``E Y``, ``E X``) and N^2 exponentials
  (``E = exp(S)``), in one jitted loop. ``roofline_fraction`` = roofline time / gapsim step time.

Rates are marginal: each method runs ``s1`` and ``s2 > s1`` steps and
steps/s = (s2 - s1) / (t2 - t1), so one-time costs (dispatch, gapsim's trajectory records at the
first and last step) cancel. **Interleaved**: after one warm-up of everything, each of
``--rounds`` rounds measures every method once, in turn (A B C D A B C D ...), and every ratio
(``roofline_fraction``, ``speedup_vs_*``) is the median of the per-round ratios, with their
``*_spread`` (min, max): the two sides of a ratio run seconds apart, so a load from other work
moves both. A ``roofline_fraction`` above 1 means the micro-benchmark was not a bound in that
run; it is printed with a warning (and a ``warnings`` entry in the JSON), never as an
efficiency.

``sweep``: 256 configs (N = 64, d = 8, 2,000 ``gd`` steps, 64 seeds x 4 temperatures,
trajectory every 10 steps, no early stop) with :func:`gapsim.app.sweep.sweep` (start-up and
certification included), stated as throughput in configuration-steps per second against the
roofline of the same batch: the same 256 configs' essential work (the roofline kernel above,
vmapped over the batch and sharded over the same devices), interleaved with the sweep;
``sweep_roofline_fraction`` is their median ratio. ``loop_speedup``: the sweep against a Python
loop of :func:`gapsim.simulate` over the same configs (timed once). The script shards over all
CPU cores (``jax_num_cpu_devices``).
"""

import argparse
import json
import os
import statistics
import time

import jax

jax.config.update("jax_num_cpu_devices", os.cpu_count() or 1)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

from gapsim import Config, simulate  # noqa: E402
from gapsim.app.parts import prepare  # noqa: E402
from gapsim.app.sweep import AXIS, grid, sweep  # noqa: E402
from gapsim.core.solvers import run_dynamics  # noqa: E402

TAU, LR = 0.1, 1e-3


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _marginal(run1, run2, s1: int, s2: int) -> float:
    """Steps per second from one run of s1 and one of s2 steps (measured back to back).

    NaN when the longer run was not slower (noise larger than the difference): such a round
    is left out of the medians and counted in ``invalid_rounds``.
    """
    dt = _timed(run2) - _timed(run1)
    return (s2 - s1) / dt if dt > 0 else float("nan")


def _median_spread(values: list[float]) -> tuple[float, list[float]]:
    ok = [v for v in values if np.isfinite(v)]
    if not ok:
        return float("nan"), [float("nan"), float("nan")]
    return statistics.median(ok), [min(ok), max(ok)]


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


def bench_row(n: int, d: int, s1: int, s2: int, torch_steps: tuple[int, int], rounds: int):
    makers = {
        "gapsim": (gapsim_maker(n, d), (s1, s2)),
        "jax_autodiff": (jax_autodiff_maker(n, d), (s1, s2)),
        "torch": (torch_maker(n, d), torch_steps),
        "roofline": (roofline_maker(n, d), (s1, s2)),
    }
    runs = {k: (m(a), m(b), a, b) for k, (m, (a, b)) in makers.items() if m is not None}
    for run1, run2, _, _ in runs.values():  # warm-up: compile everything first
        run1(), run2()
    rates: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(rounds):  # interleaved: A B C D A B C D ...
        for k, (run1, run2, a, b) in runs.items():
            rates[k].append(_marginal(run1, run2, a, b))
    row: dict = {"n": n, "d": d, "steps": [s1, s2], "torch_steps": list(torch_steps)}
    for k in makers:
        row[k], row[f"{k}_spread"] = _median_spread(rates[k]) if k in rates else (None, None)

    def ratio(a: str, b: str):
        if a not in rates or b not in rates:
            return None, None
        return _median_spread([x / y for x, y in zip(rates[a], rates[b], strict=True)])

    row["roofline_fraction"], row["roofline_fraction_spread"] = ratio("gapsim", "roofline")
    row["speedup_vs_torch"], row["speedup_vs_torch_spread"] = ratio("gapsim", "torch")
    row["speedup_vs_jax_autodiff"], row["speedup_vs_jax_autodiff_spread"] = ratio(
        "gapsim", "jax_autodiff"
    )
    row["warnings"] = []
    row["invalid_rounds"] = {k: int(sum(not np.isfinite(v) for v in r)) for k, r in rates.items()}
    if any(row["invalid_rounds"].values()):
        row["warnings"].append(f"rounds left out (t(s2) <= t(s1)): {row['invalid_rounds']}")
    if row["roofline_fraction"] > 1:
        row["warnings"].append(
            f"roofline_fraction {row['roofline_fraction']:.2f} > 1: the roofline "
            "micro-benchmark was not a bound in this run (load, or a kernel path faster than "
            "the micro-benchmark's); not an efficiency"
        )
    elif row["roofline_fraction_spread"][1] > 1:
        row["warnings"].append(
            f"{sum(x > 1 for x in _fractions(rates))} round(s) above 1 (max "
            f"{row['roofline_fraction_spread'][1]:.2f}): in those rounds the roofline was not a "
            "bound (load moved between the two measurements); read the median"
        )
    return row


def _fractions(rates: dict) -> list[float]:
    return [x / y for x, y in zip(rates["gapsim"], rates["roofline"], strict=True)]


def roofline_batch_maker(configs: int, n: int, d: int):
    """The roofline kernel vmapped over ``configs`` configs, sharded over all devices."""
    mesh = Mesh(np.array(jax.devices()), (AXIS,))
    sharding = NamedSharding(mesh, P(AXIS))
    starts = [_start(n, d, seed) for seed in range(configs)]
    x0 = jax.device_put(np.stack([x for x, _ in starts]), sharding)
    y0 = jax.device_put(np.stack([y for _, y in starts]), sharding)

    def make(steps: int):
        def one(x, y):
            def body(_, c):
                x, y = c
                e = jnp.exp(x @ y.T)
                return x + 1e-30 * (e @ y), y + 1e-30 * (e @ x)

            return jax.lax.fori_loop(0, steps, body, (x, y))

        spec = P(AXIS)
        run = jax.jit(
            jax.shard_map(
                jax.vmap(one), mesh=mesh, in_specs=(spec, spec), out_specs=spec, check_vma=False
            )
        )
        return lambda: jax.block_until_ready(run(x0, y0))

    return make


def bench_sweep(n_seeds: int, steps: int, rounds: int) -> dict:
    base = Config(n_pairs=64, dim=8, solver="gd", steps=steps, early_stop=False)
    configs = grid(base, {"tau": [0.05, 0.1, 0.2, 0.4], "seed": range(n_seeds)})
    sweep(configs[: jax.device_count()])  # warm-up: compiles a chunk of another size, then
    sweep(configs)  # the real chunk size once
    make = roofline_batch_maker(len(configs), 64, 8)
    s1, s2 = max(steps // 10, 1), steps
    r1, r2 = make(s1), make(s2)
    r1(), r2()
    t_sweep, roof = [], []
    for _ in range(rounds):  # interleaved: sweep, roofline of the same batch, ...
        t0 = time.perf_counter()
        swept = sweep(configs)
        t_sweep.append(time.perf_counter() - t0)
        roof.append(len(configs) * _marginal(r1, r2, s1, s2))
    throughput = [len(configs) * steps / t for t in t_sweep]
    fractions = [a / b for a, b in zip(throughput, roof, strict=True)]
    fraction, fraction_spread = _median_spread(fractions)
    simulate(configs[0])  # warm-up
    t0 = time.perf_counter()
    looped = [simulate(c) for c in configs]
    t_loop = time.perf_counter() - t0
    pairs = zip(swept, looped, strict=True)
    worst = max(abs(a.measures["loss"] - b.measures["loss"]) for a, b in pairs)
    out = {
        "configs": len(configs),
        "n": 64,
        "d": 8,
        "steps": steps,
        "devices": jax.device_count(),
        "sweep_s": statistics.median(t_sweep),
        "config_steps_per_s": statistics.median(throughput),
        "roofline_config_steps_per_s": _median_spread(roof)[0],
        "sweep_roofline_fraction": fraction,
        "sweep_roofline_fraction_spread": fraction_spread,
        "loop_s": t_loop,
        "loop_speedup": t_loop / statistics.median(t_sweep),
        "max_final_loss_difference": worst,
        "warnings": [],
    }
    if out["sweep_roofline_fraction"] > 1:
        out["warnings"].append("sweep_roofline_fraction > 1: the batch roofline was not a bound")
    elif fraction_spread[1] > 1:
        out["warnings"].append(
            f"a round above 1 (max {fraction_spread[1]:.2f}): the batch roofline was not a bound "
            "in it; read the median"
        )
    return out


def _fmt_rate(row: dict, k: str) -> str:
    if row[k] is None:
        return f"{k} not installed" if k == "torch" else f"{k} n/a"
    lo, hi = row[f"{k}_spread"]
    return f"{k} {row[k]:8.1f} [{lo:.1f}, {hi:.1f}]"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quick", action="store_true", help="fewer steps and configs (smoke test)")
    p.add_argument("--sizes", default="256x16,1024x64,4096x64")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median, spread)")
    p.add_argument("--sweep-rounds", type=int, default=2, help="interleaved sweep rounds")
    p.add_argument("--sweep-seeds", type=int, default=64, help="sweep seeds (x 4 temperatures)")
    a = p.parse_args()
    steps = {256: (200, 1200), 1024: (20, 120), 4096: (3, 13)}
    torch_steps = {256: (20, 220), 1024: (5, 25), 4096: (1, 4)}
    rows = []
    load0 = os.getloadavg()
    for size in a.sizes.split(","):
        n, d = (int(v) for v in size.split("x"))
        s = steps.get(n, (5, 25))
        ts = torch_steps.get(n, (2, 8))
        if a.quick:
            s, ts = (1, 3), (1, 2)
        rows.append(bench_row(n, d, *s, ts, 2 if a.quick else a.rounds))
        if not a.json:
            r = rows[-1]
            lo, hi = r["roofline_fraction_spread"]
            print(
                f"N={n:5d} d={d:3d} steps/s, median [min, max] of {a.rounds} interleaved rounds: "
                + "  ".join(
                    _fmt_rate(r, k) for k in ("gapsim", "torch", "jax_autodiff", "roofline")
                )
                + f"\n    roofline fraction {r['roofline_fraction']:.2f} [{lo:.2f}, {hi:.2f}]"
                f"  vs jax_autodiff {r['speedup_vs_jax_autodiff']:.2f}x "
                f"[{r['speedup_vs_jax_autodiff_spread'][0]:.2f}, "
                f"{r['speedup_vs_jax_autodiff_spread'][1]:.2f}]"
                + (f"  vs torch {r['speedup_vs_torch']:.2f}x" if r["torch"] else ""),
                flush=True,
            )
            for w in r["warnings"]:
                print(f"    WARNING: {w}", flush=True)
    sw = bench_sweep(
        2 if a.quick else a.sweep_seeds, 20 if a.quick else 2000, 1 if a.quick else a.sweep_rounds
    )
    out = {
        "device": str(jax.devices()[0].device_kind),
        "cpu_count": os.cpu_count(),
        "loadavg_start": load0,
        "loadavg_end": os.getloadavg(),
        "rows": rows,
        "sweep": sw,
    }
    if a.json:
        print(json.dumps(out))
    else:
        lo, hi = sw["sweep_roofline_fraction_spread"]
        print(
            f"sweep: {sw['configs']} configs (N=64, d=8, {sw['steps']} steps) on "
            f"{sw['devices']} device(s): {sw['config_steps_per_s']:.0f} config-steps/s against "
            f"{sw['roofline_config_steps_per_s']:.0f} for the roofline of the same batch "
            f"({sw['sweep_roofline_fraction']:.2f} [{lo:.2f}, {hi:.2f}]); "
            f"{sw['loop_speedup']:.1f}x a loop of single runs ({sw['loop_s']:.1f} s)"
        )
        for w in sw["warnings"]:
            print(f"    WARNING: {w}")
        print(f"load average {load0} at the start, {out['loadavg_end']} at the end", flush=True)


if __name__ == "__main__":
    main()
