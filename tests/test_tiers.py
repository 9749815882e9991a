"""The test tiers: a ``fast``-marked grid runs one point by default, all in the slow tier."""

from types import SimpleNamespace

import conftest


def _item(indices):
    return SimpleNamespace(callspec=SimpleNamespace(indices=indices))


def test_fast_marker_keeps_one_grid_point_in_the_default_tier():
    grid = [_item({"n": i, "tau": j}) for i in range(3) for j in range(2)]
    kept = [g.callspec.indices for g in grid if conftest._in_fast_tier(g, 0)]
    assert kept == [{"n": 0, "tau": 0}]
    kept = [g.callspec.indices for g in grid if conftest._in_fast_tier(g, {"n": 2})]
    assert kept == [{"n": 2, "tau": 0}, {"n": 2, "tau": 1}]
