"""gapsim.core.critical against the dense Jacobian of gapsim.core.sets.residuals (oracle tests).

For every kind of constraint set the structured operators of the matrix-free certificate must
equal their dense definitions from the residuals themselves (``jax.jacfwd``, ``lstsq``,
``eigvalsh``): if a set's residuals change and its operators do not, these fail. Tolerances:
1e-12 absolute on O(1) quantities (float64 rounding of small dense solves).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gapsim.core import critical
from gapsim.core.sets import Concentration, Constraint, Subspace, residuals

N, D = 7, 4
KINDS = (
    "sphere", "subspace", "cap_fixed", "cap_learned", "cap_fixed_in_subspace",
    "cap_learned_in_subspace", "concentration", "concentration_in_subspace",
)  # fmt: skip


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _problem(kind: str, seed: int = 0):
    """A constraint, points on it (half the cap rows on the rim), the axis variable, the mask."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((D, 3)) if "subspace" in kind else None
    q = None if basis is None else np.linalg.qr(basis)[0]
    inside = (lambda v: v) if q is None else (lambda v: v @ q @ q.T)
    axis = _unit(inside(rng.standard_normal(D)))
    alpha = 0.5
    if kind.startswith("concentration"):  # inside U: built directly (the composed set)
        sub = [] if q is None else [Subspace(jnp.asarray(q))]
        c = Constraint.of(*sub, Concentration(jnp.asarray(0.4)))
    elif kind.startswith("cap"):
        ax = "learned" if "learned" in kind else axis
        c = Constraint.make(D, basis=basis, cap_angle=alpha, axis=ax)
    else:
        c = Constraint.make(D, basis=basis)
    t = _unit(inside(rng.standard_normal((N, D))))
    t = _unit(t - (t @ axis)[:, None] * axis[None, :])  # unit, orthogonal to the axis, in U
    angle = np.where(np.arange(N) < N // 2, alpha, rng.uniform(0.1, 0.4, N))
    x = np.cos(angle)[:, None] * axis[None, :] + np.sin(angle)[:, None] * t
    if not kind.startswith("cap"):
        x = _unit(inside(rng.standard_normal((N, D))))
    w = (np.arange(N) < N // 2).astype(float) if kind.startswith("cap") else np.zeros(N)
    a = jnp.asarray(axis) if "learned" in kind else None
    return c, jnp.asarray(x), a, jnp.asarray(w)


def _dense(c, x, a, w):
    """The residuals of the counted rows as one function of the flat variables, and A."""
    active = np.flatnonzero(np.asarray(w) > 0)

    def split(v):
        return (v[: N * D].reshape(N, D), None if a is None else v[N * D :])

    def r(v):
        xx, aa = split(v)
        eq, ineq = residuals(c, xx, aa)
        return jnp.concatenate([eq, ineq[active]]) if ineq.size else eq

    v0 = jnp.concatenate([x.ravel()] + ([] if a is None else [a]))
    return r, v0, split, np.asarray(jax.jacfwd(r)(v0))


def _flat(ux, ua):
    return np.concatenate([np.ravel(ux)] + ([] if ua is None else [np.ravel(ua)]))


FAST = ("cap_fixed_in_subspace", "cap_learned_in_subspace", "concentration")
"""The default tier: every operator kind (local subspace rows, diagonal and Woodbury coupling,
the concentration's global row); the slow tier adds the rest."""


@pytest.mark.parametrize(
    "kind", [k if k in FAST else pytest.param(k, marks=pytest.mark.slow) for k in KINDS]
)
def test_structured_operators_equal_their_dense_definitions(kind):
    c, x, a, w = _problem(kind)
    r, v0, split, jac = _dense(c, x, a, w)
    n_var = v0.size
    rng = np.random.default_rng(1)
    u, g = rng.standard_normal(n_var), rng.standard_normal(n_var)
    coef = np.linalg.lstsq(jac.T, g, rcond=None)[0]

    @jax.jit
    def structured(u, g):  # every operator of the set, in one compiled call
        ux, ua = split(u)
        gx, ga = split(g)
        nm = critical.normals(c, x, a, w)
        mult = critical.multipliers(c, x, a, nm, gx, ga)

        def curv(v):
            xx, aa = split(v)
            return critical.curvature(c, xx, aa, mult)

        return {
            "project": critical.project(c, x, a, nm, ux, ua),
            "normal": critical.normal_operator(c, x, a, w, ux, ua),
            "mult": mult,
            "hess": jax.hessian(curv)(v0),
            "hess_ref": jax.hessian(lambda v: jnp.dot(jnp.asarray(coef), r(v)))(v0),
            "sigma": critical.sigma_range(c, x, a, w),  # None: no closed form (learnable axis)
        }

    out = structured(jnp.asarray(u), jnp.asarray(g))
    # the projection onto ker A
    p_ref = np.eye(n_var) - np.linalg.pinv(jac) @ jac
    np.testing.assert_allclose(_flat(*out["project"]), p_ref @ u, atol=1e-12)
    # A^T A u, and the number of rows (full rank here: LICQ holds)
    np.testing.assert_allclose(_flat(*out["normal"]), jac.T @ (jac @ u), atol=1e-12)
    assert int(critical.n_rows(c, N, D, w)) == jac.shape[0] == np.linalg.matrix_rank(jac)
    # least-squares multipliers of a gradient, and the constraints' curvature with them
    mult = out["mult"]
    np.testing.assert_allclose(mult.norm, coef[:N], atol=1e-12)
    n_act = int(np.sum(w))
    if n_act:
        np.testing.assert_allclose(np.asarray(mult.coupling)[:n_act], coef[-n_act:], atol=1e-12)
    if kind.startswith("concentration"):
        np.testing.assert_allclose(mult.coupling[0], coef[-1], atol=1e-12)
    if a is not None:
        axis_row = N + (N * (D - 3) if "subspace" in kind else 0)  # after norms, subspace rows
        np.testing.assert_allclose(mult.axis, coef[axis_row], atol=1e-12)
    np.testing.assert_allclose(out["hess"], out["hess_ref"], atol=1e-12)
    # sigma(A)^2: closed form where there is one
    if out["sigma"] is not None:
        ev = np.linalg.eigvalsh(jac @ jac.T)
        np.testing.assert_allclose(out["sigma"], [ev[0], ev[-1]], atol=1e-12)
