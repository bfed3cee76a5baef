"""The training loop: a generator of plain-number statistics.

The whole split sits on the device as uint8; each batch is a ``randperm``
slice, converted and (optionally) augmented on the device. The caller drives
the generator (a CLI progress bar, or the app's worker thread) and may pause,
resume or stop it through a ``TrainControl`` from any thread.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.core.augment import Augmentation
from cnnviz.core.data import load_split, to_float
from cnnviz.core.device import resolve_device, set_cpu_threads
from cnnviz.core.errors import CnnvizError
from cnnviz.core.registry import build_model, get_spec

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("onecycle", "cosine", "constant")
DEFAULT_LR = {"adam": 2e-3, "adamw": 2e-3, "sgd": 0.05}


@dataclass
class TrainConfig:
    model: str = "lenet"
    dataset: str = "mnist"
    epochs: int = 1
    batch_size: int = 128
    lr: float | None = None  # None: the optimizer's default (DEFAULT_LR)
    optimizer: str = "adam"
    momentum: float = 0.9  # SGD only
    nesterov: bool = True  # SGD only
    weight_decay: float = 0.0
    schedule: str = "onecycle"
    augment: bool = False
    mirror: bool = False  # left-right flips (clothes, not digits)
    label_smoothing: float = 0.0
    device: str = "auto"
    seed: int = 0
    threads: int | None = None  # CPU threads for this run's thread; None: all cores

    def __post_init__(self) -> None:
        get_spec(self.model)  # raises a clear error for an unknown model
        checks = [
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.batch_size >= 1, "batch size must be at least 1"),
            (self.lr is None or self.lr > 0, "learning rate must be positive"),
            (0 <= self.label_smoothing < 1, "label smoothing must be at least 0 and below 1"),
            (self.weight_decay >= 0, "weight decay must not be negative"),
            (0 <= self.momentum < 1, "momentum must be at least 0 and below 1"),
            (self.threads is None or self.threads >= 1, "threads must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise CnnvizError(message[0].upper() + message[1:] + ".")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class BatchStats:
    step: int  # 1-based, over the whole run
    total_steps: int
    epoch: int  # 1-based
    loss: float
    accuracy: float  # of this batch, in [0, 1]
    images_per_second: float
    lr: float


@dataclass
class EpochStats:
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float  # wall time of the epoch's training, without evaluation


@dataclass
class TrainingEnded:
    reason: str  # "completed", "stopped" or "diverged"
    message: str
    epochs_completed: int
    test_accuracy: float | None
    seconds: float
    device: str


TrainEvent = BatchStats | EpochStats | TrainingEnded


@dataclass
class TrainControl:
    """Thread-safe pause/resume/stop, honoured before every batch."""

    _run: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._run.set()

    def pause(self) -> None:
        self._run.clear()

    def resume(self) -> None:
        self._run.set()

    def stop(self) -> None:
        self._stop.set()
        self._run.set()  # wake a paused loop so it can see the stop

    @property
    def paused(self) -> bool:
        return not self._run.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self) -> None:
        self._run.wait()


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    lr, wd = config.learning_rate, config.weight_decay
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum, nesterov=config.nesterov, weight_decay=wd)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    return torch.optim.Adam(params, lr=lr, weight_decay=wd)


def make_schedule(config: TrainConfig, optimizer: torch.optim.Optimizer, total_steps: int):
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.learning_rate, total_steps=total_steps, pct_start=0.25
        )
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


class _Snapshot:
    """The last weights known to give a finite loss, copied into preallocated memory."""

    def __init__(self, model: nn.Module) -> None:
        self._live = list(model.state_dict().values())
        self._saved = [t.detach().clone() for t in self._live]

    def take(self) -> None:
        with torch.no_grad():
            torch._foreach_copy_(self._saved, self._live)

    def restore(self) -> None:
        with torch.no_grad():
            torch._foreach_copy_(self._live, self._saved)


@torch.no_grad()
def evaluate_loss_accuracy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over uint8 images already on the model's device."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    for i in range(0, len(images), batch_size):
        scores = model(to_float(images[i : i + batch_size]))
        y = labels[i : i + batch_size]
        total_loss += float(F.cross_entropy(scores, y, reduction="sum"))
        correct += int((scores.argmax(1) == y).sum())
    model.train(was_training)
    return total_loss / len(images), correct / len(images)


def train(
    config: TrainConfig,
    model: nn.Module | None = None,
    control: TrainControl | None = None,
    data_dir=None,
) -> Iterator[TrainEvent]:
    """Train ``model`` (a fresh one of ``config.model`` if None) in place.

    Yields a ``BatchStats`` per batch, an ``EpochStats`` per epoch, and
    finally one ``TrainingEnded``. On a non-finite loss the weights are rolled
    back to the last ones that gave a finite loss, and training ends with the
    reason "diverged".
    """
    control = control or TrainControl()
    device = resolve_device(config.device)
    if device.type == "cpu":
        set_cpu_threads(config.threads)  # per thread: the GUI thread may keep its own setting
    torch.manual_seed(config.seed)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    if model is None:
        model = build_model(config.model, seed=config.seed)
    model.to(device).train()

    train_x, train_y = load_split(config.dataset, True, data_dir, device)
    test_x, test_y = load_split(config.dataset, False, data_dir, device)
    n = len(train_x)
    steps_per_epoch = math.ceil(n / config.batch_size)
    total_steps = steps_per_epoch * config.epochs

    optimizer = make_optimizer(config, model.parameters())
    schedule = make_schedule(config, optimizer, total_steps)
    augment = Augmentation.from_flags(config.augment, config.mirror)
    snapshot = _Snapshot(model)
    started = time.perf_counter()
    step, test_accuracy, epochs_done = 0, None, 0

    def ended(reason: str, message: str) -> TrainingEnded:
        return TrainingEnded(reason, message, epochs_done, test_accuracy, time.perf_counter() - started, str(device))

    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        order = torch.randperm(n, device=device, generator=generator)
        loss_sum = torch.zeros((), device=device)
        correct_sum = torch.zeros((), device=device, dtype=torch.long)
        for first in range(0, n, config.batch_size):
            if not control._run.is_set():
                control.wait_while_paused()
            if control.stopped:
                yield ended("stopped", f"Stopped by the user after {step} of {total_steps} batches.")
                return
            tick = time.perf_counter()
            index = order[first : first + config.batch_size]
            x, y = to_float(train_x[index]), train_y[index]
            if augment is not None:
                x = augment(x, generator)
            scores = model(x)
            loss = F.cross_entropy(scores, y, label_smoothing=config.label_smoothing)
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                snapshot.restore()
                yield ended(
                    "diverged",
                    f"Training diverged at batch {step + 1} (the loss became {loss_value}); "
                    "the last good weights were kept. Try a smaller learning rate.",
                )
                return
            snapshot.take()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            lr = optimizer.param_groups[0]["lr"]
            schedule.step()
            step += 1
            batch_correct = (scores.detach().argmax(1) == y).sum()
            loss_sum += loss.detach() * len(y)
            correct_sum += batch_correct
            yield BatchStats(
                step=step,
                total_steps=total_steps,
                epoch=epoch,
                loss=loss_value,
                accuracy=int(batch_correct) / len(y),
                images_per_second=len(y) / max(time.perf_counter() - tick, 1e-9),
                lr=lr,
            )
        seconds = time.perf_counter() - epoch_start
        # A loss is checked before its step, so the epoch's very last step could
        # still have left non-finite weights: they must not be evaluated or kept.
        if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            snapshot.restore()
            yield ended(
                "diverged",
                f"Training diverged in the last batch of epoch {epoch} (a weight became NaN or infinite); "
                "the last good weights were kept. Try a smaller learning rate.",
            )
            return
        test_loss, test_accuracy = evaluate_loss_accuracy(model, test_x, test_y)
        epochs_done = epoch
        yield EpochStats(
            epoch=epoch,
            epochs=config.epochs,
            train_loss=float(loss_sum) / n,
            train_accuracy=int(correct_sum) / n,
            test_loss=test_loss,
            test_accuracy=test_accuracy,
            seconds=seconds,
        )
    model.eval()
    yield ended("completed", f"Trained {config.epochs} epoch(s): test accuracy {100 * test_accuracy:.2f}%.")
