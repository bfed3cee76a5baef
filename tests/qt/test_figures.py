"""Figures for slides: a panel without its controls, PNG at 2x, SVG for diagrams, attribution with a key."""

from __future__ import annotations

from conftest import line
from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage

from cnnviz.qt.app import figures

SEVEN = line((0.25, 0.22), (0.75, 0.22)) + line((0.75, 0.22), (0.4, 0.85))[1:]


def test_feature_maps_figure_is_the_mosaic_at_twice_its_pixels(window, draw, tmp_path):
    draw(window.canvas, SEVEN)
    window.settle()
    path = tmp_path / "maps"
    assert window.files.export_figure(path, window.feature_maps, "Feature maps")
    image = QImage(str(path) + ".png")
    mosaic = window.feature_maps.mosaic
    # The mosaic alone (no stage chooser, no hover line), at 2x: the panel's controls are not in it.
    assert (image.width(), image.height()) == (2 * mosaic.width(), 2 * mosaic.height())
    colours = {image.pixel(x, y) for x in range(0, image.width(), 9) for y in range(0, image.height(), 9)}
    assert len(colours) > 50  # maps, not a blank picture
    assert window.shown_errors == []


def test_architecture_exports_as_svg_and_a_picture_cannot(window, tmp_path):
    window.architecture.raise_()
    path = tmp_path / "net.svg"
    assert window.files.export_figure(path, window.architecture, "Architecture")
    text = path.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "C3" in text  # the stage names are text in the drawing, not pixels
    png = tmp_path / "net.png"
    assert window.files.export_figure(png, window.architecture, "Architecture")
    image = QImage(str(png))
    whole = window.architecture.scene().itemsBoundingRect()
    assert image.height() >= 2 * whole.height()  # the whole diagram, also what runs below the fold
    # The drawing is a picture: SVG is refused with one sentence and nothing is written.
    assert not window.files.export_figure(tmp_path / "drawing.svg", window.canvas_panel, "Drawing")
    assert not (tmp_path / "drawing.svg").exists()
    assert "export it as PNG" in window.shown_errors[-1][1]


def test_attribution_figure_lays_the_heat_over_the_digit_with_a_key(window, draw, tmp_path):
    path = tmp_path / "why.png"
    assert not window.files.export_figure(path, window.attribution, figures.ATTRIBUTION)
    assert "Turn the heat map on" in window.shown_errors[-1][1] and not path.exists()
    draw(window.canvas, SEVEN)
    window.settle()
    window.attribution.enabled.setChecked(True)
    assert window.attribution.result is not None
    assert window.files.export_figure(path, window.attribution, figures.ATTRIBUTION)
    image = QImage(str(path))
    assert image.width() > 2 * 280 and image.height() > 2 * 280  # the 28x28 input at 10 px a pixel, 2x
    # Some squares are warm heat (red over grey), and the key's top differs from its bottom.
    warm = [image.pixelColor(x, y) for x in range(24, 24 + 560, 20) for y in range(76, 76 + 560, 20)]
    assert any(c.red() > c.blue() + 80 for c in warm)
    key_x = 24 + 560 + 24 + 18
    top, bottom = image.pixelColor(key_x, 76 + 8), image.pixelColor(key_x, 76 + 560 - 8)
    assert top.red() > 150 and bottom.red() < 40


def test_right_click_on_a_dock_offers_its_figure(window):
    menu = figures.dock_menu(window, window.dock_maps, QPoint(40, 60))
    texts = [a.text() for a in menu.actions()]
    menu.deleteLater()
    assert texts == ["Export Feature maps as a figure…"]
    menu = figures.dock_menu(window, window.dock_architecture, QPoint(40, 60))
    assert menu.actions()[0].text() == "Export Architecture as a figure…"
    assert "SVG" in menu.actions()[0].toolTip()
    menu.deleteLater()


def test_file_menu_lists_each_figure(window):
    window.figure_menu.aboutToShow.emit()
    names = [a.text() for a in window.figure_menu.actions()]
    for name in ("Feature maps…", "First-layer kernels…", "Why this class?…", "Architecture…", "Six networks…"):
        assert name in names


def test_training_curves_export_as_svg_through_pyqtgraph(qtbot, window, tmp_path):
    qtbot.waitUntil(lambda: window.monitor is not None)
    window.show_workspace("Train")
    curves = window.monitor.curves
    name, part = figures.part_of(window, "", window.monitor)  # the Training dock's panel: its curves
    assert (name, part) == ("Training curves", curves)
    path = tmp_path / "curves.svg"
    assert window.files.export_figure(path, curves, "Training curves")
    text = path.read_text()
    assert "<svg" in text and "Accuracy" in text and "Loss per batch" in text  # titles stay text
    png = tmp_path / "curves.png"
    assert window.files.export_figure(png, curves, "Training curves")
    assert QImage(str(png)).width() == 2 * curves.width()


def test_the_inspector_figure_leaves_out_the_kernel_editor(qtbot, window, draw, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QGroupBox, QWidget

    draw(window.canvas, SEVEN)
    window.settle()
    window.state.select_unit("C1", 1, 10, 10)
    qtbot.waitUntil(lambda: window.inspector.data is not None)
    editor = window.inspector.findChild(QGroupBox, "kernelEditor")
    qtbot.waitUntil(editor.isVisible)
    seen, original = [], QWidget.render

    def spy(widget, *args):  # what the editor was while the figure was painted
        seen.append(editor.isVisible())
        return original(widget, *args)

    monkeypatch.setattr(QWidget, "render", spy)
    assert window.files.export_figure(tmp_path / "unit.png", window.inspector, "Inspector")
    monkeypatch.undo()
    assert seen == [False]  # painted without its controls ...
    assert editor.isVisible()  # ... which are back at once
    assert QImage(str(tmp_path / "unit.png")).width() == 2 * window.inspector.width()
