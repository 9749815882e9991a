"""``gapsim report DIR``: tabulate a results folder (a run, a sweep, or a root holding many).

Every run folder, every config of every sweep folder (:mod:`gapsim.store`) and every
``Result.save`` pair (``run --out PATH``: ``PATH.json`` + ``PATH.npz``) found under ``DIR``
becomes a row: its path, its status (``done``, ``diverged``, ``pending`` for a sweep config not
finished yet, or ``unreadable`` with the reason in ``error``), the config fields that differ
between the rows (``config.steps`` for the step budget, beside the measured ``steps``), then
:data:`COLUMNS`. ``--json`` prints the rows as one JSON list, ``--csv PATH`` writes them with
every metric, ``--sort FIELD`` orders them by any metric (missing values last). A folder with
nothing to report is an error (exit status 2).

Example:
    >>> rows = collect("results")  # doctest: +SKIP
    >>> print(format_table(tabulate(rows, sort="loss")))  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from gapsim.errors import ConfigError

__all__ = ["COLUMNS", "collect", "tabulate", "format_table", "add_report_parser"]

COLUMNS = (
    "loss",
    "centroid_distance",
    "centroid_angle",
    "paired_cosine_mean",
    "converged",
    "steps",
)
"""The measures shown for every entry (from its ``metrics.json``)."""


def collect(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The entries under ``path``: ``{"entry", "status", "config", "metrics"}`` each.

    Raises:
        ConfigError: ``path`` holds no run or sweep folder.
    """
    root = Path(path)
    found: list[dict[str, Any]] = []
    if root.is_dir():
        _walk(root, root, found)
    if not found:
        raise ConfigError("DIR", str(path), "holds no gapsim run or sweep folder")
    return found


def _walk(folder: Path, root: Path, found: list[dict[str, Any]]) -> None:
    from gapsim.store import MANIFEST, entry_dir, load_sweep, read_metrics

    rel = folder.relative_to(root).as_posix() if folder != root else folder.name
    try:
        if (folder / MANIFEST).exists():
            manifest, metrics = load_sweep(folder)
            n = len(manifest["configs"])
            for c in manifest["configs"]:
                i = c["index"]
                name = f"{rel}/{entry_dir(folder, i, n).relative_to(folder).as_posix()}"
                found.append(_row(name, c["config"], metrics.get(i)))
            return
        if (folder / "metrics.json").exists() and (folder / "config.json").exists():
            config = json.loads((folder / "config.json").read_text())["config"]
            found.append(_row(rel, config, read_metrics(folder)))
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
        if not {"config", "measures", "certificate"} <= set(meta):
            return  # some other JSON beside an npz: not ours
        cert = meta["certificate"]
        metrics = {**meta["measures"], "converged": cert["converged"], "steps": cert["steps"]}
        found.append(_row(name, meta["config"], {"diverged": False, **metrics}))
    except (OSError, ValueError, KeyError, TypeError) as e:
        found.append(_unreadable(name, e))


def _row(name: str, config: dict[str, Any], metrics: dict[str, Any] | None) -> dict[str, Any]:
    if metrics is None:
        status = "pending"
    else:
        status = "diverged" if metrics.get("diverged") else "done"
    return {"entry": name, "status": status, "config": config, "metrics": metrics or {}}


def _unreadable(name: str, e: Exception) -> dict[str, Any]:
    reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    return {"entry": name, "status": "unreadable", "config": {}, "metrics": {}, "error": reason}


def tabulate(
    entries: list[dict[str, Any]], sort: str | None = None, full: bool = False
) -> list[dict[str, Any]]:
    """Flat rows: entry, status, the config fields that differ between entries, :data:`COLUMNS`.

    With ``full``, every metric any entry has (not only :data:`COLUMNS`); ``sort`` may name
    any of those either way. Unreadable entries add an ``error`` column.

    Raises:
        ConfigError: ``sort`` is not a column.
    """
    keys = list(dict.fromkeys(k for e in entries for k in e["config"]))
    differ = [
        k
        for k in keys
        if len({json.dumps(e["config"].get(k), sort_keys=True) for e in entries}) > 1
    ]
    extra = [k for e in entries for k in e["metrics"] if k not in differ and k != "diverged"]
    every = list(dict.fromkeys([*COLUMNS, *extra]))  # a config column wins over a metric
    errors = any("error" in e for e in entries)
    rows = [
        {
            "entry": e["entry"],
            "status": e["status"],
            **{(f"config.{k}" if k in COLUMNS else k): e["config"].get(k) for k in differ},
            **{k: e["metrics"].get(k) for k in every},
            **({"error": e.get("error")} if errors else {}),
        }
        for e in entries
    ]
    if sort is not None:
        columns = list(rows[0])
        if sort not in columns:
            raise ConfigError("sort", sort, f"must be one of {', '.join(columns)}")
        present = [r for r in rows if r[sort] is not None]
        missing = [r for r in rows if r[sort] is None]
        try:
            present.sort(key=lambda r: r[sort])
        except TypeError:  # mixed types in one column: compare their text
            present.sort(key=lambda r: str(r[sort]))
        rows = present + missing
    if not full:
        hidden = set(every) - set(COLUMNS)
        rows = [{k: v for k, v in r.items() if k not in hidden} for r in rows]
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """Fixed-width text table of :func:`tabulate`'s rows (``-`` for a missing value)."""
    from gapsim.cli import _fmt

    columns = list(rows[0])
    cells = [[("-" if r[c] is None else _fmt(r[c])) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[j]) for row in cells)) for j, c in enumerate(columns)]
    lines = [" ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    for row in cells:
        lines.append(" ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def add_report_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``report`` subcommand on the ``gapsim`` subparsers."""
    p = sub.add_parser(
        "report",
        help="tabulate a results folder (a run, a sweep, or a root with many)",
        description=__doc__.split("\n\n")[1].replace("``", ""),
    )
    p.add_argument("dir", metavar="DIR", help="a run folder, a sweep folder, or a root of them")
    p.add_argument("--json", action="store_true", help="print the rows as one JSON list")
    p.add_argument("--csv", metavar="PATH", help="also write the rows to PATH as CSV")
    p.add_argument("--sort", metavar="FIELD", help="order by this column (missing values last)")


def run_report_command(ns: argparse.Namespace) -> int:
    """Collect, tabulate and print (or write) the rows; 0 on success."""
    from gapsim.result import _atomic_write_text
    from gapsim.sweep import csv_text

    entries = collect(ns.dir)
    rows = tabulate(entries, ns.sort)
    if ns.csv:  # every metric, not only the displayed columns
        Path(ns.csv).parent.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(Path(ns.csv), csv_text(tabulate(entries, ns.sort, full=True)))
    if ns.json:
        print(json.dumps(rows))
        return 0
    print(format_table(rows))
    states = ("done", "diverged", "pending", "unreadable")
    counts = {s: sum(r["status"] == s for r in rows) for s in states}
    print(f"{len(rows)} entries: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if ns.csv:
        print(f"csv: {ns.csv}")
    return 0
