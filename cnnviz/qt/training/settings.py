"""The Training panel's settings form: dataset, network, optimizer, schedule, batch, epochs, device.

``TrainingSettings.config()`` turns the form into a ``TrainConfig``; the
fields start at ``TrainConfig``'s own defaults, so the app and ``cnnviz
train`` run the same recipe unless the user changes it.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QSpinBox,
    QWidget,
)

from cnnviz.core import DATASETS, TrainConfig, available_devices, device_label, list_models, resolve_device
from cnnviz.core.training.config import DEFAULT_LR, LR_SCALE, OPTIMIZERS, SCHEDULES, default_lr
from cnnviz.qt.training.recipe_choice import RecipeCombo

__all__ = ["LearningRateSpinBox", "TrainingSettings"]

_OPTIMIZER_TIPS = {
    "adam": "Adam: adapts a step size per weight; works well with little tuning.",
    "adamw": "AdamW: Adam with decoupled weight decay.",
    "sgd": "SGD with Nesterov momentum 0.9: the classic; needs a larger learning rate.",
}
_SCHEDULE_TIPS = {
    "onecycle": "One-cycle: warm up to the learning rate for the first quarter, then anneal to almost zero.",
    "cosine": "Cosine: start at the learning rate and anneal to zero along a cosine.",
    "constant": "Constant: the same learning rate throughout.",
}


class LearningRateSpinBox(QDoubleSpinBox):
    """A learning-rate field: shows ``2e-03`` style numbers and steps through 1, 2, 5 x 10^k."""

    _MANTISSAS = (1.0, 2.0, 5.0)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setDecimals(12)  # keep tiny rates; the text is formatted below
        self.setRange(1e-7, 1e7)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return f"{value:.3g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            value = float(text)
        except ValueError:
            # Half-typed numbers ("1e", "0.") are fine while typing.
            return QValidator.State.Intermediate, text, pos
        ok = self.minimum() <= value <= self.maximum()
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802
        ladder = self._ladder()
        here = int(np.argmin(np.abs(np.log(ladder) - math.log(self.value()))))
        self.setValue(float(ladder[int(np.clip(here + steps, 0, len(ladder) - 1))]))

    def _ladder(self) -> np.ndarray:
        exponents = range(math.floor(math.log10(self.minimum())), math.ceil(math.log10(self.maximum())) + 1)
        values = np.array([m * 10.0**e for e in exponents for m in self._MANTISSAS])
        return values[(values >= self.minimum()) & (values <= self.maximum())]


class TrainingSettings(QGroupBox):
    """The form; ``config()`` reads it, ``show_network()`` points it at the app's network.

    Signals
    -------
    networkChosen(str, str)  the user chose another network (or activation, or dataset): (model, dataset).
                             The panel makes it a visible switch of the network on screen.
    """

    networkChosen = Signal(str, str)

    def __init__(self, parent=None) -> None:
        super().__init__("Training settings", parent)
        self.setObjectName("trainSettings")
        defaults = TrainConfig()
        grid = QGridLayout(self)

        self.dataset_combo = QComboBox(objectName="trainDataset")
        for name, info in DATASETS.items():
            self.dataset_combo.addItem(info.display_name, name)
        self.dataset_combo.setToolTip(
            "The images to learn from: handwritten digits (MNIST) or clothing (Fashion-MNIST)."
        )

        self.model_combo = QComboBox(objectName="trainModel")
        for i, spec in enumerate(list_models()):
            self.model_combo.addItem(spec.display_name, spec.name)
            self.model_combo.setItemData(
                i, f"{spec.description}\n{spec.num_params:,} parameters", Qt.ItemDataRole.ToolTipRole
            )
        self.model_combo.setCurrentIndex(max(self.model_combo.findData(defaults.model), 0))
        self.model_combo.setToolTip("The network to train (hover over an entry for what it is).")

        self.init_combo = QComboBox(objectName="trainInit")
        self.init_combo.addItem("Random weights", "scratch")
        self.init_combo.addItem("Current weights", "current")
        self.init_combo.setToolTip(
            "From scratch: start from random weights and watch the network learn from nothing.\n"
            "Continue: start from the current model's weights (for another model, its pretrained weights)."
        )

        self.optimizer_combo = QComboBox(objectName="trainOptimizer")
        for i, name in enumerate(OPTIMIZERS):
            self.optimizer_combo.addItem({"adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}.get(name, name), name)
            self.optimizer_combo.setItemData(i, _OPTIMIZER_TIPS.get(name, name), Qt.ItemDataRole.ToolTipRole)
        self.optimizer_combo.setToolTip(
            "How the weights are updated from the gradients. Changing it resets the learning rate."
        )

        self.lr_spin = LearningRateSpinBox()
        self.lr_spin.setObjectName("trainLearningRate")
        self.lr_spin.setValue(defaults.learning_rate)
        self.lr_spin.setToolTip(
            "The (peak) step size. Too large and training diverges; too small and it crawls.\n"
            "Type a number like 0.002 or 2e-3; the arrows step through 1, 2, 5 x 10^k."
        )
        self.optimizer_combo.currentIndexChanged.connect(self._on_optimizer_changed)
        # The rate follows the recipe (default_lr: the optimizer's, / sqrt(epochs)) until the user types one.
        self._lr_is_default, self._setting_lr = True, False
        self.lr_spin.valueChanged.connect(self._on_lr_changed)
        self.lr_note = QLabel("", objectName="trainLearningRateNote")
        self.lr_note.setWordWrap(True)
        self.lr_note.setToolTip("The learning rate this run will use, and whether it follows the epochs.")

        self.schedule_combo = QComboBox(objectName="trainSchedule")
        for i, name in enumerate(SCHEDULES):
            self.schedule_combo.addItem(
                {"onecycle": "One-cycle", "cosine": "Cosine", "constant": "Constant"}.get(name, name), name
            )
            self.schedule_combo.setItemData(i, _SCHEDULE_TIPS.get(name, name), Qt.ItemDataRole.ToolTipRole)
        self.schedule_combo.setToolTip("How the learning rate changes during training (see the learning-rate plot).")

        self.batch_spin = QSpinBox(objectName="trainBatchSize")
        self.batch_spin.setRange(1, 8192)
        self.batch_spin.setValue(defaults.batch_size)
        self.batch_spin.setStepType(QSpinBox.StepType.AdaptiveDecimalStepType)
        self.batch_spin.setToolTip(
            "Images per weight update. Larger batches are faster per image but update less often."
        )

        self.activation_combo = QComboBox(objectName="trainActivation")
        for name in ("relu", "sigmoid", "tanh"):
            self.activation_combo.addItem({"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}[name], name)
        self.activation_combo.setToolTip(
            "The modern LeNet's activation. Sigmoid is what the early tutorials used: train it and ReLU\n"
            "and compare their curves in the runs list (sigmoid learns much more slowly)."
        )
        self.model_combo.currentIndexChanged.connect(self._enable_activation)
        self.model_combo.currentIndexChanged.connect(lambda _index: self._show_default_lr())  # LeNet-5: its own rate

        self.epochs_spin = QSpinBox(objectName="trainEpochs")
        self.epochs_spin.setRange(1, 200)
        self.epochs_spin.setValue(defaults.epochs)
        self.epochs_spin.valueChanged.connect(lambda _value: self._show_default_lr())
        self.epochs_spin.setToolTip(
            "Passes over the 60,000 training images. One epoch of LeNet takes seconds on a CPU."
        )

        self.augment_check = QCheckBox("Augment images", objectName="trainAugment")
        self.augment_check.setToolTip(
            "Randomly shift, rotate and scale each training image a little, so the network generalises better."
        )

        self.mirror_check = QCheckBox("Mirror", objectName="trainMirror")
        self.mirror_check.setToolTip(
            "Flip half the training images left-right. A mirrored shoe is still a shoe, "
            "so this helps on Fashion-MNIST; a mirrored digit is no digit, so it is off for MNIST."
        )
        self.dataset_combo.currentIndexChanged.connect(self._enable_mirror)
        self._enable_mirror()
        self._enable_activation()
        for combo in (self.model_combo, self.activation_combo, self.dataset_combo):  # the user's choices only
            combo.activated.connect(
                lambda _index: self.networkChosen.emit(self._model_name(), self.dataset_combo.currentData())
            )

        self.recipe_combo = RecipeCombo()  # LeNet-5 the 1998 way: enabled for LeNet-5 only
        self.model_combo.currentIndexChanged.connect(lambda _index: self._follow_recipe_model())
        self.recipe_combo.currentIndexChanged.connect(lambda _index: self._on_recipe_changed())
        self._follow_recipe_model()

        self.device_combo = QComboBox(objectName="trainDevice")
        self.device_combo.addItem(f"Auto ({device_label(resolve_device('auto'))})", "auto")
        for name in available_devices():
            self.device_combo.addItem(device_label(resolve_device(name)), name)
        self.device_combo.setToolTip("Where to compute: a CUDA GPU or Apple MPS when present, else the CPU.")

        fields = [
            ("&Dataset", self.dataset_combo), ("&Model", self.model_combo), ("&Start from", self.init_combo),
            ("&Optimizer", self.optimizer_combo), ("&Learning rate", self.lr_spin), ("S&chedule", self.schedule_combo),
            ("&Batch size", self.batch_spin), ("E&pochs", self.epochs_spin), ("Dev&ice", self.device_combo),
            ("Acti&vation", self.activation_combo), ("&Recipe", self.recipe_combo),
        ]  # fmt: skip
        self._pairs = []
        for text, widget in fields:
            label = QLabel(text)
            label.setBuddy(widget)
            label.setToolTip(widget.toolTip())
            self._pairs.append((label, widget))
        self._checks = QWidget()
        checks = QHBoxLayout(self._checks)
        checks.setContentsMargins(0, 0, 0, 0)
        checks.addWidget(self.augment_check)
        checks.addWidget(self.mirror_check)
        checks.addStretch(1)
        # The form is two columns where there is room and one on a narrow projector column (see
        # resizeEvent); the layout must then not pin the box to the two-column width.
        grid.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self._grid, self._columns = grid, 0
        self._arrange(2)
        self._show_lr_note()

    def _arrange(self, columns: int) -> None:
        if columns == self._columns:
            return
        self._columns, grid = columns, self._grid
        for label, widget in self._pairs:
            grid.removeWidget(label)
            grid.removeWidget(widget)
        grid.removeWidget(self._checks)
        grid.removeWidget(self.lr_note)
        for i, (label, widget) in enumerate(self._pairs):
            row, col = divmod(i, columns)
            grid.addWidget(label, row, 2 * col)
            grid.addWidget(widget, row, 2 * col + 1)
        n = len(self._pairs)
        if columns == 2:
            grid.addWidget(self._checks, n // 2, 2, 1, 2)  # under the right-hand labels: no wider
            grid.addWidget(self.lr_note, n // 2 + 1, 0, 1, 4)
        else:
            grid.addWidget(self._checks, n, 0, 1, 2)
            grid.addWidget(self.lr_note, n + 1, 0, 1, 2)
        for col in range(4):
            grid.setColumnStretch(col, 1 if col in (1, 3) and col < 2 * columns else 0)

    def _column_width(self, pairs=None) -> int:
        pairs = self._pairs if pairs is None else pairs
        label = max(lab.sizeHint().width() for lab, _ in pairs)
        # A combo box's minimum is measured once, at the normal type; its size hint follows presentation
        # mode's larger type, so two columns are chosen only where "Random weights" is not clipped.
        field = max(max(w.minimumSizeHint().width(), w.sizeHint().width() if isinstance(w, QComboBox) else 0)
                    for _, w in pairs)  # fmt: skip
        return label + field + 2 * self._grid.horizontalSpacing()

    def _two_column_width(self) -> int:
        margins = self.contentsMargins()
        return (self._column_width(self._pairs[0::2]) + self._column_width(self._pairs[1::2])
                + margins.left() + margins.right() + 8)  # fmt: skip

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        margins = self.contentsMargins()
        hint = super().minimumSizeHint()
        return QSize(self._column_width() + margins.left() + margins.right() + 8, hint.height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._arrange(2 if self.width() >= self._two_column_width() else 1)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # larger type, wider fields: maybe one column now
            self._arrange(2 if self.width() >= self._two_column_width() else 1)

    def _enable_mirror(self) -> None:
        self.mirror_check.setEnabled(DATASETS[self.dataset_combo.currentData()].mirror_safe)

    def config(self) -> TrainConfig:
        """The settings as a ``TrainConfig`` (raises ``CnnvizError`` if one is invalid)."""
        dataset = self.dataset_combo.currentData()
        recipe = self.recipe_combo.recipe  # 1998: "Augment images" means the paper's distortions
        return TrainConfig(
            recipe=recipe,
            distort=bool(recipe) and self.augment_check.isChecked(),
            model=self._model_name(),
            dataset=dataset,
            epochs=self.epochs_spin.value(),
            batch_size=self.batch_spin.value(),
            lr=None if self._lr_is_default else self.lr_spin.value(),
            optimizer=self.optimizer_combo.currentData(),
            schedule=self.schedule_combo.currentData(),
            augment=not recipe and self.augment_check.isChecked(),
            mirror=self.mirror_check.isChecked() and DATASETS[dataset].mirror_safe,
            device=self.device_combo.currentData(),
        )

    def _model_name(self) -> str:
        """The network to train: the modern LeNet's activation picks its registered variant."""
        model = self.model_combo.currentData()
        if model == "lenet":
            from cnnviz.core.models.lenet import lenet_variant

            return lenet_variant(self.activation_combo.currentData())
        return model

    def _enable_activation(self) -> None:
        self.activation_combo.setEnabled(self.model_combo.currentData() == "lenet")

    def show_network(self, model_name: str, dataset: str) -> None:
        """Point the network and dataset fields at the app's (e.g. after the user loads a file)."""
        from cnnviz.core import get_spec

        variant_of = get_spec(model_name).variant_of  # the sigmoid LeNet: "lenet" with its activation
        if variant_of == "lenet":
            self.activation_combo.setCurrentIndex(self.activation_combo.findData(model_name.split("-", 1)[1]))
            model_name = variant_of
        elif model_name == "lenet":
            self.activation_combo.setCurrentIndex(0)
        for combo, value in ((self.model_combo, model_name), (self.dataset_combo, dataset)):
            index = combo.findData(value)
            if index < 0 and combo is self.model_combo:  # a network added at run time (a user's own)
                combo.addItem(get_spec(value).display_name, value)
                index = combo.count() - 1
            if index >= 0:
                combo.setCurrentIndex(index)

    def _follow_recipe_model(self) -> None:
        self.recipe_combo.follow_model(self.model_combo.currentData())

    def _on_recipe_changed(self) -> None:
        """The 1998 recipe brings its own optimizer and schedule, and starts from its passes and batch."""
        recipe = self.recipe_combo.recipe
        for widget in (self.optimizer_combo, self.schedule_combo):
            widget.setEnabled(not recipe)
        own = self.recipe_combo.defaults(recipe)
        if own:
            self.epochs_spin.setValue(own["epochs"])
            self.batch_spin.setValue(own["batch_size"])
        self._show_default_lr()

    def _show_lr_note(self) -> None:
        """Say which rate the run will use, and that it follows the epochs until the user types one."""
        optimizer, epochs = self.optimizer_combo.currentData(), self.epochs_spin.value()
        rate = self.lr_spin.value()
        if getattr(self, "recipe_combo", None) is not None and self.recipe_combo.recipe:
            how = (f"the 1998 schedule: {rate:.3g} for 2 passes, then lower; 'Augment images' adds the paper's distortions"
                   if self._lr_is_default else f"{rate:.3g} to start, the 1998 schedule scaled to it")  # fmt: skip
            self.lr_note.setText(f"Learning rate used: {how}.")
            return
        if self._lr_is_default and optimizer in DEFAULT_LR:
            scale = LR_SCALE.get(self.model_combo.currentData() or "", 1.0)  # LeNet-5: a quarter
            base = DEFAULT_LR[optimizer] * scale
            recipe = "the recipe's rate" if scale == 1 else f"the recipe's rate x {scale:g} for this network"
            how = (f"{recipe} for one epoch" if epochs == 1 else
                   f"{recipe}; follows the epochs: {base:g} / √{epochs}; type a rate to keep it fixed")  # fmt: skip
            self.lr_note.setText(f"Learning rate used: {rate:.3g} ({how}).")
        else:
            self.lr_note.setText(f"Learning rate used: {rate:.3g} (yours: it stays whatever the epochs).")

    def _on_optimizer_changed(self) -> None:
        self._lr_is_default = True  # another optimizer: its own default rate again
        self._show_default_lr()

    def _show_default_lr(self) -> None:
        if self._lr_is_default and self.optimizer_combo.currentData() in DEFAULT_LR:
            recipe = getattr(self, "recipe_combo", None)
            own = recipe.defaults(recipe.recipe) if recipe is not None else {}  # the 1998 schedule's first rate
            self._setting_lr = True
            self.lr_spin.setValue(
                own.get("first_lr")
                or default_lr(
                    self.optimizer_combo.currentData(), self.epochs_spin.value(), self.model_combo.currentData()
                )
            )
            self._setting_lr = False
        self._show_lr_note()

    def _on_lr_changed(self, _value: float) -> None:
        if not self._setting_lr:
            self._lr_is_default = False  # the user's own rate stays, whatever the epochs
            self._show_lr_note()
