"""One way to run work off the GUI thread: superqt's workers, each in a thread of its own.

::

    job = workers.start(fn, name="evaluate", parent=self)  # fn(progress) -> result, or a generator function
    job.returned.connect(...)     # and progressed, failed, cancelled, paused, resumed, finished: GUI thread
    job.cancel(); job.pause(); job.resume(); job.wait()

A job is ``fn(progress)``. A plain function runs in superqt's ``FunctionWorker``:
``progress(value)`` reports how far it got, and is where Cancel (it raises
``Cancelled``) and Pause (it waits) take effect. A generator function runs in
superqt's ``GeneratorWorker``: each ``yield`` is a progress report and the
point where superqt's own loop honours Cancel and Pause; ``job.send`` reaches it.

- Results arrive on the GUI thread: the worker's signals are queued to ``Job``,
  a QObject child of ``parent``. When the receiver is deleted, Qt drops what was
  still on its way (what ``emit_unless_gone`` did by hand); the thread finishes
  on its own, abandoned.
- One error path: whatever a job raises, ``SystemExit`` or ``KeyboardInterrupt``
  from a user's network included, becomes ``failed(sentence)`` through
  ``describe_error``, never a traceback and never the end of the app.
- Exactly one of ``returned`` / ``failed`` / ``cancelled`` per job, then ``finished``.

Each job gets a daemon Python thread (``cnnviz-<name>``) rather than a slot in
superqt's global QThreadPool: the pool has as many threads as cores (two on a
classroom laptop), so a training run and an evaluation would leave the six
networks queueing behind them; and a named Python thread is seen by the tests'
leak check and can be joined. ``active()`` lists the jobs still running (for
tests) and ``wait_for_all`` lets the app's exit wait for abandoned ones.

``cnnviz.qt.state.newest.NewestWins`` is the mode where the newest job wins
(the side-by-side networks, the live explanations, the slow attribution
methods): its jobs come with every stroke, so they run one after another on a
thread that stays while they come, without a superqt worker each; ``counted``
shows that thread's jobs to ``active()`` and ``wait_for_all`` as ``start``'s are.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import threading
import time

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal, Slot

from cnnviz.qt.state.errors import GENERIC, describe_error
from cnnviz.qt.state.lazy import core

__all__ = ["Cancelled", "Job", "Progress", "active", "counted", "start", "wait_for_all"]

PAUSE_POLL_S = 0.02  # how often a paused function job looks for Resume or Cancel


class Cancelled(Exception):
    """Raised inside a job by ``progress`` once the job is cancelled (or superseded)."""


_LOCK = threading.Lock()
_RUNNING: dict[threading.Thread, str] = {}  # each job's thread and the job's name


def active() -> list[str]:
    """Names of the jobs whose threads still run (a test asserts none leaked: ``active() == []``)."""
    with _LOCK:
        return sorted(name for thread, name in _RUNNING.items() if thread.is_alive())


@contextlib.contextmanager
def counted(name: str):
    """Count the calling thread as a running job named ``name`` while the block runs (``active``, ``wait_for_all``)."""
    me = threading.current_thread()
    with _LOCK:
        _RUNNING[me] = name
    try:
        yield
    finally:
        with _LOCK:
            _RUNNING.pop(me, None)


def wait_for_all(timeout: float | None = None) -> bool:
    """Wait for every running job (the app exits: torch must not be torn down under a thread); True if none is left."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _LOCK:
            threads = list(_RUNNING)
        if not threads:
            return True
        for thread in threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if deadline is not None and time.monotonic() >= deadline:
            return not active()


class _Signals(QObject):
    """superqt's worker signals (``GeneratorWorkerSignals``) for both kinds of worker:
    ``yielded`` carries a function job's progress too."""

    started = Signal()
    finished = Signal()
    _finished = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    warned = Signal(tuple)
    yielded = Signal(object)
    paused = Signal()
    resumed = Signal()
    aborted = Signal()


class _Ends:
    """How ``run`` ends a worker: exactly one of returned/errored/aborted, then finished.

    superqt's own ``run`` swaps the process-wide warnings filters and ``showwarning`` for each
    worker, which is not thread-safe with several workers at once (a finished worker's hook can
    stay installed), lets BaseException through and ends silently on a RuntimeError; this one
    keeps superqt's ``work`` (the generator loop with pause and abort) and its signals.
    """

    is_generator = False

    def run(self) -> None:  # called in the job's thread
        self._running = True
        self._emit(self.started)
        try:
            value = self.work()
            if isinstance(value, RuntimeError) and self.is_generator:
                raise value  # superqt's loop returns a generator's RuntimeError instead of raising it
        except Cancelled:
            self._emit(self.aborted)
        except BaseException as exc:  # noqa: BLE001 - a user's sys.exit() must not end the app: one sentence
            self._emit(self.errored, exc)
        else:
            if self.abort_requested:  # cancelled after its last report: the result is not wanted
                self._emit(self.aborted)
            else:
                self._emit(self.returned, value)
        finally:
            self._running = False
        self._emit(self.finished)

    def _emit(self, signal, *args) -> None:
        """Emit, unless the signals object is gone: a job abandoned at closing (its thread still in a batch)
        outlives the app's Qt objects, and its last word must not end as a traceback on the terminal."""
        try:
            if shiboken6.isValid(self.signals):
                signal.emit(*args)
        except RuntimeError:  # deleted between the look and the emit
            pass


class _PausedAtProgress:
    """Pause for a function job: ``progress`` waits while paused (superqt pauses generators only)."""

    def _init_pause(self) -> None:
        self.signals = _Signals()  # superqt's FunctionWorker has no yielded/paused/aborted signals
        self._resume = threading.Event()
        self._resume.set()

    @property
    def is_paused(self) -> bool:
        return not self._resume.is_set()

    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def wait_while_paused(self) -> None:
        if self._resume.is_set():
            return
        self.paused.emit()
        while not self._resume.wait(PAUSE_POLL_S):
            if self.abort_requested:
                raise Cancelled
        if self.abort_requested:  # woken by Cancel, not by Resume
            raise Cancelled
        self.resumed.emit()


_CLASSES: dict[bool, type] = {}
_CLASSES_LOCK = threading.Lock()


def _worker_class(generator: bool) -> type:
    """superqt's FunctionWorker or GeneratorWorker with our ``run``, built on first use.

    superqt itself was imported by ``start`` on the GUI thread (``_import_superqt``).
    """
    with _CLASSES_LOCK:
        if not _CLASSES:
            from superqt.utils import FunctionWorker, GeneratorWorker

            class _FunctionWorker(_Ends, _PausedAtProgress, FunctionWorker):
                def __init__(self, func, *args) -> None:
                    super().__init__(func, *args)
                    self._init_pause()

            class _GeneratorWorker(_Ends, GeneratorWorker):
                is_generator = True

                def __init__(self, func, *args) -> None:
                    def generator(*args):  # a generator function for superqt even when ``func`` is a partial
                        return (yield from func(*args))

                    super().__init__(generator, *args, SignalsClass=_Signals)

            _CLASSES.update({False: _FunctionWorker, True: _GeneratorWorker})
        return _CLASSES[generator]


def _import_superqt() -> None:
    """Import superqt on the GUI thread, once (~0.2 s: its package imports all its widgets).

    Never first in a job's thread: PySide sets its types up lazily and not thread-safely, and
    superqt imported in the loader's thread while the window painted crashed one start in
    three on a busy machine (tests/qt/test_app.py, 15 starts three at a time).
    """
    if "superqt.utils" not in sys.modules:
        import superqt.utils  # noqa: F401


def _is_generator_function(fn) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return inspect.isgeneratorfunction(fn)


class Progress:
    """What a job calls to say how far it got: ``progress(value)``.

    Raises ``Cancelled`` once the job is cancelled and waits while it is paused.
    ``min_interval_s`` thins the reports (a float of 1.0 or more always passes: the end).
    """

    def __init__(self, min_interval_s: float = 0.0) -> None:
        self.min_interval_s = min_interval_s
        self.worker = None  # the superqt worker, once made in the job's thread
        self._cancelled = False
        self._last = float("-inf")

    @property
    def cancelled(self) -> bool:
        return self._cancelled or (self.worker is not None and self.worker.abort_requested)

    def __call__(self, value=None) -> None:
        if self.cancelled:
            raise Cancelled
        worker = self.worker
        if isinstance(worker, _PausedAtProgress):
            worker.wait_while_paused()
        now = time.monotonic()
        if now - self._last >= self.min_interval_s or (isinstance(value, float) and value >= 1.0):
            self._last = now
            if worker is not None:
                worker.yielded.emit(value)


class Job(QObject):
    """One job in the background, seen from the GUI thread; see the module docstring.

    Signals
    -------
    progressed(object)  a progress report (what the job passed to ``progress`` or yielded)
    returned(object)    the job's result
    failed(str)         one sentence: why it failed (``error`` holds the exception)
    cancelled()         it stopped at ``cancel`` (or its result came after a ``cancel``)
    paused(), resumed()
    finished()          after exactly one of returned / failed / cancelled

    ``cancel``, ``pause``, ``resume``, ``is_running`` and ``wait`` may be called even after Qt
    deleted the object (its parent went): they touch Python state only.
    """

    progressed = Signal(object)
    returned = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    paused = Signal()
    resumed = Signal()
    finished = Signal()

    def __init__(self, name: str, failure: str, parent: QObject | None) -> None:
        super().__init__(parent)
        self.name = name
        self.failure = failure
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self._progress = Progress()
        self._worker = None  # the superqt worker, once made in the job's thread
        self._cancel_asked = False
        self._pause_asked = False
        self._abandoned = False
        self._lock = threading.Lock()

    # -- asked from the GUI thread ------------------------------------------------------------
    def cancel(self) -> None:
        """Stop at the next progress report (or yield); ``cancelled`` follows. A result arriving later is dropped."""
        with self._lock:
            self._cancel_asked = True
            self._progress._cancelled = True
            if self._worker is not None:
                self._worker.quit()
                if isinstance(self._worker, _PausedAtProgress):
                    self._worker.resume()  # a paused job must wake up to stop

    def pause(self) -> None:
        """Hold the job at its next progress report (or yield)."""
        with self._lock:
            self._pause_asked = True
            if self._worker is not None:
                self._worker.pause()

    def resume(self) -> None:
        """End a pause, or cancel one asked for and not yet taken (the user's last word wins)."""
        with self._lock:
            self._pause_asked = False
            if self._worker is not None:
                if getattr(self._worker, "is_generator", False):
                    self._worker._pause_requested = False  # superqt would still take it at the next yield
                self._worker.resume()

    @property
    def is_paused(self) -> bool:
        """Paused, or asked to pause (it takes effect at the next progress report or yield)."""
        return self._pause_asked

    def send(self, value) -> None:
        """Send ``value`` into a generator job (what its ``yield`` returns next)."""
        with self._lock:
            if getattr(self._worker, "is_generator", False):
                self._worker.send(value)

    def abandon(self) -> None:
        """Cancel, and deliver nothing more from this job (not even ``cancelled`` / ``finished``)."""
        self._abandoned = True
        self.cancel()

    def is_running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the job's thread to end; True if it has. (Its signals still arrive through the event loop.)"""
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.is_running()

    # -- in the job's thread --------------------------------------------------------------------
    def _run(self, fn, progress_interval_s: float, torch_threads: int | None) -> None:
        worker = None
        try:
            self._progress.min_interval_s = progress_interval_s
            try:
                if torch_threads is not None:
                    # Before the thread's first torch op: see cnnviz.core.training.device.set_cpu_threads.
                    core().set_cpu_threads(torch_threads)
                # Made here: its signals object lives, and dies, in this thread.
                worker = _worker_class(_is_generator_function(fn))(fn, self._progress)
            except BaseException as exc:  # noqa: BLE001 - reported as the job's failure
                worker = _worker_class(False)(_raise, exc)
            self._progress.worker = worker
            if self._connect(worker):
                with self._lock:
                    self._worker = worker
                    if self._cancel_asked:
                        worker.quit()
                    if self._pause_asked:
                        worker.pause()
                worker.run()
            gen = getattr(worker, "_gen", None)
            if gen is not None:
                with contextlib.suppress(BaseException):  # nobody is listening any more
                    gen.close()  # a cancelled generator's `finally` runs here, in its own thread
        finally:
            with self._lock:
                self._worker = None
            self._progress.worker = None
            del worker  # the worker's signals object dies in the thread it lives in
            with _LOCK:
                _RUNNING.pop(threading.current_thread(), None)

    def _connect(self, worker) -> bool:
        """Queue the worker's signals to this object's slots; False if the receiver is gone already."""
        queued = Qt.ConnectionType.QueuedConnection
        pairs = ((worker.yielded, self._on_yielded), (worker.returned, self._on_returned),
                 (worker.errored, self._on_errored), (worker.aborted, self._on_aborted),
                 (worker.paused, self._on_paused), (worker.resumed, self._on_resumed),
                 (worker.finished, self._on_finished))  # fmt: skip
        try:
            if not shiboken6.isValid(self):
                return False
            for signal, slot in pairs:
                signal.connect(slot, queued)
        except RuntimeError:  # deleted meanwhile
            return False
        return True

    # -- delivered in the GUI thread ------------------------------------------------------------
    @Slot(object)
    def _on_yielded(self, value) -> None:
        if not (self._abandoned or self._cancel_asked):
            self.progressed.emit(value)

    @Slot(object)
    def _on_returned(self, value) -> None:
        if self._abandoned:
            return
        if self._cancel_asked:
            self.cancelled.emit()
        else:
            self.returned.emit(value)

    @Slot(object)
    def _on_errored(self, exc) -> None:
        if self._abandoned:
            return
        if self._cancel_asked:  # e.g. a library that wrapped our Cancelled in an error of its own
            self.cancelled.emit()
            return
        self.error = exc
        self.failed.emit(describe_error(exc, self.failure))

    @Slot()
    def _on_aborted(self) -> None:
        if not self._abandoned:
            self.cancelled.emit()

    @Slot()
    def _on_paused(self) -> None:
        if not self._pause_asked or self._cancel_asked:  # a resume or cancel came as the pause took effect
            with self._lock:
                if self._worker is not None:
                    self._worker.resume()
            return
        if not self._abandoned:
            self.paused.emit()

    @Slot()
    def _on_resumed(self) -> None:
        if not self._abandoned:
            self.resumed.emit()

    @Slot()
    def _on_finished(self) -> None:
        if not self._abandoned:
            self.finished.emit()
        _PARENTLESS.discard(self)
        self.deleteLater()


def _raise(exc: BaseException, _progress) -> None:
    raise exc


_PARENTLESS: set[Job] = set()  # jobs nobody owns live until they have finished


def start(
    fn,
    *,
    name: str,
    parent: QObject | None,
    failure: str = GENERIC,
    progress_interval_s: float = 0.0,
    torch_threads: int | None = None,
) -> Job:
    """Run ``fn(progress)`` in a thread of its own; its signals reach the GUI thread.

    Connect to the returned ``Job``'s signals before going back to the event loop: nothing is
    delivered earlier. ``failure`` opens the sentence of an unforeseen error (``describe_error``);
    ``progress_interval_s`` thins progress reports; ``torch_threads`` sets the thread's torch
    threads before the job runs. The job is deleted (``deleteLater``) after ``finished``.
    """
    _import_superqt()
    job = Job(name, failure, parent)
    if parent is None:
        _PARENTLESS.add(job)
    thread = threading.Thread(target=job._run, args=(fn, progress_interval_s, torch_threads),
                              name=f"cnnviz-{name}", daemon=True)  # fmt: skip
    job.thread = thread
    with _LOCK:
        _RUNNING[thread] = name
    thread.start()
    return job
