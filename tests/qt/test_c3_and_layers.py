"""LeNet-5's C3 connection table and the layer table, as the window shows them."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
from conftest import line
from PySide6.QtCore import Qt

from cnnviz.qt.widgets.visibility import is_on_screen

# LeCun et al. 1998, Table I: C3 maps 0-5 read 3 S2 maps, 6-14 read 4, map 15 reads all 6.
PAPER_COLUMN_SIZES = [3] * 6 + [4] * 9 + [6]


def test_the_c3_table_reads_60_connections_from_the_model(window):
    c3 = window.c3
    assert c3.stack.currentIndex() == 1
    table = window.session.c3_table()
    crosses = [[c3.grid.item(i, j).text() == "X" for j in range(16)] for i in range(6)]
    assert c3.grid.rowCount() == 6 and c3.grid.columnCount() == 16
    assert np.array_equal(np.array(crosses), table.astype(bool))  # what is shown is the model's mask
    assert c3.connection_count() == 60 and int(np.sum(crosses)) == 60
    assert list(table.sum(axis=0)) == PAPER_COLUMN_SIZES
    assert "60 of 96" in c3.summary.text()


def test_the_table_follows_the_mask_not_a_copy_of_the_paper(window):
    """Give the model a C3 with another table and the panel shows that table."""
    from cnnviz.core.models.lenet import PartialConv2d, c3_connection_table

    table = c3_connection_table().clone()
    table[0, 15] = False  # S2 map 0 no longer feeds C3 map 15
    model = copy.deepcopy(window.session.model)
    model.C3[0] = PartialConv2d(table)
    window.session.restore(dataclasses.replace(window.session.state(), model=model))  # the panel follows the event
    assert window.c3.connection_count() == 59
    assert window.c3.grid.item(0, 15).text() == ""
    assert window.c3.grid.item(1, 15).text() != ""


def test_clicking_a_column_highlights_its_s2_inputs_and_shows_the_maps(qtbot, window, draw):
    window.dock_c3.raise_()
    qtbot.waitUntil(lambda: is_on_screen(window.c3))
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    c3 = window.c3
    table = window.session.c3_table().astype(bool)
    for column in (7, 15, 0):
        rect = c3.grid.visualItemRect(c3.grid.item(2, column))
        qtbot.mouseClick(c3.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        expected = [int(i) for i in np.flatnonzero(table[:, column])]
        assert c3.column == column and c3.highlighted_inputs() == expected
        accent = c3.grid.item(expected[0], column).background().color()
        for i in range(6):
            colour = c3.grid.item(i, column).background().color()
            assert (colour == accent) == (i in expected)
            assert c3.grid.item(i, (column + 1) % 16).background().color() != accent
        assert f"C3 map {column}" in c3.caption.text()
        assert c3.strip.inputs == expected and c3.strip.column == column
        np.testing.assert_array_equal(c3.strip._s2, window.session.result.activations["S2"])
        np.testing.assert_array_equal(c3.strip._c3, window.session.result.activations["C3"])


def test_header_click_selects_a_column_too(qtbot, window):
    window.dock_c3.raise_()
    header = window.c3.grid.horizontalHeader()
    x = header.sectionViewportPosition(9) + header.sectionSize(9) // 2
    from PySide6.QtCore import QPoint

    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))
    assert window.c3.column == 9


def test_other_models_say_only_lenet5_has_a_c3_table(window):
    window.model_picker.setCurrentIndex(window.model_picker.findData("vgg"))
    assert window.c3.stack.currentIndex() == 0
    assert "only lenet-5 has a c3 table" in window.c3.note.text().lower()
    assert window.c3.highlighted_inputs() == []
    window.model_picker.setCurrentIndex(window.model_picker.findData("lenet5"))
    assert window.c3.stack.currentIndex() == 1 and window.c3.connection_count() == 60


def test_layer_table_totals_for_lenet5(window):
    table = window.layer_table
    rows = window.session.description.layers
    assert table.rowCount() == len(rows) + 1
    assert table.totals() == ("60,000", "340,908")
    assert table.item(table.rowCount() - 1, 0).text() == "Total"
    c3 = next(r for r, info in enumerate(rows) if info.name == "C3")
    assert [table.item(c3, c).text() for c in (0, 2, 3, 4)] == ["C3", "16×10×10", "1,516", "151,600"]
    assert table.horizontalHeaderItem(3).toolTip() and table.horizontalHeaderItem(4).toolTip()
    right = Qt.AlignmentFlag.AlignRight
    assert table.item(c3, 4).textAlignment() & right.value


def test_layer_table_follows_the_model(window):
    window.model_picker.setCurrentIndex(window.model_picker.findData("alexnet"))
    rows = window.session.description.layers
    assert window.layer_table.rowCount() == len(rows) + 1
    assert window.layer_table.totals()[0] == f"{sum(r.params for r in rows):,}" == "543,882"


def test_the_layer_table_refits_its_type_only_when_its_width_changes(qtbot):
    """A taller or shorter table (the window relays out on every stroke) must not set every cell's font
    again: it made each stroke at start-up three times slower (cnnviz bench --app, LeNet-5 16 ms vs 5 ms)."""
    from cnnviz.core.session.session import ModelSession
    from cnnviz.qt.panels.layer_table import LayerTable

    table = LayerTable()
    qtbot.addWidget(table)
    table.resize(300, 300)  # narrow: the type shrinks to fit
    table.show()
    table.set_rows(ModelSession("lenet5", "mnist").description.layers)
    qtbot.wait(10)
    fits = []
    real = table._apply_scale
    table._apply_scale = lambda scale: fits.append(scale) or real(scale)
    for height in (320, 340, 300):
        table.resize(300, height)
        qtbot.wait(1)
    assert fits == []
    table.resize(900, 300)  # wider: the type grows back
    qtbot.wait(1)
    assert fits and table._scale == 1.0


def test_the_c3_maps_catch_up_when_their_tab_is_raised(qtbot, window, draw):
    assert not is_on_screen(window.c3)  # behind the Layers tab
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    assert window.c3.while_hidden.stale and window.c3.strip._s2 is None
    window.dock_c3.raise_()
    qtbot.waitUntil(lambda: not window.c3.while_hidden.stale)
    np.testing.assert_array_equal(window.c3.strip._s2, window.session.result.activations["S2"])
