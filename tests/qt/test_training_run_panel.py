"""The Training panel as a face of the core's run: the data folder, the network on screen, its questions and plots."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny_idx import write_idx_dataset  # noqa: E402

from cnnviz.core import ModelSession  # noqa: E402
from cnnviz.core.training.run import GO_BACK, KEEP, RunEnd  # noqa: E402

TIMEOUT_MS = 120_000  # the two cores are shared


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_idx_dataset(tmp_path_factory.mktemp("tiny"), n_train=288, n_test=130)


def _evaluate(qtbot, panel):
    with qtbot.waitSignal(panel.evaluationFinished, timeout=TIMEOUT_MS) as blocker:
        assert panel.evaluate()
    return blocker.args[0]


def test_setting_the_data_folder_while_running_moves_evaluation_gallery_and_training(qtbot, window, tiny):
    qtbot.waitUntil(lambda: window.monitor is not None, timeout=TIMEOUT_MS)
    monitor = window.monitor
    window.data_dir = tiny  # after start-up: one place holds it, every reader follows
    assert window.session.data_dir == tiny == window.state.data_dir
    outcome = _evaluate(qtbot, monitor.results)
    assert outcome.error is None and int(outcome.result.confusion.sum()) == 130  # the tiny test set, not MNIST
    # The finished evaluation is the accuracy of the weights on screen: toolbar and status bar say so.
    shown = f"{100 * outcome.result.accuracy:.2f}%"
    assert window.session.test_accuracy == pytest.approx(outcome.result.accuracy)
    assert window.status_accuracy.text() == f"Test accuracy: {shown}"
    monitor.results.open_mistakes()
    gallery = monitor.results.gallery
    assert gallery is not None and gallery._data_dir() == tiny and gallery.images.count() > 0
    gallery.close()
    # Training reads the same folder: 288 images in batches of 8 are 36 batches (MNIST's would be 7,500).
    monitor.settings.batch_spin.setValue(8)
    with qtbot.waitSignal(monitor.trainingFinished, timeout=TIMEOUT_MS) as blocker:
        assert monitor.start()
        assert monitor._thread.run.data_dir == tiny
    end = blocker.args[0]
    assert end.steps == 36, end.message
    assert end.reason != "completed" or sum(map(sum, end.confusion)) == 130


def test_the_panel_trains_the_network_on_screen(qtbot, window, tiny):
    qtbot.waitUntil(lambda: window.monitor is not None, timeout=TIMEOUT_MS)
    monitor, session = window.monitor, window.session
    window.data_dir = tiny
    assert session.model_name == "lenet5" and monitor.settings.model_combo.currentData() == "lenet5"
    assert monitor.config().model == "lenet5"  # not the modern LeNet behind the user's back
    monitor.settings.batch_spin.setValue(96)
    with qtbot.waitSignal(monitor.trainingFinished, timeout=TIMEOUT_MS) as blocker:
        monitor.start()
        assert monitor.is_running() == session.training is True  # one answer
    assert blocker.args[0].model_name == "lenet5" and session.model_name == "lenet5"
    assert not monitor.is_running() and not session.training


def test_choosing_another_network_is_a_visible_switch_with_the_usual_question(qtbot, window):
    qtbot.waitUntil(lambda: window.monitor is not None, timeout=TIMEOUT_MS)
    monitor, session, form = window.monitor, window.session, window.monitor.settings
    session.source_kind, session.saved = "trained", False  # unsaved work on screen: the question comes
    window.answers = ["Cancel"]
    form.model_combo.setCurrentIndex(form.model_combo.findData("alexnet"))
    form.model_combo.activated.emit(form.model_combo.currentIndex())  # what a user's pick sends
    assert window.asked and window.asked[-1][0] == "Save the trained network?"
    assert session.model_name == "lenet5" and form.model_combo.currentData() == "lenet5"  # put back
    window.answers = ["Discard"]
    form.model_combo.setCurrentIndex(form.model_combo.findData("alexnet"))
    form.model_combo.activated.emit(form.model_combo.currentIndex())
    assert session.model_name == "alexnet" and monitor.config().model == "alexnet"  # on screen, trained next


def test_the_rate_that_will_be_used_is_shown_and_says_it_follows_the_epochs(qtbot):
    from cnnviz.qt.training.settings import TrainingSettings

    form = TrainingSettings()
    qtbot.addWidget(form)
    assert "0.008" in form.lr_note.text()
    form.epochs_spin.setValue(5)
    assert form.config().learning_rate == pytest.approx(0.008 / 5**0.5)
    assert "0.00358" in form.lr_note.text() and "follows the epochs" in form.lr_note.text()
    form.lr_spin.setValue(0.01)
    form.epochs_spin.setValue(2)
    assert form.config().learning_rate == pytest.approx(0.01) and "stays" in form.lr_note.text()


def test_keep_the_weights_defaults_to_keep(qtbot):
    from PySide6.QtWidgets import QWidget

    from cnnviz.qt.app.window_actions import ask_question

    parent = QWidget()
    qtbot.addWidget(parent)
    pressed = []

    def press_enter():
        box = QApplication.activeModalWidget()
        if box is None:
            QTimer.singleShot(20, press_enter)
            return
        pressed.append(box.defaultButton().text())
        qtbot.keyClick(box, Qt.Key.Key_Return)

    QTimer.singleShot(0, press_enter)
    answer = ask_question(parent, *RunEnd("stopped", "Stopped.", steps=12).keep_question())
    assert answer == KEEP == pressed[0] and GO_BACK != answer


def test_after_a_stop_the_eta_is_gone(qtbot, tiny):
    from cnnviz.qt.training.monitor import TrainingMonitor

    session = ModelSession("lenet", data_dir=tiny)
    monitor = TrainingMonitor(session, ask=lambda *q: KEEP)
    qtbot.addWidget(monitor)
    monitor.settings.batch_spin.setValue(8)
    monitor.settings.epochs_spin.setValue(20)
    monitor.start()
    qtbot.waitUntil(lambda: "ETA" in monitor.progress_bar.text(), timeout=TIMEOUT_MS)
    with qtbot.waitSignal(monitor.trainingFinished, timeout=TIMEOUT_MS) as blocker:
        monitor.stop()
    end = blocker.args[0]
    assert end.reason == "stopped" and end.adopted  # asked, and Keep kept
    assert "ETA" not in monitor.progress_bar.text() and "Stopped at batch" in monitor.progress_bar.text()
    monitor.shutdown()


def test_a_run_stuck_in_user_code_never_hangs_shutdown(qtbot, monkeypatch):
    from cnnviz.qt.training import worker as worker_module

    release, entered = threading.Event(), threading.Event()

    class StuckRun:
        """A run whose network never returns (a user's endless loop), until the test lets it go."""

        step, control = 0, None

        def reports(self):
            entered.set()
            release.wait()
            yield RunEnd("stopped", "Stopped.")

        def stop(self):
            pass

    monkeypatch.setattr(worker_module, "SHUTDOWN_GRACE_S", 0.2)
    thread = worker_module.RunThread(StuckRun())
    thread.start()
    assert entered.wait(30)  # inside the "network" now
    assert not thread.shutdown() and thread.abandoned and thread.job.thread.daemon  # returns; the app may quit
    release.set()
    assert thread.job.wait(10)


def test_the_wheel_scrolls_the_panel_and_the_accuracy_axis_fits_the_data(qtbot):
    from cnnviz.core.training.run import Progress
    from cnnviz.qt.training.curves import TrainingCurves

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.resize(600, 400)
    curves.show()
    curves.start_run(3, 0.008)
    steps = tuple(range(1, 101))
    curves.add_batches(Progress(100, 300, 1, 3, 0.1, 1000.0, 1.0, 1.0, steps, (0.1,) * 100, (0.985,) * 100,
                                (0.008,) * 100))  # fmt: skip
    curves.add_epoch(1, 0.985, 0.989)
    curves.add_epoch(2, 0.99, 0.991)
    (_, _), (bottom, top) = curves.accuracy_plot.viewRange()
    assert 90 <= bottom < 98 and top >= 100  # 98-99 % spread over the plot, not flat at the top of 0-100
    before = curves.accuracy_plot.viewRange()
    event = QWheelEvent(QPointF(300, 200), QPointF(300, 200), QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
    QApplication.sendEvent(curves.viewport(), event)
    assert not event.isAccepted()  # passed on to the scroll area around the panel
    assert np.allclose(curves.accuracy_plot.viewRange(), before)
