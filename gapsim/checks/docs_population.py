"""The generated paragraphs of docs/population.md (:mod:`gapsim.checks.docs`).

``population:rows``: what the population rows find, tier by tier; ``population:regime-map``:
the regimes of the finite-N free-point optima of ``yi.subspace.gap_vs_phi`` (the full report's,
else the quick one's), one table row per regime with its settings, and what
``yi.subspace.gap_vs_theta1`` finds. Every number is read from the reports' JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

__all__ = ["render", "ROWS"]

ROWS = (
    "yi.cone.population_argmin",
    "yi.subspace.centre_pair_argmin",
    "yi.subspace.population_argmin",
)
"""The population rows, in the order docs/population.md discusses them."""


def _rows(reports: Mapping, status: Callable) -> str:
    return "\n".join(f"- `{cid}`: {status(cid, reports)}." for cid in ROWS)


def _setting(r: dict, fmt: Callable) -> str:
    return f"N={r['n']} d={r['d']} tau={fmt(r['tau'])} phi={fmt(r['phi'])}"


def _regime_map(reports: Mapping, fmt: Callable) -> str:
    has = [t for t in ("full", "quick") if "yi.subspace.gap_vs_phi" in reports.get(t, {})]
    tier = has[0] if has else ""
    if not tier:
        return "No report holds `yi.subspace.gap_vs_phi` yet."
    row = reports[tier]["yi.subspace.gap_vs_phi"]
    runs = row["details"]["runs"]
    groups: dict[str, list[dict]] = {}
    for r in runs:
        groups.setdefault(r["regime"], []).append(r)
    lines = [
        f"From the {tier} report ({len(runs)} settings; verdict **{row['verdict']}**):",
        "",
        "| regime | settings | where |",
        "| --- | --- | --- |",
    ]
    for regime, rs in groups.items():
        more = f"; ... ({len(rs)})" if len(rs) > 6 else ""
        where = "; ".join(_setting(r, fmt) for r in rs[:6]) + more
        lines.append(f"| {regime} | {len(rs)} | {where} |")
    sentence = row["measured"].get("sentence") if isinstance(row["measured"], dict) else None
    if sentence:
        lines += ["", sentence]
    theta = reports[tier].get("yi.subspace.gap_vs_theta1")
    if theta is not None and isinstance(theta["measured"], dict):
        lines += [
            "",
            f"k-dimensional subspaces with trivial intersection (`yi.subspace.gap_vs_theta1`, "
            f"{tier}): **{theta['verdict']}**. {theta['measured'].get('sentence', '')}",
        ]
    return "\n".join(lines)


def render(name: str, reports: Mapping, status: Callable, fmt: Callable) -> str:
    """The text of block ``population:NAME`` (``status``, ``fmt``: :mod:`gapsim.checks.docs`'s).

    (Passed in, so that this module imports nothing of the generator that calls it.)
    """
    if name == "rows":
        return _rows(reports, status)
    if name == "regime-map":
        return _regime_map(reports, fmt)
    raise KeyError(f"no population block {name!r}")
