"""Cost of the second-order (KKT) certificate: dense (old) against matrix-free (new) (issue 23).

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_certificate.py [--json] [--sizes 64,256,1024,4096]
        [--dim 8] [--seeds 8] [--repeats 3] [--old-max-vars 4096] [--batch-max-n 1024]

For each N (d = ``--dim``, tau = 0.2, float64): ``--seeds`` L-BFGS end points (batched solve,
``second_order=False``; S = 1 above ``--batch-max-n``). Where a run stops above 1e-9, the
certificate's gtol is twice the largest gradient norm reached (``certificate_gtol``), so that
the second order is what is timed. Then, on seed 0:

- ``old``: :func:`gapsim.core.certificate.kkt_certificate` with ``method="dense"`` (host QR and
  ``eigvalsh`` up to ``DENSE_MAX`` reduced dimensions, ARPACK above), only where
  2Nd <= ``--old-max-vars`` (a dense certificate at N = 1024, d = 8 was killed after 1,800 s);
- ``new``: ``method="matrix-free"`` (:mod:`gapsim.core.certificate_mf`);

each timed cold (first call: compiles) and ``--repeats`` times warm, **interleaved** (old new
old new ...), so that a load from other work moves both sides of a ratio. ``speedup`` is the
median of the per-round ratios old/new (warm), ``speedup_spread`` their min and max;
``speedup_cold`` the ratio of the first calls. Then ``batched``: the S seeds in one vmapped
program (:func:`gapsim.core.certificate.kkt_certificates`), cold and warm, and ``batched_over_one``
= its warm median over the one-seed warm median (the target is <= 3 at N = 1024).
``agreement``: the two verdicts, both ``lambda_min``, their absolute and relative difference,
the new path's stated error ``eig_error`` and the rounding floor ``sqrt(2Nd) eps ||H||``.
``targets``: the issue's targets for the row and whether they are met.

Times are wall seconds, medians with [min, max] spreads; ``load_average_1min`` is recorded
before and after each row: on a shared machine, say under what load the numbers were taken.
Progress goes to stderr; ``--json`` prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from gapsim import Config  # noqa: E402
from gapsim.app.batch import solve_batch  # noqa: E402
from gapsim.core.certificate import kkt_certificate, kkt_certificates  # noqa: E402
from gapsim.core.solvers import params0  # noqa: E402

EPS = float(np.finfo(np.float64).eps)
TARGETS = {256: ("speedup", ">=", 10.0), 1024: ("new_s", "<=", 60.0), 4096: ("new_s", "<=", 900.0)}


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _stats(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "spread": [min(xs), max(xs)], "all": xs}


def _summary(so) -> dict:
    return {
        "kind": so.kind,
        "lambda_min": so.lambda_min,
        "hess_tol": so.hess_tol,
        "eig_error": so.eig_error,
        "method": so.method,
        "reduced_dim": so.dim,
        "n_symmetries": so.n_symmetries,
        "matvecs": so.matvecs,
        "hess_norm": so.hess_norm,
    }


def end_points(n: int, d: int, tau: float, steps: int, seeds: int):
    """``seeds`` L-BFGS end points of one config: (static, [args], [params], [t], gtol, s)."""
    cfg = Config(n_pairs=n, dim=d, tau=tau, steps=steps, second_order=False)
    t0 = time.perf_counter()
    solved = solve_batch([cfg.replace(seed=s) for s in range(seeds)])
    solve_s = time.perf_counter() - t0
    static = solved[0][0]
    args = [a for _, a, _ in solved]
    params = [{**params0(st, a), "z": out.params["z"]} for st, a, out in solved]
    ts = [max(int(out.steps) - 1, 0) for _, _, out in solved]
    gn = [float(out.grad_norm) for _, _, out in solved]
    gtol = max(cfg.effective_gtol, 2 * max(gn))
    return static, args, params, ts, gtol, {"solve_s": solve_s, "grad_norms": gn}


def bench(n: int, d: int, tau: float, steps: int, seeds: int, repeats: int, old_max: int) -> dict:
    """One row (module docstring)."""
    load0 = os.getloadavg()[0]
    static, args, params, ts, gtol, info = end_points(n, d, tau, steps, seeds)
    kw = {"active_tol": 0.0}
    run_old = 2 * n * d <= old_max

    def one(method):
        return kkt_certificate(static, args[0], params[0], ts[0], gtol, method=method, **kw)

    def batch():
        return kkt_certificates(static, args, params, ts, gtol, method="matrix-free", **kw)

    cold = {}
    if run_old:
        cold["old"], old = _timed(lambda: one("dense"))
    cold["new"], new = _timed(lambda: one("matrix-free"))
    warm: dict[str, list[float]] = {k: [] for k in cold}
    for _ in range(repeats):  # interleaved rounds
        for k in cold:
            t, _ = _timed(lambda k=k: one("dense" if k == "old" else "matrix-free"))
            warm[k].append(t)
    row = {
        "n": n,
        "d": d,
        "tau": tau,
        "seeds": seeds,
        "variables": 2 * n * d,
        "certificate_gtol": gtol,
        **info,
        "new": {"cold_s": cold["new"], "warm_s": _stats(warm["new"]), **_summary(new)},
        "old": None,
        "speedup": None,
    }
    if run_old:
        ratios = [a / b for a, b in zip(warm["old"], warm["new"], strict=True)]
        floor = math.sqrt(2 * n * d) * EPS * max(old.hess_norm, new.hess_norm)
        diff = abs(new.lambda_min - old.lambda_min)
        row.update(
            old={"cold_s": cold["old"], "warm_s": _stats(warm["old"]), **_summary(old)},
            speedup=statistics.median(ratios),
            speedup_spread=[min(ratios), max(ratios)],
            speedup_cold=cold["old"] / cold["new"],
            agreement={
                "same_kind": old.kind == new.kind,
                "lambda_min_old": old.lambda_min,
                "lambda_min_new": new.lambda_min,
                "abs_diff": diff,
                "rel_diff": diff / abs(old.lambda_min) if old.lambda_min else math.inf,
                "eig_error": new.eig_error,
                "rounding_floor": floor,
                "within": diff <= max(1e-8 * abs(old.lambda_min), new.eig_error + floor),
            },
        )
    if seeds > 1:
        cold_b, certs = _timed(batch)
        warm_b = [_timed(batch)[0] for _ in range(repeats)]
        row["batched"] = {
            "cold_s": cold_b,
            "warm_s": _stats(warm_b),
            "kinds": [c.kind for c in certs],
            "lambda_min": [c.lambda_min for c in certs],
            "matvecs": [c.matvecs for c in certs],
            "seed0_diff_from_one": abs(certs[0].lambda_min - new.lambda_min),
        }
        row["batched_over_one"] = statistics.median(warm_b) / statistics.median(warm["new"])
    row["load_average_1min"] = [load0, os.getloadavg()[0]]
    row["targets"] = _targets(row)
    return row


def _targets(row: dict) -> dict:
    out = {}
    if row["n"] in TARGETS and row["d"] == 8:
        key, op, bound = TARGETS[row["n"]]
        value = row["speedup"] if key == "speedup" else row["new"]["warm_s"]["median"]
        if value is not None:
            ok = value >= bound if op == ">=" else value <= bound
            out[f"{key} {op} {bound:g}"] = {"value": value, "met": ok}
    if row.get("batched_over_one") is not None and row["n"] == 1024:
        ratio = row["batched_over_one"]
        out["batched_over_one <= 3"] = {"value": ratio, "met": ratio <= 3}
    return out


def _line(row: dict) -> str:
    new = row["new"]
    text = (
        f"N={row['n']:5d} d={row['d']} S={row['seeds']:2d}  new {new['warm_s']['median']:8.2f} s "
        f"[{new['warm_s']['spread'][0]:.2f}, {new['warm_s']['spread'][1]:.2f}] (cold "
        f"{new['cold_s']:.1f} s, {new['matvecs']} HVPs) {new['kind']} "
        f"lambda_min={new['lambda_min']:.6e} +- {new['eig_error']:.1e}"
    )
    if row["old"] is not None:
        old, ag = row["old"], row["agreement"]
        text += (
            f"  old {old['warm_s']['median']:8.2f} s ({old['method']}) speedup "
            f"{row['speedup']:.1f}x [{row['speedup_spread'][0]:.1f}, "
            f"{row['speedup_spread'][1]:.1f}]"
            f"  agreement: {old['kind']}/{new['kind']}, rel {ag['rel_diff']:.1e}, "
            f"within {ag['within']}"
        )
    if "batched" in row:
        text += (
            f"  batched {row['batched']['warm_s']['median']:.2f} s "
            f"({row['batched_over_one']:.2f}x one seed)"
        )
    return text + f"  load {row['load_average_1min']}"


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--sizes", default="64,256,1024,4096", help="comma-separated N")
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--tau", type=float, default=0.2)
    ap.add_argument("--steps", type=int, default=2000, help="L-BFGS iteration limit")
    ap.add_argument("--seeds", type=int, default=8, help="seeds certified as one batch")
    ap.add_argument("--batch-max-n", type=int, default=1024, help="one seed above this N")
    ap.add_argument("--repeats", type=int, default=3, help="warm, interleaved timing rounds")
    ap.add_argument("--old-max-vars", type=int, default=4096, help="largest 2Nd run the old way")
    ap.add_argument("--tiny", action="store_true", help="N = 16, 32 at d = 4 (smoke test)")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    dim = a.dim
    if a.tiny:
        sizes, dim = [16, 32], 4
    rows = []
    for n in sizes:
        s = a.seeds if n <= a.batch_max_n else 1
        row = bench(n, dim, a.tau, a.steps, s, 1 if a.tiny else a.repeats, a.old_max_vars)
        rows.append(row)
        print(_line(row), file=sys.stderr if a.json else sys.stdout, flush=True)
    if a.json:
        out = {
            "device": str(jax.devices()[0].device_kind),
            "backend": jax.default_backend(),
            "cpu_count": os.cpu_count(),
            "rows": rows,
        }
        print(json.dumps(out, default=float))


if __name__ == "__main__":
    main()
