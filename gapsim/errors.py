"""Errors raised by gapsim, each with a one-line message a user can act on."""

from __future__ import annotations

__all__ = ["ConfigError", "DivergenceError"]


class ConfigError(ValueError):
    """An input is outside its allowed range.

    The message always names the field, the value given and what is allowed, e.g.
    ``tau=-1.0: must be > 0``.

    Attributes:
        field: the config field (or argument) name.
        value: the value that was given.
        allowed: a short description of the allowed range.
    """

    def __init__(self, field: str, value: object, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}={value!r}: {allowed}")


class DivergenceError(FloatingPointError):
    """A run produced NaN or inf.

    Attributes:
        step: the first recorded step at which a non-finite value was seen.
        cause: the likely cause, in words.
    """

    def __init__(self, step: int, cause: str):
        self.step, self.cause = step, cause
        super().__init__(f"run diverged (NaN/inf) by step {step}: {cause}")
