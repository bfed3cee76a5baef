"""One training run, from its recipe to its end: the object the CLI and the Training panel both drive.

``TrainingRun`` owns the configuration, the model being trained, pause/stop,
the progress reports (typed: ``Progress``, ``EpochStats``, ``LiveWeights``),
and the end of the run: one ``RunEnd`` with the test accuracy and confusion
matrix of the last epoch's evaluation (the test set is evaluated once at the
end, by the loop), and the run's metadata, built here once for both faces.

    TrainingRun(config, model, data_dir)
        .reports()  -> Progress ... EpochStats ... LiveWeights ... RunEnd (always last, exactly once)
        .pause() / .resume() / .stop()     from any thread
        .step_once()                       one batch, then a ``StepReport`` and a pause
        .change(lr=..., momentum=...)      from the next batch on (``Progress.changes`` records it)

``layer_stats=True`` adds per-stage figures to the reports (``Progress.layers``);
``snapshots`` (a ``Snapshots``) keeps the weights every few steps for the time slider.

The session applies the rules for the run's model at its end
(``ModelSession.end_training``); whether to ask "Keep the weights?" first is
``RunEnd.asks_to_keep`` and the question is ``KEEP_QUESTION``.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from torch import nn

from cnnviz.core.data.datasets import class_names
from cnnviz.core.errors import CnnvizError
from cnnviz.core.models.registry import build_model
from cnnviz.core.training import loop
from cnnviz.core.training.config import TrainConfig
from cnnviz.core.training.layer_stats import StageStats
from cnnviz.core.training.loop import REPORT_INTERVAL, BatchStats, EpochStats, TrainControl, TrainingEnded
from cnnviz.core.training.snapshots import Snapshots
from cnnviz.core.training.step_mode import StepReport
from cnnviz.core.weights.checkpoint import build_metadata

logger = logging.getLogger(__name__)

KEEP, GO_BACK = "Keep", "Go back"
# The question after a stopped run; the last button is the default (Enter keeps: nothing is thrown away by a key).
KEEP_QUESTION = ("Keep the weights?", "The run stopped after {steps:,} batches. Keep the weights it learned so far, "
                 "or go back to the network from before the run?", [GO_BACK, KEEP])  # fmt: skip


def copy_weights(model: nn.Module) -> dict:
    """A CPU copy of a (possibly training, possibly GPU) model's weights.

    Take it between batches in the training thread; hand it to
    ``ModelSession.show_live_weights`` in the GUI thread.
    """
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


@dataclass(frozen=True)
class Progress:
    """Every batch since the previous report, and where the run stands."""

    step: int
    total_steps: int
    epoch: int
    epochs: int
    loss: float
    images_per_second: float  # wall clock over the last ~2 s
    eta_seconds: float  # NaN while unknown
    elapsed: float  # seconds since the first batch, at the latest batch
    steps: tuple[int, ...] = ()
    losses: tuple[float, ...] = ()
    accuracies: tuple[float, ...] = ()
    lrs: tuple[float, ...] = ()
    changes: tuple[tuple[int, dict], ...] = ()  # (step from which it held, {"lr": ...}) per live change
    layers: StageStats | None = None  # the latest per-stage figures (runs with layer_stats)


@dataclass(frozen=True)
class LiveWeights:
    """A CPU copy of the weights between two batches (about twice a second): for the views."""

    step: int
    weights: dict


@dataclass
class RunEnd:
    """How a run ended: the one shape the loop's end takes for the CLI, the panel and the session.

    ``kept_weights_from_before``: the engine itself went back to the weights the
    run started from (a run that diverged before any good checkpoint).
    ``go_back`` is the user's answer to ``KEEP_QUESTION``; ``adopted`` and
    ``restored`` are set by ``ModelSession.end_training``.
    """

    reason: str  # "completed", "stopped", "diverged" or "error"
    message: str
    steps: int = 0
    model: nn.Module | None = None
    metadata: dict | None = None
    test_accuracy: float | None = None  # a completed run's, on the whole test set
    kept_weights_from_before: bool = False
    go_back: bool = False
    adopted: bool = False
    restored: bool = False
    epochs_completed: int = 0
    seconds: float = 0.0
    device: str = ""
    model_name: str = ""
    dataset: str = ""
    confusion: list[list[int]] | None = None  # a completed run's test-set matrix, rows the true class
    class_names: list[str] = field(default_factory=list)

    @property
    def per_class_accuracy(self) -> list[float] | None:
        if self.confusion is None:
            return None
        return [row[i] / max(1, sum(row)) for i, row in enumerate(self.confusion)]

    @property
    def asks_to_keep(self) -> bool:
        """A stopped run that learned something: the user chooses between its weights and those from before."""
        return self.reason == "stopped" and self.steps > 0

    def keep_question(self) -> tuple[str, str, list[str]]:
        title, text, buttons = KEEP_QUESTION
        return title, text.format(steps=self.steps), list(buttons)


Report = Progress | EpochStats | LiveWeights | StepReport | RunEnd


class TrainingRun:
    """One run of ``config`` on ``model`` (a fresh, seeded one if None); see the module docstring.

    ``reports()`` is a generator: drive it in any one thread (the CLI's main
    thread, the app's worker). Pause, resume and stop are thread-safe and act
    between batches.
    """

    def __init__(
        self,
        config: TrainConfig,
        model: nn.Module | None = None,
        data_dir=None,
        *,
        report_interval: float = REPORT_INTERVAL,
        weights_interval: float | None = None,
        max_steps: int | None = None,
        layer_stats: bool = False,
        snapshots: Snapshots | None = None,
    ) -> None:
        self.config = config
        self.model = model if model is not None else build_model(config.model, seed=config.seed)
        self.data_dir = data_dir
        self.control = TrainControl()
        self.report_interval = report_interval
        self.weights_interval = weights_interval  # None: no LiveWeights (the CLI)
        self.max_steps = max_steps
        self.layer_stats = layer_stats
        self.snapshots = snapshots
        self.end: RunEnd | None = None
        self.step = 0
        self._rate_window: deque[tuple[float, int]] = deque()
        self._started: float | None = None

    # -- control, from any thread --------------------------------------------------------
    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()

    def step_once(self) -> None:
        self.control.step_once()

    def change(self, **values: float) -> None:
        """lr / momentum / beta1 / beta2 from the next batch on; ``CnnvizError`` for a value out of range."""
        self.control.change(**values)

    @property
    def paused(self) -> bool:
        return self.control.paused

    # -- the run ---------------------------------------------------------------------------
    def reports(self) -> Iterator[Report]:
        """Train, yielding typed reports; the last is the ``RunEnd`` (also kept as ``self.end``).

        Never raises: a failure is a ``RunEnd`` with reason "error" and one sentence.
        """
        last_epoch: EpochStats | None = None
        epoch_step = -1  # the step at which last_epoch was evaluated
        ended: TrainingEnded | None = None
        last_weights = time.perf_counter()
        try:
            for event in loop.train(self.config, self.model, self.control, self.data_dir,
                               report_interval=self.report_interval, max_steps=self.max_steps,
                                    layer_stats=self.layer_stats, snapshots=self.snapshots):  # fmt: skip
                if isinstance(event, BatchStats):
                    yield self._progress(event)
                    now = time.perf_counter()
                    if self.weights_interval is not None and now - last_weights >= self.weights_interval:
                        last_weights = now
                        yield LiveWeights(self.step, copy_weights(self.model))
                elif isinstance(event, EpochStats):
                    last_epoch, epoch_step = event, self.step
                    yield event
                elif isinstance(event, StepReport):
                    yield event
                elif isinstance(event, TrainingEnded):
                    ended = event
        except CnnvizError as exc:
            self.end = self._end("error", str(exc))
        except GeneratorExit:  # the caller closed the generator: nothing more to say
            raise
        except BaseException as exc:  # a bug, torch, a user's network (its sys.exit() too): one sentence
            logger.debug("training failed", exc_info=True)
            self.end = self._end("error", f"Training failed unexpectedly ({type(exc).__name__}: {exc}).")
        else:
            # The last evaluation holds for the weights at the end only if no batch ran since it.
            self.end = self._finish(ended, last_epoch if epoch_step == self.step else None)
        yield self.end

    def _progress(self, stats: BatchStats) -> Progress:
        now = time.perf_counter()
        if self._started is None:
            self._started = now - stats.batches * self.config.batch_size / max(stats.images_per_second, 1e-9)
        self.step = stats.step
        self._rate_window.append((now, stats.step))
        while len(self._rate_window) > 2 and now - self._rate_window[0][0] > 2.0:
            self._rate_window.popleft()
        rate = stats.images_per_second
        if len(self._rate_window) >= 2:
            (t0, s0), (t1, s1) = self._rate_window[0], self._rate_window[-1]
            if t1 > t0:
                rate = (s1 - s0) * self.config.batch_size / (t1 - t0)
        eta = (stats.total_steps - stats.step) * self.config.batch_size / rate if rate > 0 else math.nan
        return Progress(stats.step, stats.total_steps, stats.epoch, self.config.epochs,
                        stats.loss, rate, eta, now - self._started, tuple(stats.steps), stats.losses,
                        stats.accuracies, stats.lrs, stats.changes, stats.layers)  # fmt: skip

    def restart_rate(self) -> None:
        """Time spent paused is not training time: the throughput starts afresh after a pause."""
        self._rate_window.clear()

    def _end(self, reason: str, message: str, **fields) -> RunEnd:
        config = self.config
        try:
            names = list(class_names(config.dataset))
        except CnnvizError:
            names = []
        return RunEnd(reason, message, steps=self.step, model_name=config.model, dataset=config.dataset,
                      device=config.device, class_names=names, **fields)  # fmt: skip

    def _finish(self, ended: TrainingEnded | None, last_epoch: EpochStats | None) -> RunEnd:
        if ended is None:  # the loop always ends with TrainingEnded; guard anyway
            return self._end("error", "Training ended without a result.")
        # Completed, or stopped right after an epoch's evaluation: that evaluation is the run's, once.
        evaluated = last_epoch if ended.reason in ("completed", "stopped") else None
        end = self._end(
            ended.reason, ended.message, model=self.model,
            test_accuracy=evaluated.test_accuracy if evaluated else None,
            kept_weights_from_before=ended.reason == "diverged" and ended.kept_step == 0,
            epochs_completed=ended.epochs_completed, seconds=ended.seconds,
            confusion=evaluated.confusion if evaluated else None,
        )  # fmt: skip
        end.device = ended.device
        end.metadata = self.metadata(end)
        return end

    def metadata(self, end: RunEnd) -> dict:
        """What a weights file of this run records (the CLI saves it; the app adopts it)."""
        config = self.config
        return build_metadata(config.model, self.model, dataset=config.dataset, epochs=end.epochs_completed,
                              test_accuracy=end.test_accuracy, recipe=config.as_dict(), device=end.device,
                              training_seconds=end.seconds)  # fmt: skip
