"""Closed forms of gapsim.studies.theory against independent evaluations."""

import numpy as np
import pytest
from scipy import integrate, special

from gapsim.studies.theory import bessel_ratio, fixed_tau_rate, schedule_rate, yaras_initial_rates


@pytest.mark.parametrize("a", [1e-3, 0.5, 2.0, 13.0, 500.0])
def test_bessel_ratio_d3_is_langevin(a):
    # rho = 1/2 (d = 3): I_{3/2}/I_{1/2} = coth(a) - 1/a; series for tiny a avoids cancellation
    expect = a / 3 - a**3 / 45 if a < 1e-2 else 1 / np.tanh(a) - 1 / a
    assert bessel_ratio(0.5, a) == pytest.approx(expect, rel=1e-9)


@pytest.mark.parametrize(("d", "a"), [(4, 0.7), (8, 3.0), (16, 20.0)])
def test_bessel_ratio_is_vmf_mean_cosine(d, a):
    # E[u_1] under density ~ exp(a t) (1 - t^2)^((d-3)/2) on [-1, 1], by quadrature
    def w(t):
        return np.exp(a * (t - 1)) * (1 - t * t) ** ((d - 3) / 2)

    num = integrate.quad(lambda t: t * w(t), -1, 1, epsabs=0, epsrel=1e-12)[0]
    den = integrate.quad(w, -1, 1, epsabs=0, epsrel=1e-12)[0]
    assert bessel_ratio((d - 2) / 2, a) == pytest.approx(num / den, rel=1e-8)


def test_yaras_example_and_small_a_limit():
    assert yaras_initial_rates(3, 1 / 0.07, 0.3)["g"] == pytest.approx(-0.923, abs=1e-3)
    r = yaras_initial_rates(50, 0.01, 0.0)  # large d, small a: ratio ~ a / d
    assert r["ratio"] == pytest.approx(0.01 / 50, rel=1e-3)
    assert special.ive(0.5, 1.0) > 0  # scaled Bessel available (overflow-free path)


def test_schedule_rate_limits():
    assert schedule_rate(5.0, 5.0 + 1e-7) == pytest.approx(fixed_tau_rate(5.0), rel=1e-6)
    # the average of beta e^-beta over [b0, b1] by quadrature
    b0, b1 = 2.0, 30.0
    avg = integrate.quad(lambda b: b * np.exp(-b), b0, b1)[0] / (b1 - b0)
    assert schedule_rate(b0, b1) == pytest.approx(avg, rel=1e-10)
    assert fixed_tau_rate(1.0) > max(fixed_tau_rate(0.5), fixed_tau_rate(2.0))  # peak at beta=1
