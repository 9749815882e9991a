"""Fuzz of ``Config(...)``: every input is a Config or a ConfigError, never nonsense (issue 16).

The campaign that found the defects drew 4,000 examples; 622 raised TypeError/ValueError and
some nonsense was accepted (``n_pairs=2.5``, ``dim=inf``, ``gtol=inf``). Here hypothesis draws
field subsets and hostile values (wrong types, NaN/inf, huge sizes, meaningless combinations)
and asserts the contract: ConfigError naming a real field, or an accepted config whose every
field has its declared type, is finite, fits the size limits and is in use.
"""

import dataclasses
import math
import typing

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gapsim.app.config import Config
from gapsim.app.config_rules import _USED_WITH, MAX_BYTES, MAX_RECORDS, config_hints, non_default
from gapsim.errors import ConfigError

FIELDS = [f.name for f in dataclasses.fields(Config)]
HINTS = config_hints(Config)
CHOICES = {
    f.name: f.metadata["choices"] for f in dataclasses.fields(Config) if "choices" in f.metadata
}

NASTY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 40),
    st.sampled_from([0, 1, 2, 2**31, 2**40, 2**64, -(2**70), 10**12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.5, 0.07, 1.0, 2.5, 1e-300, 1e300, -0.0]),
    st.text(max_size=4),
    st.sampled_from(["none", "cone", "subspace", "gd", "sgd", "adam", "raw", "free", "fixed"]),
    st.sampled_from(["cones", "parallel-matched", "swap", "hard", "shift", "linear", "exp"]),
    st.lists(st.floats(-1, 2), max_size=4).map(tuple),
    st.just(np.float64(0.3)),
    st.just(np.int64(5)),
)


def _kind(name):
    hint = HINTS[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    return tuple if typing.get_origin(args[0]) is tuple else args[0]


def _assert_sane(cfg: Config) -> None:
    for name in FIELDS:
        v = getattr(cfg, name)
        if v is None:
            assert dataclasses.fields(Config)[FIELDS.index(name)].default is None, name
            continue
        kind = _kind(name)
        if kind is float:
            assert type(v) is float, (name, v)
            assert math.isfinite(v), (name, v)
        elif kind is int:
            assert type(v) is int, (name, v)
        elif kind is bool:
            assert type(v) is bool, (name, v)
        elif kind is str:
            assert isinstance(v, str), (name, v)
            if name in CHOICES:
                assert v in CHOICES[name], (name, v)
        else:
            assert all(type(t) is float and math.isfinite(t) for t in v), (name, v)
    assert cfg.n_records <= MAX_RECORDS
    assert cfg.memory_estimate <= MAX_BYTES
    for name in non_default(cfg):  # no silently ignored setting
        if name in _USED_WITH:
            assert _USED_WITH[name][0](cfg), name
    assert Config.from_dict(cfg.to_dict()) == cfg


def _config_or_error(kw: dict) -> None:
    """``Config(**kw)`` is sane, or raises a one-line ConfigError naming a field."""
    error = None
    try:
        cfg = Config(**kw)
    except ConfigError as e:  # any other exception fails the test
        error = e
    if error is None:
        _assert_sane(cfg)
        return
    assert error.field in FIELDS, error
    assert "\n" not in str(error)


@settings(max_examples=400)
@given(st.dictionaries(st.sampled_from(FIELDS), NASTY, max_size=6))
def test_config_is_a_config_or_a_config_error(kw):
    _config_or_error(kw)


# Plausible values (mostly valid, a few NaN/inf) exercise the combination rules: hostile values
# of a dependent field (align_lambda) only reach its range check when its switch (align) is on.
PLAUSIBLE = {
    "n_pairs": st.integers(2, 12),
    "dim": st.integers(2, 6),
    "tau": st.sampled_from([0.05, 0.1, 1.0]),
    "solver": st.sampled_from(["lbfgs", "gd", "sgd", "adam"]),
    "constraint": st.sampled_from(["none", "cone", "subspace"]),
    "cone_angle": st.sampled_from([None, 0.5, 1e-6]),
    "cone_axis": st.sampled_from(["free", "fixed"]),
    "phi": st.sampled_from([None, 0.3]),
    "thetas": st.sampled_from([None, (0.1, 0.2), (0.1, 0.2, 0.3, 0.4)]),
    "init": st.sampled_from(["uniform", "cones", "parallel-matched", "file"]),
    "init_angle": st.sampled_from([None, 0.3, 1.0]),
    "init_file": st.sampled_from([None, "z.npy"]),
    "lr": st.sampled_from([None, 0.1, math.nan]),
    "momentum": st.sampled_from([0.0, 0.5]),
    "swap": st.sampled_from(["none", "hard"]),
    "swap_p": st.sampled_from([0.1, 0.5]),
    "learn_tau": st.booleans(),
    "tau_param": st.sampled_from(["exp", "scaled"]),
    "tau_scale": st.sampled_from([1.0, 2.0, math.inf]),
    "gamma_lift": st.booleans(),
    "gamma0": st.sampled_from([0.3, 0.5]),
    "classes": st.sampled_from([0, 2]),
    "class_p": st.sampled_from([1.0, 0.5]),
    "align": st.sampled_from(["none", "shift"]),
    "align_lambda": st.sampled_from([1.0, 0.5, math.nan, math.inf]),
    "tau_schedule": st.sampled_from(["none", "cosine"]),
    "tau_end": st.sampled_from([None, 0.2, math.inf]),
    "tau_period": st.sampled_from([None, 50.0, math.inf]),
    "gtol": st.sampled_from([None, 1e-6, math.inf, 3.0]),
    "parametrization": st.sampled_from(["projected", "raw"]),
    "steps": st.sampled_from([0, 10, 2**31 - 1]),
    "stride": st.sampled_from([1, 10]),
    "dtype": st.sampled_from([None, "float32", "float64"]),
    "seed": st.sampled_from([0, 7, 2**32 - 1, 2**32]),
}


@settings(max_examples=400)
@given(st.fixed_dictionaries({}, optional=PLAUSIBLE))
def test_plausible_combinations_are_consistent(kw):
    _config_or_error(kw)


GD = {"solver": "gd"}
IN_USE = {  # a setting in which each float field is used, so its own range check is reached
    "tau": {},
    "cone_angle": {**GD, "constraint": "cone"},
    "cone_axis_angle": {**GD, "constraint": "cone", "cone_angle": 0.5, "cone_axis": "fixed"},
    "phi": {"constraint": "subspace"},
    "init_angle": {"init": "cones"},
    "init_axis_angle": {"init": "cones"},
    "lr": GD,
    "momentum": {"solver": "sgd"},
    "gtol": {},
    "tau_scale": {**GD, "learn_tau": True, "tau_param": "scaled"},
    "tau_lr_mult": {**GD, "learn_tau": True},
    "tau_end": {**GD, "tau_schedule": "linear"},
    "tau_period": {**GD, "tau_schedule": "cosine", "tau_end": 0.2},
    "gamma0": {**GD, "gamma_lift": True},
    "gamma_lr_mult": {**GD, "gamma_lift": True},
    "swap_p": {**GD, "swap": "hard"},
    "noisy_fraction": GD,
    "class_p": {**GD, "classes": 2},
    "atp": {},
    "cu": {},
    "align_lambda": {"align": "shift"},
    "kappa": {**GD, "constraint": "concentration"},
}


def test_every_float_field_has_a_setting_that_uses_it():
    floats = {n for n in FIELDS if _kind(n) is float}
    assert floats == set(IN_USE)


@settings(max_examples=400)
@given(
    st.sampled_from(sorted(IN_USE)),
    st.one_of(st.floats(), st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1e300])),
)
def test_each_float_field_in_use_takes_only_sane_values(name, value):
    _config_or_error({**IN_USE[name], name: value})


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"dim": None}, "dim"),
        ({"tau": "abc"}, "tau"),
        ({"n_pairs": 2.5}, "n_pairs"),
        ({"dim": math.inf}, "dim"),
        ({"seed": 1.5}, "seed"),
        ({"seed": 2**64}, "seed"),
        ({"gtol": math.inf}, "gtol"),
        ({"gtol": 5.0}, "gtol"),
        ({"align": "shift", "align_lambda": math.nan}, "align_lambda"),
        ({"align": "shift", "align_lambda": math.inf}, "align_lambda"),
        ({"constraint": "subspace", "thetas": (0.1, 0.2, 0.3, 0.4)}, "thetas"),
        ({"swap_p": 0.5}, "swap_p"),
        ({"solver": "gd", "momentum": 0.5}, "momentum"),
        ({"lr": 0.1}, "lr"),
        ({"solver": "gd", "tau_param": "softplus"}, "tau_param"),
        ({"solver": "gd", "tau_scale": 2.0}, "tau_scale"),
        ({"solver": "gd", "gamma0": 0.5}, "gamma0"),
        ({"solver": "gd", "class_p": 0.5}, "class_p"),
        ({"align_lambda": 0.5}, "align_lambda"),
        ({"cone_axis": "fixed"}, "cone_axis"),
        (
            {"solver": "gd", "constraint": "cone", "cone_angle": 0.5, "cone_axis_angle": 1.0},
            "cone_axis_angle",
        ),
        ({"init_angle": 0.3}, "init_angle"),
        ({"init_axis_angle": 0.3}, "init_axis_angle"),
        (
            {"solver": "gd", "tau_schedule": "cosine", "tau_end": 0.2, "tau_period": math.inf},
            "tau_period",
        ),
        ({"steps": 10**12}, "steps"),
        ({"steps": 10**8, "stride": 1}, "steps"),
        ({"n_pairs": 10**6, "dim": 1000}, "n_pairs"),
        ({"dim": 10**9}, "dim"),
        ({"modalities": 10**4}, "modalities"),
        ({"solver": "gd", "constraint": "cone", "cone_angle": 1e-6}, "cone_angle"),
        ({"init": "file"}, "init"),
    ],
)
def test_found_defects_are_refused(kw, field):
    with pytest.raises(ConfigError) as e:
        Config(**kw)
    assert e.value.field == field, e.value


def test_start_specific_init_angle_default():
    # Yaras et al.'s regime: circles at polar angle ~1 rad (0.2 left both near the poles)
    assert Config(init="parallel-mismatched").effective_init_angle == 1.0
    assert Config(init="cones").effective_init_angle == 0.2
    assert Config(init="cones", init_angle=0.4).effective_init_angle == 0.4
