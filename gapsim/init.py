r"""Starting configurations on any constraint set, and a registry to add more.

An initialiser is ``fn(key, config, cx, cy) -> (x0, y0)`` with ``cx``, ``cy`` the modalities'
:class:`~gapsim.geometry.Constraint` values; register it with :func:`register_init` and it
becomes available as ``Config(init=NAME)`` and ``gapsim run --init NAME``. Whatever it returns
is projected onto the constraint sets by :func:`initial_points`.

Built in:

- ``uniform``: uniform on :math:`S^{d-1}\cap U` (or, with a cap, uniform inside the cap: the
  polar angle is drawn from its density :math:`\propto\sin^{k-2}\theta` on :math:`[0,\alpha]`);
  with a free-axis cap the axis is a uniform random direction.
- ``cones``: the "cone effect" start (Liang et al. 2022): each modality uniform in its own narrow
  cap of half-angle ``init_angle`` around a random axis (or axes ``init_axis_angle`` apart).
- ``file``: the points stored in ``init_file`` (selected automatically when it is set).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from gapsim._types import Basis, Points, PRNGKey, Vector
from gapsim.errors import ConfigError
from gapsim.geometry import Constraint, feasible, project, safe_normalize

if TYPE_CHECKING:
    from gapsim.config import Config

__all__ = ["INITS", "register_init", "initial_points", "uniform_in_cap", "load_points"]

InitFn = Callable[[PRNGKey, "Config", Constraint, Constraint], tuple[Points, Points]]
INITS: dict[str, InitFn] = {}

_GRID = 4097


def register_init(name: str) -> Callable[[InitFn], InitFn]:
    """Decorator: register ``fn(key, config, cx, cy) -> (x0, y0)`` under ``name``."""

    def deco(fn: InitFn) -> InitFn:
        INITS[name] = fn
        return fn

    return deco


def _gaussian_in(key: PRNGKey, n: int, d: int, basis: Basis | None, dtype) -> Points:
    k = d if basis is None else basis.shape[1]
    g = jax.random.normal(key, (n, k), dtype=dtype)
    return g if basis is None else g @ basis.T


def uniform_in_cap(
    key: PRNGKey, n: int, axis: Vector, alpha: float, basis: Basis | None = None
) -> Points:
    r"""``n`` points uniform in the cap :math:`\{x \in S^{d-1}\cap U: x\cdot c \ge \cos\alpha\}`.

    The polar angle :math:`\theta` has density :math:`\propto \sin^{k-2}\theta` on
    :math:`[0, \alpha]` (:math:`k = \dim U`), sampled by inverting its CDF on a fine grid; the
    azimuth is uniform on the unit sphere of :math:`U \cap c^\perp`.

    Args:
        key: PRNG key.
        n: number of points.
        axis: unit ``(d,)`` axis c (in U).
        alpha: half-angle in ``(0, pi]``.
        basis: ``(d, k)`` orthonormal basis of U, or ``None`` for the whole space.
    """
    d, dtype = axis.shape[0], axis.dtype
    k = d if basis is None else basis.shape[1]
    k_theta, k_dir = jax.random.split(key)
    grid = jnp.linspace(0.0, alpha, _GRID, dtype=jnp.float64)
    pdf = jnp.sin(grid) ** (k - 2) if k > 2 else jnp.ones_like(grid)
    cdf = jnp.concatenate([jnp.zeros(1), jnp.cumsum((pdf[1:] + pdf[:-1]) / 2)])
    theta = jnp.interp(jax.random.uniform(k_theta, (n,), dtype=jnp.float64), cdf / cdf[-1], grid)
    g = _gaussian_in(k_dir, n, d, basis, dtype)
    u = safe_normalize(g - (g @ axis)[:, None] * axis[None, :], axis)
    theta = theta.astype(dtype)[:, None]
    return jnp.cos(theta) * axis[None, :] + jnp.sin(theta) * u


def _random_axis(key: PRNGKey, c: Constraint, d: int, dtype) -> Vector:
    g = _gaussian_in(key, 1, d, c.basis, dtype)
    return safe_normalize(g, jnp.zeros(d, dtype).at[0].set(1))[0]


def _in_set(key: PRNGKey, n: int, d: int, c: Constraint, dtype) -> Points:
    if c.cap_cos is None:
        return _gaussian_in(key, n, d, c.basis, dtype)
    k_axis, k_pts = jax.random.split(key)
    axis = c.axis if c.axis is not None else _random_axis(k_axis, c, d, dtype)
    return uniform_in_cap(k_pts, n, axis, float(jnp.arccos(c.cap_cos)), c.basis)


@register_init("uniform")
def _uniform(key, cfg, cx, cy):
    kx, ky = jax.random.split(key)
    dt = cfg.effective_dtype
    return (_in_set(kx, cfg.n_pairs, cfg.dim, cx, dt), _in_set(ky, cfg.n_pairs, cfg.dim, cy, dt))


@register_init("cones")
def _cones(key, cfg, cx, cy):
    k_ax, k_orth, kx, ky = jax.random.split(key, 4)
    dt, d = cfg.effective_dtype, cfg.dim
    ax = _random_axis(k_ax, cx, d, dt)
    if cfg.init_axis_angle is None:
        ay = _random_axis(k_orth, cy, d, dt)
    else:  # rotate ax by the requested angle towards a random orthogonal direction
        g = jax.random.normal(k_orth, (d,), dtype=dt)
        w = safe_normalize((g - (g @ ax) * ax)[None], jnp.roll(ax, 1)[None])[0]
        ay = np.cos(cfg.init_axis_angle) * ax + np.sin(cfg.init_axis_angle) * w
        if cy.basis is not None:
            ay = safe_normalize((cy.basis @ (cy.basis.T @ ay))[None], cy.basis[:, 0][None])[0]
    n = cfg.n_pairs
    return (
        uniform_in_cap(kx, n, ax, cfg.init_angle, cx.basis),
        uniform_in_cap(ky, n, ay, cfg.init_angle, cy.basis),
    )


def load_points(path: str, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Read starting points from ``.npz`` (arrays ``x`` and ``y``) or ``.npy`` (shape (2, n, d)).

    Raises:
        ConfigError: the file is missing, unreadable, or holds arrays of the wrong shape.
    """
    try:
        data = np.load(path)
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                x, y = np.asarray(data["x"]), np.asarray(data["y"])
        else:
            x, y = data[0], data[1]
    except (OSError, KeyError, ValueError, IndexError) as e:
        raise ConfigError("init_file", path, f"must be a readable .npz (x, y) or .npy ({e})") from e
    for name, a in (("x", x), ("y", y)):
        if a.shape != (n, d) or not np.all(np.isfinite(a)):
            raise ConfigError(
                "init_file",
                path,
                f"array {name} must be finite with shape ({n}, {d}), got {a.shape}",
            )
    return x, y


@register_init("file")
def _file(key, cfg, cx, cy):
    del key, cx, cy
    return load_points(cfg.init_file, cfg.n_pairs, cfg.dim)


def initial_points(
    key: PRNGKey,
    cfg: Config,
    cx: Constraint,
    cy: Constraint,
    x0: np.ndarray | None = None,
    y0: np.ndarray | None = None,
) -> tuple[Points, Points]:
    """Starting points: given arrays, else the configured initialiser, on the constraint sets.

    Drawn points are projected onto the sets. Given points (arrays or ``init_file``) are kept
    exactly where :func:`gapsim.geometry.feasible` accepts them and projected elsewhere, so that
    the stored start of a run replays it bit for bit.
    """
    dt = cfg.effective_dtype
    if (x0 is None) != (y0 is None):
        raise ConfigError("x0/y0", "one array", "give both starting arrays or neither")
    given = x0 is not None or cfg.init_file is not None
    if x0 is None:
        name = "file" if cfg.init_file is not None else cfg.init
        x0, y0 = INITS[name](key, cfg, cx, cy)
    for name, a in (("x0", x0), ("y0", y0)):
        shape = np.shape(a)
        if shape != (cfg.n_pairs, cfg.dim):
            raise ConfigError(
                name, f"array of shape {shape}", f"must have shape ({cfg.n_pairs}, {cfg.dim})"
            )
    x0, y0 = jnp.asarray(x0, dtype=dt), jnp.asarray(y0, dtype=dt)
    if not given:
        return project(cx, x0), project(cy, y0)
    # given points already on the set are kept bit for bit, so that a run replays exactly
    return tuple(
        jnp.where(feasible(c, z)[:, None], z, project(c, z)) for c, z in ((cx, x0), (cy, y0))
    )
