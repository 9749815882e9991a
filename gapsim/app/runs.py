"""The runs under a folder as rows: what ``gapsim report DIR`` tabulates (the library part).

Every run folder, every config of every sweep folder (:mod:`gapsim.app.store`) and every
``Result.save`` pair (``run --out PATH``: ``PATH.json`` + ``PATH.npz``) found under a folder
becomes an entry (:func:`collect`): its path, its status (``done``, ``diverged``, ``pending`` for
a sweep config not finished yet, or ``unreadable`` with the reason in ``error``: a corrupt
file never stops the report), its config and its metrics. :func:`tabulate` flattens the entries
into rows: the config fields that differ between the entries (``config.steps`` for the step
budget, beside the measured ``steps``), then :data:`COLUMNS` (``full=True``: every metric).
:func:`format_table` prints rows as fixed-width text, a missing value as :data:`MISSING`
(the one spelling every ``gapsim`` command uses). The command itself is :mod:`gapsim.cli.report`.

Example:
    >>> rows = collect("results")  # doctest: +SKIP
    >>> print(format_table(tabulate(rows, sort="loss")))  # doctest: +SKIP
    >>> format_value(0.123456789), format_value(None), format_value(float("nan"))
    ('0.123457', '-', '-')
    >>> format_value([1.0, True])
    '[1, True]'
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from typing import Any

from gapsim.errors import ConfigError

__all__ = [
    "COLUMNS",
    "MISSING",
    "collect",
    "entries",
    "tabulate",
    "format_value",
    "format_table",
]

COLUMNS = (
    "loss",
    "centroid_distance",
    "centroid_angle",
    "paired_cosine_mean",
    "converged",
    "steps",
)
"""The measures shown for every entry (from its ``metrics.json``)."""

MISSING = "-"
"""How a missing value (``None``, NaN in JSON) prints in every text table and summary."""


def collect(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The entries under ``path`` (:func:`gapsim.app.store.walk`, the walker ``store.load`` uses).

    Each is ``{"entry", "status", "config", "metrics"}`` (``"error"`` when unreadable);
    ``entry`` is the path relative to ``path``.

    Raises:
        ConfigError: ``path`` holds no run or sweep folder.
    """
    from gapsim.app.store import walk

    found = walk(path)
    if not found:
        raise ConfigError("DIR", str(path), "holds no gapsim run or sweep folder")
    return found


def entries(configs: Sequence[Any], results: Sequence[Any]) -> list[dict[str, Any]]:
    """Entries as :func:`collect` gives, for results in memory (a sweep run with ``--no-store``).

    ``entry`` is the config's index; a :class:`~gapsim.errors.DivergenceError` is ``diverged``.
    """
    from gapsim.errors import DivergenceError

    out = []
    for i, (cfg, r) in enumerate(zip(configs, results, strict=True)):
        if isinstance(r, DivergenceError):
            metrics = {"diverged": True, "error": str(r)}
        else:
            metrics = {"diverged": False, **r.summary()}
        status = "diverged" if metrics["diverged"] else "done"
        out.append({"entry": str(i), "status": status, "config": cfg.to_dict(), "metrics": metrics})
    return out


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


def format_value(v: Any) -> str:
    """One cell of text: floats to 6 significant digits, lists bracketed, ``None``/NaN as ``-``.

    NaN is how a measure that is undefined (a centroid angle between vanishing means) or
    missing travels in memory; JSON carries it as ``null``, text as :data:`MISSING`.
    """
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return MISSING
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    return str(v)


def format_table(rows: list[dict[str, Any]]) -> str:
    """Fixed-width text table of :func:`tabulate`'s rows (``-`` for a missing value)."""
    columns = list(rows[0])
    cells = [[format_value(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[j]) for row in cells)) for j, c in enumerate(columns)]
    lines = [" ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    for row in cells:
        lines.append(" ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
