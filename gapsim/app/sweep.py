r"""Sweeps: a grid of configurations run as one batched, compiled, sharded program.

A sweep is the outer product of a few config fields (``seed x tau x phi x ...``) over a base
:class:`~gapsim.app.config.Config`. :func:`sweep` runs any list of configurations the way a single
run goes (:func:`gapsim.app.parts.prepare`, :func:`gapsim.core.solvers.execute`,
:func:`gapsim.app.simulate.finish`), but batched:

1. every config is split into its compile-time :class:`~gapsim.core.solvers.Static` and its traced
   :class:`~gapsim.core.solvers.Args`; configs are grouped by ``Static`` and by the pytree
   structure, shapes and dtypes of ``Args`` (nothing else is assumed about either, so new
   fields join in without changes here);
2. each group is cut into chunks of at most ``chunk`` configs (all chunks of a group the same
   size, so one compiled program serves the group), padded to a multiple of the device count by
   repeating the last config;
3. the chunk's ``Args`` are stacked leaf by leaf (``jax.tree.map``), placed with a
   :class:`jax.sharding.NamedSharding` that splits the config axis over all devices, and run by
   ``jax.jit(shard_map(vmap(execute)))`` (:func:`gapsim.app.batch.batched`; ``lax.map`` for L-BFGS
   on a CPU): each device runs its share of the configs with no communication, each config with
   its own stopping rule;
4. :func:`~gapsim.app.simulate.finish` certifies every config on the host, as for a single run.

Results equal one-by-one runs to rounding: the batched program performs the same operations per
config, though XLA may order a batched product's sums differently (a few ulp per step; see
``tests/test_sweep.py``). A run that diverges yields its :class:`~gapsim.errors.DivergenceError`
in place of a result; the other configs are unaffected.

Example:
    >>> from gapsim import Config
    >>> base = Config(n_pairs=8, dim=3, solver="gd", steps=100)
    >>> configs = grid(base, {"tau": [0.1, 0.2], "seed": range(4)})
    >>> results = sweep(configs)  # one compiled program, 8 configurations
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from gapsim.app.batch import batched, finish_or_error, group_key, stack
from gapsim.app.config import Config
from gapsim.app.parts import prepare
from gapsim.app.result import Result, _atomic_write_text
from gapsim.core.precision import x64
from gapsim.core.progress import bar
from gapsim.core.solvers import Args, SolverOutput, Static
from gapsim.errors import ConfigError, DivergenceError

__all__ = [
    "grid",
    "sweep",
    "ProgressLines",
    "table_rows",
    "write_table",
    "csv_text",
    "init_distributed",
    "process_barrier",
    "SWEEP_BYTES",
    "AXIS",
]

AXIS = "config"
"""Name of the mesh axis the configurations are sharded over."""
SWEEP_BYTES = 2 * 2**30
"""Automatic chunking keeps the estimated working set of one chunk under this many bytes."""


def grid(base: Config | Mapping[str, Any], axes: Mapping[str, Iterable[Any]]) -> list[Config]:
    """The outer product of ``axes`` over ``base``, the first axis varying slowest.

    Args:
        base: the configuration every grid point starts from, or its fields as a dict (which
            need not be a valid configuration by itself, e.g. a subspace constraint whose
            ``phi`` is swept).
        axes: ``{field: values}``; every field must be a :class:`Config` field.

    Raises:
        ConfigError: an unknown field, an empty axis, or a grid point that is not a valid config.
    """
    names = {f.name for f in dataclasses.fields(Config)}
    values = {k: list(v) for k, v in axes.items()}
    for k, v in values.items():
        if k not in names:
            raise ConfigError("grid", k, "is not a Config field")
        if not v:
            raise ConfigError("grid", k, "needs at least one value")
    fields = dict(base) if isinstance(base, Mapping) else dataclasses.asdict(base)
    return [
        Config(**{**fields, **dict(zip(values, combo, strict=True))})
        for combo in itertools.product(*values.values())
    ]


def _nbytes_per_config(args: Args, static: Static) -> int:
    """A rough working set of one config: a few (N, N) or (block, N) slabs."""
    from gapsim.core.blocks import block_rows

    x = args.z0  # (M, N, d)
    n = int(x.shape[-2])
    rows = block_rows(n, x.dtype) if static.block_size == 0 else min(static.block_size, n)
    return 8 * n * (rows or n) * np.dtype(x.dtype).itemsize


@partial(jax.jit, static_argnames=("static", "mesh"))
def _run_batch(args: Args, static: Static, mesh: Mesh) -> SolverOutput:
    spec = P(AXIS)
    run = batched(static)  # vmap, or lax.map for L-BFGS on a CPU
    return jax.shard_map(run, mesh=mesh, in_specs=(spec,), out_specs=spec, check_vma=False)(args)


def _run_chunk(static: Static, batch: list[Args], mesh: Mesh, size: int) -> dict[int, Any]:
    """Run ``batch`` (padded to ``size`` configs); the outputs this process holds, by position.

    The stacked ``Args`` become global arrays sharded over the mesh (every process builds the
    same stack and places only its own devices' rows), and each process reads back only the
    rows of its own devices: with one process, all of them.
    """
    padded = stack(batch + [batch[-1]] * (size - len(batch)))
    sharding = NamedSharding(mesh, P(AXIS))
    stacked = jax.tree.map(
        lambda a: jax.make_array_from_callback(a.shape, sharding, lambda i, a=a: a[i]), padded
    )
    leaves, treedef = jax.tree.flatten(_run_batch(stacked, static, mesh))
    rows: list[dict[int, np.ndarray]] = []
    for leaf in leaves:
        held = {}
        for shard in leaf.addressable_shards:
            data, start = np.asarray(shard.data), shard.index[0].start or 0
            held.update({start + j: data[j] for j in range(data.shape[0])})
        rows.append(held)
    mine = sorted(i for i in rows[0] if i < len(batch))
    return {i: treedef.unflatten([r[i] for r in rows]) for i in mine}


@x64
def sweep(
    configs: Sequence[Config],
    chunk: int | None = None,
    devices: Sequence[jax.Device] | None = None,
    *,
    progress: bool = False,
    lines: bool = False,
    done: Mapping[int, Result | DivergenceError] | None = None,
    on_chunk: Callable[[list[int], list[Result | DivergenceError]], None] | None = None,
    record_points: bool = False,
) -> list[Result | DivergenceError]:
    """Run ``configs`` batched (module docstring); results in the order of ``configs``.

    The chunks are a fixed function of ``configs``, ``chunk`` and the device count, so a sweep
    resumed with ``done`` runs exactly the batches an uninterrupted one runs, and its results
    are the same bits (:mod:`gapsim.app.store`).

    Args:
        configs: the configurations (e.g. from :func:`grid`).
        chunk: at most this many configs per compiled call (default: 256, fewer if the
            estimated working set would exceed :data:`SWEEP_BYTES`).
        devices: devices to shard over (default: ``jax.devices()``). On a CPU host, start
            Python with ``XLA_FLAGS=--xla_force_host_platform_device_count=K`` for K devices
            (``gapsim sweep`` does this with ``--host-devices``).
        progress: draw a bar over the configs on stderr (advanced per chunk).
        lines: print a progress line on stderr each time the configs done cross another tenth
            of the total (:class:`ProgressLines`; for logs and pipes, where no bar is drawn).
        done: results already at hand, by index into ``configs``: a chunk whose configs are
            all in ``done`` is taken from there instead of being run; a chunk with any config
            missing is run whole.
        on_chunk: called as ``on_chunk(indices, results)`` after each chunk that was run.
        record_points: also record the points at every record (``history["z"]``, as
            :func:`gapsim.simulate` does; for animations such as ``gapsim demo --html``).

    Returns:
        One :class:`~gapsim.app.result.Result` per config, or the
        :class:`~gapsim.errors.DivergenceError` of a config that diverged. With several
        processes (:func:`init_distributed`), each process certifies only the configs its own
        devices ran and holds ``None`` for the others (:func:`gapsim.app.store.run_sweep` gathers
        them through the store).
    """
    devices = list(devices or jax.devices())
    mesh = Mesh(np.array(devices), (AXIS,))
    ndev = len(devices)
    done = done or {}
    prepared = [prepare(cfg, record_points=record_points) for cfg in configs]
    groups: dict[tuple, list[int]] = {}
    for i, (static, args) in enumerate(prepared):
        groups.setdefault(group_key(static, args), []).append(i)
    results: list[Any] = [None] * len(configs)
    tenths = ProgressLines(len(configs), "sweep", "configs", enabled=lines)
    with bar(len(configs), "sweep", progress, unit="config") as pbar:
        for key, idx in groups.items():
            static = key[0]
            per_config = _nbytes_per_config(prepared[idx[0]][1], static)
            limit = chunk or max(1, min(256, SWEEP_BYTES // per_config))
            n_chunks = math.ceil(len(idx) / max(1, limit))
            size = math.ceil(math.ceil(len(idx) / n_chunks) / ndev) * ndev
            for start in range(0, len(idx), size):
                part = idx[start : start + size]
                if all(i in done for i in part):
                    for i in part:
                        results[i] = done[i]
                else:
                    outs = _run_chunk(static, [prepared[i][1] for i in part], mesh, size)
                    mine = [part[j] for j in outs]
                    for j, out in outs.items():
                        i = part[j]
                        results[i] = finish_or_error(configs[i], static, prepared[i][1], out)
                    if on_chunk is not None:
                        on_chunk(mine, [results[i] for i in mine])
                pbar.update(len(part))
                tenths.update(len(part))
    return results


class ProgressLines:
    """A line on stderr each time the work done crosses another tenth (about 10%) of the total.

    ``gapsim sweep: 16/80 configs (20%) in 12.3 s``: what a log or a pipe gets instead of a bar (a
    bar draws only when stdout and stderr are terminals, :func:`gapsim.core.progress.interactive`).

    Example:
        >>> p = ProgressLines(4, "sweep", "configs", enabled=False)
        >>> p.update(2)  # silent when not enabled
    """

    def __init__(self, total: int, what: str, unit: str, enabled: bool = True):
        import time

        self.total, self.what, self.unit, self.enabled = total, what, unit, enabled
        self.done, self.tenth, self.t0 = 0, 0, time.perf_counter()

    def update(self, n: int) -> None:
        """Count ``n`` more done; print a line when another tenth is crossed (and at the end)."""
        import sys
        import time

        self.done += n
        tenth = 10 * self.done // max(self.total, 1)
        if self.enabled and tenth > self.tenth:
            seconds = time.perf_counter() - self.t0
            print(
                f"gapsim {self.what}: {self.done}/{self.total} {self.unit} "
                f"({100 * self.done // max(self.total, 1)}%) in {seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        self.tenth = max(self.tenth, tenth)


def table_rows(
    configs: Sequence[Config],
    results: Sequence[Result | DivergenceError],
    fields: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """One flat row per config: ``index``, the swept ``fields``, then its summary.

    A diverged config has ``diverged: true`` and the error message instead of measures.
    """
    rows = []
    for i, (cfg, r) in enumerate(zip(configs, results, strict=True)):
        row: dict[str, Any] = {"index": i}
        row.update({f: _jsonable(getattr(cfg, f)) for f in fields})
        if isinstance(r, DivergenceError):
            row.update({"diverged": True, "error": str(r)})
        else:
            row.update({"diverged": False, **r.summary()})
        rows.append(row)
    return rows


def write_table(rows: Sequence[Mapping[str, Any]], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``out_dir/sweep.jsonl`` (one JSON object per line) and ``out_dir/sweep.csv``.

    Each file is written to a temporary name and renamed: a kill never leaves half a table.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = _atomic_write_text(out / "sweep.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    return jsonl, _atomic_write_text(out / "sweep.csv", csv_text(rows))


def csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """``rows`` as CSV text: the union of their keys as header; lists and dicts as JSON."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for r in rows:
        w.writerow({k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in r.items()})
    return buf.getvalue()


def init_distributed(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> tuple[int, int]:
    """Join JAX's multi-process runtime (:func:`jax.distributed.initialize`) for a sweep.

    Must run before the first JAX computation. Given no arguments, JAX reads them from the
    cluster environment it detects (SLURM, Open MPI, Kubernetes, cloud TPU); otherwise pass
    the coordinator's ``host:port`` (process 0 serves there), the process count and this
    process's id. Afterwards ``jax.devices()`` lists every device of every process, so
    :func:`sweep` shards each chunk over all of them; each process runs and certifies the
    configs on its own devices and :func:`gapsim.app.store.run_sweep` writes them into the shared
    results folder.

    Returns:
        ``(process_index, process_count)``.
    """
    jax.distributed.initialize(
        coordinator_address=coordinator, num_processes=num_processes, process_id=process_id
    )
    return jax.process_index(), jax.process_count()


def process_barrier(name: str, timeout_s: float = 24 * 3600) -> None:
    """Wait until every process of the multi-process runtime reaches ``name`` (no-op alone).

    Uses the coordination service's barrier (no device computation: a CPU backend has no
    cross-process collectives by default). A process that died makes the others fail here
    after ``timeout_s`` or when the coordination service notices it; what they stored stays.
    """
    if jax.process_count() == 1:
        return
    from jax._src import distributed  # the client of jax.distributed.initialize

    distributed.global_state.client.wait_at_barrier(f"gapsim-{name}", int(timeout_s * 1000))


def _jsonable(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v
