"""Theorem checks: one named check per claim of THEORY.md sections 2-6 (``gapsim check``).

Modules: :mod:`~gapsim.checks.base` (registry, :class:`CheckResult`, verdicts), one module per
paper (:mod:`~gapsim.checks.yi`, :mod:`~gapsim.checks.yaras`, :mod:`~gapsim.checks.liang`,
:mod:`~gapsim.checks.grassucci`, :mod:`~gapsim.checks.wang_isola`) and
:mod:`~gapsim.checks.report` (verdict table, markdown report, JSON).
"""

from gapsim.checks.base import (
    AGREES,
    DISAGREES,
    ERROR,
    INCONCLUSIVE,
    REGISTRY,
    Check,
    CheckResult,
    run_check,
    select,
)
from gapsim.checks.report import markdown_report, run_checks, verdict_table

__all__ = [
    "AGREES",
    "DISAGREES",
    "ERROR",
    "INCONCLUSIVE",
    "REGISTRY",
    "Check",
    "CheckResult",
    "run_check",
    "select",
    "run_checks",
    "verdict_table",
    "markdown_report",
]
