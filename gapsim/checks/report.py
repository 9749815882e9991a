"""Run checks and render the verdict table (terminal), the markdown report and JSON.

Each row names the measured quantity and its unit, the regime (N, d, tau, solver, certified),
the prediction, the measurement, the verdict and, for ``inconclusive``, what would decide it.
The markdown report never truncates: every number behind the verdicts goes to a JSON file
beside it (:func:`write_report`), which the report links. The report is a function of its
JSON: its counts are counted from its rows, and a report assembled from several runs (one per
group of checks, ``gapsim check --only 'GROUP.*' --report PATH --merge``) is re-rendered from
the merged JSON (:func:`results_from_json`), so its text cannot disagree with its rows.
"""

from __future__ import annotations

import json
import math
import posixpath
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gapsim.checks.base import CheckResult, run_check, worst_verdict
from gapsim.checks.runner import select

__all__ = [
    "run_checks",
    "verdict_table",
    "markdown_report",
    "to_json",
    "write_report",
    "results_from_json",
    "verdict_counts",
    "figure_links",
    "worst_verdict",
]


def figure_links(result: CheckResult, figures_dir: str) -> str:
    """Markdown links to the figures the check declared at registration ("none" if none)."""
    return ", ".join(f"[{n}]({figures_dir}/{n})" for n in result.figures) or "none"


def run_checks(
    pattern: str | None = None,
    quick: bool = False,
    progress: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Run every check whose id matches ``pattern`` (all when None) in registry order."""
    out = []
    for c in select(pattern):
        r = run_check(c, quick)
        out.append(r)
        if progress is not None:
            progress(r)
    return out


def _short(v: Any, width: int = 38) -> str:
    if isinstance(v, float):
        s = "nan" if math.isnan(v) else f"{v:.4g}"
    elif isinstance(v, dict):
        s = ", ".join(f"{k}: {_short(x, 12)}" for k, x in v.items())
    elif isinstance(v, (list, tuple)):
        s = "[" + ", ".join(_short(x, 10) for x in v) + "]"
    else:
        s = str(v)
    return s if len(s) <= width else s[: width - 3] + "..."


def _quantity(r: CheckResult) -> str:
    return f"{r.quantity} [{r.unit}]" if r.unit else r.quantity


def verdict_table(results: list[CheckResult]) -> str:
    """A fixed-width table: id, verdict, quantity [unit], predicted, measured, tol, seconds.

    Below each row, indented: the regime and, for ``inconclusive``, what would decide it.
    """
    head = (
        f"{'check':<40} {'verdict':<12} {'quantity [unit]':<34} {'predicted':<22} "
        f"{'measured':<30} {'tol':<9} {'s':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.id:<40} {r.verdict:<12} {_short(_quantity(r), 34):<34} "
            f"{_short(r.predicted, 22):<22} {_short(r.measured, 30):<30} "
            f"{_short(r.tolerance, 9):<9} {r.runtime_s:>6.1f}"
        )
        if r.regime:
            lines.append(f"    regime: {r.regime}")
        if r.verdict == "inconclusive" and r.decides:
            lines.append(f"    decided by: {r.decides}")
    lines.append(", ".join(f"{k}: {n}" for k, n in verdict_counts(results).items()))
    return "\n".join(lines)


def verdict_counts(results: list[CheckResult]) -> dict[str, int]:
    """How many results have each verdict (agrees, disagrees, inconclusive, error)."""
    return {
        v: sum(r.verdict == v for r in results)
        for v in ("agrees", "disagrees", "inconclusive", "error")
    }


def _md(v: Any) -> str:
    return json.dumps(v, default=str) if not isinstance(v, str) else v


def _cell(s: str) -> str:
    return s.replace("|", "\\|")


def markdown_report(
    results: list[CheckResult],
    quick: bool,
    wall_s: float,
    figures_dir: str = "../figures",
    details_link: str | None = None,
) -> str:
    """The markdown report: the verdict table, then each check's claim, tolerance and links.

    ``figures_dir``: the figures folder as a link relative to the report. ``details_link``: the
    JSON file with every number behind the verdicts (see :func:`write_report`), linked from
    each check; when None the details are not mentioned. ``wall_s < 0``: the rows come from
    several runs (merged), and the header gives the sum of their times.
    """
    tier = "quick" if quick else "full"
    theory = posixpath.join(posixpath.dirname(figures_dir) or ".", "docs/theory.md")
    counts = ", ".join(f"{k} {n}" for k, n in verdict_counts(results).items() if n)
    when = (
        f"in {wall_s:.1f} s"
        if wall_s >= 0
        else f"from runs merged by group ({sum(r.runtime_s for r in results):.1f} s of checks)"
    )
    out = [
        f"# gapsim check: {tier} tier",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M:%S %Z')} {when}; {len(results)} checks: "
        f"{counts}. Code: {', '.join(sorted({r.code or 'unstamped' for r in results}))}. "
        "Verdicts: agrees / disagrees / inconclusive (the measurement cannot "
        "decide; the row says what would). Each tolerance is derived from the measured quantity "
        "(its `why` below). The claims: "
        f"[docs/theory.md]({theory}).",
        "",
        "| check | verdict | quantity [unit] | regime | predicted | measured | tolerance | s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        d = r.to_dict()
        out.append(
            f"| `{r.id}` | **{r.verdict}** | {_cell(_quantity(r))} | {_cell(r.regime)} | "
            f"{_cell(_short(d['predicted'], 60))} | {_cell(_short(d['measured'], 80))} | "
            f"{_cell(_short(d['tolerance'], 20))} | {r.runtime_s:.1f} |"
        )
    for r in results:
        d = r.to_dict()
        out += [
            "",
            f"## `{r.id}`: {r.verdict}",
            "",
            f"- paper: {r.paper}",
            f"- claim: {r.claim}",
            f"- quantity: {_quantity(r) or 'n/a'}",
            f"- regime: {r.regime or 'n/a'}",
            f"- predicted: `{_md(d['predicted'])}`",
            f"- measured: `{_md(d['measured'])}`",
            f"- tolerance: `{_md(d['tolerance'])}`; why: {r.why_tolerance}",
        ]
        if r.verdict == "inconclusive":
            out.append(f"- decided by: {r.decides or 'not stated'}")
        out.append(f"- figures: {figure_links(r, figures_dir)}")
        if details_link:
            out.append(f"- every number: [`{details_link}`]({details_link}) (key `{r.id}`)")
    return "\n".join(out) + "\n"


def to_json(results: list[CheckResult]) -> str:
    """A JSON list of objects (id, paper, claim, verdict, predicted, measured, tolerance, ...)."""
    return json.dumps([r.to_dict() for r in results], default=str)


def results_from_json(path: str | Path) -> list[CheckResult]:
    """The results stored by :func:`write_report` (a JSON object id -> result), in file order."""
    data = json.loads(Path(path).read_text())
    out = []
    for d in data.values():
        d = {**d, "figures": tuple(d.get("figures") or ())}
        out.append(CheckResult(**{k: d[k] for k in CheckResult._fields if k in d}))
    return out


def _registry_order(results: list[CheckResult]) -> list[CheckResult]:
    order = {c.id: i for i, c in enumerate(select(None))}
    return sorted(results, key=lambda r: order.get(r.id, len(order)))


def write_report(
    path: str,
    results: list[CheckResult],
    quick: bool,
    wall_s: float,
    figures_dir: str = "../figures",
    merge: bool = False,
) -> tuple[Path, Path]:
    """Write the markdown report at ``path`` and every result, in full, to JSON beside it.

    The JSON file has the report's name with ``.json``: an object mapping each check id to
    its :meth:`CheckResult.to_dict`. Nothing is truncated. With ``merge`` the results replace
    their ids in the JSON already there (the other rows are kept, checks no longer registered
    are dropped) and the report is rendered from the merged rows. Returns both paths.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    j = p.with_suffix(".json")
    if merge and j.exists():
        registered = {c.id for c in select(None)}
        kept = {r.id: r for r in results_from_json(j) if r.id in registered}
        kept.update({r.id: r for r in results})
        results, wall_s = _registry_order(list(kept.values())), -1.0
    rows = {r.id: r.to_dict() for r in results}
    j.write_text(json.dumps(rows, indent=1, default=str))
    p.write_text(markdown_report(results, quick, wall_s, figures_dir, details_link=j.name))
    return p, j
