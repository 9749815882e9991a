"""Rules a :class:`~gapsim.app.config.Config` obeys beyond each field's own range.

The range rules of the constraint sets (a cap angle, rho, principal angles, subspace
dimensions) live in :mod:`gapsim.core.ranges`, written once and called by
:class:`~gapsim.app.config.Config`, :meth:`gapsim.core.sets.Constraint.make` and
:mod:`gapsim.core.subspaces` alike.

Types (an ``int`` field takes integers only, a ``float`` field finite real numbers), fields that
only mean something together with another setting (``swap_p`` needs ``swap``), and sizes checked
up front, so that ``steps=10**12`` or ``n_pairs=10**6, dim=10**3`` fail in milliseconds with a
message instead of exhausting memory later. Every violation raises
:class:`gapsim.errors.ConfigError` naming the field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import typing
from typing import TYPE_CHECKING, Any

import numpy as np

from gapsim.app.wiring import used_with
from gapsim.core.ranges import check

if TYPE_CHECKING:
    from gapsim.app.config import Config

__all__ = [
    "check",
    "check_types",
    "check_given",
    "check_unused",
    "check_parametrization",
    "check_sizes",
    "non_default",
]

INIT_ANGLE_DEFAULTS = {"cones": 0.2, "parallel-mismatched": 1.0, "parallel-matched": 1.0}
"""Default ``init_angle`` per start: Liang et al.'s narrow cones; Yaras et al.'s parallel circles
at polar angle ~1 rad (at 0.2 both circles sit near the poles and the temperature never rises)."""
MAX_STEPS = 2**31 - 1
"""Step counters are int32 on the device."""
MAX_RECORDS = 2_000_000
"""Largest trajectory buffer (records = steps / stride + 1); raise ``stride`` for longer runs."""
MAX_BYTES = 4 * 2**30
"""Largest memory estimate (:attr:`Config.memory_estimate`) a run may need."""
MAX_SEED = 2**32 - 1
"""Seeds beyond 2^32 - 1 alias smaller ones in JAX's 32-bit key derivation."""


@functools.cache
def config_hints(cls: type) -> dict[str, Any]:
    """The evaluated field annotations of :class:`~gapsim.app.config.Config`."""
    # Config is @no_type_check (it validates itself), which makes get_type_hints(cls) empty:
    # evaluate its annotations through a plain stand-in class of the same module
    plain = type(cls.__name__, (), {"__annotations__": cls.__annotations__})
    plain.__module__ = cls.__module__
    return typing.get_type_hints(plain)


def _kind(cfg: Config, name: str) -> type:
    """The scalar type of a field: int, float, bool, str, or tuple (of floats)."""
    hint = config_hints(type(cfg))[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    base = args[0]
    return tuple if typing.get_origin(base) is tuple else base


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def check_types(cfg: Config) -> None:
    """Coerce NumPy scalars to Python ones; refuse wrong types and non-finite numbers."""
    for f in dataclasses.fields(cfg):
        name, value = f.name, getattr(cfg, f.name)
        if value is None and (f.default is None):
            continue
        kind = _kind(cfg, name)
        if kind is bool:
            check(isinstance(value, (bool, np.bool_)), name, value, "must be true or false")
            value = bool(value)
        elif kind is int:
            ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
            check(ok, name, value, "must be an integer")
            value = int(value)
        elif kind is float:
            check(_is_real(value), name, value, "must be a number")
            value = float(value)
            check(math.isfinite(value), name, value, "must be finite")
        elif kind is str:
            check(isinstance(value, str), name, value, "must be a string")
        elif kind is tuple:
            ok = isinstance(value, (tuple, list, np.ndarray)) and len(value) > 0
            ok = ok and all(_is_real(v) and math.isfinite(v) for v in value)
            check(ok, name, value, "must be a non-empty sequence of finite numbers")
            value = tuple(float(v) for v in value)
        object.__setattr__(cfg, name, value)


# Fields that only mean something together with another setting: name -> (in use?, needs).
# The fields of a mechanism come from its row in gapsim.app.wiring (used_with()).
_USED_WITH: dict[str, tuple[Any, str]] = {
    **used_with(),
    "momentum": (lambda c: c.solver == "sgd", "--solver sgd"),
    "lr": (lambda c: c.solver != "lbfgs", "--solver gd, sgd or adam"),
    "tau_scale": (
        lambda c: c.learn_tau and c.tau_param == "scaled",
        "--learn-tau --tau-param scaled",
    ),
    "align_lambda": (lambda c: c.align == "shift", "--align shift"),
    "cone_axis": (lambda c: c.cone_angle is not None, "--cone-angle (a cap)"),
    "cone_axis_angle": (
        lambda c: c.cone_angle is not None and c.cone_axis == "fixed",
        "--cone-axis fixed",
    ),
    "init_angle": (
        lambda c: c.init in INIT_ANGLE_DEFAULTS and c.init_file is None,
        "--init cones or a parallel start",
    ),
    "init_axis_angle": (lambda c: c.init == "cones" and c.init_file is None, "--init cones"),
    "init": (
        lambda c: c.init_file is None or c.init == "file",
        "not used beside --init-file (the file is the start)",
    ),
}


def non_default(cfg: Config) -> list[str]:
    """Names of the fields of ``cfg`` that differ from their defaults."""
    return [f.name for f in dataclasses.fields(cfg) if getattr(cfg, f.name) != f.default]


def check_unused(cfg: Config, names: Any) -> None:
    """Refuse each of ``names`` that is set although the setting it belongs to is off."""
    for name in names:
        if name in _USED_WITH:
            used, needs = _USED_WITH[name]
            msg = needs if needs.startswith("not ") else f"only used with {needs}"
            check(used(cfg), name, getattr(cfg, name), msg)


def check_given(cfg: Config, names: Any) -> None:
    """Refuse explicitly given fields (e.g. CLI flags) that ``cfg`` does not use.

    :class:`Config` itself refuses such fields only at non-default values, where "unset" and
    "given the default" cannot be told apart; a caller that knows which fields were given
    (the CLI) calls this with their names.

    Raises:
        ConfigError: naming the first unused field and the setting it needs.
    """
    check_unused(cfg, names)


def check_parametrization(cfg: Config) -> None:
    """Raw parametrisation and per-modality step sizes: dynamics only, smooth sets only."""
    dynamics = cfg.solver != "lbfgs"
    if cfg.parametrization == "raw":
        check(dynamics, "parametrization", "raw", "needs --solver gd, sgd or adam")
        check(
            cfg.cone_angle is None,
            "parametrization",
            "raw",
            "a cap has no smooth parametrisation: use 'projected' with --cone-angle",
        )
        check(not cfg.gamma_lift, "parametrization", "raw", "not combined with --gamma-lift")
    if cfg.modality_lrs is not None:
        lrs = cfg.modality_lrs
        check(dynamics, "modality_lrs", lrs, "needs --solver gd, sgd or adam")
        check(
            len(lrs) == cfg.modalities,
            "modality_lrs",
            lrs,
            f"must give one step size per modality ({cfg.modalities})",
        )
        check(all(v > 0 for v in lrs), "modality_lrs", lrs, "each step size must be > 0")


def check_sizes(cfg: Config) -> None:
    """Trajectory buffer and memory estimate within :data:`MAX_RECORDS`, :data:`MAX_BYTES`."""
    records = cfg.n_records
    check(
        records <= MAX_RECORDS,
        "steps",
        cfg.steps,
        f"with stride {cfg.stride} gives {records:.3g} trajectory records (at most "
        f"{MAX_RECORDS:,}); raise --stride",
    )
    need = cfg.memory_estimate
    if need <= MAX_BYTES:
        return
    m, n, d = cfg.modalities, cfg.n_pairs, cfg.dim
    # blame the size that dominates: the points (n or d) or the pairs' logits (n or m)
    points = 8 * m * n * d * (4 if cfg.effective_dtype == "float32" else 8)
    if need - points > points and m > 2:
        name = "modalities"
    else:
        name = "dim" if d > n else "n_pairs"
    check(
        False,
        name,
        getattr(cfg, name),
        f"a run with n_pairs={n}, dim={d}, modalities={m} needs about {need / 2**30:.3g} GiB "
        f"(at most {MAX_BYTES / 2**30:g} GiB); make it smaller",
    )
