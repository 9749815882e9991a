r"""The check registry: one named, falsifiable check per claim of THEORY.md sections 2-6.

A check is a function ``fn(quick: bool) -> CheckResult`` registered with :func:`register`. It
states the paper and claim, the prediction (a closed form where one exists), runs the
simulation that measures it, and returns a verdict:

- ``agrees``: the measured value is within the tolerance of the prediction;
- ``disagrees``: it is not (a result, not an error);
- ``inconclusive``: the measurement cannot decide (runs not converged where the claim is about
  an optimum, an ill-conditioned measure such as a centroid angle of near-zero means, or too
  few seeds).

Tolerances are fixed from first principles in each check (the ``why_tolerance`` text), never
tuned on the outcome. Runs are memoised per process (:func:`run_cached`), so checks that share
a configuration share the simulation, and the quick tier reuses shapes to limit compilation.
"""

from __future__ import annotations

import fnmatch
import functools
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from gapsim.config import Config
from gapsim.result import Result, jsonable
from gapsim.simulate import simulate

__all__ = [
    "AGREES",
    "DISAGREES",
    "INCONCLUSIVE",
    "ERROR",
    "Check",
    "CheckResult",
    "REGISTRY",
    "register",
    "select",
    "run_check",
    "run_cached",
    "verdict_within",
]

AGREES, DISAGREES, INCONCLUSIVE, ERROR = "agrees", "disagrees", "inconclusive", "error"


class CheckResult(NamedTuple):
    """The outcome of one check.

    Attributes:
        id: the check's id (``paper.topic.claim``).
        paper: the paper (short citation).
        claim: the claim tested, in one sentence.
        verdict: ``agrees``, ``disagrees``, ``inconclusive`` (or ``error`` if it raised).
        predicted: the prediction (number, or a short text for a qualitative claim).
        measured: the measured value (same type as ``predicted``).
        tolerance: the tolerance (number or text).
        why_tolerance: why this tolerance (fixed before looking at the outcome).
        details: every number behind the verdict (sweeps, seeds, spreads).
        runtime_s: wall time of the check.
    """

    id: str
    paper: str
    claim: str
    verdict: str
    predicted: Any
    measured: Any
    tolerance: Any
    why_tolerance: str
    details: dict
    runtime_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NumPy values become Python values, NaN becomes None)."""
        return {k: jsonable(v) for k, v in self._asdict().items()}


@dataclass(frozen=True)
class Check:
    """A registered check: id, paper, claim, whether it is slow, and its function."""

    id: str
    paper: str
    claim: str
    fn: Callable[[bool], CheckResult]
    slow: bool = False


REGISTRY: dict[str, Check] = {}


def register(id: str, paper: str, claim: str, slow: bool = False) -> Callable:  # noqa: A002
    """Decorator: register ``fn(quick) -> dict`` as check ``id``.

    The function returns a dict with ``verdict``, ``predicted``, ``measured``, ``tolerance``,
    ``why_tolerance`` and ``details``; the wrapper adds id, paper, claim and the runtime.
    """

    def deco(fn: Callable[[bool], dict]) -> Callable[[bool], CheckResult]:
        @functools.wraps(fn)
        def wrapped(quick: bool) -> CheckResult:
            t0 = time.perf_counter()
            out = fn(quick)
            return CheckResult(
                id=id,
                paper=paper,
                claim=claim,
                verdict=out["verdict"],
                predicted=out["predicted"],
                measured=out["measured"],
                tolerance=out["tolerance"],
                why_tolerance=out["why_tolerance"],
                details=out.get("details", {}),
                runtime_s=time.perf_counter() - t0,
            )

        REGISTRY[id] = Check(id, paper, claim, wrapped, slow)
        return wrapped

    return deco


def select(pattern: str | None = None) -> list[Check]:
    """Registered checks whose id matches ``pattern`` (a glob, or a substring), in order."""
    _load_all()
    order = {p: i for i, p in enumerate(("yi", "yaras", "liang", "grassucci", "wang_isola"))}
    checks = sorted(REGISTRY.values(), key=lambda c: order.get(c.id.split(".")[0], 99))
    if not pattern:
        return checks
    glob = any(c in pattern for c in "*?[")
    return [c for c in checks if (fnmatch.fnmatch(c.id, pattern) if glob else pattern in c.id)]


def run_check(check: Check, quick: bool) -> CheckResult:
    """Run one check; an exception becomes verdict ``error`` with the traceback in details."""
    t0 = time.perf_counter()
    try:
        return check.fn(quick)
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
        )


@functools.lru_cache(maxsize=512)
def run_cached(cfg: Config) -> Result:
    """:func:`gapsim.simulate` memoised on the (frozen, hashable) config."""
    return simulate(cfg)


def best_cached(cfg: Config, seeds: Sequence[int]) -> tuple[Result, np.ndarray, list[Result]]:
    """Like :func:`gapsim.best_of_seeds` over memoised runs; also returns every run."""
    runs = [run_cached(cfg.replace(seed=int(s))) for s in seeds]
    losses = np.array([r.measures["loss"] if r.converged else np.nan for r in runs])
    key = losses if np.isfinite(losses).any() else np.array([r.measures["loss"] for r in runs])
    return runs[int(np.nanargmin(key))], losses, runs


def verdict_within(err: float, tol: float, conclusive: bool = True) -> str:
    """``agrees`` if ``|err| <= tol``, else ``disagrees``; ``inconclusive`` if not conclusive."""
    if not conclusive or not np.isfinite(err):
        return INCONCLUSIVE
    return AGREES if abs(err) <= tol else DISAGREES


def _load_all() -> None:
    from gapsim.checks import (  # noqa: F401
        grassucci,
        liang,
        wang_isola,
        yaras,
        yi,
        yi_population,
        yi_subspace,
    )
