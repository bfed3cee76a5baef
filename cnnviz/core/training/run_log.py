"""One training run's record: its settings and curves, written as CSV.

``RunLog`` collects what a run reports (every batch's loss, learning rate and
accuracy; every epoch's train and test accuracy) and writes it as CSV with
``COLUMNS``. ``cnnviz train --log run.csv`` and the app's runs list use the
same class, so a file from either opens the same way in a spreadsheet::

    run,step,epoch,loss,smoothed_loss,learning_rate,batch_accuracy,train_accuracy,test_accuracy

One row per batch; ``train_accuracy`` and ``test_accuracy`` are filled on an
epoch's last batch only (they are measured once per epoch). A run that changed
while it ran adds a ``change`` column ("lr 0.01" on the first batch it held
for); a run measured inside its layers adds ``<stage>/grad_norm``,
``<stage>/update_ratio`` and ``<stage>/dead`` per stage, filled on the batches
they were measured on (the report rate).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz.core.data.datasets import DATASETS
from cnnviz.core.errors import CnnvizError
from cnnviz.core.training.loop import DEFAULT_LR, default_lr

COLUMNS = (
    "run", "step", "epoch", "loss", "smoothed_loss", "learning_rate", "batch_accuracy", "train_accuracy",
    "test_accuracy",
)  # fmt: skip
LOSS_SMOOTHING = 0.95  # the app's bold loss curve uses the same debiased EMA


def smooth(values, beta: float = LOSS_SMOOTHING) -> np.ndarray:
    """Debiased exponential moving average (as TensorBoard draws it); non-finite points are skipped."""
    out = np.empty(len(values))
    value, count = 0.0, 0
    for i, v in enumerate(np.asarray(values, dtype=float)):
        if math.isfinite(v):
            count += 1
            value = beta * value + (1 - beta) * v
        out[i] = value / (1 - beta**count) if count else v
    return out


@dataclass
class RunLog:
    """The record of one run.

    Parameters
    ----------
    settings
        The run's settings (``TrainConfig.as_dict()``, plus anything else worth
        comparing, e.g. ``start``: "scratch" or "current").
    name
        What the CSV's ``run`` column says (default: ``describe(settings)``).
    """

    settings: dict = field(default_factory=dict)
    name: str = ""
    started: datetime = field(default_factory=datetime.now)
    steps: list = field(default_factory=list)
    epochs: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    lrs: list = field(default_factory=list)
    accuracies: list = field(default_factory=list)
    epoch_rows: list = field(default_factory=list)  # (epoch, last step, train accuracy, test accuracy)
    changes: list = field(default_factory=list)  # (step from which it held, {"lr": 0.01}) per live change
    layer_rows: dict = field(default_factory=dict)  # step -> {"<stage>/grad_norm": ..., ...}
    reason: str = ""  # how it ended: "completed", "stopped", ...; "" while running
    final_accuracy: float | None = None  # test accuracy at the end (None: not measured)

    def __post_init__(self) -> None:
        self.name = self.name or describe(self.settings)

    # -- collecting ------------------------------------------------------------------
    def add_batches(self, steps, losses, lrs, accuracies, epochs) -> None:
        """Batches as the app's worker reports them (equal-length sequences)."""
        self.steps.extend(int(s) for s in steps)
        self.losses.extend(float(v) for v in losses)
        self.lrs.extend(float(v) for v in lrs)
        self.accuracies.extend(float(v) for v in accuracies)
        self.epochs.extend(int(e) for e in epochs)

    def add_epoch(self, epoch: int, train_accuracy: float, test_accuracy: float) -> None:
        self.epoch_rows.append((int(epoch), self.steps[-1] if self.steps else 0, train_accuracy, test_accuracy))

    def finish(self, reason: str, test_accuracy: float | None = None) -> None:
        self.reason = reason
        self.final_accuracy = test_accuracy

    def record(self, event) -> None:
        """Feed one report of a ``TrainingRun`` (``Progress``, ``EpochStats``, ``RunEnd``) or of ``train``."""
        kind = type(event).__name__
        if kind in ("Progress", "BatchStats"):  # a group of batches, read back from the device in one go
            steps = list(event.steps)
            self.add_batches(steps, event.losses, event.lrs, event.accuracies, [event.epoch] * len(steps))
            self.changes.extend((int(step), dict(values)) for step, values in getattr(event, "changes", ()))
            layers = getattr(event, "layers", None)
            if layers is not None:
                self.layer_rows[int(layers.step)] = layers.columns()
        elif kind == "EpochStats":
            self.add_epoch(event.epoch, event.train_accuracy, event.test_accuracy)
        elif kind in ("TrainingEnded", "RunEnd"):
            self.finish(event.reason, event.test_accuracy)

    # -- reading -----------------------------------------------------------------------
    @property
    def batches(self) -> int:
        return len(self.steps)

    def smoothed_loss(self) -> np.ndarray:
        return smooth(self.losses)

    def test_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(epoch, test accuracy in [0, 1]) per finished epoch."""
        rows = self.epoch_rows
        return np.array([r[0] for r in rows], dtype=float), np.array([r[3] for r in rows], dtype=float)

    def extra_columns(self) -> list[str]:
        """The columns after ``COLUMNS`` this run has: ``change``, then the per-stage figures."""
        extra = ["change"] if self.changes else []
        for row in self.layer_rows.values():
            extra.extend(k for k in row if k not in extra)
        return extra

    def change_labels(self) -> dict[int, str]:
        """Step -> "lr 0.01" for every live change (the runs list and the CSV say it the same way)."""
        from cnnviz.core.training.live_changes import describe as describe_change

        labels: dict[int, str] = {}
        for step, values in self.changes:
            labels[step] = "; ".join(filter(None, [labels.get(step, ""), describe_change(values)]))
        return labels

    def rows(self, name: str | None = None, extra: list[str] | None = None) -> list[tuple]:
        """The CSV rows (without the header), one per batch; ``name`` overrides the ``run`` column;
        ``extra`` columns follow ``COLUMNS`` (default: ``extra_columns()``)."""
        at_step = {step: (train, test) for _, step, train, test in self.epoch_rows}
        extra = self.extra_columns() if extra is None else extra
        changes = self.change_labels()
        smoothed = self.smoothed_loss()
        out = []
        for i, step in enumerate(self.steps):
            train, test = at_step.get(step, ("", ""))
            row: tuple = (name or self.name, step, self.epochs[i], self.losses[i], float(smoothed[i]), self.lrs[i],
                   self.accuracies[i], train, test)  # fmt: skip
            if extra:
                layers = self.layer_rows.get(step, {})
                row += tuple(changes.get(step, "") if c == "change" else _cell(layers.get(c)) for c in extra)
            out.append(row)
        return out

    def to_csv(self, path: str | Path) -> Path:
        """Write this run as CSV with ``COLUMNS``; see ``write_csv`` for several runs in one file."""
        return write_csv([self], path)


def _cell(value) -> object:
    """A per-stage figure as a CSV cell: empty where not measured or not defined (NaN)."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else value


def write_csv(logs: list[RunLog], path: str | Path, names: list[str] | None = None) -> Path:
    """Several runs in one CSV file, one after the other (the ``run`` column, ``names`` if given, tells them apart)."""
    import io

    from cnnviz.core.data.files import write_atomic

    text = io.StringIO(newline="")
    writer = csv.writer(text)
    extra: list[str] = []
    for log in logs:
        extra.extend(c for c in log.extra_columns() if c not in extra)
    writer.writerow(COLUMNS + tuple(extra))
    for i, log in enumerate(logs):
        writer.writerows(log.rows(names[i] if names else None, extra))
    # Atomic: a full disk leaves the old file as it was, never a truncated one.
    return write_atomic(path, text.getvalue().encode("utf-8"), what="runs file")


# -- labels: what a run is, and what tells it apart from others --------------------------------
_OPTIMIZERS: dict[Any, str] = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}
_STARTS: dict[Any, str] = {"current": "continued", "scratch": "from scratch"}
_SCHEDULES: dict[Any, str] = {"onecycle": "one-cycle", "cosine": "cosine", "constant": "constant lr"}


_ORDER = ("model", "dataset", "activation", "optimizer", "schedule", "epochs", "batch_size", "weight_decay", "augment",
          "mirror", "label_smoothing", "start", "seed", "device")  # fmt: skip


def _model_name(name) -> str:
    try:
        from cnnviz.core.models.registry import get_spec

        return get_spec(name).display_name
    except CnnvizError:
        return str(name)


def _parts(s: dict) -> dict[str, str]:
    """Each comparable setting as a short phrase, in the order a label reads."""
    lr = s.get("lr")
    if lr is None and s.get("optimizer") in DEFAULT_LR:  # the rate the run used: the default for its epochs
        lr = default_lr(s["optimizer"], s.get("epochs") or 1, s.get("model"))
    optimizer = _OPTIMIZERS.get(s.get("optimizer"), str(s.get("optimizer", "")))
    parts = {
        "model": _model_name(s.get("model")),
        "dataset": DATASETS[s["dataset"]].display_name if s.get("dataset") in DATASETS else str(s.get("dataset")),
        "activation": str(s.get("activation", "")),
        "optimizer": f"{optimizer} lr {format_lr(lr)}" if isinstance(lr, (int, float)) else optimizer,
        "schedule": _SCHEDULES.get(s.get("schedule"), str(s.get("schedule", ""))),
        "epochs": f"{s.get('epochs')} epoch{'s' if s.get('epochs') != 1 else ''}",
        "batch_size": f"batch {s.get('batch_size')}",
        "weight_decay": f"weight decay {s.get('weight_decay', 0):g}",
        "augment": "augmented" if s.get("augment") else "not augmented",
        "mirror": "mirrored" if s.get("mirror") else "not mirrored",
        "label_smoothing": f"label smoothing {s.get('label_smoothing', 0):g}",
        "start": _STARTS.get(s.get("start"), str(s.get("start", ""))),
        "seed": f"seed {s.get('seed')}",
        "device": str(s.get("device", "")),
    }
    if s.get("recipe"):  # LeNet-5 the 1998 way: its own optimizer, schedule and distortions
        from cnnviz.core.training.recipe_defaults import RECIPE_DEFAULTS

        first = s.get("lr") or RECIPE_DEFAULTS.get(s["recipe"], {}).get("first_lr")
        parts["optimizer"] = f"1998 recipe (SDLM) lr {format_lr(first)}" if first else "1998 recipe (SDLM)"
        parts["schedule"] = "1998 schedule"
        parts["augment"] = "distorted" if s.get("distort") else "not distorted"
    return {key: text for key, text in parts.items() if text}


def format_lr(lr: float) -> str:
    """A learning rate in two significant digits: 0.0036, not 0.00357771 (1e-05 stays short)."""
    return f"{float(f'{lr:.2g}'):g}"


def describe(settings: dict) -> str:
    """A run in a few words: "LeNet · MNIST · Adam lr 0.002 · 1 epoch"."""
    parts = _parts(settings)
    return " · ".join(parts[k] for k in ("model", "dataset", "activation", "optimizer", "epochs") if k in parts)


def difference_labels(settings: list[dict]) -> list[str]:
    """For each run, only the settings in which the runs differ ("sigmoid · SGD lr 0.9").

    A single run, or runs that differ in nothing, are described in full instead.
    """
    parts = [_parts(s) for s in settings]
    keys = [k for k in _ORDER if len({p.get(k, "") for p in parts}) > 1]
    if not keys:
        return [describe(s) for s in settings]
    return [" · ".join(p[k] for k in keys if p.get(k)) for p in parts]
