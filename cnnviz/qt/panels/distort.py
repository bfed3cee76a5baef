"""Distort (``distort``): shift, turn, scale, thicken, blur with noise or cover the input, and sweep one distortion.

The sliders distort the 28x28 model input (``cnnviz.core.robust.distort``), the
same picture every network gets; the distorted input and the network's answer
follow the drawing and the sliders as a ``NewestWins`` job (a stroke never waits
for it; a hidden panel computes nothing). **Sweep** measures the accuracy of the
six zoo networks with their shipped weights (and the network on screen, if it is
not one of them) on the first N test images as one distortion varies: the LeNet-5
paper's invariance question as one plot, computed in the background with progress
and Cancel, each curve drawn as soon as it is done.
"""

from __future__ import annotations

import copy

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.qt.state import workers
from cnnviz.qt.state.display_pacer import show_paced
from cnnviz.qt.state.newest import NewestWins
from cnnviz.qt.widgets.small_picture import SmallPicture
from cnnviz.qt.widgets.style import scaled_font

# Slider: field, label, lowest, highest, divisor (slider units per value unit), tooltip.
SLIDERS = (
    ("shift_x", "Shift &x", -8, 8, 1, "Move the input right (pixels)"),
    ("shift_y", "Shift &y", -8, 8, 1, "Move the input down (pixels)"),
    ("rotate", "&Rotate", -90, 90, 1, "Turn the input counter-clockwise (degrees)"),
    ("scale", "Scale", 40, 200, 100, "Make the input smaller or larger (1 = as drawn)"),
    ("thickness", "Th&ickness", -2, 3, 1, "Thicker (dilation) or thinner (erosion) strokes, in pixels"),
    ("noise", "&Noise", 0, 50, 100, "Gaussian noise of this standard deviation, in units of full ink"),
    ("occlude", "&Occlude", 0, 14, 1, "A black square of this side (pixels) over the centre"),
)
SWEEPS = {"rotate": "Rotation", "shift-x": "Shift x", "shift-y": "Shift y", "scale": "Scale",
          "thickness": "Thickness", "noise": "Noise", "occlude": "Occluding square"}  # fmt: skip
MIN_JOB_INTERVAL_S = 0.05  # at most ~20 answers a second, as the six networks: the drawing keeps the cores
# One colour per network (the zoo's six and the one on screen), told apart on a projector.
SWEEP_COLORS = ((40, 110, 240), (230, 120, 20), (40, 170, 90), (200, 40, 40), (140, 80, 200), (120, 120, 120),
                (0, 170, 190))  # fmt: skip


class DistortPanel(QWidget):
    """Distortion sliders, the live distorted input and answer, and the accuracy sweep; see the module docstring."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("distort")
        self.setAccessibleName("Distort the input")
        self.state = None
        self._image: np.ndarray | None = None
        self._request = 0
        self._model = None  # the network on screen, copied once per network and weights for the answers
        self._sweep_job = None
        self.curves: dict[str, tuple[list[float], list[float]]] = {}  # network -> (values, accuracies)
        self.plot = None  # pyqtgraph's PlotWidget, made when first needed (pyqtgraph is imported then)
        self.sliders: dict[str, QSlider] = {}
        self._labels: dict[str, QLabel] = {}
        form = QFormLayout()
        for field, label, low, high, divisor, tip in SLIDERS:
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setObjectName(f"distort_{field}")
            slider.setAccessibleName(label.replace("&", ""))
            slider.setToolTip(tip)
            slider.setRange(low, high)
            slider.setValue(divisor if field == "scale" else 0)
            slider.valueChanged.connect(self._on_slider)
            value = QLabel()
            value.setMinimumWidth(36)
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(value)
            name = QLabel(label)
            name.setBuddy(slider)  # Alt+letter moves to the slider
            form.addRow(name, row)
            self.sliders[field], self._labels[field] = slider, value
        self.reset = QPushButton("Reset")
        self.reset.setObjectName("distortReset")
        self.reset.setToolTip("Every slider back to no distortion")
        self.reset.clicked.connect(self.reset_sliders)
        self.picture = SmallPicture("Distorted input", "distortPicture", "The model input after the distortions")
        self.answer = QLabel("Draw a digit to distort it.")
        self.answer.setObjectName("distortAnswer")
        self.answer.setAccessibleName("The network's answer on the distorted input")
        self.answer.setWordWrap(True)
        self.answer.setFont(scaled_font(self.font(), 1.2, True))

        self.transform = QComboBox()
        self.transform.setObjectName("sweepTransform")
        self.transform.setAccessibleName("Distortion to sweep")
        self.transform.setToolTip("Which distortion the sweep varies (the others stay off)")
        for key, name in SWEEPS.items():
            self.transform.addItem(name, key)
        self.count = QSpinBox()
        self.count.setObjectName("sweepCount")
        self.count.setAccessibleName("Test images")
        self.count.setToolTip("The first N test images of the dataset")
        self.count.setRange(10, 10_000)
        self.count.setSingleStep(100)
        self.count.setValue(1000)
        self.sweep_button = QPushButton("S&weep")
        self.sweep_button.setObjectName("sweepStart")
        self.sweep_button.setToolTip("Accuracy of the six networks as this distortion varies (in the background)")
        self.sweep_button.clicked.connect(self.start_sweep)
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("sweepCancel")
        self.cancel.setToolTip("Stop the sweep")
        self.cancel.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("sweepProgress")
        self.progress.setAccessibleName("Sweep progress")
        self.progress.setRange(0, 100)
        self.sweep_note = QLabel("Sweep: how accuracy falls as one distortion grows.")
        self.sweep_note.setObjectName("sweepNote")
        self.sweep_note.setWordWrap(True)

        top = QHBoxLayout()
        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.reset, 0, Qt.AlignmentFlag.AlignLeft)
        top.addLayout(left, 3)
        right = QVBoxLayout()
        right.addWidget(self.picture, 1)
        right.addWidget(self.answer)
        top.addLayout(right, 2)
        controls = QHBoxLayout()
        controls.addWidget(self.transform)
        controls.addWidget(QLabel("N"))
        controls.addWidget(self.count)
        controls.addWidget(self.sweep_button)
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.cancel)
        self.plot_box = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addLayout(controls)
        layout.addWidget(self.sweep_note)
        layout.addLayout(self.plot_box, 1)

        self.runner = NewestWins("distort", self, MIN_JOB_INTERVAL_S, failure="Could not distort the input")
        self.runner.finished.connect(self._on_answer)
        self.runner.failed.connect(
            lambda tag, text: (
                tag == self._request and show_paced(self.state, "distort", lambda: self.answer.setText(text))
            )
        )
        self._show_values()

    # -- the sliders ---------------------------------------------------------------------
    def values(self) -> dict:
        """The sliders as ``Distortion`` fields."""
        out = {}
        for field, _label, _low, _high, divisor, _tip in SLIDERS:
            raw = self.sliders[field].value()
            out[field] = (
                raw / divisor if divisor != 1 else int(raw) if field in ("thickness", "occlude") else float(raw)
            )
        return out

    def _show_values(self) -> None:
        for field, value in self.values().items():
            self._labels[field].setText(f"{value:g}")

    def reset_sliders(self) -> None:
        for field, _label, _low, _high, divisor, _tip in SLIDERS:
            self.sliders[field].setValue(divisor if field == "scale" else 0)

    def _on_slider(self) -> None:
        self._show_values()
        self._submit()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:  # presentation mode: the headline grows with the rest
            self.answer.setFont(scaled_font(self.font(), 1.2, True))

    # -- following the state -------------------------------------------------------------
    def follow(self, state) -> None:
        """Subscribe to the app's state: the network, each explained result, closing."""
        self.state = state
        state.networkChanged.connect(self._on_network)
        state.weightsChanged.connect(self._forget_copy)
        state.resultExplainable.connect(self._on_result)
        state.closing.connect(self.shutdown)

    def _forget_copy(self) -> None:
        self._model = None

    def _on_network(self) -> None:
        self._model = None
        self._submit()

    def _on_result(self, result) -> None:
        self._image = None if result.image is None or result.probabilities is None else result.image
        self._submit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._ensure_plot()
        self._submit()

    def _submit(self) -> None:
        session = None if self.state is None else self.state.session
        if session is None or not self.isVisible():
            return
        if self._image is None:
            self.runner.cancel()
            self.picture.set_gray(None)
            self.answer.setText("Draw a digit to distort it.")
            return
        self._request += 1
        if self._model is None:  # a copy per network and weights, not per stroke: it answers in another thread
            self._model = copy.deepcopy(session.model).eval()
        image, model, values = np.array(self._image, np.float32), self._model, self.values()
        run_in_background, pause = self.state.run_in_background, self.state.wait_for_drawing

        def job(_progress):
            from cnnviz.core.inspect.background_process import ModelTask
            from cnnviz.core.robust.distort import distort_and_predict

            pause()  # a stroke being answered first
            return run_in_background(ModelTask(distort_and_predict, model, (image, values)))  # off the GIL

        self.runner.submit(self._request, job)

    def _on_answer(self, tag: int, answer) -> None:
        if tag == self._request and self.state is not None:  # after the stroke's answer, one display at a time
            show_paced(self.state, "distort", lambda: tag == self._request and self._show_answer(answer))

    def _show_answer(self, answer) -> None:
        distorted, probs = answer
        self.picture.set_gray(distorted)
        k = int(np.argmax(probs))
        names = self.state.session.class_names
        self.answer.setText(f"{self.state.session.spec.display_name}: {names[k]} ({100 * probs[k]:.0f}%)")

    # -- the sweep -----------------------------------------------------------------------
    def _ensure_plot(self) -> None:
        if self.plot is not None:
            return
        import pyqtgraph as pg  # here, on the GUI thread, when the panel is first shown

        self.plot = pg.PlotWidget()
        self.plot.setObjectName("sweepPlot")
        self.plot.setAccessibleName("Accuracy as the distortion varies")
        self.plot.setMinimumHeight(160)
        self.plot.setLabel("left", "accuracy (%)")
        self.plot.setYRange(0, 100)
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.addLegend(offset=(160, -8), colCount=2)  # under the curves' peak, where accuracy is low
        self.plot_box.addWidget(self.plot)

    def start_sweep(self) -> None:
        """Sweep the chosen distortion for every zoo network (and the one on screen) in the background."""
        session = None if self.state is None else self.state.session
        if session is None or self._sweep_job is not None:
            return
        if not self.state.data_ready(session.dataset, self.start_sweep):
            self.sweep_note.setText(self.state.missing_data_text(session.dataset))
            return
        self._ensure_plot()
        transform, n, dataset = self.transform.currentData(), self.count.value(), session.dataset
        data_dir = self.state.data_dir
        own = None if session.spec.source_path is None and session.source_kind == "pretrained" else (
            f"{session.spec.display_name} (on screen)", copy.deepcopy(session.model))  # fmt: skip
        self.curves = {}
        self.plot.clear()
        self.plot.setLabel("bottom", SWEEPS[transform])
        self.sweep_note.setText(f"Sweeping {SWEEPS[transform].lower()} on {n:,} test images…")
        self.progress.setValue(0)
        self.sweep_button.setEnabled(False)
        self.cancel.setEnabled(True)

        def job(progress):
            from cnnviz.core.robust.sweep import sweep_networks

            return sweep_networks(dataset, transform, n, data_dir, own, progress)  # progress raises on Cancel

        self._sweep_job = job = workers.start(job, name="distort-sweep", parent=self, failure="The sweep failed")
        job.progressed.connect(self._on_sweep_progress)
        job.returned.connect(lambda _result: self._end_sweep(f"Accuracy on the first {n:,} test images."))
        job.failed.connect(self._end_sweep)
        job.cancelled.connect(lambda: self._end_sweep("Cancelled."))
        self.cancel.clicked.connect(job.cancel)

    def _on_sweep_progress(self, report) -> None:
        fraction, name, values, accuracy = report
        self.progress.setValue(int(round(100 * fraction)))
        if name is None:
            return
        self.curves[name] = (list(values), list(accuracy))
        import pyqtgraph as pg

        color = SWEEP_COLORS[(len(self.curves) - 1) % len(SWEEP_COLORS)]
        self.plot.plot(values, [100 * a for a in accuracy], pen=pg.mkPen(color, width=2), symbol="o",
                       symbolSize=6, symbolBrush=color, name=name)  # fmt: skip

    def _end_sweep(self, text: str) -> None:
        job, self._sweep_job = self._sweep_job, None
        if job is not None:
            self.cancel.clicked.disconnect(job.cancel)
        self.sweep_note.setText(text)
        self.sweep_button.setEnabled(True)
        self.cancel.setEnabled(False)

    def shutdown(self) -> None:
        """Stop the background work (the window is closing)."""
        self.runner.stop()
        if self._sweep_job is not None:
            self._sweep_job.cancel()
            self._sweep_job.wait(10)
