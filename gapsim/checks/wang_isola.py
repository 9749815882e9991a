r"""Check of Wang & Isola (2020): InfoNCE's large-N limit splits into alignment and uniformity.

For pairs with :math:`x` uniform and :math:`y` uniform in marginal (a noisy copy of
:math:`x`), :math:`L - \log N \to -\beta\,E[x\cdot y] + \log E_{x,y'}[e^{\beta x\cdot y'}]`, the
alignment term (:math:`E[x\cdot y] = 1 - \tfrac12 E\|x-y\|^2`) plus the uniformity term, which
for a uniform marginal is :math:`\log Z_d(\beta)` = :func:`gapsim.large_n_limit` + :math:`\beta`.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from gapsim.checks.base import Paper, Regime, Verdict, register, verdict_within
from gapsim.core.loss import infonce
from gapsim.studies.theory import large_n_limit

__all__ = ["large_n_decomposition"]


@register(
    "wang_isola.large_n_decomposition",
    Paper("Wang & Isola 2020", 6),
    "L - log N -> alignment term -beta E[x.y] + uniformity term log E exp(beta x.y')",
)
def large_n_decomposition(quick: bool) -> Verdict:
    """Monte Carlo over seeds at large N against the decomposition."""
    d, tau, sigma = 8, 0.5, 0.5
    n = 2000 if quick else 6000
    beta = 1 / tau
    log_z = large_n_limit(d, tau) + beta
    z = math.exp(log_z)  # Z = E exp(beta x.y') for independent uniform x, y'
    m2 = math.exp(large_n_limit(d, tau / 2) + 2 * beta)  # E exp(2 beta x.y')
    diffs = []
    for s in range(5 if quick else 10):
        rng = np.random.default_rng(s)
        x = rng.normal(size=(n, d))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        y = x + sigma * rng.normal(size=(n, d))
        y /= np.linalg.norm(y, axis=1, keepdims=True)
        loss = float(infonce(jnp.asarray(x), jnp.asarray(y), beta)) - math.log(n)
        # the finite-N prediction: the positive pair sits in its own denominator, the N - 1
        # others sum to (N - 1) Z on average
        sii = np.sum(x * y, 1)
        pred = float(np.mean(-beta * sii + np.log(((n - 1) * z + np.exp(beta * sii)) / n)))
        diffs.append(loss - pred)
    diffs = np.array(diffs)
    # Jensen: E log(sum of N - 1 terms) = log((N - 1) Z) - Var/(2 (N - 1) Z^2) + ...
    bias = (m2 - z * z) / (2 * (n - 1) * z * z)
    se = diffs.std(ddof=1) / math.sqrt(len(diffs))
    tol = 3 * se + bias
    v = verdict_within(float(diffs.mean()), tol)
    return Verdict(
        verdict=v,
        quantity="(L - log N) - (alignment + uniformity), mean over seeds",
        unit="nats",
        predicted=0.0,
        measured=float(diffs.mean()),
        tolerance=tol,
        why_tolerance="Monte Carlo: 3 standard errors over seeds, plus the O(1/N) Jensen term "
        "Var(e^{beta x.y'})/(2 (N-1) Z^2) of the log of the negatives' sum; the prediction "
        "carries the positive pair in its own denominator, log(((N-1) Z + e^{beta s_ii})/N).",
        regime=Regime(n=n, d=d, tau=tau, solver="Monte Carlo (noisy copies)", certified=None),
        details={
            "d": d,
            "tau": tau,
            "sigma": sigma,
            "n": n,
            "diffs": diffs,
            "jensen_term": bias,
            "se": se,
        },
    )
