"""``gapsim embed``: image/text embeddings with an open_clip model, offline (``app.embed``).

The parser and runner live beside ``analyze`` (:mod:`gapsim.cli.analyze`), which reads what
this command writes.
"""

from __future__ import annotations

import argparse
from typing import Any

from gapsim.cli.analyze import EMBED_HELP, _add_embed, _run_embed

__all__ = ["HELP", "add_parser", "run"]

HELP = EMBED_HELP


def add_parser(subparsers: Any) -> None:
    """Register ``embed`` on the ``gapsim`` subparsers."""
    _add_embed(subparsers)


def run(ns: argparse.Namespace) -> int:
    """Embed the images and captions; 0 on success."""
    return _run_embed(ns)
