"""Command line: ``gapsim run``, ``sweep``, ``check``, ``figures``, ``demo`` and ``report``.

``run`` (one simulation) and ``sweep`` (a grid of them, batched) take a flag for every Config
field and write to the results store (:mod:`gapsim.store`); ``check`` runs the theorem checks
(:mod:`gapsim.checks`); ``figures`` rebuilds the paper figures (:mod:`gapsim.figures`);
``demo`` animates the gap on S^2 (:mod:`gapsim.demos`); ``report`` tabulates a results
folder (:mod:`gapsim.report`). Long commands draw a progress bar in a terminal
(:mod:`gapsim.progress`; ``--quiet`` turns it off).

Flags are generated from :class:`gapsim.config.Config` (``n_pairs`` -> ``--n-pairs``), so the
CLI and the API cannot drift apart. Angles are radians; ``30deg`` is accepted too. Errors are
one line on stderr (``gapsim: error: tau=-1.0: must be > 0``) with exit status 2 (bad input)
or 3 (the run diverged); no traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import types
import typing
from collections.abc import Sequence
from typing import Any

from gapsim.config import Config
from gapsim.errors import ConfigError, DivergenceError

__all__ = ["main", "build_parser"]

ANGLE_FIELDS = {"cone_angle", "cone_axis_angle", "phi", "thetas", "init_angle", "init_axis_angle"}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, without the usage block."""

    def error(self, message: str) -> typing.NoReturn:  # noqa: D102
        self.exit(2, f"gapsim: error: {message}\n")


def _angle(text: str) -> float:
    t = text.strip().lower()
    if t.endswith("deg"):
        return math.radians(float(t[:-3]))
    if t == "pi" or t.endswith("pi"):  # e.g. "pi", "0.25pi"
        return float(t[:-2] or 1) * math.pi
    return float(t)


_angle.__name__ = "angle"


def _listof(scalar: Any) -> Any:
    def conv(text: str) -> tuple:
        return tuple(scalar(v) for v in text.split(",") if v.strip())

    conv.__name__ = "comma-separated list"
    return conv


def _field_type(f: dataclasses.Field) -> tuple[Any, bool]:
    """(scalar converter, is_tuple) for a Config field's annotation."""
    hint = typing.get_type_hints(Config)[f.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if isinstance(hint, types.UnionType) or typing.get_origin(hint) else hint
    is_tuple = typing.get_origin(base) is tuple
    scalar = typing.get_args(base)[0] if is_tuple else base
    if f.name in ANGLE_FIELDS:
        scalar = _angle
    return scalar, is_tuple


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("configuration (every Config field)")
    for f in dataclasses.fields(Config):
        flag = "--" + f.name.replace("_", "-")
        help_ = f.metadata["help"] + (f" [default: {f.default}]" if f.default is not None else "")
        scalar, is_tuple = _field_type(f)
        if scalar is bool:
            g.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=f.default, help=help_
            )
            continue
        conv = _listof(scalar) if is_tuple else scalar
        choices = f.metadata.get("choices")
        kw = {"choices": choices} if choices else {"metavar": f.name.upper()}
        g.add_argument(flag, type=conv, default=f.default, help=help_, **kw)


def build_parser() -> argparse.ArgumentParser:
    """The ``gapsim`` argument parser."""
    from gapsim import __version__

    p = _Parser(prog="gapsim", description="Simulate the modality gap of contrastive learning.")
    p.add_argument("--version", action="version", version=f"gapsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser(
        "run",
        help="optimise InfoNCE over free points once and report",
        description="Optimise symmetric InfoNCE over free points on the sphere.",
    )
    run.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    run.add_argument("--out", metavar="PATH", help="also save the result as PATH.json + PATH.npz")
    _add_store_flags(run, "the run folder DIR/run-<UTC time>-<config hash>/")
    _add_config_flags(run)
    _add_sweep_parser(sub)
    fig = sub.add_parser("figures", help="rebuild the paper figures into --out (PNG + JSON)")
    fig.add_argument("--quick", action="store_true", help="small sizes (all in < 10 min)")
    fig.add_argument("--only", action="append", metavar="NAME", help="this figure (repeatable)")
    fig.add_argument("--out", default="figures", metavar="DIR", help="output folder [figures]")
    add_quiet_flag(fig)
    from gapsim.checks.cli import add_check_parser
    from gapsim.report import add_report_parser

    add_check_parser(sub)
    add_report_parser(sub)
    from gapsim.demos.cli import add_demo_parser

    add_demo_parser(sub)
    return p


def add_quiet_flag(p: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bar (bars show only when stdout and stderr are terminals)."""
    p.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")


def _add_store_flags(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--store", default="results", metavar="DIR", help=f"results store: {what} [results]"
    )
    p.add_argument(
        "--no-store",
        action="store_true",
        help="write nothing to the results store (a sweep still writes an explicit --out)",
    )
    add_quiet_flag(p)


def _config_from_args(ns: argparse.Namespace) -> Config:
    kw = {f.name: getattr(ns, f.name) for f in dataclasses.fields(Config)}
    return Config(**kw)


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def _describe(cfg: Config) -> str:
    c = cfg.constraint
    if c == "cone":
        c += f"(alpha={cfg.cone_angle:.4g}, axis={cfg.cone_axis})"
    elif c == "subspace":
        c += f"(k={cfg.k}, angles={_fmt(list(cfg.principal_angles))}"
        c += f", cap alpha={cfg.cone_angle:.4g})" if cfg.cone_angle is not None else ")"
    mech = [f"M={cfg.modalities}"] if cfg.modalities > 2 else []
    if cfg.learn_tau:
        mech.append(f"learn-tau({cfg.tau_param}, lr x{cfg.tau_lr_mult:g})")
    if cfg.tau_schedule != "none":
        mech.append(f"tau-schedule={cfg.tau_schedule}")
    if cfg.gamma_lift:
        mech.append(f"gamma-lift(gamma0={cfg.gamma0:g})")
    if cfg.swap != "none":
        mech.append(f"swap={cfg.swap}(p={cfg.swap_p:g})")
    if cfg.noisy_fraction > 0:
        mech.append(f"noisy={cfg.noisy_fraction:g}")
    if cfg.classes:
        mech.append(f"classes={cfg.classes}(p={cfg.class_p:g})")
    mech += [f"{k}={getattr(cfg, k):g}" for k in ("atp", "cu") if getattr(cfg, k) > 0]
    return (
        f"N={cfg.n_pairs} d={cfg.dim} tau={cfg.tau:g} constraint={c} init={cfg.init} "
        f"solver={cfg.solver} dtype={cfg.effective_dtype} seed={cfg.seed}"
        + (" | " + " ".join(mech) if mech else "")
    )


def _print_summary(result: Any) -> None:
    from gapsim import __version__

    s = result.summary()
    print(f"gapsim {__version__} | {_describe(result.config)}")
    print(f"  {result.certificate}")
    skip = {
        "grad_norm",
        "converged",
        "steps",
        "gtol",
        "criterion",
        "solver",
        "tau",
        "n_pairs",
        "dim",
        "centroid_angle_raw",
        "centroid_angle_ill_conditioned",
    }
    for k, v in s.items():
        if k in skip:
            continue
        if k == "centroid_angle" and v is None:
            v = (
                f"undefined: a mean is near 0 (norms {s['mean_norm_x']:.2g}, "
                f"{s['mean_norm_y']:.2g}; raw value {s['centroid_angle_raw']:.4g} rad)"
            )
        print(f"  {k:<30} {_fmt(v)}")


def _run(ns: argparse.Namespace) -> int:
    from gapsim.progress import interactive
    from gapsim.simulate import simulate
    from gapsim.store import save_run

    result = simulate(_config_from_args(ns), progress=interactive(ns.quiet))
    if ns.out:
        result.save(ns.out)
    folder = None if ns.no_store else save_run(result, ns.store)
    if ns.json:
        print(json.dumps(result.summary()))
    else:
        _print_summary(result)
        if ns.out:
            print(f"  saved to {ns.out}.json / .npz")
        if folder:
            print(f"  stored in {folder}/")
    return 0


def _add_sweep_parser(sub: Any) -> None:
    sw = sub.add_parser(
        "sweep",
        help="run a grid of configurations as one vmapped, sharded program",
        description=(
            "Run the outer product of --grid axes over the base configuration given by the other "
            "flags, batched (gapsim.sweep): one compiled program per group of configurations "
            "with equal compile-time settings and shapes, sharded over all devices."
        ),
    )
    sw.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="FIELD=VALUES",
        help="a sweep axis: FIELD=V1,V2,... or FIELD=START:STOP[:STEP] (integers, like range); "
        "list-valued fields separate values with ';'; repeat for more axes (first varies slowest)",
    )
    sw.add_argument(
        "--out",
        metavar="DIR",
        help="the sweep folder: manifest, one folder per config, sweep.jsonl, sweep.csv; "
        "rerunning the same sweep into it resumes [STORE/sweep-<hash of configs and chunk>]",
    )
    sw.add_argument("--overwrite", action="store_true", help="replace a sweep found in --out")
    sw.add_argument("--json", action="store_true", help="print one JSON object per config")
    sw.add_argument("--chunk", type=int, help="at most CHUNK configs per compiled call")
    sw.add_argument(
        "--host-devices",
        type=int,
        help="CPU devices to shard over (default: XLA_FLAGS' host device count, else all cores)",
    )
    dist = sw.add_argument_group("multi-process (gapsim.sweep.init_distributed)")
    dist.add_argument(
        "--distributed",
        action="store_true",
        help="join jax.distributed: shard over every device of every process, each process "
        "writing its configs to the shared --out (flags below, else SLURM etc. as JAX detects)",
    )
    dist.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0")
    dist.add_argument("--num-processes", type=int, help="number of processes")
    dist.add_argument("--process-id", type=int, help="this process's id, 0..num-processes-1")
    _add_store_flags(sw, "the root of the default --out")
    _add_config_flags(sw)


def _grid_value(f: dataclasses.Field, text: str) -> Any:
    scalar, is_tuple = _field_type(f)
    t = text.strip()
    if t.lower() == "none":
        return None
    if scalar is bool:
        if t.lower() not in ("true", "false", "1", "0"):
            raise ConfigError(f.name, t, "must be true or false")
        return t.lower() in ("true", "1")
    try:
        return _listof(scalar)(t) if is_tuple else scalar(t)
    except ValueError as e:
        raise ConfigError(f.name, t, f"is not a valid {scalar.__name__}") from e


def _parse_grid(specs: Sequence[str]) -> dict[str, list[Any]]:
    """``["tau=0.05,0.1", "seed=0:8"]`` -> ``{"tau": [0.05, 0.1], "seed": [0, ..., 7]}``."""
    fields = {f.name: f for f in dataclasses.fields(Config)}
    axes: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in fields:
            raise ConfigError("grid", spec, "must be FIELD=VALUES with FIELD a Config field")
        f = fields[name]
        if ":" in values and _field_type(f)[0] is int:
            try:
                axes[name] = list(range(*(int(v) for v in values.split(":"))))
            except (TypeError, ValueError) as e:
                raise ConfigError("grid", spec, "a range is START:STOP[:STEP] integers") from e
        else:
            sep_values = ";" if _field_type(f)[1] else ","
            axes[name] = [_grid_value(f, v) for v in values.split(sep_values) if v.strip()]
    return axes


def _sweep(ns: argparse.Namespace) -> int:
    import os
    import time

    import jax

    if ns.host_devices or "xla_force_host_platform_device_count" not in os.environ.get(
        "XLA_FLAGS", ""
    ):
        try:  # must precede the first JAX computation; otherwise keep the devices there are
            jax.config.update("jax_num_cpu_devices", ns.host_devices or os.cpu_count() or 1)
        except RuntimeError:
            pass
    from gapsim.progress import interactive
    from gapsim.store import run_sweep, sweep_dir
    from gapsim.sweep import grid, init_distributed, sweep, table_rows

    if ns.distributed:
        if ns.no_store and not ns.out:
            raise ConfigError("distributed", "--no-store", "needs a results folder (--out)")
        init_distributed(ns.coordinator, ns.num_processes, ns.process_id)

    axes = _parse_grid(ns.grid)
    base = {f.name: getattr(ns, f.name) for f in dataclasses.fields(Config)}
    configs = grid(base, axes)
    progress = interactive(ns.quiet)
    t0 = time.perf_counter()
    out = None
    if ns.no_store and not ns.out:
        results = sweep(configs, chunk=ns.chunk, progress=progress)
    else:
        out = ns.out or sweep_dir(configs, ns.chunk, ns.store)
        results, reused = run_sweep(
            configs,
            out,
            axes=axes,
            base=base,
            chunk=ns.chunk,
            overwrite=ns.overwrite,
            progress=progress,
        )
        if reused:
            print(
                f"gapsim sweep: reused {reused} of {len(configs)} configs finished earlier "
                f"in {out} (--overwrite recomputes them)",
                file=sys.stderr,
            )
    seconds = time.perf_counter() - t0
    if jax.process_index() != 0:  # process 0 prints; every process stored its configs
        return 0
    rows = table_rows(configs, results, list(axes))
    if ns.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    print(
        f"gapsim sweep | {len(configs)} configs in {seconds:.2f} s on "
        f"{len(jax.devices())} {jax.devices()[0].platform} device(s)"
    )
    cols = [*axes, "loss", "centroid_distance", "centroid_angle", "converged", "steps"]
    print("  " + " ".join(f"{c:>18}" for c in ["index", *cols]))
    for row in rows:
        print("  " + " ".join(f"{_fmt(row.get(c, 'diverged')):>18}" for c in ["index", *cols]))
    if out:
        print(f"  stored in {out}/ (table: sweep.jsonl, sweep.csv; one folder per config)")
    return 0


def _figures(ns: argparse.Namespace) -> int:
    from gapsim.figures import build
    from gapsim.progress import interactive

    build(ns.only, quick=ns.quick, outdir=ns.out, progress=interactive(ns.quiet))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gapsim`` console script; returns the exit status."""
    ns = build_parser().parse_args(argv)
    try:
        from gapsim.checks.cli import run_check_command
        from gapsim.demos.cli import run_demo_command
        from gapsim.report import run_report_command

        commands = {
            "run": _run,
            "sweep": _sweep,
            "figures": _figures,
            "check": run_check_command,
            "report": run_report_command,
            "demo": run_demo_command,
        }
        return commands[ns.command](ns)
    except ConfigError as e:
        print(f"gapsim: error: {e}", file=sys.stderr)
        return 2
    except DivergenceError as e:
        print(f"gapsim: error: {e}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
