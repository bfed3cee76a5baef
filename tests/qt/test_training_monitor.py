"""The live training monitor: real MNIST runs in a worker thread, driven like a user would.

Every test that starts training ends it (Stop, completion or ``shutdown``) and
the ``monitor`` fixture checks that no worker thread is left running.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cnnviz.core import ModelSession, TrainConfig
from cnnviz.core.training.loop import default_lr
from cnnviz.qt.training.monitor import TrainingMonitor

REPO = Path(__file__).resolve().parents[2]
STEPS = -(-60_000 // TrainConfig().batch_size)  # one MNIST epoch at the default batch size
SMALL_STEPS = -(-1_200 // TrainConfig().batch_size)  # one epoch of the small synthetic dataset (small_data_dir)
RUN_TIMEOUT_MS = 120_000  # one LeNet epoch takes ~5 s alone; colleagues may be using both cores


def _monitor(qtbot, data_dir):
    session = ModelSession("lenet", data_dir=data_dir)  # the modern LeNet: TrainConfig's own default network
    widget = TrainingMonitor(session)
    qtbot.addWidget(widget)
    widget.show()
    threads = []
    widget.trainingStarted.connect(lambda: threads.append(widget._thread))
    yield widget
    widget.shutdown()
    assert not widget.is_running()
    assert all(not t.is_alive() for t in threads), "a training thread outlived its test"


@pytest.fixture
def monitor(qtbot, data_dir):
    """The panel on real MNIST: for runs that are stopped or paused mid-epoch."""
    yield from _monitor(qtbot, data_dir)


@pytest.fixture
def small_monitor(qtbot, small_data_dir):
    """The panel on the small synthetic dataset: for runs that go to the end."""
    yield from _monitor(qtbot, small_data_dir)


def click(qtbot, widget, name):
    from PySide6.QtWidgets import QPushButton

    button = widget.findChild(QPushButton, name)
    assert button is not None and button.isEnabled(), f"{name} is not clickable"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    return button


def wait_for_batches(qtbot, monitor, at_least=1, timeout=RUN_TIMEOUT_MS):
    qtbot.waitUntil(lambda: monitor.progress_bar.value() >= at_least, timeout=timeout)
    return monitor.progress_bar.value()


def test_defaults_let_a_teacher_just_press_start(monitor):
    config = monitor.config()
    assert (config.model, config.dataset, config.epochs) == ("lenet", "mnist", 1)
    assert config.as_dict() == TrainConfig().as_dict()  # the panel's defaults are cnnviz train's


def test_the_default_rate_follows_the_epochs_until_the_user_types_one(monitor):
    form = monitor.settings
    form.epochs_spin.setValue(16)
    assert form.lr_spin.value() == pytest.approx(default_lr("adam", 16)) == pytest.approx(0.008 / 4)
    assert monitor.config().learning_rate == pytest.approx(0.002)
    form.lr_spin.setValue(0.05)  # the user's own rate
    form.epochs_spin.setValue(2)
    assert monitor.config().learning_rate == pytest.approx(0.05)
    form.optimizer_combo.setCurrentIndex(form.optimizer_combo.findData("sgd"))  # a new optimizer: its default
    assert monitor.config().learning_rate == pytest.approx(default_lr("sgd", 2))
    assert monitor.objectName() == "trainingMonitor"
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QPushButton

    for name in ("trainStart", "trainPause", "trainStop"):
        assert monitor.findChild(QPushButton, name).toolTip()
    assert [monitor.findChild(QPushButton, n).isEnabled() for n in ("trainStart", "trainPause", "trainStop")] == [
        True, False, False,
    ]  # fmt: skip
    for widget in (monitor.settings.dataset_combo, monitor.settings.model_combo, monitor.settings.init_combo, monitor.settings.optimizer_combo,
                   monitor.settings.lr_spin, monitor.settings.schedule_combo, monitor.settings.batch_spin, monitor.settings.epochs_spin,
                   monitor.settings.augment_check, monitor.settings.mirror_check, monitor.settings.device_combo):  # fmt: skip
        assert widget.toolTip(), f"{widget.objectName()} has no tooltip"
        labelled = isinstance(widget, QAbstractButton) or any(
            label.buddy() is widget for label in monitor.findChildren(QLabel)
        )
        assert labelled, f"{widget.objectName()} has no label"
    devices = [monitor.settings.device_combo.itemData(i) for i in range(monitor.settings.device_combo.count())]
    assert devices[0] == "auto" and "cpu" in devices
    optimizers = [monitor.settings.optimizer_combo.itemData(i) for i in range(monitor.settings.optimizer_combo.count())]
    assert optimizers == ["adam", "adamw", "sgd"]
    assert isinstance(monitor.settings.model_combo, QComboBox) and monitor.settings.model_combo.count() >= 6


def test_mirror_is_offered_for_clothes_but_not_for_digits(monitor):
    monitor.settings.mirror_check.setChecked(True)
    assert not monitor.settings.mirror_check.isEnabled() and not monitor.config().mirror  # MNIST: a mirrored 7 is no 7
    monitor.settings.dataset_combo.setCurrentIndex(monitor.settings.dataset_combo.findData("fashion-mnist"))
    assert monitor.settings.mirror_check.isEnabled() and monitor.config().mirror
    monitor.settings.dataset_combo.setCurrentIndex(monitor.settings.dataset_combo.findData("mnist"))
    assert not monitor.config().mirror


def test_progress_then_stop_within_a_batch(qtbot, monitor):
    order = []
    events = monitor.session.events
    events.network_changed.connect(lambda: order.append("network_changed"))
    events.weights_changed.connect(lambda: order.append("weights_changed"))
    with qtbot.waitSignal(monitor.trainingStarted, timeout=5000):
        click(qtbot, monitor, "trainStart")
    assert monitor.is_running()
    assert monitor.session.model_name == "lenet"  # the network on screen is the one trained
    assert monitor.session.source_kind == "training" and monitor.session.test_accuracy is None
    qtbot.waitUntil(lambda: "weights_changed" in order, timeout=RUN_TIMEOUT_MS)
    assert order[0] == "network_changed"
    assert monitor.session.source.startswith("training (live")
    wait_for_batches(qtbot, monitor, at_least=10)

    x, y = monitor.curves.loss_raw_curve.getData()
    assert x is not None and len(x) > 0 and np.all(np.isfinite(y))
    assert len(monitor.curves.loss_curve.getData()[0]) > 0 and len(monitor.curves.lr_curve.getData()[0]) > 0
    (_, x_top), (y_bottom, y_top) = monitor.curves.loss_plot.viewRange()
    assert x_top >= STEPS and y_bottom == 0 and y_top >= np.max(y)  # the whole run and every loss in view
    assert 0 < monitor.progress_bar.value() < monitor.progress_bar.maximum() == STEPS
    assert "images/s" in monitor.progress_bar.text() and "ETA" in monitor.progress_bar.text()

    seen = monitor.progress_bar.value()
    with qtbot.waitSignal(monitor.trainingFinished, timeout=30_000) as blocker:
        click(qtbot, monitor, "trainStop")
    result = blocker.args[0]
    assert result.reason == "stopped", result
    # The GUI's count lags the worker by at most ~1/30 s of batches; a stop is
    # honoured before the next batch, so only a handful more can have run.
    assert result.steps - seen < 40, (seen, result.steps)
    assert not monitor.is_running()
    assert monitor.message_label.text().startswith("Stopped by the user")
    assert result.adopted and monitor.session.source == "trained in this session"


def test_pause_halts_the_step_counter_and_resume_continues(qtbot, monitor):
    monitor.start()
    wait_for_batches(qtbot, monitor, at_least=1)
    began = time.perf_counter()
    first = wait_for_batches(qtbot, monitor, at_least=5)
    per_batch = (time.perf_counter() - began) / max(first - 1, 1)  # this machine's pace now, not a guess
    pause = click(qtbot, monitor, "trainPause")
    assert pause.text() == "Resume"
    qtbot.waitUntil(lambda: monitor.status_label.text().startswith("Paused"), timeout=10_000)
    assert monitor.progress_bar.text().endswith("paused") and "ETA" not in monitor.progress_bar.text()
    paused_at = monitor.progress_bar.value()
    assert monitor.is_paused()
    qtbot.wait(int(1000 * min(max(10 * per_batch, 0.2), 5.0)))  # ten batches' time: a running loop would move
    assert monitor.progress_bar.value() == paused_at
    assert monitor.curves._loss.n == paused_at  # every batch so far was flushed before the pause

    click(qtbot, monitor, "trainPause")
    assert pause.text() == "Pause"
    wait_for_batches(qtbot, monitor, at_least=paused_at + 5, timeout=30_000)
    with qtbot.waitSignal(monitor.trainingFinished, timeout=10_000) as blocker:
        monitor.stop()
    assert blocker.args[0].reason == "stopped"


def test_stop_while_paused(qtbot, monitor):
    monitor.start()
    wait_for_batches(qtbot, monitor)
    monitor.pause()
    qtbot.waitUntil(lambda: monitor.status_label.text().startswith("Paused"), timeout=10_000)
    with qtbot.waitSignal(monitor.trainingFinished, timeout=10_000) as blocker:
        click(qtbot, monitor, "trainStop")
    assert blocker.args[0].reason == "stopped"


def test_full_epoch_completes_and_the_session_adopts_the_weights(qtbot, small_monitor):
    """A whole run through the panel (MNIST's accuracy is tests/core/test_one_epoch.py's)."""
    monitor = small_monitor
    changed = []
    monitor.session.events.network_changed.connect(lambda: changed.append(monitor.session.source))
    with qtbot.waitSignal(monitor.trainingFinished, timeout=RUN_TIMEOUT_MS) as blocker:
        monitor.start()
    result = blocker.args[0]
    assert result.reason == "completed", result
    assert result.test_accuracy > 0.3  # learned: chance is 0.1
    assert result.steps == SMALL_STEPS and result.epochs_completed == 1
    assert f"{100 * result.test_accuracy:.2f} %" in monitor.accuracy_label.text()

    confusion = np.asarray(result.confusion)
    assert confusion.shape == (10, 10) and confusion.sum() == 200  # the whole test set, once
    assert np.trace(confusion) == round(result.test_accuracy * 200)
    assert (monitor.confusion_view.confusion == confusion).all()
    assert result.class_names == [str(d) for d in range(10)]

    session = monitor.session
    assert result.adopted and changed[-1] == "trained in this session"
    assert (session.model_name, session.dataset) == ("lenet", "mnist")
    assert session.test_accuracy == pytest.approx(result.test_accuracy)
    assert session.metadata["recipe"]["optimizer"] == "adam"

    # The throttled worker lost no batch: one loss point per batch, in order.
    steps, losses = monitor.curves._loss.view()
    assert np.array_equal(steps, np.arange(1, SMALL_STEPS + 1))
    smoothed = monitor.curves._loss_ema.view()[1]
    assert smoothed[-1] < smoothed[0]
    epochs, test_acc = monitor.curves.test_accuracy_curve.getData()
    assert list(epochs) == [1.0] and test_acc[0] == pytest.approx(100 * result.test_accuracy)
    assert monitor.progress_bar.value() == SMALL_STEPS
    assert not monitor.is_running()


def test_a_diverging_run_says_why_in_red(qtbot, monitor):
    monitor.session.load_pretrained("lenet", "mnist")
    monitor.settings.init_combo.setCurrentIndex(monitor.settings.init_combo.findData("current"))
    monitor.settings.optimizer_combo.setCurrentIndex(monitor.settings.optimizer_combo.findData("sgd"))
    monitor.settings.schedule_combo.setCurrentIndex(monitor.settings.schedule_combo.findData("constant"))
    monitor.settings.lr_spin.setValue(1e6)
    with qtbot.waitSignal(monitor.trainingFinished, timeout=RUN_TIMEOUT_MS) as blocker:
        monitor.start()
    result = blocker.args[0]
    assert result.reason == "diverged", result
    assert "diverged" in result.message
    assert monitor.message_label.isVisible()
    assert "diverged" in monitor.message_label.text()
    assert "#c62828" in monitor.message_label.styleSheet()
    assert monitor.start_button.isEnabled() and not monitor.is_running()
    if "from before the run" in result.message:  # the shipped network is back, named as such
        assert result.restored and monitor.session.source_kind == "pretrained"
    else:  # a copy from during the run beat chance on the test set and is kept
        assert result.adopted and monitor.session.source_kind == "trained"


def test_missing_data_is_a_message_not_a_traceback_and_the_model_stays(qtbot, tmp_path):
    session = ModelSession(data_dir=tmp_path)
    session.load_pretrained("lenet5", "mnist")
    model, source = session.model, session.source
    widget = TrainingMonitor(session)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.trainingFinished, timeout=RUN_TIMEOUT_MS) as blocker:
        widget.start()
    result = blocker.args[0]
    assert result.reason == "error"
    assert "MNIST" in result.message and "Traceback" not in result.message
    assert "#c62828" in widget.message_label.styleSheet()
    assert not widget.is_running()
    # Not one batch ran: the pretrained model is back, not the run's random start.
    assert session.model is model and session.source == source and session.source_kind == "pretrained"


def test_live_weights_stop_when_the_user_loads_another_model(qtbot, monitor):
    updates = []
    monitor.session.events.weights_changed.connect(lambda: updates.append(time.perf_counter()))
    monitor.start()
    qtbot.waitUntil(lambda: len(updates) >= 2, timeout=RUN_TIMEOUT_MS)
    gap = updates[-1] - updates[-2]  # how often live weights arrive on this machine now
    monitor.session.load_pretrained("lenet5", "mnist")  # what File > Open would do
    count = len(updates)
    qtbot.wait(int(1000 * min(max(3 * gap, 0.3), 10.0)))  # three updates' time
    assert len(updates) == count  # the user's model is not overwritten
    with qtbot.waitSignal(monitor.trainingFinished, timeout=10_000) as blocker:
        monitor.stop()
    assert not blocker.args[0].adopted and monitor.session.model_name == "lenet5"


def test_shutdown_mid_training_stops_and_joins_the_thread(qtbot, monitor):
    monitor.start()
    wait_for_batches(qtbot, monitor)
    thread = monitor._thread
    assert thread.is_alive()
    monitor.shutdown()  # returns once the thread has ended (a hang fails by pytest-timeout)
    assert not thread.is_alive() and not thread.abandoned
    assert not monitor.is_running() and monitor.start_button.isEnabled()
    monitor.shutdown()  # idempotent
    with qtbot.assertNotEmitted(monitor.trainingFinished, wait=300):
        pass  # the discarded run's late signals are ignored


def test_closing_the_window_while_training_exits_cleanly(data_dir, tmp_path):
    script = textwrap.dedent(
        """
        import sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication, QMainWindow
        from cnnviz.core import ModelSession
        from cnnviz.qt.training.monitor import TrainingMonitor

        class Window(QMainWindow):
            def __init__(self):
                super().__init__()
                self.monitor = TrainingMonitor(ModelSession(data_dir=sys.argv[1]))
                self.setCentralWidget(self.monitor)

            def closeEvent(self, event):
                self.monitor.shutdown()
                super().closeEvent(event)

        app = QApplication(sys.argv[:1])
        window = Window()
        window.show()
        window.monitor.start()

        def close():
            print("running at close:", window.monitor.is_running(), flush=True)
            window.close()

        QTimer.singleShot(1000, close)
        code = app.exec()
        print("running after:", window.monitor.is_running(), flush=True)
        sys.exit(code)
        """
    )
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-c", script, str(data_dir)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "QThread: Destroyed" not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "running at close: True" in proc.stdout
    assert "running after: False" in proc.stdout


def test_learning_rate_field_reads_and_steps_like_a_person_expects(qtbot):
    from cnnviz.qt.training.settings import LearningRateSpinBox

    spin = LearningRateSpinBox()
    qtbot.addWidget(spin)
    spin.setValue(0.002)
    assert spin.text() == "0.002"
    spin.stepBy(1)
    assert spin.value() == pytest.approx(0.005)
    spin.stepBy(-2)
    assert spin.value() == pytest.approx(0.001)
    assert spin.valueFromText("3e-4") == pytest.approx(3e-4)
    spin.setValue(1e6)
    assert spin.value() == 1e6 and spin.text() == "1e+06"


def test_the_modern_lenets_activation_is_a_training_setting(monitor):
    """Sigmoid as the early tutorials used it: its own registered variant, so its weights never load as ReLU."""
    form = monitor.settings
    assert form.activation_combo.isEnabled()  # the default network is the modern LeNet
    form.activation_combo.setCurrentIndex(form.activation_combo.findData("sigmoid"))
    config = monitor.config()
    assert config.model == "lenet-sigmoid"
    from cnnviz.core import build_model

    assert any(type(m).__name__ == "Sigmoid" for m in build_model(config.model).modules())
    form.model_combo.setCurrentIndex(form.model_combo.findData("vgg"))
    assert not form.activation_combo.isEnabled() and monitor.config().model == "vgg"
    form.show_network("lenet-sigmoid", "fashion-mnist")  # a sigmoid run's network shown: the form follows
    assert form.model_combo.currentData() == "lenet" and form.activation_combo.currentData() == "sigmoid"
