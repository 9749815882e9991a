"""A measure against a swept field: the picture after a sweep (``report``/``sweep --plot``).

:func:`plot_field` takes the entries of :func:`gapsim.app.runs.collect` (or
:func:`gapsim.app.runs.entries`): one point per finished run at ``(config[field],
metrics[measure])``, one line per combination of the other config fields that differ between the
entries (e.g. one line per ``learn_tau`` when ``tau`` is on the abscissa), one panel per measure.
Diverged, pending and unreadable entries and missing values (NaN: an undefined centroid angle) are
left out and counted in the title. A numeric field spanning more than a factor 20 of positive values
gets a log axis. Drawing goes through :mod:`gapsim.app.plotting` (the one module importing
matplotlib).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gapsim.errors import ConfigError

__all__ = ["DEFAULT_MEASURES", "plot_field", "check_plot_request"]

DEFAULT_MEASURES = ("centroid_distance",)
"""The measure drawn when none is named: the gap."""


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def check_plot_request(
    entries: Sequence[dict[str, Any]], field: str, measures: Sequence[str]
) -> None:
    """Raise ConfigError unless ``field`` is a config field that varies and each measure exists.

    Raises:
        ConfigError: the field is absent or takes one value only, or a measure is in no entry.
    """
    values = {json.dumps(e["config"].get(field)) for e in entries if field in e["config"]}
    if not values:
        fields = sorted({k for e in entries for k in e["config"]})
        raise ConfigError("plot", field, f"must be a config field: {', '.join(fields)}")
    if len(values) < 2:
        raise ConfigError("plot", field, "takes one value only here: nothing to plot against")
    known = {k for e in entries for k in e["metrics"]}
    for m in measures:
        if known and m not in known:
            raise ConfigError("plot_y", m, f"must be a measure: {', '.join(sorted(known))}")


def plot_field(
    entries: Sequence[dict[str, Any]],
    field: str,
    path: str | Path,
    measures: Sequence[str] = DEFAULT_MEASURES,
) -> Path:
    """Draw each measure against ``field`` (module docstring) to ``path`` (PNG).

    Raises:
        ConfigError: as :func:`check_plot_request`, or no finished entry has a number to draw.
    """
    from gapsim.app.plotting import figure, save, series_colors

    check_plot_request(entries, field, measures)
    done = [e for e in entries if e["status"] == "done" and field in e["config"]]
    others = [
        k
        for k in dict.fromkeys(k for e in done for k in e["config"])
        if k != field and len({json.dumps(e["config"].get(k)) for e in done}) > 1
    ]
    groups: dict[str, list[dict[str, Any]]] = {}
    for e in done:
        label = ", ".join(f"{k}={e['config'].get(k)}" for k in others)
        groups.setdefault(label, []).append(e)
    xs_all = [_number(e["config"][field]) for e in done]
    numeric = all(v is not None for v in xs_all) and bool(xs_all)
    categories = sorted({str(e["config"][field]) for e in done})
    fig, axes = figure(len(measures), 1, width=4.2, height=3.2, squeeze=False)
    drawn = 0
    for ax, m in zip(axes[0], measures, strict=True):
        for (label, es), color in zip(groups.items(), series_colors(len(groups)), strict=True):
            pts = []
            for e in es:
                y = _number(e["metrics"].get(m))
                xv = e["config"][field]
                x = _number(xv) if numeric else categories.index(str(xv))
                if y is not None:
                    pts.append((x, y))
            pts.sort()
            if pts:
                drawn += len(pts)
                ax.plot(*zip(*pts, strict=True), "o-", color=color, label=label or None)
        if numeric:
            pos = [v for v in xs_all if v is not None and v > 0]
            if len(pos) == len(xs_all) and max(pos) > 20 * min(pos):
                ax.set_xscale("log")
        else:
            ax.set_xticks(range(len(categories)), categories)
        ax.set(xlabel=field, ylabel=m)
        if len(groups) > 1:
            ax.legend(fontsize=7)
    if not drawn:
        raise ConfigError("plot", field, "no finished run has a value to draw")
    skipped = len(entries) - len(done)
    note = f"; {skipped} not done (diverged, pending or unreadable) left out" if skipped else ""
    fig.suptitle(f"{len(done)} runs against {field}{note}", fontsize=9)
    return save(fig, path)
