"""Config validation and the command line: flags, JSON output, one-line errors."""

import dataclasses
import json
import math

import numpy as np
import pytest

import gapsim
from gapsim import Config, ConfigError
from gapsim.cli import build_parser, main

BAD = [
    ({"tau": 0.0}, "tau"),
    ({"tau": -1.0}, "tau"),
    ({"tau": math.nan}, "tau"),
    ({"n_pairs": 1}, "n_pairs"),
    ({"dim": 1}, "dim"),
    ({"constraint": "ball"}, "constraint"),
    ({"constraint": "cone"}, "cone_angle"),
    ({"constraint": "cone", "cone_angle": 0.0, "solver": "gd"}, "cone_angle"),
    ({"constraint": "cone", "cone_angle": math.pi, "solver": "gd"}, "cone_angle"),
    ({"constraint": "cone", "cone_angle": 0.5}, "solver"),  # lbfgs cannot handle caps
    ({"cone_angle": 0.5}, "cone_angle"),
    ({"constraint": "subspace"}, "phi"),
    ({"constraint": "subspace", "phi": 2.0}, "phi"),
    ({"constraint": "subspace", "phi": -0.1}, "phi"),
    ({"constraint": "subspace", "phi": 0.3, "subspace_dim": 0}, "subspace_dim"),
    ({"constraint": "subspace", "phi": 0.3, "subspace_dim": 4}, "subspace_dim"),
    ({"constraint": "subspace", "dim": 3, "thetas": (0.2, 0.3)}, "dim"),  # needs d >= 4
    ({"constraint": "subspace", "subspace_dim": 2, "thetas": (0.2,)}, "thetas"),
    ({"constraint": "subspace", "dim": 4, "thetas": (0.2, 1.7)}, "thetas"),
    ({"phi": 0.3}, "constraint"),
    ({"solver": "newton"}, "solver"),
    ({"dtype": "float16"}, "dtype"),
    ({"steps": -1}, "steps"),
    ({"lr": -1.0}, "lr"),
    ({"init": "nowhere"}, "init"),
    ({"init_angle": 4.0}, "init_angle"),
    ({"momentum": 1.0}, "momentum"),
]


@pytest.mark.parametrize(("kw", "field"), BAD)
def test_bad_config_names_field_value_and_range(kw, field):
    with pytest.raises(ConfigError) as e:
        Config(**kw)
    assert e.value.field == field
    msg = str(e.value)
    assert msg.startswith(f"{field}=")
    assert ": " in msg
    assert "\n" not in msg


def test_config_is_frozen_and_round_trips():
    cfg = Config(constraint="subspace", dim=6, thetas=(0.1, 0.2, 0.3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.tau = 1.0
    assert Config.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ConfigError):
        Config.from_dict({"nope": 1})


def test_every_config_field_has_a_flag():
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    flags = {a.dest for a in run._actions}
    assert {f.name for f in dataclasses.fields(Config)} <= flags


def test_run_json_has_required_keys(capsys):
    assert (
        main(["run", "--json", "--n-pairs", "4", "--dim", "3", "--tau", "0.5", "--no-store"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    for key in gapsim.app.result.SUMMARY_KEYS:
        assert key in out
    assert out["converged"] is True
    assert out["loss"] == pytest.approx(gapsim.simplex_loss(4, 0.5), abs=1e-8)


def test_run_readable_summary_and_angles_in_degrees(capsys, tmp_path):
    argv = [
        "run",
        "--n-pairs",
        "6",
        "--constraint",
        "subspace",
        "--phi",
        "30deg",
        "--out",
        str(tmp_path / "r"),
        "--store",
        str(tmp_path / "store"),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "converged" in out
    assert "centroid_angle" in out
    assert "0.523599" in out
    r = gapsim.Result.load(tmp_path / "r.json")
    assert r.config.phi == pytest.approx(math.pi / 6)
    (folder,) = (tmp_path / "store").iterdir()  # the results store too
    assert f"stored in {folder}/" in out
    np.testing.assert_array_equal(gapsim.Result.load(folder / "result").z, r.z)


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--tau", "-1"], "tau"),
        (["--n-pairs", "1"], "n_pairs"),
        (["--dim", "1"], "dim"),
        (["--constraint", "subspace", "--phi", "0.3", "--subspace-dim", "9"], "subspace_dim"),
        (["--constraint", "subspace", "--phi", "100deg"], "phi"),
        (["--constraint", "cone", "--cone-angle", "4", "--solver", "gd"], "cone_angle"),
        (["--constraint", "subspace", "--dim", "3", "--thetas", "0.1,0.2"], "dim"),
        (["--tau", "abc"], "--tau"),
        (["--init-file", "/nonexistent.npz"], "init_file"),
    ],
)
def test_bad_input_is_one_line_nonzero_no_traceback(argv, field, capsys):
    try:
        code = main(["run", *argv])
    except SystemExit as e:  # argparse type errors exit from inside the parser
        code = e.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("gapsim: error: ")
    assert field in err
    assert "Traceback" not in err


def test_divergence_exit_code_and_message(capsys):
    with pytest.warns(RuntimeWarning):  # 1e39 overflows float32 on purpose
        code = main(
            ["run", "--solver", "gd", "--lr", "1e39", "--dtype", "float32", "--steps", "20"]
            + ["--no-store"]
        )
    err = capsys.readouterr().err
    assert code == 3
    assert "diverged" in err
    assert "step 10" in err
    assert "lr" in err
    assert err.count("\n") == 1


def test_public_names_import():
    for name in gapsim.__all__:
        assert getattr(gapsim, name) is not None
