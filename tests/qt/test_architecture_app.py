"""The architecture view in the app: built from the network on screen, thumbnails of the drawing's
activations, and a click on a box shows that stage in the feature-maps panel (through the owner)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from conftest import line
from PySide6.QtCore import Qt

from cnnviz.qt.widgets.visibility import is_on_screen

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "example_net.py"


def _nodes(window) -> dict[str, dict]:
    return {node_id: item.node for node_id, item in window.architecture.items_by_id.items()}


def _show_architecture(qtbot, window) -> None:
    window.dock_architecture.raise_()
    qtbot.waitUntil(
        lambda: is_on_screen(window.architecture) and not window.architecture.while_hidden.stale
    )  # caught up


def test_googlenet_shows_four_branches_and_a_concatenation(qtbot, window, draw):
    assert window.switch_model("googlenet", "mnist")
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    _show_architecture(qtbot, window)
    nodes = _nodes(window)
    for stage in ("inception3a", "inception3b", "inception4a", "inception4b"):
        branches = [n for n in nodes.values() if n["kind"] == "branch" and n["stage"] == stage]
        assert len(branches) == 4, stage
        concat = nodes[stage]
        assert concat["kind"] == "concat" and sorted(concat["inputs"]) == sorted(b["id"] for b in branches)
        assert sum(b["output_shape"][0] for b in branches) == concat["output_shape"][0]
        assert list(window.session.result.activations[stage].shape) == concat["output_shape"]
    # Each box with a map shows the drawing's activation; it follows the next stroke.
    stem = window.architecture.items_by_id["stem"].thumb
    before = stem.pixmap().toImage()
    assert not before.isNull()
    draw(window.canvas, line((0.2, 0.5), (0.8, 0.5)))
    window.settle()
    assert stem.pixmap().toImage() != before


def test_resnet_shows_skip_paths_and_projections_where_the_shape_changes(qtbot, window):
    assert window.switch_model("resnet", "mnist")
    _show_architecture(qtbot, window)
    nodes = _nodes(window)
    adds = [n for n in nodes.values() if n["kind"] == "add"]
    assert len(adds) == 5  # layer1 and layer2 have two blocks, layer3 one
    for add in adds:
        main, skip = (nodes[i] for i in add["inputs"])
        assert main["kind"] == "main" and skip["kind"] == "skip"
        assert main["inputs"] == skip["inputs"]  # both read the block's input: the skip goes around
        source = nodes[main["inputs"][0]]
        changes_shape = source["output_shape"] != add["output_shape"]
        assert skip["details"]["projection"] == (skip["label"] == "1x1 projection")
        if changes_shape:
            assert skip["details"]["projection"], add["id"]
    assert any(not nodes[a["inputs"][1]]["details"]["projection"] for a in adds)  # identity skips too


def test_a_click_on_a_box_shows_that_stage_in_the_feature_maps(qtbot, window, draw):
    assert window.switch_model("googlenet", "mnist")
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    _show_architecture(qtbot, window)
    view = window.architecture
    target = view.items_by_id["inception3a.branch3"]  # a branch's box selects its stage
    view.ensureVisible(target)
    with qtbot.waitSignal(window.state.stageSelected) as selected:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(target.rect().center()))
    assert selected.args == ["inception3a"]
    fm = window.feature_maps
    assert fm.chooser.currentText() == "inception3a" and fm.mosaic.block_names() == ["inception3a"]
    assert is_on_screen(fm)  # the feature maps come to the front
    np.testing.assert_array_equal(fm.mosaic.block("inception3a").data, window.session.result.activations["inception3a"])
    assert view.selected == "inception3a"
    window.state.select_stage("pool3")  # the owner's method, as any panel would call it
    assert fm.chooser.currentText() == "pool3" and view.selected == "pool3"


def test_the_keyboard_walks_the_stages_and_enter_shows_one(qtbot, window):
    _show_architecture(qtbot, window)
    view = window.architecture
    assert view.stages() == list(window.session.description.stage_names)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.selected == "C1"
    with qtbot.waitSignal(window.state.stageSelected) as selected:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert selected.args == ["C1"] and window.feature_maps.chooser.currentText() == "C1"


def test_a_users_network_is_a_chain_of_its_stages(qtbot, window, tmp_path):
    path = tmp_path / "example_net.py"
    shutil.copy(EXAMPLE, path)
    assert window.open_network(path, "ExampleNet"), window.shown_errors
    window.settle()
    _show_architecture(qtbot, window)
    nodes = list(_nodes(window).values())
    stages = list(window.session.description.stage_names)
    assert [n["id"] for n in nodes] == ["image", *stages]
    for previous, node in zip(nodes, nodes[1:], strict=False):
        assert node["inputs"] == [previous["id"]] and node["stage"] == node["id"]
    window.architecture.stageClicked.emit("blocks.0")
    assert window.feature_maps.chooser.currentText() == "blocks.0"


def test_presentation_mode_scales_the_diagram(qtbot, window):
    window.set_presentation_mode(True)
    assert window.architecture.transform().m11() > 1.0
    window.set_presentation_mode(False)
    assert window.architecture.transform().m11() == 1.0


def test_fit_all_shows_the_whole_network_and_thumbnails_use_the_maps_colours(qtbot, window, draw):
    from cnnviz.qt.widgets.style import DIVERGING, color_table

    window.resize(1280, 720)
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    _show_architecture(qtbot, window)
    view = window.architecture
    whole = view.scene().sceneRect()
    shown = lambda: view.mapToScene(view.viewport().rect()).boundingRect()  # noqa: E731
    assert shown().height() < whole.height()  # LeNet-5 runs below the fold
    qtbot.keyClick(view, Qt.Key.Key_F)  # the "Fit all" button's key
    assert view.fit_button.isChecked()
    assert shown().contains(whole.adjusted(2, 2, -2, -2))  # all of it, down to the output
    view.fit_button.click()
    assert shown().height() < whole.height()  # as wide as the panel again
    # LeNet-5's maps are signed (tanh): the thumbnail is in the feature maps' blue-white-red, not viridis.
    image = view.items_by_id["C1"].thumb.pixmap().toImage()
    colours = {image.pixel(x, y) & 0xFFFFFF for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)}
    diverging = {c & 0xFFFFFF for c in color_table(DIVERGING)[:255]}
    assert len(colours & diverging) > len(colours) // 2
