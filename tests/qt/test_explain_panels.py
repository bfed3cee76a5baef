"""The unit inspector panel and the architecture diagram, fed with the core's plain data."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cnnviz.core.inspect.activations import activations
from cnnviz.core.inspect.architecture import architecture
from cnnviz.core.inspect.kernel_edit import first_kernel, kernel_presets
from cnnviz.core.inspect.unit_inspector import inspect_unit
from cnnviz.core.resources import pretrained_path
from cnnviz.core.weights.checkpoint import load_checkpoint
from cnnviz.qt.widgets.architecture_view import ArchitectureView, depths
from cnnviz.qt.widgets.unit_inspector_view import UnitInspectorPanel


@pytest.fixture(scope="module")
def lenet5():
    return load_checkpoint(pretrained_path("lenet5", "mnist"))[0]


@pytest.fixture(scope="module")
def image(data_dir) -> np.ndarray:
    from cnnviz.core.data.datasets import load_split

    return load_split("mnist", False, data_dir)[0][0].numpy() / 255.0


def test_the_panels_do_not_import_torch():
    code = "import sys, cnnviz.qt.widgets.unit_inspector_view, cnnviz.qt.widgets.architecture_view; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_unit_panel_shows_the_steps_and_steps_the_unit_with_arrow_keys(qtbot, lenet5, image):
    panel = UnitInspectorPanel()
    qtbot.addWidget(panel)
    assert panel.objectName() == "unitInspector"
    data = inspect_unit(lenet5, image, "C3", 0, 5, 9).as_dict()
    panel.show_explanation(data, image)
    panel.show()
    text = panel.text()
    assert f"C3 · channel 0, row 5, column 9 = {data['value']:.4g}" in text
    assert "Receptive field: rows 8–21, columns 16–27" in text
    assert "map 0: Σ patch × kernel" in text and "map 3" not in text  # C3 map 0 reads S2 maps 0, 1, 2
    assert "1.7159 tanh(2a/3)" in text
    assert panel.matrices.isVisibleTo(panel) and panel.patch.rowCount() == 5 == panel.kernel.columnCount()
    products = np.array(data["steps"][0]["details"]["inputs"][0]["products"])
    assert panel.products.item(2, 3).text() == f"{products[2, 3]:.2f}"
    with qtbot.waitSignal(panel.unitStepped) as moved:
        qtbot.keyClick(panel, Qt.Key.Key_Left)
    assert moved.args == ["C3", 0, 5, 8]
    with qtbot.waitSignal(panel.unitStepped) as moved:
        qtbot.keyClick(panel, Qt.Key.Key_PageDown)
    assert moved.args == ["C3", 1, 5, 9]
    with qtbot.assertNotEmitted(panel.unitStepped):
        qtbot.keyClick(panel, Qt.Key.Key_Right)  # column 9 is the last of a 10x10 map


def test_unit_panel_without_convolution_hides_the_matrices(qtbot, lenet5, image):
    panel = UnitInspectorPanel()
    qtbot.addWidget(panel)
    panel.show_explanation(inspect_unit(lenet5, image, "output", 7).as_dict())
    assert not panel.matrices.isVisibleTo(panel)
    assert "squared distance" in panel.text()
    panel.show_explanation(inspect_unit(lenet5, image, "input", 0, 0, 0).as_dict())
    assert "none, this unit lies in the padding" in panel.text()


def test_kernel_editor_emits_presets_edits_and_reset(qtbot, lenet5):
    panel = UnitInspectorPanel()
    qtbot.addWidget(panel)
    kernel = first_kernel(lenet5, 2)
    presets = kernel_presets(kernel.shape)
    panel.set_kernel(2, 0, kernel, presets, edited=False)
    assert not panel.reset_button.isEnabled()
    with qtbot.waitSignal(panel.kernelEdited) as edited:
        panel.preset_box.activated.emit(panel.preset_box.findText("vertical edge"))
    assert edited.args[:2] == [2, 0] and np.array_equal(edited.args[2], presets["vertical edge"])
    with qtbot.waitSignal(panel.kernelEdited) as edited:
        panel.kernel_table.item(1, 3).setText("0.75")
    expected = np.array([[float(f"{v:.2f}") for v in row] for row in kernel])
    expected[1, 3] = 0.75
    assert np.allclose(edited.args[2], expected)
    panel.set_kernel(2, 0, expected, presets, edited=True)
    assert panel.reset_button.isEnabled() and "edited" in panel.kernel_state.text()
    with qtbot.waitSignal(panel.kernelResetRequested) as reset:
        qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    assert reset.args == [2, 0]


def test_architecture_view_lays_out_branches_side_by_side_and_reports_clicks(qtbot, image):
    model = load_checkpoint(pretrained_path("googlenet", "mnist"))[0]
    nodes = [n.as_dict() for n in architecture(model)]
    view = ArchitectureView()
    qtbot.addWidget(view)
    assert view.objectName() == "architectureView"
    view.set_architecture(nodes)
    view.resize(900, 700)
    view.show()
    assert set(view.items_by_id) == {n["id"] for n in nodes}
    branches = [view.items_by_id[f"inception3a.branch{i}"].rect() for i in range(1, 5)]
    assert len({r.top() for r in branches}) == 1  # one row
    assert all(a.right() < b.left() for a, b in zip(branches, branches[1:], strict=False))
    assert view.items_by_id["inception3a"].rect().top() > branches[0].bottom()
    assert depths(nodes)["inception3a"] == depths(nodes)["inception3a.branch1"] + 1
    view.set_thumbnails(activations(model, image)[1])
    assert not view.items_by_id["stem"].thumb.pixmap().isNull()
    assert view.items_by_id["fc"].thumb.pixmap().isNull()  # a vector has no map to show
    target = view.items_by_id["inception3a.branch2"]
    view.ensureVisible(target)
    pos = view.mapFromScene(target.rect().center())
    with qtbot.waitSignal(view.stageClicked) as clicked:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert clicked.args == ["inception3a"] and view.selected == "inception3a"


def test_a_branch_of_convolutions_is_written_compactly():
    from cnnviz.qt.widgets.architecture_view import short_type

    chain = "Conv2d 1x1 + BatchNorm2d + ReLU + Conv2d 3x3 + BatchNorm2d + ReLU"
    assert short_type(chain) == "Conv2d 1x1 → Conv2d 3x3, each with BN, ReLU".replace("Conv2d", "conv")
    assert short_type("Conv2d 3x3 /2 + BatchNorm2d + ReLU + Conv2d 3x3 + BatchNorm2d") == (
        "conv 3x3 /2 · BN · ReLU · conv 3x3 · BN"
    )
