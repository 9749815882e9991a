r"""Work and memory estimates, checked before a command starts (issue 24): no silent hang.

A command whose estimate exceeds a limit below is refused (exit status 2, one line with the
estimate) unless ``--allow-large`` is given; a requested size is never changed silently.

- :data:`LIMIT_SECONDS` of estimated CPU time. Work is counted in multiply-adds: the
  similarity product :math:`S = XY^\top` of N pairs in d dimensions is :math:`N^2 d`, and a
  value and gradient of InfoNCE costs three per modality pair (:func:`run_work`). Measured on
  this project's 2-core machine under load: about :data:`WORK_RATE` multiply-adds per CPU
  second (``gapsim run --n-pairs 2048 --dim 16 --solver gd --steps 500``: 1.0e11 in 12 s), and
  about :data:`RUN_SECONDS` per run besides (compilation shared, the loop of small steps, the
  certificate on the host: a 64-config sweep of ``--n-pairs 64 --steps 2000`` took 59 CPU
  seconds for 1.2e10 multiply-adds).
- :data:`MEMORY_FRACTION` of the machine's physical memory for what the command holds at once.
- :data:`MAX_CONFIGS` configurations in one sweep (each is certified and stored on the host).

The estimates are of the right order, not timings: a run that stops early (converged) does
fewer steps, the second-order certificate runs only at a stationary end point, and a GPU is
much faster (pass ``--allow-large`` there).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from typing import Any

from gapsim.errors import ConfigError

__all__ = [
    "LIMIT_SECONDS",
    "WORK_RATE",
    "RUN_SECONDS",
    "MEMORY_FRACTION",
    "MAX_CONFIGS",
    "physical_memory",
    "seconds",
    "run_work",
    "run_host_bytes",
    "check_budget",
    "add_allow_large_flag",
]

LIMIT_SECONDS = 600.0
"""Estimated CPU seconds a command may plan without ``--allow-large`` (10 minutes)."""
WORK_RATE = 8e9
"""Multiply-adds per CPU second measured here (module docstring)."""
RUN_SECONDS = 0.5
"""CPU seconds per run besides its multiply-adds (module docstring)."""
MEMORY_FRACTION = 0.5
"""Share of the physical memory a command may plan to hold without ``--allow-large``."""
MAX_CONFIGS = 4096
"""Configurations one sweep may hold without ``--allow-large``."""
LANCZOS_HVPS = 300
"""Hessian-vector products assumed for a Lanczos second-order certificate (an upper guess)."""


def physical_memory() -> int:
    """Bytes of physical memory (``os.sysconf``); 16 GiB where the platform does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 16 * 2**30


def _fields(cfg: Any) -> dict[str, Any]:
    """The fields of a Config (or of a dict of some fields over the Config defaults)."""
    from gapsim.app.config import Config

    if isinstance(cfg, Mapping):
        defaults = {f.name: f.default for f in dataclasses.fields(Config)}
        return {**defaults, **cfg}
    return dataclasses.asdict(cfg)


def run_work(cfg: Any) -> float:
    r"""Multiply-adds of one run of ``cfg`` (a Config, or a dict of its fields).

    With :math:`P = M(M-1)/2` modality pairs and :math:`u = PN^2d` (one similarity product
    each): ``steps`` values and gradients (:math:`3u`; two per L-BFGS iteration, for its line
    search), the measures at every record (:math:`u`), and the certificate: a gradient and,
    with ``second_order``, :math:`r = MN(d-1)` Hessian-vector products (:math:`12u` each;
    at most :data:`LANCZOS_HVPS` above the dense limit).

    Example:
        >>> gd = {"n_pairs": 1000, "dim": 10, "solver": "gd", "steps": 100}
        >>> f"{run_work({**gd, 'second_order': False}):.2g}", f"{run_work(gd):.2g}"
        ('3.1e+09', '3.9e+10')
    """
    from gapsim.core.certificate import DENSE_MAX

    f = _fields(cfg)
    m, n = int(f["modalities"]), int(f["n_pairs"])
    d = int(f["dim"]) + (1 if f.get("gamma_lift") else 0)
    steps, stride = int(f["steps"]), max(1, int(f["stride"]))
    u = m * (m - 1) / 2 * n * n * d
    per_step = (6 if f["solver"] == "lbfgs" else 3) * u
    records = steps // stride + 1
    work = steps * per_step + records * u + 3 * u
    if f.get("second_order", True):
        r = m * n * max(d - 1, 1)
        work += (r if r <= DENSE_MAX else min(r, LANCZOS_HVPS)) * 12 * u
    return float(work)


def run_host_bytes(cfg: Any) -> float:
    """Bytes one finished run holds on the host: points, start, trajectory (float64)."""
    f = _fields(cfg)
    m, n, d = int(f["modalities"]), int(f["n_pairs"]), int(f["dim"]) + 1
    records = int(f["steps"]) // max(1, int(f["stride"])) + 1
    return 8.0 * (2 * m * n * d + 32 * records) + 4096


def _fmt(x: float) -> str:
    return f"{x:.2g}"


def _gib(x: float) -> str:
    return f"{x / 2**30:.3g} GiB"


def seconds(work: float = 0.0, runs: int = 0) -> float:
    """Estimated CPU seconds of ``work`` multiply-adds and ``runs`` runs (module docstring)."""
    return work / WORK_RATE + runs * RUN_SECONDS


def check_budget(
    what: str,
    *,
    cpu_seconds: float = 0.0,
    memory: float = 0.0,
    configs: int | None = None,
    allow_large: bool = False,
    flag: str = "size",
) -> None:
    """Refuse (ConfigError: one line, exit 2) a plan beyond the limits unless ``allow_large``.

    Args:
        what: the plan in words, e.g. ``"sweep of 8 configs"`` (the value in the message).
        cpu_seconds: estimated CPU seconds (:func:`seconds`).
        memory: estimated bytes held at once.
        configs: number of configurations (sweeps).
        allow_large: the user passed ``--allow-large``.
        flag: the field named in the error.

    Raises:
        ConfigError: a number is beyond its limit and not ``allow_large``, or not finite.
    """
    if not all(math.isfinite(v) for v in (cpu_seconds, memory)):
        raise ConfigError(flag, what, "its size overflows every estimate; make it smaller")
    if allow_large:
        return
    limit_mem = MEMORY_FRACTION * physical_memory()
    over = []
    if configs is not None and configs > MAX_CONFIGS:
        over.append(f"{configs:,} configs (limit {MAX_CONFIGS:,})")
    if cpu_seconds > LIMIT_SECONDS:
        over.append(
            f"about {_fmt(cpu_seconds)} CPU seconds (limit {LIMIT_SECONDS:g}; "
            f"{_fmt(WORK_RATE)} multiply-adds/s and {RUN_SECONDS:g} s a run)"
        )
    if memory > limit_mem:
        over.append(f"about {_gib(memory)} of memory (limit {_gib(limit_mem)})")
    if over:
        raise ConfigError(
            flag,
            what,
            f"needs {' and '.join(over)}; make it smaller, or pass --allow-large to run it",
        )


def add_allow_large_flag(p: Any) -> None:
    """``--allow-large``: run a plan beyond the limits of :mod:`gapsim.cli._budget`."""
    p.add_argument(
        "--allow-large",
        action="store_true",
        help=f"run even when the estimate exceeds {LIMIT_SECONDS / 60:g} CPU-minutes, "
        f"{100 * MEMORY_FRACTION:.0f}%% of the memory or {MAX_CONFIGS:,} sweep configs (the "
        "refusal names the estimate)",
    )
