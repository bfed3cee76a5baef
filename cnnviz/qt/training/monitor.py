"""The Training panel: settings, Start/Pause/Stop, progress, live curves, and how the run ended.

The panel is a thin face of ``cnnviz.core.training.run.TrainingRun`` (the CLI
is the other): it builds the run from the form, drives it on a ``RunThread``
(superqt's worker), shows its typed reports, asks "Keep the weights?" when the
run says so, and hands the ``RunEnd`` to the session, which decides what
becomes of the run's model. It trains the network on screen: choosing another
network in the form switches the network on screen (with the window's
Save/Discard question), and "is a run going on?" is the session's answer.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from cnnviz.core import CnnvizError, EpochStats, ModelSession, device_label, get_spec, resolve_device
from cnnviz.core.training.run import GO_BACK, LiveWeights, Progress, RunEnd, TrainingRun, copy_weights
from cnnviz.qt.training.curves import TrainingCurves
from cnnviz.qt.training.evaluation_panel import EvaluationPanel
from cnnviz.qt.training.runs_list import RunsList
from cnnviz.qt.training.settings import TrainingSettings
from cnnviz.qt.training.worker import RunThread
from cnnviz.qt.widgets.style import ERROR_STYLE, scaled_font

__all__ = ["TrainingMonitor"]

PROGRESS_INTERVAL = 0.1  # seconds between progress-bar updates (QProgressBar repaints at once)
WEIGHTS_INTERVAL = 0.5  # seconds between the live weights the other panels show
_ENDED = {"completed": "Training complete.", "stopped": "Training stopped.",
          "diverged": "Training diverged.", "error": "Training failed."}  # fmt: skip


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


STUCK_MS = 2000  # a batch that does not end within this after Stop is stuck in user code


class TrainingMonitor(QWidget):
    """Train the network on screen on MNIST or Fashion-MNIST and watch it learn.

    Parameters
    ----------
    session
        The app's owner of state: the network trained, where the data is
        (``session.data_dir``), whether a run is going on (``session.training``).
    confirm_discard, ask, switch_network
        The window's questions and its network switch, passed in (a panel never
        calls the window). Without ``switch_network`` the panel loads the chosen
        network's shipped weights itself.

    Signals
    -------
    trainingStarted()          a run started in this panel
    progressed(object)         a ``Progress`` report of the run
    epochEnded(object)         an ``EpochStats``
    trainingFinished(object)   the run's ``RunEnd``, after the session applied it (``adopted``/``restored``)
    """

    trainingStarted = Signal()
    progressed = Signal(object)
    epochEnded = Signal(object)
    trainingFinished = Signal(object)

    def __init__(self, session: ModelSession, parent=None, *, confirm_discard=None, ask=None,
                 switch_network=None, ensure_data=None) -> None:  # fmt: skip
        super().__init__(parent)
        self._confirm_discard, self._ask, self._switch_network = confirm_discard, ask, switch_network
        # ensure_data(dataset, then) -> bool: True if the dataset is there, else the window offers a download
        self._ensure_data = ensure_data
        self.setObjectName("trainingMonitor")
        self.setAccessibleName("Training monitor")
        self.session = session
        self._thread: RunThread | None = None
        self.abandoned_run: RunThread | None = None  # a run stuck in user code when the window closed
        self._run_id = 0
        self._note: str | None = None
        self._step = self._total_steps = 0
        self._progress_text = ""
        self._progress_dirty = False
        self._last_progress = 0.0
        self._training_text = ""

        self.settings = TrainingSettings()
        self.settings.networkChosen.connect(self._on_network_chosen)
        self._build_controls()
        self.curves = TrainingCurves()
        self.results = EvaluationPanel(session)  # Evaluate, the confusion matrix, the error gallery
        self.results.ensure_data = ensure_data
        self.confusion_view = self.results.matrix
        self.runs = RunsList(self.curves)
        self.curves.ticked.connect(self._on_tick)
        layout = QVBoxLayout(self)
        layout.addWidget(self.settings)
        layout.addLayout(self._buttons_row)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addLayout(self._result_row)
        layout.addWidget(self.curves, stretch=1)
        # One above the other: side by side they would not fit a projector's column (no sideways scrolling).
        layout.addWidget(self.results, stretch=1)
        layout.addWidget(self.runs)
        self._set_running_ui(False)
        self._on_network_changed()  # the form shows the network on screen, and follows it (follow)

        app = QCoreApplication.instance()
        if app is not None:  # a last resort if the app quits without closing us
            app.aboutToQuit.connect(self.shutdown)

    def follow(self, state) -> None:
        """Subscribe to the app's state, as every panel does."""
        state.networkChanged.connect(self._on_network_changed)
        self.results.follow(state)

    # -- public API ---------------------------------------------------------------
    def is_running(self) -> bool:
        """Whether a run is going on: the session's one answer."""
        return self.session.training

    def is_paused(self) -> bool:
        return self._thread is not None and self._thread.is_paused

    @property
    def steps_done(self) -> int:
        """Batches of the current (or last) run that the panel has heard of."""
        return self._step

    def config(self):
        """The settings as a ``TrainConfig`` (raises ``CnnvizError`` if one is invalid)."""
        return self.settings.config()

    def start(self) -> bool:
        """Train the network on screen with the current settings (what the Start button does).

        Returns False, with the reason shown, if the settings are unusable or the user cancels.
        """
        if self.is_running() or self._thread is not None:
            return False
        session = self.session
        try:
            config = self.config()
            if (config.model, config.dataset) != (session.model_name, session.dataset):
                # The form follows the screen; should they differ, the switch is visible and asked, never silent.
                if not self._switch(config.model, config.dataset):
                    return False
            if self._ensure_data is not None and not self._ensure_data(config.dataset, self.start):
                return False
            device = device_label(resolve_device(config.device))
            from_current = self.settings.init_combo.currentData() == "current"
            if not from_current and self._confirm_discard and not self._confirm_discard("training from scratch"):
                return False
            model, self._note = session.begin_training(config.model, config.dataset, from_current, config.seed)
        except CnnvizError as exc:
            self._show_message(str(exc), error=True)
            return False

        self._run_id += 1
        self._step = self._total_steps = 0
        self._progress_text = ""
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Loading…")
        self.results.run_started(self._run_id)
        self.curves.start_run(config.epochs, config.learning_rate)
        self.runs.run_started(self._run_id, config, from_current)
        self._show_message("")
        self.accuracy_label.setText("Test accuracy: –")
        dataset = self.settings.dataset_combo.currentText()
        self.status_label.setText(f"Loading {dataset}…")
        self._training_text = f"Training {get_spec(config.model).display_name} on {device}…"

        run = TrainingRun(config, model, session.data_dir, weights_interval=WEIGHTS_INTERVAL)
        thread = RunThread(run)
        thread.reported.connect(self._on_report)
        thread.paused.connect(self._on_paused)
        thread.resumed.connect(self._on_resumed)
        thread.failed.connect(self._on_failed)
        self._thread = thread
        self._set_running_ui(True)
        thread.start()
        self.trainingStarted.emit()
        return True

    def pause(self) -> None:
        if self._thread is not None and not self._thread.is_paused:
            self._thread.pause()
            self._set_pause_button(paused=True)
            self.status_label.setText("Pausing after this batch…")

    def resume(self) -> None:
        if self._thread is not None and self._thread.is_paused:
            self._thread.resume()
            self._set_pause_button(paused=False)
            self.status_label.setText(self._training_text)

    def toggle_pause(self) -> None:
        """Pause a running run, or resume a paused one (the Pause/Resume button)."""
        if self.is_paused():
            self.resume()
        else:
            self.pause()

    def stop(self) -> None:
        """Ask the run to stop after the current batch; ``trainingFinished`` follows. Never waits."""
        if self._thread is not None:
            self._thread.stop()
            self.stop_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self.status_label.setText("Stopping after this batch…")

    def shutdown(self) -> None:
        """Stop the run and discard it: the network from before the run is back, no question asked.

        For closing the window (which asked already); safe when idle and more than once. Waits at
        most ``SHUTDOWN_GRACE_S`` for the run's thread; a run stuck in a user's network is abandoned.
        """
        self.results.shutdown()
        thread, self._thread = self._thread, None
        if thread is None:
            return
        for signal in (thread.reported, thread.paused, thread.resumed, thread.failed):
            signal.disconnect()  # whatever the run still sends is stale now
        ended = thread.shutdown()
        self.abandoned_run = None if ended else thread  # cnnviz.qt.app.launch ends the process past it
        if self.session.training:
            self.session.end_training(RunEnd("stopped", "Closed during training.", steps=0))
        self.curves.stop_run()
        self._set_running_ui(False)
        self.status_label.setText(
            "Training stopped."
            if ended
            else "Training abandoned: the run did not stop in time (stuck in the network's code?)."
        )

    # -- building the view --------------------------------------------------------
    def _build_controls(self) -> None:
        self.start_button = QPushButton("Start", objectName="trainStart")
        self.start_button.setToolTip("Train with these settings. The other panels show the network as it learns.")
        self.pause_button = QPushButton("Pause", objectName="trainPause")
        self.pause_button.setToolTip("Pause training after the current batch (the weights stay as they are).")
        self.stop_button = QPushButton("Stop", objectName="trainStop")
        self.stop_button.setToolTip("Stop after the current batch and keep the weights learned so far.")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        row = QHBoxLayout()
        for button, name in ((self.start_button, "Start training"), (self.pause_button, "Pause or resume training"),
                             (self.stop_button, "Stop training")):  # fmt: skip
            button.setAccessibleName(name)
            row.addWidget(button)
        self._buttons_row = row

        self.progress_bar = QProgressBar(objectName="trainProgress")
        self.progress_bar.setToolTip("Batches done, throughput and the estimated time left.")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Ready")
        self.status_label = QLabel("Press Start to train.", objectName="trainStatus")
        self.status_label.setToolTip("What training is doing right now.")

        self.accuracy_label = QLabel("Test accuracy: –", objectName="trainAccuracy")
        self.accuracy_label.setFont(scaled_font(self.font(), 1.2, bold=True))
        self.accuracy_label.setToolTip("Accuracy on the 10,000 test images the network never trained on.")
        self.message_label = QLabel("", objectName="trainMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.message_label.setToolTip("How the last run ended.")
        row = QHBoxLayout()
        row.addWidget(self.accuracy_label)
        row.addWidget(self.message_label, stretch=1)
        self._result_row = row

    # -- the network on screen ---------------------------------------------------------
    def _on_network_changed(self) -> None:
        if not self.is_running():
            self.settings.show_network(self.session.model_name, self.session.dataset)

    def _on_network_chosen(self, model: str, dataset: str) -> None:
        """The user chose another network in the form: put it on screen (or put the form back)."""
        session = self.session
        if self.is_running() or (model, dataset) == (session.model_name, session.dataset):
            return
        try:
            switched = self._switch(model, dataset)
        except CnnvizError as exc:
            self._show_message(str(exc), error=True)
            switched = False
        if not switched:
            self.settings.show_network(session.model_name, session.dataset)

    def _switch(self, model: str, dataset: str) -> bool:
        if self._switch_network is not None:  # the window's switch: Save/Discard, messages, the user's networks
            return bool(self._switch_network(model, dataset))
        if self._confirm_discard is not None and not self._confirm_discard("switching the network"):
            return False
        self.session.load_pretrained(model, dataset)
        return True

    # -- the run's reports (GUI thread) ----------------------------------------------
    def _on_report(self, report) -> None:
        if self.sender() is not self._thread:
            return  # a run shut down since
        if isinstance(report, Progress):
            self._on_progress(report)
        elif isinstance(report, EpochStats):
            self.curves.add_epoch(report.epoch, report.train_accuracy, report.test_accuracy)
            self.runs.add_epoch(report)
            self.accuracy_label.setText(f"Test accuracy: {100 * report.test_accuracy:.2f} % (epoch {report.epoch})")
            self.epochEnded.emit(report)
        elif isinstance(report, LiveWeights):
            self.session.show_live_weights(report.weights, report.step)
        elif isinstance(report, RunEnd):
            self._finish(report)

    def _on_progress(self, p: Progress) -> None:
        if not self._step and not self.is_paused():
            self.status_label.setText(self._training_text)
        self.curves.add_batches(p)
        self.runs.add_batches(p)
        self._step, self._total_steps = p.step, p.total_steps
        self._progress_text = (
            f"%p% · batch {p.step:,}/{p.total_steps:,} · epoch {p.epoch}/{p.epochs} · "
            f"{p.images_per_second:,.0f} images/s · ETA {format_duration(p.eta_seconds)}"
        )
        self._progress_dirty = True
        self.progressed.emit(p)

    def _on_paused(self) -> None:
        thread = self._thread
        if thread is None or self.sender() is not thread:
            return
        self.status_label.setText(f"Paused at batch {self._step:,} of {self._total_steps:,}.")
        # No time passes for the run while paused: the ETA says so rather than freeze.
        self._progress_text = self._progress_text.split(" · ETA")[0] + " · paused"
        # The run's thread waits between two batches: its weights are consistent, worth a look.
        if self._step:
            self.session.show_live_weights(copy_weights(thread.run.model), self._step)
        self.curves.redraw()
        self._redraw_progress()

    def _on_resumed(self) -> None:
        if self._thread is not None and self.sender() is self._thread and not self._thread.run.control.stopped:
            self.status_label.setText(self._training_text)

    def _on_failed(self, exc) -> None:
        """The one error path for a failure outside the run's own (a bug): an ended run, one sentence."""
        if self._thread is not None and self.sender() is self._thread:
            run = self._thread.run
            self._finish(RunEnd("error", f"Training failed unexpectedly ({type(exc).__name__}: {exc}).",
                                steps=run.step, model_name=run.config.model, dataset=run.config.dataset))  # fmt: skip

    def _finish(self, end: RunEnd) -> None:
        run_id, self._thread = self._run_id, None
        if self._progress_dirty:  # the last batches' report came within the bar's redraw interval
            self._redraw_progress()
        self.curves.stop_run()
        if end.asks_to_keep and self._ask is not None:
            end.go_back = self._ask(*end.keep_question()) == GO_BACK  # Enter keeps: the default button
        end = self.session.end_training(end)
        message = f"{self._note} {end.message}" if self._note else end.message
        self._note = None
        self._set_running_ui(False)
        if end.test_accuracy is not None:
            self.accuracy_label.setText(f"Test accuracy: {100 * end.test_accuracy:.2f} %")
        self.results.run_finished(run_id, end)
        self.runs.run_finished(end)
        self._show_message(message, error=end.reason in ("diverged", "error"))
        self.status_label.setText(_ENDED.get(end.reason, end.reason))
        self._show_ended_progress(end)
        self.trainingFinished.emit(end)

    def _show_ended_progress(self, end: RunEnd) -> None:
        """The bar after the run: what was done, and no ETA (nothing is left to wait for)."""
        self._progress_dirty = False
        bar = self.progress_bar
        if end.reason == "completed":
            bar.setFormat(f"Done  ·  {end.steps:,} batches in {format_duration(end.seconds)}")
        elif self._total_steps:
            bar.setRange(0, self._total_steps)
            bar.setValue(self._step)
            bar.setFormat(f"{end.reason.capitalize()} at batch {self._step:,} of {self._total_steps:,}")
        else:
            bar.setFormat(_ENDED.get(end.reason, end.reason))

    # -- drawing ----------------------------------------------------------------------
    def _on_tick(self) -> None:
        if self._progress_dirty and time.perf_counter() - self._last_progress >= PROGRESS_INTERVAL:
            self._redraw_progress()

    def _redraw_progress(self) -> None:
        self._progress_dirty = False
        self._last_progress = time.perf_counter()
        if self._total_steps:
            # setValue repaints at once and setFormat again later: one paint instead.
            bar = self.progress_bar
            bar.setUpdatesEnabled(False)
            bar.setRange(0, self._total_steps)
            bar.setFormat(self._progress_text)
            bar.setValue(self._step)
            bar.setUpdatesEnabled(True)

    # -- UI state -----------------------------------------------------------------------
    def _set_running_ui(self, running: bool) -> None:
        self.settings.setEnabled(not running)
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self._set_pause_button(paused=False)

    def _set_pause_button(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setToolTip(
            "Continue training from where it paused." if paused
            else "Pause training after the current batch (the weights stay as they are)."
        )  # fmt: skip

    def _show_message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet(ERROR_STYLE if error else "")

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:  # presentation mode: the headline grows with the rest
            self.accuracy_label.setFont(scaled_font(self.font(), 1.2, bold=True))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self._progress_dirty:
            self._redraw_progress()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.shutdown()
        super().closeEvent(event)
