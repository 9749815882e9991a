"""From a config's fields to the objective's mechanisms: one row per mechanism.

Each :class:`Wire` says which config field switches a mechanism on, which fields only mean
something with it (refused otherwise, :func:`gapsim.app.config_rules.check_unused`), and how
to build the mechanism value (:mod:`gapsim.core.mechanisms`) and its traced hyper-parameters
from the config. Nothing else in the package names a mechanism: the config's L-BFGS guard asks
the built values whether they move the objective, :mod:`gapsim.app.parts` puts them in
``Static``/``Args``, ``gapsim run`` describes them with their own labels.

This module reads a config's fields and does not import :mod:`gapsim.app.config`, so the config
itself can use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax.numpy as jnp

from gapsim.core import mechanisms as mk
from gapsim.core.objective import pairs
from gapsim.core.precision import x64
from gapsim.core.temperature import nu_of_beta
from gapsim.errors import ConfigError

__all__ = [
    "Wire",
    "WIRES",
    "mechanisms",
    "hypers",
    "lbfgs_refusal",
    "reports",
    "describe",
    "used_with",
]


class Wire(NamedTuple):
    """How one mechanism is built from a config.

    Attributes:
        flag: the switch as the user writes it (for messages), e.g. ``--learn-tau``.
        on: whether the config switches it on.
        make: ``(cfg, tau_fn) -> mechanism``, the static value (no arrays).
        hyper: ``cfg -> hyper``, its traced hyper-parameters in the config's working dtype
            (``None``: none).
        fields: config fields used only with this mechanism.
        report: ``cfg -> dict``: configured values a result reports beside the mechanism's
            own :meth:`~gapsim.core.mechanisms.Mechanism.report` (as given, not rounded to the
            working dtype).
    """

    flag: str
    on: Callable[[Any], bool]
    make: Callable[[Any, Callable | None], mk.Mechanism]
    hyper: Callable[[Any], Any] = lambda cfg: None
    fields: tuple[str, ...] = ()
    report: Callable[[Any], dict] = lambda cfg: {}


def _a(cfg: Any, v: Any) -> Any:
    return jnp.asarray(v, cfg.effective_dtype)


WIRES: tuple[Wire, ...] = (
    Wire(
        "--learn-tau",
        lambda c: c.learn_tau,
        lambda c, _: mk.LearnedTemperature(c.tau_param),
        lambda c: mk.LearnedHyper(
            _a(c, nu_of_beta(c.beta, c.tau_param, c.tau_scale)),
            _a(c, c.tau_scale),
            _a(c, c.tau_lr_mult),
        ),
        ("tau_param", "tau_lr_mult"),
    ),
    Wire(
        "--tau-schedule",
        lambda c: c.tau_schedule != "none",
        lambda c, fn: mk.ScheduledTemperature(c.tau_schedule, fn),
        lambda c: mk.ScheduleHyper(_a(c, c.tau_end or c.tau), _a(c, c.tau_period or c.steps)),
    ),
    Wire(
        "--gamma-lift",
        lambda c: c.gamma_lift,
        lambda c, _: mk.GammaLift(),
        lambda c: mk.GammaHyper(
            jnp.full((len(pairs(c.modalities)),), c.gamma0, c.effective_dtype),
            _a(c, c.gamma_lr_mult),
        ),
        ("gamma0", "gamma_lr_mult"),
        lambda c: {"gamma_initial": c.gamma0},
    ),
    Wire(
        "--classes",
        lambda c: c.classes > 0,
        lambda c, _: mk.ClassPartners(c.classes),
        lambda c: mk.ClassHyper(_a(c, c.class_p)),
        ("class_p",),
    ),
    Wire(
        "--noisy-fraction",
        lambda c: c.n_noisy > 0,
        lambda c, _: mk.NoisyPartners(c.n_noisy, c.noisy_fraction),
    ),
    Wire(
        "--swap",
        lambda c: c.swap != "none",
        lambda c, _: mk.Swapping(c.swap),
        lambda c: mk.SwapHyper(_a(c, c.swap_p)),
        ("swap_p",),
    ),
    Wire(
        "--atp",
        lambda c: c.atp > 0,
        lambda c, _: mk.AlignTruePairs(),
        lambda c: mk.Weight(_a(c, c.atp)),
    ),
    Wire(
        "--cu",
        lambda c: c.cu > 0,
        lambda c, _: mk.CentroidUniformity(),
        lambda c: mk.Weight(_a(c, c.cu)),
    ),
)
"""Every mechanism, in the order the objective applies them (temperatures first; partners
before swapping, as the key streams were drawn)."""


def mechanisms(cfg: Any, tau_fn: Callable | None = None) -> tuple[mk.Mechanism, ...]:
    """The mechanisms of a config, in :data:`WIRES` order (static values, no arrays).

    ``tau_fn`` goes with ``tau_schedule="custom"`` only.

    Raises:
        ConfigError: a ``tau_fn`` without ``tau_schedule="custom"``, or the reverse.
    """
    if (tau_fn is not None) != (cfg.tau_schedule == "custom"):
        raise ConfigError(
            "tau_schedule",
            cfg.tau_schedule,
            "'custom' goes with a tau_fn callable in the API, and only with it",
        )
    return tuple(w.make(cfg, tau_fn) for w in WIRES if w.on(cfg))


def hypers(cfg: Any) -> tuple:
    """The traced hyper-parameters of :func:`mechanisms`, in the same order."""
    return tuple(w.hyper(cfg) for w in WIRES if w.on(cfg))


def lbfgs_refusal(cfg: Any) -> str | None:
    """The flag of the first mechanism that L-BFGS cannot optimise, or ``None``.

    L-BFGS optimises a fixed objective over the points alone
    (:func:`gapsim.core.mechanisms.fixed_objective`).
    """
    for w in WIRES:
        if w.on(cfg) and not mk.fixed_objective((w.make(cfg, None),)):
            return w.flag
    return None


def reports(cfg: Any) -> dict[str, Any]:
    """The configured values the mechanisms of ``cfg`` report (:attr:`Wire.report`)."""
    out: dict[str, Any] = {}
    for w in WIRES:
        if w.on(cfg):
            out.update(w.report(cfg))
    return out


@x64
def describe(cfg: Any) -> list[str]:
    """Each mechanism's label with its values (``Mechanism.describe``), for ``gapsim run``."""
    made = [w.make(cfg, None) for w in WIRES if w.on(cfg)]
    return [m.describe(h) for m, h in zip(made, hypers(cfg), strict=True)]


def used_with() -> dict[str, tuple[Callable[[Any], bool], str]]:
    """``field -> (in use?, what it needs)`` for the fields of every mechanism."""
    return {f: (w.on, w.flag) for w in WIRES for f in w.fields}
