r"""Batched runs: many seeds or configurations as one vmapped, compiled program.

A certified optimum is the best of several certified seeds (:func:`gapsim.best_of_seeds`), and
every seed is a float64 L-BFGS run of a few hundred small iterations. Run one by one, each
iteration is a handful of tiny kernels and the time goes to the loop, not the arithmetic; run
as a batch, one compiled program advances every seed at once.

**Own stopping rule per element.** The solvers are one :func:`jax.lax.while_loop`
(:func:`gapsim.solvers.execute`); ``jax.vmap`` of a ``while_loop`` whose predicate is batched
runs the body while *any* element's predicate holds and keeps, for every element whose
predicate is already false, its old carry (``select(pred, body(c), c)``). So element ``b``
stops exactly where it would alone: the carry at its own stopping step (``gtol`` reached, a
non-finite value, or ``steps``), its own step count and its own trajectory; the other
elements' later iterations do not touch it. The same holds for the line search's inner
loop. The batch costs the slowest element's iterations (every element's arithmetic is done on
every iteration and the finished ones are discarded), so it pays when the loop overhead, not
the arithmetic, dominates: small and medium N (``benchmarks/bench_certify.py``).

Results equal one-by-one runs to rounding: the batched program does the same operations per
element, but XLA may sum a batched product in another order, and L-BFGS's line search can turn
last-bit differences into other, equally certified, iterates (``tests/test_batch.py`` states
the tolerances).

:func:`simulate_batch` is the one-call form (prepare, run, certify every config, as
:func:`gapsim.simulate` does for one); :mod:`gapsim.sweep` runs :func:`vmapped` inside its
``shard_map`` and uses :func:`group_key`, :func:`stack` and :func:`unstack`.

Example:
    >>> from gapsim import Config
    >>> from gapsim.batch import simulate_batch
    >>> cfg = Config(n_pairs=4, dim=3, tau=0.5)
    >>> runs = simulate_batch([cfg.replace(seed=s) for s in range(4)])
    >>> all(r.converged for r in runs)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import jax
import numpy as np

from gapsim.config import Config
from gapsim.errors import DivergenceError
from gapsim.result import Result
from gapsim.simulate import finish, prepare
from gapsim.solvers import Args, SolverOutput, Static, execute

__all__ = [
    "group_key",
    "stack",
    "unstack",
    "vmapped",
    "run_stacked",
    "finish_or_error",
    "simulate_batch",
]


def group_key(static: Static, args: Args) -> tuple:
    """The batching key: equal ``Static``, pytree structure, shapes and dtypes of ``Args``.

    Runs with equal keys share one compiled batched program.
    """
    leaves, treedef = jax.tree.flatten(args)
    return static, treedef, tuple((np.shape(a), str(getattr(a, "dtype", type(a)))) for a in leaves)


def stack(batch: Sequence[Args]) -> Args:
    """Stack the ``Args`` of one group leaf by leaf along a new leading (batch) axis."""
    return jax.tree.map(lambda *a: np.stack([np.asarray(v) for v in a]), *batch)


def unstack(out: Any, n: int) -> list[Any]:
    """The first ``n`` elements of a batched pytree, one pytree each (host arrays)."""
    out = jax.device_get(out)
    return [jax.tree.map(lambda a, i=i: a[i], out) for i in range(n)]


def vmapped(static: Static) -> Callable[[Args], SolverOutput]:
    """``jax.vmap`` of :func:`gapsim.solvers.execute` over stacked ``Args`` (module docstring)."""
    return jax.vmap(partial(execute, static))


@partial(jax.jit, static_argnames=("static",))
def run_stacked(args: Args, static: Static) -> SolverOutput:
    """Run a stacked batch on one device (compiled once per ``static``, batch size and shapes)."""
    return vmapped(static)(args)


def finish_or_error(cfg: Config, static: Static, args: Args, out: Any) -> Result | DivergenceError:
    """:func:`gapsim.simulate.finish`, returning a run's DivergenceError instead of raising it."""
    try:
        return finish(cfg, static, args, out)
    except DivergenceError as e:
        return e


def simulate_batch(configs: Sequence[Config]) -> list[Result | DivergenceError]:
    """:func:`gapsim.simulate` of every config, batched per group of equal :func:`group_key`.

    Each group (e.g. the seeds of one config) is one call of :func:`run_stacked`; every
    element is then certified on the host by :func:`gapsim.simulate.finish`, as a single run
    is. Memory grows with the group size (each element holds its own N x N slabs); for
    thousands of configurations use :func:`gapsim.sweep.sweep`, which chunks and shards.

    Returns:
        One :class:`~gapsim.result.Result` per config, in order, or the
        :class:`~gapsim.errors.DivergenceError` of a config that diverged.
    """
    prepared = [prepare(cfg) for cfg in configs]
    groups: dict[tuple, list[int]] = {}
    for i, (static, args) in enumerate(prepared):
        groups.setdefault(group_key(static, args), []).append(i)
    results: list[Any] = [None] * len(configs)
    for key, idx in groups.items():
        static = key[0]
        outs = unstack(run_stacked(stack([prepared[i][1] for i in idx]), static), len(idx))
        for i, out in zip(idx, outs, strict=True):
            results[i] = finish_or_error(configs[i], static, prepared[i][1], out)
    return results
