"""open_clip embeddings offline and the check liang.cone_effect_init (issue 13).

Skipped where open_clip (the optional extra ``clip``) is not installed: CI installs ``.[test]``
only, so CI skips the tests that need it; the planted-fault tests of the check run everywhere
(they replace the model).
"""

import argparse

import numpy as np
import pytest

from gapsim.app import embed as embed_mod
from gapsim.checks import liang_cone
from gapsim.checks.base import AGREES, DISAGREES, INCONCLUSIVE
from gapsim.cli import analyze as analyze_cli
from gapsim.cli import embed as embed_cli
from gapsim.errors import ConfigError


def _open_clip():
    try:
        return embed_mod.import_open_clip()
    except ConfigError as e:
        pytest.skip(f"open_clip not installed: {e}")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("emb")
    images, captions = embed_mod.random_inputs(0, 6, 40)
    (d / "img").mkdir()
    for i, im in enumerate(images):
        im.save(d / "img" / f"{i:02d}.png")
    (d / "cap.txt").write_text("\n".join(captions) + "\n")
    return d


@pytest.mark.slow  # importing torch and open_clip alone takes ~30-60 s on 2 busy cores
def test_embed_tiny_random_model_is_seeded_and_normalised(folder):
    _open_clip()
    a = embed_mod.embed_folder(
        folder / "img", folder / "cap.txt", model="gapsim-tiny", seed=3, batch_size=4
    )
    b = embed_mod.embed_folder(folder / "img", folder / "cap.txt", model="gapsim-tiny", seed=3)
    assert a["image"].shape == a["text"].shape == (6, 32)
    np.testing.assert_allclose(np.linalg.norm(a["image"], axis=1), 1, atol=1e-6)
    # batching does not change the features (batch 4 vs 64); float32 matmul order: 1e-5
    np.testing.assert_allclose(a["image"], b["image"], atol=1e-5)
    np.testing.assert_allclose(a["text"], b["text"], atol=1e-5)
    assert list(a["files"]) == [f"{i:02d}.png" for i in range(6)]


@pytest.mark.slow  # importing torch and open_clip alone takes ~30-60 s on 2 busy cores
def test_embed_local_checkpoint_and_no_download(folder, tmp_path):
    _open_clip()
    import torch

    net, _, _ = embed_mod.load_model("gapsim-tiny", "none", seed=5)
    torch.save(net.state_dict(), tmp_path / "tiny.pt")
    a = embed_mod.embed_folder(folder / "img", folder / "cap.txt", model="gapsim-tiny", seed=5)
    b = embed_mod.embed_folder(
        folder / "img",
        folder / "cap.txt",
        model="gapsim-tiny",
        pretrained=str(tmp_path / "tiny.pt"),
        seed=99,
    )
    np.testing.assert_allclose(a["image"], b["image"], atol=1e-6)
    with pytest.raises(ConfigError, match="existing checkpoint"):
        embed_mod.load_model("gapsim-tiny", "openai")
    with pytest.raises(ConfigError, match="network"):
        embed_mod.load_model("hf-hub:org/model", None)
    (tmp_path / "bad.txt").write_text("one caption\n")
    with pytest.raises(ConfigError, match="one caption line per image"):
        embed_mod.embed_folder(folder / "img", tmp_path / "bad.txt", model="gapsim-tiny")


@pytest.mark.slow  # importing torch and open_clip alone takes ~30-60 s on 2 busy cores
def test_cli_embed_then_analyze(folder, tmp_path, capsys):
    _open_clip()
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    analyze_cli.add_parser(sub)
    embed_cli.add_parser(sub)
    out = tmp_path / "e.npz"
    ns = p.parse_args(
        [
            "embed",
            "--images",
            str(folder / "img"),
            "--captions",
            str(folder / "cap.txt"),
            "--model",
            "gapsim-tiny",
            "--out",
            str(out),
        ]
    )
    assert embed_cli.run(ns) == 0
    assert "6 pairs, d = 32" in capsys.readouterr().out
    ns = p.parse_args(["analyze", str(out), "--json", "--no-store", "--taus", "0.07"])
    assert analyze_cli.run(ns) == 0
    assert '"n": 6' in capsys.readouterr().out


# ------------------------------------------------------------------------------------------
# the check row: planted faults move the verdict (no open_clip needed: the model is replaced)
# ------------------------------------------------------------------------------------------


def _fake_model(monkeypatch, encode):
    monkeypatch.setattr(embed_mod, "load_model", lambda *a, **k: (None, None, None))
    monkeypatch.setattr(embed_mod, "encode", encode)


def _unit(z):
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def test_cone_check_fault_identity_model_returns_random_inputs(monkeypatch):
    # an "identity" model that returns its random (Gaussian) inputs: no cone, verdict moves
    rng = np.random.default_rng(0)

    def identity(net, prep, tok, images, captions, **kw):
        n = len(images)
        return _unit(rng.normal(size=(n, 64))), _unit(rng.normal(size=(n, 64))), None, None

    _fake_model(monkeypatch, identity)
    r = liang_cone.cone_effect_init(True)
    assert r.verdict == DISAGREES
    assert not r.details["narrow_cones"]


def test_cone_check_fault_one_cone_for_both_modalities(monkeypatch):
    # narrow cones but the same cone for both modalities: no gap, verdict moves
    rng = np.random.default_rng(1)
    axis = np.zeros(64)
    axis[0] = 1.0

    def one_cone(net, prep, tok, images, captions, **kw):
        n = len(images)
        x = _unit(3 * axis + 0.3 * rng.normal(size=(n, 64)))
        y = _unit(3 * axis + 0.3 * rng.normal(size=(n, 64)))
        return x, y, None, None

    _fake_model(monkeypatch, one_cone)
    r = liang_cone.cone_effect_init(True)
    assert r.verdict == DISAGREES
    assert r.details["narrow_cones"]
    assert not r.details["gap"]


def test_cone_check_two_cones_agree_and_missing_library_is_inconclusive(monkeypatch):
    rng = np.random.default_rng(2)
    ax, ay = np.eye(64)[0], np.eye(64)[1]

    def two_cones(net, prep, tok, images, captions, **kw):
        n = len(images)
        x = _unit(3 * ax + 0.3 * rng.normal(size=(n, 64)))
        y = _unit(3 * ay + 0.3 * rng.normal(size=(n, 64)))
        return x, y, None, None

    _fake_model(monkeypatch, two_cones)
    assert liang_cone.cone_effect_init(True).verdict == AGREES

    def missing(*a, **k):
        raise ConfigError("model", "open_clip", "needs pip install 'gapsim[clip]'")

    monkeypatch.setattr(embed_mod, "load_model", missing)
    assert liang_cone.cone_effect_init(True).verdict == INCONCLUSIVE


@pytest.mark.slow
def test_cone_check_random_init_clip_agrees():
    # the real quick form: ViT-B/32 at random init, two seeds (about 1.5 min on 2 cores)
    _open_clip()
    r = liang_cone.cone_effect_init(True)
    assert r.verdict == AGREES, r.details
