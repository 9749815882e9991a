"""``gapsim embed``: image/text embeddings with an open_clip model, offline (``app.embed``).

``gapsim analyze`` (:mod:`gapsim.cli.analyze`) reads what this command writes. The output file
is checked before the model loads (a ``.npz``, new unless ``--overwrite``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gapsim.cli._common import number
from gapsim.cli._paths import check_output_file
from gapsim.errors import ConfigError

__all__ = ["HELP", "add_parser", "run"]

HELP = "image/text embeddings with an open_clip model, offline (extra 'clip')"


def add_parser(sub: Any) -> None:
    """Register ``embed`` on the ``gapsim`` subparsers."""
    p = sub.add_parser(
        "embed",
        help=HELP,
        description="Embed a folder of images (sorted by name) and a caption file (one line "
        "per image) with an open_clip model: random weights (--pretrained none) or a local "
        "checkpoint file. No network access.",
    )
    p.add_argument("--images", required=True, help="folder of images")
    p.add_argument("--captions", required=True, help="text file, one caption per image")
    p.add_argument("--model", default="ViT-B-32", help="open_clip architecture or local-dir:PATH")
    p.add_argument("--pretrained", default="none", help="'none' or a local checkpoint file")
    p.add_argument("--out", required=True, help="output .npz (arrays image, text)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument(
        "--batch-size", type=number(int, 1, "integer"), default=64, help="images per batch [64]"
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... [cpu]")
    seed = number(int, 0, "integer", high=2**32 - 1)
    p.add_argument("--seed", type=seed, default=0, help="seed of random initial weights [0]")


def run(ns: argparse.Namespace) -> int:
    """Embed the images and captions; 0 on success."""
    from gapsim.app.embed import embed_folder

    check_output_file(ns.out, "out", overwrite=ns.overwrite, suffixes=(".npz",))
    if not Path(ns.images).is_dir():
        raise ConfigError("images", ns.images, "must be a folder of images")
    if not Path(ns.captions).is_file():
        raise ConfigError("captions", ns.captions, "must be a text file, one caption per image")

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
