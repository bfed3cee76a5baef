"""The newest job wins: a mode of ``cnnviz.qt.state.workers`` for work that follows the input.

The six networks side by side and the slow attribution methods answer the
drawing on screen: only the newest input matters. ``NewestWins`` runs one job
at a time through ``workers.start``; a newer submission replaces the one
waiting (nothing queues behind the models) and may cancel the one running.
Answers carry the tag they were submitted with, so a receiver can tell a
stale one. An idle runner holds no thread at all.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from cnnviz.qt.state.errors import GENERIC
from cnnviz.qt.state.workers import Cancelled, Job, start

__all__ = ["Cancelled", "NewestWins"]

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second


class NewestWins(QObject):
    """The newest job wins: one runs, at most one waits; a newer ``submit`` replaces the waiting one.

    Jobs start at most every ``min_interval_s`` (inputs arriving meanwhile replace the waiting
    one, and the cores go to the GUI thread between jobs instead of racing every stroke). Each
    runs with one torch thread. ``stop()`` (the window closing) cancels, waits for the running
    job's thread and refuses new jobs.

    Signals
    -------
    finished(object, object)  (tag, result) of a job that ran to its end
    failed(object, str)       (tag, one sentence) of a job that raised
    cancelled(object)         tag of a job stopped by ``cancel`` or a ``cancel_running`` submit
    progress(object, float)   (tag, fraction done), at most ~20 a second
    """

    finished = Signal(object, object)
    failed = Signal(object, str)
    cancelled = Signal(object)
    progress = Signal(object, float)

    def __init__(
        self, name: str, parent: QObject | None = None, min_interval_s: float = 0.0, failure: str = GENERIC
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.min_interval_s = min_interval_s
        self.failure = failure
        self._pending: tuple[object, object] | None = None
        self._job: Job | None = None
        self._last_start = float("-inf")
        self._stopped = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._start_next)

    def submit(self, tag, fn, cancel_running: bool = False) -> None:
        """Run ``fn(progress)`` next, replacing any job still waiting; ``cancel_running`` stops the current one."""
        if self._stopped:
            return
        self._pending = (tag, fn)
        if self._job is not None:
            if cancel_running:
                self._job.cancel()
            return
        self._schedule()

    def cancel(self) -> None:
        """Drop the waiting job and stop the running one at its next progress report."""
        dropped, self._pending = self._pending, None
        self._timer.stop()
        if self._job is not None:
            self._job.cancel()
        if dropped is not None:  # it never started: say so now, as the running one will
            self.cancelled.emit(dropped[0])

    def busy(self) -> bool:
        """True while a job runs or waits."""
        return self._job is not None or self._pending is not None

    def running_job(self) -> Job | None:
        return self._job

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel everything, refuse new jobs and wait for the running job's thread (the window is closing)."""
        self._stopped = True
        self._pending = None
        self._timer.stop()
        job, self._job = self._job, None
        if job is not None:
            job.abandon()
            job.wait(timeout)

    def _schedule(self) -> None:
        wait = self._last_start + self.min_interval_s - time.monotonic()
        if wait > 0:
            if not self._timer.isActive():
                self._timer.start(int(wait * 1000) + 1)
        else:
            self._start_next()

    def _start_next(self) -> None:
        if self._stopped or self._job is not None or self._pending is None:
            return
        (tag, fn), self._pending = self._pending, None
        self._last_start = time.monotonic()
        job = start(fn, name=self.name, parent=self, failure=self.failure,
                    progress_interval_s=PROGRESS_INTERVAL_S, torch_threads=1)  # fmt: skip
        job.progressed.connect(lambda value: value is None or self.progress.emit(tag, float(value)))
        job.returned.connect(lambda result: self.finished.emit(tag, result))
        job.failed.connect(lambda text: self.failed.emit(tag, text))
        job.cancelled.connect(lambda: self.cancelled.emit(tag))
        job.finished.connect(self._on_job_finished)
        self._job = job

    def _on_job_finished(self) -> None:
        self._job = None
        if self._pending is not None:
            self._schedule()
