r"""The teaching page: one self-contained HTML file that tells the modality-gap story.

``gapsim demo --html PAGE.html`` (:func:`build_page`) computes the chapters
(:mod:`gapsim.demos.chapters`), draws each as a plotly figure (the sphere with both
modalities, their pairs and means, beside the chapter's curve) and writes one page with
plotly.js embedded: no server and no network when it is viewed. Plotly's Python package builds
the figures; it writes standalone pages, animates 3-D scatter plots in WebGL and is widely
used and maintained. A small script (``page.js``) swaps the plotted points when a slider moves
or the animation plays: the sliders select among the precomputed runs (nothing is computed in
the browser), and every number printed is a string made by :mod:`gapsim.demos.page_data`
from the engine's values.

Size: plotly.js is about 4.8 MB; the runs add little (coordinates rounded to 1e-3, which is
below a pixel at the page's plot size), so a page stays well under 15 MB.
"""

from __future__ import annotations

import html
import json
import math
import time
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from gapsim._version import __version__
from gapsim.demos.page_data import Chapter, Run

__all__ = ["PageInfo", "build_page", "page_html", "chapter_figure", "TRACES"]

COLORS = {"x": "#d95f02", "y": "#1b6ac9", "pair": "#9a9a9a", "mark": "#555555"}
"""X orange and Y blue, as in the GIFs and figures (:data:`gapsim.app.plotting.COLORS`)."""
SERIES_COLORS = ("#d95f02", "#1b6ac9")
FONT_PX = 20
"""Plot text (ticks, legend); axis titles and the page's captions are larger (>= 24 px)."""
PLOT_HEIGHT_PX = 620
DECIMALS = 3
"""Coordinates are rounded to 1e-3 on the unit sphere: a fraction of a pixel on the plot."""
TRACES = {"sphere": 0, "planes": 1, "pairs": 2, "x": 3, "y": 4, "means": 5, "cursor": 6}
"""Trace indices of every chapter figure; the curve's series follow, then the marks."""
MAX_SERIES = 2


class PageInfo(NamedTuple):
    """What :func:`build_page` wrote: the path, its size, the time taken, the chapters."""

    path: Path
    bytes: int
    seconds: float
    chapters: list[Chapter]


def _r(a: Any) -> Any:
    """Rounded plain lists for JSON (NaN becomes ``None``: a break in a plotly line)."""
    a = np.round(np.asarray(a, np.float64), DECIMALS)
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    return out.tolist()


def _json_floats(obj: Any) -> str:
    """JSON with NaN written as ``null`` (``json`` would write the invalid ``NaN``)."""

    def fix(o: Any) -> Any:
        if isinstance(o, float):
            return o if math.isfinite(o) else None
        if isinstance(o, list | tuple):
            return [fix(v) for v in o]
        if isinstance(o, dict):
            return {k: fix(v) for k, v in o.items()}
        return o

    return json.dumps(fix(obj), ensure_ascii=False, separators=(",", ":"))


def _circle(basis: np.ndarray, n: int = 73) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n)
    return (basis[:, :1] * np.cos(t) + basis[:, 1:] * np.sin(t)).T  # (n, 3)


def _wireframe() -> list[list[float | None]]:
    """Parallels every 30 degrees and 8 meridians of the unit sphere, as x, y, z with breaks."""
    e = np.eye(3)
    out: list[list[float | None]] = [[], [], []]
    rings = [
        np.stack([e[:, 0], e[:, 1]], 1) * np.sin(t) for t in np.radians((30, 60, 90, 120, 150))
    ]
    lifts = [np.cos(t) * e[:, 2] for t in np.radians((30, 60, 90, 120, 150))]
    curves = [_circle(b) + lift for b, lift in zip(rings, lifts, strict=True)]
    for a in np.radians(np.arange(0, 180, 22.5)):
        meridian = np.stack([np.cos(a) * e[:, 0] + np.sin(a) * e[:, 1], e[:, 2]], 1)
        curves.append(_circle(meridian))
    for c in curves:
        for k in range(3):
            out[k] += [*np.round(c[:, k], DECIMALS).tolist(), None]
    return out


def run_data(run: Run) -> dict[str, Any]:
    """One run as the page's script reads it (coordinates rounded, NaN as null)."""
    z = np.asarray(run.z)  # (F, 2, N, 3)
    pts = np.moveaxis(z, -1, -2)  # (F, 2, 3, N)
    means = z.mean(axis=-2)  # (F, 2, 3)
    planes = [[], [], []]
    for b in run.planes:
        c = _circle(np.asarray(b))
        for k in range(3):
            planes[k] += [*c[:, k].tolist(), None]
    main = run.series[0]
    cursor_y = np.interp(run.t, main.t, np.nan_to_num(main.values, nan=0.0))
    values = np.concatenate([np.asarray(s.values)[np.isfinite(s.values)] for s in run.series])
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    marks_x, marks_y = [], []
    for _, x in run.marks:
        marks_x += [x, x, None]
        marks_y += [lo, hi, None]
    return {
        "z": _r(pts),
        "m": _r(means),
        "nums": list(run.numbers),
        "t": np.asarray(run.t, np.float64).tolist(),
        "cy": _r(cursor_y),
        "series": [[np.asarray(s.t).tolist(), _r(s.values)] for s in run.series],
        "planes": [[None if v is None else round(v, DECIMALS) for v in p] for p in planes],
        "marks": [marks_x, marks_y],
        "summary": run.summary,
    }


def chapter_figure(ch: Chapter, default: int) -> dict[str, Any]:
    """The plotly figure of a chapter (as a dict), drawn at run ``default``'s last frame."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    run = ch.runs[default]
    fig = make_subplots(
        rows=1,
        cols=2,
        specs=[[{"type": "scene"}, {"type": "xy"}]],
        column_widths=[0.52, 0.48],
        horizontal_spacing=0.1,
    )
    fig.add_trace(  # a wireframe: a shaded surface costs ~2 s of software WebGL at load
        go.Scatter3d(
            **dict(zip("xyz", _wireframe(), strict=True)),
            mode="lines",
            line=dict(color="#c8cdd4", width=2),
            hoverinfo="skip",
            name="unit sphere",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    line3 = dict(mode="lines", hoverinfo="skip")
    fig.add_trace(
        go.Scatter3d(
            name="the modalities' planes", line=dict(color="#999", width=3, dash="dash"), **line3
        ),
        1,
        1,
    )
    fig.add_trace(
        go.Scatter3d(name="pairs", line=dict(color=COLORS["pair"], width=4), **line3), 1, 1
    )
    for key, name in (("x", "X (e.g. images)"), ("y", "Y (e.g. captions)")):
        marker = dict(size=7, color=COLORS[key], line=dict(width=1, color="white"))
        fig.add_trace(go.Scatter3d(name=name, mode="markers", marker=marker), 1, 1)
    fig.add_trace(
        go.Scatter3d(
            name="means x̄, ȳ",
            mode="lines+markers",
            marker=dict(size=6, symbol="diamond", color=[COLORS["x"], "black", COLORS["y"]]),
            line=dict(color="black", width=5),
        ),
        1,
        1,
    )
    fig.add_trace(
        go.Scatter(
            name="now",
            mode="markers",
            marker=dict(size=16, color="black", symbol="circle-open", line=dict(width=3)),
        ),
        1,
        2,
    )
    for k in range(MAX_SERIES):
        name = run.series[k].name if k < len(run.series) else ""
        color = SERIES_COLORS[k]
        fig.add_trace(
            go.Scatter(
                name=name, mode="lines", line=dict(color=color, width=3), showlegend=bool(name)
            ),
            1,
            2,
        )
    mark_name = run.marks[0][0] if run.marks else ""
    fig.add_trace(
        go.Scatter(
            name=mark_name,
            mode="lines",
            line=dict(color=COLORS["mark"], dash="dash", width=2),
            showlegend=bool(mark_name),
        ),
        1,
        2,
    )
    axis3 = dict(visible=False, range=[-1.05, 1.05])
    fig.update_layout(
        template="plotly_white",
        height=PLOT_HEIGHT_PX,
        margin=dict(l=10, r=10, t=70, b=10),
        font=dict(size=FONT_PX),
        uirevision="keep",
        legend=dict(orientation="h", x=0.0, y=1.02, yanchor="bottom", font=dict(size=FONT_PX)),
        scene=dict(
            xaxis=axis3,
            yaxis=axis3,
            zaxis=axis3,
            aspectmode="cube",
            camera=dict(eye=dict(x=0.95, y=0.95, z=0.55)),
        ),
    )
    fig.update_xaxes(
        title=dict(text=ch.xlabel, font=dict(size=24)),
        type="log" if ch.log_x else "linear",
        row=1,
        col=2,
    )
    fig.update_yaxes(title=dict(text=ch.ylabel, font=dict(size=24)), row=1, col=2)
    return json.loads(fig.to_json())


def _controls(ch: Chapter, default: tuple[int, ...]) -> str:
    rows = []
    for i, (ax, d) in enumerate(zip(ch.axes, default, strict=True)):
        rows.append(
            f'<label class="slider">{html.escape(ax.label)} '
            f'<input type="range" min="0" max="{len(ax.values) - 1}" step="1" value="{d}" '
            f'data-axis="{i}" aria-label="{html.escape(ax.label)}">'
            f'<output data-axis-text="{i}">{html.escape(ax.texts[d])}</output></label>'
        )
    rows.append(
        '<span class="anim"><button type="button" class="play" aria-label="play">▶ play</button>'
        '<label class="slider">frame <input type="range" min="0" max="1" step="1" value="1" '
        'data-frame="1" aria-label="frame"></label></span>'
    )
    return "\n".join(rows)


def _numbers_html(ch: Chapter) -> str:
    return " ".join(
        f'<span class="q"><span class="ql">{html.escape(label)}</span> '
        f'<span class="qv" data-q="{key}"></span></span>'
        for key, label in ch.quantities
    )


def _default_index(ch: Chapter) -> tuple[int, ...]:
    """Each slider starts at its middle value (rounded down)."""
    return tuple((len(ax.values) - 1) // 2 for ax in ch.axes)


def chapter_html(ch: Chapter) -> str:
    """The section of one chapter: heading, caption, sliders, numbers, plot and its data."""
    default = _default_index(ch)
    flat = 0
    for i, ax in zip(default, ch.axes, strict=True):
        flat = flat * len(ax.values) + i
    data = {
        "key": ch.key,
        "sizes": [len(ax.values) for ax in ch.axes],
        "texts": [list(ax.texts) for ax in ch.axes],
        "traces": {**TRACES, "series": 7, "marks": 7 + MAX_SERIES},
        "runs": [run_data(r) for r in ch.runs],
    }
    fig = chapter_figure(ch, flat)
    return f"""
<section class="chapter" id="{ch.key}" data-chapter="{ch.key}">
<h2>{html.escape(ch.title)}</h2>
<div class="controls">{_controls(ch, default)}</div>
<p class="numbers">{_numbers_html(ch)}</p>
<div class="plot" id="plot-{ch.key}"></div>
<p class="caption">{ch.caption}</p>
<p class="setting">{html.escape(ch.setting)}</p>
<p class="summary" data-summary="1"></p>
<script type="application/json" class="chapter-data">{_script_json(data)}</script>
<script type="application/json" class="chapter-figure">{_script_json(fig)}</script>
</section>"""


def _script_json(obj: Any) -> str:
    """JSON safe inside a ``<script>`` element (no ``</`` can close it)."""
    return _json_floats(obj).replace("</", "<\\/")


def _asset(name: str) -> str:
    return resources.files("gapsim.demos").joinpath(name).read_text(encoding="utf-8")


def page_html(chapters: list[Chapter], footer: str = "") -> str:
    """The whole page: plotly.js, the style, every chapter and the script, in one string."""
    from plotly.offline import get_plotlyjs

    sections = "\n".join(chapter_html(ch) for ch in chapters)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The modality gap, in four chapters (gapsim)</title>
<style>{_asset("page.css")}</style>
<script>{get_plotlyjs()}</script>
</head><body>
<header><h1>Why is there a modality gap?</h1>
<p class="caption">Contrastive learning (CLIP's InfoNCE loss) places paired points, X (orange) and
Y (blue), on a sphere. The <b>gap</b> is the distance between the two modalities' means,
‖x̄ − ȳ‖; the <b>centroid angle</b> is the angle between them. Each chapter is a small grid of
simulations by gapsim: the sliders choose a setting, ▶ plays how the points move. Drag the
sphere to turn it.</p></header>
{sections}
<footer><p>{footer}</p></footer>
<script>{_asset("page.js")}</script>
</body></html>
"""


def build_page(
    path: str | Path,
    size: str = "quick",
    store: str | Path | None = "results",
    *,
    progress: bool = False,
) -> PageInfo:
    """Compute the chapters (or load them from ``store``) and write the page to ``path``.

    The caller checks ``path`` first (:func:`gapsim.cli._paths.check_output_file`); the page
    is written to a temporary name and renamed, so a failed build leaves no half page.
    """
    from gapsim.app.result import _atomic_write_text
    from gapsim.demos.chapters import build_chapters

    t0 = time.perf_counter()
    chapters = build_chapters(size, store, progress)
    footer = (
        f"Built by <code>gapsim demo --html</code> (gapsim {html.escape(__version__)}, size "
        f"{html.escape(size)}); runs computed by the sweep engine"
        + (f" and cached in <code>{html.escape(str(store))}/page</code>" if store else "")
        + ". Every number on the page is the engine's value for that setting and frame."
    )
    path = Path(path)
    _atomic_write_text(path, page_html(chapters, footer))
    return PageInfo(path, path.stat().st_size, time.perf_counter() - t0, chapters)
