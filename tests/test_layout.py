"""The package layout: no import cycles, and the ground floor does not import the floors above.

The import graph is read from the source (``ast``): every ``import`` of a gapsim module, lazy
imports inside functions included, ``if TYPE_CHECKING:`` blocks excluded. Its strongly connected
components (Tarjan) of more than one module are the import cycles. The same logic as the
``cycles.py`` review tool of issue 14.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

GROUND = {"gapsim.core._types", "gapsim.errors", "gapsim.core.ranges", "gapsim.core.sets"}
"""What :mod:`gapsim.core.sets` may import (besides ``core.subspaces``, itself ground)."""
ABOVE = (
    "gapsim.app.config",
    "gapsim.app.parts",
    "gapsim.app.simulate",
    "gapsim.app.batch",
    "gapsim.cli",
)
"""Modules that take a config apart or run it: the core chain must not import them."""


def _modules(root: pathlib.Path) -> dict[str, pathlib.Path]:
    mods = {}
    for p in sorted((root / "gapsim").rglob("*.py")):
        name = ".".join(p.relative_to(root).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = p
    return mods


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
            skip.update(id(s) for s in ast.walk(n))
    return skip


def _targets(n: ast.AST, pkg: str) -> list[str]:
    if isinstance(n, ast.Import):
        return [a.name for a in n.names]
    if isinstance(n, ast.ImportFrom):
        base = n.module or ""
        if n.level:
            parts = pkg.split(".")
            parts = parts[: len(parts) - (n.level - 1)]
            base = ".".join(parts + ([base] if base else []))
        return [base] + [f"{base}.{a.name}" for a in n.names]
    return []


def import_graph(root: pathlib.Path = ROOT) -> dict[str, set[str]]:
    """Module -> the gapsim modules it imports (lazy included, TYPE_CHECKING excluded)."""
    mods = _modules(root)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        tree = ast.parse(p.read_text())
        skip = _type_checking_nodes(tree)
        pkg = m if p.name == "__init__.py" else m.rpartition(".")[0]
        for n in ast.walk(tree):
            if id(n) in skip:
                continue
            for t in _targets(n, pkg):
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t not in (m, "gapsim"):
                    graph[m].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for w in graph.get(todo.pop(), ()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_cycle_finder_sees_a_planted_cycle():
    g = import_graph()
    # lazy imports (inside functions) are edges too: analysis.core imports replay in a function
    assert "gapsim.analysis.replay" in g["gapsim.analysis.core"]
    assert "gapsim.app.simulate" in g["gapsim.app.batch"]
    g["gapsim.app.simulate"] = g["gapsim.app.simulate"] | {
        "gapsim.app.batch"
    }  # the former lazy import
    assert ["gapsim.app.batch", "gapsim.app.simulate"] in cycles(g)
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_geometry_is_on_the_ground_floor():
    g = import_graph()
    assert g["gapsim.core.sets"] <= GROUND | {"gapsim.core.subspaces", "gapsim.core"}
    assert g["gapsim.core.subspaces"] <= GROUND


@pytest.mark.parametrize(
    "module", ["gapsim.core.sets", "gapsim.core.loss", "gapsim.core.objective"]
)
def test_core_does_not_import_config_or_runs(module):
    reached = _reach(import_graph(), module)
    bad = sorted(m for m in reached if m in ABOVE or m.startswith(tuple(f"{a}." for a in ABOVE)))
    assert bad == [], f"{module} imports {bad}"


def test_only_the_wiring_names_a_mechanism():
    """Mechanism classes are named in their own modules and in ``app.wiring`` only (issue 21).

    The solvers, the certificate, the config and the command line iterate the mechanisms they
    are given; a new mechanism is no edit of theirs.
    """
    import gapsim.core.mechanisms as mk

    names = {n for n in mk.__all__ if isinstance(getattr(mk, n), type)}
    names -= {"Mechanism", "Variable"}
    allowed = ("gapsim.core.mechanisms", "gapsim.app.wiring")
    hits = []
    for name, p in _modules(ROOT).items():
        if name.startswith(allowed):
            continue
        for n in ast.walk(ast.parse(p.read_text())):
            if isinstance(n, (ast.Name, ast.Attribute)):
                ident = n.id if isinstance(n, ast.Name) else n.attr
                if ident in names:
                    hits.append((name, ident))
    assert hits == []
    assert "GammaLift" in names  # the scan looks for real class names


def test_public_names_point_at_their_one_home():
    import gapsim
    from gapsim.app import batch, parts

    assert gapsim.make_constraints is parts.constraints
    assert gapsim.prepare is parts.prepare
    assert gapsim.best_of_seeds is batch.best_of_seeds
