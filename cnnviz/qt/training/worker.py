"""A training run in a background thread, reported as throttled Qt signals.

``TrainingWorker`` drives the ``cnnviz.core.train`` generator in a ``QThread``.
The generator itself reads the device back only at ``max_rate_hz`` (each of
its ``BatchStats`` holds every batch since the last read-back); the worker
still throttles its emissions to that rate (each emission carries every
(step, loss, ...) point since the last, so a loss curve loses nothing), always
flushes before blocking on a pause and before the end, and takes a CPU copy of
the weights between reports about twice a second.

The GUI never waits on the worker: pause, resume and stop set thread-safe
flags in a ``TrainControl`` that the generator checks before each batch. Only
``QThread.wait`` at shutdown blocks, for at most one batch (plus, if the run
was completing, the final test-set evaluation).

No torch here: the model and the weight copies pass through as opaque
objects made and consumed by ``cnnviz.core``.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from cnnviz.core import (
    DATASETS,
    BatchStats,
    CnnvizError,
    EpochStats,
    TrainConfig,
    TrainControl,
    TrainingEnded,
    build_metadata,
    build_model,
    class_names,
    copy_weights,
    device_label,
    evaluate,
    get_spec,
    resolve_device,
    train,
)

logger = logging.getLogger(__name__)

__all__ = ["TrainingWorker"]


class _ReportingControl(TrainControl):
    """A ``TrainControl`` that tells the worker just before the training loop blocks on a pause.

    ``train`` calls ``wait_while_paused`` in the training thread only when the
    run flag is clear, so this is the one moment to flush what was gathered
    (otherwise the last few batches before a pause would stay unshown until
    the user resumes).
    """

    def __init__(self) -> None:
        super().__init__()
        self.before_pause = None
        self.after_pause = None

    def wait_while_paused(self) -> None:
        if self.paused and self.before_pause is not None:
            self.before_pause()
        super().wait_while_paused()
        if self.after_pause is not None:
            self.after_pause()


class TrainingWorker(QObject):
    """Runs one training run; move it to a ``QThread`` and connect ``thread.started`` to ``run``.

    Parameters
    ----------
    config
        The run's settings.
    model
        The model to train in place (opaque here; ``None`` trains a fresh one).
    data_dir
        Folder with the datasets (``None``: the default data folder).
    run_id
        Copied into every payload so a receiver can drop signals of an older run.
    max_rate_hz
        Upper bound on ``progress`` emissions per second.
    weights_interval
        Seconds between weight copies sent to the GUI (0.5: about twice a second).

    Signals
    -------
    status(str)
        A line for a status label ("Loading MNIST...", "Training on CPU", ...).
    progress(dict)
        ``run``, ``steps``/``losses``/``accuracies``/``lrs`` (numpy arrays of
        every batch since the last emission), ``step``, ``total_steps``,
        ``epoch``, ``epochs``, ``loss``, ``images_per_second`` (wall clock, a
        sliding window), ``eta_seconds``, ``elapsed``.
    epochEnded(dict)
        ``run`` plus the fields of ``EpochStats``.
    weightsReady(dict)
        ``run``, ``step`` and ``weights`` (a ``copy_weights`` result).
    pausedChanged(bool)
        True once the loop has really stopped between batches; False on resume.
    finished(dict)
        Always emitted exactly once, last. ``reason`` is "completed",
        "stopped", "diverged" or "error"; ``message`` is one sentence for
        people. Also ``test_accuracy`` (None unless completed), ``confusion``
        (10x10 nested list or None), ``per_class_accuracy``, ``class_names``,
        ``epochs_completed``, ``steps``, ``seconds``, ``device``,
        ``model_name``, ``dataset``, and (not for the GUI's eyes, only to adopt)
        ``model`` and ``metadata``.
    """

    status = Signal(str)
    progress = Signal(object)
    epochEnded = Signal(object)
    weightsReady = Signal(object)
    pausedChanged = Signal(bool)
    finished = Signal(object)

    def __init__(
        self,
        config: TrainConfig,
        model=None,
        data_dir=None,
        *,
        run_id: int = 0,
        max_rate_hz: float = 30.0,
        weights_interval: float = 0.5,
    ) -> None:
        super().__init__()
        self.config = config
        self.model = model if model is not None else build_model(config.model)
        self.data_dir = data_dir
        self.run_id = run_id
        self._min_interval = 1.0 / max_rate_hz
        self._weights_interval = weights_interval
        self.control = _ReportingControl()
        self.control.before_pause = self._on_pausing
        self.control.after_pause = self._on_resumed
        self._reset_buffers()
        self._latest: BatchStats | None = None
        self._latest_at = 0.0
        self._rate_window: deque[tuple[float, int]] = deque()
        self._started = 0.0
        self._last_emit = 0.0
        self._last_weights = 0.0

    # -- called from the GUI thread (thread-safe flags only) ---------------------
    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()

    @property
    def paused(self) -> bool:
        return self.control.paused

    # -- the training thread ------------------------------------------------------
    @Slot()
    def run(self) -> None:
        """Train to the end; emit ``finished`` whatever happens."""
        try:
            result = self._train()
        except CnnvizError as exc:
            result = self._result("error", str(exc))
        except BaseException as exc:  # a user's network, SystemExit too: one sentence
            logger.debug("training failed", exc_info=True)
            result = self._result("error", f"Training failed unexpectedly ({type(exc).__name__}: {exc}).")
        self.finished.emit(result)
        # run() executes from thread.started, before the thread's event loop
        # starts; quitting now makes that loop return at once, so the thread
        # ends by itself and QThread.wait() never depends on the GUI thread.
        QThread.currentThread().quit()

    def _train(self) -> dict:
        config = self.config
        info = DATASETS.get(config.dataset)
        self.status.emit(f"Loading {info.display_name if info else config.dataset}…")
        where = device_label(resolve_device(config.device))
        ended: TrainingEnded | None = None
        for event in train(config, self.model, self.control, self.data_dir, report_interval=self._min_interval):
            if isinstance(event, BatchStats):
                self._on_batch(event, where)
            elif isinstance(event, EpochStats):
                self._flush(time.perf_counter())
                self.epochEnded.emit({"run": self.run_id, **vars(event)})
            elif isinstance(event, TrainingEnded):
                ended = event
        self._flush(time.perf_counter())
        if ended is None:  # the generator always ends with TrainingEnded; guard anyway
            return self._result("error", "Training ended without a result.")
        return self._finish(ended)

    def _on_batch(self, stats: BatchStats, where: str) -> None:
        now = time.perf_counter()
        if self._latest is None:
            self._started = self._last_weights = now
            self.status.emit(f"Training {get_spec(self.config.model).display_name} on {where}")
        self._latest, self._latest_at = stats, now
        self._steps.extend(stats.steps)  # a group of batches, one point each
        self._losses.extend(stats.losses)
        self._accuracies.extend(stats.accuracies)
        self._lrs.extend(stats.lrs)
        self._rate_window.append((now, stats.step))
        while len(self._rate_window) > 2 and now - self._rate_window[0][0] > 2.0:
            self._rate_window.popleft()
        if now - self._last_emit >= self._min_interval:
            self._flush(now)
        if now - self._last_weights >= self._weights_interval:
            self._send_weights(now)

    def _reset_buffers(self) -> None:
        self._steps: list[int] = []
        self._losses: list[float] = []
        self._accuracies: list[float] = []
        self._lrs: list[float] = []

    def _flush(self, now: float) -> None:
        """Emit every batch gathered since the last emission (nothing if none)."""
        if not self._steps:
            return
        latest = self._latest
        rate = self._images_per_second(latest)
        steps_left = latest.total_steps - latest.step
        eta = steps_left * self.config.batch_size / rate if rate > 0 else math.nan
        payload = {
            "run": self.run_id,
            "steps": np.asarray(self._steps, dtype=np.int64),
            "losses": np.asarray(self._losses, dtype=np.float64),
            "accuracies": np.asarray(self._accuracies, dtype=np.float64),
            "lrs": np.asarray(self._lrs, dtype=np.float64),
            "step": latest.step,
            "total_steps": latest.total_steps,
            "epoch": latest.epoch,
            "epochs": self.config.epochs,
            "loss": latest.loss,
            "images_per_second": rate,
            "eta_seconds": eta,
            "elapsed": self._latest_at - self._started,  # at the latest batch, not at this flush
        }
        self._reset_buffers()
        self._last_emit = now
        self.progress.emit(payload)

    def _images_per_second(self, latest: BatchStats) -> float:
        """Wall-clock throughput over the last ~2 s (it includes everything the loop does)."""
        if len(self._rate_window) >= 2:
            (t0, s0), (t1, s1) = self._rate_window[0], self._rate_window[-1]
            if t1 > t0:
                return (s1 - s0) * self.config.batch_size / (t1 - t0)
        return latest.images_per_second

    def _send_weights(self, now: float) -> None:
        # Between batches: the generator is suspended, so the weights are consistent.
        self._last_weights = now
        step = self._latest.step if self._latest is not None else 0
        self.weightsReady.emit({"run": self.run_id, "step": step, "weights": copy_weights(self.model)})

    def _on_pausing(self) -> None:
        now = time.perf_counter()
        self._flush(now)
        if self._latest is not None:
            self._send_weights(now)  # the paused network is worth looking at
        self.pausedChanged.emit(True)

    def _on_resumed(self) -> None:
        # Time spent paused is not training time: restart the throughput window.
        self._rate_window.clear()
        if not self.control.stopped:
            self.pausedChanged.emit(False)

    def _finish(self, ended: TrainingEnded) -> dict:
        config = self.config
        result = self._result(ended.reason, ended.message)
        result.update(
            epochs_completed=ended.epochs_completed,
            seconds=ended.seconds,
            device=ended.device,
            model=self.model,
            # The engine went back to the weights the run started from: the owner shows that network again.
            kept_weights_from_before=ended.reason == "diverged" and ended.kept_step == 0,
        )
        test_accuracy = None
        if ended.reason == "completed" and not self.control.stopped:
            self.status.emit("Evaluating on the test set…")
            evaluation = evaluate(self.model, config.dataset, self.data_dir)
            test_accuracy = evaluation.accuracy
            result.update(
                test_accuracy=test_accuracy,
                confusion=evaluation.confusion.tolist(),
                per_class_accuracy=[float(a) for a in evaluation.per_class_accuracy],
            )
        elif ended.reason == "completed":  # stopped during the last epoch's evaluation
            result["reason"] = "stopped"
            result["message"] = "Stopped by the user before the final evaluation."
        result["metadata"] = build_metadata(
            config.model,
            self.model,
            dataset=config.dataset,
            epochs=ended.epochs_completed,
            test_accuracy=test_accuracy,
            recipe=config.as_dict(),
            device=ended.device,
            training_seconds=ended.seconds,
        )
        return result

    def _result(self, reason: str, message: str) -> dict:
        config = self.config
        try:
            names = list(class_names(config.dataset))
        except CnnvizError:
            names = []
        return {
            "run": self.run_id,
            "reason": reason,
            "message": message,
            "test_accuracy": None,
            "confusion": None,
            "per_class_accuracy": None,
            "class_names": names,
            "epochs_completed": 0,
            "steps": self._latest.step if self._latest is not None else 0,
            "seconds": 0.0,
            "device": config.device,
            "model_name": config.model,
            "dataset": config.dataset,
            "model": None,
            "metadata": None,
        }
