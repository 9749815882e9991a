r"""The bridge study: the finite-N optimum under fixed concentration against the population one.

Yi et al. (2025) state Thm 2 (cone) and Thm 3 (two hyperplanes) for N -> infinity with each modality
a von Mises-Fisher distribution of fixed concentration :math:`\kappa` and a free centre.
:mod:`gapsim.studies.population` minimises that population objective; free points at finite N are
held to no concentration (docs/population.md). This study holds finite-N points to the theorem's
hypothesis, :math:`\|\bar x\| = \rho = A_k(\kappa)` for each modality (inside its hyperplane,
``Config(constraint="subspace", kappa=...)``, or on the whole sphere,
``constraint="concentration"``), lets N grow (N = 8, 16, 32, ... up to ``n_max``) and measures
how the certified best-of-seeds optimum approaches the population optimum.

**What is measured per N.** The centroid angle (gap) with its precision
(:func:`gapsim.core.certificate.centroid_angle_precision`: never read beyond it); the shared and
private components of the unit centres :math:`c = \bar x/\|\bar x\|`, :math:`|P_Cc|` and
:math:`|P_{C^\perp}c|` (hyperplanes; the population optimum has :math:`|P_Cc| = 0`); the loss
minus :math:`\log N` against the population :math:`F`; the seeds' agreement (certified minima,
best loss, spread).

**An exact identity.** For any configuration, with :math:`P_N` its empirical joint distribution,

.. math:: L_N - \log N = -\frac{E_{P_N}[x\cdot y]}{\tau}
   + \tfrac12 E_x\log E_{y'\sim P_N} e^{x\cdot y'/\tau} + \tfrac12 E_y\log E_{x'\sim P_N}
   e^{x'\cdot y/\tau} = F(P_N),

the population objective evaluated at the N-atom distribution (each row's log-sum-exp is
:math:`\log N` plus the log of an empirical mean). Two consequences. (1) The finite-N minimum is
:math:`\min F` over N-atom distributions whose marginals have mean norm :math:`\rho`; duplicating
every pair keeps the value and the means, so the minimum over 2N atoms is at most the minimum over
N: the best loss is non-increasing along N -> 2N (a measured increase means the seeds missed the
minimum). Each N therefore also starts once from the previous N's optimum, duplicated and perturbed
(``"doubled"``). (2) The limit is the infimum of F over *all* distributions with that mean norm,
which is at most :math:`F` at the vMF optimum of :mod:`gapsim.studies.population` and may be below
it: the hypothesis "mean norm :math:`\rho`" fixes the concentration, not the vMF shape.

**Population reference.** :math:`F` over the centres' angle s from C (hyperplanes; coupling
:math:`y = Rx`) or over the angle between the centres (cone; rotation coupling), Monte Carlo
with common random numbers; the argmin lies among the grid points within ``N_SIGMA`` standard
errors of the paired difference of the smallest F; its *band* is the hull of that set widened
by one grid step (the argmin is resolved to no better). The value at the argmin is also
computed by quadrature where it is one-dimensional (a circle, k = 2; the cone at angle 0).

**Fits.** :func:`loglog_fit`: least squares of :math:`\log y` on :math:`\log N` with a
Student-t 95% interval for the slope, over the N where y is resolved (above its precision);
fewer than 3 resolved points: no slope (the quantity sits at the population value to precision:
a regime, reported as such).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from gapsim.app.batch import best_of_seeds
from gapsim.app.config import Config
from gapsim.app.parts import make_constraints
from gapsim.app.result import Result
from gapsim.app.simulate import simulate
from gapsim.core.certificate import centroid_angle_precision, mean_error
from gapsim.core.precision import x64
from gapsim.core.subspaces import ZERO_ANGLE_TOL, principal_vectors
from gapsim.studies.bridge_population import Setting, population

__all__ = [
    "SUBSPACE",
    "CONE",
    "N_MAX",
    "SEEDS",
    "DRAWS",
    "config",
    "centre_parts",
    "measure",
    "optimum",
    "study",
    "loglog_fit",
    "ns_up_to",
    "against",
]

TIE_RTOL = 1e-9
"""Equal losses (a tie, or the same optimum) to 9 digits: L-BFGS certifies to |grad| 1e-9."""
DOUBLED_NOISE = 1e-3
"""Size of the perturbation that splits the duplicated pairs of the doubled start."""

# The study's settings, shared by its check (gapsim.checks.yi_bridge) and its figure.
SUBSPACE = Setting("subspace", d=3, kappa=5.0, tau=0.3, phi=0.7)
CONE = Setting("cone", d=3, kappa=5.0, tau=0.3)
N_MAX = {"quick": 16, "full": 1024}
"""Largest N per tier. With the matrix-free certificate one certified optimum of the hyperplane
setting takes ~40 s at N = 256 and at N = 1024 (2 shared CPU cores, 2026-12-06); a study stops
earlier by itself at the first N where no start is certified (the cone: N = 32)."""
SEEDS = {"quick": range(1), "full": range(4)}
DRAWS = {"quick": 4000, "full": 20000}


def ns_up_to(n_max: int, n_min: int = 8) -> list[int]:
    """N = n_min, 2 n_min, ... up to ``n_max`` (the study's sizes; extend n_max as N scales)."""
    return [n_min * 2**i for i in range(int(math.log2(n_max / n_min)) + 1)]


def config(s: Setting, n: int, seed: int = 0, steps: int = 5000) -> Config:
    """The finite-N problem: fixed concentration inside each hyperplane, or on the sphere."""
    if s.model == "subspace":
        return Config(
            n_pairs=n, dim=s.d, tau=s.tau, constraint="subspace", phi=s.phi, kappa=s.kappa,
            seed=seed, steps=steps,
        )  # fmt: skip
    return Config(
        n_pairs=n, dim=s.d, tau=s.tau, constraint="concentration", kappa=s.kappa, seed=seed,
        steps=steps,
    )  # fmt: skip


def centre_parts(r: Result) -> dict:
    """Shared and private components of both unit centres (hyperplanes), with precision."""
    cs = make_constraints(r.config)
    pv = principal_vectors(np.asarray(cs[0].basis), np.asarray(cs[1].basis))
    shared = pv.angles < ZERO_ANGLE_TOL
    out = {}
    for name, z, priv in (("x", r.x, pv.u), ("y", r.y, pv.v)):
        m = z.mean(0)
        c = m / np.linalg.norm(m)
        out[f"shared_{name}"] = float(np.linalg.norm(pv.u[:, shared].T @ c))
        out[f"private_{name}"] = float(np.linalg.norm(priv[:, ~shared].T @ c))
    return out


def _twin_ties(r: Result) -> bool:
    """Whether the gap-0 twin Y := X (feasible under a fixed concentration) ties the loss."""
    from gapsim.core.loss import infonce

    twin = float(infonce(r.x, r.x, 1.0 / r.config.tau))
    return abs(twin - r.measures["loss"]) <= TIE_RTOL * max(1.0, abs(twin))


def measure(s: Setting, r: Result) -> dict:
    """The measured quantities of one certified optimum (module docstring)."""
    n = r.config.n_pairs
    mx, my = (float(np.linalg.norm(z.mean(0))) for z in (r.x, r.y))
    pe = float(r.certificate.position_error)
    prec = centroid_angle_precision((mx, my), pe, n)
    gap = float(r.measures.get("centroid_angle_raw", r.measures["centroid_angle"]))
    row = {
        "gap": gap,
        "gap_precision": prec,
        "mean_norm": [mx, my],
        "position_error": pe,
        "loss_minus_log_n": float(r.measures["loss"] - math.log(n)),
    }
    # Y := X (gap 0) with the same loss: with every point of a modality on one latitude of its
    # mean, each row's logits shift by one constant, so the gap (0 or pi) is not identified
    row["gap_identified"] = not (s.model == "cone" and gap > prec and _twin_ties(r))
    if s.model == "subspace":
        parts = centre_parts(r)
        row.update(parts)
        row["shared"] = max(parts["shared_x"], parts["shared_y"])
        row["shared_precision"] = mean_error(pe, n) / min(mx, my)
    row["gap_minus_target"] = row["gap"] - s.target
    return row


def _doubled(s: Setting, prev: Result, n: int, seed: int) -> np.ndarray:
    """The previous optimum with every pair duplicated, perturbed, in the sets (unit rows)."""
    rng = np.random.default_rng(seed)
    cs = make_constraints(config(s, n))
    z = []
    for pts, c in zip((prev.x, prev.y), cs, strict=True):
        p = np.repeat(pts, 2, axis=0) + DOUBLED_NOISE * rng.standard_normal((n, s.d))
        if c.basis is not None:
            q = np.asarray(c.basis)
            p = p @ q @ q.T
        z.append(p / np.linalg.norm(p, axis=1, keepdims=True))
    return np.stack(z)


def optimum(
    s: Setting, n: int, seeds: Sequence[int], prev: Result | None = None, steps: int = 5000
) -> tuple[Result, dict]:
    """Best certified minimum over the seeds and the doubled start; the starts' agreement."""
    best, losses = best_of_seeds(config(s, n, steps=steps), seeds)
    starts = {f"seed {k}": float(v) for k, v in zip(seeds, losses, strict=True)}
    if prev is not None and prev.converged:
        dbl = simulate(config(s, n, steps=steps), _doubled(s, prev, n, seed=n))
        starts["doubled"] = float(dbl.measures["loss"]) if dbl.converged else math.nan
        if dbl.converged and (not best.converged or dbl.measures["loss"] < best.measures["loss"]):
            best = dbl
    ok = np.array([v for v in starts.values() if np.isfinite(v)])
    lb = float(ok.min()) if ok.size else math.nan
    tie = TIE_RTOL * max(1.0, abs(lb))
    agree = {
        "start_losses_minus_log_n": {k: v - math.log(n) for k, v in starts.items()},
        "certified": int(ok.size),
        "starts": len(starts),
        "at_best": int(np.sum(np.abs(ok - lb) <= tie)),
        # a random start reached the best: this size is evidence of its own, not only the
        # previous optimum duplicated (the doubled start keeps its loss and its gap)
        "random_at_best": any(
            abs(v - lb) <= tie for k, v in starts.items() if k != "doubled" and np.isfinite(v)
        ),
        "spread": float(np.ptp(ok)) if ok.size else math.nan,
        "best_start": min(starts, key=lambda k: starts[k] if np.isfinite(starts[k]) else np.inf),
    }
    return best, agree


def loglog_fit(
    ns: Sequence[float] | np.ndarray, ys: Sequence[float] | np.ndarray, level: float = 0.95
) -> dict | None:
    """Slope of log y against log N with a Student-t interval; None below 3 points."""
    x, y = np.log(np.asarray(ns, float)), np.log(np.asarray(ys, float))
    if x.size < 3:
        return None
    a = np.vstack([x, np.ones_like(x)]).T
    coef, res, *_ = np.linalg.lstsq(a, y, rcond=None)
    dof = x.size - 2
    sse = float(res[0]) if res.size else float(np.sum((a @ coef - y) ** 2))
    se = math.sqrt(sse / dof / np.sum((x - x.mean()) ** 2)) if dof else math.inf
    t = float(stats.t.ppf(0.5 + level / 2, dof)) if dof else math.inf
    return {
        "slope": float(coef[0]),
        "interval": [float(coef[0] - t * se), float(coef[0] + t * se)],
        "points": int(x.size),
        "level": level,
    }


def _fits(s: Setting, rows: list[dict]) -> dict:
    """Log-log fits of what converges, over the resolved points only."""
    ok = [r for r in rows if r["certified"]]
    gap = [
        (r["n"], abs(r["gap_minus_target"]))
        for r in ok
        if r.get("gap_identified", True) and abs(r["gap_minus_target"]) > r["gap_precision"]
    ]
    fits = {"gap_minus_target": loglog_fit(*zip(*gap, strict=True)) if gap else None}
    fits["gap_resolved_at"] = [n for n, _ in gap]
    if s.model == "subspace":
        sh = [(r["n"], r["shared"]) for r in ok if r["shared"] > 10 * r["shared_precision"]]
        fits["shared"] = loglog_fit(*zip(*sh, strict=True)) if sh else None
        fits["shared_resolved_at"] = [n for n, _ in sh]
    # successive decrease of L_N - log N along N -> 2N (non-negative at the minimum); a change
    # within the certified loss's precision (TIE_RTOL relative) is 0 to precision
    dec = []
    for a, b in zip(ok, ok[1:], strict=False):
        if b["n"] == 2 * a["n"]:
            v = a["loss_minus_log_n"] - b["loss_minus_log_n"]
            tol = TIE_RTOL * max(1.0, abs(a["loss_minus_log_n"] + math.log(a["n"])))
            dec.append((a["n"], v if abs(v) > tol else 0.0))
    fits["loss_decrease"] = dec
    pos = [(n, v) for n, v in dec if v > 0]
    fits["loss_decrease_fit"] = loglog_fit(*zip(*pos, strict=True)) if pos else None
    return fits


@x64
def study(
    s: Setting,
    n_max: int,
    seeds: Sequence[int] = range(4),
    n_min: int = 8,
    pop: dict | None = None,
    draws: int = 20000,
    steps: int = 5000,
) -> dict:
    """The whole study at ``s`` for N = n_min, 2 n_min, ..., n_max (JSON-ready dict).

    Rows stop at the first N with no certified minimum (later N would start from nothing
    better); ``stopped`` says at which N and why.
    """
    pop = population(s, draws=draws) if pop is None else pop
    rows, prev, stopped = [], None, None
    for n in ns_up_to(n_max, n_min):
        best, agree = optimum(s, n, seeds, prev, steps=steps)
        row = {"n": n, **agree, "certificate": best.certificate.kind}
        row["grad_norm"] = float(best.certificate.grad_norm)
        if not best.converged:
            rows.append({**row, "certified": 0})
            stopped = {
                "n": n,
                "why": f"no start certified a minimum (best start: {best.certificate.kind}, "
                f"|grad| {row['grad_norm']:.1e} after {steps} L-BFGS iterations)",
            }
            break
        rows.append({**row, **measure(s, best)})
        prev = best
    out = {
        "setting": s._asdict(),
        "rows": rows,
        "largest_certified_n": max((r["n"] for r in rows if r["certified"]), default=None),
        "stopped": stopped,
        "n_max": n_max,
    }
    return against(out, pop)


def against(out: dict, pop: dict) -> dict:
    """The study ``out`` judged against the population reference ``pop`` (a new dict).

    Per certified row: ``gap_in_band`` (the gap within the population band, widened by the
    gap's precision; ``None``, not judged, where the gap is not identified or its precision is
    wider than the band) and ``loss_minus_F``; then ``within_band_from_n`` (the smallest N from
    which every certified size is in the band) and the fits. A planted fault (a wrong
    population) re-judges the same optima through this one function.
    """
    s = Setting(**out["setting"])
    lo, hi = pop["gap_band"]
    f_ref = pop["F_quadrature"] if pop.get("F_quadrature") is not None else pop["F"]
    rows = []
    for r in out["rows"]:
        r = dict(r)
        if r["certified"]:
            prec = r["gap_precision"]
            # an unidentified gap (a twin tie), or one known to no better than the band's width
            # (vanishing means: infinite precision), is in no band and out of none: not judged
            judged = r.get("gap_identified", True) and prec < max(hi - lo, 1e-12)
            r["gap_in_band"] = bool(lo - prec <= r["gap"] <= hi + prec) if judged else None
            r["loss_minus_F"] = r["loss_minus_log_n"] - f_ref
        rows.append(r)
    within = None  # over the judged sizes (the study stops at the first uncertified one)
    for r in reversed([r for r in rows if r["certified"] and r["gap_in_band"] is not None]):
        if not r["gap_in_band"]:
            break
        within = r["n"]
    grid = {k: [float(v) for v in pop[k]] for k in ("grid", "F_grid") if k in pop}
    return {
        **out,
        "population": {k: v for k, v in pop.items() if k not in ("grid", "F_grid")} | grid,
        "rows": rows,
        "fits": _fits(s, rows),
        "within_band_from_n": within,
    }
