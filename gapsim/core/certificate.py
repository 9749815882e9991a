r"""Second-order (KKT) certificates: is an end point a local minimum, a saddle, or neither?

The problem certified is "minimise the noise-free objective :math:`f(v)` subject to
:math:`h(v) = 0,\ g(v) \ge 0`", where :math:`v` stacks the points :math:`z` (and :math:`\nu`,
:math:`\gamma` when they are learnable) and :func:`gapsim.core.sets.residuals` gives
:math:`(h, g)` of each modality's :class:`~gapsim.core.sets.Constraint`:
:math:`\tfrac12(\|x_i\|^2-1)`, the components :math:`Q_\perp^\top x_i` orthogonal to a subspace,
and a cap :math:`x_i\cdot c - \cos\alpha \ge 0`.
With the Lagrangian :math:`\mathcal{L} = f - \lambda^\top h - \mu^\top g`:

1. **First order.** :math:`A` = Jacobian of the equalities and the *active* caps
   (:math:`g_i \le` ``active_tol``); multipliers by least squares,
   :math:`(\lambda,\mu) = (AA^\top)^{-1}A\nabla f`; the KKT residual
   :math:`\|\nabla f - A^\top(\lambda, \max(\mu, 0))\|` is an upper bound of the distance of
   :math:`\nabla f` to the KKT cone (a negative :math:`\mu` counts against it). On the sphere
   and subspaces it *is* the Riemannian gradient norm of :func:`gapsim.core.solvers.stationarity`.
2. **Second order.** The smallest eigenvalue :math:`\lambda_{\min}` of
   :math:`\nabla^2\mathcal{L}` on the critical subspace :math:`\{u: A_c u = 0\}`, where
   :math:`A_c` keeps the equalities and the *strictly* active caps
   (:math:`\mu_i >` ``gtol / sigma_min(A)``, the precision of a least-squares multiplier).
   Weakly active caps are not imposed: the subspace then contains the critical cone, so a
   "minimum" verdict is sufficient, never optimistic. Hessian-vector products are
   ``jax.jvp`` of ``jax.grad`` in float64; the reduced Hessian is formed on an orthonormal
   basis and diagonalised when its dimension is at most ``dense_max``, otherwise
   ``scipy.sparse.linalg.eigsh`` (Lanczos, ``which="SA"``) runs on
   :math:`P\nabla^2\mathcal{L}P + \sigma(I - P)` (:math:`P` the orthogonal projector onto the
   subspace, :math:`\sigma = 2|\lambda_{\max}|` lifts the normal directions out of the way).
3. **Symmetries.** InfoNCE depends on :math:`z` only through inner products, so a joint rotation
   :math:`z \mapsto zR` (of every point-like variable) leaves :math:`f` unchanged. Its generators
   :math:`z \mapsto zE_{ab}` (:math:`E_{ab} = e_ae_b^\top - e_be_a^\top`) whose images satisfy
   :math:`A_c(zE) = 0` keep the active constraints; at a critical point the orbit's tangent lies
   in the kernel of the reduced Hessian (differentiate :math:`\mathrm{grad} f(zR) =
   \mathrm{grad} f(z)R = 0`), giving exact zero eigenvalues. They are computed (null space of
   :math:`A_cG` over the :math:`d(d-1)/2` generators, rank-revealing SVD at relative
   :math:`\sqrt{\epsilon}`), orthonormalised, and only the eigen-directions of
   :math:`S^\top\nabla^2\mathcal{L}S` with zero curvature (to the ``hess_tol`` formula below)
   are deflated: a rotation that keeps the active constraints to first order only (points in
   a plane through a fixed cap axis, rotated about an axis in that plane) is no symmetry and
   keeps its curvature. :math:`\lambda_{\min}` is taken on the orthogonal complement of the
   deflated directions; ``n_symmetries`` says how many were removed and
   ``symmetry_curvature`` their largest :math:`|\text{curvature}|`. A configuration spanning
   a k-dim subspace on the sphere has :math:`d(d-1)/2 - (d-k)(d-k-1)/2` of them.
4. **Verdict.** ``minimum``: residual :math:`\le` ``gtol`` and :math:`\lambda_{\min} \ge -`
   ``hess_tol``; ``saddle``: stationary with negative curvature beyond it;
   ``not stationary``: residual above ``gtol``; ``undecided``: stationary, but Lanczos did not
   converge above ``DENSE_FALLBACK`` dimensions (below it the dense path takes over), so no
   curvature is claimed; ``degenerate``: stationary, but the active
   constraint gradients are (numerically) dependent, :math:`\sigma_{\min}(A) \le
   \epsilon^{1/4}\sigma_{\max}(A)` (LICQ fails: e.g. a free-axis cap whose points have merged
   into two clusters symmetric about the mean direction), so no curvature is certified.
   ``hess_tol`` is the precision of the computed eigenvalue at this point:
   :math:`r/\sigma_{\min}(A)` (a multiplier error :math:`\delta\mu`
   moves :math:`\nabla^2\mathcal{L}` by :math:`\delta\mu\,\nabla^2 h_i`, with
   :math:`\|\nabla^2 h_i\| = 1` for the norm constraint) plus
   :math:`\sqrt{n}\,\epsilon\,\|\nabla^2\mathcal{L}\|` (rounding of an HVP summed over
   :math:`n` terms; Bauer-Fike bounds the eigenvalue error by the operator error).
5. **Conditioning.** With an absolute gradient tolerance the points are pinned only to
   ``position_error`` :math:`\approx r/\lambda_{\min}` (Newton step of a quadratic model;
   infinite when :math:`\lambda_{\min} \le` ``hess_tol``). :func:`mean_error` propagates it to
   a modality's mean, and :func:`centroid_angle_precision` to the centroid angle.

Reference: Nocedal & Wright, *Numerical Optimization* (2006), Thm 12.5/12.6 (second-order
conditions on the critical cone); Absil, Mahony & Sepulchre (2008) for the Riemannian Hessian.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from gapsim.core import _kkt, certificate_mf, critical
from gapsim.core.sets import cap_axis
from gapsim.core.solvers import Args, Static

__all__ = [
    "SecondOrder",
    "kkt_certificate",
    "kkt_certificates",
    "from_raw",
    "METHODS",
    "MATRIX_FREE_MIN_VARS",
    "mean_error",
    "centroid_angle_precision",
    "DENSE_MAX",
]

METHODS = ("auto", "dense", "matrix-free")
MATRIX_FREE_MIN_VARS = 1024
"""``method="auto"`` runs the matrix-free certificate (:mod:`gapsim.core.certificate_mf`) above this
many variables, the dense one (the reference) up to it."""
DENSE_MAX = 1500
"""Largest reduced dimension diagonalised densely (one HVP per basis vector); Lanczos above."""
DENSE_FALLBACK = 8192
"""Largest reduced dimension diagonalised densely when Lanczos does not converge."""
EPS = float(np.finfo(np.float64).eps)
SYM_RTOL = math.sqrt(EPS)
"""Relative singular-value cut for symmetry generators: exact symmetries keep the constraints to
rounding (~eps); anything above sqrt(eps) is geometry, not rounding."""
LICQ_RTOL = EPS**0.25
"""Constraint qualification fails when sigma_min(A) <= eps^(1/4) sigma_max(A). sigma_min comes
from the eigenvalues of A A^T, known to ~eps * sigma_max^2, so an exactly dependent set of
constraint gradients shows up as sigma_min ~ sqrt(eps) sigma_max; eps^(1/4) sits halfway (in
log scale) between that and 1, and beyond it a multiplier error of residual / sigma_min
(> 1e4 x the residual) leaves the curvature undetermined."""


class SecondOrder(NamedTuple):
    """A KKT certificate (see the module docstring for every quantity).

    Attributes:
        kind: ``minimum``, ``saddle``, ``not stationary``, ``degenerate`` (stationary, but the
            active constraint gradients are dependent: LICQ fails, the multipliers and hence
            the Hessian of the Lagrangian are not determined) or ``stationary`` (second
            order off).
        kkt_residual: KKT residual (first order).
        gtol: first-order tolerance.
        lambda_min: smallest eigenvalue on the critical subspace without symmetries (NaN if
            not computed).
        hess_tol: the tolerance on ``lambda_min``.
        symmetry_curvature: largest ``|eigenvalue|`` of the Hessian on the deflated directions.
        n_symmetries: rotation directions deflated.
        n_active: active caps; ``n_weak``: of them, those with a zero multiplier.
        min_multiplier: smallest multiplier of an active cap (NaN if none).
        position_error: ``kkt_residual / lambda_min`` (inf when not positive definite).
        method: ``dense``, ``lanczos``, ``matrix-free`` or ``none``; ``dim``: reduced
            dimension.
        eig_error: bound on the error of ``lambda_min`` (matrix-free: the Lanczos residual or
            Kato-Temple bound of :mod:`gapsim.core.krylov`; dense: NaN, the eigenvalue is exact to
            ``hess_tol``).
        matvecs: Hessian-vector products taken (matrix-free; 0 otherwise).
        hess_norm: the norm of the Hessian of the Lagrangian in ``hess_tol`` (dense: the
            largest ``|eigenvalue|``; matrix-free: the largest ``|Ritz value|`` seen).
    """

    kind: str
    kkt_residual: float
    gtol: float
    lambda_min: float = math.nan
    hess_tol: float = math.nan
    symmetry_curvature: float = math.nan
    n_symmetries: int = 0
    n_active: int = 0
    n_weak: int = 0
    min_multiplier: float = math.nan
    position_error: float = math.inf
    method: str = "none"
    dim: int = 0
    eig_error: float = math.nan
    matvecs: int = 0
    hess_norm: float = math.nan


def _jacobian(
    static: Static, args: Args, params: dict, t, rows: np.ndarray, n: int
) -> sp.csr_matrix:
    """Rows ``rows`` of the Jacobian of all residuals, as a sparse matrix (chunked VJPs)."""
    m_tot = _kkt.n_residuals(static, args, params)
    out = []
    for s in range(0, len(rows), _kkt.CHUNK):
        idx = rows[s : s + _kkt.CHUNK]
        w = np.zeros((_kkt.CHUNK, m_tot))
        w[np.arange(len(idx)), idx] = 1.0
        jac = np.asarray(_kkt.vjp_rows(static, args, params, t, w))[: len(idx)]
        out.append(sp.csr_matrix(jac))
    return sp.vstack(out, format="csr") if out else sp.csr_matrix((0, n))


class _Normal:
    """Least squares against the rows of a sparse ``A`` (``(A A^T)^{-1}`` by sparse LU)."""

    def __init__(self, a: sp.csr_matrix):
        self.a, self.lu, self.singular = a, None, False
        if a.shape[0]:
            try:
                self.lu = spla.splu(sp.csc_matrix(a @ a.T))
            except RuntimeError:  # exactly singular: dependent rows (LICQ fails)
                self.singular = True

    def coef(self, v: np.ndarray) -> np.ndarray:
        if self.singular:  # minimum-norm least squares; only reached to report a residual
            return np.linalg.lstsq(self.a.toarray().T, v, rcond=None)[0]
        return self.lu.solve(self.a @ v) if self.lu else np.zeros((0, *v.shape[1:]))

    def project(self, v: np.ndarray) -> np.ndarray:
        """Orthogonal projection of ``v`` (``(n,)`` or ``(n, k)``) onto the null space of A."""
        return v - self.a.T @ self.coef(v) if self.lu else v

    def singular_range(self) -> tuple[float, float]:
        """Smallest and largest singular values of A (inverse and power iteration on A A^T)."""
        if self.singular:
            return 0.0, 1.0
        if not self.lu:
            return 1.0, 1.0
        k = self.a @ self.a.T
        lo = hi = np.ones(self.a.shape[0])
        lam_lo = lam_hi = 1.0
        for _ in range(50):
            lo = self.lu.solve(lo)
            lam_lo = 1 / np.linalg.norm(lo)
            lo = lo * lam_lo
            hi = k @ hi
            lam_hi = np.linalg.norm(hi)
            hi = hi / lam_hi
        return math.sqrt(lam_lo), math.sqrt(lam_hi)


def _hvps(static, args, params, t, lam, u: np.ndarray) -> np.ndarray:
    """Columns of ``u`` (``(n, k)``) multiplied by the Hessian of the Lagrangian.

    Batches of ``CHUNK`` columns (zero-padded), or one column at a time for ``k == 1`` (Lanczos):
    two compiled shapes in all.
    """
    out = np.empty_like(u)
    chunk = 1 if u.shape[1] == 1 else _kkt.CHUNK
    for s in range(0, u.shape[1], chunk):
        blk = u[:, s : s + chunk]
        pad = np.zeros((chunk, u.shape[0]))
        pad[: blk.shape[1]] = blk.T
        out[:, s : s + blk.shape[1]] = np.asarray(_kkt.hvp_rows(static, args, params, t, lam, pad))[
            : blk.shape[1]
        ].T
    return out


def _symmetries(gens: np.ndarray, ac: sp.csr_matrix, proj: _Normal) -> np.ndarray:
    """Orthonormal tangent directions of the rotations that keep the active constraints."""
    scale = max(1.0, float(np.max(np.linalg.norm(gens, axis=0), initial=0.0)))
    if ac.shape[0]:
        _, s, vt = np.linalg.svd(ac @ gens, full_matrices=True)
        s = np.concatenate([s, np.zeros(vt.shape[0] - len(s))])
        gens = gens @ vt[s <= SYM_RTOL * scale].T
    if gens.shape[1] == 0:
        return gens
    u, s, _ = np.linalg.svd(proj.project(gens), full_matrices=False)
    return u[:, s > SYM_RTOL * scale]


def _complement(b: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the orthogonal complement of the columns of ``b`` (full rank).

    A complete Householder QR (``2 n^2 k`` flops), not an SVD: full column rank is known here
    (LICQ is checked before; the symmetry directions are orthonormal).
    """
    q = scipy.linalg.qr(b, mode="full")[0]
    return q[:, b.shape[1] :]


def _smallest(static, args, params, t, lam, proj, sym, n, dense_max, n_c):
    """(lambda_min, ||H||, method, reduced dim) on the critical subspace minus ``sym``."""
    dim = n - n_c - sym.shape[1]
    if dim <= 0:
        return math.inf, 0.0, "none", 0
    if dim <= dense_max:
        return _dense(static, args, params, t, lam, proj, sym, n, "dense")
    try:
        return _lanczos(static, args, params, t, lam, proj, sym, n, dim)
    except spla.ArpackNoConvergence:
        # seen on two-hyperplane optima at N = 128, d = 8 (2048 variables): the smallest
        # eigenvalues of the shifted operator cluster at zero. Diagonalise densely where that
        # fits (dim <= DENSE_FALLBACK); else the curvature is undecided (NaN), never a verdict
        if dim <= DENSE_FALLBACK:
            return _dense(static, args, params, t, lam, proj, sym, n, "dense (Lanczos failed)")
        return math.nan, math.nan, "lanczos (no convergence)", dim


def _dense(static, args, params, t, lam, proj, sym, n, method):
    """(lambda_min, ||H||, method, dim) of the reduced Hessian on an orthonormal basis."""
    t_basis = _complement(proj.a.toarray().T) if proj.lu else np.eye(n)
    if sym.shape[1]:
        t_basis = t_basis @ _complement(t_basis.T @ sym)
    h = t_basis.T @ _hvps(static, args, params, t, lam, t_basis)
    ev = np.linalg.eigvalsh((h + h.T) / 2)
    return float(ev[0]), float(np.max(np.abs(ev))), method, t_basis.shape[1]


def _lanczos(static, args, params, t, lam, proj, sym, n, dim):
    """(lambda_min, ||H||, "lanczos", dim) by ARPACK on the projected, shifted operator."""

    def p_sym(u):
        u = proj.project(u)
        return u - sym @ (sym.T @ u)

    def hv(u):
        return _hvps(static, args, params, t, lam, u.reshape(n, 1))[:, 0]

    v0 = np.random.default_rng(0).standard_normal(n)
    op = spla.LinearOperator((n, n), lambda u: p_sym(hv(p_sym(u))), dtype=np.float64)
    top = float(spla.eigsh(op, k=1, which="LA", tol=1e-3, v0=v0, return_eigenvectors=False)[0])
    sigma = 2 * abs(top) + EPS

    def shifted(u):
        pu = p_sym(u)
        return p_sym(hv(pu)) + sigma * (u - pu)

    ops = spla.LinearOperator((n, n), shifted, dtype=np.float64)
    low = spla.eigsh(ops, k=2, which="SA", v0=v0, return_eigenvectors=False)
    lmin = float(np.min(low))
    return lmin, max(abs(top), abs(lmin)), "lanczos", dim


def with_axes(args: Args, params: dict) -> dict:
    r"""``params`` plus ``"axis"``: each modality's learnable cap axis, when there is one.

    A learnable axis is a variable of the problem on :math:`(c, X)`
    (:mod:`gapsim.core.sets`); its value at the end point is the best axis of the points
    (:func:`gapsim.core.sets.cap_axis`).
    """
    c = args.constraints
    if c.cap_cos is None or c.axis is not None or "axis" in params:
        return params
    z = params["z"]
    axes = [cap_axis(jax.tree.map(lambda a, m=m: a[m], c), z[m]) for m in range(z.shape[0])]
    return {**params, "axis": jnp.stack(axes)}


def kkt_certificate(
    static: Static,
    args: Args,
    params: dict,
    t: int,
    gtol: float,
    *,
    active_tol: float,
    second_order: bool = True,
    dense_max: int = DENSE_MAX,
    method: str = "auto",
    settings: certificate_mf.Settings | None = None,
) -> SecondOrder:
    r"""Certify ``params`` (float64) as a local minimum of the noise-free objective at step ``t``.

    Args:
        static: the run's compile-time part (:class:`gapsim.core.solvers.Static`).
        args: its traced part, float64 (:class:`gapsim.core.solvers.Args`).
        params: ``{"z", "nu", "gamma"}`` in float64, the points on their sets.
        t: update index (the temperature of a schedule at that step).
        gtol: first-order tolerance on the KKT residual.
        active_tol: a cap is active when :math:`x_i\cdot c - \cos\alpha \le` this
            (the rounding of the working precision; see :func:`gapsim.app.simulate.finish`).
        second_order: compute the curvature (else the kind is ``stationary`` or
            ``not stationary``).
        dense_max: largest reduced dimension diagonalised densely (dense method).
        method: ``"dense"`` (this module: host linear algebra, the reference),
            ``"matrix-free"`` (:mod:`gapsim.core.certificate_mf`: compiled, Hessian-vector products
            only) or ``"auto"``: matrix-free above ``MATRIX_FREE_MIN_VARS`` variables.
        settings: iteration sizes of the matrix-free method (default
            :class:`gapsim.core.certificate_mf.Settings`).

    Returns:
        A :class:`SecondOrder`.

    Example:
        >>> from gapsim import Config
        >>> from gapsim.app.simulate import simulate
        >>> simulate(Config(n_pairs=3, dim=3, tau=0.5)).certificate.kind
        'minimum'
    """
    params = with_axes(args, params)
    if _method(static, args, params, method) == "matrix-free":
        raw = certificate_mf.certify_one(
            static,
            args,
            params,
            jnp.asarray(t),
            jnp.asarray(gtol, jnp.float64),
            jnp.asarray(active_tol, jnp.float64),
            settings=settings or certificate_mf.Settings(),
            second_order=second_order,
        )
        return from_raw(jax.device_get(raw), gtol, second_order)
    v, g, eq, ineq = (np.asarray(a) for a in _kkt.first_order(static, args, params, t))
    n, n_eq = v.size, eq.size
    act = np.flatnonzero(ineq <= active_tol)
    a = _jacobian(static, args, params, t, np.concatenate([np.arange(n_eq), n_eq + act]), n)
    normal = _Normal(a)
    coef = normal.coef(g)
    mu = coef[n_eq:]
    coef_c = np.concatenate([coef[:n_eq], np.maximum(mu, 0)])
    res = float(np.linalg.norm(g - a.T @ coef_c))
    base = {
        "kkt_residual": res,
        "gtol": gtol,
        "n_active": int(act.size),
        "min_multiplier": float(mu.min()) if mu.size else math.nan,
    }
    if res > gtol:
        return SecondOrder("not stationary", **base)
    if not second_order:
        return SecondOrder("stationary", **base)
    smin, smax = normal.singular_range()
    if smin <= LICQ_RTOL * smax:
        return SecondOrder("degenerate", **base)
    strong = mu > gtol / smin
    keep = np.concatenate([np.ones(n_eq, bool), strong])
    crit = _Normal(a[np.flatnonzero(keep)]) if not strong.all() else normal
    lam = np.zeros(n_eq + ineq.size)
    lam[:n_eq], lam[n_eq + act] = coef_c[:n_eq], coef_c[n_eq:]
    sym = _symmetries(np.asarray(_kkt.generators(static, params)).T, crit.a, crit)
    # keep only generators in the kernel of the reduced Hessian: a rotation that keeps the
    # active constraints to first order only (points in a plane through a fixed axis, say) is
    # no symmetry, and its curvature stays in the reduced problem. Zero curvature along s
    # (s^T H s = 0) is not enough: H s must vanish on the critical subspace, else deflating s
    # could hide a negative eigenvalue of the coupling (H = [[0, b], [b, 0]] with s = e1).
    hs = _hvps(static, args, params, t, lam, sym)
    sym_ev, sym_vec = np.linalg.eigh(sym.T @ hs)
    sym_scale = float(np.max(np.abs(sym_ev), initial=0.0))
    kernel = np.linalg.norm(crit.project(hs @ sym_vec), axis=0) if sym.shape[1] else sym_ev
    flat = kernel <= res / smin + math.sqrt(n) * EPS * max(sym_scale, 1.0)
    sym, sym_ev = sym @ sym_vec[:, flat], sym_ev[flat]
    lmin, hnorm, method, dim = _smallest(
        static, args, params, t, lam, crit, sym, n, dense_max, crit.a.shape[0]
    )
    hess_tol = res / smin + math.sqrt(n) * EPS * max(hnorm, sym_scale)
    ok = lmin >= -hess_tol
    return SecondOrder(
        "undecided" if math.isnan(lmin) else "minimum" if ok else "saddle",
        **base,
        lambda_min=lmin,
        hess_tol=hess_tol,
        symmetry_curvature=float(np.max(np.abs(sym_ev), initial=0.0)),
        n_symmetries=int(sym.shape[1]),
        n_weak=int(act.size - strong.sum()),
        position_error=res / lmin if lmin > hess_tol else math.inf,
        method=method,
        dim=dim,
        hess_norm=hnorm,
    )


def _method(static: Static, args: Args, params: dict, method: str) -> str:
    """The method run: ``"auto"`` is matrix-free above ``MATRIX_FREE_MIN_VARS`` variables.

    Only where every modality's set has the matrix-free operators
    (:func:`gapsim.core.critical.supported`); a set without them is certified densely.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method != "auto":
        return method
    if not critical.supported(args.constraints):
        return "dense"
    n = sum(int(np.size(x)) for x in _kkt.variables(static, params).values())
    return "matrix-free" if n > MATRIX_FREE_MIN_VARS else "dense"


def from_raw(raw: certificate_mf.Raw, gtol: float, second_order: bool = True) -> SecondOrder:
    """A :class:`SecondOrder` from the arrays of the matrix-free certificate (one seed).

    :class:`~gapsim.core.certificate_mf.Raw` is what the compiled program returns (arrays, no
    verdict); the certificate is this one type, its fields taken from ``raw`` by name. The
    verdict (module docstring of :mod:`gapsim.core.certificate_mf`): ``saddle`` when the
    smallest Ritz value is below ``-hess_tol``, ``minimum`` when it is at least ``-hess_tol``
    by more than its error bound, ``undecided`` in between.
    """
    r = {k: np.asarray(v).item() for k, v in raw._asdict().items()}
    defaults = SecondOrder._field_defaults
    same = {k: type(defaults.get(k, 0.0))(r[k]) for k in SecondOrder._fields if k in r}
    mm = same["min_multiplier"]
    base = {
        "kkt_residual": same["kkt_residual"],
        "gtol": gtol,
        "n_active": same["n_active"],
        "min_multiplier": mm if math.isfinite(mm) else math.nan,
    }
    res = base["kkt_residual"]
    if not res <= gtol:
        return SecondOrder("not stationary", **base)
    if not second_order:
        return SecondOrder("stationary", **base)
    smin, smax = float(r["sigma_min"]), float(r["sigma_max"])
    if smin <= LICQ_RTOL * smax:
        return SecondOrder("degenerate", **base)
    lmin, err, hnorm = same["lambda_min"], same["eig_error"], same["hess_norm"]
    hess_tol = res / smin + math.sqrt(int(r["n"])) * EPS * max(hnorm, float(r["sym_scale"]))
    if math.isnan(lmin):
        kind = "undecided"
    elif lmin < -hess_tol:
        kind = "saddle"
    else:
        kind = "minimum" if lmin - err >= -hess_tol else "undecided"
    low = lmin - err
    return SecondOrder(
        **{
            **same,
            **base,
            "kind": kind,
            "hess_tol": hess_tol,
            "position_error": res / low if low > hess_tol else math.inf,
            "method": "matrix-free" if same["dim"] > 0 else "none",
            "dim": max(same["dim"], 0),
        }
    )


def kkt_certificates(
    static: Static,
    args: list[Args],
    params: list[dict],
    ts: list[int],
    gtol: float,
    *,
    active_tol: float,
    second_order: bool = True,
    method: str = "auto",
    settings: certificate_mf.Settings | None = None,
) -> list[SecondOrder]:
    """:func:`kkt_certificate` of several end points of one shape (the seeds of a config).

    Matrix-free: one compiled, vmapped program for all of them
    (:func:`gapsim.core.certificate_mf.certify_batch`); dense: one after the other.
    """
    params = [with_axes(a, p) for a, p in zip(args, params, strict=True)]
    if not params:
        return []
    if _method(static, args[0], params[0], method) != "matrix-free":
        return [
            kkt_certificate(
                static,
                a,
                p,
                t,
                gtol,
                active_tol=active_tol,
                second_order=second_order,
                method="dense",
            )  # fmt: skip
            for a, p, t in zip(args, params, ts, strict=True)
        ]
    stack = partial(jax.tree.map, lambda *x: jnp.stack(x))
    raw = certificate_mf.certify_batch(
        static,
        stack(*args),
        stack(*params),
        jnp.asarray(ts),
        jnp.asarray(gtol, jnp.float64),
        jnp.asarray(active_tol, jnp.float64),
        settings=settings or certificate_mf.Settings(),
        second_order=second_order,
    )
    raw = jax.device_get(raw)
    return [
        from_raw(jax.tree.map(lambda x, i=i: x[i], raw), gtol, second_order)
        for i in range(len(params))
    ]


def mean_error(position_error: float, n_points: int) -> float:
    r"""Bound on the error of a modality's mean from the points' total error.

    :math:`\|\delta\bar x\| \le \frac1N\sum_i\|\delta x_i\| \le \|\delta X\|_F/\sqrt N`
    (Cauchy-Schwarz), with :math:`\|\delta X\|_F \le` ``position_error``.
    """
    return position_error / math.sqrt(n_points)


def centroid_angle_precision(
    mean_norms: tuple[float, float], position_error: float, n: int
) -> float:
    r"""Uncertainty (radians) of the centroid angle implied by ``position_error``.

    The direction of a mean :math:`m` moves by at most :math:`\delta/\|m\|` when :math:`m` moves by
    :math:`\delta` (:func:`mean_error`), so the angle between the two means is known to
    :math:`\delta/\|m_x\| + \delta/\|m_y\|`. Infinite (the angle is *undefined at this
    precision*) when a mean norm is not above its error: the mean's direction is not known at
    all.
    """
    delta = mean_error(position_error, n)
    if min(mean_norms) <= delta:
        return math.inf
    return sum(delta / m for m in mean_norms)
