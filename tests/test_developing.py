"""docs/developing.md's worked examples run against the code as it is (issue 21).

The new mechanism (a learnable scale per modality) and the new set (a latitude) are executed
from the page itself and plugged into the unchanged solvers, objective and certificate; the
snippets for the wiring, the config and the parts must parse, and the files the page names must
exist and hold what the page says they hold.
"""

import ast
import pathlib
import re
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
from testutil import assert_close, gauss

from gapsim import Config
from gapsim.app.parts import prepare
from gapsim.core import _kkt
from gapsim.core.loss import infonce
from gapsim.core.mechanisms import fixed_objective
from gapsim.core.sets import Constraint, feasible, project, residuals, stack, tangent
from gapsim.core.solvers import execute, objective_at, params0, stationarity

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "developing.md").read_text()


def _block(name: str) -> str:
    m = re.search(rf"<!-- example: {name} -->\n```python\n(.*?)```", PAGE, re.S)
    assert m, f"docs/developing.md has no example block {name!r}"
    return m.group(1)


def _module(name: str) -> dict:
    ns: dict = {"__name__": f"example_{name}"}
    exec(compile(_block(name), f"docs/developing.md:{name}", "exec"), ns)  # noqa: S102
    return ns


def test_the_files_the_page_names_exist_and_the_snippets_parse():
    for rel, anchor in [
        ("gapsim/app/wiring.py", "WIRES: tuple[Wire, ...] = ("),
        ("gapsim/app/config.py", "def _check_mechanisms"),
        ("gapsim/app/config.py", "def _check_constraint"),
        ("gapsim/app/parts.py", "def constraints(cfg: Config)"),
        ("gapsim/core/mechanisms/base.py", "class Mechanism"),
        ("gapsim/core/sets/sphere.py", "def safe_normalize"),
    ]:
        assert anchor in (ROOT / rel).read_text(), (rel, anchor)
    for name in ("wiring", "config", "set-config", "set-parts"):
        ast.parse(textwrap.dedent(_block(name)))
    # the counts the page states
    assert "**one new module and two edits**" in PAGE
    assert "**one new module and two edits for a flag**" in PAGE


def test_the_worked_mechanism_is_optimised_and_certified_without_other_edits():
    ns = _module("mechanism")
    mech, hyper_t = ns["ModalityScale"](), ns["ScaleHyper"]
    assert not fixed_objective((mech,))  # a variable: L-BFGS refuses it, as the page says
    cfg = Config(n_pairs=6, dim=3, tau=0.5, solver="gd", dtype="float64", steps=40, lr=0.05)
    static, args = prepare(cfg)
    hyper = hyper_t(jnp.array([1.0, 1.5]), jnp.asarray(1.0))
    static = static._replace(mechanisms=(*static.mechanisms, mech))
    args = args._replace(hypers=(*args.hypers, hyper))
    p = params0(static, args)
    assert_close(p["scale"], [1.0, 1.5], atol=0)
    # the objective is InfoNCE at beta * s_0 * s_1
    got = objective_at(static, args, p, 0, False)
    assert_close(got, infonce(p["z"][0], p["z"][1], 2.0 * 1.0 * 1.5), atol=1e-14)
    # the dynamics move the scale; the stationarity measure counts its gradient
    out = execute(static, args)
    assert np.all(np.isfinite(np.asarray(out.params["scale"])))
    assert float(jnp.max(jnp.abs(out.params["scale"] - hyper.s0))) > 1e-4
    g = jax.grad(lambda q: objective_at(static, args, q, 0, False))(p)
    zpart = jnp.sum(jax.vmap(tangent)(args.constraints, p["z"], g["z"]) ** 2)
    expect = jnp.sqrt(zpart + jnp.sum(g["scale"] ** 2))
    assert_close(stationarity(static, args, p, 0), expect, atol=1e-14)
    # the certificate's variables include it (iterated, not named)
    assert "scale" in _kkt.variables(static, p)


def test_the_worked_set_projects_steps_and_certifies_without_other_edits():
    ns = _module("set")
    axis = jnp.array([1.0, 0.0, 0.0])
    c = Constraint.of(ns["Latitude"](axis, jnp.asarray(0.3)))
    x = project(c, jnp.asarray(gauss(11, 0, 9, 3)))
    assert_close(x @ axis, 0.3, atol=1e-15)
    assert_close(jnp.linalg.norm(x, axis=1), 1.0, atol=1e-15)
    assert_close(project(c, x), x, atol=1e-15)  # idempotent
    assert bool(jnp.all(feasible(c, x)))
    eq, ineq = residuals(c, x)  # 9 norms + 9 heights
    assert eq.shape == (18,)
    assert ineq.shape == (0,)
    assert float(jnp.max(jnp.abs(eq))) < 1e-15
    v = tangent(c, x, jnp.asarray(gauss(11, 1, 9, 3)))
    assert_close(jnp.sum(v * x, axis=1), 0.0, atol=1e-15)
    assert_close(v @ axis, 0.0, atol=1e-15)  # keeps the height to first order
    # the unchanged dynamics retract onto it
    cfg = Config(n_pairs=9, dim=3, tau=0.5, solver="gd", dtype="float64", steps=30)
    static, args = prepare(cfg, np.stack([x, x]))
    args = args._replace(constraints=stack([c, c]))
    out = execute(static, args)
    z = out.params["z"]
    assert_close(z @ axis, 0.3, atol=1e-14)
    assert float(jnp.max(jnp.abs(z - args.z0))) > 1e-6  # it moved
