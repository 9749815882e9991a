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
from typing import Any

from gapsim.cli._common import add_json_flag, positive_int, print_json
from gapsim.errors import ConfigError

__all__ = ["NAME", "HELP", "add_parser", "parse_grid", "run"]

NAME = "sweep"
HELP = "run a grid of configurations as one vmapped, sharded program"


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
    sw.add_argument("--overwrite", action="store_true", help="replace a sweep found in --out")
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
    dist.add_argument("--num-processes", type=int, help="number of processes")
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


def parse_grid(specs: Sequence[str]) -> dict[str, list[Any]]:
    """``["tau=0.05,0.1", "seed=0:8"]`` -> ``{"tau": [0.05, 0.1], "seed": [0, ..., 7]}``.

    Raises:
        ConfigError: a spec is not ``FIELD=VALUES`` with FIELD a Config field, or a value is bad.
    """
    from gapsim.app.config import Config
    from gapsim.cli._config import field_type

    fields = {f.name: f for f in dataclasses.fields(Config)}
    axes: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in fields:
            raise ConfigError("grid", spec, "must be FIELD=VALUES with FIELD a Config field")
        f = fields[name]
        if ":" in values and field_type(f)[0] is int:
            try:
                new = list(range(*(int(v) for v in values.split(":"))))
            except (TypeError, ValueError) as e:
                raise ConfigError("grid", spec, "a range is START:STOP[:STEP] integers") from e
        else:
            sep_values = ";" if field_type(f)[1] else ","
            new = [_grid_value(f, v) for v in values.split(sep_values) if v.strip()]
        old = axes.get(name, [])  # a repeated field adds values (was: the last one won)
        axes[name] = old + [v for v in new if v not in old]
    return axes


def run(ns: argparse.Namespace) -> int:
    """Run (or resume) the sweep; print the table (or ``--json``) and where it is stored."""
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
    from gapsim.app.runs import format_value
    from gapsim.app.store import run_sweep, sweep_dir
    from gapsim.app.sweep import grid, init_distributed, sweep, table_rows
    from gapsim.cli._config import config_fields
    from gapsim.cli._paths import check_output_dir
    from gapsim.core.progress import interactive

    if ns.distributed:
        if ns.no_store and not ns.out:
            raise ConfigError("distributed", "--no-store", "needs a results folder (--out)")
        init_distributed(ns.coordinator, ns.num_processes, ns.process_id)

    axes = parse_grid(ns.grid)
    base = config_fields(ns)
    if ns.out:  # checked before any work (a file, read-only, under a file)
        check_output_dir(ns.out, "out")
    elif not ns.no_store:
        check_output_dir(ns.store, "store")
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
