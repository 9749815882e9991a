"""``gapsim sweep``: a grid of configurations as one vmapped, sharded program.

The base configuration is given by the Config flags (:mod:`gapsim.cli._config`), the axes by
repeated ``--grid FIELD=VALUES``; the grid is their outer product (:func:`gapsim.app.sweep.grid`).
Results go to a sweep folder (``--out DIR``, default ``STORE/sweep-<hash>``) that a rerun
resumes (:func:`gapsim.app.store.run_sweep`). ``--json`` prints the table as one JSON list.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gapsim.cli._budget import add_allow_large_flag
from gapsim.cli._common import add_json_flag, positive_int, print_json
from gapsim.cli.report import add_plot_flags, plot_request
from gapsim.errors import ConfigError

__all__ = ["NAME", "HELP", "add_parser", "parse_grid", "run"]

NAME = "sweep"
HELP = "run a grid of configurations as one vmapped, sharded program"
MAX_HOST_DEVICES = 256
"""Most CPU devices ``--host-devices`` creates (each pads the chunks to its multiple)."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``gapsim sweep`` on the ``gapsim`` subparsers."""
    from gapsim.cli._config import add_config_flags
    from gapsim.cli.run import add_store_flags

    sw = sub.add_parser(
        NAME,
        help=HELP,
        description=(
            "Run the outer product of --grid axes over the base configuration given by the other "
            "flags, batched (gapsim.app.sweep): one compiled program per group of configurations "
            "with equal compile-time settings and shapes, sharded over all devices."
        ),
    )
    sw.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="FIELD=VALUES",
        help="a sweep axis: FIELD=V1,V2,... or FIELD=START:STOP[:STEP] (integers, like range); "
        "list-valued fields separate values with ';'; repeat for more axes (first varies "
        "slowest); repeating a field adds values to its axis",
    )
    sw.add_argument(
        "--out",
        metavar="DIR",
        help="the sweep folder: manifest, one folder per config, sweep.jsonl, sweep.csv; "
        "rerunning the same sweep into it resumes [STORE/sweep-<hash of configs and chunk>]",
    )
    sw.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a different sweep found in --out (and an existing --plot-out file)",
    )
    add_allow_large_flag(sw)
    add_plot_flags(sw, "OUT/plot-FIELD.png")
    add_json_flag(sw, "the table (a list with one object per config)")
    sw.add_argument(
        "--chunk", type=positive_int, help="at most CHUNK (>= 1) configs per compiled call"
    )
    sw.add_argument(
        "--host-devices",
        type=positive_int,
        help="CPU devices to shard over (default: XLA_FLAGS' host device count, else all cores)",
    )
    dist = sw.add_argument_group("multi-process (gapsim.app.sweep.init_distributed)")
    dist.add_argument(
        "--distributed",
        action="store_true",
        help="join jax.distributed: shard over every device of every process, each process "
        "writing its configs to the shared --out (flags below, else SLURM etc. as JAX detects)",
    )
    dist.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0")
    dist.add_argument("--num-processes", type=positive_int, help="number of processes")
    dist.add_argument("--process-id", type=int, help="this process's id, 0..num-processes-1")
    add_store_flags(sw, "the root of the default --out")
    add_config_flags(sw)


def _grid_value(f: dataclasses.Field, text: str) -> Any:
    from gapsim.cli._config import field_type, listof

    scalar, is_tuple = field_type(f)
    t = text.strip()
    if t.lower() == "none":
        return None
    if scalar is bool:
        if t.lower() not in ("true", "false", "1", "0"):
            raise ConfigError(f.name, t, "must be true or false")
        return t.lower() in ("true", "1")
    try:
        return listof(scalar)(t) if is_tuple else scalar(t)
    except ValueError as e:
        raise ConfigError(f.name, t, f"is not a valid {scalar.__name__}") from e


def parse_grid(specs: Sequence[str]) -> dict[str, Sequence[Any]]:
    """``["tau=0.05,0.1", "seed=0:8"]`` -> ``{"tau": [0.05, 0.1], "seed": range(0, 8)}``.

    An integer range stays a ``range`` (its length is known without listing it: a sweep of
    ``seed=0:100000000`` is refused by its size, not after building it).

    Raises:
        ConfigError: a spec is not ``FIELD=VALUES`` with FIELD a Config field, or a value is bad.
    """
    from gapsim.app.config import Config
    from gapsim.cli._config import field_type

    fields = {f.name: f for f in dataclasses.fields(Config)}
    axes: dict[str, Sequence[Any]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in fields:
            raise ConfigError("grid", spec, "must be FIELD=VALUES with FIELD a Config field")
        f = fields[name]
        new: Sequence[Any]
        if ":" in values and field_type(f)[0] is int:
            try:
                new = range(*(int(v) for v in values.split(":")))
            except (TypeError, ValueError) as e:
                raise ConfigError("grid", spec, "a range is START:STOP[:STEP] integers") from e
        else:
            sep_values = ";" if field_type(f)[1] else ","
            new = [_grid_value(f, v) for v in values.split(sep_values) if v.strip()]
        if len(new) == 0:
            raise ConfigError("grid", spec, "gives no values (an empty range?)")
        if name in axes:  # a repeated field adds values (was: the last one won)
            old = list(axes[name])
            seen = set(old)
            new = old + [v for v in new if v not in seen]
        axes[name] = new
    return axes


def _check_distributed(ns: argparse.Namespace) -> None:
    """The multi-process flags: only with ``--distributed``, and a consistent process id."""
    flags = {"coordinator": ns.coordinator, "num_processes": ns.num_processes}
    flags["process_id"] = ns.process_id
    if not ns.distributed:
        for name, value in flags.items():
            if value is not None:
                raise ConfigError(name, value, "applies only with --distributed")
        return
    pid, count = ns.process_id, ns.num_processes
    if pid is not None and (pid < 0 or (count is not None and pid >= count)):
        top = "" if count is None else f" and < --num-processes {count}"
        raise ConfigError("process_id", pid, f"must be >= 0{top}")


def _budget(ns: argparse.Namespace, base: dict[str, Any], axes: dict[str, Sequence[Any]]):
    """Refuse a sweep beyond the limits of :mod:`gapsim.cli._budget` before building it."""
    import math

    from gapsim.app.sweep import SWEEP_BYTES
    from gapsim.cli._budget import check_budget, run_host_bytes, run_work, seconds

    n = math.prod(len(v) for v in axes.values())
    worst = dict(base)
    for name, values in axes.items():  # run_work grows with each size: the worst of each axis
        if len(values) == 0:
            continue
        ends = [values[0], values[-1]] if isinstance(values, range) else list(values)
        try:
            worst[name] = max(ends, key=lambda v, k=name: run_work({**worst, k: v}))
        except (TypeError, ValueError, KeyError, ZeroDivisionError, IndexError):
            continue  # not a size (or not a number): the base value stands
    try:
        per_work, per_bytes = run_work(worst), run_host_bytes(worst)
    except (TypeError, ValueError, KeyError, ZeroDivisionError):
        return  # an invalid base: Config refuses it with its own message
    runs = max(n, ns.host_devices or 1)  # padded to a multiple of the device count
    check_budget(
        f"sweep of {n:,} configs",
        cpu_seconds=seconds(runs * per_work, runs=runs),
        memory=n * per_bytes + SWEEP_BYTES,
        configs=n,
        allow_large=ns.allow_large,
        flag="grid",
    )


def _check_measures(measures: Sequence[str]) -> None:
    """``--plot-y`` names a measure a run reports (checked before the sweep runs)."""
    from gapsim.app.result import SUMMARY_KEYS
    from gapsim.core.measures import MEASURE_KEYS

    known = {*MEASURE_KEYS, *SUMMARY_KEYS, "tau_final", "gamma_final", "lambda_min"}
    for m in measures:
        if m not in known:
            raise ConfigError("plot_y", m, f"must be a measure: {', '.join(sorted(known))}")


def run(ns: argparse.Namespace) -> int:
    """Run (or resume) the sweep; print the table (or ``--json``) and where it is stored."""
    import os
    import time

    import jax

    if ns.host_devices is not None and ns.host_devices > MAX_HOST_DEVICES:
        raise ConfigError("host_devices", ns.host_devices, f"must be <= {MAX_HOST_DEVICES}")
    if ns.host_devices or "xla_force_host_platform_device_count" not in os.environ.get(
        "XLA_FLAGS", ""
    ):
        try:  # must precede the first JAX computation; otherwise keep the devices there are
            jax.config.update("jax_num_cpu_devices", ns.host_devices or os.cpu_count() or 1)
        except RuntimeError:
            pass
    from gapsim.app.plot_runs import DEFAULT_MEASURES
    from gapsim.app.runs import entries, format_value
    from gapsim.app.store import run_sweep, sweep_dir
    from gapsim.app.sweep import grid, init_distributed, sweep, table_rows
    from gapsim.cli._config import config_fields
    from gapsim.cli._paths import check_output_dir, check_output_file
    from gapsim.cli.run import store_root
    from gapsim.core.progress import interactive

    _check_distributed(ns)
    store = store_root(ns)
    if ns.distributed and ns.out is None:
        raise ConfigError("distributed", True, "needs the shared results folder --out DIR")
    axes = parse_grid(ns.grid)
    if ns.plot is not None and ns.plot.replace("-", "_") not in axes:
        raise ConfigError("plot", ns.plot, f"must be a swept field: {', '.join(axes) or 'none'}")
    base = config_fields(ns)
    if ns.out is not None:  # checked before any work (a file, read-only, under a file)
        check_output_dir(ns.out, "out")
    elif store is not None:
        check_output_dir(store, "store")
    if ns.plot is not None and ns.plot_out is None and ns.out is None and store is None:
        raise ConfigError("plot", ns.plot, "needs a sweep folder (--out) or --plot-out PNG")
    _budget(ns, base, axes)
    if ns.distributed:
        try:
            init_distributed(ns.coordinator, ns.num_processes, ns.process_id)
        except (ValueError, RuntimeError) as e:  # e.g. no coordinator and no cluster found
            why = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ConfigError("distributed", True, f"could not join the processes: {why}") from e
    configs = grid(base, axes)
    out = None
    if ns.out is not None or store is not None:
        out = ns.out if ns.out is not None else sweep_dir(configs, ns.chunk, store)
    plot = plot_request(ns, "") if ns.plot is None else None  # stray --plot-y, --plot-out
    if ns.plot is not None:
        field = ns.plot.replace("-", "_")
        if ns.plot_out is None:  # in the sweep folder: rewritten on resume, as sweep.csv is
            png = str(Path(out) / f"plot-{field}.png")
            check_output_file(png, "plot_out", overwrite=True, suffixes=(".png",))
            plot = (png, list(ns.plot_y or DEFAULT_MEASURES))
        else:
            plot = plot_request(ns, ns.plot_out)
        _check_measures(plot[1])
    progress = interactive(ns.quiet)
    lines = not ns.quiet and not progress  # a line per ~10% on stderr (logs, pipes)
    t0 = time.perf_counter()
    if out is None:
        results = sweep(configs, chunk=ns.chunk, progress=progress, lines=lines)
    else:
        results, reused = run_sweep(
            configs,
            out,
            axes=axes,
            base=base,
            chunk=ns.chunk,
            overwrite=ns.overwrite,
            progress=progress,
            lines=lines,
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
    if plot is not None:
        from gapsim.app.plot_runs import plot_field

        plot_field(entries(configs, results), ns.plot.replace("-", "_"), plot[0], plot[1])
        print(f"gapsim sweep: plot {plot[0]}", file=sys.stderr)
    if ns.json:
        print_json(rows)
        return 0
    print(
        f"gapsim sweep | {len(configs)} configs in {seconds:.2f} s on "
        f"{len(jax.devices())} {jax.devices()[0].platform} device(s)"
    )
    cols = ["index", "status", *axes, "loss", "centroid_distance", "centroid_angle"]
    cols += ["converged", "steps"]
    print("  " + " ".join(f"{c:>18}" for c in cols))
    for row in rows:
        row = {**row, "status": "diverged" if row.get("diverged") else "done"}
        print("  " + " ".join(f"{format_value(row.get(c)):>18}" for c in cols))
    if out:
        print(f"  stored in {out}/ (table: sweep.jsonl, sweep.csv; one folder per config)")
    return 0
