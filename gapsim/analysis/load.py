r"""Read and validate paired embeddings: the input side of :func:`gapsim.analysis.analyze`.

Formats (by file suffix):

- ``.npy``: one array, ``(N, d)`` for one modality, or ``(2, N, d)`` for both;
- ``.npz``: named arrays; ``x``/``y`` (or ``image``/``text``, ``image_features``/``text_features``,
  ``img``/``txt``) are picked automatically, others with ``x_key``/``y_key``;
- ``.pt``/``.pth`` (needs ``torch``): a tensor, or a dict of tensors with the names above;
- ``.safetensors`` (needs ``safetensors``): named tensors, as ``.npz``.

:func:`validate_pair` checks shapes and pairing (same N and d), refuses NaN/inf naming the first
bad row, accepts float16/bfloat16 (computed in float32, float64 input stays float64), and
normalises rows to unit norm with one warning line carrying the norm statistics when some
:math:`\big|\|z_i\|-1\big|` exceeds the precision of the input dtype
(:func:`gapsim.core.measures.unit_tolerance`). A zero row has no direction and is refused.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from gapsim.core.measures import unit_tolerance
from gapsim.errors import ConfigError

__all__ = ["load_array", "load_pair", "validate_pair", "NormalizedWarning"]

PAIR_NAMES = (
    ("x", "y"),
    ("image", "text"),
    ("image_features", "text_features"),
    ("img", "txt"),
    ("image_embeds", "text_embeds"),
)
"""Array names recognised as (first, second) modality in one file, in this order."""


class NormalizedWarning(UserWarning):
    """Input rows were not unit and have been normalised (one line with the norm statistics)."""


def _to_numpy(a: Any) -> np.ndarray:
    """A NumPy array from a NumPy array or a torch tensor (bfloat16 via float32)."""
    if hasattr(a, "detach"):  # torch tensor
        a = a.detach().cpu()
        if str(a.dtype) == "torch.bfloat16":
            a = a.float()
        return a.numpy()
    return np.asarray(a)


def _named(arrays: dict[str, Any], path: str, x_key: str | None, y_key: str | None):
    names = list(arrays)
    if x_key is None and y_key is None:
        for a, b in PAIR_NAMES:
            if a in arrays and b in arrays:
                x_key, y_key = a, b
                break
        else:
            if len(names) == 1:
                return _to_numpy(arrays[names[0]]), None
            raise ConfigError(
                "x_key", None, f"{path} holds arrays {names}: name them with x_key/y_key"
            )
    out = []
    for flag, key in (("x_key", x_key), ("y_key", y_key)):
        if key is None:
            out.append(None)
            continue
        if key not in arrays:
            raise ConfigError(flag, key, f"must be one of the arrays in {path}: {names}")
        out.append(_to_numpy(arrays[key]))
    return out[0], out[1]


def load_array(path: str | os.PathLike, x_key: str | None = None, y_key: str | None = None):
    """Read one file: ``(x, y)`` if it holds both modalities, else ``(z, None)``.

    Raises:
        ConfigError: unreadable file, unknown suffix, missing library, or ambiguous names.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if not p.is_file():
        raise ConfigError("path", str(path), "must be an existing file")
    try:
        if suffix == ".npy":
            with open(p, "rb") as fh:  # closed on a bad file too (np.load(path) leaks it)
                z = np.load(fh, allow_pickle=False)
            if z.ndim == 3 and z.shape[0] == 2:
                return z[0], z[1]
            return z, None
        if suffix == ".npz":
            with open(p, "rb") as fh, np.load(fh, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            return _named(arrays, str(path), x_key, y_key)
        if suffix in (".pt", ".pth"):
            torch = _optional("torch", suffix)
            obj = torch.load(p, map_location="cpu", weights_only=True)
            if isinstance(obj, dict):
                return _named(obj, str(path), x_key, y_key)
            z = _to_numpy(obj)
            return (z[0], z[1]) if z.ndim == 3 and z.shape[0] == 2 else (z, None)
        if suffix == ".safetensors":
            st = _optional("safetensors.numpy", suffix)
            return _named(st.load_file(str(p)), str(path), x_key, y_key)
    except (OSError, ValueError, RuntimeError, EOFError, zipfile.BadZipFile) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError("path", str(path), f"must be a readable embedding file ({why})") from e
    raise ConfigError("path", str(path), "must end in .npy, .npz, .pt, .pth or .safetensors")


def _optional(module: str, suffix: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        name = module.split(".")[0]
        raise ConfigError("path", suffix, f"needs the optional package {name!r}") from None


def load_pair(
    x_path: str | os.PathLike,
    y_path: str | os.PathLike | None = None,
    *,
    x_key: str | None = None,
    y_key: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read paired embeddings from two files, or from one file holding both (raw, unvalidated).

    Example:
        >>> import tempfile, os
        >>> f = os.path.join(tempfile.mkdtemp(), "e.npz")
        >>> np.savez(f, image=np.eye(3), text=np.eye(3))
        >>> [a.shape for a in load_pair(f)]
        [(3, 3), (3, 3)]
    """
    x, y = load_array(x_path, x_key, None if y_path is not None else y_key)
    if y_path is not None:
        if y is not None:
            raise ConfigError("x_path", str(x_path), "holds two modalities: give one file only")
        y, extra = load_array(y_path, y_key, None)
        if extra is not None:
            raise ConfigError("y_path", str(y_path), "holds two modalities: give one file only")
    elif y is None:
        raise ConfigError("y_path", None, f"{x_path} holds one modality: give the second file")
    return x, y


def _first_bad_row(z: np.ndarray) -> int | None:
    bad = ~np.all(np.isfinite(z), axis=1)
    return int(np.argmax(bad)) if bad.any() else None


def validate_pair(x: Any, y: Any, *, warn: bool = True) -> tuple[np.ndarray, np.ndarray, dict]:
    r"""Checked, unit-row copies of paired embeddings, and what was done to them.

    Args:
        x: ``(N, d)`` first modality (NumPy array or torch tensor; any float dtype).
        y: ``(N, d)`` second modality; row i pairs with ``x[i]``.
        warn: emit the one-line :class:`NormalizedWarning` when rows are normalised.

    Returns:
        ``(x, y, info)``: float64 arrays if both inputs are float64, else float32;
        ``info`` has ``n``, ``d``, ``dtype_x``, ``dtype_y``, ``normalized``, and the row-norm
        statistics ``norm_{min,mean,max}_{x,y}`` of the input.

    Raises:
        ConfigError: not 2-D, N < 2, shapes differ, a NaN/inf (naming the row), a zero row.
    """
    x, y = _to_numpy(x), _to_numpy(y)
    for name, z in (("x", x), ("y", y)):
        if z.ndim != 2 or z.shape[0] < 2 or z.shape[1] < 2:
            raise ConfigError(name, f"array of shape {z.shape}", "must be (N, d), N >= 2, d >= 2")
        if not np.issubdtype(z.dtype, np.floating):
            raise ConfigError(name, f"array of dtype {z.dtype}", "must be floating point")
    if y.shape != x.shape:
        raise ConfigError(
            "y", f"array of shape {y.shape}", f"must pair row by row with x {x.shape}"
        )
    work = np.float64 if x.dtype == np.float64 and y.dtype == np.float64 else np.float32
    info: dict[str, Any] = {"n": x.shape[0], "d": x.shape[1]}
    out, normalized = [], False
    for name, z in (("x", x), ("y", y)):
        row = _first_bad_row(z)
        if row is not None:
            raise ConfigError(name, f"row {row} = NaN/inf", "every entry must be finite")
        info[f"dtype_{name}"] = str(z.dtype)
        zw = z.astype(work, copy=True)
        norms = np.sqrt(np.einsum("ij,ij->i", zw, zw, dtype=np.float64))
        if float(norms.min()) == 0.0:
            raise ConfigError(name, f"row {int(np.argmin(norms))} = 0", "rows must be non-zero")
        info.update(
            {
                f"norm_min_{name}": float(norms.min()),
                f"norm_mean_{name}": float(norms.mean()),
                f"norm_max_{name}": float(norms.max()),
            }
        )
        if float(np.max(np.abs(norms - 1))) > unit_tolerance(z.dtype):
            normalized = True
        zw /= norms[:, None].astype(work)
        out.append(zw)
    info["normalized"] = normalized
    if normalized and warn:
        warnings.warn(
            "rows are not unit: normalised (norms x min/mean/max "
            f"{info['norm_min_x']:.4g}/{info['norm_mean_x']:.4g}/{info['norm_max_x']:.4g}, "
            f"y {info['norm_min_y']:.4g}/{info['norm_mean_y']:.4g}/{info['norm_max_y']:.4g})",
            NormalizedWarning,
            stacklevel=2,
        )
    return out[0], out[1], info
