"""The live training monitor: settings, Start/Pause/Stop, curves, and the result.

The view owns one ``TrainingWorker`` per run, in its own ``QThread``. Worker
signals only append to numpy buffers and set a flag; a ~30 Hz timer redraws
the curves, so the cost of drawing does not grow with the batch rate. Every
payload carries its run's id, and anything from an older run is dropped.

While training, the session (the app's current model) is fed the training
weights about twice a second (``weightsUpdated``) so the other panels can show
the network learning the user's drawing; at the end the trained model is
adopted into the session (``sessionChanged``) so File > Save weights saves it.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QPoint, QRect, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGraphicsItem,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core import (
    DATASETS,
    CnnvizError,
    ModelSession,
    TrainConfig,
    available_devices,
    device_label,
    list_models,
    resolve_device,
)
from cnnviz.core.training import DEFAULT_LR, OPTIMIZERS, SCHEDULES
from cnnviz.qt.style import scaled_font
from cnnviz.qt.training_worker import TrainingWorker

__all__ = ["LearningRateSpinBox", "TrainingMonitor"]

REDRAW_HZ = 30  # the redraw timer; the plots redraw at this rate when the GUI thread can afford it
MIN_REDRAW_HZ = 10
GUI_BUDGET = 0.06  # the share of one core the GUI thread should use while training (see _on_redraw_timer)
LOSS_SMOOTHING = 0.95  # EMA factor for the bold loss curve (debiased, as TensorBoard does)
ERROR_STYLE = "color: #c62828; font-weight: bold;"
CONFUSION_TITLE = "Confusion matrix (test set)"
SLOW_PLOT_EVERY = 3  # the learning-rate and accuracy curves change slowly: a third of the loss curve's rate
PROGRESS_INTERVAL = 0.1  # seconds between progress-bar updates (QProgressBar repaints at once)

_OPTIMIZER_TIPS = {
    "adam": "Adam: adapts a step size per weight; works well with little tuning.",
    "adamw": "AdamW: Adam with decoupled weight decay.",
    "sgd": "SGD with Nesterov momentum 0.9: the classic; needs a larger learning rate.",
}
_SCHEDULE_TIPS = {
    "onecycle": "One-cycle: warm up to the learning rate for the first quarter, then anneal to almost zero.",
    "cosine": "Cosine: start at the learning rate and anneal to zero along a cosine.",
    "constant": "Constant: the same learning rate throughout.",
}
_PUBLIC_RESULT_KEYS = (
    "reason", "message", "test_accuracy", "confusion", "per_class_accuracy", "class_names",
    "epochs_completed", "steps", "seconds", "device", "model_name", "dataset",
)  # fmt: skip


class LearningRateSpinBox(QDoubleSpinBox):
    """A learning-rate field: shows ``2e-03`` style numbers and steps through 1, 2, 5 x 10^k."""

    _MANTISSAS = (1.0, 2.0, 5.0)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setDecimals(12)  # keep tiny rates; the text is formatted below
        self.setRange(1e-7, 1e7)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return f"{value:.3g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            value = float(text)
        except ValueError:
            # Half-typed numbers ("1e", "0.") are fine while typing.
            return QValidator.State.Intermediate, text, pos
        ok = self.minimum() <= value <= self.maximum()
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802
        ladder = self._ladder()
        here = int(np.argmin(np.abs(np.log(ladder) - math.log(self.value()))))
        self.setValue(float(ladder[int(np.clip(here + steps, 0, len(ladder) - 1))]))

    def _ladder(self) -> np.ndarray:
        exponents = range(math.floor(math.log10(self.minimum())), math.ceil(math.log10(self.maximum())) + 1)
        values = np.array([m * 10.0**e for e in exponents for m in self._MANTISSAS])
        return values[(values >= self.minimum()) & (values <= self.maximum())]


class _Series:
    """A growing pair of numpy buffers; ``view()`` is the filled part (no copy)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.x = np.zeros(capacity)
        self.y = np.zeros(capacity)
        self.n = 0

    def extend(self, x, y) -> None:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        end = self.n + len(x)
        if end > len(self.x):
            size = max(end, 2 * len(self.x))
            self.x = np.concatenate([self.x[: self.n], np.zeros(size - self.n)])
            self.y = np.concatenate([self.y[: self.n], np.zeros(size - self.n)])
        self.x[self.n : end] = x
        self.y[self.n : end] = y
        self.n = end

    def clear(self) -> None:
        self.n = 0

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]


class _Ema:
    """Debiased exponential moving average, fed point by point."""

    def __init__(self, beta: float) -> None:
        self.beta = beta
        self.clear()

    def clear(self) -> None:
        self._value, self._count = 0.0, 0

    def feed(self, values: np.ndarray) -> np.ndarray:
        out = np.empty(len(values))
        for i, v in enumerate(values):
            if not math.isfinite(v):  # a diverging batch: show the raw point, keep the average sane
                out[i] = self.value if self._count else v
                continue
            self._count += 1
            self._value = self.beta * self._value + (1 - self.beta) * v
            out[i] = self.value
        return out

    @property
    def value(self) -> float:
        return self._value / (1 - self.beta**self._count) if self._count else math.nan


def _format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainingMonitor(QWidget):
    """Train a model on MNIST or Fashion-MNIST and watch it learn.

    Parameters
    ----------
    session
        The app's current model; it shows the training weights while training
        and adopts the trained model at the end.
    data_dir
        Folder with the datasets (``None``: ``CNNVIZ_DATA_DIR`` or the user data folder).
    """

    trainingStarted = Signal()
    weightsUpdated = Signal()
    sessionChanged = Signal()
    trainingFinished = Signal(dict)

    def __init__(self, session: ModelSession, data_dir=None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingMonitor")
        self.setAccessibleName("Training monitor")
        self.session = session
        self._data_dir = data_dir
        self._worker: TrainingWorker | None = None
        self._thread: QThread | None = None
        self._run_id = 0
        self._current_run: int | None = None
        self._run: dict = {}
        self._plots_dirty = self._progress_dirty = False
        self._step = 0
        self._total_steps = 0
        self.last_result: dict | None = None
        self._pending_note: str | None = None
        self._progress_text = ""
        self._plot_interval = 1.0 / REDRAW_HZ
        self._last_plot = self._last_progress = 0.0
        self._budget_window: tuple[float, float, int] | None = None  # (wall, GUI CPU, plot redraws) at its start
        self._plot_redraws = 0

        self._loss = _Series()
        self._loss_ema = _Series()
        self._lr = _Series()
        self._batch_acc = _Series()
        self._epoch_train = _Series(64)
        self._epoch_test = _Series(64)
        self._smooth_loss = _Ema(LOSS_SMOOTHING)
        self._smooth_acc = _Ema(LOSS_SMOOTHING)

        self._build_settings()
        self._build_controls()
        self._build_plots()
        layout = QVBoxLayout(self)
        layout.addWidget(self._settings_box)
        layout.addLayout(self._buttons_row)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addLayout(self._result_row)
        layout.addWidget(self.plots, stretch=1)

        self._redraw_timer = QTimer(self)
        self._redraw_timer.setInterval(round(1000 / REDRAW_HZ))
        self._redraw_timer.timeout.connect(self._on_redraw_timer)
        self._set_running_ui(False)

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
        """Batches of the current (or last) run that the monitor has heard of."""
        return self._step

    def start(self) -> bool:
        """Start training with the current settings (what the Start button does).

        Returns False, with the reason shown, if the settings are unusable.
        """
        if self.is_running():
            return False
        try:
            config = self.config()
            device = device_label(resolve_device(config.device))
            self._pending_note = None
            before = self.session.state()
            model = self._prepare_session(config, from_current=self.init_combo.currentData() == "current")
        except CnnvizError as exc:
            self._show_message(str(exc), error=True)
            return False

        self._run_id += 1
        self._current_run = self._run_id
        self._run = {"model": config.model, "dataset": config.dataset, "live_model": self.session.model,
                     "epochs": config.epochs, "lr": config.learning_rate, "before": before}  # fmt: skip
        self._clear_plots()
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
        self._budget_window = None
        self._plot_interval = 1.0 / REDRAW_HZ
        self._redraw_timer.start()
        self.trainingStarted.emit()
        return True

    def pause(self) -> None:
        if self._worker is not None and not self._worker.paused:
            self._worker.pause()
            self.pause_button.setText("Resume")
            self.pause_button.setToolTip("Continue training from where it paused.")
            self.status_label.setText("Pausing after this batch…")

    def resume(self) -> None:
        if self._worker is not None and self._worker.paused:
            self._worker.resume()
            self.pause_button.setText("Pause")
            self.pause_button.setToolTip("Pause training after the current batch (the weights stay as they are).")
            self.status_label.setText("Training…")

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
        worker, thread = self._worker, self._thread
        if thread is None:
            return
        self._current_run = None  # whatever the worker still sends is stale now
        worker.stop()
        thread.quit()
        thread.wait()
        self._worker = self._thread = None
        self._redraw_timer.stop()
        self._set_running_ui(False)
        self.status_label.setText("Training stopped.")

    def config(self) -> TrainConfig:
        """The settings as a ``TrainConfig`` (raises ``CnnvizError`` if one is invalid)."""
        dataset = self.dataset_combo.currentData()
        return TrainConfig(
            model=self.model_combo.currentData(),
            dataset=dataset,
            epochs=self.epochs_spin.value(),
            batch_size=self.batch_spin.value(),
            lr=self.lr_spin.value(),
            optimizer=self.optimizer_combo.currentData(),
            schedule=self.schedule_combo.currentData(),
            augment=self.augment_check.isChecked(),
            mirror=self.mirror_check.isChecked() and DATASETS[dataset].mirror_safe,
            device=self.device_combo.currentData(),
        )

    def sync_from_session(self) -> None:
        """Point the model and dataset pickers at the session's (e.g. after the user loads a file)."""
        if self.is_running():
            return
        for combo, value in ((self.model_combo, self.session.model_name), (self.dataset_combo, self.session.dataset)):
            index = combo.findData(value)
            if index >= 0:
                combo.setCurrentIndex(index)

    # -- building the view --------------------------------------------------------
    def _build_settings(self) -> None:
        box = QGroupBox("Training settings")
        box.setObjectName("trainSettings")
        grid = QGridLayout(box)

        self.dataset_combo = QComboBox(objectName="trainDataset")
        for name, info in DATASETS.items():
            self.dataset_combo.addItem(info.display_name, name)
        self.dataset_combo.setToolTip(
            "The images to learn from: handwritten digits (MNIST) or clothing (Fashion-MNIST)."
        )

        self.model_combo = QComboBox(objectName="trainModel")
        for i, spec in enumerate(list_models()):
            self.model_combo.addItem(spec.display_name, spec.name)
            self.model_combo.setItemData(
                i, f"{spec.description}\n{spec.num_params:,} parameters", Qt.ItemDataRole.ToolTipRole
            )
        self.model_combo.setCurrentIndex(max(self.model_combo.findData("lenet"), 0))
        self.model_combo.setToolTip("The network to train (hover over an entry for what it is).")

        self.init_combo = QComboBox(objectName="trainInit")
        self.init_combo.addItem("From scratch (random weights)", "scratch")
        self.init_combo.addItem("Continue from current weights", "current")
        self.init_combo.setToolTip(
            "From scratch: start from random weights and watch the network learn from nothing.\n"
            "Continue: start from the current model's weights (for another model, its pretrained weights)."
        )

        self.optimizer_combo = QComboBox(objectName="trainOptimizer")
        for i, name in enumerate(OPTIMIZERS):
            self.optimizer_combo.addItem({"adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}.get(name, name), name)
            self.optimizer_combo.setItemData(i, _OPTIMIZER_TIPS.get(name, name), Qt.ItemDataRole.ToolTipRole)
        self.optimizer_combo.setToolTip(
            "How the weights are updated from the gradients. Changing it resets the learning rate."
        )

        self.lr_spin = LearningRateSpinBox()
        self.lr_spin.setObjectName("trainLearningRate")
        self.lr_spin.setValue(DEFAULT_LR["adam"])
        self.lr_spin.setToolTip(
            "The (peak) step size. Too large and training diverges; too small and it crawls.\n"
            "Type a number like 0.002 or 2e-3; the arrows step through 1, 2, 5 x 10^k."
        )
        self.optimizer_combo.currentIndexChanged.connect(self._on_optimizer_changed)

        self.schedule_combo = QComboBox(objectName="trainSchedule")
        for i, name in enumerate(SCHEDULES):
            self.schedule_combo.addItem(
                {"onecycle": "One-cycle", "cosine": "Cosine", "constant": "Constant"}.get(name, name), name
            )
            self.schedule_combo.setItemData(i, _SCHEDULE_TIPS.get(name, name), Qt.ItemDataRole.ToolTipRole)
        self.schedule_combo.setToolTip("How the learning rate changes during training (see the learning-rate plot).")

        self.batch_spin = QSpinBox(objectName="trainBatchSize")
        self.batch_spin.setRange(1, 8192)
        self.batch_spin.setValue(128)
        self.batch_spin.setStepType(QSpinBox.StepType.AdaptiveDecimalStepType)
        self.batch_spin.setToolTip(
            "Images per weight update. Larger batches are faster per image but update less often."
        )

        self.epochs_spin = QSpinBox(objectName="trainEpochs")
        self.epochs_spin.setRange(1, 200)
        self.epochs_spin.setValue(1)
        self.epochs_spin.setToolTip(
            "Passes over the 60,000 training images. One epoch of LeNet takes seconds on a CPU."
        )

        self.augment_check = QCheckBox("Augment images", objectName="trainAugment")
        self.augment_check.setToolTip(
            "Randomly shift, rotate and scale each training image a little, so the network generalises better."
        )

        self.mirror_check = QCheckBox("Mirror", objectName="trainMirror")
        self.mirror_check.setToolTip(
            "Flip half the training images left-right. A mirrored shoe is still a shoe, "
            "so this helps on Fashion-MNIST; a mirrored digit is no digit, so it is off for MNIST."
        )
        self.dataset_combo.currentIndexChanged.connect(self._enable_mirror)
        self._enable_mirror()

        self.device_combo = QComboBox(objectName="trainDevice")
        self.device_combo.addItem(f"Auto ({device_label(resolve_device('auto'))})", "auto")
        for name in available_devices():
            self.device_combo.addItem(device_label(resolve_device(name)), name)
        self.device_combo.setToolTip("Where to compute: a CUDA GPU or Apple MPS when present, else the CPU.")

        fields = [
            ("&Dataset", self.dataset_combo), ("&Model", self.model_combo), ("&Start from", self.init_combo),
            ("&Optimizer", self.optimizer_combo), ("&Learning rate", self.lr_spin), ("S&chedule", self.schedule_combo),
            ("&Batch size", self.batch_spin), ("E&pochs", self.epochs_spin), ("Dev&ice", self.device_combo),
        ]  # fmt: skip
        for i, (text, widget) in enumerate(fields):
            label = QLabel(text)
            label.setBuddy(widget)
            label.setToolTip(widget.toolTip())
            row, col = divmod(i, 2)
            grid.addWidget(label, row, 2 * col)
            grid.addWidget(widget, row, 2 * col + 1)
        checks = QHBoxLayout()
        checks.addWidget(self.augment_check)
        checks.addWidget(self.mirror_check)
        checks.addStretch(1)
        grid.addLayout(checks, len(fields) // 2, 2, 1, 2)  # under the right-hand labels too: no wider
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self._settings_box = box

    def _enable_mirror(self) -> None:
        self.mirror_check.setEnabled(DATASETS[self.dataset_combo.currentData()].mirror_safe)

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

    def _build_plots(self) -> None:
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setObjectName("trainPlots")
        self.plots.setMinimumHeight(380)
        self.plots.setToolTip("Live curves of the training run; the confusion matrix appears at the end.")

        self.loss_plot = self.plots.addPlot(row=0, col=0, title="Loss per batch")
        self.loss_plot.setLabel("bottom", "batch")
        self.loss_plot.setLabel("left", "cross-entropy")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_raw_curve = self.loss_plot.plot(pen=pg.mkPen((90, 150, 255, 70), width=1), name="batch")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen((40, 110, 240), width=2.5), name="smoothed")

        self.accuracy_plot = self.plots.addPlot(row=0, col=1, title="Accuracy (%)")
        self.accuracy_plot.setLabel("bottom", "epoch")
        self.accuracy_plot.addLegend(offset=(-10, -10))
        self.batch_accuracy_curve = self.accuracy_plot.plot(
            pen=pg.mkPen((150, 150, 150), width=1), name="train (running)"
        )
        self.train_accuracy_curve = self.accuracy_plot.plot(
            pen=pg.mkPen((40, 110, 240), width=2),
            symbol="o",
            symbolSize=7,
            symbolBrush=(40, 110, 240),
            name="train (epoch)",
        )
        self.test_accuracy_curve = self.accuracy_plot.plot(
            pen=pg.mkPen((230, 120, 20), width=2), symbol="s", symbolSize=7, symbolBrush=(230, 120, 20), name="test"
        )

        self.lr_plot = self.plots.addPlot(row=1, col=0, title="Learning rate")
        self.lr_plot.setLabel("bottom", "batch")
        self.lr_curve = self.lr_plot.plot(pen=pg.mkPen((40, 170, 90), width=2))

        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMenuEnabled(False)
            # The x range is the whole run, set at the start (see _clear_plots),
            # so the axes stay put and only the curves repaint at 30 Hz.
            plot.enableAutoRange(x=False, y=True)
            for name in ("left", "bottom"):
                # An axis with a grid spans its whole plot, so every curve update
                # would re-render its tick text; cache it as a pixmap instead.
                plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # The loss axis only grows (see _fit_loss_axis): following every new low
        # would re-render its ticks each frame, a third of the GUI's plot time.
        self.loss_plot.enableAutoRange(y=False)
        self._loss_top = 0.0

        self.confusion_plot = self.plots.addPlot(row=1, col=1, title=CONFUSION_TITLE)
        self.confusion_plot.setLabel("bottom", "predicted")
        self.confusion_plot.setLabel("left", "true")
        self.confusion_plot.setMouseEnabled(False, False)
        self.confusion_plot.hideButtons()
        self.confusion_plot.invertY(True)
        self.confusion_plot.setAspectLocked(True)
        self.confusion_image = pg.ImageItem()
        self.confusion_image.setColorMap(pg.colormap.get("viridis"))
        self.confusion_plot.addItem(self.confusion_image)
        self._confusion_texts: list[pg.TextItem] = []
        self.confusion: np.ndarray | None = None
        self._set_class_ticks(list(DATASETS["mnist"].classes))
        self._confusion_names: list[str] = list(DATASETS["mnist"].classes)
        self.plots.scene().sigMouseMoved.connect(self._on_plots_mouse_moved)
        self.confusion_plot.setRange(xRange=(0, 10), yRange=(0, 10), padding=0)

    # -- run set-up -----------------------------------------------------------------
    def _prepare_session(self, config: TrainConfig, from_current: bool):
        """Point the session at the run's model and return the model to train.

        The session keeps its own copy (it is read by the GUI thread while the
        worker changes the training copy); snapshots keep it up to date.
        """
        model, self._pending_note = self.session.begin_training(config.model, config.dataset, from_current, config.seed)
        self.sessionChanged.emit()  # new weights or at least a new source: every panel refreshes
        return model

    # -- worker signals (GUI thread) -------------------------------------------------
    def _is_current(self, payload: dict) -> bool:
        return self._current_run is not None and payload.get("run") == self._current_run

    def _on_worker_status(self, text: str) -> None:
        if self._worker is not None and self._worker is self.sender() and not self._worker.paused:
            self.status_label.setText(text)

    def _on_worker_progress(self, p: dict) -> None:
        if not self._is_current(p):
            return
        steps, losses = p["steps"], p["losses"]
        self._loss.extend(steps, losses)
        self._fit_loss_axis(losses)
        self._loss_ema.extend(steps, self._smooth_loss.feed(losses))
        self._lr.extend(steps, p["lrs"])
        steps_per_epoch = max(p["total_steps"] / max(p["epochs"], 1), 1.0)
        self._batch_acc.extend(steps / steps_per_epoch, 100 * self._smooth_acc.feed(p["accuracies"]))
        if not self._total_steps:  # the first report: now the run's length is known
            for plot in (self.loss_plot, self.lr_plot):
                plot.setXRange(0, p["total_steps"], padding=0.02)
        self._step, self._total_steps = p["step"], p["total_steps"]
        ips, eta = p["images_per_second"], p["eta_seconds"]
        self._progress_text = (
            f"%p%  ·  batch {p['step']:,}/{p['total_steps']:,}  ·  epoch {p['epoch']}/{p['epochs']}  ·  "
            f"{ips:,.0f} images/s  ·  ETA {_format_duration(eta)}"
        )
        self._plots_dirty = self._progress_dirty = True

    def _fit_loss_axis(self, losses) -> None:
        """Loss axis from 0 to a round number above the largest finite loss yet."""
        finite = np.asarray(losses, dtype=float)
        finite = finite[np.isfinite(finite)]
        if finite.size and finite.max() > self._loss_top:
            top = 1.1 * float(finite.max())
            step = 10 ** math.floor(math.log10(top)) / 2 if top > 0 else 1.0
            self._loss_top = math.ceil(top / step) * step
            self.loss_plot.setYRange(0, self._loss_top, padding=0)

    def _on_worker_epoch(self, e: dict) -> None:
        if not self._is_current(e):
            return
        self._epoch_train.extend([e["epoch"]], [100 * e["train_accuracy"]])
        self._epoch_test.extend([e["epoch"]], [100 * e["test_accuracy"]])
        self.accuracy_label.setText(f"Test accuracy: {100 * e['test_accuracy']:.2f} % (epoch {e['epoch']})")
        self._plots_dirty = True

    def _on_worker_weights(self, w: dict) -> None:
        if not self._is_current(w):
            return
        session = self.session
        # Only while the session still shows this run's model: if the user loaded
        # something else meanwhile, live weights must not overwrite it.
        if session.model is not self._run.get("live_model") or session.model_name != self._run.get("model"):
            return
        session.load_snapshot(w["snapshot"], source=f"training (live, batch {w['step']})")
        self.weightsUpdated.emit()

    def _on_worker_paused(self, paused: bool) -> None:
        if self._worker is None or self._worker is not self.sender():
            return
        if paused:
            self.status_label.setText(f"Paused at batch {self._step:,} of {self._total_steps:,}.")
            self._redraw()

    def _on_worker_finished(self, result: dict) -> None:
        if not self._is_current(result):
            return
        # The worker has returned from its last line of work: joining is immediate.
        thread = self._thread
        thread.quit()
        thread.wait()
        self._worker = self._thread = None
        self._current_run = None
        self._redraw_timer.stop()

        model, metadata = result.get("model"), result.get("metadata")
        reason = result["reason"]
        message = result["message"]
        adopted = False
        if model is not None and reason in ("completed", "stopped", "diverged") and result.get("steps", 0) > 0:
            if self.session.model is self._run.get("live_model"):
                self.session.adopt_trained(result["model_name"], result["dataset"], model, metadata or {})
                adopted = True
                if reason != "completed":
                    message += " The weights learned so far are now the current model."
            else:
                message += " The app's model was changed during training, so the trained weights were not kept."
        restored = False
        if not adopted and not result.get("steps") and self.session.model is self._run.get("live_model"):
            # Not one batch ran (no data, or stopped while loading): the model the user had comes back.
            self.session.restore(self._run["before"])
            restored = True
        if self._pending_note:
            message = f"{self._pending_note} {message}"
            self._pending_note = None

        self._redraw()
        self._set_running_ui(False)
        if result.get("test_accuracy") is not None:
            self.accuracy_label.setText(f"Test accuracy: {100 * result['test_accuracy']:.2f} %")
        if result.get("confusion") is not None:
            self.show_confusion(np.asarray(result["confusion"]), result.get("class_names") or None)
        self._show_message(message, error=reason in ("diverged", "error"))
        self.status_label.setText(
            {
                "completed": "Training complete.",
                "stopped": "Training stopped.",
                "diverged": "Training diverged.",
                "error": "Training failed.",
            }.get(reason, reason)  # fmt: skip
        )
        if reason == "completed":
            self.progress_bar.setFormat(
                f"Done  ·  {result['steps']:,} batches in {_format_duration(result['seconds'])}"
            )

        public = {key: result.get(key) for key in _PUBLIC_RESULT_KEYS}
        public["message"] = message
        public["adopted"] = adopted
        self.last_result = public
        if adopted or restored:
            self.sessionChanged.emit()
        self.trainingFinished.emit(public)

    # -- drawing ----------------------------------------------------------------------
    def _on_redraw_timer(self) -> None:
        """Redraw what changed, at up to ``REDRAW_HZ``.

        Painting three pyqtgraph plots costs a few ms of GUI-thread time, with
        the interpreter lock held, and the training thread needs that lock
        between torch ops. So, once a second, the plot interval is set from
        what a frame really cost the GUI thread (everything it did, the other
        panels' inference included) to keep it within ``GUI_BUDGET`` of a core:
        30 Hz on a fast machine, down to ``MIN_REDRAW_HZ`` on a slow one.
        """
        now = time.perf_counter()
        self._update_plot_interval(now)
        # A monitor tabbed away behind another dock costs nothing: redraw once it shows.
        if not self._plots_on_screen():
            return
        if self._plots_dirty and now - self._last_plot >= self._plot_interval * 0.9:
            self._redraw_plots()
        if self._progress_dirty and now - self._last_progress >= PROGRESS_INTERVAL:
            self._redraw_progress()

    def _plots_on_screen(self) -> bool:
        # A dock tabbed away behind another stays "visible", just moved outside its window.
        plots = self.plots
        if not plots.isVisible():
            return False
        window = plots.window()
        return QRect(plots.mapTo(window, QPoint(0, 0)), plots.size()).intersects(window.rect())

    def _update_plot_interval(self, now: float) -> None:
        cpu = time.thread_time()
        if self._budget_window is None:
            self._budget_window = (now, cpu, self._plot_redraws)
            return
        wall0, cpu0, redraws0 = self._budget_window
        if now - wall0 < 1.0:
            return
        frames = self._plot_redraws - redraws0
        if frames > 0:
            per_frame = (cpu - cpu0) / frames
            self._plot_interval = min(max(per_frame / GUI_BUDGET, 1.0 / REDRAW_HZ), 1.0 / MIN_REDRAW_HZ)
        self._budget_window = (now, cpu, self._plot_redraws)

    def _redraw(self) -> None:
        self._redraw_plots(everything=True)
        self._redraw_progress()

    def _redraw_plots(self, everything: bool = False) -> None:
        """The loss every frame; the slow curves (learning rate, accuracy) every ``SLOW_PLOT_EVERY``-th."""
        self._plots_dirty = False
        self.loss_raw_curve.setData(*self._loss.view())
        self.loss_curve.setData(*self._loss_ema.view())
        if everything or self._plot_redraws % SLOW_PLOT_EVERY == 0:
            self.lr_curve.setData(*self._lr.view())
            self.batch_accuracy_curve.setData(*self._batch_acc.view())
            self.train_accuracy_curve.setData(*self._epoch_train.view())
            self.test_accuracy_curve.setData(*self._epoch_test.view())
        self._plot_redraws += 1
        self._last_plot = time.perf_counter()

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

    def _clear_plots(self) -> None:
        for series in (self._loss, self._loss_ema, self._lr, self._batch_acc, self._epoch_train, self._epoch_test):
            series.clear()
        self._smooth_loss.clear()
        self._loss_top = 0.0
        self._smooth_acc.clear()
        self._step = self._total_steps = 0
        self._progress_text = ""
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Loading…")
        self.show_confusion(None)
        self._redraw()
        self.accuracy_plot.setXRange(0, self._run.get("epochs", 1), padding=0.02)
        self.accuracy_plot.setYRange(0, 100, padding=0.02)
        self.accuracy_plot.enableAutoRange(y=False)
        self.lr_plot.setYRange(0, self._run.get("lr", 1.0), padding=0.05)
        self.lr_plot.enableAutoRange(y=False)

    def show_confusion(self, confusion: np.ndarray | None, names: list[str] | None = None) -> None:
        """Draw a 10x10 confusion matrix (rows: true class, columns: predicted), or clear it."""
        for item in self._confusion_texts:
            self.confusion_plot.removeItem(item)
        self._confusion_texts = []
        self.confusion = confusion
        if confusion is None:
            self.confusion_image.clear()
            return
        k = confusion.shape[0]
        # ImageItem indexes [x, y]; x = predicted (columns), y = true (rows, drawn top-down).
        # log1p so the few mistakes stay visible next to a diagonal of ~1000.
        self.confusion_image.setImage(np.log1p(confusion.T.astype(float)), levels=(0, np.log1p(confusion.max())))
        self.confusion_image.setRect(0, 0, k, k)
        if names:
            self._confusion_names = list(names)
            self._set_class_ticks(self._confusion_names)
        # Only the mistakes are numbered (the diagonal is plainly the bright one):
        # four-digit counts would not fit a cell of a panel this size.
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.75))
        for true, pred in zip(*np.nonzero(confusion), strict=True):
            if true == pred or k > 10:
                continue
            text = pg.TextItem(str(int(confusion[true, pred])), color=(255, 255, 255), anchor=(0.5, 0.5))
            text.setFont(font)
            text.setPos(pred + 0.5, true + 0.5)
            self.confusion_plot.addItem(text)
            self._confusion_texts.append(text)
        self.confusion_plot.setRange(xRange=(0, k), yRange=(0, k), padding=0)

    def _on_plots_mouse_moved(self, pos) -> None:
        """Hovering a confusion-matrix cell reads it out in the title."""
        title = CONFUSION_TITLE
        plot = self.confusion_plot
        if self.confusion is not None and plot.sceneBoundingRect().contains(pos):
            point = plot.vb.mapSceneToView(pos)
            true, pred = int(math.floor(point.y())), int(math.floor(point.x()))
            k = self.confusion.shape[0]
            if 0 <= true < k and 0 <= pred < k:
                names = self._confusion_names
                count = int(self.confusion[true, pred])
                title = f"{names[true]} seen as {names[pred]}: {count:,}"
        if plot.titleLabel.text != title:
            plot.setTitle(title)

    def _set_class_ticks(self, names: list[str]) -> None:
        """Rows named in full; columns by name only if every name is short (digits), else by number."""
        short = all(len(name) <= 2 for name in names)
        rows = [(i + 0.5, name if short else f"{name} {i}") for i, name in enumerate(names)]
        left = self.confusion_plot.getAxis("left")
        left.setTicks([rows])
        metrics = QFontMetrics(left.style.get("tickFont") or self.font())
        left.setWidth(max(metrics.horizontalAdvance(text) for _, text in rows) + 28)  # + tick and axis label
        columns = [(i + 0.5, name if short else str(i)) for i, name in enumerate(names)]
        self.confusion_plot.getAxis("bottom").setTicks([columns])

    # -- UI state -----------------------------------------------------------------------
    def _set_running_ui(self, running: bool) -> None:
        self._settings_box.setEnabled(not running)
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Pause")
        self.pause_button.setToolTip("Pause training after the current batch (the weights stay as they are).")

    def _show_message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet(ERROR_STYLE if error else "")

    def toggle_pause(self) -> None:
        """Pause a running run, or resume a paused one (the Pause/Resume button)."""
        if self.is_paused():
            self.resume()
        else:
            self.pause()

    def _on_optimizer_changed(self) -> None:
        self.lr_spin.setValue(DEFAULT_LR.get(self.optimizer_combo.currentData(), self.lr_spin.value()))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:  # presentation mode: the headline grows with the rest
            self.accuracy_label.setFont(scaled_font(self.font(), 1.2, bold=True))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self._plots_dirty or self._progress_dirty:
            self._redraw()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.shutdown()
        super().closeEvent(event)
