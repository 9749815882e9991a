"""Numbers in the docs come from the reports: rewrite the marked blocks from ``reports/*.json``.

A generated block is ``<!-- gen:NAME -->...<!-- /gen:NAME -->`` in README.md,
reports/README.md, docs/theory.md or docs/population.md; its text is a function of the reports'
JSON (``reports/checks_full.json``, ``reports/checks_quick.json``: whichever exist), so a re-run
of the checks followed by this script updates every number, and a test
(``tests/test_docs_generated.py``) fails when a document and its reports disagree. Names:

- ``counts:TIER``: the verdict counts of a tier's report;
- ``status:CHECK_ID``: the verdict and the key numbers of a check in each tier
  (:data:`SUMMARIES`, a generic summary of ``measured`` otherwise);
- ``population:...``: the paragraphs of docs/population.md (:mod:`gapsim.checks.docs_population`);
- ``bridge``: left as it is (its owner generates it from the bridge rows' JSON).

Usage::

    python -m gapsim.checks.docs            # rewrite the blocks in place
    python -m gapsim.checks.docs --check    # exit 1 and name the files that would change
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gapsim.checks import docs_population
from gapsim.studies import bridge_report

__all__ = [
    "FILES",
    "BLOCK",
    "load_reports",
    "render",
    "rewrite",
    "fmt",
    "SUMMARIES",
    "GENERATORS",
    "main",
]

FILES = ("README.md", "reports/README.md", "docs/theory.md", "docs/population.md")
"""The documents with generated blocks, relative to the repository root."""
TIERS = ("full", "quick")
BLOCK = re.compile(r"<!-- gen:(?P<name>[\w.:-]+) -->(?P<body>.*?)<!-- /gen:(?P=name) -->", re.S)

Reports = Mapping[str, Mapping[str, dict]]
"""tier -> check id -> the row's JSON (:meth:`gapsim.checks.CheckResult.to_dict`)."""


def load_reports(root: str | Path) -> dict[str, dict[str, dict]]:
    """The reports' JSON under ``root/reports`` (tiers whose file exists)."""
    out = {}
    for tier in TIERS:
        p = Path(root) / "reports" / f"checks_{tier}.json"
        if p.exists():
            out[tier] = json.loads(p.read_text())
    return out


def fmt(v: Any, digits: int = 3) -> str:
    """A number to ``digits`` significant digits (lists and dicts element-wise, None as n/a)."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if v == 0:
            return "0"
        if abs(v) >= 1e4 or abs(v) < 1e-3:
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}g}"
    if isinstance(v, (list, tuple)):
        items = [fmt(x, digits) for x in v[:8]]
        more = f", ... ({len(v)} values)" if len(v) > 8 else ""
        return "[" + ", ".join(items) + more + "]"
    if isinstance(v, Mapping):
        return "; ".join(f"{k} {fmt(x, digits)}" for k, x in v.items())
    return str(v)


def _generic(r: dict) -> str:
    m, t = r.get("measured"), r.get("tolerance")
    text = f"measured {fmt(m)}"
    if isinstance(r.get("predicted"), (int, float)) or isinstance(m, (int, float)):
        text += f" against {fmt(r.get('predicted'))}"
    if isinstance(t, (int, float)):
        text += f" (tolerance {fmt(t)})"
    return text


def _simplex(r):
    grid = r["details"]["grid"]
    judged = [g for g in grid if g["argmin_resolved"] and g.get("certified", True)]
    return (
        f"largest |L_best - L*| {fmt(r['measured'])} over {len(judged)} certified resolved grid "
        f"points of {len(grid)} (tolerance {fmt(r['tolerance'])})"
    )


def _large_n(r):
    sw = r["details"]["sweep"]
    cert = [s["n"] for s in sw if s.get("certified")]
    return (
        f"(L - log N) - limit {fmt(r['measured'])} at N = {sw[-1]['n']} against "
        f"{fmt(r['tolerance'])}; certified optima at N = {fmt(cert) if cert else 'none'}"
    )


def _cone_gap_zero(r):
    d = r["details"]
    text = (
        f"largest centroid angle at a minimum {fmt(r['measured'])} rad (tolerance "
        f"{fmt(r['tolerance'])}); {d['certified']} of {d['total']} runs certified"
    )
    if "counterexamples" in d:
        text += (
            f"; settings with a gapped minimum: {fmt(d['counterexamples']) or 'none'}; "
            f"settings without a certified run: {fmt(d['uncertified_settings']) or 'none'}"
        )
    return text + f"; ties: {len(d['ties'])}"


def _gap_rows(r):
    return r["measured"]["sentence"]


def _centre_pair(r):
    m = r["measured"]
    return (
        f"J's argmin has both centres in C in {m['both_centres_in_C']} settings; J at the "
        f"claimed centres exceeds its minimum by {fmt(min(m['J_at_claim_minus_J_min']))} to "
        f"{fmt(max(m['J_at_claim_minus_J_min']))}"
    )


def _population_f(r):
    m, runs = r["measured"], r["details"]["runs"]
    a, dis, und = m["settings_agree_disagree_undecided"]
    lo = min(x[0] for x in m["set_delta_minus_phi_rad"])
    hi = max(x[1] for x in m["set_delta_minus_phi_rad"])
    far = sum(x["not_excluded_far_from_claim"] for x in runs)
    return (
        f"{a} of {len(runs)} settings agree, {dis} disagree, {und} undecided; the centres not "
        f"excluded over all couplings have centroid angle minus phi from {fmt(lo)} to {fmt(hi)} "
        f"rad and |P_C c| <= {fmt(max(m['set_max_shared_norm']))} ({far} of them beyond one grid "
        f"step of the claimed centres); {m['beating_points']} grid points beat the claimed optimum"
    )


def _schedule(r):
    d = r["details"]
    pairs = zip(d["spans"], d["err_per_span"], strict=True)
    spans = ", ".join(f"{fmt(e)} at t = {t:g}" for t, e in pairs)
    extra = abs(d["extrapolated_last_two"] - d["extrapolated_first_two"])
    return (
        f"extrapolated {fmt(r['measured'])} against the budget {fmt(r['tolerance'])} (Euler "
        f"{fmt(d['euler'])}, quadrature {fmt(d['quadrature'])}, extrapolation {fmt(extra)}); "
        f"per span {spans}; late fixed-beta rates settled: {fmt(d['transient_gone'])}"
    )


def _cone_population(r):
    m, runs = r["measured"], r["details"]["runs"]
    sets = m["F_confidence_set_delta_rad"]
    only0 = sum(c == [0.0] for c in sets)
    return (
        f"J's argmin <= {fmt(m['max_J_argmin_delta_rad'])} rad over {len(runs)} settings; F's "
        f"confidence set is {{0}} in {only0} of {len(sets)}"
    )


def _per_key(r):
    """``key measured against predicted (tolerance t)`` for dict-valued rows."""
    m, p, t = r["measured"], r["predicted"], r["tolerance"]
    return "; ".join(
        f"{k}: {fmt(m[k], 4)} against {fmt(p[k], 4)} (tolerance {fmt(t[k])})" for k in m
    )


def _toy(r):
    m, p, t = r["measured"], r["predicted"], r["tolerance"]
    return "; ".join(
        f"{k}: lam* {fmt(p[k], 9)}, |measured - predicted| {fmt(abs(m[k] - p[k]))} "
        f"(tolerance {fmt(t[k])})"
        for k in m
    )


def _banded(r):
    m, t = r["measured"], r["tolerance"]
    return "; ".join(f"{k}: {fmt(m[k])} (band {fmt(t[k])})" for k in m)


def _all_values(r):
    return f"measured {', '.join(fmt(v) for v in r['measured'])} (tolerance {fmt(r['tolerance'])})"


def _invariant(r):
    text = _generic(r)
    per = r["details"].get("verdict_per_start")
    return text + (f"; per start {', '.join(per)}" if per else "")


def _grassucci(r):
    return "; ".join(f"{k} {fmt(v)}" for k, v in r["measured"].items())


SUMMARIES: dict[str, Callable[[dict], str]] = {
    "yi.unconstrained.simplex": _simplex,
    "yi.unconstrained.large_n_limit": _large_n,
    "yi.cone.gap_zero": _cone_gap_zero,
    "yi.subspace.gap_vs_phi": _gap_rows,
    "yi.subspace.gap_vs_theta1": _gap_rows,
    "yi.subspace.centre_pair_argmin": _centre_pair,
    "yi.subspace.population_argmin": _population_f,
    "yaras.schedule_rate": _schedule,
    "yi.cone.population_argmin": _cone_population,
    "yaras.initial_rate": _per_key,
    "yaras.invariant": _invariant,
    "yaras.swapping_hard_vs_row": _banded,
    "liang.toy_swapped_pair": _toy,
    "liang.shift_minimum_free_points_fixed_tau": _all_values,
    "grassucci.clustering_vs_retrieval": _grassucci,
}
"""Check id -> its summary sentence from the row's JSON (others: a summary of ``measured``)."""


def _summary(cid: str, r: dict) -> str:
    try:
        return SUMMARIES.get(cid, _generic)(r)
    except (KeyError, TypeError, ValueError, IndexError):  # a row of an older format
        return _generic(r)


def status(cid: str, reports: Reports) -> str:
    """``full **verdict**: summary; quick **verdict**: summary`` for the tiers present."""
    parts = []
    for tier, rows in reports.items():
        r = rows.get(cid)
        if r is None:
            parts.append(f"{tier}: not in the report")
        else:
            parts.append(f"{tier} **{r['verdict']}**: {_summary(cid, r).rstrip('.')}")
    return "; ".join(parts) if parts else "no report"


def counts(tier: str, reports: Reports) -> str:
    """``N checks: a agree, d disagree, i inconclusive (T s of checks)`` of one tier."""
    rows = reports.get(tier)
    if rows is None:
        return f"no {tier} report"
    n = {v: sum(r["verdict"] == v for r in rows.values()) for v in ("agrees", "disagrees")}
    n["inconclusive"] = sum(r["verdict"] == "inconclusive" for r in rows.values())
    err = sum(r["verdict"] == "error" for r in rows.values())
    secs = sum(r["runtime_s"] for r in rows.values())
    text = (
        f"{len(rows)} checks: {n['agrees']} agree, {n['disagrees']} disagree, "
        f"{n['inconclusive']} inconclusive"
    )
    return text + (f", {err} errors" if err else "") + f" ({secs:.0f} s of checks)"


def _population(name: str, reports: Reports) -> str:
    return docs_population.render(name, reports, status, fmt)


def _bridge(reports: Reports, current: str) -> str:
    """The bridge rows' paragraphs and tables (:func:`gapsim.studies.bridge_report.render`).

    From the full report's rows where it has them, else the quick one's; the block is left as it
    is when no report holds a bridge row.
    """
    for tier in TIERS:
        rows = {k: v for k, v in reports.get(tier, {}).items() if k.startswith("yi.bridge.")}
        if rows:
            return "\n" + bridge_report.render(rows) + "\n"
    return current


GENERATORS: dict[str, Callable[[str, Reports, str], str]] = {
    "counts": lambda arg, rep, cur: counts(arg, rep),
    "status": lambda arg, rep, cur: status(arg, rep),
    "population": lambda arg, rep, cur: _population(arg, rep),
    "bridge": lambda arg, rep, cur: _bridge(rep, cur),
}
"""Block name prefix (before ``:``) -> ``fn(argument, reports, current text) -> new text``."""


def render(name: str, reports: Reports, current: str = "") -> str:
    """The text of block ``name`` (``prefix:argument``) from the reports."""
    prefix, _, arg = name.partition(":")
    if prefix not in GENERATORS:
        raise KeyError(f"no generator for block {name!r} (known: {sorted(GENERATORS)})")
    return GENERATORS[prefix](arg, reports, current)


def rewrite(text: str, reports: Reports) -> str:
    """``text`` with every generated block re-rendered (the markers are kept)."""

    def sub(m: re.Match) -> str:
        body = render(m["name"], reports, m["body"])
        if "\n" in m["body"] and not body.startswith("\n"):
            body = f"\n{body}\n"
        return f"<!-- gen:{m['name']} -->{body}<!-- /gen:{m['name']} -->"

    return BLOCK.sub(sub, text)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the blocks of :data:`FILES`; ``--check``: exit 1 if a file would change."""
    ap = argparse.ArgumentParser(prog="python -m gapsim.checks.docs", description=__doc__)
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    ap.add_argument("--root", default=".", help="the repository root [default: .]")
    ns = ap.parse_args(argv)
    root = Path(ns.root)
    reports = load_reports(root)
    stale = []
    for rel in FILES:
        p = root / rel
        if not p.exists():
            continue
        old = p.read_text()
        new = rewrite(old, reports)
        if new != old:
            stale.append(rel)
            if not ns.check:
                p.write_text(new)
    verb = "stale" if ns.check else "rewritten"
    print(f"{verb}: {', '.join(stale)}" if stale else "up to date")
    return 1 if stale and ns.check else 0


if __name__ == "__main__":
    sys.exit(main())
