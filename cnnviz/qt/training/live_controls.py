"""Change the run while it runs: the learning rate and the momentum (Adam's beta1) for the next batch on.

``changeAsked`` carries what the user set (``{"lr": 0.01, "momentum": 0.8}``);
the panel hands it to the run, whose checks give the one-sentence error shown here.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QGridLayout, QLabel, QPushButton, QWidget


class LiveControls(QWidget):
    """Learning rate and momentum / beta1 spin boxes with Apply; enabled during a run only."""

    changeAsked = Signal(dict)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("trainLiveControls")
        self.lr = QDoubleSpinBox(objectName="trainLiveLr")
        self.lr.setDecimals(6)
        self.lr.setRange(0.000001, 10.0)
        self.lr.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.lr.setAccessibleName("Learning rate during the run")
        self.lr.setToolTip("The learning rate from the next batch on (the schedule stops there; marked on the curves).")
        self.momentum = QDoubleSpinBox(objectName="trainLiveMomentum")
        self.momentum.setDecimals(3)
        self.momentum.setRange(0.0, 0.999)
        self.momentum.setSingleStep(0.05)
        self.momentum_label = QLabel("Momentum")
        self.apply_button = QPushButton("Apply", objectName="trainLiveApply")
        self.apply_button.setToolTip("Change the running training from its next batch on.")
        self.apply_button.clicked.connect(self._apply)
        self.message = QLabel("", objectName="trainLiveMessage")
        self.message.setWordWrap(True)  # under the row: a projector's narrow column never scrolls sideways
        lr_label = QLabel("Learning rate now")
        lr_label.setToolTip("Change the running training: learning rate and momentum, from its next batch on.")
        grid = QGridLayout(self)  # two short rows: fits a projector's narrow column in presentation mode
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(lr_label, 0, 0)
        grid.addWidget(self.lr, 0, 1)
        grid.addWidget(self.apply_button, 0, 2)
        grid.addWidget(self.momentum_label, 1, 0)
        grid.addWidget(self.momentum, 1, 1)
        grid.addWidget(self.message, 2, 0, 1, 4)
        grid.setColumnStretch(3, 1)
        self._sent: dict = {}
        self.setEnabled(False)

    def run_started(self, config) -> None:
        """Show the run's own values; SGD changes its momentum, Adam its beta1."""
        sgd = config.optimizer == "sgd"
        self.momentum_label.setText("Momentum" if sgd else "Beta1")
        self.momentum.setToolTip(
            "SGD's momentum from the next batch on." if sgd else "Adam's beta1 (its momentum) from the next batch on."
        )
        self.lr.setValue(config.learning_rate)
        self.momentum.setValue(config.momentum if sgd else config.adam_betas[0])
        self._key = "momentum" if sgd else "beta1"
        self._sent = {"lr": self.lr.value(), self._key: self.momentum.value()}
        self.message.setText("")
        self.setEnabled(True)

    def show_current(self, lr: float) -> None:
        """The rate the run uses now (a schedule moves it), unless the user is typing one."""
        if not self.lr.hasFocus():
            self.lr.setValue(lr)
            self._sent["lr"] = self.lr.value()

    def run_finished(self) -> None:
        self.setEnabled(False)

    def values(self) -> dict:
        return {"lr": self.lr.value(), getattr(self, "_key", "momentum"): self.momentum.value()}

    def _apply(self) -> None:
        changed = {k: v for k, v in self.values().items() if self._sent.get(k) != v}
        if changed:
            self._sent.update(changed)
            self.changeAsked.emit(changed)

    def say(self, text: str) -> None:
        self.message.setText(text)
