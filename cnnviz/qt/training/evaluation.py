"""Evaluate the weights on screen on the test set, in a background thread, with progress and Cancel.

``TestSetEvaluation`` copies the session's model in the GUI thread (so the
weights evaluated are the ones on screen at the click, whatever happens
next), runs ``cnnviz.core.evaluate_copy`` on the copy in a Python thread that
reports through Qt signals, and keeps every image's probabilities for the
error gallery. ``EvaluationBar`` is its button, progress bar and Cancel.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QGridLayout, QProgressBar, QPushButton, QWidget

from cnnviz.qt.state.lazy import core, emit_unless_gone

__all__ = ["EvaluationBar", "EvaluationOutcome", "TestSetEvaluation"]

BATCH_SIZE = 500  # 20 progress steps over 10,000 images; a batch this size costs no speed


@dataclass
class EvaluationOutcome:
    """How an evaluation ended: ``result`` (an ``EvalResult``), or ``cancelled``, or one sentence in ``error``."""

    dataset: str
    source: str  # what the weights were, in words ("pretrained lenet5-mnist.safetensors", ...)
    model_name: str
    names: list[str]
    result: object | None = None
    error: str | None = None
    cancelled: bool = False
    finished_at: datetime = field(default_factory=datetime.now)


class TestSetEvaluation(QObject):
    """One evaluation at a time of a session's current weights, off the GUI thread.

    Signals
    -------
    progressed(int, int)  images done, images in all
    finished(object)      an ``EvaluationOutcome``, always, exactly once per ``start``
    """

    __test__ = False  # a name pytest would otherwise collect
    progressed = Signal(int, int)
    finished = Signal(object)
    _done = Signal(object)  # from the worker thread, handled in the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._done.connect(self._on_done)
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()

    def is_running(self) -> bool:
        return self._thread is not None

    def start(self, session, data_dir=None) -> bool:
        """Evaluate ``session.model`` (a copy of it, taken now); False if one is running already."""
        if self._thread is not None:
            return False
        model = copy.deepcopy(session.model)
        outcome = EvaluationOutcome(session.dataset, session.source, session.model_name, list(session.class_names))
        self._cancel = cancel = threading.Event()

        def progress(done: int, total: int) -> bool:
            emit_unless_gone(self.progressed, done, total)
            return not cancel.is_set()

        def work() -> None:
            c = core()
            try:
                outcome.result = c.evaluate_copy(model, outcome.dataset, data_dir, batch_size=BATCH_SIZE,
                                                 probabilities=True, progress=progress)  # fmt: skip
            except c.EvaluationCancelled:
                outcome.cancelled = True
            except c.CnnvizError as exc:
                outcome.error = str(exc)
            except BaseException as exc:  # a user's network, SystemExit too: one sentence
                outcome.error = f"The network could not run on the test set ({type(exc).__name__}: {exc})."
            outcome.finished_at = datetime.now()
            emit_unless_gone(self._done, outcome)

        self._thread = threading.Thread(target=work, name="cnnviz-evaluate", daemon=True)
        self._thread.start()
        return True

    def _on_done(self, outcome: EvaluationOutcome) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()  # it has emitted its last line: joining is immediate
        self.finished.emit(outcome)

    def cancel(self) -> None:
        """Ask the evaluation to stop after the current batch; ``finished`` follows with ``cancelled``."""
        self._cancel.set()

    def shutdown(self) -> None:
        """Cancel and wait for the thread (closing the window); its outcome is dropped."""
        thread, self._thread = self._thread, None
        self._cancel.set()
        if thread is not None:
            thread.join()


class EvaluationBar(QWidget):
    """The Evaluate on test set button, a progress bar while it runs, and Cancel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evaluationBar")
        self.button = QPushButton("Evaluate on test set", objectName="evaluateTestSet")
        self.button.setAccessibleName("Evaluate on the test set")
        self.button.setToolTip(
            "Run the weights on screen on the 10,000 test images (in the background) and fill the\n"
            "confusion matrix and the per-class accuracy. No training."
        )
        self.progress = QProgressBar(objectName="evaluateProgress")
        self.progress.setToolTip("Test images evaluated so far.")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.cancel_button = QPushButton("Cancel", objectName="evaluateCancel")
        self.cancel_button.setAccessibleName("Cancel the evaluation")
        self.cancel_button.setToolTip("Stop the evaluation after the current batch.")
        grid = QGridLayout(self)  # two rows: the bar gets the panel's whole width for its text
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.button, 0, 0)
        grid.addWidget(self.cancel_button, 0, 1)
        grid.addWidget(self.progress, 1, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        self.set_running(False)

    def set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("Starting…")

    def show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"{done:,} of {total:,} test images")

    def show_end(self, text: str) -> None:
        self.progress.setFormat(text)
