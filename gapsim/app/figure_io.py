"""Building one paper figure: run it, save its data as JSON, plot it (no registry).

A figure module (``experiments/NAME.py``) runs as a script through :func:`main`, and
:mod:`gapsim.app.figures` (the registry, which loads the figure modules) builds them through
:func:`build_figure`; this module imports no figure module, so a figure module that calls it
makes no import cycle with the registry (``tests/test_layout.py``).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from gapsim.app.result import jsonable
from gapsim.core.precision import x64
from gapsim.errors import ConfigError

__all__ = ["SIZES", "save_data", "load_data", "missing", "build_figure", "main"]

SIZES = ("tiny", "quick", "full")


def _clean(v: Any) -> Any:
    """JSON-ready (:func:`~gapsim.app.result.jsonable`), floats to 7 significant digits."""
    return jsonable(v, digits=7)


def save_data(data: dict, path: str | Path) -> Path:
    """Write ``data`` as compact JSON (NaN as ``null``, floats to 7 significant digits)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(data), separators=(",", ":")))
    return path


def load_data(path: str | Path) -> dict:
    """Read a figure's JSON data back (``null`` stays ``None``)."""
    return json.loads(Path(path).read_text())


def missing(mod: ModuleType) -> str:
    """Why a figure module cannot be built here ('' when it can): its ``EXTRA`` is not usable."""
    check = getattr(mod, "available", None)
    return check() if check is not None else ""


@x64
def build_figure(
    mod: ModuleType, name: str, size: str = "quick", outdir: str | Path = "figures"
) -> dict[str, Any]:
    """Run figure module ``mod`` at ``size``, save ``outdir/name.json`` and ``outdir/name.png``."""
    if size not in SIZES:
        raise ConfigError("size", size, f"must be one of {', '.join(SIZES)}")
    t0 = time.perf_counter()
    data = _clean(mod.run(size))
    data["meta"] = {"figure": name, "size": size, "seconds": time.perf_counter() - t0}
    out = Path(outdir)
    js = save_data(data, out / f"{name}.json")
    png = out / f"{name}.png"
    mod.plot(load_data(js), png)
    return {"name": name, "json": js, "png": png, "seconds": time.perf_counter() - t0}


def main(mod: ModuleType, name: str, argv: Sequence[str] | None = None) -> int:
    """Entry of ``python experiments/NAME.py [--full | --tiny] [--out DIR]``; the exit code.

    Returns 0 when built, 3 when skipped for a missing extra (the reason on stderr).
    """
    import argparse

    p = argparse.ArgumentParser(description=mod.__doc__.strip().splitlines()[0])
    p.add_argument("--full", action="store_true", help="publication size (default: quick)")
    p.add_argument("--tiny", action="store_true", help="smoke-test size")
    p.add_argument("--out", default="figures", help="output folder [figures]")
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    why = missing(mod)
    if why:
        print(f"{name}: skipped: {why}", file=sys.stderr)
        return 3
    size = "full" if a.full else "tiny" if a.tiny else "quick"
    r = build_figure(mod, name, size, a.out)
    print(f"{name}: {r['seconds']:.1f} s -> {r['png']}, {r['json']}")
    return 0
