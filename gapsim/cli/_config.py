"""The configuration flags of ``gapsim run`` and ``gapsim sweep``: one per Config field.

Flags are generated from :class:`gapsim.app.config.Config` (``n_pairs`` -> ``--n-pairs``; the help
text is the field's ``help`` metadata), so the CLI and the API cannot drift apart. Angles are
radians; ``30deg``, ``pi`` and ``0.25pi`` are accepted too.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any

from gapsim.app.config import Config
from gapsim.app.config_rules import config_hints

__all__ = [
    "ANGLE_FIELDS",
    "angle",
    "listof",
    "field_type",
    "add_config_flags",
    "config_fields",
    "config_from_args",
    "given_fields",
    "load_config_file",
]

ANGLE_FIELDS = {"cone_angle", "cone_axis_angle", "phi", "thetas", "init_angle", "init_axis_angle"}


def angle(text: str) -> float:
    """An angle in radians from ``0.3``, ``30deg``, ``pi`` or ``0.25pi``.

    Example:
        >>> round(angle("90deg"), 6), round(angle("0.5pi"), 6), angle("0.3")
        (1.570796, 1.570796, 0.3)
    """
    t = text.strip().lower()
    if t.endswith("deg"):
        return math.radians(float(t[:-3]))
    if t == "pi" or t.endswith("pi"):  # e.g. "pi", "0.25pi"
        return float(t[:-2] or 1) * math.pi
    return float(t)


def listof(scalar: Any) -> Any:
    """A converter of ``"a,b,c"`` to a tuple of ``scalar`` values (argparse ``type=``)."""

    def conv(text: str) -> tuple:
        return tuple(scalar(v) for v in text.split(",") if v.strip())

    conv.__name__ = "comma-separated list"
    return conv


def field_type(f: dataclasses.Field) -> tuple[Any, bool]:
    """(scalar converter, is_tuple) for a Config field's annotation."""
    hint = config_hints(Config)[f.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if isinstance(hint, types.UnionType) or typing.get_origin(hint) else hint
    is_tuple = typing.get_origin(base) is tuple
    scalar = typing.get_args(base)[0] if is_tuple else base
    if f.name in ANGLE_FIELDS:
        scalar = angle
    return scalar, is_tuple


API_ONLY = {"tau_schedule": ("custom",)}
"""Choices that need Python objects (a ``tau_fn``), so the CLI does not offer them."""


def add_config_flags(p: argparse.ArgumentParser) -> None:
    """Add one flag per :class:`Config` field to ``p``, defaults and choices from the field.

    A flag not given leaves no attribute in the namespace (``argparse.SUPPRESS``), so that
    :func:`given_fields` knows what the user set; the help still shows the default.
    """
    g = p.add_argument_group("configuration (every Config field)")
    g.add_argument(
        "--config",
        metavar="FILE",
        help="start from a stored config (a run folder's config.json, a saved result's JSON, or "
        "a plain JSON object of fields); flags given beside it override its fields",
    )
    for f in dataclasses.fields(Config):
        flag = "--" + f.name.replace("_", "-")
        help_ = f.metadata["help"] + (f" [default: {f.default}]" if f.default is not None else "")
        scalar, is_tuple = field_type(f)
        if scalar is bool:
            g.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_,
            )
            continue
        conv = listof(scalar) if is_tuple else scalar
        choices = f.metadata.get("choices")
        if choices:
            choices = [c for c in choices if c not in API_ONLY.get(f.name, ())]
        kw = {"choices": choices} if choices else {"metavar": f.name.upper()}
        g.add_argument(flag, type=conv, default=argparse.SUPPRESS, help=help_, **kw)


def given_fields(ns: argparse.Namespace) -> dict[str, Any]:
    """The Config fields given as flags (not those left at their defaults)."""
    return {f.name: getattr(ns, f.name) for f in dataclasses.fields(Config) if hasattr(ns, f.name)}


def load_config_file(path: str) -> dict[str, Any]:
    """The Config fields stored in ``path`` (``--config FILE``).

    ``{"config": {...}}`` (a run folder's config.json, a saved result's JSON) or a plain
    object of fields.

    Raises:
        ConfigError: unreadable file, not JSON, or not a config.
    """
    import json

    from gapsim.errors import ConfigError

    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ConfigError("config", path, f"must be a readable JSON file ({e})") from e
    fields = doc.get("config", doc) if isinstance(doc, dict) else None
    if not isinstance(fields, dict):
        raise ConfigError("config", path, "must hold a JSON object of Config fields")
    names = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(fields) - names)
    if unknown:
        raise ConfigError("config", path, f"holds unknown fields {', '.join(unknown)}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}


def config_fields(ns: argparse.Namespace) -> dict[str, Any]:
    """The fields of ``--config FILE`` overridden by the flags given (not validated yet).

    Fields in neither take their defaults.
    """
    base = load_config_file(ns.config) if getattr(ns, "config", None) else {}
    return {**base, **given_fields(ns)}


def config_from_args(ns: argparse.Namespace) -> Config:
    """The validated :class:`Config` of the flags in ``ns`` (raises ConfigError: exit 2).

    Flags given explicitly for a setting that is off (``--swap-p`` without ``--swap``) are
    refused even at their default value (:func:`gapsim.app.config.check_given`).
    """
    from gapsim.app.config import check_given

    cfg = Config(**config_fields(ns))
    check_given(cfg, given_fields(ns))
    return cfg
