"""Run checks and render the verdict table (terminal), the markdown report and JSON."""

from __future__ import annotations

import json
import math
import posixpath
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gapsim.checks.base import CheckResult, run_check, select

__all__ = ["run_checks", "verdict_table", "markdown_report", "to_json", "FIGURES"]

FIGURES: dict[str, tuple[str, ...]] = {
    "yi.cone.gap_zero": ("yi_fig1.png", "demos/cone.gif"),
    "yi.subspace.gap_vs_phi": ("gap_vs_angle.png", "demos/hyperplanes.gif"),
    "yi.subspace.gap_vs_theta1": ("gap_vs_angle.png",),
    "yi.subspace.pair_structure": ("yi_pair_structure.png",),
    "yi.ssp.perfect_alignment": ("yi_pair_structure.png",),
    "yi.rotation.perfect_alignment": ("yi_pair_structure.png",),
    "yi.unconstrained.simplex": ("yi_fig1.png", "demos/closing.gif"),
    "yaras.initial_rate": ("yaras_initial_rate.png",),
    "yaras.sign_rule": ("yaras_fig2.png", "demos/yaras.gif"),
    "yaras.learnable_tau_slow_closure": ("yaras_fig4a.png",),
    "yaras.fixed_tau_exponential": ("yaras_tables.png",),
    "yaras.schedule_rate": ("yaras_tables.png",),
    "yaras.swapping_monotone": ("yaras_tables.png",),
    "liang.shift_minimum": ("liang_shift.png", "demos/shift.gif"),
    "grassucci.rankings_invariant": ("grassucci_fig1.png",),
    "grassucci.clustering_vs_retrieval": ("grassucci_fig1.png",),
}
"""Check id -> the figures (under the repository's ``figures/``) that show the same claim."""


def _figure_links(check_id: str, figures_dir: str) -> str:
    names = FIGURES.get(check_id, ())
    return ", ".join(f"[{n}]({figures_dir}/{n})" for n in names) or "none"


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


def verdict_table(results: list[CheckResult]) -> str:
    """A fixed-width table: id, verdict, predicted, measured, tolerance, seconds."""
    head = f"{'check':<36} {'verdict':<12} {'predicted':<30} {'measured':<38} {'tol':<9} {'s':>5}"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.id:<36} {r.verdict:<12} {_short(r.predicted, 30):<30} "
            f"{_short(r.measured):<38} {_short(r.tolerance, 9):<9} {r.runtime_s:>5.1f}"
        )
    counts = {
        v: sum(r.verdict == v for r in results)
        for v in ("agrees", "disagrees", "inconclusive", "error")
    }
    lines.append(", ".join(f"{k}: {n}" for k, n in counts.items()))
    return "\n".join(lines)


def _md(v: Any) -> str:
    return json.dumps(v, default=str) if not isinstance(v, str) else v


def markdown_report(
    results: list[CheckResult], quick: bool, wall_s: float, figures_dir: str = "../figures"
) -> str:
    """The markdown report: summary table, then each check with every number behind it.

    ``figures_dir``: the figures folder as a link relative to the report (the default suits a
    report in ``reports/``).
    """
    tier = "quick" if quick else "full"
    theory = posixpath.join(posixpath.dirname(figures_dir) or ".", "docs/theory.md")
    out = [
        f"# gapsim check: {tier} tier",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M:%S %Z')} in {wall_s:.1f} s. "
        "Verdicts: agrees / disagrees / inconclusive (not converged, ill-conditioned measure, "
        "too few seeds); tolerances fixed from first principles in each check. The claims: "
        f"[docs/theory.md]({theory}).",
        "",
        "| check | paper | verdict | predicted | measured | tolerance | s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        d = r.to_dict()
        out.append(
            f"| `{r.id}` | {r.paper} | **{r.verdict}** | {_short(d['predicted'], 60)} | "
            f"{_short(d['measured'], 80)} | {_short(d['tolerance'], 20)} | {r.runtime_s:.1f} |"
        )
    for r in results:
        d = r.to_dict()
        out += [
            "",
            f"## `{r.id}`: {r.verdict}",
            "",
            f"- paper: {r.paper}",
            f"- claim: {r.claim}",
            f"- predicted: `{_md(d['predicted'])}`",
            f"- measured: `{_md(d['measured'])}`",
            f"- tolerance: `{_md(d['tolerance'])}`; why: {r.why_tolerance}",
            f"- figures: {_figure_links(r.id, figures_dir)}",
            "",
            "<details><summary>details</summary>",
            "",
            "```json",
            json.dumps(d["details"], indent=1, default=str)[:20000],
            "```",
            "",
            "</details>",
        ]
    return "\n".join(out) + "\n"


def to_json(results: list[CheckResult]) -> str:
    """A JSON list of objects (id, paper, claim, verdict, predicted, measured, tolerance, ...)."""
    return json.dumps([r.to_dict() for r in results], default=str)


def write_report(path: str, text: str) -> Path:
    """Write the markdown report (creating parent folders)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p
