"""``simulate(config) -> Result``: the one-call entry point over the composable parts.

Steps: take the config apart (:func:`gapsim.app.parts.prepare`: the constraint sets, the start
drawn or loaded by :func:`gapsim.app.init.initial_points`, the mechanisms), run the compiled
solver loop (:mod:`gapsim.core.solvers`), then certify: the final points are re-projected in
float64 and the stationarity measure is evaluated there, so the certificate does not depend on
the working precision. A run that produces NaN/inf raises
:class:`gapsim.errors.DivergenceError` naming the step and the likely cause.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gapsim.app.config import Config
from gapsim.app.parts import prepare
from gapsim.app.postrun import posthoc_measures
from gapsim.app.result import Certificate, Result
from gapsim.app.wiring import reports
from gapsim.core.certificate import SecondOrder, centroid_angle_precision, kkt_certificate
from gapsim.core.measures import flag_centroid_angle, subspace_measures
from gapsim.core.mechanisms import stochastic
from gapsim.core.objective import pairs
from gapsim.core.precision import x64
from gapsim.core.progress import steps_bar
from gapsim.core.sets import Constraint, project
from gapsim.core.solvers import (
    HISTORY_KEYS,
    Args,
    History,
    SolverOutput,
    Static,
    certify,
    execute,
)
from gapsim.errors import DivergenceError

__all__ = [
    "simulate",
    "finish",
    "final_measures",
    "history_record",
    "certificate_inputs",
    "RECORD_KEYS",
]

RECORD_KEYS = tuple("tau" if k == "beta" else k for k in HISTORY_KEYS)
"""The scalar columns of a result's history: the core's :data:`~gapsim.core.solvers.HISTORY_KEYS`
with the inverse temperature ``beta`` given as the temperature ``tau``."""


def _divergence_cause(cfg: Config, z0: Any = None) -> str:
    """The likely cause of a NaN/inf run, in words (checked in order of certainty)."""
    if z0 is not None and not np.all(np.isfinite(np.asarray(z0))):
        return (
            "the starting points are not finite (a degenerate start: check --init-angle, "
            "--cone-angle or the init file)"
        )
    dt = cfg.effective_dtype
    lr0 = cfg.solver != "lbfgs" and np.asarray(cfg.effective_lr, dt) == 0
    if cfg.beta > float(np.sqrt(np.finfo(dt).max)) or lr0:  # beta^2 (curvature) overflows
        tip = "a larger tau" if dt == "float64" else "--dtype float64 or a larger tau"
        return f"tau={cfg.tau:g} is too small for {dt} (beta = {cfg.beta:.3g}); try {tip}"
    if cfg.solver in ("gd", "sgd"):
        return (
            f"the step size lr={cfg.effective_lr:g} is likely too large for tau={cfg.tau:g} "
            f"(gradient descent is stable below about n_pairs*tau^2 = "
            f"{cfg.n_pairs * cfg.tau**2:g}); lower --lr"
        )
    if cfg.solver == "adam":
        return f"lr={cfg.effective_lr:g} is likely too large; lower --lr"
    if cfg.effective_dtype == "float32":
        return f"float overflow in float32 at tau={cfg.tau:g}; try --dtype float64 or a larger tau"
    return f"float overflow in float64 at tau={cfg.tau:g}; try a larger tau"


def _check_finite(
    cfg: Config, out: SolverOutput, hist: dict[str, np.ndarray], z0: Any = None
) -> None:
    bad = ~(np.isfinite(hist["loss"]) & np.isfinite(hist["grad_norm"]))
    if not bad.any() and all(np.all(np.isfinite(v)) for v in out.params.values()):
        return
    step = int(hist["step"][np.argmax(bad)]) if bad.any() else int(out.steps)
    raise DivergenceError(step, _divergence_cause(cfg, z0))


def final_measures(
    raw: dict[str, Any], z: np.ndarray, constraints: list[Constraint]
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Final scalar measures and arrays (host side) from the raw measures of :func:`certify`.

    Adds the ill-conditioning flag of the centroid angle (``centroid_angle`` becomes NaN,
    ``centroid_angle_raw`` keeps the number), with M > 2 the mean centroid distance over all
    modality pairs, and with subspace constraints :func:`gapsim.core.measures.subspace_measures`
    (of the unlifted points ``z``).
    """
    m = flag_centroid_angle({k: float(v) for k, v in raw.items()})
    if z.shape[0] > 2:
        means = z.mean(axis=1)
        dists = [np.linalg.norm(means[a] - means[b]) for a, b in pairs(z.shape[0])]
        m["centroid_distance_pairs_mean"] = float(np.mean(dists))
    arrays: dict[str, np.ndarray] = {}
    cx, cy = constraints[0], constraints[1]
    if cx.basis is not None and cy.basis is not None:
        sub, arrays = subspace_measures(z[0], z[1], np.asarray(cx.basis), np.asarray(cy.basis))
        m.update(sub)
    return m, arrays


@x64
def simulate(
    cfg: Config,
    points: Any = None,
    *,
    tau_fn: Callable | None = None,
    record_points: bool = False,
    progress: bool = False,
) -> Result:
    """Run one simulation and certify its end point.

    Args:
        cfg: the configuration.
        points: optional starting points, ``(M, N, d)`` or a sequence of M ``(N, d)`` arrays
            such as ``(x0, y0)``; they override ``cfg.init``, so that a peer's exact start can
            be replayed (points already on the constraint sets are used bit for bit).
        tau_fn: a temperature schedule ``fn(t) -> tau`` of the update index
            ``t = 0..steps-1``, traceable by JAX; requires ``cfg.tau_schedule == "custom"``.
        record_points: also record the points at every record: ``history["z"]``,
            ``(n_records, M, N, d)`` in the working dtype (for animations; a separate compiled
            program, off by default).
        progress: draw a bar over the steps on stderr (:mod:`gapsim.core.progress`); the result
            is the same bits either way.

    Returns:
        A :class:`~gapsim.app.result.Result` with trajectory, final points and measures, and a
        :class:`~gapsim.app.result.Certificate`.

    Raises:
        ConfigError: invalid starting arrays.
        DivergenceError: NaN/inf during the run.

    Example:
        >>> from gapsim import Config, simulate
        >>> r = simulate(Config(n_pairs=4, dim=3, tau=0.5))
        >>> r.converged, round(r.measures["paired_cosine_min"], 6)
        (True, 1.0)
    """
    static, args = prepare(cfg, points, tau_fn, record_points=record_points)
    with steps_bar(cfg.steps, progress, f"{cfg.solver} steps"):
        out = execute(static, args, progress=progress)
        jax.block_until_ready(out)
    return finish(cfg, static, args, out)


def history_record(history: History, n: int) -> dict[str, np.ndarray]:
    """The first ``n`` records of a run's :class:`~gapsim.core.solvers.History` on the host.

    The edge where the core's inverse temperature becomes the temperature users read:
    ``beta`` is recorded as ``tau = 1/beta`` (in the working dtype: the same bits the device's
    division gives). Host slices: no compile per ``n``.
    """
    out = {}
    for k, v in history.arrays().items():
        v = np.asarray(v)[:n]
        if k == "beta":
            k, v = "tau", np.asarray(1, v.dtype) / v
        out[k] = v
    return out


def _to_float64(args: Args, params: dict) -> tuple[Args, dict]:
    """Cast a run's arrays to float64 and put the points back on their sets in float64."""

    def cast(a):
        return a.astype(jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a

    if args.z0.dtype == jnp.float64:
        return args, params
    args64, p64 = jax.tree.map(cast, (args, params))
    p64["z"] = _project_all(args64.constraints, p64["z"])
    return args64, p64


_project_all = jax.jit(jax.vmap(project))


def _active_tol(cfg: Config) -> float:
    """A cap is active within the rounding of a unit dot product in the working precision."""
    return (cfg.dim + 2) * float(np.finfo(cfg.effective_dtype).eps)


def _needs_kkt(cfg: Config, static: Static, args64: Args, gn: float) -> bool:
    """Whether :func:`finish` runs the KKT certificate.

    That is: deterministic, second order on, and stationary or on a cap (where the KKT
    residual, not the gradient mapping, decides stationarity).
    """
    if stochastic(static.mechanisms) or not cfg.second_order:
        return False
    return gn <= cfg.effective_gtol or args64.constraints.has_cap


@x64
def certificate_inputs(
    cfg: Config, static: Static, args: Args, out: SolverOutput
) -> tuple[Args, dict, int, float, float] | None:
    """What :func:`finish` passes to :func:`gapsim.core.certificate.kkt_certificate`.

    ``(args64, params64, t, gtol, active_tol)``, or ``None`` where ``finish`` computes no KKT
    certificate (or the run diverged). :func:`gapsim.app.batch.best_of_seeds` uses it to certify
    all seeds as one batch (:func:`gapsim.core.certificate.kkt_certificates`), then hands each
    certificate to ``finish``.
    """
    if not all(np.all(np.isfinite(np.asarray(v))) for v in out.params.values()):
        return None
    args64, p64 = _to_float64(args, out.params)
    t = max(int(out.steps) - 1, 0)
    gn = float(certify(args64, p64, jnp.asarray(t), static).grad_norm)
    if not _needs_kkt(cfg, static, args64, gn):
        return None
    return args64, p64, t, cfg.effective_gtol, _active_tol(cfg)


def _certificate(
    cfg: Config,
    static: Static,
    args64: Args,
    p64: dict,
    t: int,
    gn: float,
    steps: int,
    so: SecondOrder | None = None,
) -> Certificate:
    r"""First-order measure plus the KKT certificate (:mod:`gapsim.core.certificate`).

    A cap counts as active within the rounding of a dot product of unit vectors in the
    *working* precision, :math:`(d + 2)\epsilon` (Higham's :math:`\gamma_d` plus the rounding
    of the points themselves): a float32 run's rim points are on the rim only to that. ``so``:
    the certificate, when already computed (a batch of seeds).
    """
    gtol = cfg.effective_gtol
    criterion = "gradient_mapping_norm" if args64.constraints.has_cap else "riemannian_grad_norm"
    head = (gn <= gtol, gn, gtol, criterion, steps, cfg.solver)
    if stochastic(static.mechanisms):
        return Certificate(False, *head[1:], kind="stochastic")
    if not _needs_kkt(cfg, static, args64, gn):
        # nothing to compile: on smooth sets the KKT residual *is* the Riemannian gradient norm
        kind = "stationary" if gn <= gtol else "not stationary"
        return Certificate(*head, kind=kind, kkt_residual=gn if cfg.second_order else math.nan)
    if so is None:
        so = kkt_certificate(static, args64, p64, t, gtol, active_tol=_active_tol(cfg))
    return Certificate.of(so, grad_norm=gn, criterion=criterion, steps=steps, solver=cfg.solver)


def _angle_precision(m: dict[str, Any], position_error: float, n: int) -> dict[str, Any]:
    """``centroid_angle_precision`` and the angle set to NaN when undefined at that precision."""
    prec = centroid_angle_precision((m["mean_norm_x"], m["mean_norm_y"]), position_error, n)
    out: dict[str, Any] = {"centroid_angle_precision": prec}
    if not math.isfinite(position_error):
        return out  # no second-order estimate: the mean-norm flag of measures stands alone
    if not math.isfinite(prec):
        out.update({"centroid_angle": math.nan, "centroid_angle_ill_conditioned": True})
    return out


@x64
def finish(
    cfg: Config,
    static: Static,
    args: Args,
    out: SolverOutput,
    *,
    second_order: SecondOrder | None = None,
) -> Result:
    """Turn a solver's output into a certified :class:`~gapsim.app.result.Result`.

    Raises :class:`~gapsim.errors.DivergenceError` on NaN/inf. Re-projects the final points in
    float64 and evaluates there the stationarity measure of the noise-free objective (at the
    temperature of the last step) and the final measures, then the KKT certificate
    (:func:`gapsim.core.certificate.kkt_certificate`): ``converged`` means a certified local minimum
    (first order and no negative curvature beyond ``hess_tol``; with ``second_order=False``,
    first order only). The centroid angle is NaN when the position error makes it undefined
    (``centroid_angle_precision``). Runs with stochastic mechanisms (swapping, re-drawn
    partners) have no deterministic stationary point: their certificate still reports the
    gradient norm but ``converged`` is False. ``second_order``: the KKT certificate of this end
    point, already computed (:func:`certificate_inputs`; a batch of seeds), used as it is.
    """
    n = int(out.n_records)
    hist = history_record(out.history, n)
    _check_finite(cfg, out, hist, args.z0)
    p = out.params
    args64, p64 = _to_float64(args, p)
    t = max(int(out.steps) - 1, 0)
    c = jax.device_get(certify(args64, p64, jnp.asarray(t), static))
    gn, beta = float(c.grad_norm), float(c.beta)
    cert = _certificate(cfg, static, args64, p64, t, gn, int(out.steps), second_order)
    z = np.asarray(p64["z"])
    cs = [jax.tree.map(lambda a, m=m: a[m], args64.constraints) for m in range(cfg.modalities)]
    m, arrays = final_measures(c.measures._asdict(), z, cs)
    m.update(_angle_precision(m, cert.position_error, cfg.n_pairs))
    m.update({"objective": float(c.objective), "tau_final": 1 / beta})
    bases = [None if cs[i].basis is None else np.asarray(cs[i].basis) for i in (0, 1)]
    m.update(posthoc_measures(cfg, z[0], z[1], *bases, 1 / beta))
    m.update(reports(cfg))
    for mech, hyper in zip(static.mechanisms, args64.hypers, strict=True):
        m.update(mech.report(hyper, p64))
    if "w" in p64:  # raw parametrisation: the free vectors' row norms drift
        arrays["raw_norms"] = np.linalg.norm(np.asarray(p64["w"]), axis=-1)
        m.update({"raw_norm_min": float(arrays["raw_norms"].min())})
        m.update({"raw_norm_max": float(arrays["raw_norms"].max())})
    return Result(cfg, z, np.asarray(args.z0, np.float64), hist, m, cert, arrays)
