"""Rules a :class:`gapsim.config.Config` obeys beyond each field's own range, and the range rules.

The range rules of the constraint sets (:func:`cap_angle`, :func:`concentration_rho`,
:func:`principal_angle`, :func:`principal_angles`, :func:`subspace_dim`,
:func:`subspace_room`, :func:`cap_in_subspace`, :func:`no_free_axis`) are written here once and
called by :class:`~gapsim.config.Config`, :meth:`gapsim.geometry.Constraint.make` and
:mod:`gapsim.subspaces` alike: this module is on the ground floor (it imports only
:mod:`gapsim.errors`).

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

from gapsim.errors import ConfigError

if TYPE_CHECKING:
    from gapsim.config import Config

__all__ = [
    "check",
    "check_types",
    "check_given",
    "check_unused",
    "check_parametrization",
    "check_sizes",
    "non_default",
    "cap_angle",
    "cap_in_subspace",
    "concentration_rho",
    "concentration_in_subspace",
    "no_free_axis",
    "principal_angle",
    "principal_angles",
    "subspace_dim",
    "subspace_room",
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
    """The evaluated field annotations of :class:`~gapsim.config.Config`."""
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
_USED_WITH: dict[str, tuple[Any, str]] = {
    "swap_p": (lambda c: c.swap != "none", "--swap"),
    "momentum": (lambda c: c.solver == "sgd", "--solver sgd"),
    "lr": (lambda c: c.solver != "lbfgs", "--solver gd, sgd or adam"),
    "tau_param": (lambda c: c.learn_tau, "--learn-tau"),
    "tau_scale": (
        lambda c: c.learn_tau and c.tau_param == "scaled",
        "--learn-tau --tau-param scaled",
    ),
    "tau_lr_mult": (lambda c: c.learn_tau, "--learn-tau"),
    "gamma0": (lambda c: c.gamma_lift, "--gamma-lift"),
    "gamma_lr_mult": (lambda c: c.gamma_lift, "--gamma-lift"),
    "class_p": (lambda c: c.classes > 0, "--classes"),
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


def check(ok: bool, name: str, value: Any, allowed: str) -> None:
    """Raise :class:`ConfigError` ``(name, value, allowed)`` unless ``ok``."""
    if not ok:
        raise ConfigError(name, value, allowed)


# --- range rules of the constraint sets (one home each) ----------------------------------------


def cap_angle(alpha: float, dtype: str | None = None, name: str = "cone_angle") -> None:
    r"""A cap half-angle: :math:`\alpha \in (0, \pi)`, and resolved in ``dtype``.

    Below :math:`\sqrt{32\epsilon}` the cosine :math:`\cos\alpha = 1 - \alpha^2/2 + \dots`
    differs from 1 by less than :math:`16\epsilon`: the cap is not resolved in that precision.
    """
    check(0 < alpha < math.pi, name, alpha, "must lie in (0, pi) radians")
    if dtype is None:
        return
    floor = math.sqrt(32 * float(np.finfo(dtype).eps))
    check(
        alpha >= floor,
        name,
        alpha,
        f"must be >= {floor:.2g} rad in {dtype} (cos(alpha) is not resolved below; use "
        "--dtype float64 for smaller caps)",
    )


def concentration_rho(rho: float, name: str = "rho") -> None:
    r"""A fixed mean norm :math:`\|\bar x\| = \rho \in (0, 1)` (0: zero mean, 1: collapse)."""
    check(0 < rho < 1, name, rho, "must lie in (0, 1)")


def principal_angle(name: str, theta: float) -> None:
    r"""One principal angle between subspaces: :math:`\theta \in [0, \pi/2]`."""
    check(0 <= theta <= math.pi / 2, name, theta, "must lie in [0, pi/2]")


def principal_angles(name: str, thetas: Any) -> None:
    r"""Every principal angle finite and in :math:`[0, \pi/2]`."""
    ok = all(math.isfinite(t) and 0 <= t <= math.pi / 2 for t in thetas)
    check(ok, name, tuple(thetas), "each angle must lie in [0, pi/2]")


def subspace_dim(k: int, d: int, name: str = "subspace_dim", value: Any = None) -> None:
    """A subspace dimension ``k`` in ``1..d``."""
    check(1 <= k <= d, name, k if value is None else value, f"must lie in 1..d={d}")


def subspace_room(d: int, thetas: Any, name: str = "dim", value: Any = None) -> None:
    r"""Room for two ``k``-dim subspaces at angles ``thetas``: :math:`d \ge k + \#\{\theta_j > 0\}`.

    (Each non-zero angle needs one direction of its own beside the ``k`` of the first subspace.)
    """
    k, nonzero = len(thetas), sum(t > 0 for t in thetas)
    need = k + nonzero
    check(
        d >= need,
        name,
        d if value is None else value,
        f"two {k}-dim subspaces with {nonzero} non-zero principal angles need dim >= {need}",
    )


def concentration_in_subspace(k: int, name: str = "subspace_dim") -> None:
    """A fixed concentration inside a subspace needs a circle at least: ``k >= 2``."""
    check(k >= 2, name, k, "a fixed concentration inside a subspace needs subspace_dim >= 2")


def cap_in_subspace(k: int, name: str = "subspace_dim") -> None:
    """A cap inside a subspace needs a circle at least: ``k >= 2``."""
    check(k >= 2, name, k, "a cap inside a subspace needs subspace_dim >= 2")


def no_free_axis(axis: Any, name: str = "cone_axis") -> None:
    """The former ``"free"`` cap axis is refused (it was not a projection)."""
    check(
        not (isinstance(axis, str) and axis == "free"),
        name,
        "free",
        "was removed (its mean-direction iteration is not a projection: points merged); "
        "use 'learned', the exact learnable-axis cap",
    )
