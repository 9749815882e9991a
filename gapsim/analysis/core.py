r"""``gapsim.analyze``: every gap measure of your own paired embeddings, in one call.

:func:`analyze` validates the pair (:func:`gapsim.analysis.load.validate_pair`), then reports

- the gap measures (:func:`gapsim.analysis.pairs.pair_measures`: centroid distance and angle
  with the mean norms, paired cosines, alignment, uniformity, R@1/R@5 both ways, margin and
  matched fraction; the centroid angle flagged as in
  :func:`gapsim.core.measures.flag_centroid_angle`);
- spectra, effective ranks, 99%-variance dimensions, the principal angles of the data
  subspaces, the overlap dimension and the cone effect
  (:func:`gapsim.analysis.spectra.subspace_stats`);
- the post-hoc alignments with before/after measures, and Liang et al.'s loss-versus-shift
  curves (:mod:`gapsim.analysis.posthoc`);
- optionally, a free-point run of InfoNCE started from (a subsample of) the embeddings
  (:func:`gapsim.analysis.replay.simulate_from`).

Cost: one blocked :math:`O(N^2d)` pass for the pairwise measures (never an :math:`N\times N`
matrix), :math:`O(Nd^2)` for the spectra; uniformity, alignments and shift curves run on
random subsamples above ``uniformity_sample``, ``eval_sample`` and ``curve_sample`` rows (each
recorded in :attr:`Analysis.settings`; drawn from ``jax.random.key(seed)``).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import numpy as np

from gapsim._version import __version__
from gapsim.analysis.load import validate_pair
from gapsim.analysis.pairs import pair_measures, subsample
from gapsim.analysis.posthoc import RENAMED, alignments, shift_curves
from gapsim.analysis.spectra import subspace_stats
from gapsim.app.result import _atomic_write_text, jsonable
from gapsim.core.measures import flag_centroid_angle
from gapsim.core.precision import x64
from gapsim.core.progress import bar
from gapsim.errors import ConfigError

__all__ = ["Analysis", "analyze", "check_settings", "unit", "UNITS"]


@dataclass(frozen=True)
class Analysis:
    """The result of :func:`analyze`.

    Attributes:
        input: ``n``, ``d``, dtypes, ``normalized`` and the input row-norm statistics.
        settings: every parameter of the analysis (temperatures, samples, seed).
        measures: the gap measures of all N pairs (:func:`gapsim.analysis.pairs.pair_measures`).
        structure: scalars of :func:`gapsim.analysis.spectra.subspace_stats`.
        arrays: spectra (centred, uncentred) and principal angles.
        alignments: ``{name: {"before", "after", "info"}}`` or ``{name: {"skipped": why}}``.
        shift: loss-versus-shift curves by temperature
            (:func:`~gapsim.analysis.posthoc.shift_curves`).
        simulation: the free-point run from the embeddings (``None`` if not asked for).
        timings: wall seconds per stage.
    """

    input: dict[str, Any]
    settings: dict[str, Any]
    measures: dict[str, Any]
    structure: dict[str, Any]
    arrays: dict[str, np.ndarray]
    alignments: dict[str, dict[str, Any]]
    shift: dict[str, dict[str, Any]]
    simulation: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def headline(self) -> dict[str, Any]:
        """The gap in three numbers: centroid distance, centroid angle in degrees, R@1 both ways.

        The angle is ``None`` (undefined) when a mean norm is below
        :data:`gapsim.core.measures.MIN_MEAN_NORM`.
        """
        m = self.measures
        angle = m["centroid_angle"]
        return {
            "centroid_distance": m["centroid_distance"],
            "centroid_angle_deg": None if not math.isfinite(angle) else math.degrees(angle),
            "r1_xy": m["r1_xy"],
            "r1_yx": m["r1_yx"],
        }

    def summary(self) -> dict[str, Any]:
        """Flat scalars: measures, structure, ``align.NAME.KEY`` (after), ``shift.TAU.*``.

        ``uniformity`` (the mean of the two per-modality values) is ``uniformity_mean_xy``
        here, beside ``uniformity_joint`` (the joint set's); units: :func:`unit`.
        """
        measures = {RENAMED.get(k, k): v for k, v in self.measures.items()}
        out = {"n": self.input["n"], "d": self.input["d"], **measures, **self.structure}
        for name, row in self.alignments.items():
            if "after" in row:
                out.update({f"align.{name}.{k}": v for k, v in row["after"].items()})
        for tau, c in self.shift.items():
            out.update({f"shift.{tau}.{k}": c[k] for k in ("lam_min", "loss_min", "loss_at_0")})
        if self.simulation:
            out.update({f"simulate.{k}": v for k, v in self.simulation["summary"].items()})
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (arrays as lists, NaN as ``None``)."""
        return jsonable(
            {
                "gapsim_version": __version__,
                "headline": self.headline(),
                "input": self.input,
                "settings": self.settings,
                "measures": self.measures,
                "structure": self.structure,
                "arrays": self.arrays,
                "alignments": self.alignments,
                "shift": self.shift,
                "simulation": self.simulation,
                "timings": self.timings,
            }
        )

    def save(self, folder: str | Path) -> Path:
        """Write a results folder that ``gapsim report`` reads.

        ``config.json`` (``{"gapsim_version", "kind": "analyze", "config": settings + input}``),
        ``metrics.json`` (``{"diverged": false, **summary()}``), ``analysis.json``
        (:meth:`to_dict`) and ``analysis.npz`` (spectra, angles, curves).
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = {**self.settings, **{f"input.{k}": v for k, v in self.input.items()}}
        meta = {"gapsim_version": __version__, "kind": "analyze", "config": config}
        _atomic_write_text(folder / "config.json", json.dumps(jsonable(meta), indent=1))
        metrics = {"diverged": False, **self.summary()}
        _atomic_write_text(folder / "metrics.json", json.dumps(jsonable(metrics), indent=1))
        _atomic_write_text(folder / "analysis.json", json.dumps(self.to_dict(), indent=1))
        arrays = dict(self.arrays)
        for tau, c in self.shift.items():
            arrays.update({f"shift.{tau}.{k}": c[k] for k in ("lambdas", "losses")})
        np.savez(folder / "analysis.npz", **arrays)
        return folder


def _sample(z: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return z if rows.size == z.shape[0] else z[rows]


UNITS = (
    ("angle_deg", "deg"),
    ("angles_deg", "deg"),
    ("angle", "rad"),
    ("theta_", "rad"),
    ("lam_", "shift (1 closes the gap)"),
    ("loss", "nats"),
    ("uniformity_sample", "rows"),
    ("uniformity", "log mean exp(-2 dist^2)"),
    ("alignment", "mean squared distance"),
    ("cosine", "cosine"),
    ("r1_", "fraction"),
    ("r5_", "fraction"),
    ("matched_fraction", "fraction"),
    ("margin", "cosine difference"),
    ("distance", "euclidean"),
    ("mean_norm", "euclidean"),
    ("effective_rank", "dimensions"),
    ("dim", "dimensions"),
    ("sample", "rows"),
    ("tau", "temperature"),
    ("steps", "steps"),
)
"""(part of a key, its unit), first match wins: :func:`unit`."""


def unit(key: str) -> str:
    """The unit of a summary key (``""`` for counts and flags without one).

    Example:
        >>> unit("centroid_angle"), unit("align.ssp_k10.r1_xy"), unit("n")
        ('rad', 'fraction', '')
    """
    last = key.rsplit(".", 1)[-1]
    if last in ("n", "d"):
        return ""
    return next((u for part, u in UNITS if part in last), "")


def check_settings(
    *,
    tau: float,
    taus: tuple[float, ...],
    seed: int,
    samples: dict[str, int | None],
    ssp_k: int | None,
    c3_sigma: float,
    block: int | None,
) -> None:
    """Every setting of :func:`analyze` in its range, before any work (ConfigError otherwise).

    Example:
        >>> check_settings(tau=0.07, taus=(0.01,), seed=0, samples={}, ssp_k=None,
        ...                c3_sigma=0.0, block=None)
    """

    def positive_number(name: str, v: Any) -> None:
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < math.inf
        if not ok:
            raise ConfigError(name, v, "must be finite and > 0")

    def count(name: str, v: Any, low: int) -> None:
        if v is None:
            return
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
            raise ConfigError(name, v, f"must be an integer >= {low} (or None: all)")

    positive_number("tau", tau)
    if not taus:
        raise ConfigError("taus", taus, "needs at least one temperature")
    for t in taus:
        positive_number("taus", t)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ConfigError("seed", seed, "must be an integer in 0..2^32-1")
    for name, v in samples.items():
        count(name, v, 2)  # uniformity, alignments and curves need two rows at least
    count("ssp_k", ssp_k, 1)
    count("block", block, 1)
    ok = isinstance(c3_sigma, (int, float)) and math.isfinite(c3_sigma) and c3_sigma >= 0
    if not ok:
        raise ConfigError("c3_sigma", c3_sigma, "must be finite and >= 0")


@x64
def analyze(
    x: Any,
    y: Any,
    *,
    tau: float = 0.07,
    taus: tuple[float, ...] = (0.01, 0.07),
    seed: int = 0,
    uniformity_sample: int | None = 10_000,
    eval_sample: int | None = 5_000,
    curve_sample: int | None = 4_096,
    lambdas: Any = None,
    variance: float = 0.99,
    ssp_k: int | None = 10,
    c3_sigma: float = 0.01,
    block: int | None = None,
    simulate: dict[str, Any] | None = None,
    progress: bool = False,
) -> Analysis:
    """Analyse paired embeddings ``x[i] <-> y[i]`` (module docstring).

    Args:
        x: ``(N, d)`` first modality (e.g. image features); any float dtype, NumPy or torch.
        y: ``(N, d)`` second modality (text features).
        tau: temperature of the ``loss`` measures and the alignment tables (CLIP's 0.07 at
            init; a trained CLIP's is ``1/logit_scale.exp()``, about 0.01).
        taus: temperatures of the loss-versus-shift curves.
        seed: the seed of every subsample and of the C3 noise (``jax.random.key(seed)``).
        uniformity_sample: rows for the uniformity (exact at or below; ``None``: always exact).
        eval_sample: pairs on which the alignments are evaluated (``None``: all).
        curve_sample: pairs (the batch) of the shift curves (``None``: all).
        lambdas: grid of shifts (default ``np.linspace(-1, 1, 41)``).
        variance: cumulative-variance cut of dimensions and data subspaces.
        ssp_k: SSP keeps at most the top ``ssp_k`` shared directions (``None``: all); the
            alignment is named ``ssp_k{ssp_k}`` (:func:`gapsim.analysis.posthoc.ssp_label`).
        c3_sigma: noise level of the C3-style alignment.
        block: rows per block of the pairwise pass (default: 64 MiB slabs).
        simulate: keyword arguments of :func:`gapsim.analysis.replay.simulate_from` to also
            run free-point InfoNCE from the embeddings (``None``: no run).
        progress: draw a progress bar on stderr for the pairwise pass.

    Returns:
        :class:`Analysis`.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(64, 8)) + 2.0  # a narrow cone
        >>> y = x + rng.normal(size=(64, 8))
        >>> a = analyze(x, y, taus=(0.07,))  # doctest: +SKIP
        >>> a.structure["cone_cosine_x"] > 0.5  # doctest: +SKIP
        True
    """
    samples = {
        "uniformity_sample": uniformity_sample,
        "eval_sample": eval_sample,
        "curve_sample": curve_sample,
    }
    check_settings(
        tau=tau, taus=taus, seed=seed, samples=samples, ssp_k=ssp_k, c3_sigma=c3_sigma, block=block
    )
    t0 = time.perf_counter()
    x, y, info = validate_pair(x, y)
    n = info["n"]
    k_unif, k_eval, k_curve, k_c3, k_sim = jax.random.split(jax.random.key(seed), 5)
    timings = {"validate": time.perf_counter() - t0}
    t0 = time.perf_counter()
    with bar(n, "pairs", progress, unit="row") as b:
        m = pair_measures(
            x, y, tau, k_unif, block=block, uniformity_sample=uniformity_sample, tick=b.update
        )
    m = flag_centroid_angle(m)
    timings["pairwise"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    structure, arrays = subspace_stats(x, y, variance=variance)
    timings["spectra"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ev = subsample(k_eval, n, eval_sample)
    al = alignments(
        _sample(x, ev),
        _sample(y, ev),
        k_c3,
        tau=tau,
        variance=variance,
        ssp_k=ssp_k,
        c3_sigma=c3_sigma,
    )
    timings["alignments"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cv = subsample(k_curve, n, curve_sample)
    sh = shift_curves(_sample(x, cv), _sample(y, cv), taus, lambdas)
    timings["shift"] = time.perf_counter() - t0
    sim = None
    if simulate is not None:
        from gapsim.analysis.replay import simulate_from

        t0 = time.perf_counter()
        sim = simulate_from(x, y, k_sim, **simulate)
        timings["simulate"] = time.perf_counter() - t0
    settings = {
        "tau": tau,
        "taus": list(taus),
        "seed": seed,
        "uniformity_sample": m["uniformity_sample"],
        "eval_sample": int(ev.size),
        "curve_sample": int(cv.size),
        "variance": variance,
        "ssp_k": ssp_k,
        "c3_sigma": c3_sigma,
    }
    return Analysis(info, settings, m, structure, arrays, al, sh, sim, timings)
