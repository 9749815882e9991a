"""The teaching page without a browser: printed numbers, the store cache, the HTML, the CLI.

``tests/test_page_browser.py`` opens the page in Chromium (slow tier, its own CI step). Here:
the formatting rules (an angle between vanishing means is never a number), the Liang toy
chapter against the reference prediction, a tiny chapter computed by the sweep engine and
then loaded back from the store, the page's self-containment, and the CLI's checks before
any work (one line, exit status 2, nothing overwritten).
"""

import json
import math

import numpy as np
import pytest

from gapsim.alignment import gap_shift_curve
from gapsim.app.plotting import COLORS as FIGURE_COLORS
from gapsim.app.store import load_sweep
from gapsim.cli import main
from gapsim.core.measures import MIN_MEAN_NORM
from gapsim.demos import chapters
from gapsim.demos.page import COLORS, TRACES, page_html, run_data
from gapsim.demos.page_data import UNDEFINED_ANGLE, angle_text, gap_text, number_text


@pytest.fixture(scope="module")
def shift_chapter():
    return chapters.shift("quick", None)


@pytest.fixture(scope="module")
def closing_store(tmp_path_factory):
    """Chapter 1 at size tiny, computed once into a store, then built again from it."""
    store = tmp_path_factory.mktemp("store")
    first = chapters.closing("tiny", store)
    again = chapters.closing("tiny", store)
    return store, first, again


def test_angle_between_vanishing_means_is_never_a_number():
    assert angle_text(0.7, 0.5, MIN_MEAN_NORM / 2) == UNDEFINED_ANGLE
    assert angle_text(0.7, MIN_MEAN_NORM, MIN_MEAN_NORM) == "40.11° (0.7000 rad)"
    assert angle_text(math.nan, 0.5, 0.5) == "undefined (below its precision)"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.26561, "0.2656"),
        (1.031e-10, "1.031e-10"),
        (0.0, "0.000"),
        (1.59984, "1.600"),
        (0.0024004, "0.002400"),
        (12.5, "12.50"),
        (1234.56, "1235"),
    ],
)
def test_numbers_keep_four_significant_digits(value, text):
    assert gap_text(value) == text
    assert float(text) == pytest.approx(value, rel=5e-4, abs=0)


def test_shift_chapter_minimum_is_the_toy_prediction_within_a_grid_step(shift_chapter):
    from gapsim.checks.liang import stationary_temperature

    betas = shift_chapter.axes[0].values
    assert betas[1] == pytest.approx(stationary_temperature() / (1 - 0.6**2))
    lam = [r.engine["lam_min"] for r in shift_chapter.runs]
    pred = [r.engine["lam_predicted"] for r in shift_chapter.runs]
    # the grid has step 0.025: the argmin on it is within a step of the exact minimiser
    np.testing.assert_allclose(lam, pred, atol=0.025)
    assert pred[0] == 1.0  # beta = 1 < a*: zero gap
    assert pred[1] == pytest.approx(0.0, abs=1e-12)  # the stationary temperature: as given
    assert pred[3] < -4  # beta = 100: a wider gap
    assert "within one grid step of the toy's prediction" in shift_chapter.caption


def test_shift_chapter_prints_the_engines_loss_at_each_frame(shift_chapter):
    from gapsim.checks.liang import toy_points

    x, y = toy_points()
    run = shift_chapter.runs[3]  # beta = 100
    lams = np.asarray(run.t)
    losses = gap_shift_curve(x, y, 1 / 100.0, lams).losses
    printed = [float(n["loss"].split()[0]) for n in run.numbers]
    np.testing.assert_allclose(printed, losses, rtol=5e-4)  # 4 significant digits
    assert all(n["loss"].endswith(" nats") for n in run.numbers)


def test_tiny_chapter_is_stored_once_and_loaded_back_the_same(closing_store):
    store, first, again = closing_store
    sweeps = list((store / "page").glob("sweep-*"))
    assert len(sweeps) == 1
    manifest, metrics = load_sweep(sweeps[0])
    assert manifest["record_points"] is True
    assert [r.numbers for r in first.runs] == [r.numbers for r in again.runs]
    np.testing.assert_array_equal(first.runs[0].z, again.runs[0].z)
    # the last frame prints the stored final measures
    m = metrics[0]
    last = first.runs[0].numbers[-1]
    assert last["gap"] == gap_text(m["centroid_distance"])
    assert last["loss"] == f"{number_text(m['loss'])} nats"
    z = first.runs[0].z
    assert z.shape[1:] == (2, 4, 3)
    np.testing.assert_allclose(np.linalg.norm(z, axis=-1), 1.0, atol=1e-5)


def test_page_html_is_self_contained_with_every_chapters_data(closing_store, shift_chapter):
    _, closing, _ = closing_store
    html = page_html([closing, shift_chapter])
    assert "<script src" not in html  # nothing fetched: plotly.js is inline
    assert "<link" not in html
    assert html.count('<section class="chapter"') == 2
    assert len(html) > 4_000_000  # plotly.js is embedded (about 4.8 MB)
    blob = html.split('<script type="application/json" class="chapter-data">')[2]
    data = json.loads(blob.split("</script>")[0])
    assert data["key"] == "shift"
    assert data["traces"]["x"] == TRACES["x"]
    assert len(data["runs"]) == len(shift_chapter.runs)
    run = data["runs"][0]
    assert len(run["z"]) == len(run["nums"]) == len(run["t"])
    assert "font-size: 26px" in html  # captions legible on a projector


def test_run_data_rounds_coordinates_and_keeps_undefined_as_null(shift_chapter):
    run = shift_chapter.runs[0]
    run = run._replace(
        series=(run.series[0]._replace(values=np.array([np.nan, 1.23456]), t=np.array([0.0, 1.0])),)
    )
    d = run_data(run)
    assert d["series"][0][1] == [None, 1.235]
    flat = np.asarray(d["z"]).ravel()
    np.testing.assert_array_equal(flat, np.round(flat, 3))


def test_page_colors_match_the_figures():
    assert COLORS["x"] == FIGURE_COLORS["x"]
    assert COLORS["y"] == FIGURE_COLORS["y"]


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["demo", "closing", "--html", "{p}"], "html"),
        (["demo", "--quick"], "quick"),
        (["demo", "closing", "--out", "{f}"], "out"),  # --overwrite applies to GIFs too
        (["demo", "--html", "{p}", "--tau", "0.1"], "tau"),
        (["demo", "--html", "{p}", "--preview"], "preview"),
        (["demo", "--html", "{p}", "--store", "{f}"], "store"),
        (["demo", "--html", "{f}"], "html"),  # exists, no --overwrite
        (["demo", "closing", "--preview", "--interactive"], "preview"),
    ],
)
def test_cli_page_errors_are_one_line_exit_2_before_any_work(argv, field, tmp_path, capsys):
    existing = tmp_path / "old.html"
    existing.write_text("keep me")
    argv = [a.format(p=tmp_path / "page.html", f=existing) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"gapsim: error: {field}=")
    assert "\n" not in err
    assert existing.read_text() == "keep me"
    assert not (tmp_path / "page.html").exists()
    assert not (tmp_path / "results").exists()
