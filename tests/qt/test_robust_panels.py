"""Issue 19's panels in the Why workspace: Fool it, Distort and Sanity check, on a drawn 7."""

from __future__ import annotations

import numpy as np
from conftest import line

SEVEN = line((0.25, 0.22), (0.75, 0.22)) + line((0.75, 0.22), (0.4, 0.85))[1:]


def _raise(window, dock):
    dock.show()
    dock.raise_()
    return dock.widget().widget()  # the panel in its scroll area


def test_fool_it_attacks_the_drawing_and_puts_the_picture_on_the_canvas(qtbot, window, draw):
    panel = _raise(window, window.dock_fool)
    qtbot.waitUntil(panel.isVisible)
    assert window.docks.workspaces.current == "Why"
    draw(window.canvas, SEVEN)
    window.settle()
    panel.method.setCurrentIndex(panel.method.findData("pgd"))
    qtbot.waitUntil(lambda: panel.answer is not None and panel.answer["result"].method == "pgd", timeout=30_000)
    qtbot.waitUntil(lambda: not panel.runner.busy(), timeout=30_000)
    result = panel.answer["result"]
    drawn = window.session.result.image
    np.testing.assert_array_equal(result.original, drawn)
    assert np.abs(result.adversarial - drawn).max() <= panel.epsilon_value() + 1e-6
    probs = window.session.predict(result.adversarial)  # the network on screen really answers what the panel says
    assert int(np.argmax(probs)) == result.adversarial_class
    names = window.session.class_names
    assert panel.verdict.text().startswith(f"{names[result.original_class]} (")
    assert f"→ {names[result.adversarial_class]} (" in panel.verdict.text()
    assert [a["name"] for a in panel.answer["zoo"]] == ["lenet5", "lenet", "alexnet", "vgg", "googlenet", "resnet"]
    assert "ResNet" in panel.transfer.text()
    # A target equal to the answer is one sentence, not a result.
    panel.target.setCurrentIndex(panel.target.findData(result.original_class))
    qtbot.waitUntil(lambda: panel.answer is None and "already answers" in panel.verdict.text(), timeout=30_000)
    panel.target.setCurrentIndex(0)
    qtbot.waitUntil(lambda: panel.answer is not None and not panel.runner.busy(), timeout=30_000)
    adversarial, answer = panel.answer["result"].adversarial, panel.answer["result"].adversarial_class
    panel.put.click()
    qtbot.waitUntil(lambda: np.array_equal(window.session.result.image, adversarial), timeout=10_000)
    assert window.session.result.predicted == answer  # the whole app now reads the adversarial picture


def test_distort_follows_the_sliders_and_sweeps_the_six_networks(qtbot, window, draw):
    panel = _raise(window, window.dock_distort)
    qtbot.waitUntil(panel.isVisible)
    draw(window.canvas, SEVEN)
    window.settle()
    panel.sliders["rotate"].setValue(45)
    panel.sliders["thickness"].setValue(1)
    assert panel.values()["rotate"] == 45.0 and panel.values()["thickness"] == 1 and panel.values()["scale"] == 1.0
    qtbot.waitUntil(lambda: not panel.runner.busy() and panel.picture.image is not None, timeout=30_000)
    from cnnviz.core.robust.distort import Distortion

    expected = Distortion(rotate=45, thickness=1).apply_image(window.session.result.image)
    k = int(np.argmax(window.session.predict(expected)))
    assert f": {window.session.class_names[k]} (" in panel.answer.text()
    panel.count.setValue(20)
    panel.start_sweep()
    assert not panel.sweep_button.isEnabled() and panel.cancel.isEnabled()
    panel.cancel.click()
    qtbot.waitUntil(lambda: panel._sweep_job is None, timeout=60_000)
    assert panel.sweep_note.text() in ("Cancelled.", "Accuracy on the first 20 test images.")
    assert panel.sweep_button.isEnabled()


def test_sanity_check_randomises_lenet5_stage_by_stage(qtbot, window):
    panel = _raise(window, window.dock_sanity)
    qtbot.waitUntil(panel.isVisible)
    qtbot.waitUntil(lambda: window.session is not None)
    panel.count.setValue(2)
    panel.method.setCurrentIndex(panel.method.findData("gradcam"))
    panel.start_cascade()
    qtbot.waitUntil(lambda: panel._job is None, timeout=60_000)
    assert panel.result is not None and panel.result.stages[0] == "(original)"
    assert panel.result.stages[1:] == ["F6", "C5", "S4", "C3", "S2", "C1"]
    assert len(panel.pictures) == 7 and panel.verdict.text().startswith("Grad-CAM")
    panel.network.setCurrentIndex(panel.network.findData("lenet"))  # a zoo network's shipped weights
    panel.start_cascade()
    qtbot.waitUntil(lambda: panel._job is None, timeout=60_000)
    assert panel.result.stages[1:] == ["fc3", "fc2", "fc1", "conv2", "conv1"]
    panel.start_cascade()
    panel.cancel.click()
    qtbot.waitUntil(lambda: panel._job is None, timeout=60_000)
    assert panel.run_button.isEnabled()


def test_the_three_panels_work_on_the_users_network(qtbot, window, draw, tmp_path):
    import shutil
    from pathlib import Path

    path = tmp_path / "example_net.py"
    shutil.copy(Path(__file__).resolve().parents[2] / "resources" / "example_net.py", path)
    assert window.open_network(path, "ExampleNet"), window.shown_errors
    window.settle()
    fool = _raise(window, window.dock_fool)
    qtbot.waitUntil(fool.isVisible)
    draw(window.canvas, SEVEN)
    window.settle()
    qtbot.waitUntil(lambda: fool.answer is not None and not fool.runner.busy(), timeout=30_000)
    result = fool.answer["result"]
    assert np.abs(result.adversarial - window.session.result.image).max() <= fool.epsilon_value() + 1e-6
    distort = _raise(window, window.dock_distort)
    qtbot.waitUntil(distort.isVisible)
    distort.sliders["shift_x"].setValue(3)
    qtbot.waitUntil(lambda: "ExampleNet" in distort.answer.text(), timeout=30_000)
    distort.transform.setCurrentIndex(distort.transform.findData("scale"))
    distort.count.setValue(20)
    distort.start_sweep()
    qtbot.waitUntil(lambda: distort._sweep_job is None, timeout=60_000)
    assert distort.sweep_note.text() == "Accuracy on the first 20 test images."
    assert list(distort.curves)[:6] == ["LeNet-5 (1998)", "LeNet (modern)", "AlexNet", "VGG",
                                        "GoogLeNet (Inception)", "ResNet"]  # fmt: skip
    assert list(distort.curves)[6] == "ExampleNet (example_net.py) (on screen)"  # and the user's own
    values, accuracy = distort.curves["LeNet-5 (1998)"]
    assert 1.0 in values and accuracy[values.index(1.0)] >= 0.9  # its own test images, undistorted
    sanity = _raise(window, window.dock_sanity)
    qtbot.waitUntil(sanity.isVisible)
    sanity.count.setValue(2)
    sanity.start_cascade()
    qtbot.waitUntil(lambda: sanity._job is None, timeout=60_000)
    assert sanity.result.stages == ["(original)", "head", "blocks.1", "blocks.0", "stem"]


def test_fool_it_attacks_the_weights_on_screen_after_a_kernel_edit(qtbot, window, draw):
    """The attack runs on a copy made once per network and weights: an edited kernel makes a new copy."""
    panel = _raise(window, window.dock_fool)
    draw(window.canvas, SEVEN)
    window.settle()
    qtbot.waitUntil(lambda: panel.answer is not None and not panel.runner.busy(), timeout=30_000)
    first = panel._model
    assert first is not None
    assert window.state.edit_first_kernel(0, 0, np.zeros((5, 5), np.float32))
    window.settle()
    qtbot.waitUntil(lambda: panel._model is not None and panel._model is not first, timeout=30_000)
    edited = window.session.model.state_dict()
    for name, value in panel._model.state_dict().items():
        assert (value == edited[name]).all(), name
    assert not (first.state_dict()["C1.0.weight"] == edited["C1.0.weight"]).all()
