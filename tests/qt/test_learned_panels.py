"""The Learned workspace (issue 18): the Units panel and the Embedding panel in the real window."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import line
from PySide6.QtCore import Qt

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "example_net.py"


@pytest.fixture
def learned(window, small_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))  # never the user's cache folder
    window.data_dir = small_data_dir
    window.show_workspace("Learned")
    return window


def _ranked(qtbot, panel) -> None:
    """Until the chosen stage is ranked and its tiles are shown (not an earlier stage's, still on screen)."""

    def shown() -> bool:
        top = panel.top
        return top is not None and top.stage == panel.chosen()[0] and panel.tiles[0].pixels is not None

    qtbot.waitUntil(shown, timeout=20_000)


def test_units_rank_the_test_set_and_a_click_puts_a_top_image_on_the_canvas(qtbot, learned):
    window, panel = learned, learned.units
    window.state.select_unit("C3", 5)  # a click on a feature map (it shows the inspector: Inside)
    window.show_workspace("Learned")
    window.dock_units.raise_()
    assert panel.chosen() == ("C3", 5)
    _ranked(qtbot, panel)
    assert panel.top.stage == "C3" and panel.top.values.shape == (16, 9)
    found = panel.top.top(5)
    assert all(t.box is not None and t.pixels.shape == (28, 28) for t in panel.tiles)
    qtbot.mouseClick(panel.tiles[0], Qt.MouseButton.LeftButton)
    window.settle()
    assert window.session.result.true_label == found[0]["label"]
    expected, _ = window.session.test_image(found[0]["index"])
    np.testing.assert_allclose(window.session.result.image, expected)
    qtbot.waitUntil(lambda: panel.picture is not None and panel.picture.done, timeout=30_000)
    panel.put.click()
    window.settle()
    np.testing.assert_allclose(window.session.result.image, panel.picture.image, atol=1e-6)
    assert window.session.result.true_label is None


def test_new_weights_rank_again(qtbot, learned):
    window, panel = learned, learned.units
    window.state.select_unit("C1", 2)
    window.show_workspace("Learned")
    window.dock_units.raise_()
    _ranked(qtbot, panel)
    before = panel.top.values[2].copy()
    kernel = np.zeros((5, 5), np.float32)
    assert window.state.edit_first_kernel(2, 0, kernel)  # a flat kernel: C1 map 2 is its bias everywhere
    qtbot.waitUntil(lambda: panel.top is None or not np.array_equal(panel.top.values[2], before), timeout=5000)
    _ranked(qtbot, panel)
    assert np.ptp(panel.top.values[2]) < 1e-5 and not np.array_equal(panel.top.values[2], before)


def test_the_map_shows_the_test_set_and_the_drawing_moves_in_it(qtbot, learned, draw):
    window, panel = learned, learned.embedding
    window.dock_embedding.raise_()
    qtbot.waitUntil(lambda: panel.embedding is not None, timeout=20_000)
    assert panel.stage.currentData() == "F6"  # the layer before LeNet-5's RBF scores
    n = len(panel.features.indices)
    assert panel.plot.points.data.shape[0] == n == 200  # the small test set holds 200
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))
    window.settle()
    qtbot.waitUntil(lambda: panel.drawing_point is not None, timeout=5000)
    first = panel.drawing_point.copy()
    expected = panel.embedding.place(window.session.result.activations["F6"].reshape(-1))
    np.testing.assert_allclose(first, expected, rtol=1e-4, atol=1e-4)
    draw(window.canvas, line((0.2, 0.5), (0.8, 0.5)))
    window.settle()
    qtbot.waitUntil(lambda: not np.allclose(panel.drawing_point, first), timeout=5000)
    panel.plot.clicked.emit(3)
    window.settle()
    index = int(panel.features.indices[3])
    assert window.session.result.true_label == int(panel.features.labels[3])
    np.testing.assert_allclose(window.session.result.image, window.session.test_image(index)[0])
    panel.plot.hovered.emit(4)
    assert panel.hover.pixels is not None


def test_tsne_map_places_the_drawing_in_the_background(qtbot, learned, draw):
    window, panel = learned, learned.embedding
    window.dock_embedding.raise_()
    qtbot.waitUntil(lambda: panel.embedding is not None, timeout=20_000)
    panel.method.setCurrentIndex(panel.method.findData("tsne"))
    panel.map_button.click()
    assert panel.cancel.isVisible()
    qtbot.waitUntil(lambda: panel.embedding is not None and panel.embedding.method == "tsne", timeout=30_000)
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))
    window.settle()
    qtbot.waitUntil(lambda: panel.drawing_point is not None, timeout=10_000)
    qtbot.waitUntil(lambda: not panel.placer.busy(), timeout=10_000)


def test_the_learned_panels_work_for_the_users_network(qtbot, learned, tmp_path):
    window = learned
    path = tmp_path / "example_net.py"
    shutil.copy(EXAMPLE, path)
    assert window.open_network(path, "ExampleNet"), window.shown_errors
    window.settle()
    window.state.select_unit("blocks.1", 3)
    window.show_workspace("Learned")
    window.dock_units.raise_()
    _ranked(qtbot, window.units)
    assert window.units.top.stage == "blocks.1" and window.units.top.values.shape == (16, 9)
    qtbot.waitUntil(lambda: window.units.picture is not None, timeout=20_000)
    window.dock_embedding.raise_()
    qtbot.waitUntil(lambda: window.embedding.embedding is not None, timeout=20_000)
    assert window.embedding.features.stage == "blocks.1"  # the stage before the head


def test_a_training_run_waits_for_its_end(qtbot, learned, monkeypatch):
    window, panel = learned, learned.units
    window.dock_units.raise_()
    _ranked(qtbot, panel)
    monkeypatch.setattr(type(window.session), "training", property(lambda self: True))
    panel._forget()
    panel.refresh()
    assert panel.top is None and panel._job is None and "training run" in panel.note.text()


def test_a_missing_dataset_is_offered_once_and_said_in_one_sentence(qtbot, window, tmp_path, monkeypatch):
    """A newcomer without MNIST: the panels that read the test set ask (Download / Choose folder…) instead of
    printing the loader's error; the Units panel, which starts by itself, asks once and then only says it."""
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))
    window.data_dir = tmp_path / "empty"
    window.show_workspace("Learned")
    units = window.units
    expected = "MNIST is not in the data folder: download it or choose its folder (Edit > Preferences…)."
    qtbot.waitUntil(lambda: units.note.text() == expected)
    asked = [title for title, _text, _buttons in window.asked]
    assert asked == ["MNIST is missing"]
    assert window.asked[0][2] == ["Download", "Choose folder…", "Cancel"]
    units._retry()  # the panel shown again: no second question
    assert len(window.asked) == 1 and units.note.text() == expected
    window.dock_embedding.show()
    window.dock_embedding.raise_()
    qtbot.waitUntil(lambda: "Then press Map." in window.embedding.note.text())
    assert len(window.asked) == 1
    window.distort.start_sweep()  # a button press asks again
    assert len(window.asked) == 2 and window.distort.sweep_note.text() == expected


def test_the_star_moves_where_the_drawing_lands_and_repaints_only_around_itself(qtbot):
    """Each stroke's answer moves the star: the map of 2,000 dots is not painted again for it (it was, ~1 ms)."""
    from PySide6.QtCore import QEvent, QObject

    from cnnviz.qt.widgets.embedding_plot import EmbeddingPlot

    plot = EmbeddingPlot()
    qtbot.addWidget(plot)
    plot.resize(500, 400)
    plot.show()
    qtbot.waitExposed(plot)
    rng = np.random.default_rng(0)
    plot.set_map(rng.normal(size=(2000, 2)), rng.integers(0, 10, 2000), rng.random(2000) < 0.05,
                 tuple(str(k) for k in range(10)))  # fmt: skip
    plot.set_drawing((0.5, -0.5))
    qtbot.wait(200)  # the map's own first paints
    assert plot.drawing.isVisible() and (plot.drawing.pos().x(), plot.drawing.pos().y()) == (0.5, -0.5)
    painted = []

    class Regions(QObject):
        def eventFilter(self, _obj, event) -> bool:  # noqa: N802 (Qt override)
            if event.type() == QEvent.Type.Paint:
                painted.append(event.region().boundingRect())
            return False

    regions = Regions()
    plot.viewport().installEventFilter(regions)
    for step in range(1, 6):  # the next strokes move it a little
        painted.clear()
        plot.set_drawing((0.5 + 0.05 * step, -0.5 + 0.05 * step))
        qtbot.waitUntil(lambda: bool(painted))
        qtbot.wait(20)
    area = plot.viewport().width() * plot.viewport().height()
    assert all(r.width() * r.height() < 0.05 * area for r in painted), (painted, area)  # around the star, not the map
    plot.set_drawing((30.0, -30.0))  # a drawing unlike any test image: the map makes room for it
    assert plot.getPlotItem().getViewBox().viewRect().contains(30.0, -30.0)
    plot.set_drawing(None)
    assert not plot.drawing.isVisible()
