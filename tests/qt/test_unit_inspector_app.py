"""The unit inspector in the app: a click on a unit, the owner explains it, the inspector and the
outlines follow; arrow keys step the unit; a first-layer kernel is edited live and saving warns."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import line
from PySide6.QtCore import Qt

from cnnviz.qt.app.window_actions import ask_question
from cnnviz.qt.widgets.visibility import is_on_screen

ZOO = ("lenet5", "lenet", "alexnet", "vgg", "googlenet", "resnet")


@pytest.fixture(scope="module")
def test_image(data_dir):
    from cnnviz.core.data.datasets import load_split

    images, labels = load_split("mnist", False, data_dir)
    return images[0].numpy() / 255.0, int(labels[0])


def _middle(act: np.ndarray) -> tuple[int, int, int]:
    """A unit away from the borders (and not channel 0, which tests nothing of the channel index)."""
    c = min(1, act.shape[0] - 1)
    return (c, act.shape[1] // 2, act.shape[2] // 2) if act.ndim == 3 else (c, 0, 0)


def _select(qtbot, window, stage, c, y, x) -> dict:
    window.state.select_unit(stage, c, y, x)
    panel = window.inspector
    qtbot.waitUntil(lambda: panel.data is not None and panel.data["stage"] == stage
                    and (panel.data["unit"]["channel"], panel.data["unit"]["y"], panel.data["unit"]["x"]) == (c, y, x))  # fmt: skip
    return panel.data


def _value(act: np.ndarray, c: int, y: int, x: int) -> float:
    return float(act[c, y, x] if act.ndim == 3 else act[c])


def _outline(box: dict) -> tuple:
    return (box["top"], box["left"], box["bottom"], box["right"])


@pytest.mark.parametrize("model", ZOO)
def test_every_stage_of_every_zoo_network_agrees_with_the_captured_activations(qtbot, window, draw, test_image, model):
    assert window.switch_model(model, "mnist") and window.session.source_kind == "pretrained"
    window.state.set_test_image(*test_image)
    window.settle()
    for stage, act in window.session.result.activations.items():
        c, y, x = _middle(act)
        data = _select(qtbot, window, stage, c, y, x)
        assert abs(data["value"] - _value(act, c, y, x)) <= 1e-5, stage
        assert f"{stage} · channel {c}" in window.inspector.header.text()
        assert is_on_screen(window.inspector)  # a click brings the inspector to the front
        box = data["receptive_field"]
        assert box is not None, stage  # a middle unit sees some of the image
        assert window.preview._outline == _outline(box)
        assert window.canvas._outline is None  # a test image is fed unchanged: no drawing to outline on
    # A drawing: the same numbers, and the field is outlined on the canvas too (through the transform).
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    for stage, act in window.session.result.activations.items():
        c, y, x = _middle(act)
        data = _select(qtbot, window, stage, c, y, x)
        assert abs(data["value"] - _value(act, c, y, x)) <= 1e-5, stage
        edges = _outline(data["receptive_field"])
        top, left, bottom, right = window.session.result.transform.box_to_drawing(*edges)
        rows, cols = window.session.result.transform.drawing_shape
        assert window.preview._outline == edges
        assert window.canvas._outline == pytest.approx((top / rows, left / cols, bottom / rows, right / cols)), stage


def test_a_click_on_a_drawn_digits_unit_outlines_its_field_on_the_input_and_the_canvas(qtbot, window, draw):
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    fm = window.feature_maps
    mosaic = fm.mosaic
    block = mosaic.block("C3")
    pos = mosaic.cell_center("C3", 4)  # the middle of map 4: unit (4, 5, 5) of a 10x10 map
    fm.scroll.ensureVisible(pos.x(), pos.y())
    with qtbot.waitSignal(window.state.unitSelected) as selected:
        qtbot.mouseClick(mosaic, Qt.MouseButton.LeftButton, pos=pos)
    stage, c, y, x = selected.args[0]
    assert (stage, c) == ("C3", 4) and 0 <= y < block.data.shape[1] and 0 <= x < block.data.shape[2]
    data = _select(qtbot, window, stage, c, y, x)
    assert abs(data["value"] - window.session.result.activations["C3"][c, y, x]) <= 1e-5
    assert window.inspector.hasFocus()  # the arrow keys step at once
    assert fm.zoom is None  # a plain click inspects; it does not enlarge the map
    box = data["receptive_field"]
    assert window.preview._outline == _outline(box)
    transform = window.session.result.transform
    top, left, bottom, right = transform.box_to_drawing(*_outline(box))
    rows, cols = transform.drawing_shape
    assert window.canvas._outline == pytest.approx((top / rows, left / cols, bottom / rows, right / cols))
    # Another stroke re-crops the drawing: the same unit is explained again, its outline follows.
    draw(window.canvas, line((0.2, 0.5), (0.8, 0.5)))
    window.settle()
    qtbot.waitUntil(
        lambda: abs(window.inspector.data["value"] - window.session.result.activations["C3"][c, y, x]) <= 1e-5
    )
    new = window.session.result.transform.box_to_drawing(*_outline(box))
    assert window.canvas._outline == pytest.approx((new[0] / rows, new[1] / cols, new[2] / rows, new[3] / cols))


def test_shift_click_still_enlarges_the_map(qtbot, window, draw):
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    fm = window.feature_maps
    pos = fm.mosaic.cell_center("S2", 3)
    fm.scroll.ensureVisible(pos.x(), pos.y())
    with qtbot.assertNotEmitted(window.state.unitSelected):
        qtbot.mouseClick(fm.mosaic, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos=pos)
    assert fm.zoom is not None and fm.zoom.isVisible() and (fm.zoom.layer, fm.zoom.channel) == ("S2", 3)
    fm.zoom.close()


def test_arrow_keys_step_the_unit_and_slide_the_outline(qtbot, window, draw):
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    first = _select(qtbot, window, "C1", 0, 10, 10)["receptive_field"]
    canvas_before = window.canvas._outline
    qtbot.keyClick(window.inspector, Qt.Key.Key_Right)
    data = _select(qtbot, window, "C1", 0, 10, 11)
    moved = data["receptive_field"]
    assert (moved["left"], moved["right"]) == (first["left"] + 1, first["right"] + 1)  # C1: stride 1
    assert (moved["top"], moved["bottom"]) == (first["top"], first["bottom"])
    assert window.preview._outline == _outline(moved)
    assert window.canvas._outline[1] > canvas_before[1] and window.canvas._outline[0] == canvas_before[0]
    qtbot.keyClick(window.inspector, Qt.Key.Key_Down)
    assert _select(qtbot, window, "C1", 0, 11, 11)["receptive_field"]["top"] == first["top"] + 1
    qtbot.keyClick(window.inspector, Qt.Key.Key_PageDown)
    data = _select(qtbot, window, "C1", 1, 11, 11)
    assert abs(data["value"] - window.session.result.activations["C1"][1, 11, 11]) <= 1e-5


def test_a_hidden_inspector_costs_nothing_and_catches_up_when_shown(qtbot, window, draw):
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    _select(qtbot, window, "C3", 2, 4, 4)
    window.dock_maps.raise_()
    assert not is_on_screen(window.inspector)
    explained = []
    window.state.unitExplained.connect(explained.append)
    draw(window.canvas, line((0.2, 0.5), (0.8, 0.5)))
    window.settle()
    assert explained == []  # off the drawing path while behind another tab
    window.dock_inspector.raise_()
    qtbot.waitUntil(lambda: len(explained) == 1)
    assert abs(window.inspector.data["value"] - window.session.result.activations["C3"][2, 4, 4]) <= 1e-5


def test_editing_a_kernel_changes_the_maps_and_the_answer_reset_restores_them_and_saving_warns(
    qtbot, window, draw, tmp_path
):
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))  # a 1
    window.settle()
    _select(qtbot, window, "C1", 2, 14, 14)
    panel = window.inspector
    assert panel._kernel_key == (2, 0) and panel.kernel_editor.isEnabled()
    trained_kernel = window.kernels._kernels[1][2, 0].copy()
    before_acts = {k: v.copy() for k, v in window.session.result.activations.items()}
    before_probs = window.session.result.probabilities.copy()
    count = window.state.inference_count
    panel.preset_box.activated.emit(panel.preset_box.findText("zero"))  # what choosing the preset does
    qtbot.waitUntil(lambda: window.state.inference_count > count and not window.state.inference_pending())
    c1 = window.session.result.activations["C1"]
    assert np.ptp(c1[2]) == 0 and not np.array_equal(c1[2], before_acts["C1"][2])  # a zero kernel: bias only
    np.testing.assert_array_equal(c1[[0, 1, 3, 4, 5]], before_acts["C1"][[0, 1, 3, 4, 5]])
    assert not np.array_equal(window.session.result.probabilities, before_probs)
    assert np.all(window.kernels._kernels[1][2, 0] == 0)  # the kernels view follows
    qtbot.waitUntil(lambda: abs(panel.data["value"] - c1[2, 14, 14]) <= 1e-5)
    assert panel.reset_button.isEnabled() and "edited" in panel.kernel_state.text()
    assert window.session.edited_kernels() == [(2, 0)]

    asked = []
    window.ask = lambda title, text, buttons: asked.append((title, text, buttons)) or "Cancel"
    assert not window.save_weights(tmp_path / "edited.safetensors")
    assert not (tmp_path / "edited.safetensors").exists()
    assert asked and asked[0][2] == ["Save anyway", "Cancel"] and "kernel(s) 2" in asked[0][1]
    window.ask = lambda title, text, buttons: "Save anyway"
    assert window.save_weights(tmp_path / "edited.safetensors") and (tmp_path / "edited.safetensors").exists()

    count = window.state.inference_count
    qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.inference_count > count and not window.state.inference_pending())
    for name, act in before_acts.items():
        np.testing.assert_array_equal(window.session.result.activations[name], act)  # exactly the trained network again
    np.testing.assert_array_equal(window.session.result.probabilities, before_probs)
    np.testing.assert_array_equal(window.kernels._kernels[1][2, 0], trained_kernel)
    assert window.session.edited_kernels() == [] and not panel.reset_button.isEnabled()
    asked.clear()
    window.ask = lambda *args: asked.append(args) or "Cancel"
    assert window.save_weights(tmp_path / "trained.safetensors") and asked == []  # nothing to warn about


def test_a_cell_edit_goes_through_the_owner_and_new_weights_forget_it(qtbot, window, draw):
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))
    window.settle()
    _select(qtbot, window, "C1", 0, 14, 14)
    panel = window.inspector
    count = window.state.inference_count
    panel.kernel_table.item(2, 2).setText("3")
    qtbot.waitUntil(lambda: window.state.inference_count > count and not window.state.inference_pending())
    assert window.kernels._kernels[1][0, 0, 2, 2] == 3.0 and window.session.edited_kernels() == [(0, 0)]
    window.switch_model("lenet5", "mnist")  # new weights: the edit is forgotten
    window.settle()
    assert window.session.edited_kernels() == [] and not panel.reset_button.isEnabled()


def test_kernel_edits_are_refused_while_training(qtbot, window):
    session = window.session
    session.begin_training("lenet5", "mnist", from_current=True)
    messages = []
    window.state.statusMessage.connect(lambda text, _ms: messages.append(text))
    assert not window.state.edit_first_kernel(0, 0, np.zeros((5, 5), np.float32))
    assert messages == ["Kernels cannot be edited while the network trains: stop the run first."]
    assert not window.inspector.kernel_editor.isEnabled()
    from cnnviz.core import RunEnd

    session.end_training(RunEnd("stopped", "Stopped.", steps=0))
    assert window.inspector.kernel_editor.isEnabled()


def test_the_question_box_returns_the_chosen_button(qtbot, window):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    def answer() -> None:
        box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
        next(b for b in box.buttons() if b.text() == "Save anyway").click()

    QTimer.singleShot(0, answer)
    assert ask_question(window, "Save?", "Really?", ["Save anyway", "Cancel"]) == "Save anyway"


def test_the_wiring_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, cnnviz.qt.panels.inspector; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    code = "import sys, cnnviz.core.session.explain; assert 'PySide6' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_a_stroke_explains_the_unit_in_a_worker_with_the_same_answer(qtbot, window, draw, monkeypatch):
    """While a stroke goes on the inspector's unit is explained off the GUI thread (on a copy of the network),
    and what it shows equals the explanation computed on the network itself."""
    import threading

    import cnnviz.core.session.explain as explain

    threads = []
    inspect_unit = explain.inspect_unit_as_dict
    monkeypatch.setattr(
        explain, "inspect_unit_as_dict", lambda *a, **k: threads.append(threading.get_ident()) or inspect_unit(*a, **k)
    )
    draw(window.canvas, line((0.3, 0.3), (0.7, 0.7)))
    window.settle()
    stage = window.session.description.first_conv_stage
    _select(qtbot, window, stage, 1, 4, 4)
    threads.clear()
    draw(window.canvas, line((0.7, 0.3), (0.3, 0.7)))  # the explanations this stroke asks for
    window.settle()
    gui = threading.get_ident()
    assert threads and all(t != gui for t in threads)
    shown = window.inspector.data
    expected = window.session.explain_unit(stage, 1, 4, 4)
    assert shown["value"] == pytest.approx(expected["value"], abs=1e-6)
    assert shown["pre_activation"] == pytest.approx(expected["pre_activation"], abs=1e-6)
    assert [s["kind"] if "kind" in s else sorted(s) for s in shown["steps"]] == [
        s["kind"] if "kind" in s else sorted(s) for s in expected["steps"]]  # fmt: skip


def test_the_grids_stack_when_the_column_is_narrow(qtbot, window, test_image):
    from PySide6.QtWidgets import QBoxLayout

    window.state.set_test_image(*test_image)
    window.settle()
    _select(qtbot, window, "C1", 1, 10, 10)  # a convolution: patch x kernel = products
    panel, scroll = window.inspector, window.inspector_scroll
    qtbot.waitUntil(lambda: panel.matrices.isVisible())
    layout = panel.matrices.layout()
    needed = sum(g.width() for g in (panel.patch, panel.kernel, panel.products))
    window.dock_inspector.setFloating(True)  # a dock of its own, sized freely
    window.dock_inspector.resize(needed + 200, 700)
    qtbot.waitUntil(lambda: layout.direction() == QBoxLayout.Direction.LeftToRight)
    window.dock_inspector.resize(needed // 2 + 60, 700)  # a projector's narrow column
    qtbot.waitUntil(lambda: layout.direction() == QBoxLayout.Direction.TopToBottom)
    qtbot.waitUntil(lambda: scroll.horizontalScrollBar().maximum() == 0)  # nothing scrolls sideways
    assert panel.products.geometry().top() > panel.patch.geometry().bottom()  # one under another
    assert panel.width() <= scroll.viewport().width()  # the words wrap, the kernel editor stacks too
    step = panel.steps.topLevelItem(0)
    assert step.toolTip(0) == step.text(0)  # an elided step reads whole on hover
    window.dock_inspector.setFloating(False)


def test_a_chosen_input_map_stays_chosen_with_the_new_drawings_numbers(qtbot, window, draw):
    panel = window.inspector
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    data = _select(qtbot, window, "C3", 1, 4, 4)  # C3 unit 1 sums 3 of S2's maps (the C3 table)
    step = next(i for i, s in enumerate(data["steps"]) if s["kind"] == "convolution")
    inputs = data["steps"][step]["details"]["inputs"]
    assert len(inputs) >= 2 and panel.patch_title.text() == f"input map {inputs[0]['channel']}: patch"
    panel.steps.setCurrentItem(panel.steps.topLevelItem(step).child(1))  # the reader picks the second map
    assert panel.patch_title.text() == f"input map {inputs[1]['channel']}: patch"
    draw(window.canvas, line((0.7, 0.2), (0.3, 0.8)))  # a new stroke: the same unit, new numbers
    window.settle()
    qtbot.waitUntil(lambda: panel.data is not data)
    now = panel.data["steps"][step]["details"]["inputs"][1]
    assert panel.steps.currentItem() is panel.steps.topLevelItem(step).child(1)
    assert panel.patch_title.text() == f"input map {now['channel']}: patch"
    np.testing.assert_allclose(panel.patch.values(), np.asarray(now["patch"], float), atol=5e-3)


def test_a_refill_whose_longest_number_moved_to_another_column_still_shows_it_whole(qtbot):
    from cnnviz.qt.widgets.unit_inspector_view import _Matrix

    grid = _Matrix("probe")
    qtbot.addWidget(grid)
    grid.show()
    grid.set_values([[-1.12, 0.73], [0.05, 1.62]])  # the long text ("-1.12") in the first column
    grid.set_values([[0.12, -1.46], [0.05, 1.62]])  # the next stroke: now in the second, as long as before
    metrics = grid.fontMetrics()
    for c in range(2):
        needed = max(metrics.horizontalAdvance(grid.item(r, c).text()) for r in range(2))
        assert grid.columnWidth(c) >= needed + 4, c  # whole, not "-1..."


def test_a_grid_refilled_with_the_same_numbers_sets_no_cell_again_and_tints_by_sign(qtbot):
    from cnnviz.qt.widgets.unit_inspector_view import _Matrix

    grid = _Matrix("probe")
    qtbot.addWidget(grid)
    changes = []
    grid.model().dataChanged.connect(lambda *args: changes.append(args))
    rows = [[1.0, -0.5], [None, 0.0]]
    grid.set_values(rows)
    assert changes  # filled
    positive, negative = grid.item(0, 0).background().color(), grid.item(0, 1).background().color()
    assert positive.red() > positive.blue() and negative.blue() > negative.red()  # red above zero, blue below
    assert positive.alphaF() == pytest.approx(0.45, abs=0.01) and negative.alphaF() == pytest.approx(0.225, abs=0.01)
    assert grid.item(1, 0).text() == "pad" and grid.item(1, 0).background().style() == Qt.BrushStyle.NoBrush
    changes.clear()
    grid.set_values(rows)  # every stroke refills the grids: unchanged cells cost nothing
    assert changes == []
    grid.set_values([[1.0, 0.5], [None, 0.0]])  # one sign flips: that cell alone changes (its text and tint)
    assert {(top.row(), top.column()) for top, *_rest in changes} == {(0, 1)}
    assert grid.item(0, 1).background().color().red() > grid.item(0, 1).background().color().blue()
