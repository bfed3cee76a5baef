"""Thread-safe control of a running training loop: pause, resume, stop, one step, live changes.

Every request acts between two batches: the loop checks them before each one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class TrainControl:
    """Thread-safe pause/resume/stop, one step, and changes of the optimizer, honoured before every batch."""

    _run: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _changes: dict = field(default_factory=dict)
    _step: bool = False

    def __post_init__(self) -> None:
        self._run.set()

    def change(self, **values: float) -> None:
        """Change lr / momentum / beta1 / beta2 before the next batch (checked here: ``CnnvizError``)."""
        from cnnviz.core.training.live_changes import check_change

        checked = {name: check_change(name, value) for name, value in values.items()}
        with self._lock:
            self._changes.update(checked)

    def take_changes(self) -> dict:
        with self._lock:
            changes, self._changes = self._changes, {}
        return changes

    def step_once(self) -> None:
        """Run exactly one batch, looked at closely (a ``StepReport``), then pause."""
        with self._lock:
            self._step = True
        self._run.set()

    def take_step(self) -> bool:
        """Whether the next batch is a step; the loop pauses after it."""
        with self._lock:
            step, self._step = self._step, False
        if step and not self.stopped:
            self._run.clear()
        return step

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
