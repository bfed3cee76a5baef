"""The time slider under the curves: the network at any kept step of the run, and back to live.

The run keeps its weights every few steps (``cnnviz.core.training.snapshots``);
the slider moves over those steps. Moving it asks for that step (``stepChosen``);
"Live" (or the slider's right end while the run goes on) asks for the network
as it is now (``liveChosen``). Home/End and the arrow keys move it too.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget


class TimeSlider(QWidget):
    """A slider over a run's snapshot steps and a "Live" button.

    Signals
    -------
    stepChosen(int)   the user moved to this kept step
    liveChosen()      back to the network as it is now
    """

    stepChosen = Signal(int)
    liveChosen = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("trainTimeline")
        self.steps: list[int] = []
        self.live = True
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="trainTimeSlider")
        self.slider.setAccessibleName("Back in time")
        self.slider.setToolTip(
            "Back in time: every panel (prediction, maps, kernels, inspector, attribution) shows the network as it "
            "was at this batch of the run. Live goes back to the network as it is now."
        )
        self.slider.setPageStep(1)
        self.slider.valueChanged.connect(self._on_moved)
        self.label = QLabel("", objectName="trainTimeLabel")
        self.label.setMinimumWidth(self.fontMetrics().horizontalAdvance("Batch 0,000 of 0,000"))
        self.live_button = QPushButton("Live", objectName="trainLive")
        self.live_button.setAccessibleName("Back to the live network")
        self.live_button.setToolTip("Show the network as it is now (the run's latest weights).")
        self.live_button.clicked.connect(self.go_live)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Back:"))
        row.addWidget(self.slider, stretch=1)
        row.addWidget(self.label)
        row.addWidget(self.live_button)
        self.set_steps([])

    def set_steps(self, steps: list[int]) -> None:
        """The kept steps (a run's ``Snapshots.steps()``); a live slider stays at the right end."""
        if steps == self.steps:
            return
        shown = self.shown_step()
        self.steps = list(steps)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.steps) - 1))
        if self.live or shown is None:
            self.slider.setValue(self.slider.maximum())
        else:  # the step on screen stays where it is while the run adds more
            self.slider.setValue(min(range(len(self.steps)), key=lambda i: abs(self.steps[i] - shown)))
        self.slider.blockSignals(False)
        self.setEnabled(len(self.steps) > 1)
        self._relabel()

    def shown_step(self) -> int | None:
        if not self.steps:
            return None
        return self.steps[min(self.slider.value(), len(self.steps) - 1)]

    def move_to(self, step: int) -> None:
        """Show the kept step nearest ``step`` (as if the user moved the slider there)."""
        if self.steps:
            index = min(range(len(self.steps)), key=lambda i: abs(self.steps[i] - step))
            if index == self.slider.value() and self.live:
                self._on_moved(index)
            self.slider.setValue(index)

    def go_live(self) -> None:
        self.live = True
        self.slider.blockSignals(True)
        self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(False)
        self._relabel()
        self.liveChosen.emit()

    def _on_moved(self, index: int) -> None:
        if not self.steps:
            return
        self.live = False
        self._relabel()
        self.stepChosen.emit(self.steps[index])

    def _relabel(self) -> None:
        if not self.steps:
            self.label.setText("no run yet")
        elif self.live:
            self.label.setText("Live")
        else:
            self.label.setText(f"Batch {self.shown_step():,} of {self.steps[-1]:,}")
        self.live_button.setEnabled(not self.live)
