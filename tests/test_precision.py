"""64-bit precision is requested where gapsim needs it, never switched on for the whole process.

Each case runs in a fresh interpreter, because this test process has 64-bit mode on
(conftest.py) and JAX's mode is process state.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, env_x64: str | None = None, **extra_env: str) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"} | extra_env
    if env_x64 is not None:
        env["JAX_ENABLE_X64"] = env_x64
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["0", "1"])
def test_importing_gapsim_leaves_x64_as_it_was(mode):
    code = (
        "import json, jax\nbefore = jax.config.x64_enabled\n"
        "import gapsim, gapsim.app.simulate, gapsim.core.solvers, gapsim.checks, gapsim.cli\n"
        "print(json.dumps([before, jax.config.x64_enabled]))"
    )
    before, after = _run(code, mode)
    assert before == (mode == "1")
    assert after == before


def test_certified_run_is_float64_and_the_callers_mode_is_restored():
    code = """
import json, jax, jax.numpy as jnp
import gapsim
cfg = gapsim.Config(n_pairs=4, dim=3, tau=0.5)  # lbfgs: float64, gtol 1e-9
r = gapsim.simulate(cfg)
d = gapsim.simulate(cfg.replace(solver="gd", steps=20))  # float32 dynamics stay float32
print(json.dumps({
    "x": str(r.x.dtype), "converged": bool(r.converged), "gn": r.certificate.grad_norm,
    "loss": r.measures["loss"], "simplex": float(gapsim.simplex_loss(4, 0.5)),
    "dyn": str(d.history["loss"].dtype),
    "x64_after": jax.config.x64_enabled, "default": str(jnp.zeros(1).dtype),
}))
"""
    out = _run(code)
    assert out["x"] == "float64"
    assert out["converged"]
    assert out["gn"] <= 1e-9
    assert abs(out["loss"] - out["simplex"]) < 1e-10  # float64 agreement, not float32's 1e-7
    assert out["dyn"] == "float32"
    assert out["x64_after"] is False
    assert out["default"] == "float32"


def test_the_check_has_teeth_without_the_x64_request():
    """Planted fault: prepare/finish/simulate without their x64 request run in float32."""
    code = """
import importlib, json, warnings
import gapsim
m = importlib.import_module("gapsim.app.simulate")
for name in ("prepare", "finish"):
    setattr(m, name, getattr(m, name).__wrapped__)
warnings.simplefilter("ignore")  # JAX warns that float64 is truncated to float32
r = m.simulate.__wrapped__(gapsim.Config(n_pairs=4, dim=3, tau=0.5))
print(json.dumps({"x": str(r.x.dtype), "converged": bool(r.converged)}))
"""
    out = _run(code)
    assert out == {"x": "float32", "converged": False}


def test_gapsim_leaves_dtype_promotion_alone_and_runs_under_strict():
    """Importing gapsim keeps the promotion mode; a user's strict mode (x64 off) stays and works.

    The optimiser updates inside optax are traced under standard promotion
    (``gapsim.core.solvers``); everything gapsim computes itself casts explicitly.
    """
    code = """
import json, jax
before = jax.config.jax_numpy_dtype_promotion
import gapsim, gapsim.app.simulate, gapsim.core.solvers, gapsim.checks, gapsim.cli
after_import = jax.config.jax_numpy_dtype_promotion
jax.config.update("jax_numpy_dtype_promotion", "strict")
cfg = gapsim.Config(n_pairs=4, dim=3, tau=0.5, steps=20)
losses = {s: gapsim.simulate(cfg.replace(solver=s)).measures["loss"] for s in ("adam", "lbfgs")}
print(json.dumps({"modes": [before, after_import, jax.config.jax_numpy_dtype_promotion], **losses}))
"""
    out = _run(code)
    assert out["modes"] == ["standard", "standard", "strict"]
    assert all(math.isfinite(out[s]) for s in ("adam", "lbfgs"))


@pytest.mark.slow  # 31 s: two fresh processes compile both builds (CI runs the slow tier)
def test_the_unoptimised_test_build_matches_the_optimised_build():
    """The test tier compiles without XLA's backend optimisations (conftest.py) to save time.

    Same HLO, different LLVM code: rounding may differ in the last bits. Run in both builds:

    - a certified optimum: the two end points are each within the certificate's
      ``position_error`` (Frobenius) of the same minimum, so they differ by at most the sum;
    - short flows in float64 and float32: over a contracting flow rounding differences add up at
      most linearly, so the points differ by at most ``steps * eps`` of the dtype;
    - the verdicts of the two checks the tier runs end to end (``test_fast_checks_agree``).

    Each child also reports the setting it compiled under, so a setting that silently stopped
    taking effect fails here instead of passing trivially.
    """
    code = """
import json, jax
jax.config.update("jax_enable_x64", True)
import gapsim
from gapsim.checks import REGISTRY, select
from gapsim.checks.base import run_check
out = {"unopt": jax.config.read("jax_disable_most_optimizations")}
for name, cfg in {
    "lbfgs": gapsim.Config(n_pairs=32, dim=8, tau=0.05),
    "gd64": gapsim.Config(n_pairs=10, dim=5, tau=0.3, solver="gd", steps=200, dtype="float64"),
    "gd32": gapsim.Config(n_pairs=10, dim=5, tau=0.3, solver="gd", steps=200, dtype="float32"),
}.items():
    r = gapsim.simulate(cfg)
    out[name] = {"x": r.x.tolist(), "y": r.y.tolist(), "kind": r.certificate.kind,
                 "pe": r.certificate.position_error, "steps": cfg.steps}
select()
out["verdicts"] = [run_check(REGISTRY[c], quick=True).verdict
                   for c in ("yi.subspace.theta1_bound", "liang.toy_swapped_pair")]
print(json.dumps(out))
"""
    opt, unopt = (_run(code, JAX_DISABLE_MOST_OPTIMIZATIONS=f) for f in ("0", "1"))
    assert (opt["unopt"], unopt["unopt"]) == (False, True)

    def diff(name: str) -> np.ndarray:
        return np.concatenate(
            [np.asarray(opt[name][k]) - np.asarray(unopt[name][k]) for k in ("x", "y")]
        )

    assert opt["lbfgs"]["kind"] == unopt["lbfgs"]["kind"] == "minimum"
    assert np.linalg.norm(diff("lbfgs")) <= opt["lbfgs"]["pe"] + unopt["lbfgs"]["pe"]
    for name, eps in (("gd64", np.finfo(np.float64).eps), ("gd32", np.finfo(np.float32).eps)):
        assert np.abs(diff(name)).max() <= opt[name]["steps"] * eps, name
    assert opt["verdicts"] == unopt["verdicts"]
