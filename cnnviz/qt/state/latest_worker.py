"""Background jobs where the newest wins: the side-by-side networks and the slow attribution methods.

``LatestJobRunner`` keeps at most one job waiting: a new ``submit`` replaces
the waiting one (the newest drawing wins, nothing queues behind the models)
and, if asked, cancels the one running. Its Python thread is started when a
job arrives and ends as soon as nothing waits, so an idle panel costs no
thread at all; ``stop()`` (the window closing) cancels and joins it.

A job is ``fn(progress) -> result``: ``progress(fraction)`` reports how far it
got and raises ``Cancelled`` once the job is cancelled or superseded, which is
how a long captum computation stops between its batches.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Signal

from cnnviz.qt.state.lazy import core, emit_unless_gone

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second


class Cancelled(Exception):
    """Raised inside a job by its progress callback once the job is no longer wanted."""


class LatestJobRunner(QObject):
    """Runs one job at a time in a background thread; a newer job replaces a waiting one.

    Signals
    -------
    finished(object, object)  (tag, result) of a job that ran to its end
    failed(object, str)       (tag, one sentence) of a job that raised
    cancelled(object)         tag of a job stopped by ``cancel``, ``stop`` or a newer job
    progress(object, float)   (tag, fraction done), throttled
    """

    finished = Signal(object, object)
    failed = Signal(object, str)
    cancelled = Signal(object)
    progress = Signal(object, float)

    def __init__(self, name: str, parent: QObject | None = None, min_interval_s: float = 0.0) -> None:
        super().__init__(parent)
        self.name = name
        # Jobs start at most this often: inputs that arrive meanwhile replace the waiting one, and the
        # thread leaves the cores to the GUI thread between jobs instead of racing every stroke.
        self.min_interval_s = min_interval_s
        self._last_start = float("-inf")
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._pending: tuple[object, object] | None = None
        self._running: object | None = None
        self._cancel_running = False
        self._stopped = False
        self._thread: threading.Thread | None = None

    def submit(self, tag, fn, cancel_running: bool = False) -> None:
        """Run ``fn(progress)`` next, replacing any job still waiting; ``cancel_running`` stops the current one."""
        with self._lock:
            if self._stopped:
                return
            self._pending = (tag, fn)
            self._cancel_running = self._cancel_running or cancel_running
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=f"cnnviz-{self.name}", daemon=True)
                self._thread.start()

    def cancel(self) -> None:
        """Drop the waiting job and stop the running one at its next progress report."""
        with self._lock:
            dropped, self._pending = self._pending, None
            self._cancel_running = True
        if dropped is not None:  # it never started: say so now, as the running one will
            self.cancelled.emit(dropped[0])

    def busy(self) -> bool:
        """True while a job runs or waits."""
        with self._lock:
            return self._thread is not None

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel everything, refuse new jobs and wait for the thread to end (the window is closing)."""
        with self._lock:
            self._stopped = True
            self._stop_event.set()
            self._pending = None
            self._cancel_running = True
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        # One torch thread here too: see cnnviz.core.training.device.set_cpu_threads (set before any torch op).
        core().set_cpu_threads(1)
        while True:
            wait = self._last_start + self.min_interval_s - time.monotonic()
            if wait > 0:
                self._stop_event.wait(wait)
            with self._lock:
                if self._pending is None or self._stopped:
                    self._thread = None
                    return
                (tag, fn), self._pending = self._pending, None
                self._running, self._cancel_running = tag, False
            self._last_start = time.monotonic()
            last = 0.0

            def progress(fraction: float, tag=tag) -> None:
                nonlocal last
                if self._cancel_running or self._stopped:
                    raise Cancelled
                now = time.monotonic()
                if now - last >= PROGRESS_INTERVAL_S or fraction >= 1.0:
                    last = now
                    emit_unless_gone(self.progress, tag, float(fraction))

            try:
                result = fn(progress)
            except Cancelled:
                emit_unless_gone(self.cancelled, tag)
            except BaseException as exc:  # a user's network, SystemExit too: one sentence
                emit_unless_gone(self.failed, tag, f"{type(exc).__name__}: {exc}".strip())
            else:
                emit_unless_gone(self.finished, tag, result)
            finally:
                self._running = None
