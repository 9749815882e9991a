"""The bridge rows rendered as a docs paragraph, from the rows' JSON (never typed by hand).

:func:`render` turns the JSON of ``yi.bridge.subspace_convergence`` and
``yi.bridge.cone_convergence`` (as in ``reports/checks_*.json``: a row's ``to_dict()``) into a
Markdown paragraph with the bridge table. The docs generator (``python -m gapsim.checks.docs``,
:mod:`gapsim.checks.docs`) calls it with the rows of the full report (else the quick one) and
writes the text into docs/population.md's ``<!-- gen:bridge -->`` block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["IDS", "render", "table", "rows_by_id"]

IDS = ("yi.bridge.subspace_convergence", "yi.bridge.cone_convergence")


def _num(v: Any, fmt: str = ".3g") -> str:
    return "–" if v is None else format(v, fmt)


def table(details: Mapping[str, Any]) -> str:
    """The bridge table of one study (a row's ``details``): one line per N."""
    sub = details["setting"]["model"] == "subspace"
    head = "| N | certified starts | gap (rad) | gap - target | precision |"
    head += " abs(P_C c) |" if sub else ""
    head += " L_N - log N | minus F_vMF |"
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for r in details["rows"]:
        if not r["certified"]:
            cells = [str(r["n"]), f"0 of {r['starts']}", "not certified", "", ""]
            cells += [""] if sub else []
            lines.append("| " + " | ".join(cells + ["", ""]) + " |")
            continue
        cells = [
            str(r["n"]),
            f"{r['certified']} of {r['starts']} ({r['at_best']} at best"
            + ("" if r.get("random_at_best", True) else ", only the doubled start")
            + f", spread {r['spread']:.1e})",
            f"{r['gap']:.6f}" + ("" if r.get("gap_identified", True) else " (not identified)"),
            f"{r['gap_minus_target']:.1e}",
            f"{r['gap_precision']:.1e}",
        ]
        if sub:
            cells.append(f"{r['shared']:.1e} (prec. {r['shared_precision']:.1e})")
        cells += [f"{r['loss_minus_log_n']:.7f}", f"{r['loss_minus_F']:+.2e}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fit(f: Mapping[str, Any] | None) -> str:
    if not f:
        return "not fitted (fewer than 3 resolved sizes)"
    lo, hi = f["interval"]
    if lo <= 0 <= hi:  # a rate whose interval holds 0 is no rate
        return f"no rate (the 95% interval of the slope holds 0; {f['points']} sizes)"
    return f"slope {f['slope']:.2f}, 95% interval [{lo:.2f}, {hi:.2f}] ({f['points']} sizes)"


def _paragraph(row: Mapping[str, Any]) -> str:
    d = row["details"]
    s, pop = d["setting"], d["population"]
    where = f"two hyperplanes at phi = {s['phi']:g}" if s["model"] == "subspace" else "the sphere"
    f_ref = pop["F_quadrature"] if pop.get("F_quadrature") is not None else pop["F"]
    stop = d.get("stopped")
    lines = [
        f"**`{row['id']}`** ({where}, d = {s['d']}, kappa = {s['kappa']:g}, tau = "
        f"{s['tau']:g}) **{row['verdict']}** ({row['runtime_s']:.0f} s). "
        f"{row['measured']['sentence']} Population argmin band [{pop['gap_band'][0]:.4f}, "
        f"{pop['gap_band'][1]:.4f}] rad; F_vMF at the argmin {f_ref:.6f} (quadrature; Monte "
        f"Carlo {pop['F']:.4f} +- {pop['F_se']:.1e}). Within the band from N = "
        f"{_num(d['within_band_from_n'])}; largest certified N = "
        f"{_num(d['largest_certified_n'])}"
        + (f" (stopped at N = {stop['n']}: {stop['why']})" if stop else "")
        + f". Fits: |gap - target| {_fit(d['fits']['gap_minus_target'])}"
        + (f"; |P_C c| {_fit(d['fits'].get('shared'))}" if s["model"] == "subspace" else "")
        + f"; decrease of L_N - log N along N -> 2N {_fit(d['fits']['loss_decrease_fit'])}.",
        "",
        table(d),
    ]
    return "\n".join(lines)


def rows_by_id(report: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A report's rows keyed by id: a dict id -> row as it is, or a list of rows."""
    if isinstance(report, Mapping):
        return dict(report)
    return {r["id"]: r for r in report}


def render(rows: Mapping[str, Mapping[str, Any]] | Sequence[Mapping[str, Any]]) -> str:
    """Markdown for the bridge rows present in ``rows`` (id -> a row's JSON dict, or a list)."""
    rows = rows_by_id(rows)
    parts = [_paragraph(rows[i]) for i in IDS if i in rows]
    if not parts:
        return "(no bridge row in this report)"
    return "\n\n".join(parts)
