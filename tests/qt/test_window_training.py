"""The training monitor inside the main window: pickers lock, panels follow the live weights."""

from __future__ import annotations

import numpy as np
from conftest import line
from PySide6.QtWidgets import QWidget

from cnnviz.qt.widgets.visibility import is_on_screen

TIMEOUT_MS = 180_000  # the CPU is shared with colleagues' jobs


def test_training_from_the_window_locks_pickers_and_updates_the_prediction(qtbot, window, draw, data_dir):
    monitor = window.monitor
    assert window.findChild(QWidget, "trainingMonitor") is monitor
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))
    window.settle()
    window.show_workspace("Inside")  # the Train workspace off screen: its plots are not drawn
    qtbot.waitUntil(lambda: not is_on_screen(monitor.curves), timeout=5000)
    window.dock_training.raise_()
    qtbot.waitUntil(lambda: is_on_screen(monitor.curves), timeout=5000)
    assert monitor.config().model == "lenet5"  # the Training panel trains the network on screen
    window.switch_model("alexnet", "mnist")
    assert monitor.config().model == "alexnet"  # then the Training panel follows the network the user picks
    window.switch_model("lenet", "mnist")

    answered = []
    window.state.weightsChanged.connect(lambda: answered.append(window.state.inference_count))
    with qtbot.waitSignal(monitor.trainingStarted, timeout=TIMEOUT_MS):
        window.act_train_start.trigger()  # the Training menu (Ctrl+T)
    assert not window.model_picker.isEnabled() and not window.dataset_picker.isEnabled()
    assert not window.act_open_weights.isEnabled()
    qtbot.waitUntil(lambda: len(answered) >= 1, timeout=TIMEOUT_MS)
    before = answered[0]
    qtbot.waitUntil(lambda: window.state.inference_count > before, timeout=10_000)  # re-run on the new weights
    assert window.prediction.bars.probabilities is not None
    np.testing.assert_allclose(window.prediction.bars.probabilities.sum(), 1.0, atol=1e-4)
    window.act_train_pause.trigger()  # Ctrl+P pauses, and again resumes
    qtbot.waitUntil(monitor.is_paused, timeout=10_000)
    window.act_train_pause.trigger()
    qtbot.waitUntil(lambda: not monitor.is_paused(), timeout=10_000)

    with qtbot.waitSignal(monitor.trainingFinished, timeout=TIMEOUT_MS) as finished:
        window.act_train_stop.trigger()
    assert finished.args[0].reason == "stopped"
    assert window.model_picker.isEnabled() and window.dataset_picker.isEnabled()
    assert window.act_open_weights.isEnabled()
    assert window.statusBar().currentMessage() == finished.args[0].message
    assert window.model_picker.currentData() == window.session.model_name
    assert not monitor.is_running()
