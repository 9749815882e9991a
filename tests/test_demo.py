"""``gapsim demo``: every demo renders a GIF, the interactive re-run, CLI errors, frame picking.

Tiny sizes throughout (4 pairs, 40 steps, 20 frames, 20 dpi): the cost is one compile per demo.
"""

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent
from PIL import Image

from gapsim.cli import main
from gapsim.demos import DEMOS
from gapsim.demos.base import frame_indices
from gapsim.demos.interactive import explorer
from gapsim.demos.render import render

TINY = {"n_pairs": 4, "steps": 40, "frames": 20}


def _n_frames(path) -> int:
    with Image.open(path) as im:
        return im.n_frames


# the cone demo compiles the learnable-axis cap projection into the recorded-points program
# (~50 s on 2 cores, compilation only); the caps themselves are tested in test_cone.py
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.slow) if n == "cone" else n
        for n in DEMOS
        if n != "closing"
    ],
)
def test_demo_renders_a_gif(name, tmp_path):
    movie = DEMOS[name].movie(**TINY)
    assert movie.x.shape == (20, 4, 3)
    assert len(movie.captions) == len(movie.cursor) == 20
    assert np.allclose(np.linalg.norm(movie.y, axis=-1), 1, atol=1e-5)
    paths, _ = render(movie, tmp_path / f"{name}.gif", dpi=20, width=3, height=1.5)
    assert paths == [tmp_path / f"{name}.gif"]
    assert _n_frames(paths[0]) >= 20


def test_cli_demo_writes_gif_and_reports_gap(tmp_path, capsys):
    out = tmp_path / "closing.gif"
    argv = ["demo", "closing", "--out", str(out), "--frames", "20", "--n-pairs", "4"]
    assert main([*argv, "--steps", "40", "--dpi", "20"]) == 0
    assert _n_frames(out) >= 20
    text = capsys.readouterr().out
    assert f"wrote {out}" in text
    assert "final gap" in text


def test_interactive_slider_reruns_and_redraws():
    demo = DEMOS["hyperplanes"]
    ex = explorer(demo, demo.params(**TINY), width=4)
    scatter = ex.mf.sphere.collections[-2]  # X, drawn last but one by sphere_panel
    before = np.array(scatter._offsets3d)
    ex.sliders["phi"].set_val(0.3)
    assert ex.stale
    canvas, event = ex.mf.fig.canvas, "button_release_event"
    canvas.callbacks.process(event, MouseEvent(event, canvas, 0, 0))  # the mouse is released
    assert not ex.stale
    assert ex.params["phi"] == pytest.approx(0.3)
    after = np.array(ex.mf.sphere.collections[-2]._offsets3d)
    assert not np.allclose(before, after)
    assert "φ = 17°" in ex.mf.title.get_text()


@pytest.mark.parametrize(
    "argv",
    [["demo", "nope"], ["demo"], ["demo", "closing", "--frames", "1"]],
)
def test_cli_demo_errors_are_one_line_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gapsim: error: ")
    assert "\n" not in err


def test_cli_demo_list(capsys):
    assert main(["demo", "--list"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == list(DEMOS)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize(("n", "frames"), [(20, 20), (21, 20), (2001, 48), (5, 2)])
def test_frame_indices_strictly_increasing_and_cover_the_run(n, frames, log):
    idx = frame_indices(n, frames, log=log)
    assert len(idx) == frames
    assert idx[0] == 0
    assert idx[-1] == n - 1
    assert np.all(np.diff(idx) >= 1)


def test_mp4_written_with_ffmpeg_else_a_note(tmp_path, monkeypatch):
    import shutil

    import gapsim.demos.render as render_mod

    movie = DEMOS["closing"].movie(**TINY)
    small = {"dpi": 20, "width": 3, "height": 1.5}
    have_ffmpeg = shutil.which("ffmpeg") is not None
    paths, note = render(movie, tmp_path / "a.mp4", **small)
    if have_ffmpeg:  # the environment decides which branch runs; both are asserted
        assert paths == [tmp_path / "a.gif", tmp_path / "a.mp4"]
        assert note is None
        assert (tmp_path / "a.mp4").stat().st_size > 0
    else:
        assert paths == [tmp_path / "a.gif"]
        assert "ffmpeg" in note
    monkeypatch.setattr(render_mod.shutil, "which", lambda _: None)
    paths, note = render(movie, tmp_path / "b.gif", mp4=True, **small)
    assert paths == [tmp_path / "b.gif"]
    assert "ffmpeg is not on the PATH" in note
    assert _n_frames(paths[0]) >= 20


def test_demo_text_is_at_least_24_px_at_the_default_size():
    from matplotlib.text import Text

    from gapsim.demos.render import PROJECTOR_DPI, draw_frame, movie_figure

    movie = DEMOS["shift"].movie(**TINY)  # a twin axis: both axes' labels and ticks
    mf = movie_figure(movie)
    draw_frame(mf, movie, movie.n_frames - 1)
    mf.fig.canvas.draw()  # tick labels exist once drawn
    texts = [t for t in mf.fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    sizes = np.array([t.get_fontsize() for t in texts])
    assert len(texts) > 10  # title, caption, legend, labels, ticks
    assert min(sizes) * PROJECTOR_DPI / 72 >= 24  # a font of s pt is s * dpi / 72 px
    assert min(sizes) * 150 / 72 < 24  # the former default (150 dpi) was below it


def test_hyperplanes_title_says_what_the_run_ends_with():
    movie = DEMOS["hyperplanes"].movie(**TINY)
    assert "pairs cannot coincide" not in movie.title
    f = movie.final
    if np.isnan(f["centroid_angle_deg"]):
        assert "the means vanish" in movie.title
    else:
        assert f"centroid angle {f['centroid_angle_deg']:.0f}°" in movie.title
    assert f"{f['gap']:.2g}" in movie.title or f"{f['gap']:.3g}" in movie.title


def test_cli_preview_writes_a_short_low_resolution_gif(tmp_path, capsys):
    out = tmp_path / "preview.gif"
    argv = ["demo", "closing", "--preview", "--out", str(out), "--n-pairs", "4", "--steps", "40"]
    assert main(argv) == 0
    with Image.open(out) as im:
        assert im.size == (480, 240)  # 8 x 4 in at 60 dpi
        assert 12 <= im.n_frames <= 13
    assert not (tmp_path / "preview.mp4").exists()
    assert "12 frames" in capsys.readouterr().out
