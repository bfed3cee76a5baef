"""Why this class?: the heat-map overlay on the drawing and the model input, driven like a student."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from conftest import canvas_point, line
from PySide6.QtCore import QPoint, Qt

from cnnviz.core.inspect.attribution import attribute

SEVEN = line((0.25, 0.22), (0.75, 0.22)) + line((0.75, 0.22), (0.4, 0.85))[1:]


def _panel(window):
    window.dock_attribution.show()
    window.dock_attribution.raise_()
    return window.attribution


def _choose(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))


def test_saliency_heat_matches_captum_for_the_drawn_input(window, draw):
    panel = _panel(window)
    draw(window.canvas, SEVEN)
    window.settle()
    assert window.preview._heat is None and window.canvas._heat is None  # off: nothing laid over
    _choose(panel.method, "saliency")
    panel.enabled.setChecked(True)
    window.settle()  # the live map is computed in a worker
    session = window.session
    expected = attribute(session.model, window.session.result.image, "saliency")
    assert panel.result is not None and panel.result.method == "saliency"
    assert panel.result.target == window.session.result.predicted == expected.target
    np.testing.assert_allclose(panel.result.map, expected.map, rtol=1e-5, atol=1e-7)
    heat = window.preview._heat
    assert heat is not None and (heat.width(), heat.height()) == (28, 28)
    canvas_heat = window.canvas._heat
    drawing_h, drawing_w = window.session.result.transform.drawing_shape
    assert canvas_heat is not None and canvas_heat.width() >= 140
    assert canvas_heat.width() / canvas_heat.height() == drawing_w / drawing_h  # it covers the whole square
    # The strongest input pixel is the most opaque pixel of the picture.
    y, x = np.unravel_index(np.argmax(expected.map), expected.map.shape)
    assert heat.pixelColor(int(x), int(y)).alpha() == max(
        heat.pixelColor(i, j).alpha() for i in range(28) for j in range(28)
    )
    assert "Saliency for class" in panel.note.text()


def test_off_costs_nothing_per_stroke(window, draw, monkeypatch):
    panel = _panel(window)
    calls = []
    monkeypatch.setattr(window.session, "attribution", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(window.session, "attribution_task", lambda *a, **k: calls.append(a))
    before = window.state.inference_count
    for stroke in (SEVEN[:10], SEVEN[10:20], SEVEN[20:]):
        draw(window.canvas, stroke)
        window.settle()
    assert window.state.inference_count >= before + 3 and calls == [] and panel.result is None


def test_every_stroke_updates_the_heat_while_on(qtbot, window, draw):
    panel = _panel(window)
    panel.enabled.setChecked(True)
    draw(window.canvas, SEVEN[:12])
    window.settle()
    first = panel.result.map.copy()
    canvas = window.canvas
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, 0.4, 0.85))
    qtbot.mouseMove(canvas, canvas_point(canvas, 0.6, 0.5))
    window.settle()
    np.testing.assert_allclose(panel.result.map, attribute(window.session.model, window.session.result.image, "saliency").map,
                               rtol=1e-5, atol=1e-7)  # fmt: skip
    assert not np.allclose(panel.result.map, first)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, 0.6, 0.5))


def test_picking_another_class_changes_the_map_and_clicking_a_bar_picks_it(qtbot, window, draw):
    panel = _panel(window)
    panel.enabled.setChecked(True)
    draw(window.canvas, SEVEN)
    window.settle()
    predicted = window.session.result.predicted
    other = (predicted + 1) % 10
    before = panel.result.map.copy()
    bars = window.prediction.bars
    row_h = (bars.height() - 8) / 10
    qtbot.mouseClick(bars, Qt.MouseButton.LeftButton, pos=QPoint(bars.width() // 2, int(4 + (other + 0.5) * row_h)))
    window.settle()
    assert panel.target.currentData() == other
    assert panel.result.target == other
    expected = attribute(window.session.model, window.session.result.image, "saliency", target=other)
    np.testing.assert_allclose(panel.result.map, expected.map, rtol=1e-5, atol=1e-7)
    assert not np.allclose(panel.result.map, before)
    assert "your pick" in panel.note.text()


def test_gradcam_uses_the_last_convolutional_stage_or_the_one_picked(window, draw):
    panel = _panel(window)
    draw(window.canvas, SEVEN)
    window.settle()
    _choose(panel.method, "gradcam")
    panel.enabled.setChecked(True)
    window.settle()
    described = window.session.description
    stages, default = list(described.attribution_stages), described.grad_cam_stage
    assert panel.stage.isEnabled() and default in stages and panel.result.stage == default
    assert [panel.stage.itemData(i) for i in range(1, panel.stage.count())] == stages
    other = stages[0]
    _choose(panel.stage, other)
    window.settle()
    expected = attribute(window.session.model, window.session.result.image, "gradcam", stage=other)
    assert panel.result.stage == other
    np.testing.assert_allclose(panel.result.map, expected.map, rtol=1e-5, atol=1e-6)


def test_off_clears_both_overlays_and_an_empty_canvas_shows_none(window, draw):
    panel = _panel(window)
    panel.enabled.setChecked(True)
    draw(window.canvas, SEVEN)
    window.settle()
    assert window.preview._heat is not None and window.canvas._heat is not None
    panel.enabled.setChecked(False)
    assert window.preview._heat is None and window.canvas._heat is None and panel.result is None
    panel.enabled.setChecked(True)
    window.settle()
    assert window.canvas._heat is not None
    window.clear_canvas()
    window.settle()
    assert window.preview._heat is None and window.canvas._heat is None


def test_a_test_image_without_transform_fills_the_square(window, data_dir):
    panel = _panel(window)
    panel.enabled.setChecked(True)
    window.data_dir = data_dir  # the fixture has read the test set: the image comes at once
    assert window.show_random_test_image()
    window.settle()
    assert window.session.result.transform is None
    heat = window.canvas._heat
    assert heat is not None and (heat.width(), heat.height()) == (28, 28)


def test_integrated_gradients_runs_in_the_background_with_progress(qtbot, window, draw):
    panel = _panel(window)
    draw(window.canvas, SEVEN)
    window.settle()
    panel.enabled.setChecked(True)
    progress = []
    panel.runner.progress.connect(lambda _tag, f: progress.append(f))
    with qtbot.waitSignal(panel.runner.finished, timeout=60_000):
        _choose(panel.method, "ig")
        assert panel.cancel.isEnabled() and not panel.compute.isEnabled()
    assert progress and progress[-1] == 1.0 and progress == sorted(progress)
    assert panel.progress.value() == 100
    expected = attribute(window.session.model, window.session.result.image, "ig")
    np.testing.assert_allclose(panel.result.map, expected.map, rtol=1e-4, atol=1e-6)
    assert window.preview._heat is not None and not panel.cancel.isEnabled()
    # A new stroke makes the slow map stale: it is cleared, and Compute brings a new one.
    draw(window.canvas, line((0.3, 0.5), (0.7, 0.5)))
    window.settle()
    assert panel.result is None and window.preview._heat is None and "Compute" in panel.note.text()
    with qtbot.waitSignal(panel.runner.finished, timeout=60_000):
        panel.compute.click()
    assert panel.result is not None and panel.result.method == "ig"


def test_occlusion_can_be_cancelled(qtbot, window, draw, monkeypatch):
    panel = _panel(window)
    draw(window.canvas, SEVEN)
    window.settle()
    panel.enabled.setChecked(True)
    # Hold the job at its first progress report until Cancel is pressed, so cancelling never races the end.
    import threading

    gate = threading.Event()
    real_task = window.session.attribution_task

    def slow_task(*args, **kwargs):
        task = real_task(*args, **kwargs)

        def run(progress):
            def waiting(f):
                gate.wait(30)
                progress(f)

            return task(waiting)

        return run

    monkeypatch.setattr(window.session, "attribution_task", slow_task)
    with qtbot.waitSignal(panel.runner.cancelled, timeout=60_000):
        _choose(panel.method, "occlusion")
        assert panel.cancel.isEnabled() and panel.runner.busy()
        panel.cancel.click()
        gate.set()
    qtbot.waitUntil(lambda: not panel.runner.busy())
    assert panel.result is None and window.preview._heat is None
    assert "Cancelled" in panel.note.text() and panel.compute.isEnabled() and not panel.cancel.isEnabled()


def test_the_panel_modules_do_not_import_torch():
    code = "import sys, cnnviz.qt.panels.attribution, cnnviz.qt.panels.comparison; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_method_failing_on_a_network_is_one_sentence(window, draw, monkeypatch):
    panel = _panel(window)
    draw(window.canvas, SEVEN)
    window.settle()

    def broken(*_args, **_kwargs):
        raise RuntimeError("element 0 of tensors does not require grad")

    monkeypatch.setattr("cnnviz.core.inspect.attribution.attribute", broken)  # as the worker's task runs it
    panel.enabled.setChecked(True)
    window.settle()
    assert panel.result is None and window.preview._heat is None and window.canvas._heat is None
    assert panel.note.text() == (
        "Saliency does not work on this network (RuntimeError: element 0 of tensors does not require grad)."
    )
