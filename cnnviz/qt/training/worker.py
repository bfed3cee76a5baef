"""The Training panel's run in the background: a ``TrainingRun``'s reports through ``workers.start``.

The run's ``reports`` generator is an ordinary generator job of
``cnnviz.qt.state.workers`` (superqt's ``GeneratorWorker`` in a daemon thread of
its own): each report arrives as ``progressed``, pause and resume act between two
reports (so between batches, with the weights consistent), and a bug in the run
object itself takes the one error path. What is particular to a run:

- Stop asks the run itself (``TrainingRun.stop``), so the run still ends with its
  ``RunEnd`` (a cancelled job would end without one);
- closing the window waits ``SHUTDOWN_GRACE_S`` for the run to reach its next
  batch, then abandons the thread (a run stuck inside a user's network code);
  being a daemon, it never keeps the app from quitting.

The reports are already throttled by the run (one per ``REPORT_INTERVAL``, each
holding every batch since the last), so nothing queues behind the GUI.
No torch here: the model and the weight copies pass through as opaque objects.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from cnnviz.qt.state import workers

__all__ = ["RunThread"]

# Closing the window waits this long for a run to reach its next batch, then abandons its thread.
SHUTDOWN_GRACE_S = 2.0


class RunThread(QObject):
    """One run as a ``workers`` job, seen from the Training panel.

    Signals (in the GUI thread)
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
        self.job: workers.Job | None = None
        self.abandoned = False

    def start(self) -> None:
        run = self.run

        def reports(_progress):  # superqt's loop is where pause and abandon act, between two reports
            return (yield from run.reports())

        # Parentless (workers keeps it until it has finished): the panel drops this object in the slot
        # that receives the run's end, while the job is still delivering it.
        job = workers.start(reports, name="training", parent=None, failure="Training failed unexpectedly")
        job.progressed.connect(self.reported)
        job.paused.connect(self.paused)
        job.resumed.connect(self.resumed)
        job.failed.connect(lambda _sentence: self.failed.emit(job.error))
        self.job = job

    @property
    def is_paused(self) -> bool:
        """Paused, or asked to pause (it takes effect after the current batch); a stepped run is paused too."""
        return self.job is not None and (self.job.is_paused or self.run.paused)

    def step(self) -> None:
        """Run exactly one batch (a ``StepReport`` follows), then stay paused."""
        self.run.step_once()
        if self.job is not None and self.job.is_paused:
            self.job.resume()

    def pause(self) -> None:
        if self.job is not None:
            self.job.pause()

    def resume(self) -> None:
        if self.job is not None:
            self.job.resume()
        self.run.resume()  # after a step the run holds itself
        self.run.restart_rate()

    def stop(self) -> None:
        """End the run after its current batch; a ``RunEnd`` with reason "stopped" follows."""
        self.run.stop()
        if self.job is not None:
            self.job.resume()  # a paused run must go on to see the stop

    def shutdown(self) -> bool:
        """Stop without waiting for the end: nothing more is delivered. True if the thread ended in time.

        A thread still busy after ``SHUTDOWN_GRACE_S`` (stuck in a user's network) is abandoned.
        """
        self.run.stop()
        if self.job is None:
            return True
        self.job.abandon()  # no more reports: the job stops at the next one
        self.abandoned = not self.job.wait(SHUTDOWN_GRACE_S)
        return not self.abandoned

    def is_alive(self) -> bool:
        return self.job is not None and self.job.is_running()
