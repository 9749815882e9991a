"""64-bit precision where gapsim needs it, without switching it on for the user's process.

Certified optima are computed, and every run is certified, in float64
(:mod:`gapsim.app.simulate`). JAX computes in float64 only in its 64-bit mode; gapsim asks for
that mode around its own entry points (:func:`x64` on :func:`gapsim.app.simulate.simulate`,
:func:`~gapsim.app.parts.prepare`, :func:`~gapsim.app.simulate.finish`,
:func:`gapsim.app.sweep.sweep`; the ``gapsim`` command runs under it) with
:func:`jax.enable_x64`, a context manager that restores the caller's setting on exit.
Importing gapsim changes nothing: the default dtypes of the user's own JAX code stay theirs.
Every array gapsim creates carries an explicit dtype, so float32 runs stay float32 in 64-bit
mode.

The low-level solvers (:func:`gapsim.core.solvers.run_lbfgs`,
:func:`~gapsim.core.solvers.run_dynamics`, :func:`~gapsim.core.solvers.certify`) are jitted
functions that run in the caller's mode; call them inside ``with jax.enable_x64(True):`` (or
through :func:`x64`) for float64.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["x64"]

F = TypeVar("F", bound=Callable[..., Any])


def x64(fn: F) -> F:
    """Run ``fn`` with JAX's 64-bit mode on, restoring the caller's mode afterwards.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> before = jax.config.x64_enabled
        >>> x64(lambda: jnp.zeros(1, jnp.float64).dtype)()
        dtype('float64')
        >>> jax.config.x64_enabled == before
        True
    """

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        import jax

        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
