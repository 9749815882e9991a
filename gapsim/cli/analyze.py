"""``gapsim analyze``: your own paired embeddings (``gapsim embed``: :mod:`gapsim.cli.embed`).

``gapsim analyze X [Y]`` reads paired embeddings (:mod:`gapsim.analysis.load`), analyses them
(:func:`gapsim.analyze`), prints a summary (or ``--json``), stores a results folder that
``gapsim report`` reads (``results/analyze-<UTC time>-<hash>/`` unless ``--no-store``), and
draws the one-page figure (``--figure``). ``--simulate`` also runs free-point InfoNCE from a
random subsample of the pairs. Every flag is typed and ranged by argparse or checked before the
files are analysed (:func:`_check_flags`, :func:`_check_size`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from gapsim.cli._budget import add_allow_large_flag
from gapsim.cli._common import number, print_json
from gapsim.cli._paths import check_output_dir, check_output_file
from gapsim.errors import ConfigError

__all__ = ["HELP", "add_parser", "run"]
HELP = "analyse your own paired embeddings (gap, spectra, alignments, loss vs shift)"


def _count_or_all(low: int, all_is: str | None = None):
    """An argparse ``type=``: an integer >= ``low``, or ``all`` (``all_is``; None: every row)."""

    def conv(text: str) -> int | str | None:
        if text.strip().lower() == "all":
            return all_is
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low} or 'all'") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low} or 'all', got {v}")
        return v

    conv.__name__ = "count"
    return conv


_POSITIVE = number(float, 0.0, "number", strict=True)
SSP_K = 10
"""Default ``--ssp-k`` (the k Yi et al. used on CLIP), or d when the data has fewer."""
SEED = number(int, 0, "integer", high=2**32 - 1)
SIMULATE_FLAGS = ("simulate_n", "simulate_steps", "simulate_tau", "simulate_solver")
"""Flags that only mean something with ``--simulate`` (refused without it)."""
NAMED_SUFFIXES = (".npz", ".pt", ".pth", ".safetensors")
"""Files whose arrays have names (``--x-key``, ``--y-key``)."""


def _add_analyze(sub: Any) -> None:
    p = sub.add_parser(
        "analyze",
        help=HELP,
        description="Analyse paired embeddings X[i] <-> Y[i]: .npy, .npz (named arrays), "
        ".pt/.safetensors, or one file holding both. Prints a headline (gap, centroid angle, "
        "R@1), then every measure with its unit; warnings go to stderr. Work beyond the limits "
        "of --allow-large is refused with its estimate.",
    )
    p.add_argument("x", metavar="X", help="first modality (or one file with both)")
    p.add_argument("y", metavar="Y", nargs="?", help="second modality")
    p.add_argument("--x-key", help="array name of X in a .npz/.pt/.safetensors file")
    p.add_argument("--y-key", help="array name of Y")
    p.add_argument(
        "--tau", type=_POSITIVE, default=0.07, help="temperature of the loss measures [0.07]"
    )
    p.add_argument(
        "--taus",
        type=_POSITIVE,
        nargs="+",
        default=[0.01, 0.07],
        help="temperatures of the loss-vs-shift curves [0.01 0.07]",
    )
    p.add_argument("--seed", type=SEED, default=0, help="seed of every subsample and noise [0]")
    for flag, default, what in (
        ("--uniformity-sample", 10000, "rows for the uniformity"),
        ("--eval-sample", 5000, "pairs for the alignments' before/after"),
        ("--curve-sample", 4096, "pairs (batch) of the loss-vs-shift curves"),
    ):
        p.add_argument(
            flag,
            type=_count_or_all(2),
            default=default,
            help=f"{what}: a random subsample above it, 'all' for every row [{default}]",
        )
    p.add_argument(
        "--ssp-k",
        type=_count_or_all(1, all_is="all"),
        help=f"SSP keeps at most the top K shared directions (K <= d), or 'all'; its rows are "
        f"named align.ssp_kK [{SSP_K}, or d when d < {SSP_K}]",
    )
    p.add_argument(
        "--c3-sigma",
        type=number(float, 0.0, "number"),
        default=0.01,
        help="noise of the C3-style alignment, >= 0 [0.01]",
    )
    p.add_argument(
        "--block",
        type=number(int, 1, "integer"),
        help="rows per block of the pairwise pass [a 64 MiB slab]",
    )
    p.add_argument(
        "--simulate",
        action="store_true",
        help="also run free-point InfoNCE started from a subsample of the pairs",
    )
    p.add_argument(
        "--simulate-n",
        type=number(int, 2, "integer"),
        help="pairs of the free-point run, at most N [256, or N when fewer]",
    )
    p.add_argument(
        "--simulate-steps", type=number(int, 0, "integer"), help="steps of the run [2000]"
    )
    p.add_argument("--simulate-tau", type=_POSITIVE, help="temperature of the run [--tau]")
    p.add_argument(
        "--simulate-solver", choices=("adam", "gd", "sgd", "lbfgs"), help="solver [adam]"
    )
    p.add_argument("--json", action="store_true", help="print the analysis as one JSON object")
    p.add_argument("--figure", metavar="PNG", help="draw the one-page figure to PNG")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --figure")
    p.add_argument("--store", metavar="DIR", help="root of the results folder [results]")
    p.add_argument("--no-store", action="store_true", help="do not write a results folder")
    add_allow_large_flag(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_parser(subparsers: Any) -> None:
    """Register ``analyze`` on the ``gapsim`` subparsers (``embed``: :mod:`gapsim.cli.embed`)."""
    _add_analyze(subparsers)


def _store_dir(root: str, meta: dict) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    h = hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode()).hexdigest()[:8]
    folder, k = Path(root) / f"analyze-{stamp}-{h}", 1
    while folder.exists():
        k += 1
        folder = Path(root) / f"analyze-{stamp}-{h}-{k}"
    return folder


def _check_flags(ns: argparse.Namespace) -> None:
    """Flags that need another flag or a file of a kind (before the files are read)."""
    if not ns.simulate:
        for flag in SIMULATE_FLAGS:
            if getattr(ns, flag) is not None:
                raise ConfigError(flag, getattr(ns, flag), "applies only with --simulate")
    files = [ns.x] + ([ns.y] if ns.y is not None else [])
    named = any(Path(f).suffix.lower() in NAMED_SUFFIXES for f in files)
    for flag in ("x_key", "y_key"):
        if getattr(ns, flag) is not None and not named:
            raise ConfigError(flag, getattr(ns, flag), "names an array of a .npz/.pt/.safetensors")
    if ns.figure is not None:
        check_output_file(ns.figure, "figure", overwrite=ns.overwrite, suffixes=(".png",))
    elif ns.overwrite:
        raise ConfigError("overwrite", True, "applies to --figure only (results folders are new)")
    if ns.no_store and ns.store is not None:
        raise ConfigError("store", ns.store, "is not written with --no-store; give one")
    if not ns.no_store:
        check_output_dir(ns.store if ns.store is not None else "results", "store")


def _simulate_settings(ns: argparse.Namespace, n: int, d: int) -> dict[str, Any] | None:
    """The free-point run's settings, validated now (a Config), or None without --simulate."""
    if not ns.simulate:
        return None
    from gapsim.analysis.replay import DEFAULT_N, run_config

    if ns.simulate_n is not None and ns.simulate_n > n:
        raise ConfigError("simulate_n", ns.simulate_n, f"must be <= N = {n}, the pairs given")
    sim = {
        "n": ns.simulate_n if ns.simulate_n is not None else min(DEFAULT_N, n),
        "steps": 2000 if ns.simulate_steps is None else ns.simulate_steps,
        "solver": ns.simulate_solver or "adam",
        "tau": ns.simulate_tau if ns.simulate_tau is not None else ns.tau,
    }
    run_config(sim["n"], d, sim["tau"], sim["steps"], sim["solver"])
    return sim


def _check_size(ns: argparse.Namespace, n: int, d: int, itemsize: int, sim) -> None:
    """Refuse an analysis beyond the limits of :mod:`gapsim.cli._budget` (before any work).

    Work: the pairwise pass (N^2 d), the uniformities (3 m^2 d on m sampled rows), the
    spectra (2 N d^2), five alignments evaluated before and after (10 e^2 d on e pairs), the
    shift curves (41 shifts per temperature, c^2 d each) and the free-point run.
    """
    from gapsim.cli._budget import check_budget, run_work, seconds

    def size(v: int | None) -> int:
        return n if v is None else min(v, n)

    m, e, c = size(ns.uniformity_sample), size(ns.eval_sample), size(ns.curve_sample)
    work = n * n * d + 3 * m * m * d + 2 * n * d * d + 10 * e * e * d
    work += len(ns.taus) * 41 * c * c * d
    runs = 0
    if sim is not None:
        steps = {"steps": sim["steps"], "solver": sim["solver"], "stride": 10}
        work += run_work({"n_pairs": sim["n"], "dim": d, **steps})
        runs = 1
    memory = 6 * n * d * max(itemsize, 4) + 4 * 64 * 2**20 + 8 * 8 * (e * e + c * c)
    check_budget(
        f"analysis of N={n}, d={d}",
        cpu_seconds=seconds(work, runs),
        memory=memory,
        allow_large=ns.allow_large,
    )


def _run_analyze(ns: argparse.Namespace) -> int:
    import numpy as np

    from gapsim.analysis import NormalizedWarning, analyze, load_pair
    from gapsim.analysis.core import unit
    from gapsim.analysis.load import validate_pair
    from gapsim.app.runs import format_value
    from gapsim.core.progress import interactive

    _check_flags(ns)
    x, y = load_pair(ns.x, ns.y, x_key=ns.x_key, y_key=ns.y_key)
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 2 or y.shape != x.shape or not np.issubdtype(x.dtype, np.floating):
        validate_pair(x, y, warn=False)  # its one-line refusal, before any work
    n, d = x.shape
    if ns.ssp_k is None:  # not given: the default, at most d
        ns.ssp_k = min(SSP_K, d)
    elif ns.ssp_k == "all":
        ns.ssp_k = None
    elif ns.ssp_k > d:
        raise ConfigError("ssp_k", ns.ssp_k, f"must be <= d = {d} (or 'all')")
    sim = _simulate_settings(ns, n, d)
    _check_size(ns, n, d, x.dtype.itemsize, sim)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NormalizedWarning)
        a = analyze(
            x,
            y,
            tau=ns.tau,
            taus=tuple(ns.taus),
            seed=ns.seed,
            uniformity_sample=ns.uniformity_sample,
            eval_sample=ns.eval_sample,
            curve_sample=ns.curve_sample,
            ssp_k=ns.ssp_k,
            c3_sigma=ns.c3_sigma,
            block=ns.block,
            simulate=sim,
            progress=interactive(ns.quiet),
        )
    notes = [str(w.message) for w in caught if issubclass(w.category, NormalizedWarning)]
    for line in notes:  # stderr, always: never lost with --json
        print(f"gapsim analyze: note: {line}", file=sys.stderr)
    files = {"x": ns.x, "y": ns.y}
    folder = None
    if not ns.no_store:
        meta = {**files, **a.settings}
        folder = a.save(_store_dir(ns.store if ns.store is not None else "results", meta))
    if ns.figure:
        from gapsim.analysis.figure import plot_analysis

        plot_analysis(a, ns.figure)
    summary = a.summary()
    if ns.json:
        doc = {
            "headline": a.headline(),
            "files": files,
            "tau": ns.tau,
            **summary,
            "principal_angles_rad": [float(v) for v in a.arrays["principal_angles"]],
            "units": {k: unit(k) for k in summary if unit(k)},
            "warnings": notes,
            "stored": None if folder is None else str(folder),
            "figure": ns.figure,
        }
        print_json(doc)
        return 0
    h = a.headline()
    angle = h["centroid_angle_deg"]
    angle_s = "undefined (a mean norm < 0.01)" if angle is None else f"{angle:.1f} deg"
    print(
        f"analyze: N = {a.input['n']} pairs, d = {a.input['d']}, tau = {ns.tau:g} "
        f"({ns.x}{', ' + ns.y if ns.y else ''})"
    )
    print(
        f"  gap ||mean x - mean y|| = {h['centroid_distance']:.4g}, centroid angle = {angle_s}, "
        f"R@1 x->y = {h['r1_xy']:.4g}, y->x = {h['r1_yx']:.4g}"
    )
    print(f"  {'measure':<40} {'value':<14} unit")
    for k, v in summary.items():
        print(f"  {k:<40} {format_value(v):<14} {unit(k)}".rstrip())
    angles = np.degrees(np.asarray(a.arrays["principal_angles"]))
    print(f"  principal angles of the data subspaces (deg): {format_value(angles.tolist())}")
    for name, row in a.alignments.items():
        if "skipped" in row:
            print(f"  {name}: skipped ({row['skipped']})")
    if folder:
        print(f"  stored in {folder}/")
    if ns.figure:
        print(f"  figure: {ns.figure}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``gapsim analyze``; 0 on success (a ConfigError propagates: exit status 2)."""
    return _run_analyze(args)
