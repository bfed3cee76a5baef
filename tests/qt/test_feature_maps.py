"""The feature-maps panel: every layer, one layer, hover read-out, Shift+click to enlarge, kernels."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from conftest import line
from PySide6.QtCore import QPoint, Qt

from cnnviz.qt.panels.feature_maps import ALL_LAYERS, MosaicView
from cnnviz.qt.widgets.visibility import is_on_screen


@pytest.fixture
def drawn(window, draw):
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    assert window.session.result.activations is not None
    return window


def test_all_layers_are_shown_as_tiles_coloured_from_the_activations(drawn):
    mosaic = drawn.feature_maps.mosaic
    assert mosaic.block_names() == list(drawn.session.result.activations)
    for name, act in drawn.session.result.activations.items():
        block = mosaic.block(name)
        act = block.data[:, 0, 0] if block.is_vector else act  # LeNet-5's output shows as distances
        maps = act.reshape(act.shape[0], -1) if act.ndim == 3 else act[:, None]
        assert block.channels == act.shape[0]
        assert block.cols * block.rows >= block.channels
        assert block.image is not None and block.image.width() == block.width
        # The most extreme activation sits on an end of the colour table.
        extreme = np.abs(maps) if block.signed else maps
        flat_max = np.unravel_index(np.argmax(extreme), maps.shape)
        expected = 254 if maps[flat_max] > 0 else 0
        ch = int(flat_max[0])
        if block.is_vector:
            y = x = 0
        else:
            y, x = divmod(int(flat_max[1]), act.shape[2])
        pos = drawn.feature_maps.mosaic.cell_center(name, ch)
        cell_top_left = QPoint(pos.x() - block.cell_w() // 2, pos.y() - block.cell_h() // 2)
        px = cell_top_left.x() - 10 + x * block.scale  # 10 = margin
        py = cell_top_left.y() - block.mosaic_top + y * block.scale
        assert block.mosaic_indices()[py, px] == expected


def test_hover_reads_layer_channel_and_value(drawn):
    mosaic = drawn.feature_maps.mosaic
    pos = mosaic.cell_center("C3", 5)
    hit = mosaic.hit(pos)
    assert hit is not None and hit[0].name == "C3" and hit[1] == 5
    _, _, y, x = hit
    text = mosaic.describe_at(pos)
    assert text.startswith("C3  ·  channel 5") and f"{drawn.session.result.activations['C3'][5, y, x]:.3f}" in text
    f6 = mosaic.describe_at(mosaic.cell_center("F6", 40))
    assert f6 == f"F6  ·  unit 40  ·  value {drawn.session.result.activations['F6'][40]:.3f}"


def test_mouse_hover_updates_the_read_out(qtbot, drawn):
    fm = drawn.feature_maps
    fm.scroll.ensureVisible(0, fm.mosaic.cell_center("C1", 2).y())
    qtbot.mouseMove(fm.mosaic, fm.mosaic.cell_center("C1", 2))
    qtbot.waitUntil(lambda: fm.hover.text().startswith("C1  ·  channel 2"))


def test_shift_click_enlarges_a_map_that_follows_the_drawing(qtbot, drawn, draw):
    fm = drawn.feature_maps
    pos = fm.mosaic.cell_center("S2", 3)
    fm.scroll.ensureVisible(pos.x(), pos.y())
    # A plain click inspects the unit (tests/qt/test_unit_inspector_app.py); Shift+click enlarges the map.
    qtbot.mouseClick(fm.mosaic, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos=pos)
    zoom = fm.zoom
    assert zoom is not None and zoom.isVisible() and zoom.objectName() == "mapZoom"
    assert (zoom.layer, zoom.channel) == ("S2", 3)
    np.testing.assert_array_equal(zoom.image.image, drawn.session.result.activations["S2"][3])
    draw(drawn.canvas, line((0.2, 0.5), (0.8, 0.5)))
    drawn.settle()
    np.testing.assert_array_equal(zoom.image.image, drawn.session.result.activations["S2"][3])
    fm.enlarge("F6", 7)  # a vector is shown as bars
    assert zoom.bars.isVisible() and not zoom.image.isVisible()
    zoom.close()


def test_one_layer_fills_the_panel(qtbot, drawn):
    fm = drawn.feature_maps
    small = fm.mosaic.block("C3").scale
    fm.chooser.setCurrentText("C3")
    assert fm.mosaic.block_names() == ["C3"]
    block = fm.mosaic.block("C3")
    assert block.scale > small
    assert block.mosaic_top + block.height <= fm.scroll.viewport().height()  # no scrolling needed
    drawn.canvas.clear()
    drawn.settle()
    assert fm.mosaic.block_names() == []
    fm.chooser.setCurrentText(ALL_LAYERS)


def test_per_map_scaling_brightens_weak_maps(drawn):
    fm = drawn.feature_maps
    before = fm.mosaic.block("C3").mosaic_indices()
    fm.per_map.setChecked(True)
    after = fm.mosaic.block("C3").mosaic_indices()
    assert not np.array_equal(before, after)
    fm.per_map.setChecked(False)
    assert np.array_equal(fm.mosaic.block("C3").mosaic_indices(), before)


def test_kernels_view_shows_the_first_convolution(qtbot, window):
    window.dock_kernels.raise_()
    name, weights = window.session.first_kernels()
    block = window.kernels.mosaic.block(name)
    assert block is not None and block.channels == weights.shape[0] == 6
    assert block.signed
    assert "6 kernels of 5×5" in window.kernels.note.text()
    window.model_picker.setCurrentIndex(window.model_picker.findData("alexnet"))
    name, weights = window.session.first_kernels()
    assert window.kernels.mosaic.block(name).channels == weights.shape[0]


def test_a_hidden_panel_costs_nothing_and_catches_up_when_shown(qtbot, drawn, draw):
    fm = drawn.feature_maps
    drawn.dock_kernels.raise_()
    qtbot.waitUntil(lambda: not is_on_screen(fm))
    painted = fm.mosaic.paint_count
    draw(drawn.canvas, line((0.2, 0.5), (0.8, 0.5)))
    drawn.settle()
    assert fm.while_hidden.stale and fm.mosaic.paint_count == painted
    drawn.dock_maps.raise_()
    qtbot.waitUntil(lambda: not fm.while_hidden.stale)  # caught up when its tab came to the front
    np.testing.assert_array_equal(fm.mosaic.block("C1").data, drawn.session.result.activations["C1"])


def test_mosaic_relayout_when_shapes_change(qtbot):
    view = MosaicView()
    view.resize(500, 300)
    qtbot.addWidget(view)
    view.set_arrays(OrderedDict(a=np.random.rand(4, 6, 6).astype(np.float32)))
    first = view.block("a")
    view.set_arrays(OrderedDict(a=np.random.rand(4, 6, 6).astype(np.float32)))
    assert view.block("a") is first  # same shapes: only recoloured
    view.set_arrays(OrderedDict(a=np.random.rand(9, 6, 6).astype(np.float32), b=np.arange(5.0)))
    assert view.block("a").channels == 9 and view.block("b").is_vector


def test_lenet5s_output_row_reads_as_rbf_distances_with_the_answer_marked(drawn):
    """Not ten identical blue squares: the distance to each class's bitmap, named, the answer outlined."""
    block = drawn.feature_maps.mosaic.block("output")
    np.testing.assert_allclose(block.data[:, 0, 0], -drawn.session.result.activations["output"])  # distances, >= 0
    assert (block.data >= 0).all() and "distance" in block.title
    assert block.labels == [str(d) for d in range(10)]
    assert block.marked == int(np.argmax(drawn.session.result.probabilities)) == int(np.argmin(block.data[:, 0, 0]))


def test_other_networks_label_their_class_scores(qtbot, window, draw):
    window.switch_model("lenet", "fashion-mnist")
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    block = window.feature_maps.mosaic.block("fc3")
    names = window.session.class_names
    assert block.labels == list(names) and "Ankle boot" in names  # the names, not 0-9
    # Each name fits its cell whole (no "nkle boot"), and the cells still fit the column.
    from PySide6.QtGui import QFontMetrics

    from cnnviz.qt.widgets.style import scaled_font

    metrics = QFontMetrics(scaled_font(window.feature_maps.mosaic.font(), 0.8, bold=True))
    assert all(metrics.horizontalAdvance(name) < block.cell_w() for name in names)
    assert block.width <= window.feature_maps.mosaic.width()
    assert block.marked == int(np.argmax(window.session.result.probabilities)) and "score" in block.title


@pytest.mark.parametrize("model", ["googlenet", "resnet", "alexnet", "vgg"])
def test_no_layers_maps_are_drawn_smaller_than_a_later_layers(qtbot, window, draw, model):
    window.switch_model(model, "mnist")
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    sides = [max(b.data.shape[1:]) * b.scale for b in window.feature_maps.mosaic._blocks if not b.is_vector]
    assert sides == sorted(sides, reverse=True), sides
