"""The toolbar's Model and Dataset pickers: they show the app's network and ask for another."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from cnnviz.qt.app.status_bar import accuracy_text
from cnnviz.qt.state.lazy import core
from cnnviz.qt.widgets.combos import CurrentItemComboBox


class ModelPickers(QWidget):
    """Two combo boxes; ``switchRequested(model, dataset)`` when the user picks another pair."""

    switchRequested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_picker = CurrentItemComboBox(objectName="modelPicker")
        self.model_picker.setAccessibleName("Model")
        self.model_picker.setToolTip("Choose a network; its pretrained weights for the dataset are loaded")
        self.dataset_picker = QComboBox(objectName="datasetPicker")
        self.dataset_picker.setAccessibleName("Dataset")
        self.dataset_picker.setToolTip("Handwritten digits (MNIST) or clothing pictures (Fashion-MNIST)")
        self.dataset_picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for text, picker in ((" Model ", self.model_picker), ("   Dataset ", self.dataset_picker)):
            label = QLabel(text)
            label.setToolTip(picker.toolTip())
            label.setBuddy(picker)
            layout.addWidget(label)
            layout.addWidget(picker)
        self.model_picker.addItem("Loading the network…")
        self.model_picker.setEnabled(False)
        self.dataset_picker.setEnabled(False)
        self.model_picker.currentIndexChanged.connect(self._on_picked)
        self.dataset_picker.currentIndexChanged.connect(self._on_picked)
        self._state = None

    def follow(self, state) -> None:
        """Subscribe to the app's state: list the networks once loaded, show the current one, lock while training."""
        self._state = state
        state.sessionReady.connect(self._fill)
        state.loadFailed.connect(self._on_load_failed)
        state.networkChanged.connect(self._sync)
        state.weightsChanged.connect(self._refresh_current)
        state.accuracyChanged.connect(self._refresh_current)  # a finished evaluation publishes its figure
        state.trainingStarted.connect(lambda: self._set_enabled(False))
        state.trainingFinished.connect(lambda _end: self._set_enabled(True))

    def _set_enabled(self, enabled: bool) -> None:
        self.model_picker.setEnabled(enabled)
        self.dataset_picker.setEnabled(enabled)

    def _on_load_failed(self, _exc) -> None:
        self.model_picker.clear()  # not "Loading…" forever
        self.model_picker.setPlaceholderText("No network")

    def _fill(self) -> None:
        c = core()
        self.dataset_picker.blockSignals(True)
        self.dataset_picker.clear()
        for key, info in c.DATASETS.items():
            self.dataset_picker.addItem(info.display_name, key)
        self.dataset_picker.blockSignals(False)  # the networks are listed by _sync, on every network change
        self._set_enabled(not self._state.session.training)

    def _item_text(self, spec, dataset: str) -> str:
        session = self._state.session
        if spec.name == session.model_name and session.dataset == dataset:
            text = accuracy_text(session, digits=1)  # the weights on screen, whatever their source
            trained = f"{text} test acc." if text.endswith("%") else text
        else:
            acc = core().pretrained_accuracy(spec.name, dataset)
            trained = f"{100 * acc:.1f}% test acc." if isinstance(acc, float) else "not evaluated"
        return f"{spec.display_name}  ·  {trained}"  # short: a projector's toolbar is narrow

    def _refresh_current(self) -> None:
        """The weights on screen changed (an edited kernel, an evaluation): only their own entry's text."""
        session = self._state.session if self._state is not None else None
        index = self.model_picker.currentIndex()
        if session is None or index < 0 or session.training:
            return
        text = self._item_text(session.spec, session.dataset)
        if self.model_picker.itemText(index) != text:
            self.model_picker.setItemText(index, text)
            self.model_picker.updateGeometry()

    def _sync(self) -> None:
        session = self._state.session
        for picker in (self.model_picker, self.dataset_picker):
            picker.blockSignals(True)
        specs = core().pickable_models(session.dataset)  # the zoo, and variants that ship weights (LeNet-5 1998 recipe)
        if session.spec not in specs:  # a variant made by a training setting (the sigmoid LeNet) on screen
            specs.append(session.spec)
        self.model_picker.clear()  # rebuilt each time: networks come and go (a user's own, a variant)
        for i, spec in enumerate(specs):
            self.model_picker.addItem(self._item_text(spec, session.dataset), spec.name)
            tip = f"{spec.display_name}: {spec.num_params:,} parameters\n{spec.description}\n{spec.reference}"
            self.model_picker.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.model_picker.setCurrentIndex(self.model_picker.findData(session.model_name))
        self.dataset_picker.setCurrentIndex(self.dataset_picker.findData(session.dataset))
        for picker in (self.model_picker, self.dataset_picker):
            picker.blockSignals(False)
            picker.updateGeometry()  # sized to the entry now shown (its signals were blocked while filled)

    def _on_picked(self, _index: int) -> None:
        session = self._state.session if self._state is not None else None
        model, dataset = self.model_picker.currentData(), self.dataset_picker.currentData()
        if session is None or not model or not dataset:
            return
        if (model, dataset) != (session.model_name, session.dataset):
            self.switchRequested.emit(model, dataset)
            self._sync()  # show the network really on screen (the switch may be refused or cancelled)
