"""``gapsim run``: optimise symmetric InfoNCE over free points once, print and store the result.

One flag per Config field (:mod:`gapsim.cli._config`). The result goes to the results store
(``--store DIR``, :mod:`gapsim.app.store`) unless ``--no-store``; ``--out PATH`` also saves it as
``PATH.json`` + ``PATH.npz`` (:meth:`gapsim.app.result.Result.save`). Exit status 3 when the run
diverged (:class:`gapsim.errors.DivergenceError`).
"""

from __future__ import annotations

import argparse
from typing import Any

from gapsim.cli._budget import add_allow_large_flag
from gapsim.cli._common import add_json_flag, add_quiet_flag, print_json
from gapsim.errors import ConfigError

__all__ = ["NAME", "HELP", "STORE", "add_parser", "add_store_flags", "store_root", "run"]
__all__ += ["describe"]

NAME = "run"
HELP = "optimise InfoNCE over free points once and report"
STORE = "results"
"""The default results store (``--store``)."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``gapsim run`` on the ``gapsim`` subparsers."""
    from gapsim.cli._config import add_config_flags

    p = sub.add_parser(
        NAME, help=HELP, description="Optimise symmetric InfoNCE over free points on the sphere."
    )
    add_json_flag(p, "the summary")
    p.add_argument("--out", metavar="PATH", help="also save the result as PATH.json + PATH.npz")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out result")
    add_allow_large_flag(p)
    add_store_flags(p, "the run folder DIR/run-<UTC time>-<config hash>/")
    add_config_flags(p)


def add_store_flags(p: argparse.ArgumentParser, what: str) -> None:
    """``--store DIR``, ``--no-store`` and ``--quiet`` (shared by ``run`` and ``sweep``)."""
    p.add_argument("--store", metavar="DIR", help=f"results store: {what} [{STORE}]")
    p.add_argument(
        "--no-store",
        action="store_true",
        help="write nothing to the results store (a sweep still writes an explicit --out)",
    )
    add_quiet_flag(p)


def store_root(ns: argparse.Namespace) -> str | None:
    """The results store of ``--store``/``--no-store`` (None: write nothing there).

    Raises:
        ConfigError: both were given (the store would be ignored).
    """
    if ns.no_store:
        if ns.store is not None:
            raise ConfigError("store", ns.store, "is not written with --no-store; give one")
        return None
    return STORE if ns.store is None else ns.store


def describe(cfg: Any) -> str:
    """One line naming a :class:`~gapsim.app.config.Config`: sizes, constraint, mechanisms."""
    from gapsim.app.runs import format_value

    c = cfg.constraint
    if c == "cone":
        c += f"(alpha={cfg.cone_angle:.4g}, axis={cfg.cone_axis})"
    elif c == "concentration":
        c += f"(kappa={cfg.kappa:.4g})"
    elif c == "subspace":
        c += f"(k={cfg.k}, angles={format_value(list(cfg.principal_angles))}"
        c += f", cap alpha={cfg.cone_angle:.4g})" if cfg.cone_angle is not None else ")"
    from gapsim.app.wiring import describe as describe_mechanisms

    mech = [f"M={cfg.modalities}"] if cfg.modalities > 2 else []
    mech += describe_mechanisms(cfg)
    init = cfg.init if cfg.init_file is None else f"file({cfg.init_file})"
    return (
        f"N={cfg.n_pairs} d={cfg.dim} tau={cfg.tau:g} constraint={c} init={init} "
        f"solver={cfg.solver} dtype={cfg.effective_dtype} seed={cfg.seed}"
        + (" | " + " ".join(mech) if mech else "")
    )


_NOT_SHOWN = {
    "grad_norm",
    "converged",
    "steps",
    "gtol",
    "criterion",
    "solver",
    "tau",
    "n_pairs",
    "dim",
    "centroid_angle_raw",
    "centroid_angle_ill_conditioned",
}


def _print_summary(result: Any) -> None:
    from gapsim import __version__
    from gapsim.app.runs import format_value

    s = result.summary()
    print(f"gapsim {__version__} | {describe(result.config)}")
    print(f"  {result.certificate}")
    for k, v in s.items():
        if k in _NOT_SHOWN:
            continue
        if k == "centroid_angle" and v is None:
            v = (
                f"undefined: a mean is near 0 (norms {s['mean_norm_x']:.2g}, "
                f"{s['mean_norm_y']:.2g}; raw value {s['centroid_angle_raw']:.4g} rad)"
            )
        print(f"  {k:<30} {format_value(v)}")


def run(ns: argparse.Namespace) -> int:
    """Simulate the configuration of the flags; print (or ``--json``) and store the result."""
    from gapsim.app.result import _stem
    from gapsim.app.simulate import simulate
    from gapsim.app.store import save_run
    from gapsim.cli._budget import check_budget, run_work, seconds
    from gapsim.cli._config import config_from_args
    from gapsim.cli._paths import check_output_dir, check_output_file, check_output_files
    from gapsim.core.progress import interactive

    cfg = config_from_args(ns)
    store = store_root(ns)
    if ns.out is not None:  # output paths checked before the simulation, not after it
        check_output_file(ns.out, "out", overwrite=True)  # not empty, not a folder
        stem = _stem(ns.out)  # Result.save's files: PATH.json and PATH.npz
        check_output_files([f"{stem}.json", f"{stem}.npz"], "out", overwrite=ns.overwrite)
    elif ns.overwrite:
        raise ConfigError("overwrite", True, "applies to --out only (run folders are new)")
    if store is not None:
        check_output_dir(store, "store")
    check_budget(
        f"run with N={cfg.n_pairs}, d={cfg.dim}, steps={cfg.steps}",
        cpu_seconds=seconds(run_work(cfg), runs=1),
        allow_large=ns.allow_large,
    )
    result = simulate(cfg, progress=interactive(ns.quiet))
    if ns.out is not None:
        result.save(ns.out)
    folder = None if store is None else save_run(result, store)
    if ns.json:
        print_json(result.summary())
    else:
        _print_summary(result)
        if ns.out is not None:
            print(f"  saved to {_stem(ns.out)}.json / .npz")
        if folder:
            print(f"  stored in {folder}/")
    return 0
