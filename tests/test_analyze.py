"""Bring-your-own-embeddings analysis (issue 13): loading, validation, measures, CLI.

Oracles: the blocked pass against :func:`gapsim.measures` (dense, float64) and brute-force
NumPy; the moment-based data subspaces against :func:`gapsim.data_basis` (SVD).
"""

import argparse
import json
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gapsim
from gapsim.analysis import NormalizedWarning, analyze, load_pair, validate_pair
from gapsim.analysis.pairs import pair_measures
from gapsim.analysis.spectra import basis_from_moment, cone_cosine, moments, subspace_stats
from gapsim.app.runs import collect, tabulate
from gapsim.cli import analyze as analyze_cli
from gapsim.errors import ConfigError


def _unit(z):
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _cones(n, d, seed, gap=2.0, noise=1.0):
    """Two noisy cones around different axes; y_i correlated with x_i (a CLIP-like pair)."""
    rng = np.random.default_rng(seed)
    lat = rng.normal(size=(n, d))
    ax, ay = np.zeros(d), np.zeros(d)
    ax[0], ay[1] = gap, gap
    x = _unit(ax + lat + noise * rng.normal(size=(n, d)))
    y = _unit(ay + lat + noise * rng.normal(size=(n, d)))
    return x, y


_dense = jax.jit(gapsim.measures)


@pytest.mark.parametrize(
    ("n", "block", "seed", "tau"),
    [(37, 8, 0, 0.1), (37, 37, 1, 0.1), (37, 7, 2, 0.002)],  # 0.002: no shared exponent
)
def test_pair_measures_match_dense_measures(n, block, seed, tau):
    # oracle: gapsim.core.measures on the same float64 rows; sums of N <= 37 O(1) terms: 1e-12,
    # and the loss (up to beta = 500) 1e-12 relative
    x, y = _cones(n, 6, seed, gap=0.7)
    got = pair_measures(x, y, tau, jax.random.key(0), block=block)
    ref = {
        k: float(v) for k, v in _dense(jnp.asarray(x), jnp.asarray(y), 1 / tau)._asdict().items()
    }
    np.testing.assert_allclose(got.pop("loss"), ref.pop("loss"), rtol=1e-12)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=1e-12, err_msg=k)
    # R@5 against a brute-force rank count
    s = x @ y.T
    rank_xy = np.sum(s > np.diag(s)[:, None], axis=1)
    rank_yx = np.sum(s > np.diag(s)[None, :], axis=0)
    assert got["r5_xy"] == np.mean(rank_xy < 5)
    assert got["r5_yx"] == np.mean(rank_yx < 5)
    assert got["uniformity_sample"] == n


def test_pair_measures_float32_without_shared_exponent():
    # float32 rows at tau = 0.01 (beta = 100): exp(-2 beta) underflows, the running-max path;
    # against the float64 dense oracle, float32 rounding of O(1) sums: 1e-4 on the loss
    x, y = _cones(37, 6, 3, gap=0.7)
    got = pair_measures(x.astype(np.float32), y.astype(np.float32), 0.01, jax.random.key(0))
    ref = _dense(jnp.asarray(x), jnp.asarray(y), 100.0)
    np.testing.assert_allclose(got["loss"], float(ref["loss"]), rtol=1e-4)
    assert np.isfinite(got["loss"])


def test_uniformity_subsample_is_the_exact_value_of_the_documented_rows():
    # above uniformity_sample rows the uniformity is that of a random subsample, drawn with
    # the key (subsample); everything else stays exact. On narrow cones the estimate varies
    # by ~0.1 between subsamples of half the rows (close pairs dominate the mean of
    # exp(-2 d^2)), which is why the sample size is reported beside it.
    from gapsim.analysis.pairs import subsample
    from gapsim.core.measures import uniformity

    x, y = _cones(400, 6, 3)
    full = pair_measures(x, y, 0.1, jax.random.key(0))
    sub = pair_measures(x, y, 0.1, jax.random.key(0), uniformity_sample=200)
    rows = subsample(jax.random.key(0), 400, 200)
    assert sub["uniformity_sample"] == 200
    assert rows.size == 200
    assert full["uniformity_sample"] == 400
    np.testing.assert_allclose(sub["uniformity_x"], float(uniformity(jnp.asarray(x[rows]))))
    assert sub["r1_xy"] == full["r1_xy"]
    assert sub["loss"] == full["loss"]


def test_validate_refuses_nan_with_row_and_bad_shapes():
    x, y = _cones(10, 4, 0)
    bad = x.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ConfigError, match="row 7"):
        validate_pair(bad, y)
    with pytest.raises(ConfigError, match="pair row by row"):
        validate_pair(x, y[:9])
    with pytest.raises(ConfigError, match="row 3 = 0"):
        validate_pair(x, np.where(np.arange(10)[:, None] == 3, 0.0, y))
    with pytest.raises(ConfigError, match=r"\(N, d\)"):
        validate_pair(x[0], y[0])


def test_validate_normalises_with_one_warning_and_accepts_float16():
    x, y = _cones(20, 5, 1)
    with pytest.warns(NormalizedWarning, match=r"norms x min/mean/max 3/3/3"):
        xn, _, info = validate_pair(3 * x, y)
    np.testing.assert_allclose(xn, x, atol=1e-15)
    assert info["normalized"]
    assert info["norm_mean_x"] == pytest.approx(3.0)
    with warnings.catch_warnings():  # float16 rows normalised in float16: no warning, float32
        warnings.simplefilter("error")
        x16, y16, info = validate_pair(x.astype(np.float16), y.astype(np.float16))
    assert x16.dtype == np.float32
    assert not info["normalized"]
    np.testing.assert_allclose(np.linalg.norm(x16, axis=1), 1, atol=1e-6)


def test_measures_refuses_unnormalised_and_ssp_accepts_float16():
    # the two traps of issue 13: a paired cosine of 176.2, and |norm - 1| = 8e-5 refused
    x, y = _cones(30, 8, 2, gap=0.3)
    with pytest.raises(ConfigError, match="unit rows"):
        gapsim.measures(jnp.asarray(20 * x), jnp.asarray(9 * y), 10.0)
    x16, y16 = x.astype(np.float16), y.astype(np.float16)
    assert np.max(np.abs(np.linalg.norm(x16.astype(np.float64), axis=1) - 1)) > 1e-5
    r16 = gapsim.ssp(x16, y16, k=None)
    r64 = gapsim.ssp(_unit(x16.astype(np.float64)), _unit(y16.astype(np.float64)), k=None)
    np.testing.assert_allclose(r16.after["paired_cosine_mean"], r64.after["paired_cosine_mean"])
    with pytest.raises(ConfigError, match="unit rows"):
        gapsim.ssp(2 * x, y)


def test_load_formats(tmp_path):
    x, y = _cones(12, 4, 0)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "both.npy", np.stack([x, y]))
    np.savez(tmp_path / "named.npz", image=x, text=y, labels=np.arange(12))
    np.savez(tmp_path / "custom.npz", a=x, b=y)
    for args, kw in [
        ((tmp_path / "x.npy", tmp_path / "y.npy"), {}),
        ((tmp_path / "both.npy",), {}),
        ((tmp_path / "named.npz",), {}),
        ((tmp_path / "custom.npz",), {"x_key": "a", "y_key": "b"}),
    ]:
        gx, gy = load_pair(*args, **kw)
        np.testing.assert_array_equal(gx, x)
        np.testing.assert_array_equal(gy, y)
    with pytest.raises(ConfigError, match="x_key"):
        load_pair(tmp_path / "custom.npz")
    with pytest.raises(ConfigError, match="second file"):
        load_pair(tmp_path / "x.npy")
    (tmp_path / "e.csv").write_text("1,2")
    with pytest.raises(ConfigError, match="must end in"):
        load_pair(tmp_path / "e.csv", tmp_path / "y.npy")


def test_load_torch_and_safetensors(tmp_path):
    torch = pytest.importorskip("torch")
    x, y = _cones(12, 4, 0)
    torch.save(
        {"image_features": torch.tensor(x), "text_features": torch.tensor(y)}, tmp_path / "e.pt"
    )
    gx, gy = load_pair(tmp_path / "e.pt")
    np.testing.assert_array_equal(gx, x)
    st = pytest.importorskip("safetensors.numpy")
    st.save_file({"x": x, "y": y}, str(tmp_path / "e.safetensors"))
    gx, gy = load_pair(tmp_path / "e.safetensors")
    np.testing.assert_array_equal(gy, y)


def test_spectra_against_brute_force_and_svd():
    x, y = _cones(80, 6, 4)
    mean, _ = moments(x)
    s = x @ x.T
    brute = (s.sum() - np.trace(s)) / (80 * 79)
    np.testing.assert_allclose(cone_cosine(mean, 80), brute, atol=1e-13)
    # data subspace from the second moment = SVD basis of gapsim.data_basis (same span)
    basis, _ = basis_from_moment(moments(x)[1], 0.9)
    ref = gapsim.data_basis(x, 0.9)
    assert basis.shape == ref.shape
    assert np.max(gapsim.principal_angles(basis, ref)) < 1e-6
    # hyperplane data: each modality in its own hyperplane of R^4 at dihedral angle 0.5
    qu, qv = gapsim.hyperplane_pair(4, 0.5)
    rng = np.random.default_rng(0)
    xs = _unit(rng.normal(size=(200, 3)) @ qu.T)
    ys = _unit(rng.normal(size=(200, 3)) @ qv.T)
    sc, arr = subspace_stats(xs, ys)
    assert sc["subspace_dim_x"] == 3
    assert sc["overlap_dim"] == 2
    np.testing.assert_allclose(arr["principal_angles"][-1], 0.5, atol=1e-8)
    assert sc["dim99_uncentred_x"] == 3


@pytest.mark.slow  # ~70 s under load; the CLI test below covers the same path
def test_analyze_end_to_end_saves_a_folder_report_reads(tmp_path):
    # the shapes and settings of the CLI test below: one set of compiled programs for both
    x, y = _cones(300, 6, 5)
    a = analyze(x, y, taus=(0.07,), eval_sample=100, curve_sample=100)
    s = a.summary()
    assert a.settings["eval_sample"] == 100
    assert a.settings["curve_sample"] == 100
    assert s["centroid_distance"] > 0.5  # two cones around orthogonal axes
    assert s["cone_cosine_x"] > 0.2
    # lam = 1 removes the gap vector; renormalising leaves a residue from unequal row norms
    gs = a.alignments["gap_shift"]
    assert gs["after"]["centroid_distance"] < gs["before"]["centroid_distance"]
    assert "shift.0.07.lam_min" in s
    assert set(a.alignments) == {
        "gap_shift",
        "ssp_k10",
        "mean_removal",
        "c3",
        "hyperplane_rotation",
    }
    folder = a.save(tmp_path / "run")
    rows = tabulate(collect(tmp_path))
    assert rows[0]["status"] == "done"
    assert rows[0]["paired_cosine_mean"] == pytest.approx(s["paired_cosine_mean"])
    assert json.loads((folder / "analysis.json").read_text())["input"]["n"] == 300


def _ns(argv):
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    analyze_cli.add_parser(sub)
    return p.parse_args(argv)


def test_cli_analyze_json_store_and_figure(tmp_path, capsys):
    x, y = _cones(300, 6, 6)
    np.savez(tmp_path / "e.npz", image=2 * x, text=y)
    common = ["--taus", "0.07", "--eval-sample", "100", "--curve-sample", "100"]
    ns = _ns(
        [
            "analyze",
            str(tmp_path / "e.npz"),
            "--json",
            "--store",
            str(tmp_path / "res"),
            "--figure",
            str(tmp_path / "f.png"),
            "--simulate",
            "--simulate-n",
            "16",
            "--simulate-steps",
            "30",
            *common,
        ]
    )
    assert analyze_cli.run(ns) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["n"] == 300
    assert out["r1_xy"] >= 0
    # issue 24, item 6: the headline, the inputs, tau, every principal angle, units
    assert out["files"] == {"x": str(tmp_path / "e.npz"), "y": None}
    assert out["tau"] == 0.07
    assert list(out)[0] == "headline"
    assert out["headline"]["r1_xy"] == out["r1_xy"]
    assert len(out["principal_angles_rad"]) >= 1
    assert out["principal_angles_rad"][0] == pytest.approx(out["theta_min"])
    assert out["units"]["centroid_angle"] == "rad"
    assert out["units"]["r1_xy"] == "fraction"
    assert "uniformity" not in out  # the mean of the two modalities is named as such
    assert out["uniformity_mean_xy"] == pytest.approx(
        (out["uniformity_x"] + out["uniformity_y"]) / 2
    )
    assert "uniformity_joint" in out
    assert any(k.startswith("align.ssp_k6.") for k in out)  # default 10, at most d = 6
    assert out["warnings"]
    assert "not unit" in out["warnings"][0]
    assert "not unit" in captured.err  # on stderr with --json too (it was lost on main)
    assert out["simulate.steps"] == 30
    assert out["simulate.n"] == 16
    # a free-point run from the data lowers the loss of its 16 pairs
    assert out["simulate.after_loss"] < out["simulate.before_loss"]
    assert (tmp_path / "f.png").stat().st_size > 10_000
    assert len(collect(tmp_path / "res")) == 1
    ns = _ns(["analyze", str(tmp_path / "e.npz"), "--no-store", *common])
    assert analyze_cli.run(ns) == 0
    out, err = capsys.readouterr()
    assert "note: rows are not unit: normalised" in err
    assert "note" not in out
    assert "centroid_distance" in out


def test_run_init_file_subsamples_user_embeddings(tmp_path):
    # gapsim run --init-file: 100 unnormalised image/text pairs start a 16-pair run; the start
    # is 16 distinct file rows, normalised (projected onto the sphere), drawn with the init key
    from gapsim.app.init import load_points

    x, y = _cones(100, 6, 7)
    np.savez(tmp_path / "e.npz", image=3 * x, text=y)
    z = load_points(str(tmp_path / "e.npz"), 2, 16, 6, jax.random.key(0))
    assert z.shape == (2, 16, 6)
    rows = [int(np.argmin(np.linalg.norm(3 * x - p, axis=1))) for p in z[0]]
    assert len(set(rows)) == 16
    np.testing.assert_array_equal(z[1], y[rows])
    cfg = gapsim.Config(
        n_pairs=16,
        dim=6,
        init_file=str(tmp_path / "e.npz"),
        solver="adam",
        steps=1,
        dtype="float64",
    )
    with pytest.warns(UserWarning, match="not unit vectors"):  # never normalised silently
        start = gapsim.simulate(cfg).z0  # drawn with the run's own init key: other rows
    rows = [int(np.argmin(np.linalg.norm(x - p, axis=1))) for p in start[0]]
    assert len(set(rows)) == 16
    np.testing.assert_allclose(start[0], x[rows], atol=1e-15)
    np.testing.assert_allclose(start[1], y[rows], atol=1e-15)


def test_analyze_from_python_warns_nothing_without_x64():
    # issue 24, item 6: gapsim.analyze() in a process without JAX's 64-bit mode printed
    # float64-truncation warnings (four, once each); warnings are errors in this test run
    # the shapes and settings of the CLI test above (float64 rows, N = 300, d = 6): its
    # compiled programs serve here
    x, y = _cones(300, 6, 6)
    with jax.enable_x64(False):
        a = analyze(x, y, taus=(0.07,), eval_sample=100, curve_sample=100)
    assert a.measures["r1_xy"] >= 0
    assert a.headline()["centroid_distance"] == a.measures["centroid_distance"]


def test_analyze_help_shows_every_default(capsys):
    from gapsim.cli import main

    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for default in ("[0.07]", "[0.01 0.07]", "[10000]", "[5000]", "[4096]", "[0.01]", "[2000]"):
        assert default in text, default
    assert "[10, or d when d < 10]" in text  # --ssp-k: the default and its label
