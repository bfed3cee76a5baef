"""Evaluate without training: the weights on screen on the real test set, in the background, cancellable."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QPushButton

from cnnviz.core import ModelSession
from cnnviz.core.resources import pretrained_path
from cnnviz.qt.state.app_state import AppState
from cnnviz.qt.training.monitor import TrainingMonitor

TIMEOUT_MS = 120_000  # 10,000 images through LeNet-5 take about a second alone; the cores are shared


@pytest.fixture
def monitor(qtbot, data_dir):
    session = ModelSession("lenet5", "mnist")
    assert session.load_pretrained("lenet5", "mnist")
    widget = TrainingMonitor(session)
    state = AppState(parent=widget)  # the app's signals, which the panel follows like every panel
    state.attach(session)
    widget.follow(state)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()
    assert not widget.results.is_evaluating()


def test_evaluate_fills_the_matrix_and_matches_cnnviz_eval(qtbot, monitor, data_dir, capsys):
    panel = monitor.results
    button = monitor.findChild(QPushButton, "evaluateTestSet")
    assert button is not None and button.isEnabled() and button.toolTip()
    progress = []
    panel.runner.progressed.connect(lambda done, total: progress.append((done, total)))
    with qtbot.waitSignal(panel.evaluationFinished, timeout=TIMEOUT_MS) as blocker:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert not button.isEnabled() and panel.bar.cancel_button.isEnabled()  # one evaluation at a time
        assert panel.caption.text().startswith("Evaluating LeNet-5")
    outcome = blocker.args[0]
    assert not outcome.cancelled and outcome.error is None
    confusion = monitor.confusion_view.confusion
    assert confusion.shape == (10, 10) and confusion.sum() == 10_000
    assert progress[-1] == (10_000, 10_000) and len(progress) >= 10  # the bar moved in steps
    assert panel.bar.progress.value() == panel.bar.progress.maximum()
    assert button.isEnabled() and not panel.bar.cancel_button.isEnabled()

    # The command line says the same about the same weights.
    from cnnviz.cli.commands import main

    assert (
        main(["eval", "--weights", str(pretrained_path("lenet5", "mnist")), "--json", "--data-dir", str(data_dir)]) == 0
    )
    cli = json.loads(capsys.readouterr().out)
    assert (confusion == np.asarray(cli["confusion"])).all()
    assert np.allclose(monitor.confusion_view.per_class_accuracy, cli["per_class_accuracy"])
    assert f"{100 * cli['accuracy']:.2f} %" in panel.caption.text()
    assert "pretrained lenet5-mnist.safetensors" in panel.caption.text()  # which weights, and when
    assert outcome.result.probabilities.shape == (10_000, 10)


def test_cancel_stops_the_evaluation(qtbot, monitor):
    panel = monitor.results
    with qtbot.waitSignal(panel.evaluationFinished, timeout=TIMEOUT_MS) as blocker:
        assert panel.evaluate()
        assert not panel.evaluate()  # already running
        qtbot.mouseClick(panel.bar.cancel_button, Qt.MouseButton.LeftButton)
    outcome = blocker.args[0]
    assert outcome.cancelled and outcome.result is None
    assert monitor.confusion_view.confusion is None
    assert panel.caption.text() == "Evaluation cancelled: no results."
    assert panel.bar.progress.text() == "Cancelled"
    assert not panel.is_evaluating() and panel.bar.button.isEnabled()


def test_the_weights_at_the_click_are_evaluated_even_if_others_come_meanwhile(qtbot, monitor):
    panel = monitor.results
    with qtbot.waitSignal(panel.evaluationFinished, timeout=TIMEOUT_MS) as blocker:
        panel.evaluate()
        monitor.session.load_untrained("lenet5", "mnist")  # random weights on screen now
    result = blocker.args[0].result
    assert result.accuracy > 0.98  # the pretrained weights' score, not a random network's
    assert panel._stale_note()  # and the gallery will say the weights on screen changed since


def test_the_training_menu_evaluates_too(qtbot, window):
    qtbot.waitUntil(lambda: window.monitor is not None, timeout=30_000)
    action = window.findChild(QAction, "evaluateTestSet")
    assert action is not None and action.toolTip()
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Training")
    assert action in menu.actions()
    with qtbot.waitSignal(window.monitor.results.evaluationFinished, timeout=TIMEOUT_MS):
        action.trigger()
    assert window.monitor.confusion_view.confusion.sum() == 10_000
    assert window.dock_training.isVisible()
