"""The tie rule of retrieval (issue 24, item 1): one rule in measures, simulate and analyze.

Two scores of one query tie when they differ by at most ``d * eps`` (gapsim.measures
tie_tolerance); R@k counts the expected hit under a uniformly random tie-break,
``min(1, max(0, (k - g) / (e + 1)))`` with g candidates above the partner and e tied with it;
a tie is never a match (matched when the margin exceeds the tolerance). The oracle is a
brute-force NumPy count of the same rule on the float64 similarity matrix.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import gapsim
from gapsim.analysis.pairs import pair_measures
from gapsim.core.measures import _pairwise_blocked, _pairwise_dense, recall_at_k, tie_tolerance

_DENSE = jax.jit(_pairwise_dense)
_BLOCKED = jax.jit(_pairwise_blocked, static_argnums=2)


def _unit(z):
    return z / np.linalg.norm(z, axis=-1, keepdims=True)


def _ref_recall(s: np.ndarray, k: int, tol: float) -> tuple[float, float]:
    """Brute-force R@k both ways under the rule (module docstring), s = X Y^T."""
    n = s.shape[0]
    out = []
    for m in (s, s.T):  # rows: x -> y; columns: y -> x
        hits = []
        for i in range(n):
            others = np.delete(m[i], i)
            g = np.sum(others > m[i, i] + tol)
            e = np.sum(np.abs(others - m[i, i]) <= tol)
            hits.append(min(1.0, max(0.0, (k - g) / (e + 1))))
        out.append(float(np.mean(hits)))
    return out[0], out[1]


def _captions(n_captions=20, reuse=10, d=16, noise=0.3, seed=0):
    """Each caption y shared by ``reuse`` images x (noisy copies of it): exact duplicate rows."""
    rng = np.random.default_rng(seed)
    y = np.repeat(_unit(rng.normal(size=(n_captions, d))), reuse, axis=0)
    x = _unit(y + noise * rng.normal(size=y.shape))
    return x, y


def test_reused_captions_count_ties_by_their_expectation():
    # 20 captions each reused by 10 images (N = 200). On main, analyze counted every tie as a
    # hit: r1_xy 0.825 for the data. Argmax (first index wins) gives 0.09 on this draw;
    # the expectation over random tie-breaks is 0.0845, and the rule gives exactly that.
    x, y = _captions()
    s = x @ y.T
    tol = tie_tolerance(16, np.float64)
    ref_xy, ref_yx = _ref_recall(s, 1, tol)
    # 169 of 200 images rank their caption first among the 20 distinct ones, and each shares
    # that hit with the caption's 9 twins: 169 / 2000 (a float64 mean of tenths: 1e-15)
    np.testing.assert_allclose(ref_xy, 169 / 2000, rtol=0, atol=1e-15)
    assert float(np.mean(np.argmax(s, axis=1) == np.arange(200))) == 0.09  # first-wins argmax
    got = pair_measures(x, y, 0.07, jax.random.key(0), block=64)
    m = gapsim.measures(jnp.asarray(x), jnp.asarray(y), 1 / 0.07)
    mb = gapsim.measures(jnp.asarray(x), jnp.asarray(y), 1 / 0.07, block_size=64)
    for r in (got, m, mb):
        np.testing.assert_allclose(float(r["r1_xy"]), ref_xy, rtol=0, atol=1e-15)
        np.testing.assert_allclose(float(r["r1_yx"]), ref_yx, rtol=0, atol=1e-15)
    with jax.enable_x64(False):  # a caller without 64-bit mode: float64 rows stay float64
        off = pair_measures(x, y, 0.07, jax.random.key(0), block=64)  # (was 0.2095: float32
    np.testing.assert_allclose(off["r1_xy"], ref_xy, rtol=0, atol=1e-15)  # sums, f64 ties)
    ref5_xy, ref5_yx = _ref_recall(s, 5, tol)
    assert got["r5_xy"] == ref5_xy
    assert got["r5_yx"] == ref5_yx
    # every caption has 9 twins tied with it: no pair can be matched (alpha > 0 strictly)
    assert got["margin"] <= 0.0
    assert got["matched_fraction"] == float(m["matched_fraction"]) == 0.0


def test_identical_rows_give_chance_not_hits():
    # every X row the same vector: y_i -> X is an N-way tie, so R@1 (y -> x) is 1/N. On main
    # analyze reported 0.6525 for N = 2000 (the partner's einsum score and the slab's differ in
    # the last bit: "ties" went to the partner about two times in three). The shapes of the
    # test above: its compiled programs serve here.
    rng = np.random.default_rng(1)
    x = np.repeat(_unit(rng.normal(size=(1, 16))), 200, axis=0)
    y = _unit(rng.normal(size=(200, 16)))
    got = pair_measures(x, y, 0.07, jax.random.key(0), block=64)
    m = gapsim.measures(jnp.asarray(x), jnp.asarray(y), 1 / 0.07)
    for r in (got, m):
        # a float64 mean of 200 terms 1/200: rounding 1e-18
        np.testing.assert_allclose(float(r["r1_yx"]), 1 / 200, rtol=1e-12)
        assert float(r["r1_xy"]) == 1 / 200  # one query's partner tops the list; the rest lose
        assert float(r["matched_fraction"]) == 0.0


def test_matched_fraction_treats_exact_ties_as_unmatched():
    # x = y: 100 distinct points, then 50 points each twice. The twins tie (alpha = 0): a tie
    # is not a match, in the dense and the blocked pass and in analyze; R@1 counts each twin
    # pair's hit as one half: (100 + 100 / 2) / 200 = 0.75. The margin is 0 only to rounding:
    # the dense product gives a twin's score and the partner's 2 ulp apart (-4.4e-16 here),
    # which is why a tie is |difference| <= d eps, not exact equality.
    rng = np.random.default_rng(2)
    z = _unit(rng.normal(size=(150, 16)))
    z = np.concatenate([z[:100], np.repeat(z[100:], 2, axis=0)])
    for r in (
        gapsim.measures(jnp.asarray(z), jnp.asarray(z), 1 / 0.07),
        gapsim.measures(jnp.asarray(z), jnp.asarray(z), 1 / 0.07, block_size=64),
        pair_measures(z, z, 0.07, jax.random.key(0), block=64),
    ):
        assert abs(float(r["margin"])) <= tie_tolerance(16, np.float64)
        assert float(r["matched_fraction"]) == 0.5
        assert float(r["r1_xy"]) == float(r["r1_yx"]) == 0.75


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([1, 2, 3]))
def test_dense_blocked_and_analyze_counts_equal_brute_force(seed, k):
    # integer coordinates make many exact ties; one shape (9, 2) with blocks of 4: one compile
    rng = np.random.default_rng(seed)
    n = 9
    x, y = (rng.integers(-2, 3, (n, 2)).astype(np.float64) for _ in range(2))
    s = x @ y.T
    tol = tie_tolerance(2, np.float64)
    ref = _ref_recall(s, k, tol)
    for p in (
        _DENSE(jnp.asarray(x), jnp.asarray(y)),
        _BLOCKED(jnp.asarray(x), jnp.asarray(y), 4),
    ):
        got = (
            float(jnp.mean(recall_at_k(p.greater_xy, p.tied_xy, k))),
            float(jnp.mean(recall_at_k(p.greater_yx, p.tied_yx, k))),
        )
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-15)
        margin = np.diag(s) - np.max(
            np.where(np.eye(n, dtype=bool), -np.inf, np.maximum(s, s.T)), axis=1
        )
        np.testing.assert_array_equal(np.asarray(p.margin), margin)


def test_without_ties_the_rule_is_the_plain_rank_count():
    # continuous draws: no two scores within d eps, so R@k is the fraction of ranks below k
    rng = np.random.default_rng(3)
    x, y = _unit(rng.normal(size=(200, 16))), _unit(rng.normal(size=(200, 16)))
    s = x @ y.T
    got = pair_measures(x, y, 0.07, jax.random.key(0), block=64)
    rank = np.sum(s > np.diag(s)[:, None], axis=1)
    assert got["r1_xy"] == np.mean(rank < 1)
    assert got["r5_xy"] == np.mean(rank < 5)
