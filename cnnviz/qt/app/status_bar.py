"""The status bar's permanent fields: device, network and dataset, where the weights came from, accuracy."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QLabel, QStatusBar

from cnnviz.qt.state.lazy import core
from cnnviz.qt.widgets.fitted_text import ElidedLabel
from cnnviz.qt.widgets.style import ERROR_STYLE


def accuracy_text(session, digits: int = 2) -> str:
    """The test accuracy of the weights on screen: "99.36%", "edited, not evaluated" or "not evaluated"."""
    edited = getattr(session, "edited_kernels", None)
    if edited is not None and session.model is not None and edited():
        return "edited, not evaluated"  # the file's figure was measured on other weights
    acc = session.test_accuracy
    if isinstance(acc, float) and math.isfinite(acc):
        return f"{100 * acc:.{digits}f}%"
    return "not evaluated"


class StatusFields:
    """Four labels in a status bar, following the app's state; transient messages go through it too."""

    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        bar.setObjectName("statusBar")
        self.device = QLabel("Device: …")
        self.model = ElidedLabel()
        self.weights = ElidedLabel()
        self.accuracy = QLabel()
        for label, name, tip in (
            (self.device, "statusDevice", "Where training runs (drawing inference always runs on the CPU)"),
            (self.model, "statusModel", "The current model and dataset"),
            (self.weights, "statusWeights", "Where the current weights come from"),
            (self.accuracy, "statusAccuracy", "Test accuracy of the weights on screen"),
        ):
            label.setObjectName(name)
            label.setAccessibleName(tip)
            label.setToolTip(tip)
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label, 1 if isinstance(label, ElidedLabel) else 0)
        self._state = None

    def follow(self, state) -> None:
        self._state = state
        state.sessionReady.connect(lambda: self.device.setText(f"Device: {state.device_text}"))
        state.networkChanged.connect(self.refresh)
        state.weightsChanged.connect(self.refresh)  # also an edited kernel
        state.accuracyChanged.connect(self.refresh)  # a finished evaluation of the weights on screen
        state.loadFailed.connect(lambda _exc: self.model.setText("The network could not be loaded"))
        state.statusMessage.connect(self.bar.showMessage)
        state.trainingStarted.connect(
            lambda: self.bar.showMessage("Training… the panels follow the weights as they learn.", 5000)
        )
        state.trainingFinished.connect(lambda end: self.bar.showMessage(end.message, 15000))

    def set_loading(self) -> None:
        self.model.setText("Loading the network…")

    def refresh(self) -> None:
        session = self._state.session
        dataset = core().DATASETS[session.dataset].display_name
        self.model.setText(f"{session.spec.display_name} · {dataset}")
        # Short enough for a projector's status bar: the tooltip has the whole story.
        shipped = session.source_kind == "pretrained"
        short = session.source.removeprefix("pretrained ").removesuffix(".safetensors") + " (shipped)"
        self.weights.setText(f"Weights: {short if shipped else session.source}")
        self.weights.setToolTip(f"Where the current weights come from: {session.source}")
        self.weights.setStyleSheet(ERROR_STYLE if session.source_kind == "untrained" else "")
        self.accuracy.setText(f"Test accuracy: {accuracy_text(session)}")
