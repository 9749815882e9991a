"""The paper figures: a registry ``NAME -> module`` and :func:`build`.

Each figure module has ``run(size) -> data`` (a JSON-ready dict; ``size`` is ``"tiny"`` for the
smoke tests, ``"quick"`` or ``"full"``) and ``plot(data, path)``. :func:`build` runs, saves
``NAME.json`` beside ``NAME.png`` in the output folder, and plots. The thin scripts
``experiments/NAME.py`` call :func:`main`; ``gapsim figures`` calls :func:`build`.
matplotlib is imported only when plotting (:mod:`gapsim.plotting`).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gapsim.errors import ConfigError
from gapsim.precision import x64
from gapsim.result import jsonable

__all__ = ["FIGURES", "SIZES", "build", "build_one", "save_data", "load_data", "main"]

FIGURES = (
    "yi_fig1",
    "gap_vs_angle",
    "yi_pair_structure",
    "yi_regime_map",
    "yaras_fig2",
    "yaras_fig4a",
    "yaras_initial_rate",
    "yaras_tables",
    "liang_shift",
    "grassucci_fig1",
)
SIZES = ("tiny", "quick", "full")


def _module(name: str):
    if name not in FIGURES:
        raise ConfigError("only", name, f"must be one of {', '.join(FIGURES)}")
    return importlib.import_module(f"gapsim.figures.{name}")


def _clean(v: Any) -> Any:
    """JSON-ready (:func:`gapsim.result.jsonable`), floats to 7 significant digits: small files."""
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


@x64
def build_one(name: str, size: str = "quick", outdir: str | Path = "figures") -> dict[str, Any]:
    """Run figure ``name`` at ``size``, save ``outdir/name.json`` and ``outdir/name.png``."""
    if size not in SIZES:
        raise ConfigError("size", size, f"must be one of {', '.join(SIZES)}")
    mod = _module(name)
    t0 = time.perf_counter()
    data = _clean(mod.run(size))
    data["meta"] = {"figure": name, "size": size, "seconds": time.perf_counter() - t0}
    out = Path(outdir)
    js = save_data(data, out / f"{name}.json")
    png = out / f"{name}.png"
    mod.plot(load_data(js), png)
    return {"name": name, "json": js, "png": png, "seconds": time.perf_counter() - t0}


def build(
    names: Sequence[str] | None = None,
    quick: bool = True,
    outdir: str | Path = "figures",
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Rebuild figures (all when ``names`` is None); prints one line per figure.

    ``progress`` draws a bar over the figures on stderr (:mod:`gapsim.progress`).
    """
    from gapsim.progress import bar, note

    names = list(names or FIGURES)
    for n in names:
        _module(n)
    done = []
    with bar(len(names), "figures", progress, unit="figure") as pbar:
        for n in names:
            pbar.set_postfix_str(n)
            r = build_one(n, "quick" if quick else "full", outdir)
            note(pbar, f"{n:<20} {r['seconds']:7.1f} s  {r['png']}", sys.stdout)
            pbar.update(1)
            done.append(r)
    return done


def main(name: str, argv: Sequence[str] | None = None) -> None:
    """Entry of ``experiments/NAME.py``: ``[--full | --tiny] [--out DIR]``."""
    import argparse

    p = argparse.ArgumentParser(description=_module(name).__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="publication size (default: quick)")
    p.add_argument("--tiny", action="store_true", help="smoke-test size")
    p.add_argument("--out", default="figures", help="output folder [figures]")
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    size = "full" if a.full else "tiny" if a.tiny else "quick"
    r = build_one(name, size, a.out)
    print(f"{name}: {r['seconds']:.1f} s -> {r['png']}, {r['json']}")
