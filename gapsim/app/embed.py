r"""Image and text embeddings from an open_clip model, offline (optional extra ``clip``).

``pip install "gapsim[clip]"`` adds ``open-clip-torch``. Nothing here touches the network:
``pretrained`` is ``None``/``"none"`` (the architecture's random initial weights, seeded) or
the path of a checkpoint file already on disk; model names with the ``local-dir:`` schema of
open_clip load a local folder; download tags (``"openai"``, ``"laion2b_..."``) and ``hf-hub:``
names are refused, and the Hugging Face hub is switched to offline mode.

Pairing: images are the files of a folder in sorted name order, captions the non-empty lines
of a text file; image i pairs with caption i. Both are encoded in batches (``torch.no_grad``)
on CPU or GPU; rows are L2-normalised as CLIP does before its similarity
(:math:`\hat f = f/\|f\|`) and the raw norms are kept.

Besides the built-in architectures, :data:`TINY` registers ``gapsim-tiny``: a 2-layer ViT
(32 px, patch 8) and a 2-layer text transformer of width 64, embedding dimension 32, for tests
and quick checks on random weights.

torchvision wheels from PyPI are built against the CUDA torch; with the CPU-only torch wheel
their compiled operators are missing and ``import torchvision`` fails while registering them.
open_clip needs only ``torchvision.transforms``, so :func:`import_open_clip` retries the import
without those registrations (detection operators such as ``nms`` are then unavailable).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import numpy as np

from gapsim.errors import ConfigError

__all__ = [
    "TINY",
    "import_open_clip",
    "load_model",
    "encode",
    "embed_folder",
    "IMAGE_SUFFIXES",
    "random_inputs",
    "WORDS",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
"""The ``gapsim-tiny`` open_clip config (random weights only)."""

_REGISTERED: list[str] = []


def import_open_clip():
    """``open_clip``, importable with a CPU-only torch (module docstring); ConfigError if absent."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import open_clip
    except ImportError as e:
        raise ConfigError("model", "open_clip", f"needs pip install 'gapsim[clip]' ({e})") from e
    except RuntimeError:  # torchvision's compiled ops missing (CUDA wheel over CPU torch)
        for name in [m for m in sys.modules if m.startswith(("torchvision", "open_clip"))]:
            del sys.modules[name]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType("_meta_registrations")
        import open_clip
    if not _REGISTERED:
        folder = Path(tempfile.mkdtemp(prefix="gapsim-openclip-"))
        (folder / "gapsim-tiny.json").write_text(json.dumps(TINY))
        open_clip.add_model_config(folder)
        _REGISTERED.append(str(folder))
    return open_clip


def load_model(model: str, pretrained: str | None, *, device: str = "cpu", seed: int = 0):
    """``(model, preprocess, tokenizer)`` of an open_clip architecture, offline.

    Args:
        model: an open_clip model name (``ViT-B-32``, ``RN50``, ``gapsim-tiny``, ...) or
            ``local-dir:/path``.
        pretrained: ``None``/``"none"`` for random weights (drawn after
            ``torch.manual_seed(seed)``), or the path of a local checkpoint file.
        device: ``cpu``, ``cuda``, ``cuda:1``, ...
        seed: the seed of the random initial weights.

    Raises:
        ConfigError: a download would be needed, the checkpoint is missing, unknown model.
    """
    open_clip = import_open_clip()
    import torch

    if model.startswith("hf-hub:"):
        raise ConfigError("model", model, "hf-hub models need the network: use local-dir:PATH")
    if pretrained is not None and pretrained.lower() == "none":
        pretrained = None
    if pretrained is not None and not Path(pretrained).is_file():
        raise ConfigError("pretrained", pretrained, "must be 'none' or an existing checkpoint file")
    if not model.startswith("local-dir:") and model not in open_clip.list_models():
        raise ConfigError(
            "model", model, "must be an open_clip architecture (open_clip.list_models())"
        )
    torch.manual_seed(seed)
    try:
        net, _, preprocess = open_clip.create_model_and_transforms(
            model, pretrained=pretrained, device=device
        )
    except RuntimeError as e:
        raise ConfigError("pretrained", pretrained, f"could not be loaded ({e})") from e
    net.eval()
    return net, preprocess, open_clip.get_tokenizer(model)


def encode(net, preprocess, tokenizer, images, captions, *, batch_size: int = 64, device="cpu"):
    """Normalised features of PIL images and caption strings, in batches.

    Returns:
        ``(x, y, norm_x, norm_y)``: ``(N_img, D)`` and ``(N_txt, D)`` float32 unit rows and the
        raw feature norms.
    """
    import torch

    def run(items, prep, fn):
        out = []
        for s in range(0, len(items), batch_size):
            batch = prep(items[s : s + batch_size]).to(device)
            with torch.no_grad():
                out.append(fn(batch).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    x = run(images, lambda b: torch.stack([preprocess(im) for im in b]), net.encode_image)
    y = run(captions, tokenizer, net.encode_text)
    nx, ny = np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1)
    return x / nx[:, None], y / ny[:, None], nx, ny


def _read(images_dir: str | os.PathLike, captions_file: str | os.PathLike):
    from PIL import Image

    folder = Path(images_dir)
    if not folder.is_dir():
        raise ConfigError("images", str(images_dir), "must be a folder of images")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    try:
        lines = Path(captions_file).read_text().splitlines()
    except OSError as e:
        raise ConfigError("captions", str(captions_file), f"must be readable ({e})") from e
    captions = [c.strip() for c in lines if c.strip()]
    if not paths or len(paths) != len(captions):
        raise ConfigError(
            "captions",
            f"{len(captions)} captions for {len(paths)} images",
            "need one caption line per image (images in sorted name order), at least one",
        )
    return [Image.open(p).convert("RGB") for p in paths], captions, [p.name for p in paths]


def embed_folder(
    images_dir: str | os.PathLike,
    captions_file: str | os.PathLike,
    *,
    model: str = "ViT-B-32",
    pretrained: str | None = None,
    out: str | os.PathLike | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    seed: int = 0,
) -> dict[str, Any]:
    """Embed a folder of images and a caption file (module docstring); optionally save a .npz.

    The ``.npz`` holds ``image``, ``text`` (unit rows, float32), ``image_norm``, ``text_norm``
    and ``files``; ``gapsim analyze FILE.npz`` reads it directly.

    Returns:
        ``{"image", "text", "image_norm", "text_norm", "files"}``.
    """
    images, captions, files = _read(images_dir, captions_file)  # bad inputs fail before the model
    net, preprocess, tokenizer = load_model(model, pretrained, device=device, seed=seed)
    x, y, nx, ny = encode(
        net, preprocess, tokenizer, images, captions, batch_size=batch_size, device=device
    )
    res = {"image": x, "text": y, "image_norm": nx, "text_norm": ny, "files": np.array(files)}
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        np.savez(out, **res)
    return res


WORDS = (
    "a photo of the small big red blue green dog cat car tree house person street "
    "bird boat plane table food man woman child sky water field city night"
).split()
"""A small vocabulary for random captions."""


def random_inputs(seed: int, n: int, size: int):
    """``n`` random-pixel RGB images (``size`` px) and ``n`` captions of 4-12 random words."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    images = [
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)) for _ in range(n)
    ]
    captions = [" ".join(rng.choice(WORDS, rng.integers(4, 13))) for _ in range(n)]
    return images, captions
