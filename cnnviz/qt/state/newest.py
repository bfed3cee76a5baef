"""The newest job wins: the mode of ``cnnviz.qt.state.workers`` for work that follows the input.

The six networks side by side, the live explanations and the slow attribution
methods answer the drawing on screen: only the newest input matters.
``NewestWins`` runs one job at a time; a newer submission replaces the one
waiting (nothing queues behind the models) and may cancel the one running.
Answers carry the tag they were submitted with, so a receiver can tell a
stale one.

These jobs come with every stroke, so they run on one thread per runner that
stays while jobs keep coming (``LANE_IDLE_S``), not on a thread and a superqt
worker made per job: starting those cost the GUI thread a wait for the new
thread and half a dozen signal connections per stroke and panel, which showed
in a stroke's p95 with every panel open (issue 23, ``cnnviz bench --app``).
An idle runner holds no thread. Errors are one sentence (``describe_error``),
``SystemExit`` from a user's network included, as for every job.
"""

from __future__ import annotations

import inspect
import threading
import time

from PySide6.QtCore import QObject, QTimer, Signal

from cnnviz.qt.state import workers
from cnnviz.qt.state.errors import GENERIC, describe_error
from cnnviz.qt.state.lazy import core
from cnnviz.qt.state.workers import Cancelled

__all__ = ["Cancelled", "NewestWins"]

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second
LANE_IDLE_S = 0.5  # a runner's thread ends after this long without a job (a stroke's jobs come every ~50 ms)


class _Run:
    """One submitted job, as the GUI thread and the lane both see it."""

    def __init__(self, tag, fn) -> None:
        self.tag, self.fn = tag, fn
        self.cancel = threading.Event()
        self.abandoned = False  # stop(): deliver nothing more
        self.last_report = float("-inf")


class _Relay(QObject):
    """Carries a lane's reports to the GUI thread (emitted there, delivered queued here)."""

    done = Signal(object, str, object)  # run, "finished" / "failed" / "cancelled", result or sentence
    reported = Signal(object, object)  # run, progress value


class _Lane:
    """The runner's thread and what it is handed; shared with the thread, which never holds the runner."""

    def __init__(self, name: str, failure: str, relay: _Relay) -> None:
        self.name, self.failure, self.relay = name, failure, relay
        self.cv = threading.Condition()
        self.handed: _Run | None = None
        self.ending = False
        self.thread: threading.Thread | None = None

    def hand(self, run: _Run) -> None:
        """Give the lane its next job, starting its thread if it has none (GUI thread)."""
        with self.cv:
            self.handed = run
            if self.thread is None:
                self.thread = threading.Thread(target=self._main, name=f"cnnviz-{self.name}", daemon=True)
                self.thread.start()
            self.cv.notify()

    def end(self, *_args) -> None:
        with self.cv:
            self.ending = True
            self.cv.notify()

    def _main(self) -> None:
        try:
            core().set_cpu_threads(1)  # before the thread's first torch op: one thread for a follow-the-pen job
        except Exception:  # noqa: BLE001 (torch not loaded: the job says so itself)
            pass
        while True:
            with self.cv:
                if self.handed is None and not self.ending:
                    self.cv.wait(LANE_IDLE_S)
                run, self.handed = self.handed, None
                if run is None:  # idle long enough, or told to end
                    self.thread = None
                    return
            with workers.counted(self.name):  # seen by workers.active() and wait_for_all while it works
                kind, value = self._execute(run)
            self._send(self.relay.done, run, kind, value)

    def _execute(self, run: _Run) -> tuple[str, object]:
        def progress(value=None) -> None:
            if run.cancel.is_set():
                raise Cancelled
            now = time.monotonic()
            if now - run.last_report >= PROGRESS_INTERVAL_S or (isinstance(value, float) and value >= 1.0):
                run.last_report = now
                self._send(self.relay.reported, run, value)

        try:
            value = run.fn(progress)
            if inspect.isgenerator(value):  # a generator job: each yield is a progress report
                gen, value = value, None
                try:
                    while True:
                        progress(next(gen))
                except StopIteration as stop:
                    value = stop.value
                finally:
                    gen.close()
        except Cancelled:
            return "cancelled", None
        except BaseException as exc:  # noqa: BLE001 - a user's sys.exit() must not end the app: one sentence
            return ("cancelled", None) if run.cancel.is_set() else ("failed", describe_error(exc, self.failure))
        return ("cancelled", None) if run.cancel.is_set() else ("finished", value)

    @staticmethod
    def _send(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the runner is gone (its window closed): nobody is listening
            pass


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
        self._running: _Run | None = None
        self._last_start = float("-inf")
        self._stopped = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._start_next)
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_done)
        self._relay.reported.connect(self._on_reported)
        self._lane = _Lane(name, failure, self._relay)
        self.destroyed.connect(self._lane.end)  # a runner deleted without stop(): its thread ends too

    def submit(self, tag, fn, cancel_running: bool = False) -> None:
        """Run ``fn(progress)`` next, replacing any job still waiting; ``cancel_running`` stops the current one."""
        if self._stopped:
            return
        self._pending = (tag, fn)
        if self._running is not None:
            if cancel_running:
                self._running.cancel.set()
            return
        self._schedule()

    def cancel(self) -> None:
        """Drop the waiting job and stop the running one at its next progress report."""
        dropped, self._pending = self._pending, None
        self._timer.stop()
        if self._running is not None:
            self._running.cancel.set()
        if dropped is not None:  # it never started: say so now, as the running one will
            self.cancelled.emit(dropped[0])

    def busy(self) -> bool:
        """True while a job runs or waits."""
        return self._running is not None or self._pending is not None

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel everything, refuse new jobs and wait for the running job's thread (the window is closing)."""
        self._stopped = True
        self._pending = None
        self._timer.stop()
        run, self._running = self._running, None
        if run is not None:
            run.abandoned = True
            run.cancel.set()
        thread = self._lane.thread
        self._lane.end()
        if thread is not None:
            thread.join(timeout)

    def _schedule(self) -> None:
        wait = self._last_start + self.min_interval_s - time.monotonic()
        if wait > 0:
            if not self._timer.isActive():
                self._timer.start(int(wait * 1000) + 1)
        else:
            self._start_next()

    def _start_next(self) -> None:
        if self._stopped or self._running is not None or self._pending is None:
            return
        (tag, fn), self._pending = self._pending, None
        self._last_start = time.monotonic()
        self._running = _Run(tag, fn)
        self._lane.hand(self._running)

    def _on_reported(self, run: _Run, value) -> None:
        if run is self._running and not run.cancel.is_set() and value is not None:
            self.progress.emit(run.tag, float(value))

    def _on_done(self, run: _Run, kind: str, value) -> None:
        if run is not self._running or run.abandoned:
            return
        self._running = None
        if kind == "finished":
            self.finished.emit(run.tag, value)
        elif kind == "failed":
            self.failed.emit(run.tag, value)
        else:
            self.cancelled.emit(run.tag)
        if self._pending is not None:
            self._schedule()
