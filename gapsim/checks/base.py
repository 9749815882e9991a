r"""The check registry: one named, falsifiable check per claim of docs/theory.md sections 2-6.

A check is a function ``fn(quick: bool) -> Verdict`` registered with :func:`register`, which
also declares the paper, the claim and the figures that show the same claim. The check states
the prediction (a closed form where one exists), runs the simulation that measures it and
returns a :class:`Verdict`:

- ``agrees``: the measured value is within the tolerance of the prediction;
- ``disagrees``: it is not (a result, not an error);
- ``inconclusive``: the measurement cannot decide (runs not converged where the claim is about
  an optimum, an ill-conditioned measure, too few draws); ``Verdict.decides`` says what would.

A check over several settings judges each setting on its own certified runs and combines the
settings with :func:`combine`, the one rule every row uses: a certified counterexample is never
masked by a setting that could not be judged (uncertified settings are reported beside it).

Tolerances are derived from the measured quantity in each check (``why_tolerance``: a
certificate, an O(1/N) fit, a Monte Carlo standard error, a discretisation order), never tuned on
the outcome. Runs are memoised per process (:func:`run_cached`, :func:`best_cached`).

The registry does not import its users: check modules are found by name in this package and
imported by :mod:`gapsim.checks.runner` (:func:`~gapsim.checks.runner.select`).
"""

from __future__ import annotations

import functools
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from gapsim.app.result import jsonable
from gapsim.core.precision import x64
from gapsim.studies.runs import best_cached, clear_caches, run_cached

__all__ = [
    "AGREES",
    "DISAGREES",
    "INCONCLUSIVE",
    "ERROR",
    "VERDICTS",
    "Paper",
    "Regime",
    "Verdict",
    "Check",
    "CheckResult",
    "REGISTRY",
    "register",
    "run_check",
    "run_cached",
    "best_cached",
    "clear_caches",
    "verdict_within",
    "combine",
    "worst_verdict",
]

AGREES, DISAGREES, INCONCLUSIVE, ERROR = "agrees", "disagrees", "inconclusive", "error"
VERDICTS = (AGREES, INCONCLUSIVE, DISAGREES, ERROR)
"""The verdicts from best to worst (the order :func:`worst_verdict` uses)."""


class Paper(NamedTuple):
    """A paper: short citation and its section of docs/theory.md (the table's order)."""

    name: str
    section: int

    def __str__(self) -> str:
        return self.name


class Regime(NamedTuple):
    """Where a claim was measured: N, d, tau (numbers, lists or ranges), solver, certified.

    ``certified`` is True when the claim is about an optimum and every run used carries the
    first- and second-order certificate, False for dynamics or uncertified runs, None where no
    run is involved (closed forms, Monte Carlo at fixed points).
    """

    n: Any = None
    d: Any = None
    tau: Any = None
    solver: str = ""
    certified: bool | None = None
    note: str = ""

    def text(self) -> str:
        """One line: ``N=..., d=..., tau=..., solver, certified``."""
        parts = [f"{k}={_fmt(v)}" for k, v in (("N", self.n), ("d", self.d), ("tau", self.tau))]
        parts = [p for p in parts if not p.endswith("=")]
        if self.solver:
            parts.append(self.solver)
        if self.certified is not None:
            parts.append("certified" if self.certified else "not certified")
        if self.note:
            parts.append(self.note)
        return ", ".join(parts)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(_fmt(x) for x in v) + "}"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


class Verdict(NamedTuple):
    """What a check returns: the verdict and everything a reader needs to judge it.

    Attributes:
        verdict: ``agrees``, ``disagrees`` or ``inconclusive``.
        quantity: the measured quantity in words (e.g. ``fraction of draws with g < 0``).
        unit: its unit (``rad``, ``1/time``, ``nats``, ``fraction``, ``1`` if dimensionless).
        predicted: the prediction (number, or a short text for a qualitative claim).
        measured: the measured value (same type as ``predicted``).
        tolerance: the allowed difference (number or text).
        why_tolerance: how the tolerance is derived from the quantity.
        regime: where it was measured (:class:`Regime`).
        decides: for ``inconclusive``, what measurement would decide it.
        details: every number behind the verdict.
    """

    verdict: str
    quantity: str
    unit: str
    predicted: Any
    measured: Any
    tolerance: Any
    why_tolerance: str
    regime: Regime = Regime()
    decides: str = ""
    details: Mapping[str, Any] = {}


def as_verdict(out: Verdict | Mapping[str, Any]) -> Verdict:
    """Adapter: a :class:`Verdict`, or the older dict form (``verdict``, ``predicted``, ...).

    A dict may carry ``quantity``, ``unit``, ``regime`` (a :class:`Regime` or a dict of its
    fields) and ``decides``; missing ones are left blank.
    """
    if isinstance(out, Verdict):
        return out
    reg = out.get("regime", Regime())
    return Verdict(
        verdict=out["verdict"],
        quantity=out.get("quantity", ""),
        unit=out.get("unit", ""),
        predicted=out["predicted"],
        measured=out["measured"],
        tolerance=out["tolerance"],
        why_tolerance=out["why_tolerance"],
        regime=reg if isinstance(reg, Regime) else Regime(**reg),
        decides=out.get("decides", ""),
        details=out.get("details", {}),
    )


class CheckResult(NamedTuple):
    """The outcome of one check: its registration plus the :class:`Verdict` fields.

    Attributes:
        id: the check's id (``paper.topic.claim``).
        paper: the paper (short citation).
        claim: the claim tested, in one sentence.
        verdict: ``agrees``, ``disagrees``, ``inconclusive`` (or ``error`` if it raised).
        predicted: the prediction.
        measured: the measured value.
        tolerance: the tolerance (number or text).
        why_tolerance: how the tolerance is derived.
        details: every number behind the verdict (sweeps, seeds, spreads).
        runtime_s: wall time of the check.
        quantity: the measured quantity in words.
        unit: its unit.
        regime: the regime as one line of text (:meth:`Regime.text`).
        decides: for ``inconclusive``, what would decide it.
        figures: figure files (under ``figures/``) that show the same claim.
        code: the code that produced it, ``VERSION COMMIT`` (``+dirty`` with uncommitted
            changes to tracked files of gapsim/, experiments/ or pyproject.toml; no commit
            outside a git checkout): a report row from older code shows it.
    """

    id: str
    paper: str
    claim: str
    verdict: str
    predicted: Any
    measured: Any
    tolerance: Any
    why_tolerance: str
    details: Mapping[str, Any]
    runtime_s: float
    quantity: str = ""
    unit: str = ""
    regime: str = ""
    decides: str = ""
    figures: tuple[str, ...] = ()
    code: str = ""

    @classmethod
    def of(
        cls,
        v: Verdict,
        id: str,  # noqa: A002
        paper: str,
        claim: str,
        runtime_s: float,
        figures: tuple[str, ...] = (),
    ) -> CheckResult:
        """A check's registration and runtime joined to every field of its :class:`Verdict`.

        The verdict's fields are taken by name (the regime as its one line of text), so a new
        :class:`Verdict` field needs only its namesake here.
        """
        fields = {**v._asdict(), "regime": v.regime.text(), "details": dict(v.details)}
        shared = {k: fields[k] for k in cls._fields if k in fields}
        return cls(id=id, paper=paper, claim=claim, runtime_s=runtime_s, figures=figures, **shared)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NumPy values become Python values, NaN becomes None)."""
        return {k: jsonable(v) for k, v in self._asdict().items()}


@dataclass(frozen=True)
class Check:
    """A registered check: id, paper, claim, slow or not, its function and its figures."""

    id: str
    paper: str
    claim: str
    fn: Callable[[bool], CheckResult]
    slow: bool = False
    figures: tuple[str, ...] = ()
    section: int = 99


REGISTRY: dict[str, Check] = {}

_SECTION = {"yi": 2, "yaras": 3, "liang": 4, "grassucci": 5, "wang_isola": 6}
"""Fallback order for checks registered with a plain-string paper (older check modules)."""


def register(
    id: str,  # noqa: A002
    paper: Paper | str,
    claim: str,
    slow: bool = False,
    figures: Sequence[str] = (),
) -> Callable:
    """Decorator: register ``fn(quick) -> Verdict`` (or the older dict) as check ``id``.

    ``figures``: files under the repository's ``figures/`` that show the same claim. The
    wrapper adds id, paper, claim, figures and the runtime.
    """
    section = paper.section if isinstance(paper, Paper) else _SECTION.get(id.split(".")[0], 99)

    def deco(fn: Callable[[bool], Verdict | dict]) -> Callable[[bool], CheckResult]:
        @functools.wraps(fn)
        def wrapped(quick: bool) -> CheckResult:
            t0 = time.perf_counter()
            v = as_verdict(fn(quick))
            return CheckResult.of(
                v, id, str(paper), claim, time.perf_counter() - t0, tuple(figures)
            )

        REGISTRY[id] = Check(id, str(paper), claim, wrapped, slow, tuple(figures), section)
        return wrapped

    return deco


@x64
def run_check(check: Check, quick: bool) -> CheckResult:
    """Run one check; an exception becomes verdict ``error`` with the traceback in details."""
    t0 = time.perf_counter()
    code = code_stamp()  # the code as the check starts (the tree may move while it runs)
    try:
        return check.fn(quick)._replace(code=code)
    except Exception as e:  # noqa: BLE001 - a failing check is reported, the others still run
        return CheckResult(
            check.id,
            check.paper,
            check.claim,
            ERROR,
            None,
            None,
            None,
            "",
            {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()},
            time.perf_counter() - t0,
            figures=check.figures,
            code=code,
        )


@functools.cache
def code_stamp() -> str:
    """``VERSION COMMIT[+dirty]`` of the running gapsim (``VERSION`` outside a git checkout)."""
    import subprocess
    from pathlib import Path

    from gapsim._version import __version__

    root = Path(__file__).resolve().parents[2]

    def git(*a: str) -> str:
        cmd = ["git", "-C", str(root), *a]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=True).stdout

    try:
        commit = git("rev-parse", "--short=12", "HEAD").strip()
        # the code only: a report being written (reports/, docs/) is not a change of the code
        code = ("gapsim", "experiments", "pyproject.toml")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", *code).strip())
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__} {commit}{'+dirty' if dirty else ''}"


def verdict_within(err: float, tol: float, conclusive: bool = True) -> str:
    """``agrees`` if ``|err| <= tol``, else ``disagrees``; ``inconclusive`` if not conclusive."""
    if not conclusive or not np.isfinite(err):
        return INCONCLUSIVE
    return AGREES if abs(err) <= tol else DISAGREES


def combine(verdicts: Sequence[str]) -> str:
    """The verdict of a claim over settings, each judged on its own (certified) runs.

    ``disagrees`` when any setting disagrees: a counterexample from certified runs stands
    whatever the other settings say, so an uncertified setting never masks it; otherwise
    ``inconclusive`` when any setting is undecided (not certified, unresolved) or there is no
    setting; otherwise ``agrees``. The undecided settings are reported beside the verdict.

    Example:
        >>> combine([AGREES, INCONCLUSIVE, DISAGREES]), combine([AGREES, INCONCLUSIVE])
        ('disagrees', 'inconclusive')
        >>> combine([AGREES, AGREES]), combine([])
        ('agrees', 'inconclusive')
    """
    vs = list(verdicts)
    bad = set(vs) - {AGREES, DISAGREES, INCONCLUSIVE}
    if bad:
        raise ValueError(f"not a verdict: {sorted(bad)}")
    if DISAGREES in vs:
        return DISAGREES
    if not vs or INCONCLUSIVE in vs:
        return INCONCLUSIVE
    return AGREES


def worst_verdict(results: Sequence[CheckResult]) -> str | None:
    """The worst verdict among ``results`` (order of :data:`VERDICTS`); None when empty.

    ``gapsim check --fail-on V`` fails when ``VERDICTS.index(worst) >= VERDICTS.index(V)``.
    """
    if not results:
        return None
    return max((r.verdict for r in results), key=VERDICTS.index)
