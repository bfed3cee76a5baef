"""Issue 20 in the Training panel: Step shows one batch, the layers fill in, the time slider moves the prediction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnviz.core import ModelSession
from cnnviz.qt.training.monitor import TrainingMonitor

TIMEOUT_MS = 120_000  # colleagues may be using both cores


@pytest.fixture
def small_monitor(qtbot, small_data_dir):
    session = ModelSession("lenet", data_dir=small_data_dir)
    widget = TrainingMonitor(session)
    qtbot.addWidget(widget)
    widget.resize(900, 1000)
    widget.show()
    threads = []
    widget.trainingStarted.connect(lambda: threads.append(widget._thread))
    yield widget
    widget.shutdown()
    assert all(not t.is_alive() for t in threads), "a training thread outlived its test"


def _weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_step_shows_one_batch_then_resume_finishes_and_the_slider_goes_back_in_time(qtbot, small_monitor):
    monitor, session = small_monitor, small_monitor.session
    view = monitor.inside.step_view
    combo = monitor.settings.init_combo
    combo.setCurrentIndex(combo.findData("current"))  # the run starts from the network on screen
    before = _weights(session.model)

    assert monitor.step()  # idle: a new run whose first batch is a step
    qtbot.waitUntil(lambda: view.report is not None, timeout=TIMEOUT_MS)
    first = view.report
    assert first.step == 1 and monitor.is_paused() and monitor.is_running()
    assert monitor.tabs.currentWidget() is view and "Batch 1:" in view.headline()
    assert monitor.pause_button.text() == "Resume"
    view.grab()  # paints the batch, the bars and the kernels without failing

    monitor.step()  # again, from the paused run: exactly the next batch
    qtbot.waitUntil(lambda: view.report is not first, timeout=TIMEOUT_MS)
    assert view.report.step == 2 and monitor.is_paused()
    assert monitor.steps_done == 2

    monitor.toggle_pause()  # Resume: the run goes on to its end
    qtbot.waitUntil(lambda: not monitor.is_running(), timeout=TIMEOUT_MS)
    assert monitor.progress_bar.format().startswith("Done")
    layers = monitor.inside.layer_view
    assert layers.history and layers.history[-1].names[0] == "conv1"

    timeline = monitor.inside.timeline
    steps = timeline.steps
    assert steps[0] == 0 and steps[-1] == monitor.steps_done and timeline.isEnabled()
    final = _weights(session.model)
    image = np.zeros((28, 28), np.float32)
    image[6:22, 12:16] = 1.0  # a "1"
    live_answer = session.predict(image)

    accuracy = session.test_accuracy
    assert accuracy is not None  # the completed run's own evaluation

    timeline.move_to(0)  # every panel follows the session: the network from before the run, exactly
    assert _same(_weights(session.model), before) and not timeline.live
    assert not np.allclose(session.predict(image), live_answer)  # the prediction moved with it
    assert "batch 0" in session.source
    assert session.test_accuracy is None  # not the evaluated network: a file saved now would not claim it

    timeline.go_live()  # back to the network the run ended with
    assert _same(_weights(session.model), final)
    assert np.allclose(session.predict(image), live_answer)
    assert session.test_accuracy == accuracy and session.source == "trained in this session"


def test_a_learning_rate_change_is_marked_on_the_curves_and_in_the_runs_list(qtbot, small_monitor):
    monitor = small_monitor
    monitor.settings.epochs_spin.setValue(3)
    assert monitor.step()
    qtbot.waitUntil(lambda: monitor.inside.step_view.report is not None, timeout=TIMEOUT_MS)
    controls = monitor.inside.live_controls
    assert controls.isEnabled()
    controls.lr.setValue(0.0005)
    controls.apply_button.click()
    assert "lr 0.0005" in controls.message.text()
    monitor.toggle_pause()
    qtbot.waitUntil(lambda: not monitor.is_running(), timeout=TIMEOUT_MS)
    assert any(line.label is not None and "lr 0.0005" in line.label.toPlainText() for _p, line in monitor.curves._marks)
    assert "changed lr 0.0005 at batch 2" in monitor.runs.list.item(0).text()
    log = monitor.runs.logs[1]
    assert all(lr == pytest.approx(0.0005) for step, lr in zip(log.steps, log.lrs, strict=True) if step >= 2)


def test_f10_in_the_window_steps_one_batch(qtbot, window):
    from PySide6.QtGui import QKeySequence

    monitor = window.monitor
    assert window.act_train_step.shortcut() == QKeySequence("F10")
    window.switch_model("lenet", "mnist")
    window.act_train_step.trigger()  # F10: the first batch of a new run, then it holds
    qtbot.waitUntil(lambda: monitor.inside.step_view.report is not None, timeout=TIMEOUT_MS)
    assert monitor.inside.step_view.report.step == 1 and monitor.is_paused()
    with qtbot.waitSignal(monitor.trainingFinished, timeout=TIMEOUT_MS) as finished:
        window.act_train_stop.trigger()
    assert finished.args[0].reason == "stopped" and finished.args[0].steps == 1


def test_step_during_a_run_and_looking_back_while_it_goes_on(qtbot, small_monitor):
    monitor, session = small_monitor, small_monitor.session
    combo = monitor.settings.init_combo
    combo.setCurrentIndex(combo.findData("current"))
    monitor.settings.epochs_spin.setValue(20)  # long enough to still run at the end of the test
    before = _weights(session.model)
    assert monitor.start()
    qtbot.waitUntil(lambda: monitor.steps_done >= 3, timeout=TIMEOUT_MS)
    monitor.step()  # while it runs: the next batch is looked at, then the run holds
    qtbot.waitUntil(lambda: monitor.inside.step_view.report is not None, timeout=TIMEOUT_MS)
    held = monitor.inside.step_view.report.step
    assert held >= 3 and monitor.is_paused()

    timeline = monitor.inside.timeline
    qtbot.waitUntil(lambda: len(timeline.steps) >= 1, timeout=TIMEOUT_MS)
    timeline.move_to(0)
    assert _same(_weights(session.model), before)
    monitor.toggle_pause()  # on it goes; the live weights do not pull the panels back while looking back
    qtbot.waitUntil(lambda: monitor.steps_done >= held + 15, timeout=TIMEOUT_MS)
    qtbot.wait(700)  # longer than the live weights' interval
    assert _same(_weights(session.model), before) and not timeline.live
    timeline.go_live()
    qtbot.waitUntil(lambda: not _same(_weights(session.model), before), timeout=TIMEOUT_MS)
    with qtbot.waitSignal(monitor.trainingFinished, timeout=TIMEOUT_MS):
        monitor.stop()
