"""The training loop: a generator of plain-number statistics.

The whole split sits on the device as uint8; each batch is a ``randperm``
slice, converted and (optionally) augmented on the device. The caller drives
the generator (a CLI progress bar, or the app's worker thread) and may pause,
resume or stop it through a ``TrainControl`` from any thread.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.core.data.augment import Augmentation
from cnnviz.core.data.datasets import class_names, load_split, to_float
from cnnviz.core.models.registry import build_model
from cnnviz.core.training import live_changes
from cnnviz.core.training.config import (  # noqa: F401 (re-exported: the recipe's names, where they always were)
    DEFAULT_BETAS,
    DEFAULT_LR,
    DEFAULT_WARMUP,
    MAX_SEED,
    OPTIMIZERS,
    SCHEDULES,
    TrainConfig,
    default_lr,
)
from cnnviz.core.training.control import TrainControl  # noqa: F401 (re-exported: where it always was)
from cnnviz.core.training.device import resolve_device, set_cpu_threads
from cnnviz.core.training.layer_stats import LayerStats, StageStats
from cnnviz.core.training.rollback import Rollback
from cnnviz.core.training.snapshots import Snapshots
from cnnviz.core.training.step_mode import StepProbe, StepReport

REPORT_INTERVAL = 1 / 30  # seconds between read-backs: the monitor redraws at 30 Hz
ROLLBACK_EVERY = 100  # steps between weight copies a diverging run can go back to


@dataclass
class BatchStats:
    """A group of consecutive batches (``first_step`` to ``step``), read back from the device in one go.

    ``loss``, ``accuracy`` and ``lr`` are those of the group's last batch; the
    tuples hold one value per batch of the group, in order.
    """

    step: int  # the group's last step, 1-based over the whole run
    total_steps: int
    epoch: int  # 1-based; a group never spans two epochs
    loss: float
    accuracy: float  # of the last batch, in [0, 1]
    images_per_second: float  # over the group's wall time
    lr: float
    first_step: int = 0  # 0: the same as ``step`` (a group of one)
    losses: tuple[float, ...] = ()
    accuracies: tuple[float, ...] = ()
    lrs: tuple[float, ...] = ()
    changes: tuple[tuple[int, dict], ...] = ()  # (the step from which it held, what changed) per live change
    layers: StageStats | None = None  # the latest per-stage figures (runs that ask for them)

    def __post_init__(self) -> None:
        if not self.first_step:
            self.first_step = self.step
        if not self.losses:  # a group of one given by its scalars
            self.losses, self.accuracies, self.lrs = (self.loss,), (self.accuracy,), (self.lr,)

    @property
    def batches(self) -> int:
        return self.step - self.first_step + 1

    @property
    def steps(self) -> range:
        return range(self.first_step, self.step + 1)


@dataclass
class EpochStats:
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float  # wall time of the epoch's training, without evaluation
    confusion: list[list[int]] | None = None  # on the test set, rows the true class


@dataclass
class TrainingEnded:
    reason: str  # "completed", "stopped" or "diverged"
    message: str
    epochs_completed: int
    test_accuracy: float | None
    seconds: float
    device: str
    kept_step: int | None = None  # diverged: the step whose weights were restored (0: from before the run)


TrainEvent = BatchStats | EpochStats | TrainingEnded | StepReport


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    lr, wd = config.learning_rate, config.weight_decay
    if config.optimizer == "sgd":
        # torch refuses Nesterov without momentum; with momentum 0 both are plain SGD anyway.
        nesterov = config.nesterov and config.momentum > 0
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum, nesterov=nesterov, weight_decay=wd)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=config.adam_betas, weight_decay=wd)
    return torch.optim.Adam(params, lr=lr, betas=config.adam_betas, weight_decay=wd)


def make_schedule(config: TrainConfig, optimizer: torch.optim.Optimizer, total_steps: int):
    if config.schedule == "onecycle" and total_steps >= 4:  # shorter: no room for a cycle (torch divides by 0)
        # Cycling the momentum (Adam's beta1) swings it 0.05 either side of its
        # value: for 0.9 that is torch's own 0.85-0.95, what runs recorded
        # before the field existed did. A steady beta1 did as well for LeNet.
        centre = config.momentum if config.optimizer == "sgd" else config.adam_betas[0]
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=config.learning_rate,
            total_steps=total_steps,
            # At least two warm-up steps: one would leave torch's first phase empty (a division by zero).
            pct_start=max(config.warmup if config.warmup is not None else DEFAULT_WARMUP, 2.0 / total_steps),
            cycle_momentum=config.cycle_momentum,
            base_momentum=round(max(centre - 0.05, 0.0), 12),
            max_momentum=round(min(centre + 0.05, 0.999), 12),
        )
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def evaluate_loss_accuracy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over uint8 images already on the model's device."""
    loss, accuracy, _ = evaluate_with_confusion(model, images, labels, 0, batch_size)
    return loss, accuracy


@torch.no_grad()
def evaluate_with_confusion(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, classes: int, batch_size: int = 1000
) -> tuple[float, float, list[list[int]] | None]:
    """Mean cross-entropy, accuracy and (``classes`` > 0) the confusion matrix, rows the true class.

    Summed on the device and read back once, not once per batch: the end of a run
    needs no second pass over the test set for its matrix.
    """
    was_training = model.training
    model.eval()
    sums = torch.zeros(2, device=images.device)  # loss, correct
    confusion = torch.zeros(max(classes, 1) ** 2, dtype=torch.long, device=images.device)
    for i in range(0, len(images), batch_size):
        scores = model(to_float(images[i : i + batch_size]))
        y = labels[i : i + batch_size]
        sums[0] += F.cross_entropy(scores, y, reduction="sum")
        predicted = scores.argmax(1)
        sums[1] += (predicted == y).sum()
        if classes:
            # scatter_add_, not bincount: bincount reads its input's maximum back to the host (a sync on CUDA).
            confusion.scatter_add_(0, y * classes + predicted, torch.ones_like(y))
    model.train(was_training)
    # One read-back for both (counts stay exact in float32 up to 16.7 million images).
    values = _read_back(torch.cat([sums, confusion.float()]) if classes else sums)
    total_loss, correct = values[:2]
    matrix = None
    if classes:
        flat = [int(v) for v in values[2:]]
        matrix = [flat[r * classes : (r + 1) * classes] for r in range(classes)]
    return total_loss / len(images), correct / len(images), matrix


def _read_back(values: torch.Tensor) -> list:
    """The loop's one way to bring device numbers to the host (a synchronisation on CUDA/MPS)."""
    return values.cpu().tolist()


class _Pending:
    """Per-batch loss and correct count held on the device until the next report."""

    def __init__(self) -> None:
        self.losses: list[torch.Tensor] = []
        self.correct: list[torch.Tensor] = []
        self.sizes: list[int] = []
        self.lrs: list[float] = []
        self.changes: list[tuple[int, dict]] = []
        self.layers: StageStats | None = None
        self.first_step = 0
        self.started = 0.0

    def __len__(self) -> int:
        return len(self.sizes)

    def add(self, step: int, loss: torch.Tensor, correct: torch.Tensor, size: int, lr: float) -> None:
        if not self.sizes:
            self.first_step = step
        self.losses.append(loss)
        self.correct.append(correct)
        self.sizes.append(size)
        self.lrs.append(lr)

    def read(self) -> tuple[list[float], list[float]]:
        """Losses and accuracies of the batches held, in one transfer; empties the holder."""
        values = _read_back(torch.stack([torch.stack(self.losses).float(), torch.stack(self.correct).float()]))
        losses, correct = values
        accuracies = [c / n for c, n in zip(correct, self.sizes, strict=True)]
        self.losses, self.correct, self.sizes, self.lrs = [], [], [], []
        return losses, accuracies


def train(
    config: TrainConfig,
    model: nn.Module | None = None,
    control: TrainControl | None = None,
    data_dir=None,
    *,
    report_interval: float = REPORT_INTERVAL,
    rollback_every: int = ROLLBACK_EVERY,
    max_steps: int | None = None,
    layer_stats: bool = False,
    snapshots: Snapshots | None = None,
) -> Iterator[TrainEvent]:
    """Train ``model`` (a fresh one of ``config.model`` if None) in place.

    Parameters
    ----------
    config
        The recipe.
    model
        Trained in place; None builds a fresh, seeded one.
    control
        Pause/resume/stop from any thread, honoured before every batch.
    data_dir
        Dataset folder (None: the default).
    report_interval
        Seconds between read-backs of the batches' losses (0: after every
        batch). Between reports nothing waits for the device.
    rollback_every
        Steps between the weight copies a diverging run can roll back to.
    max_steps
        End the run after this many batches (its last epoch cut short, still
        evaluated): for previews and tests.
    layer_stats
        Measure every stage at the report rate (``BatchStats.layers``).
    snapshots
        Keeps the weights every few steps, from step 0 to the last.

    Yields
    ------
    BatchStats
        One per report: every batch since the previous one.
    StepReport
        After a batch that ``control.step_once`` asked for (the run then pauses).
    EpochStats
        One per epoch, after its evaluation on the test set.
    TrainingEnded
        Last, once. "diverged" when a loss became non-finite or grew far above
        its start, or an epoch ended at chance level; the weights are then
        rolled back to the latest copy that still scores above chance on the
        test set, or else to the weights from before the run.
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
    if max_steps is not None:
        total_steps = max(1, min(total_steps, max_steps))
    epochs = math.ceil(total_steps / steps_per_epoch)

    recipe = None
    if config.recipe is not None:  # LeNet-5 the 1998 way: its own optimizer, schedule, loss and distortions
        from cnnviz.core.training.lecun1998 import Lecun1998, PaperDistortion

        recipe = Lecun1998(model, steps_per_epoch, config.lr)
        optimizer, schedule = recipe.optimizer, recipe.schedule
    else:
        optimizer = make_optimizer(config, model.parameters())
        schedule = make_schedule(config, optimizer, total_steps)
    augment: Augmentation | PaperDistortion | None = Augmentation.from_flags(config.augment, config.mirror)
    if config.distort:
        augment = PaperDistortion()
    classes = len(class_names(config.dataset))
    rollback = Rollback(model, classes, rollback_every)
    pending = _Pending()
    stats = LayerStats(model) if layer_stats else None
    if snapshots is not None:
        snapshots.start(model)
    started = time.perf_counter()
    step, test_accuracy, epochs_done = 0, None, 0
    last_report = started

    def ended(reason: str, message: str, kept_step: int | None = None) -> TrainingEnded:
        seconds = time.perf_counter() - started
        if stats is not None:
            stats.close()
        if snapshots is not None:
            snapshots.finish(step, model)
        return TrainingEnded(reason, message, epochs_done, test_accuracy, seconds, str(device), kept_step)

    def report(epoch: int) -> tuple[BatchStats | None, str | None]:
        """Read back the pending batches: their stats (up to any damage) and what went wrong, if anything."""
        nonlocal last_report  # ``totals`` is the current epoch's, rebound per epoch below
        first, lrs, sizes, changes, layers = (
            pending.first_step,
            pending.lrs,
            pending.sizes,
            pending.changes,
            pending.layers,
        )
        pending.changes, pending.layers = [], None
        losses, accuracies = pending.read()
        if snapshots is not None:
            snapshots.settle()  # the device was just read back: moving the copies costs no extra wait
        now = time.perf_counter()
        seconds, last_report = now - pending.started, now
        bad = rollback.first_bad(losses)
        keep = len(losses) if bad is None else bad
        stats = None
        if keep:
            totals[0] += sum(loss * size for loss, size in zip(losses[:keep], sizes, strict=False))
            totals[1] += sum(acc * size for acc, size in zip(accuracies[:keep], sizes, strict=False))
            totals[2] += sum(sizes[:keep])
            stats = BatchStats(
                step=first + keep - 1,
                total_steps=total_steps,
                epoch=epoch,
                loss=losses[keep - 1],
                accuracy=accuracies[keep - 1],
                images_per_second=sum(sizes) / max(seconds, 1e-9),
                lr=lrs[keep - 1],
                first_step=first,
                losses=tuple(losses[:keep]),
                accuracies=tuple(accuracies[:keep]),
                lrs=tuple(lrs[:keep]),
                changes=tuple(changes),
                layers=layers,
            )
        if bad is not None:
            return stats, f"at batch {first + bad} the loss became {losses[bad]:.4g}"
        rollback.sound_up_to(step)
        return stats, None

    def diverged(what: str) -> TrainingEnded:
        nonlocal test_accuracy
        kept = rollback.restore_best(lambda: evaluate_loss_accuracy(model, test_x, test_y)[1])
        test_accuracy = kept.test_accuracy
        if kept.step == 0:
            where = "no weights saved during the run still scored above chance, so the weights from before the run were restored"
        else:
            assert kept.test_accuracy is not None  # restore_best measured every copy it returns after the start
            where = (f"the weights of batch {kept.step} were restored "
                     f"({100 * kept.test_accuracy:.2f}% on the test set)")  # fmt: skip
        return ended("diverged", f"Training diverged: {what}; {where}. Try a smaller learning rate.", kept.step)

    def flush(epoch: int):
        """Yield the pending batches' stats, then the end of the run if they show damage; returns True then."""
        stats, damage = report(epoch)
        if stats:
            yield stats
        if damage:
            yield diverged(damage)
            return True
        return False

    for epoch in range(1, epochs + 1):
        epoch_start = time.perf_counter()
        order = torch.randperm(n, device=device, generator=generator)
        if recipe is not None:  # SDLM's second derivatives, re-estimated before each pass
            from cnnviz.core.training.lecun1998 import hessian_sample

            sample = hessian_sample(order)
            recipe.refresh_hessian(to_float(train_x[sample]))
        totals = [0.0, 0.0, 0]  # the epoch's summed loss, correct count, images (host-side, from reports)
        first = 0
        while first < n and step < total_steps:
            if not control._run.is_set() or control.stopped:
                # Show every batch done before blocking on a pause or ending.
                if pending and (yield from flush(epoch)):
                    return
                if not control._run.is_set():
                    control.wait_while_paused()
                    last_report = time.perf_counter()  # paused time is not the next group's
            if control.stopped:
                yield ended("stopped", f"Stopped by the user after {step} of {total_steps} batches.")
                return
            stepping = control.take_step()
            changes = control.take_changes()
            if changes:
                applied = live_changes.apply(optimizer, changes)
                if applied:
                    pending.changes.append((step + 1, applied))
                    if schedule is not None and live_changes.stops_schedule(applied, config.cycle_momentum):
                        schedule = None  # a changed value holds: the schedule would overwrite it
            if not pending:
                pending.started = time.perf_counter()
            index = order[first : first + config.batch_size]
            first += config.batch_size
            x, y = to_float(train_x[index]), train_y[index]
            if augment is not None:
                x = augment(x, generator)
            probe = StepProbe(model, x, y, config.label_smoothing) if stepping else None
            scores = model(x)
            if recipe is None:
                loss = F.cross_entropy(scores, y, label_smoothing=config.label_smoothing)
            else:
                loss = recipe.criterion(scores, y)
            optimizer.zero_grad(set_to_none=True)
            (loss * recipe.backward_scale(len(y)) if recipe else loss).backward()
            at_end = first >= n or step + 1 >= total_steps
            due = stepping or at_end or time.perf_counter() - last_report >= report_interval
            if stats is not None and due:
                stats.before_step()
            optimizer.step()
            lr = optimizer.param_groups[0]["lr"]
            if schedule is not None:
                schedule.step()
            step += 1
            if snapshots is not None:
                snapshots.after_step(step, model)
            if stats is not None and due:
                pending.layers = stats.measure(step)
            pending.add(step, loss.detach(), (scores.detach().argmax(1) == y).sum(), len(y), lr)
            if due:
                if (yield from flush(epoch)):
                    return
                if probe is not None:
                    yield probe.finish(step, float(loss.detach()), lr)
                if not at_end:
                    rollback.maybe_take(step)
        seconds = time.perf_counter() - epoch_start
        test_loss, test_accuracy, confusion = evaluate_with_confusion(model, test_x, test_y, classes)
        if not math.isfinite(test_loss):  # the epoch's last steps broke the weights after the last report
            yield diverged(f"after epoch {epoch} the test loss became {test_loss:.4g}")
            return
        if rollback.epoch_failed(step, test_accuracy):
            yield diverged(f"epoch {epoch} ended at {100 * test_accuracy:.2f}% test accuracy, chance level")
            return
        rollback.epoch_passed(step, test_accuracy)
        epochs_done = epoch
        yield EpochStats(
            epoch=epoch,
            epochs=epochs,
            train_loss=totals[0] / totals[2],
            train_accuracy=totals[1] / totals[2],
            test_loss=test_loss,
            test_accuracy=test_accuracy,
            seconds=seconds,
            confusion=confusion,
        )
    model.eval()
    assert test_accuracy is not None  # epochs >= 1, and every epoch ends with a test evaluation
    yield ended("completed", f"Trained {epochs_done} epoch(s): test accuracy {100 * test_accuracy:.2f}%.")
