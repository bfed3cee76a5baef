"""The Training panel's test-set results: Evaluate, the confusion matrix with its caption, the error gallery.

``EvaluationPanel`` shows what the test set says about a set of weights, from a
finished run (the worker's final evaluation) or from Evaluate on test set
(the weights on screen, evaluated in the background). Its caption always says
which weights and when, and resets with each run and each evaluation. A click
on a matrix cell opens the error gallery for that (true, predicted) pair; an
image picked there is asked for through ``testImageRequested``, which the
window answers by putting it on the canvas (``FileActions.show_test_image``).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from cnnviz.qt.state.lazy import core
from cnnviz.qt.training.confusion_view import ConfusionMatrix
from cnnviz.qt.training.error_gallery import ErrorGallery
from cnnviz.qt.training.evaluation import EvaluationBar, EvaluationOutcome, TestSetEvaluation
from cnnviz.qt.widgets.style import ERROR_STYLE

__all__ = ["EvaluationPanel"]


class EvaluationPanel(QWidget):
    """Evaluate on test set, the confusion matrix (``confusionMatrix``) and the error gallery (``errorGallery``).

    Parameters
    ----------
    session
        The app's ``ModelSession``: its model is what Evaluate runs, its ``data_dir``
        where the test set is read. ``follow(state)`` subscribes to the app's signals
        (when the weights change, the matrix stands for earlier weights).

    Signals
    -------
    testImageRequested(int, str)  put this test image (index, dataset) on the canvas
    evaluationFinished(object)    an ``EvaluationOutcome`` (after the matrix shows it)
    """

    testImageRequested = Signal(int, str)
    evaluationFinished = Signal(object)

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evaluationPanel")
        self.session = session
        self.ensure_data = None  # (dataset, then) -> bool, set by the monitor: a missing dataset is offered
        self.outcome: EvaluationOutcome | None = None  # the evaluation the matrix shows, if any
        self._generation = 0  # bumped whenever the weights on screen change
        self._matrix_generation: int | None = None  # the weights the matrix stands for (None: no matrix)
        self._evaluated_generation = 0
        self._pending_cell: tuple[int, int] | str | None = None  # what to open once an evaluation is done
        self.gallery: ErrorGallery | None = None
        self.runner = TestSetEvaluation(self)
        self.runner.progressed.connect(lambda done, total: self.bar.show_progress(done, total))
        self.runner.finished.connect(self._on_evaluated)

        self.bar = EvaluationBar()
        self.bar.button.clicked.connect(self.evaluate)
        self.bar.cancel_button.clicked.connect(self.cancel)
        self.caption = QLabel("", objectName="confusionCaption")
        self.caption.setWordWrap(True)
        self.caption.setToolTip("Which weights the matrix is for, and when they were put to the test.")
        self.matrix = ConfusionMatrix()
        self.matrix.cellActivated.connect(self.open_cell)
        self.percent_check = QCheckBox("Row percentages", objectName="confusionPercent")
        self.percent_check.setToolTip("Show each cell as its share of the true class (the row) in %, not as a count.")
        self.percent_check.toggled.connect(self.matrix.set_row_percentages)
        self.mistakes_button = QPushButton("Most confident mistakes", objectName="confidentMistakes")
        self.mistakes_button.setToolTip("Every misclassified test image, across all classes, most confident first.")
        self.mistakes_button.clicked.connect(self.open_mistakes)
        options = QHBoxLayout()
        options.addWidget(self.percent_check)
        options.addStretch(1)
        options.addWidget(self.mistakes_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.caption)
        layout.addWidget(self.matrix, stretch=1)
        layout.addLayout(options)
        self._set_caption("No test-set results yet: press Evaluate on test set, or train.")

        self._on_training_changed()

    def follow(self, state) -> None:
        """Subscribe to the app's state, as every panel does (Qt drops the connections with the panel)."""
        state.networkChanged.connect(self._on_weights_changed)
        state.weightsChanged.connect(self._on_weights_changed)
        state.trainingStarted.connect(self._on_training_changed)
        state.trainingFinished.connect(self._on_training_changed)

    @property
    def data_dir(self):
        """The session's dataset folder: the one place it is kept."""
        return self.session.data_dir

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate(self) -> bool:
        """Evaluate the weights on screen on the test set in the background (what the button does)."""
        if self.runner.is_running() or self.session.training:
            return False
        session = self.session
        if self.ensure_data is not None and not self.ensure_data(session.dataset, self.evaluate):
            return False  # the dataset is missing: the window offered to download it or choose a folder
        self.runner.start(session, self.data_dir)
        self.bar.set_running(True)
        self.bar.button.setEnabled(False)
        self._clear_matrix()
        self._set_caption(f"Evaluating {self._network()} ({session.source}) on the "
                          f"{core().DATASETS[session.dataset].display_name} test set…")  # fmt: skip
        self._evaluated_generation = self._generation
        return True

    def is_evaluating(self) -> bool:
        return self.runner.is_running()

    def cancel(self) -> None:
        """Stop the evaluation after its current batch."""
        self.runner.cancel()
        self._pending_cell = None

    def _on_evaluated(self, outcome: EvaluationOutcome) -> None:
        self.bar.set_running(False)
        self._on_training_changed()
        when = outcome.finished_at.strftime("%H:%M")
        pending, self._pending_cell = self._pending_cell, None
        if outcome.cancelled:
            self.bar.show_end("Cancelled")
            if not self.session.training:  # a run that cancelled it has its own caption
                self._set_caption("Evaluation cancelled: no results.")
        elif outcome.error:
            self.bar.show_end("Failed")
            self._set_caption(outcome.error, error=True)
        else:
            result = outcome.result
            self.outcome = outcome
            self.matrix.show_matrix(result.confusion, outcome.names, result.per_class_accuracy)
            self._matrix_generation = self._evaluated_generation
            self.bar.show_end(f"Done: {100 * result.accuracy:.2f} % right")
            if self._evaluated_generation == self._generation:  # the weights on screen: every view shows it
                self.session.set_test_accuracy(result.accuracy)
            self._set_caption(f"{self._network(outcome.model_name)} · {outcome.source} · evaluated {when} · "
                              f"{100 * result.accuracy:.2f} % of {int(result.confusion.sum()):,} test images right")  # fmt: skip
            if pending == "mistakes":
                self.open_mistakes()
            elif pending is not None:
                self.open_cell(*pending)
        self.evaluationFinished.emit(outcome)

    # -- runs ---------------------------------------------------------------------------------------
    def run_started(self, run: int) -> None:
        """A training run began: the matrix will be its own, at its end."""
        self.cancel()  # an evaluation of the weights from before the run is of no interest now
        self._clear_matrix()
        self._on_training_changed()
        self._set_caption(f"Run {run} ({self._network()}, started {_now()}): its matrix comes at the end of the run.")

    def run_finished(self, run: int, end) -> None:
        """A run ended (its ``RunEnd``, after the session applied it): show its matrix, if it was evaluated."""
        self._on_training_changed()
        if end.confusion is None:
            self._set_caption(f"Run {run} {end.reason} before its test-set evaluation: "
                              "press Evaluate on test set to test the weights it left.")  # fmt: skip
            return
        confusion = np.asarray(end.confusion)
        self.matrix.show_matrix(confusion, end.class_names or None, end.per_class_accuracy)
        # The run's weights are on screen only if the session adopted them; otherwise no gallery can follow.
        self._matrix_generation = self._generation if end.adopted else -1
        accuracy = end.test_accuracy
        acc = f" · {100 * accuracy:.2f} % of {int(confusion.sum()):,} test images right" if accuracy is not None else ""
        self._set_caption(f"Run {run} · {self._network(end.model_name)} trained in this session, "
                          f"{_now()}{acc}")  # fmt: skip

    # -- the way in: cells and the gallery -----------------------------------------------------
    def open_cell(self, true: int, predicted: int) -> bool:
        """Open the error gallery for a (true, predicted) cell; evaluate first if need be."""
        if not self._ready_for_gallery((true, predicted)):
            return False
        result, names = self.outcome.result, self.outcome.names
        title = f"{names[true]} read right" if true == predicted else f"{names[true]} seen as {names[predicted]}"
        self._gallery().show_images(title, result.pair_indices(true, predicted), self.outcome,
                                    self._stale_note())  # fmt: skip
        return True

    def open_mistakes(self) -> bool:
        """Open the error gallery with every mistake, most confident first."""
        if not self._ready_for_gallery("mistakes"):
            return False
        self._gallery().show_images("Most confident mistakes", self.outcome.result.confident_mistakes(), self.outcome,
                                    self._stale_note(), all_classes=True)  # fmt: skip
        return True

    def _ready_for_gallery(self, request) -> bool:
        """True if the matrix's evaluation has per-image results; else start one, or say why not."""
        if self.outcome is not None and self._matrix_generation is not None and self._matrix_generation >= 0:
            return True
        if self.runner.is_running():
            self._pending_cell = request
            return False
        if self._matrix_generation is None or self._matrix_generation == self._generation:
            # A run's matrix of the weights still on screen (or no matrix): evaluate them, then open.
            if self.evaluate():
                self._pending_cell = request
            return False
        self._set_caption("The weights on screen are not the ones this matrix is for: press Evaluate on test set "
                          "to see the images behind it.", error=True)  # fmt: skip
        return False

    def _stale_note(self) -> str:
        if self._matrix_generation == self._generation:
            return ""
        return "The weights on screen have changed since: the panels answer with the new weights."

    def _gallery(self) -> ErrorGallery:
        if self.gallery is None:
            self.gallery = ErrorGallery(self, data_dir=lambda: self.session.data_dir)
            self.gallery.imageChosen.connect(self.testImageRequested)
        return self.gallery

    # -- state ----------------------------------------------------------------------------------------
    def _on_weights_changed(self) -> None:
        self._generation += 1

    def _on_training_changed(self, *_end) -> None:
        training = self.session.training
        self.bar.button.setEnabled(not training and not self.runner.is_running())
        self.bar.button.setToolTip(
            "Evaluating is for the weights on screen between runs: wait for the run to end." if training else
            "Run the weights on screen on the 10,000 test images (in the background) and fill the\n"
            "confusion matrix and the per-class accuracy. No training."
        )  # fmt: skip

    def _clear_matrix(self) -> None:
        self.matrix.show_matrix(None)
        self.outcome = None
        self._matrix_generation = None
        if self.gallery is not None:
            self.gallery.close()

    def _network(self, name: str | None = None) -> str:
        try:
            return core().get_spec(name or self.session.model_name).display_name
        except core().CnnvizError:
            return str(name)

    def _set_caption(self, text: str, error: bool = False) -> None:
        self.caption.setText(text)
        self.caption.setStyleSheet(ERROR_STYLE if error else "")

    def shutdown(self) -> None:
        """Cancel an evaluation and wait for its thread (closing the window)."""
        self.runner.shutdown()


def _now() -> str:
    from datetime import datetime

    return datetime.now().strftime("%H:%M")
