"""The results store: a folder per run and per sweep, written atomically; sweeps resume.

Layout (``gapsim run`` writes under ``results/`` by default, ``gapsim sweep`` too)::

    results/run-20260101T120000Z-1a2b3c4d/    one run: UTC time, config hash
        config.json      {"gapsim_version", "config_hash", "config"}
        metrics.json     {"diverged": false, **Result.summary()}
        metrics.csv      the same as one CSV row
        result.json      Result.save: version, config, certificate, measures ...
        result.npz       ... and the arrays: points, start, trajectory
    results/sweep-5e6f7a8b/                   one sweep: hash of its configs and --chunk
        manifest.json    {"kind": "sweep", "gapsim_version", "base", "axes", "chunk",
                          "devices", "configs": [{"index", "hash", "config"}, ...]}
        configs/0000/    one folder per config, as a run folder (a diverged config has
                         only config.json and metrics.json: diverged, error, step, cause)
        sweep.jsonl, sweep.csv    the table (gapsim.app.sweep.write_table), at the end

Atomicity: an entry folder is staged under a hidden temporary name and renamed into place when
complete, so a folder that exists is whole; top-level files are written to a temporary name and
renamed (:func:`gapsim.app.result._atomic_write_text`); stale staging folders are removed only when
their writer process has died, and a sweep holds ``out/.lock`` while it writes (a second sweep
into the same folder is refused). Resume: :func:`run_sweep` on a folder that
holds the same sweep loads its finished configs and runs only the chunks with a config missing;
as the chunks are a fixed function of the config list (:func:`gapsim.app.sweep.sweep`), a resumed
sweep gives the same bits as an uninterrupted one on the same devices.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from gapsim._version import __version__
from gapsim.app.config import Config
from gapsim.app.result import Result, _atomic_write_text
from gapsim.errors import ConfigError, DivergenceError

__all__ = [
    "config_hash",
    "save_run",
    "write_entry",
    "load_entry",
    "read_metrics",
    "sweep_dir",
    "entry_dir",
    "run_sweep",
    "load_sweep",
    "walk",
    "load",
    "sweep_lock",
    "clear_stale_staging",
]

MANIFEST = "manifest.json"
LOCK = ".lock"
ENTRIES = "configs"
_STAGING = ".staging-"


def config_hash(cfg: Config | Mapping[str, Any], n: int = 8) -> str:
    """The first ``n`` hex digits of the SHA-256 of the config as sorted JSON."""
    d = cfg.to_dict() if isinstance(cfg, Config) else dict(cfg)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:n]


def _metrics(result: Result | DivergenceError) -> dict[str, Any]:
    if isinstance(result, DivergenceError):
        return {"diverged": True, "error": str(result), "step": result.step, "cause": result.cause}
    return {"diverged": False, **result.summary()}


def write_entry(folder: str | os.PathLike, cfg: Config, result: Result | DivergenceError) -> Path:
    """Write one run's folder (module docstring) atomically: staged, then renamed into place.

    Raises:
        FileExistsError: ``folder`` exists already.
    """
    from gapsim.app.sweep import csv_text

    folder = Path(folder)
    if folder.exists():
        raise FileExistsError(folder)
    stage = folder.with_name(f"{_STAGING}{folder.name}-{os.getpid()}")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    meta = {"gapsim_version": __version__, "config_hash": config_hash(cfg)}
    meta["config"] = cfg.to_dict()
    _atomic_write_text(stage / "config.json", json.dumps(meta, indent=2))
    metrics = _metrics(result)
    _atomic_write_text(stage / "metrics.csv", csv_text([metrics]))
    if isinstance(result, Result):
        result.save(stage / "result")
    _atomic_write_text(stage / "metrics.json", json.dumps(metrics, indent=2))
    os.rename(stage, folder)
    return folder


def load_entry(folder: str | os.PathLike) -> Result | DivergenceError:
    """Read back what :func:`write_entry` wrote: the Result, or the DivergenceError."""
    folder = Path(folder)
    m = read_metrics(folder)
    if m.get("diverged"):
        return DivergenceError(m["step"], m["cause"])
    return Result.load(folder / "result")


def read_metrics(folder: str | os.PathLike) -> dict[str, Any]:
    """The ``metrics.json`` of an entry folder."""
    return json.loads((Path(folder) / "metrics.json").read_text())


def save_run(result: Result, root: str | os.PathLike = "results") -> Path:
    """Store one run as ``root/run-<UTC time>-<config hash>/`` (a suffix if that exists)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    name = f"run-{stamp}-{config_hash(result.config)}"
    folder, k = Path(root) / name, 1
    while folder.exists():
        k += 1
        folder = Path(root) / f"{name}-{k}"
    clear_stale_staging(Path(root))
    return write_entry(folder, result.config, result)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def clear_stale_staging(folder: Path) -> list[Path]:
    """Remove ``.staging-*-PID`` folders whose writer process (on this host) has died.

    A live writer's folder (another sweep or run writing into the same place) is left alone.
    """
    removed = []
    for stale in folder.glob(f"{_STAGING}*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
            removed.append(stale)
    return removed


@contextlib.contextmanager
def sweep_lock(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` (holding the writer's PID) while a sweep writes into ``out``.

    Raises:
        ConfigError: another live process holds the lock. A lock left by a dead process (a
            killed sweep) is taken over.
    """
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            text = lock.read_text().strip() if lock.exists() else ""
            if text.isdigit() and _alive(int(text)) and int(text) != os.getpid():
                raise ConfigError(
                    "out",
                    str(out),
                    f"another sweep (pid {text}) is writing into this folder; wait for it "
                    "or choose another --out",
                ) from None
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()  # stale: its writer died
    else:
        raise ConfigError("out", str(out), "could not take the sweep lock")
    with os.fdopen(fd, "w") as fh:
        fh.write(str(os.getpid()))
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


def walk(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every entry stored under ``path``: the one walker of ``gapsim report`` and :func:`load`.

    ``path`` is a run folder, a sweep folder, or any folder holding them at any depth (nested
    sweeps included), and the ``Result.save`` pairs of ``gapsim run --out PATH`` (``PATH.json``
    + ``PATH.npz``) found there. Each entry is ``{"entry", "status", "config", "metrics"}``:
    ``entry`` the path relative to ``path`` (a sweep config's is ``SWEEP/configs/NNNN``),
    ``status`` ``done``, ``diverged``, ``pending`` (a sweep config not finished yet) or
    ``unreadable`` (a corrupt file never stops the walk; ``error`` holds the reason). Hidden
    folders (staging folders of a writer) are skipped. Nothing found: an empty list.
    """
    root = Path(path)
    found: list[dict[str, Any]] = []
    if root.is_dir():
        _walk(root, root, found)
    return found


def _walk(folder: Path, root: Path, found: list[dict[str, Any]]) -> None:
    rel = folder.relative_to(root).as_posix() if folder != root else folder.name
    try:
        if (folder / MANIFEST).exists():
            manifest, metrics = load_sweep(folder)
            n = len(manifest["configs"])
            for c in manifest["configs"]:
                i = c["index"]
                name = f"{rel}/{entry_dir(folder, i, n).relative_to(folder).as_posix()}"
                found.append(_entry(name, c["config"], metrics.get(i)))
            return
        if (folder / "metrics.json").exists() and (folder / "config.json").exists():
            config = json.loads((folder / "config.json").read_text())["config"]
            found.append(_entry(rel, config, read_metrics(folder)))
            return
    except (OSError, ValueError, KeyError, TypeError) as e:  # a corrupt file: one row says so
        found.append(_unreadable(rel, e))
        return
    for child in sorted(folder.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            _walk(child, root, found)
        elif child.suffix == ".json" and child.with_suffix(".npz").exists():
            _saved_result(child, root, found)


def _saved_result(path: Path, root: Path, found: list[dict[str, Any]]) -> None:
    """A ``Result.save`` pair (``--out PATH``): its JSON holds config, measures, certificate."""
    name = path.relative_to(root).as_posix()[: -len(".json")]
    try:
        meta = json.loads(path.read_text())
        if not isinstance(meta, dict) or not {"config", "measures", "certificate"} <= set(meta):
            return  # some other JSON beside an npz: not ours
        cert = meta["certificate"]
        metrics = {**meta["measures"], "converged": cert["converged"], "steps": cert["steps"]}
        found.append(_entry(name, meta["config"], {"diverged": False, **metrics}))
    except (OSError, ValueError, KeyError, TypeError) as e:
        found.append(_unreadable(name, e))


def _entry(name: str, config: dict[str, Any], metrics: dict[str, Any] | None) -> dict[str, Any]:
    if metrics is None:
        status = "pending"
    else:
        status = "diverged" if metrics.get("diverged") else "done"
    return {"entry": name, "status": status, "config": config, "metrics": metrics or {}}


def _unreadable(name: str, e: Exception) -> dict[str, Any]:
    reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    return {"entry": name, "status": "unreadable", "config": {}, "metrics": {}, "error": reason}


def load(path: str | os.PathLike) -> Any:
    """A table of everything stored under ``path``: the rows ``gapsim report DIR`` lists.

    One row per entry of :func:`walk` (the same walker as the report, so the same rows, nested
    sweeps and pending configs included): ``entry`` (the path relative to ``path``),
    ``status``, ``error`` (for unreadable entries), ``config.*`` (every config field), then the
    metrics. Returns a pandas DataFrame when pandas is installed (``pip install
    gapsim[pandas]``), else the same rows as a list of dicts.

    Raises:
        ConfigError: ``path`` holds no run or sweep folder.
    """
    found = walk(path)
    if not found:
        raise ConfigError("path", str(path), "holds no gapsim run or sweep folder")
    errors = any("error" in e for e in found)
    rows = [
        {
            "entry": e["entry"],
            "status": e["status"],
            **({"error": e.get("error")} if errors else {}),
            **_prefixed(e["config"]),
            **{k: v for k, v in e["metrics"].items() if k != "diverged"},
        }
        for e in found
    ]
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows)


def _prefixed(cfg: Mapping[str, Any]) -> dict[str, Any]:
    return {f"config.{k}": v for k, v in cfg.items()}


def _plan(
    configs: Sequence[Config], chunk: int | None, record_points: bool = False
) -> dict[str, Any]:
    hashes = [config_hash(c, 16) for c in configs]
    plan: dict[str, Any] = {"hashes": hashes, "chunk": chunk}
    if record_points:  # recorded points are part of a sweep's identity (absent: as before)
        plan["record_points"] = True
    return plan


def sweep_dir(
    configs: Sequence[Config],
    chunk: int | None,
    root: str | os.PathLike,
    *,
    record_points: bool = False,
) -> Path:
    """The default folder of a sweep, ``root/sweep-<hash>``: rerunning the same command resumes."""
    return Path(root) / f"sweep-{config_hash(_plan(configs, chunk, record_points))}"


def entry_dir(out: Path, i: int, n: int) -> Path:
    """The folder of config ``i`` of ``n`` in the sweep folder ``out``."""
    return out / ENTRIES / f"{i:0{max(4, len(str(n - 1)))}d}"


def _open(
    out: Path, configs: Sequence[Config], meta: dict[str, Any], overwrite: bool, clean: bool = True
) -> dict[int, Result | DivergenceError]:
    """Check or write the manifest; clear stale staging folders (if ``clean``); load entries."""
    path = out / MANIFEST
    plan = _plan(configs, meta["chunk"], meta.get("record_points", False))
    if path.exists():
        old = json.loads(path.read_text())
        old_configs = [Config.from_dict(c["config"]) for c in old["configs"]]
        same = _plan(old_configs, old["chunk"], old.get("record_points", False)) == plan
        if not same and not overwrite:
            raise ConfigError(
                "out",
                str(out),
                "holds a different sweep (other configs or --chunk); "
                "pass --overwrite to replace it, or another --out",
            )
        if overwrite:
            shutil.rmtree(out / ENTRIES, ignore_errors=True)
            path.unlink()
    elif (out / "config.json").exists():
        raise ConfigError("out", str(out), "is a run folder, not a sweep folder")
    if not path.exists():
        out.mkdir(parents=True, exist_ok=True)
        entries = [
            {"index": i, "hash": h[:8], "config": c.to_dict()}
            for i, (h, c) in enumerate(zip(plan["hashes"], configs, strict=True))
        ]
        manifest = {"kind": "sweep", "gapsim_version": __version__, **meta, "configs": entries}
        manifest["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        _atomic_write_text(path, json.dumps(manifest, indent=1))
    if clean:
        clear_stale_staging(out / ENTRIES)
    n = len(configs)
    return {i: load_entry(entry_dir(out, i, n)) for i in range(n) if entry_dir(out, i, n).exists()}


def run_sweep(
    configs: Sequence[Config],
    out: str | os.PathLike,
    *,
    axes: Mapping[str, Sequence[Any]] | None = None,
    base: Mapping[str, Any] | None = None,
    chunk: int | None = None,
    devices: Sequence[Any] | None = None,
    overwrite: bool = False,
    progress: bool = False,
    record_points: bool = False,
    lines: bool = False,
) -> tuple[list[Result | DivergenceError], int]:
    """Run a sweep into the store folder ``out``, resuming what an earlier run finished.

    Each chunk's configs are written to ``out/configs/NNNN/`` as soon as the chunk finishes;
    the table ``out/sweep.{jsonl,csv}`` at the end (columns: ``axes``).

    With several processes (:func:`gapsim.app.sweep.init_distributed`; ``out`` on a file system
    they share), process 0 opens the folder (manifest, stale staging folders, ``overwrite``)
    and the others then load what is finished; each process writes the configs its own devices
    ran, chunk by chunk, so a process that dies loses only its unfinished chunk and a rerun
    resumes; after a barrier every process reads the others' configs from the folder and
    process 0 writes the table.

    Args:
        configs: the configurations (:func:`gapsim.app.sweep.grid`).
        out: the sweep folder (:func:`sweep_dir` gives the default).
        axes: the swept fields and values (recorded; the table's columns).
        base: the base fields (recorded only).
        chunk: as in :func:`gapsim.app.sweep.sweep` (part of the sweep's identity: it fixes the
            batches).
        devices: as in :func:`gapsim.app.sweep.sweep` (the count is recorded).
        overwrite: replace a different (or the same) sweep found in ``out``.
        progress: draw a bar over the configs.
        record_points: store every record's points too (``history["z"]``; part of the sweep's
            identity, so a sweep with points never reuses one without).
        lines: print a progress line per tenth of the configs (:func:`gapsim.app.sweep.sweep`).

    Returns:
        ``(results, reused)``: results in the order of ``configs`` and how many were loaded.

    Raises:
        ConfigError: ``out`` holds another sweep (and not ``overwrite``), or a run folder.
    """
    import jax

    from gapsim.app.sweep import process_barrier, sweep, table_rows, write_table

    out = Path(out)
    axes = json.loads(json.dumps({k: list(vs) for k, vs in (axes or {}).items()}))
    ndev = len(devices or jax.devices())
    meta = {"base": dict(base or {}), "axes": axes, "chunk": chunk, "devices": ndev}
    if record_points:
        meta["record_points"] = True
    primary = jax.process_index() == 0

    def save_chunk(idx: list[int], results: list[Result | DivergenceError]) -> None:
        for i, r in zip(idx, results, strict=True):
            folder = entry_dir(out, i, len(configs))
            if not folder.exists():  # a finished config of a re-run chunk: the same bits
                write_entry(folder, configs[i], r)

    # process 0 holds the folder's lock (the others write their own configs under it)
    with sweep_lock(out) if primary else contextlib.nullcontext():
        done = _open(out, configs, meta, overwrite) if primary else {}
        process_barrier("store-open")
        if not primary:
            done = _open(out, configs, meta, overwrite=False, clean=False)
        process_barrier("store-loaded")
        results = sweep(
            configs,
            chunk,
            devices,
            progress=progress,
            lines=lines,
            done=done,
            on_chunk=save_chunk,
            record_points=record_points,
        )
        reused = sum(i in done and r is done[i] for i, r in enumerate(results))
        process_barrier("store-finished")
        n = len(configs)
        results = [
            load_entry(entry_dir(out, i, n)) if r is None else r for i, r in enumerate(results)
        ]
        if primary:
            write_table(table_rows(configs, results, list(axes)), out)
    return results, reused


def load_sweep(out: str | os.PathLike) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """``(manifest, {index: metrics})`` of a sweep folder; missing indices are pending."""
    out = Path(out)
    manifest = json.loads((out / MANIFEST).read_text())
    n = len(manifest["configs"])
    found = {i: entry_dir(out, i, n) for i in range(n)}
    return manifest, {i: read_metrics(f) for i, f in found.items() if f.exists()}
