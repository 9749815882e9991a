"""Theorem checks: one named check per claim of docs/theory.md sections 2-6 (``gapsim check``).

Modules: :mod:`~gapsim.checks.base` (registry, :class:`Verdict`, :class:`CheckResult`), the
check modules of each paper (every other module of this package, found by name on the first
:func:`select`: ``yi*``, ``yaras*``, ``liang``, ``grassucci``, ``wang_isola``) and
:mod:`~gapsim.checks.report` (verdict table, markdown report with a JSON file beside it).
"""

from gapsim.checks.base import (
    AGREES,
    DISAGREES,
    ERROR,
    INCONCLUSIVE,
    REGISTRY,
    VERDICTS,
    Check,
    CheckResult,
    Paper,
    Regime,
    Verdict,
    run_check,
    worst_verdict,
)
from gapsim.checks.report import markdown_report, run_checks, verdict_table, write_report
from gapsim.checks.runner import select

__all__ = [
    "AGREES",
    "DISAGREES",
    "ERROR",
    "INCONCLUSIVE",
    "REGISTRY",
    "VERDICTS",
    "Check",
    "CheckResult",
    "Paper",
    "Regime",
    "Verdict",
    "run_check",
    "select",
    "worst_verdict",
    "run_checks",
    "verdict_table",
    "markdown_report",
    "write_report",
]
