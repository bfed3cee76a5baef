"""The Training panel's thread: a ``TrainingRun``'s reports through superqt's ``GeneratorWorker``.

superqt (napari's worker library) drives the run's generator and turns each
report into its ``yielded`` signal; its pause and resume act between two
reports, so between batches, with the weights consistent. Stop asks the run
itself (``TrainingRun.stop``), so the run still ends with its ``RunEnd``.
The reports are already throttled by the run (one per ``REPORT_INTERVAL``,
each holding every batch since the last), so nothing queues behind the GUI.

The generator runs in a daemon thread of its own rather than in Qt's thread
pool: a run stuck inside a user's network code is abandoned at shutdown
(the pool would wait for it, and closing the window would hang).

No torch here: the model and the weight copies pass through as opaque objects.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker

__all__ = ["RunThread"]

# Closing the window waits this long for a run to reach its next batch, then abandons its thread.
SHUTDOWN_GRACE_S = 2.0


class RunThread(QObject):
    """One run on its own daemon thread, driven by superqt's ``GeneratorWorker`` (``worker``).

    Signals (in the GUI thread; this object lives there, so superqt's signals reach it queued)
    -------
    reported(object)  each ``Progress`` / ``EpochStats`` / ``LiveWeights``, and last the ``RunEnd``
    paused()          the run has really stopped between two batches
    resumed()
    failed(object)    a bug in the run object itself (the run turns every training failure into
                      a ``RunEnd``): the exception, for the one error path
    """

    reported = Signal(object)
    paused = Signal()
    resumed = Signal()
    failed = Signal(object)

    def __init__(self, run) -> None:
        super().__init__()
        self.run = run
        self.worker = GeneratorWorker(run.reports)
        self.worker.yielded.connect(self._on_yielded)
        self.worker.paused.connect(self._on_paused)
        self.worker.resumed.connect(self._on_resumed)
        self.worker.errored.connect(self._on_errored)
        self.abandoned = False
        self._want_paused = False  # the user's last word: a pause that lands after a resume is undone
        self._thread = threading.Thread(target=self.worker.run, name="cnnviz-training", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def is_paused(self) -> bool:
        """Paused, or asked to pause (it takes effect after the current batch)."""
        return self._want_paused

    def pause(self) -> None:
        self._want_paused = True
        self.worker.pause()

    def resume(self) -> None:
        self._want_paused = False
        self.worker._pause_requested = False  # a pause not yet taken is cancelled...
        self.worker.resume()  # ...and one taken is ended (see _on_paused for the race between them)
        self.run.restart_rate()

    def stop(self) -> None:
        """End the run after its current batch; a ``RunEnd`` with reason "stopped" follows."""
        self.run.stop()
        self._want_paused = False
        self.worker._pause_requested = False  # a pause not yet taken would hold the stop back
        self.worker.resume()  # a paused generator must run on to see the stop

    def shutdown(self) -> bool:
        """Stop without waiting for the end: nothing more is delivered. True if the thread ended in time.

        A thread still busy after ``SHUTDOWN_GRACE_S`` (stuck in a user's network) is
        abandoned: it is a daemon, so it never keeps the app from quitting.
        """
        self.run.stop()
        self.worker.quit()  # no more reports: superqt stops at the next one
        self.worker.resume()
        self._thread.join(SHUTDOWN_GRACE_S)
        self.abandoned = self._thread.is_alive()
        return not self.abandoned

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    # superqt's signals, re-emitted in the GUI thread
    def _on_yielded(self, report) -> None:
        self.reported.emit(report)

    def _on_paused(self) -> None:
        if self.run.control.stopped or not self._want_paused:  # a stop or resume came as the pause took effect
            self.worker.resume()
            return
        self.paused.emit()

    def _on_resumed(self) -> None:
        self.resumed.emit()

    def _on_errored(self, exc) -> None:
        self.failed.emit(exc)
