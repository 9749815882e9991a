r"""Free-point InfoNCE started from a randomly initialised CLIP's embeddings (Liang et al. 2022).

A random-init open_clip model (:mod:`gapsim.app.embed`, no download; ViT-B/32, or the 2-layer
``gapsim-tiny`` for the smoke test) maps random-pixel images and random-word captions into two
narrow cones with a gap (the cone effect, check ``liang.cone_effect_init``). Those embeddings
become the starting points of free-point InfoNCE (:func:`gapsim.analysis.replay.simulate_from`,
Adam, fixed tau = 0.07, CLIP's initial temperature), one run per initialisation seed. Panels:
centroid distance and mean paired cosine against the step; the starting cone cosines (mean
pairwise cosine :math:`(N\|\bar z\|^2-1)/(N-1)` per modality) are in the data.

    python experiments/clip_init_free_points.py [--tiny | --full] [--out figures]

Expected from theory.md 2.1 / 2.2: without a constraint the loss alone closes the gap; how fast at
tau = 0.07 from a cone-effect start is what the figure measures (Liang et al. argue a low
temperature preserves it).
"""

from __future__ import annotations

import jax
import numpy as np

SIZES = {
    "tiny": ("gapsim-tiny", 32, (0,), 16, 30),
    "quick": ("ViT-B-32", 224, (0, 1, 2), 64, 2000),
    "full": ("ViT-B-32", 224, (0, 1, 2, 3, 4), 256, 5000),
}
TAU = 0.07
EXTRA = "clip"
"""The optional dependency group this figure needs (open_clip, torch)."""


def available() -> str:
    """'' when open_clip imports (:func:`gapsim.app.embed.import_open_clip`), else the reason."""
    from gapsim.app import embed
    from gapsim.errors import ConfigError

    try:
        embed.import_open_clip()
    except (ConfigError, ImportError, RuntimeError) as e:
        return f"needs the '{EXTRA}' extra: pip install 'gapsim[{EXTRA}]' ({e})"
    return ""


def _cone(mean_norm: np.ndarray, n: int) -> np.ndarray:
    return (n * mean_norm**2 - 1) / (n - 1)


def run(size: str) -> dict:
    """Embed with random CLIPs (one per seed), then run free points from each."""
    from gapsim.analysis.replay import simulate_from
    from gapsim.app import embed
    from gapsim.app.embed import random_inputs

    model, px, seeds, n, steps = SIZES[size]
    runs = []
    for seed in seeds:
        net, preprocess, tokenizer = embed.load_model(model, None, seed=seed)
        images, captions = random_inputs(1000 + seed, n, px)
        x, y, _, _ = embed.encode(net, preprocess, tokenizer, images, captions)
        r = simulate_from(x, y, jax.random.key(seed), n=n, tau=TAU, steps=steps, stride=10)
        h = r["history"]
        runs.append(
            {
                "seed": seed,
                "step": h["step"],
                "centroid_distance": h["centroid_distance"],
                "paired_cosine_mean": h["paired_cosine_mean"],
                "summary": r["summary"],
                "cone_x0": float(_cone(np.linalg.norm(x.mean(0)), n)),
                "cone_y0": float(_cone(np.linalg.norm(y.mean(0)), n)),
            }
        )
    return {"model": model, "n": n, "tau": TAU, "steps": steps, "runs": runs}


def plot(data: dict, path) -> None:
    """Two panels against the step: centroid distance, paired cosine, one line per seed."""
    from gapsim.app.plotting import figure, save, series_colors

    fig, (a, b) = figure(2, 1, width=4.2, height=3.2)
    for r, c in zip(data["runs"], series_colors(len(data["runs"])), strict=True):
        a.plot(r["step"], r["centroid_distance"], color=c, label=f"seed {r['seed']}")
        b.plot(r["step"], r["paired_cosine_mean"], color=c)
    a.set(
        xlabel="step",
        ylabel="centroid distance",
        title=f"{data['model']} random init -> free points (tau={data['tau']})",
    )
    b.set(xlabel="step", ylabel="mean paired cosine", title=f"N = {data['n']} pairs, Adam")
    a.legend(fontsize=7)
    save(fig, path)


if __name__ == "__main__":
    import sys

    from gapsim.app.figure_io import main

    raise SystemExit(main(sys.modules[__name__], "clip_init_free_points"))
