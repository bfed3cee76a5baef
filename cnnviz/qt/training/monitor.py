"""The Training panel: settings, Start/Pause/Stop, progress, live curves, and how the run ended.

The panel owns one ``TrainingWorker`` per run, in its own ``QThread``. It
talks to the app's one owner of state, the ``ModelSession``, and to nobody
else: ``begin_training`` when a run starts, ``show_live_weights`` about twice
a second while it runs (every other panel follows through the session's
``weights_changed`` event), and ``end_training`` at the end, where the core
decides what becomes of the run's model. Every payload carries its run's id,
and anything from an older run is dropped.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QCoreApplication, QThread, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from cnnviz.core import CnnvizError, ModelSession, device_label, resolve_device
from cnnviz.core.session.session import RunEnd
from cnnviz.qt.training.curves import TrainingCurves
from cnnviz.qt.training.evaluation_panel import EvaluationPanel
from cnnviz.qt.training.runs_list import RunsList
from cnnviz.qt.training.settings import TrainingSettings
from cnnviz.qt.training.worker import TrainingWorker
from cnnviz.qt.widgets.style import ERROR_STYLE, scaled_font

__all__ = ["TrainingMonitor"]

PROGRESS_INTERVAL = 0.1  # seconds between progress-bar updates (QProgressBar repaints at once)
_PUBLIC_RESULT_KEYS = (
    "reason", "message", "test_accuracy", "confusion", "per_class_accuracy", "class_names",
    "epochs_completed", "steps", "seconds", "device", "model_name", "dataset",
)  # fmt: skip
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
    """Train a network on MNIST or Fashion-MNIST and watch it learn.

    Parameters
    ----------
    session
        The app's owner of state; it shows the run's weights while training
        and decides what becomes of the run's model at the end.
    data_dir
        Folder with the datasets (``None``: ``CNNVIZ_DATA_DIR`` or the user data folder).

    Signals
    -------
    trainingStarted()       a run started in this panel
    trainingFinished(dict)  the panel has shown how the run ended (plain fields, see ``_PUBLIC_RESULT_KEYS``)
    """

    trainingStarted = Signal()
    trainingFinished = Signal(dict)

    def __init__(self, session: ModelSession, data_dir=None, parent=None, *, confirm_discard=None, ask=None) -> None:
        super().__init__(parent)
        # The window's questions, passed in (the panel never calls the window): before a run from
        # scratch replaces a trained, unsaved network, and whether to keep a stopped run's weights.
        self._confirm_discard, self._ask = confirm_discard, ask
        self.setObjectName("trainingMonitor")
        self.setAccessibleName("Training monitor")
        self.session = session
        self._data_dir = data_dir
        self._worker: TrainingWorker | None = None
        self.abandoned_run = None  # (worker, thread) of a run stuck in user code when the window closed
        self._thread: QThread | None = None
        self._run_id = 0
        self._current_run: int | None = None
        self._note: str | None = None
        self._step = self._total_steps = 0
        self._progress_text = ""
        self._progress_dirty = False
        self._last_progress = 0.0

        self.settings = TrainingSettings()
        self._build_controls()
        self.curves = TrainingCurves()
        self.results = EvaluationPanel(session, data_dir)  # Evaluate, the confusion matrix, the error gallery
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
        # The form starts at the recipe a lecturer starts with (TrainConfig's defaults, the modern
        # LeNet), then follows every network the user picks or opens.
        session.events.network_changed.connect(self._on_network_changed)
        self.destroyed.connect(lambda: session.events.network_changed.disconnect(self._on_network_changed))

        app = QCoreApplication.instance()
        if app is not None:  # a last resort if the app quits without closing us
            app.aboutToQuit.connect(self.shutdown)

    # -- public API ---------------------------------------------------------------
    def is_running(self) -> bool:
        return self._thread is not None

    def is_paused(self) -> bool:
        return self._worker is not None and self._worker.paused

    @property
    def steps_done(self) -> int:
        """Batches of the current (or last) run that the panel has heard of."""
        return self._step

    def config(self):
        """The settings as a ``TrainConfig`` (raises ``CnnvizError`` if one is invalid)."""
        return self.settings.config()

    def start(self) -> bool:
        """Start training with the current settings (what the Start button does).

        Returns False, with the reason shown, if the settings are unusable.
        """
        if self.is_running():
            return False
        try:
            config = self.config()
            device = device_label(resolve_device(config.device))
            from_current = self.settings.init_combo.currentData() == "current"
            if not from_current and self._confirm_discard and not self._confirm_discard("training from scratch"):
                return False
            model, self._note = self.session.begin_training(config.model, config.dataset, from_current, config.seed)
        except CnnvizError as exc:
            self._show_message(str(exc), error=True)
            return False

        self._run_id += 1
        self._current_run = self._run_id
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
        self.status_label.setText(f"Starting on {device}…")

        worker = TrainingWorker(config, model, self._data_dir, run_id=self._run_id)
        thread = QThread()
        thread.setObjectName("cnnviz-training")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.status.connect(self._on_worker_status)
        worker.progress.connect(self._on_worker_progress)
        worker.epochEnded.connect(self._on_worker_epoch)
        worker.weightsReady.connect(self._on_worker_weights)
        worker.pausedChanged.connect(self._on_worker_paused)
        worker.finished.connect(self._on_worker_finished)
        self._worker, self._thread = worker, thread
        self._set_running_ui(True)
        thread.start()
        self.trainingStarted.emit()
        return True

    def pause(self) -> None:
        if self._worker is not None and not self._worker.paused:
            self._worker.pause()
            self._set_pause_button(paused=True)
            self.status_label.setText("Pausing after this batch…")

    def resume(self) -> None:
        if self._worker is not None and self._worker.paused:
            self._worker.resume()
            self._set_pause_button(paused=False)
            self.status_label.setText("Training…")

    def toggle_pause(self) -> None:
        """Pause a running run, or resume a paused one (the Pause/Resume button)."""
        if self.is_paused():
            self.resume()
        else:
            self.pause()

    def stop(self) -> None:
        """Ask the run to stop after the current batch; ``trainingFinished`` follows."""
        if self._worker is not None:
            self._worker.stop()
            self.stop_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self.status_label.setText("Stopping after this batch…")

    def shutdown(self) -> None:
        """Stop the run and wait for its thread; the run is discarded (no adoption, no signals).

        For closing the window; safe to call when idle and more than once.
        """
        self.results.shutdown()
        worker, thread = self._worker, self._thread
        if thread is None:
            return
        self._current_run = None  # whatever the worker still sends is stale now
        worker.stop()
        thread.quit()
        if not thread.wait(STUCK_MS):  # stuck inside the network's own code: abandon it, the app still closes
            self.abandoned_run = (worker, thread)  # kept referenced; cnnviz.qt.app.launch ends the process
            self.status_label.setText("The run was stuck inside the network's code and was abandoned.")
            return
        self._worker = self._thread = None
        self.curves.stop_run()
        self._set_running_ui(False)
        self.status_label.setText("Training stopped.")

    def show_confusion(self, confusion: np.ndarray | None, names: list[str] | None = None) -> None:
        self.results.show_confusion(confusion, names)

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

    # -- the owner's events -------------------------------------------------------------
    def _on_network_changed(self) -> None:
        if not self.is_running():
            self.settings.show_network(self.session.model_name, self.session.dataset)

    # -- worker signals (GUI thread) -------------------------------------------------
    def _is_current(self, payload: dict) -> bool:
        return self._current_run is not None and payload.get("run") == self._current_run

    def _on_worker_status(self, text: str) -> None:
        if self._worker is not None and self._worker is self.sender() and not self._worker.paused:
            self.status_label.setText(text)

    def _on_worker_progress(self, p: dict) -> None:
        if not self._is_current(p):
            return
        self.curves.add_batches(p)
        self.runs.add_batches(p)
        self._step, self._total_steps = p["step"], p["total_steps"]
        ips, eta = p["images_per_second"], p["eta_seconds"]
        self._progress_text = (
            f"%p% · batch {p['step']:,}/{p['total_steps']:,} · epoch {p['epoch']}/{p['epochs']} · "
            f"{ips:,.0f} images/s · ETA {format_duration(eta)}"
        )
        self._progress_dirty = True

    def _on_worker_epoch(self, e: dict) -> None:
        if not self._is_current(e):
            return
        self.curves.add_epoch(e["epoch"], e["train_accuracy"], e["test_accuracy"])
        self.runs.add_epoch(e)
        self.accuracy_label.setText(f"Test accuracy: {100 * e['test_accuracy']:.2f} % (epoch {e['epoch']})")

    def _on_worker_weights(self, w: dict) -> None:
        if self._is_current(w):
            self.session.show_live_weights(w["weights"], w["step"])

    def _on_worker_paused(self, paused: bool) -> None:
        if self._worker is None or self._worker is not self.sender():
            return
        if paused:
            self.status_label.setText(f"Paused at batch {self._step:,} of {self._total_steps:,}.")
            # No time passes for the run while paused: the ETA says so rather than freeze.
            self._progress_text = self._progress_text.split(" · ETA")[0] + " · paused"
            self.curves.redraw()
            self._redraw_progress()

    def _on_worker_finished(self, result: dict) -> None:
        if not self._is_current(result):
            return
        # The worker has returned from its last line of work: joining is immediate.
        thread = self._thread
        thread.quit()
        thread.wait()
        self._worker = self._thread = None
        self._current_run = None
        self.curves.stop_run()
        self._redraw_progress()

        reason = result["reason"]
        go_back = False
        if reason == "stopped" and result.get("steps", 0) > 0 and self._ask is not None:
            answer = self._ask(
                "Keep the weights?",
                f"The run stopped after {result['steps']:,} batches. Keep the weights it learned so far, "
                "or go back to the network from before the run?",
                ["Keep", "Go back"],
            )
            go_back = answer == "Go back"
        end = self.session.end_training(
            RunEnd(
                reason=reason,
                message=result["message"],
                steps=result.get("steps", 0),
                model=result.get("model"),
                metadata=result.get("metadata"),
                test_accuracy=result.get("test_accuracy"),
                kept_weights_from_before=bool(result.get("kept_weights_from_before")),
                go_back=go_back,
            )
        )
        message = f"{self._note} {end.message}" if self._note else end.message
        self._note = None
        self._set_running_ui(False)
        if result.get("test_accuracy") is not None:
            self.accuracy_label.setText(f"Test accuracy: {100 * result['test_accuracy']:.2f} %")
        self.results.run_finished(result["run"], result, end.adopted)
        self.runs.run_finished(result)
        self._show_message(message, error=reason in ("diverged", "error"))
        self.status_label.setText(_ENDED.get(reason, reason))
        if reason == "completed":
            self.progress_bar.setFormat(f"Done  ·  {result['steps']:,} batches in {format_duration(result['seconds'])}")
        public = {key: result.get(key) for key in _PUBLIC_RESULT_KEYS}
        public.update(message=message, adopted=end.adopted, restored=end.restored)
        self.trainingFinished.emit(public)

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
