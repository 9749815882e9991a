r"""Starting configurations on any constraint set, and a registry to add more.

An initialiser is ``fn(key, config, constraints) -> z0`` with ``constraints`` the list of the M
modalities' :class:`~gapsim.core.sets.Constraint` values and ``z0`` an ``(M, N, d)`` array (or a
sequence of M ``(N, d)`` arrays); register it with :func:`register_init` and it becomes
available as ``Config(init=NAME)`` and ``gapsim run --init NAME``. Whatever it returns is
projected onto the constraint sets by :func:`initial_points`.

Built in:

- ``uniform``: uniform on :math:`S^{d-1}\cap U` (or, with a cap, uniform inside the cap: the
  polar angle is drawn from its density :math:`\propto\sin^{k-2}\theta` on :math:`[0,\alpha]`);
  with a learnable-axis cap the axis is a uniform random direction; with a fixed concentration,
  uniform points projected onto the set {||mean|| = rho}.
- ``cones``: the "cone effect" start (Liang et al. 2022): each modality uniform in its own narrow
  cap of half-angle ``init_angle`` around a random axis (or axes ``init_axis_angle`` apart).
- ``parallel-mismatched`` / ``parallel-matched`` (Yaras et al. 2025, M = 2, d >= 3): x on the
  parallel circle at polar angle ``init_angle`` from :math:`e_d`, y on the mirror circle around
  :math:`-e_d` (the rims of two opposite caps), at sorted random azimuths
  :math:`\theta_1 < \dots < \theta_N`; matched: :math:`y_i` below :math:`x_i`; mismatched:
  :math:`y_i` at azimuth :math:`\theta_{i+1}`, so :math:`y_{i-1}` lies below :math:`x_i` and
  every pair starts mismatched (margin < 0).
- ``file``: the points stored in ``init_file`` (selected automatically when it is set).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.core._types import Basis, Points, PRNGKey, Vector
from gapsim.core.sets import Constraint, feasible, project, reject, safe_normalize
from gapsim.errors import ConfigError

if TYPE_CHECKING:
    from gapsim.app.config import Config

__all__ = [
    "INITS",
    "register_init",
    "initial_points",
    "uniform_in_cap",
    "load_points",
    "check_points",
]

InitFn = Callable[[PRNGKey, "Config", list[Constraint]], Any]
INITS: dict[str, InitFn] = {}

_GRID = 4097


def register_init(name: str) -> Callable[[InitFn], InitFn]:
    """Decorator: register ``fn(key, config, constraints) -> z0`` under ``name``."""

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
    if basis is not None:  # sample in the coordinates of U: no rounding leaks out of U
        a = safe_normalize((basis.T @ axis)[None], basis.T[:, :1].T)[0]
        return uniform_in_cap(key, n, a, alpha) @ basis.T
    d, dtype = axis.shape[0], axis.dtype
    k_theta, k_dir = jax.random.split(key)
    grid = jnp.linspace(0.0, alpha, _GRID, dtype=jnp.float64)
    pdf = jnp.sin(grid) ** (d - 2) if d > 2 else jnp.ones_like(grid)
    cdf = jnp.concatenate([jnp.zeros(1), jnp.cumsum((pdf[1:] + pdf[:-1]) / 2)])
    cdf = cdf / jnp.where(cdf[-1] > 0, cdf[-1], 1.0)  # alpha = 0: every point on the axis
    theta = jnp.interp(jax.random.uniform(k_theta, (n,), dtype=jnp.float64), cdf, grid)
    g = jax.random.normal(k_dir, (n, d), dtype=dtype)
    u = safe_normalize(reject(g, axis), axis)  # (a draw parallel to the axis has probability 0)
    theta = theta.astype(dtype)[:, None]
    return safe_normalize(jnp.cos(theta) * axis[None, :] + jnp.sin(theta) * u, axis)


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
def _uniform(key, cfg, cs):
    keys = jax.random.split(key, len(cs))
    return [
        _in_set(k, cfg.n_pairs, cfg.dim, c, cfg.effective_dtype)
        for k, c in zip(keys, cs, strict=False)
    ]


def _rotated_axis(key, ax, angle, c, d, dt):
    """``ax`` rotated by ``angle`` towards a random orthogonal direction, projected into U."""
    g = jax.random.normal(key, (d,), dtype=dt)
    w = safe_normalize((g - (g @ ax) * ax)[None], jnp.roll(ax, 1)[None])[0]
    angle = jnp.asarray(angle, dt)  # a float64 angle must not promote float32 points
    a = jnp.cos(angle) * ax + jnp.sin(angle) * w
    if c.basis is not None:
        a = safe_normalize((c.basis @ (c.basis.T @ a))[None], c.basis[:, 0][None])[0]
    return a


@register_init("cones")
def _cones(key, cfg, cs):
    d, dt, n = cfg.dim, cfg.effective_dtype, cfg.n_pairs
    k_ax, k_rest = jax.random.split(key)
    axes = [_random_axis(k_ax, cs[0], d, dt)]
    for m, c in enumerate(cs[1:], start=1):
        k = jax.random.fold_in(k_rest, m)
        if cfg.init_axis_angle is None:
            axes.append(_random_axis(k, c, d, dt))
        else:
            axes.append(_rotated_axis(k, axes[0], cfg.init_axis_angle, c, d, dt))
    keys = jax.random.split(jax.random.fold_in(k_rest, 0), len(cs))
    return [
        uniform_in_cap(k, n, a, cfg.effective_init_angle, c.basis)
        for k, a, c in zip(keys, axes, cs, strict=False)
    ]


def _parallel(key, cfg, cs, shift):
    if cfg.modalities != 2 or cfg.dim < 3:
        raise ConfigError("init", cfg.init, "parallel starts need --modalities 2 and --dim >= 3")
    n, d, a = cfg.n_pairs, cfg.dim, cfg.effective_init_angle
    theta = jnp.sort(jax.random.uniform(key, (n,), dtype=jnp.float64, maxval=2 * np.pi))
    e = np.eye(d)

    def circle(th, height):
        return (
            np.sin(a) * (np.cos(th)[:, None] * e[0] + np.sin(th)[:, None] * e[1]) + height * e[-1]
        )

    th = np.asarray(theta)
    return np.stack([circle(th, np.cos(a)), circle(np.roll(th, -shift), -np.cos(a))])


@register_init("parallel-mismatched")
def _parallel_mismatched(key, cfg, cs):
    return _parallel(key, cfg, cs, 1)


@register_init("parallel-matched")
def _parallel_matched(key, cfg, cs):
    return _parallel(key, cfg, cs, 0)


def load_points(path: str, m: int, n: int, d: int, key: PRNGKey | None = None) -> np.ndarray:
    """Read starting points: ``.npz`` with arrays ``x``, ``y`` (M = 2) or ``z``, or ``.npy``.

    With M = 2, every paired-embedding file of :func:`gapsim.analysis.load.load_pair` is read
    too (``image``/``text`` names, ``.pt``, ``.safetensors``). A file with more than ``n``
    pairs is subsampled: ``n`` distinct pairs drawn with ``key`` (the run's init key), so a
    user's embeddings start a smaller free-point run. Rows need not be unit: the caller
    projects them onto the constraint sets.

    Returns:
        ``(m, n, d)`` float64 array (rows as stored; see :func:`check_points`).

    Raises:
        ConfigError: the file is missing, unreadable or truncated, holds a non-float array
            (bool, int, complex), arrays of the wrong shape, or a NaN/inf/zero row (named by
            its index).
    """
    try:
        if m == 2 and not str(path).endswith((".npz", ".npy")):
            from gapsim.analysis.load import load_pair

            z = np.stack(load_pair(path))
        else:
            with open(path, "rb") as fh:
                data = np.load(fh, allow_pickle=False)
                if isinstance(data, np.lib.npyio.NpzFile):
                    with data:
                        names = [k for k in ("x", "image", "image_features") if k in data.files]
                        other = {"x": "y", "image": "text", "image_features": "text_features"}
                        if "z" in data.files or not names:
                            z = data["z"]
                        else:
                            z = np.stack([data[names[0]], data[other[names[0]]]])
                else:
                    z = data
    except ConfigError:
        raise
    except Exception as e:  # noqa: BLE001 - any unreadable file is one input error
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(
            "init_file", path, f"must be a readable .npz (x, y or z) or .npy ({msg})"
        ) from e
    if key is not None and z.ndim == 3 and z.shape[1] > n:
        from gapsim.core.sampling import subsample

        z = z[:, subsample(key, z.shape[1], n)]
    return check_points(z, (m, n, d), "init_file")


def check_points(z: Any, shape: tuple[int, ...], source: str) -> np.ndarray:
    """Validate given starting points and return them as float64.

    Refuses non-float arrays (bool, int and complex would be converted silently), a wrong
    shape, and rows that are NaN/inf or (near) zero (they have no direction), naming the
    first bad row as ``[modality, pair]``.

    Raises:
        ConfigError: naming ``source`` and the problem in one line.
    """
    z = np.asarray(z)
    if z.dtype.kind != "f":
        raise ConfigError(source, f"array of dtype {z.dtype}", "must hold real floats")
    if z.shape != shape:
        raise ConfigError(source, f"array of shape {z.shape}", f"must have shape {shape}")
    z = z.astype(np.float64)
    bad = ~np.all(np.isfinite(z), axis=-1)
    if bad.any():
        row = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ConfigError(source, f"row {list(row)}", "holds NaN or inf")
    norms = np.linalg.norm(z, axis=-1)
    small = norms < MIN_ROW_NORM
    if small.any():
        row = tuple(int(i) for i in np.argwhere(small)[0])
        raise ConfigError(
            source,
            f"row {list(row)} of norm {norms[row]:.3g}",
            f"rows need a norm >= {MIN_ROW_NORM:g} (a zero row has no direction)",
        )
    return z


MIN_ROW_NORM = 1e-12
"""Smallest row norm of given points (zero and subnormal rows have no direction)."""


def _warn_normalised(z: np.ndarray, source: str) -> None:
    """Warn (with norm statistics) that non-unit given rows are normalised."""
    norms = np.linalg.norm(z, axis=-1)
    off = np.abs(norms - 1) > 1e-6
    if off.any():
        warnings.warn(
            f"{source}: {int(off.sum())} of {norms.size} rows are not unit vectors (norms "
            f"min {norms.min():.4g}, mean {norms.mean():.4g}, max {norms.max():.4g}); they are "
            "normalised (parametrization='projected'; 'raw' keeps them)",
            UserWarning,
            stacklevel=3,
        )


@register_init("file")
def _file(key, cfg, cs):
    del cs
    return load_points(cfg.init_file, cfg.modalities, cfg.n_pairs, cfg.dim, key)


def initial_points(
    key: PRNGKey, cfg: Config, constraints: list[Constraint], points: Any = None
) -> jax.Array:
    """Starting points ``(M, N, d)`` on the constraint sets.

    Args:
        key: PRNG key for the initialiser.
        cfg: the configuration (``init``, ``init_file``, sizes).
        constraints: the M constraint sets.
        points: optional given points, ``(M, N, d)`` or a sequence of M ``(N, d)`` arrays
            (e.g. ``(x0, y0)``); they override ``cfg.init``.

    Drawn points are projected onto the sets. Given points (arrays or ``init_file``) are
    validated (:func:`check_points`); with ``parametrization="raw"`` they are the raw
    parameters, kept exactly; otherwise they are kept exactly where
    :func:`gapsim.core.sets.feasible` accepts them and projected elsewhere (so that the stored
    start of a run replays it bit for bit), with a warning and norm statistics when rows are
    not unit vectors.
    """
    dt = cfg.effective_dtype
    shape = (cfg.modalities, cfg.n_pairs, cfg.dim)
    source = "points" if points is not None else "init_file"
    given = points is not None or cfg.init_file is not None
    if points is None:
        name = "file" if cfg.init_file is not None else cfg.init
        points = INITS[name](key, cfg, constraints)
    if given:
        try:
            stacked = np.stack([np.asarray(p) for p in points])
        except (TypeError, ValueError) as e:
            raise ConfigError(source, "arrays", f"must stack to shape {shape} ({e})") from e
        stacked = check_points(stacked, shape, source)
        if cfg.parametrization == "raw":  # raw parameters: kept exactly as given
            return jnp.asarray(stacked, dtype=dt)
        _warn_normalised(stacked, source)
        points = stacked
    try:
        z = jnp.stack([jnp.asarray(p, dtype=dt) for p in points])
    except (TypeError, ValueError) as e:
        raise ConfigError("points", "arrays", f"must stack to shape {shape} ({e})") from e
    if z.shape != shape:
        raise ConfigError("points", f"arrays of shape {z.shape}", f"must have shape {shape}")
    # given points already on the set are kept bit for bit, so that a run replays exactly
    return jnp.stack([_place(c, p, given) for c, p in zip(constraints, z, strict=True)])


@partial(jax.jit, static_argnames=("keep_feasible",))
def _place(c: Constraint, z: Points, keep_feasible: bool) -> Points:
    proj = project(c, z)
    return jnp.where(feasible(c, z)[:, None], z, proj) if keep_feasible else proj
