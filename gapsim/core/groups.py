r"""Group-wise measures for K classes: clustering and nearest neighbours (Grassucci et al. 2026).

Grassucci et al. ("Closing the Modality Gap Aligns Group-Wise Semantics", ICLR 2026) claim
that closing the gap barely changes instance-wise tasks (retrieval) but strongly improves
group-wise ones: k-means with K = number of classes on the *stacked* set of both modalities,
scored against the class labels. A gap splits that set by modality, so the clusters follow
the modality instead of the class. Controls: k-means on each modality alone (which no gap
can affect), and leave-one-out kNN accuracy on the mixed set and per modality.

Clustering is scikit-learn's :class:`~sklearn.cluster.KMeans` (Euclidean k-means on the rows
as given, i.e. on unit vectors for points on the sphere; Lloyd's algorithm, k-means++ starts,
``n_init`` restarts, ``random_state=seed``), scored with :mod:`sklearn.metrics`:

- V-measure: harmonic mean of homogeneity (each cluster holds one class) and completeness
  (each class in one cluster) (Rosenberg & Hirschberg 2007);
- NMI with the arithmetic mean normalisation, scikit-learn's default, which equals the V-measure
  (reported anyway, as the papers do);
- ARI, adjusted Rand index (Hubert & Arabie 1985), about 0 for a random clustering;
- homogeneity.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    homogeneity_score,
    normalized_mutual_info_score,
    v_measure_score,
)

from gapsim.errors import ConfigError

__all__ = ["group_measures", "cluster_scores", "knn_accuracy", "GROUP_KEYS"]

SCORES = ("v_measure", "nmi", "ari", "homogeneity")
GROUP_KEYS = (
    *(f"mixed_{s}" for s in SCORES),
    "mixed_modality_v_measure",
    *(f"x_{s}" for s in SCORES),
    *(f"y_{s}" for s in SCORES),
    "knn_mixed",
    "knn_x",
    "knn_y",
)
"""Keys of :func:`group_measures`, in order."""


def _int(name: str, value, lo: int, hi: int | None = None) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    ok = ok and value >= lo and (hi is None or value <= hi)
    if not ok:
        allowed = f"must be an integer >= {lo}" + ("" if hi is None else f" and <= {hi}")
        raise ConfigError(name, value, allowed)
    return int(value)


def _labels(labels, n: int) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.shape != (n,):
        raise ConfigError("labels", f"array of shape {lab.shape}", f"must have shape ({n},)")
    return lab


def cluster_scores(z, labels, n_clusters: int, *, seed: int, n_init: int = 10) -> dict:
    """K-means on the rows of ``z`` scored against ``labels``.

    Args:
        z: ``(M, d)`` points.
        labels: ``(M,)`` true class labels (any hashable values).
        n_clusters: K, between 2 and M.
        seed: ``random_state`` of :class:`~sklearn.cluster.KMeans` (integer >= 0).
        n_init: k-means restarts (the best inertia is kept).

    Returns:
        ``{"v_measure", "nmi", "ari", "homogeneity"}`` as floats, and ``"clusters"``, the
        ``(M,)`` assignment.
    """
    z = np.asarray(z, np.float64)
    lab = _labels(labels, z.shape[0])
    n_clusters = _int("n_clusters", n_clusters, 2, z.shape[0])
    seed, n_init = _int("seed", seed, 0, 2**32 - 1), _int("n_init", n_init, 1)
    km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed)
    pred = km.fit_predict(z)
    return {
        "v_measure": float(v_measure_score(lab, pred)),
        "nmi": float(normalized_mutual_info_score(lab, pred)),
        "ari": float(adjusted_rand_score(lab, pred)),
        "homogeneity": float(homogeneity_score(lab, pred)),
        "clusters": pred,
    }


def knn_accuracy(z, labels, k: int, exclude=None) -> float:
    r"""Leave-one-out k-nearest-neighbour accuracy under cosine similarity.

    Point i is classified by a majority vote of the ``k`` points :math:`j \ne i` with the largest
    :math:`\cos(z_i, z_j)`; a tied vote goes to the smallest label (as scikit-learn's
    ``KNeighborsClassifier``). Equal similarities are ranked by index.

    Args:
        z: ``(M, d)`` points (non-zero rows; normalised here).
        labels: ``(M,)`` labels.
        k: number of neighbours, ``1 <= k <= M - 1`` (minus the excluded).
        exclude: optional ``(M,)`` integer array: point ``exclude[i]`` is also left out when
            classifying point i (e.g. its partner in the other modality); ``-1`` for none.

    Returns:
        The fraction of points whose vote equals their label.
    """
    z = np.asarray(z, np.float64)
    m = z.shape[0]
    lab = _labels(labels, m)
    k = _int("k_nn", k, 1, m - 1 - (exclude is not None))
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ConfigError("z", "array with zero rows", "cosine similarity needs non-zero rows")
    zn = z / norms
    s = zn @ zn.T
    idx = np.arange(m)
    s[idx, idx] = -np.inf
    if exclude is not None:
        ex = np.asarray(exclude)
        has = ex >= 0
        s[idx[has], ex[has]] = -np.inf
    nbr = np.argsort(-s, axis=1, kind="stable")[:, :k]
    classes, code = np.unique(lab, return_inverse=True)
    votes = np.zeros((m, classes.size), np.int64)
    np.add.at(votes, (np.repeat(idx, k), code[nbr].ravel()), 1)
    return float(np.mean(np.argmax(votes, axis=1) == code))  # argmax: first = smallest label


def group_measures(
    x, y, labels, *, seed: int, k_nn: int = 5, n_init: int = 10, exclude_partner: bool = False
) -> dict[str, float]:
    r"""Group measures of paired points with class labels (Grassucci et al. 2026).

    With K = number of distinct labels:

    - ``mixed_*``: k-means with K clusters on the stacked :math:`[X; Y]` (2N points, each pair's
      label twice), scored by V-measure, NMI, ARI and homogeneity (see the module docstring);
    - ``mixed_modality_v_measure``: the same clusters scored against the *modality* (0 for X,
      1 for Y): near 1 when the clustering splits the set by modality instead of by class;
    - ``x_*``, ``y_*``: the unimodal control, k-means on one modality alone;
    - ``knn_mixed``, ``knn_x``, ``knn_y``: leave-one-out kNN accuracy (:func:`knn_accuracy`,
      ``k_nn`` neighbours, cosine similarity) on the stacked set and per modality.

    In the mixed set a point's own partner is a candidate neighbour and always carries the
    right label; ``exclude_partner=True`` leaves it out too, so that ``knn_mixed`` measures
    groups rather than pairs.

    Args:
        x: ``(N, d)`` points of the first modality.
        y: ``(N, d)`` points of the second; row i pairs with ``x[i]``.
        labels: ``(N,)`` class of pair i, at least 2 classes and at most N.
        seed: ``random_state`` of every k-means run (integer >= 0; no default, so results are
            reproducible by construction).
        k_nn: neighbours for kNN, ``1 <= k_nn <= N - 1``.
        n_init: k-means restarts (default 10).
        exclude_partner: leave the partner out of the mixed kNN.

    Returns:
        Flat dict of floats with keys :data:`GROUP_KEYS`.

    Example:
        >>> x = np.repeat(np.eye(3), 4, axis=0)
        >>> m = group_measures(x, x, np.repeat([0, 1, 2], 4), seed=0, k_nn=3)
        >>> m["mixed_v_measure"], m["knn_mixed"]
        (1.0, 1.0)
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ConfigError("x", f"array of shape {x.shape}", "must be (N, d) with N >= 2")
    if y.shape != x.shape:
        raise ConfigError("y", f"array of shape {y.shape}", f"must have the shape of x {x.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ConfigError("x, y", "arrays with NaN/inf", "must be finite")
    n = x.shape[0]
    lab = _labels(labels, n)
    n_classes = np.unique(lab).size
    if not 2 <= n_classes <= n:
        raise ConfigError("labels", f"{n_classes} classes", f"need between 2 and N={n} classes")
    seed = _int("seed", seed, 0, 2**32 - 1)
    n_init = _int("n_init", n_init, 1)
    k_nn = _int("k_nn", k_nn, 1, n - 1)

    out: dict[str, float] = {}
    z, lab2 = np.concatenate([x, y]), np.concatenate([lab, lab])
    mixed = cluster_scores(z, lab2, n_classes, seed=seed, n_init=n_init)
    out.update({f"mixed_{s}": mixed[s] for s in SCORES})
    modality = np.repeat([0, 1], n)
    out["mixed_modality_v_measure"] = float(v_measure_score(modality, mixed["clusters"]))
    for name, w in (("x", x), ("y", y)):
        uni = cluster_scores(w, lab, n_classes, seed=seed, n_init=n_init)
        out.update({f"{name}_{s}": uni[s] for s in SCORES})
    partner = np.concatenate([np.arange(n, 2 * n), np.arange(n)]) if exclude_partner else None
    out["knn_mixed"] = knn_accuracy(z, lab2, k_nn, partner)
    out["knn_x"] = knn_accuracy(x, lab, k_nn)
    out["knn_y"] = knn_accuracy(y, lab, k_nn)
    return {k: out[k] for k in GROUP_KEYS}
