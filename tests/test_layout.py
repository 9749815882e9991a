"""The package layout: the import graph Python runs has no cycle, and each layer imports only below.

The graph is read from the source (``ast``) of ``gapsim/`` and ``experiments/`` and has an edge
for everything an import makes Python run (issue 21):

- every ``import`` of a module, lazy imports inside functions included, ``if TYPE_CHECKING:``
  blocks excluded;
- the ``__init__`` of every package on the way to the imported module that is not a package of
  the importer itself (importing ``gapsim.analysis.pairs`` from ``gapsim.app.init`` first runs
  ``gapsim/analysis/__init__.py``; a module's own packages have already run);
- the lazy public names of a package (``from gapsim import simulate``, ``gapsim.simulate``),
  which its ``__getattr__`` imports from their modules on first use (PEP 562; the package's
  ``_EXPORTS`` table, :mod:`gapsim._lazy`);
- the imports made by name at run time, declared in :data:`DYNAMIC`: the figure registry loads
  the ``experiments`` modules, the check runner its check modules, the command line its
  commands. (The old module paths of :mod:`gapsim._compat` alias the new ones; nothing in the
  tree imports them, a test below.)

Its strongly connected components (Tarjan) of more than one module are the import cycles.
"""

from __future__ import annotations

import ast
import importlib
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROOTS = ("gapsim", "experiments")

LAYERS = {
    "gapsim.core": ("gapsim.core", "gapsim.errors"),
    "gapsim.studies": ("gapsim.studies", "gapsim.core", "gapsim.app", "gapsim.errors"),
    "experiments": (
        "experiments",
        "gapsim.app",
        "gapsim.core",
        "gapsim.studies",
        "gapsim.alignment",
        "gapsim.analysis",
        "gapsim.errors",
    ),
    "gapsim.app": (
        "gapsim.app",
        "gapsim.core",
        "gapsim.studies",
        "gapsim.alignment",
        "gapsim.errors",
        "gapsim._version",
    ),
}
"""What each layer may import (a prefix each): the core sees no config, the application no
check or command line, the studies no check, the figures no check (they share studies)."""
EXCEPTIONS = {
    ("gapsim.app.figures", "experiments"),  # the figure registry loads the figure modules
    ("gapsim.app.init", "gapsim.analysis"),  # --init-file reads paired files with the analysis'
    ("gapsim.app.init", "gapsim.analysis.load"),  # reader (file formats, checks; nothing else)
}
"""Declared edges across layers, each for a stated reason."""


def _modules(root: pathlib.Path = ROOT) -> dict[str, pathlib.Path]:
    mods = {}
    for top in ROOTS:
        for p in sorted((root / top).rglob("*.py")):
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


def _lazy_exports(mods: dict[str, pathlib.Path]) -> dict[str, dict[str, str]]:
    """Package -> {public name: its module}, from each ``__init__``'s ``_EXPORTS`` literal."""
    out: dict[str, dict[str, str]] = {}
    for m, p in mods.items():
        if p.name != "__init__.py":
            continue
        for n in ast.parse(p.read_text()).body:
            if isinstance(n, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in n.targets
            ):
                table = ast.literal_eval(n.value)
                out[m] = {name: mod for mod, names in table.items() for name in names}
    return out


def _dynamic(mods: dict[str, pathlib.Path]) -> dict[str, set[str]]:
    """The imports made by name at run time (see the module docstring)."""

    def under(prefix: str, skip: tuple[str, ...] = ()) -> set[str]:
        return {
            m
            for m in mods
            if m.startswith(prefix + ".") and not m.rpartition(".")[2].startswith(("_", *skip))
        }

    return {
        "gapsim.app.figures": under("experiments"),
        "gapsim.checks.runner": under("gapsim.checks", tuple(_checks_infra())),
        "gapsim.cli": under("gapsim.cli"),
    }


def _checks_infra() -> frozenset:
    from gapsim.checks.runner import INFRA

    return INFRA


DYNAMIC = _dynamic
"""The declared run-time imports (a function of the modules found)."""


def import_graph(root: pathlib.Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules its imports make Python run (the module docstring's rules)."""
    mods = _modules(root)
    lazy = _lazy_exports(mods)
    graph: dict[str, set[str]] = {m: set() for m in mods}

    def add(m: str, t: str) -> None:
        while t and t not in mods:
            t = t.rpartition(".")[0]
        if not t or t == m:
            return
        graph[m].add(t)
        own = {".".join(m.split(".")[:k]) for k in range(1, m.count(".") + 2)}
        parts = t.split(".")
        for k in range(1, len(parts)):  # the packages on the way that are not m's own
            pkg = ".".join(parts[:k])
            if pkg in mods and pkg not in own and pkg != "gapsim":
                graph[m].add(pkg)

    for m, p in mods.items():
        tree = ast.parse(p.read_text())
        skip = _type_checking_nodes(tree)
        pkg = m if p.name == "__init__.py" else m.rpartition(".")[0]
        bound = {}  # local name -> a lazy package imported as a module (import gapsim)
        for n in ast.walk(tree):
            if id(n) in skip:
                continue
            if isinstance(n, ast.Import):
                bound |= {(a.asname or a.name): a.name for a in n.names if a.name in lazy}
            if isinstance(n, ast.ImportFrom) and not n.level and n.module in lazy:
                for a in n.names:
                    if a.name in lazy[n.module]:
                        add(m, lazy[n.module][a.name])
            for t in _targets(n, pkg):
                add(m, t)
        for n in ast.walk(tree):  # package.NAME: a lazy public name
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name):
                table = lazy.get(bound.get(n.value.id, ""), {})
                if n.attr in table:
                    add(m, table[n.attr])
    for m, targets in _dynamic(mods).items():
        for t in targets:
            add(m, t)
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


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_no_import_cycles(graph):
    assert cycles(graph) == []


def test_the_graph_sees_what_python_runs(graph):
    # lazy imports (inside functions) are edges: analysis.core imports replay in a function
    assert "gapsim.analysis.replay" in graph["gapsim.analysis.core"]
    # a parent package's __init__ runs first: replay imports gapsim.app.simulate
    assert "gapsim.app" in graph["gapsim.analysis.replay"]
    # ... but a module's own package is not an edge (it has run already)
    assert "gapsim.analysis" not in graph["gapsim.analysis.core"]
    # public names through gapsim.__getattr__: experiments import simulate from gapsim
    assert "gapsim.app.simulate" in graph["experiments.yi_fig1"]
    # the declared run-time imports: the registry loads the figures and the checks
    assert "experiments.yi_fig1" in graph["gapsim.app.figures"]
    assert "gapsim.checks.yi" in graph["gapsim.checks.runner"]
    # experiments/ is scanned
    assert "experiments.yaras_fig2" in graph


def test_planted_cycles_are_found(graph):
    g = {m: set(t) for m, t in graph.items()}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    # the runtime cycle of wave 2: init -> gapsim.analysis (its __init__, then eager) ->
    # analysis.core -> replay -> simulate -> parts -> init
    assert "gapsim.analysis" in g["gapsim.app.init"]
    g["gapsim.analysis"] = g["gapsim.analysis"] | {"gapsim.analysis.core"}
    assert any("gapsim.app.init" in c and "gapsim.analysis" in c for c in cycles(g))
    # the lazy loop of wave 2: a figure module importing the registry that loads it
    g = {m: set(t) for m, t in graph.items()}
    g["experiments.yi_fig1"] = g["experiments.yi_fig1"] | {"gapsim.app.figures"}
    assert ["experiments.yi_fig1", "gapsim.app.figures"] in cycles(g)


def test_the_parent_package_rule_plants_a_cycle_through_an_init(tmp_path):
    # a tiny tree: pkg/a.py imports sub.b; sub/__init__.py imports sub.c; sub/c.py imports pkg.a
    for rel, text in {
        "gapsim/__init__.py": "",
        "gapsim/a.py": "from gapsim.sub.b import x\n",
        "gapsim/sub/__init__.py": "from gapsim.sub import c\n",
        "gapsim/sub/b.py": "x = 1\n",
        "gapsim/sub/c.py": "def f():\n    from gapsim import a\n",
        "experiments/__init__.py": "",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    g = import_graph(tmp_path)
    assert "gapsim.sub" in g["gapsim.a"]  # the package on the way
    assert ["gapsim.a", "gapsim.sub", "gapsim.sub.c"] in cycles(g)


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_each_layer_imports_only_below(graph, layer):
    allowed = LAYERS[layer]
    bad = sorted(
        (m, t)
        for m, ts in graph.items()
        if m == layer or m.startswith(layer + ".")
        for t in ts
        if t != "gapsim"  # the root package itself (its public names resolve to their modules)
        and not t.startswith(allowed)
        and (m, t.split(".experiments")[0]) not in EXCEPTIONS
        and (m, t if not t.startswith("experiments") else "experiments") not in EXCEPTIONS
    )
    assert bad == []


def test_the_core_never_reaches_the_config(graph):
    reached = set().union(*(_reach(graph, m) for m in graph if m.startswith("gapsim.core")))
    assert not any(m.startswith(("gapsim.app", "gapsim.checks", "gapsim.cli")) for m in reached)


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
    for name, p in _modules().items():
        if name.startswith(allowed):
            continue
        for n in ast.walk(ast.parse(p.read_text())):
            if isinstance(n, (ast.Name, ast.Attribute)):
                ident = n.id if isinstance(n, ast.Name) else n.attr
                if ident in names:
                    hits.append((name, ident))
    assert hits == []
    assert "GammaLift" in names  # the scan looks for real class names


def test_nothing_in_the_tree_imports_an_old_path():
    import gapsim
    from gapsim._compat import MOVED

    public = set(gapsim.__all__)
    hits = []
    for top in (*ROOTS, "tests", "benchmarks"):
        for p in sorted((ROOT / top).rglob("*.py")):
            tree = ast.parse(p.read_text())
            for n in ast.walk(tree):
                if isinstance(n, ast.Import):
                    found = [a.name for a in n.names]
                elif isinstance(n, ast.ImportFrom) and not n.level:
                    found = [n.module] + [  # from gapsim import config_rules: a module
                        f"{n.module}.{a.name}" for a in n.names if a.name not in public
                    ]
                else:
                    continue
                hits += [(str(p.relative_to(ROOT)), t) for t in found if t in MOVED]
    assert hits == []


def test_old_import_paths_still_work_with_a_deprecation_warning():
    from gapsim._compat import MOVED

    for old, new in MOVED.items():
        sys.modules.pop(old, None)  # the alias warns when it is first imported
        with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
            mod = importlib.import_module(old)
        assert mod is importlib.import_module(new), old


def test_public_names_point_at_their_one_home():
    import gapsim
    from gapsim.app import batch, parts

    assert gapsim.make_constraints is parts.constraints
    assert gapsim.prepare is parts.prepare
    assert gapsim.best_of_seeds is batch.best_of_seeds
    assert callable(gapsim.simulate)
    assert callable(gapsim.measures)
