r"""Spectra, dimension collapse, data subspaces and the cone effect of embeddings.

All from the :math:`d\times d` second moments, accumulated in float64 over row chunks
(:math:`O(Nd^2)` time, :math:`O(d^2)` memory besides the input):

- uncentred spectrum: eigenvalues of :math:`M = \frac1N X^\top X` (they sum to 1 for unit
  rows); centred: of :math:`C = M - \bar x\bar x^\top` (the covariance);
- effective rank :math:`\exp H(p)`, :math:`p_j = \lambda_j/\sum_k\lambda_k` (Roy & Vetterli
  2007), and the dimension at 99% variance (fewest leading eigenvalues with that share):
  "dimension collapse" when either is far below d;
- the data subspaces of Yi, Douady & Chen (2025)'s SSP recipe: the leading eigenvectors of the
  *uncentred* M up to 99% of its trace (the right-singular vectors of X, as
  :func:`gapsim.alignment.data_basis`), their principal angles, and the overlap dimension
  (principal cosines above ``cos_threshold``, SSP's default :math:`1-10^{-3}`);
- cone effect (Liang et al. 2022): the mean pairwise cosine within a modality,
  :math:`\frac{1}{N(N-1)}\sum_{i\ne j} x_i\cdot x_j = \frac{N\|\bar x\|^2 - 1}{N-1}` for unit
  rows, exact in :math:`O(Nd)`.
"""

from __future__ import annotations

import numpy as np

from gapsim.core.subspaces import principal_angles

__all__ = ["moments", "spectrum_stats", "subspace_stats", "cone_cosine", "basis_from_moment"]

CHUNK = 8192
"""Rows per chunk of the float64 moment accumulation."""


def moments(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""``(mean, M)``: :math:`\bar z` and :math:`\frac1N Z^\top Z` in float64, chunked."""
    n, d = z.shape
    m2 = np.zeros((d, d))
    mean = np.zeros(d)
    for s in range(0, n, CHUNK):
        c = z[s : s + CHUNK].astype(np.float64)
        m2 += c.T @ c
        mean += c.sum(axis=0)
    return mean / n, m2 / n


def _eig(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w, v = np.linalg.eigh((a + a.T) / 2)
    order = np.argsort(-w, kind="stable")
    return np.maximum(w[order], 0.0), v[:, order]


def _dim_at(w: np.ndarray, variance: float) -> int:
    frac = np.cumsum(w) / np.sum(w)
    return min(int(np.searchsorted(frac, variance)) + 1, w.size)


def spectrum_stats(w: np.ndarray, variance: float = 0.99) -> dict[str, float]:
    """Effective rank and the dimension holding ``variance`` of a non-negative spectrum."""
    p = w / np.sum(w)
    nz = p[p > 0]
    return {"effective_rank": float(np.exp(-np.sum(nz * np.log(nz)))), "dim": _dim_at(w, variance)}


def basis_from_moment(m2: np.ndarray, variance: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
    """``(basis, eigenvalues)``: leading eigenvectors of ``m2`` up to ``variance`` of its trace."""
    w, v = _eig(m2)
    return v[:, : _dim_at(w, variance)].copy(), w


def cone_cosine(mean: np.ndarray, n: int) -> float:
    r"""Mean pairwise cosine :math:`(N\|\bar z\|^2 - 1)/(N-1)` of ``n`` unit rows, mean ``mean``."""
    return float((n * np.dot(mean, mean) - 1) / (n - 1))


def subspace_stats(
    x: np.ndarray,
    y: np.ndarray,
    *,
    variance: float = 0.99,
    cos_threshold: float = 1 - 1e-3,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    r"""Spectra, dimensions, principal angles and cone cosines of paired unit rows.

    Args:
        x: ``(N, d)`` unit rows.
        y: ``(N, d)`` unit rows.
        variance: cumulative-variance cut for the dimensions and the data subspaces.
        cos_threshold: principal cosines above this count as shared (overlap dimension).

    Returns:
        ``(scalars, arrays)``. Scalars per modality ``m`` in ``x``, ``y``:
        ``effective_rank_{m}`` / ``dim99_{m}`` (centred) and ``..._uncentred_{m}``,
        ``subspace_dim_{m}``, ``cone_cosine_{m}``; and ``cross_cosine_mean`` (mean
        :math:`x_i\cdot y_j` over all i, j), ``theta_min``, ``theta_max``, ``overlap_dim``.
        Arrays: ``spectrum_{m}``, ``spectrum_uncentred_{m}``, ``principal_angles``.

    Example:
        >>> s, _ = subspace_stats(np.eye(4), np.eye(4))
        >>> s["overlap_dim"]
        4
    """
    n = x.shape[0]
    scalars: dict[str, float] = {}
    arrays: dict[str, np.ndarray] = {}
    bases, means = [], []
    for name, z in (("x", x), ("y", y)):
        mean, m2 = moments(z)
        basis, wu = basis_from_moment(m2, variance)
        wc, _ = _eig(m2 - np.outer(mean, mean))
        arrays[f"spectrum_{name}"], arrays[f"spectrum_uncentred_{name}"] = wc, wu
        c = spectrum_stats(wc, variance)
        u = spectrum_stats(wu, variance)
        scalars.update(
            {
                f"effective_rank_{name}": c["effective_rank"],
                f"dim99_{name}": c["dim"],
                f"effective_rank_uncentred_{name}": u["effective_rank"],
                f"dim99_uncentred_{name}": u["dim"],
                f"subspace_dim_{name}": basis.shape[1],
                f"cone_cosine_{name}": cone_cosine(mean, n),
            }
        )
        bases.append(basis)
        means.append(mean)
    angles = principal_angles(bases[0], bases[1])
    arrays["principal_angles"] = angles
    scalars.update(
        {
            "cross_cosine_mean": float(np.dot(means[0], means[1])),
            "theta_min": float(angles[0]),
            "theta_max": float(angles[-1]),
            "overlap_dim": int(np.sum(np.cos(angles) > cos_threshold)),
        }
    )
    return scalars, arrays
