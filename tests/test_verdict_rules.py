"""The one rule that combines settings (gapsim.checks.base.combine), and rows that obey it.

A certified counterexample is never masked: before the rule, one uncertified setting turned
yi.cone.gap_zero's certified minimum with a 0.583 rad gap (full tier) into `inconclusive`.
"""

import itertools

import pytest

import gapsim.checks.yi_cone as yc
from gapsim.checks.base import AGREES, DISAGREES, INCONCLUSIVE, combine


@pytest.mark.parametrize("vs", list(itertools.product([AGREES, DISAGREES, INCONCLUSIVE], repeat=3)))
def test_combine_every_triple(vs):
    want = DISAGREES if DISAGREES in vs else INCONCLUSIVE if INCONCLUSIVE in vs else AGREES
    assert combine(vs) == want
    assert combine(list(reversed(vs))) == want  # order does not matter


def test_combine_refuses_what_is_not_a_verdict():
    assert combine([]) == INCONCLUSIVE  # nothing judged decides nothing
    with pytest.raises(ValueError, match="not a verdict"):
        combine([AGREES, "error"])


def _run(param, converged, loss, angle, start="seed 0", twin=False):
    return {
        "constraint": "cap",
        "param": param,
        "tau": 0.05,
        "start": start,
        "converged": converged,
        "loss": loss,
        "centroid_angle": angle,
        "twin_equal_loss": twin,
        "rim_spread": 0.1,
        "distinct_points": 16,
    }


def test_cone_row_reports_a_certified_counterexample_beside_an_uncertified_setting(monkeypatch):
    gapped = [_run(1.5, True, 0.15974, 0.583), _run(1.5, True, 0.36853, 0.0, "rim-spread")]
    uncertified = [_run(0.3, False, 0.2, 0.0)]
    at_zero = [_run(1.0, True, 0.3, 0.0)]
    monkeypatch.setattr(yc, "_concentration_runs", lambda quick: [])

    monkeypatch.setattr(yc, "_cap_runs", lambda quick: gapped + uncertified + at_zero)
    r = yc.cone_gap_zero(True)
    assert r.verdict == DISAGREES
    assert r.measured == pytest.approx(0.583)
    assert r.details["counterexamples"] == [("cap", 1.5, 0.05)]
    assert r.details["uncertified_settings"] == [("cap", 0.3, 0.05)]

    # without the counterexample the uncertified setting leaves it undecided, not agreed
    monkeypatch.setattr(yc, "_cap_runs", lambda quick: uncertified + at_zero)
    assert yc.cone_gap_zero(True).verdict == INCONCLUSIVE
    monkeypatch.setattr(yc, "_cap_runs", lambda quick: at_zero)
    assert yc.cone_gap_zero(True).verdict == AGREES
