"""``gapsim analyze`` (this module) and ``gapsim embed`` (:mod:`gapsim.cli.embed`).

``gapsim analyze X [Y]`` reads paired embeddings (:mod:`gapsim.analysis.load`), analyses them
(:func:`gapsim.analyze`), prints a summary (or ``--json``), stores a results folder that
``gapsim report`` reads (``results/analyze-<UTC time>-<hash>/`` unless ``--no-store``), and
draws the one-page figure (``--figure``). ``--simulate`` also runs free-point InfoNCE from a
random subsample of the pairs. ``gapsim embed`` computes image/text embeddings with an
open_clip model, offline (:mod:`gapsim.app.embed`).

Each subcommand registers with :func:`add_parser` and runs with :func:`run`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import warnings
from pathlib import Path
from typing import Any

__all__ = ["HELP", "add_parser", "run"]
EMBED_HELP = "image/text embeddings with an open_clip model, offline (extra 'clip')"
HELP = "analyse your own paired embeddings (gap, spectra, alignments, loss vs shift)"


def _positive_or_all(text: str) -> int | None:
    return None if text.lower() in ("all", "none", "0") else int(text)


def _add_analyze(sub: Any) -> None:
    p = sub.add_parser(
        "analyze",
        help=HELP,
        description="Analyse paired embeddings X[i] <-> Y[i]: .npy, .npz (named arrays), "
        ".pt/.safetensors, or one file holding both.",
    )
    p.add_argument("x", metavar="X", help="first modality (or one file with both)")
    p.add_argument("y", metavar="Y", nargs="?", help="second modality")
    p.add_argument("--x-key", help="array name of X in a .npz/.pt/.safetensors file")
    p.add_argument("--y-key", help="array name of Y")
    p.add_argument("--tau", type=float, default=0.07, help="temperature of the loss measures")
    p.add_argument(
        "--taus",
        type=float,
        nargs="+",
        default=[0.01, 0.07],
        help="temperatures of the loss-vs-shift curves",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every subsample and noise")
    for flag, default, what in (
        ("--uniformity-sample", "10000", "rows for the uniformity"),
        ("--eval-sample", "5000", "pairs for the alignments' before/after"),
        ("--curve-sample", "4096", "pairs (batch) of the loss-vs-shift curves"),
    ):
        p.add_argument(
            flag,
            type=_positive_or_all,
            default=int(default),
            help=f"{what}; a random subsample above it, 'all' for every row",
        )
    p.add_argument("--ssp-k", type=_positive_or_all, default=10, help="SSP keeps top k ('all')")
    p.add_argument("--c3-sigma", type=float, default=0.01, help="noise of the C3-style alignment")
    p.add_argument("--block", type=int, help="rows per block of the pairwise pass")
    p.add_argument(
        "--simulate",
        action="store_true",
        help="also run free-point InfoNCE started from a subsample of the pairs",
    )
    p.add_argument("--simulate-n", type=int, default=256, help="pairs of the free-point run")
    p.add_argument("--simulate-steps", type=int, default=2000, help="steps of the run")
    p.add_argument("--simulate-tau", type=float, help="temperature of the run (default --tau)")
    p.add_argument("--simulate-solver", default="adam", choices=("adam", "gd", "sgd", "lbfgs"))
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--figure", metavar="PNG", help="draw the one-page figure to PNG")
    p.add_argument("--store", default="results", help="root of the results folder")
    p.add_argument("--no-store", action="store_true", help="do not write a results folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_embed(sub: Any) -> None:
    p = sub.add_parser(
        "embed",
        help=EMBED_HELP,
        description="Embed a folder of images (sorted by name) and a caption file (one line "
        "per image) with an open_clip model: random weights (--pretrained none) or a local "
        "checkpoint file. No network access.",
    )
    p.add_argument("--images", required=True, help="folder of images")
    p.add_argument("--captions", required=True, help="text file, one caption per image")
    p.add_argument("--model", default="ViT-B-32", help="open_clip architecture or local-dir:PATH")
    p.add_argument("--pretrained", default="none", help="'none' or a local checkpoint file")
    p.add_argument("--out", required=True, help="output .npz (arrays image, text)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--seed", type=int, default=0, help="seed of random initial weights")


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


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "undefined" if v is None else str(v)


def _run_analyze(ns: argparse.Namespace) -> int:
    from gapsim.analysis import NormalizedWarning, analyze, load_pair
    from gapsim.app.result import jsonable
    from gapsim.core.progress import interactive

    x, y = load_pair(ns.x, ns.y, x_key=ns.x_key, y_key=ns.y_key)
    sim = None
    if ns.simulate:
        sim = {
            "n": ns.simulate_n,
            "steps": ns.simulate_steps,
            "solver": ns.simulate_solver,
            "tau": ns.simulate_tau or ns.tau,
        }
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
    folder = None
    if not ns.no_store:
        meta = {"x": ns.x, "y": ns.y, **a.settings}
        folder = a.save(_store_dir(ns.store, meta))
    if ns.figure:
        from gapsim.analysis.figure import plot_analysis

        plot_analysis(a, ns.figure)
    if ns.json:
        print(json.dumps(jsonable(a.summary())))
        return 0
    for line in notes:
        print(f"note: {line}")
    print(f"analyze: N = {a.input['n']} pairs, d = {a.input['d']}, tau = {ns.tau:g}")
    for k, v in a.summary().items():
        print(f"  {k:<40} {_fmt(v)}")
    for name, row in a.alignments.items():
        if "skipped" in row:
            print(f"  {name}: skipped ({row['skipped']})")
    if folder:
        print(f"  stored in {folder}/")
    if ns.figure:
        print(f"  figure: {ns.figure}")
    return 0


def _run_embed(ns: argparse.Namespace) -> int:
    from gapsim.app.embed import embed_folder

    r = embed_folder(
        ns.images,
        ns.captions,
        model=ns.model,
        pretrained=ns.pretrained,
        out=ns.out,
        batch_size=ns.batch_size,
        device=ns.device,
        seed=ns.seed,
    )
    print(
        f"embed: {len(r['files'])} pairs, d = {r['image'].shape[1]}, model {ns.model} "
        f"({'random init, seed ' + str(ns.seed) if ns.pretrained == 'none' else ns.pretrained})"
        f" -> {ns.out} (arrays image, text)"
    )
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the subcommand named by ``args.command`` (``analyze`` or ``embed``); 0 on success."""
    command = getattr(args, "command", None) or getattr(args, "cmd", None)
    if command == "embed" or (command is None and hasattr(args, "images")):
        return _run_embed(args)
    return _run_analyze(args)
