"""Sanity check (``sanityCheck``): does an attribution method explain the network, or only the picture?

Cascading randomisation (Adebayo et al. 2018, ``cnnviz.core.robust.sanity``): the
network's stages are re-initialised one at a time from the output down, and each
map is compared with the trained network's (Spearman, of absolute values, averaged
over N test images). The panel shows the first image's map per stage side by
side, the correlation curve and a verdict in plain words. **Shuffled labels**
trains a fresh copy of the network on randomly relabelled images with the
ordinary engine (``cnnviz.core.robust.shuffled``) and compares the two networks'
maps: the data randomisation test. Both run in the background with progress
and Cancel, on a copy of the network on screen.
"""

from __future__ import annotations

import copy

from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.qt.state import workers
from cnnviz.qt.state.lazy import core
from cnnviz.qt.widgets.small_picture import SmallPicture
from cnnviz.qt.widgets.style import scaled_font

METHODS = {"saliency": "Saliency", "gradcam": "Grad-CAM", "guided": "Guided Backprop", "ig": "Integrated Gradients"}
MAPS_PER_ROW = 7


class SanityCheckPanel(QWidget):
    """The sanity checks for attribution; see the module docstring. ``result`` is the last ``SanityResult``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sanityCheck")
        self.setAccessibleName("Sanity check of the heat maps")
        self.state = None
        self.result = None
        self._job = None
        self.plot = None
        self.method = QComboBox()
        self.method.setObjectName("sanityMethod")
        self.method.setAccessibleName("Attribution method")
        self.method.setToolTip("The attribution method to check, on the network on screen")
        for key, name in METHODS.items():
            self.method.addItem(name, key)
        self.network = QComboBox()
        self.network.setObjectName("sanityNetwork")
        self.network.setAccessibleName("Network")
        self.network.setToolTip(
            "The network whose maps are checked: the one on screen, or a zoo network's shipped weights"
        )
        self.network.addItem("The network on screen", None)
        self.count = QSpinBox()
        self.count.setObjectName("sanityCount")
        self.count.setAccessibleName("Test images")
        self.count.setToolTip("Average the correlations over the first N test images")
        self.count.setRange(1, 500)
        self.count.setValue(10)
        self.run_button = QPushButton("Ran&domise stage by stage")
        self.run_button.setObjectName("sanityRun")
        self.run_button.setToolTip(
            "Re-initialise the stages from the output down and compare each map with the original"
        )
        self.run_button.clicked.connect(self.start_cascade)
        self.shuffled_button = QPushButton("Train on shuffled la&bels")
        self.shuffled_button.setObjectName("sanityShuffled")
        self.shuffled_button.setToolTip("Train a fresh copy on 1,000 images with random labels (it memorises them)\n"
                                        "and compare its maps with this network's: the data randomisation test")  # fmt: skip
        self.shuffled_button.clicked.connect(self.start_shuffled)
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("sanityCancel")
        self.cancel.setToolTip("Stop the check")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(lambda: self._job is not None and self._job.cancel())
        self.progress = QProgressBar()
        self.progress.setObjectName("sanityProgress")
        self.progress.setAccessibleName("Sanity check progress")
        self.progress.setRange(0, 100)
        self.verdict = QLabel("Does the heat map explain the network? Destroy its weights and see if the map changes.")
        self.verdict.setObjectName("sanityVerdict")
        self.verdict.setAccessibleName("Verdict")
        self.verdict.setWordWrap(True)
        self.verdict.setFont(scaled_font(self.font(), 1.1, True))
        self.maps = QGridLayout()
        self.pictures: list[SmallPicture] = []

        controls = QHBoxLayout()  # two short rows: the dock shares a 1024-wide screen's middle column
        controls.addWidget(self.method, 1)
        controls.addWidget(self.network, 1)
        controls.addWidget(QLabel("N"))
        controls.addWidget(self.count)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.shuffled_button)
        buttons.addStretch(1)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.cancel)
        self.plot_box = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(controls)
        layout.addLayout(buttons)
        layout.addLayout(bar)
        layout.addLayout(self.maps)
        layout.addWidget(self.verdict)
        layout.addLayout(self.plot_box, 1)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:  # presentation mode: the headline grows with the rest
            self.verdict.setFont(scaled_font(self.font(), 1.1, True))

    def follow(self, state) -> None:
        """Subscribe to the app's state: a new network makes the result stale; closing stops the work."""
        self.state = state
        state.networkChanged.connect(self._on_network)
        state.closing.connect(self.shutdown)

    def _on_network(self) -> None:
        from cnnviz.core.inspect.comparison import zoo_names  # the session is loaded: the core is imported

        if self.network.count() == 1:
            for name in zoo_names():
                self.network.addItem(core().get_spec(name).display_name, name)
        if self._job is not None:
            self._job.cancel()
        if self.result is not None:
            self.verdict.setText("Another network: run the check again.")

    # -- the jobs ------------------------------------------------------------------------
    def _start(self, fn, name: str, text: str, on_result) -> None:
        self.progress.setValue(0)
        self.verdict.setText(text)
        self.run_button.setEnabled(False)
        self.shuffled_button.setEnabled(False)
        self.cancel.setEnabled(True)
        self._job = job = workers.start(fn, name=name, parent=self, failure="The sanity check failed",
                                        torch_threads=1)  # fmt: skip
        job.progressed.connect(lambda value: value is None or self.progress.setValue(int(round(100 * value))))
        job.returned.connect(on_result)
        job.failed.connect(self._finish)
        job.cancelled.connect(lambda: self._finish("Cancelled."))

    def _finish(self, text: str) -> None:
        self._job = None
        self.verdict.setText(text)
        self.run_button.setEnabled(True)
        self.shuffled_button.setEnabled(True)
        self.cancel.setEnabled(False)

    def start_cascade(self) -> None:
        """Cascading randomisation of the network on screen, in the background."""
        session = None if self.state is None else self.state.session
        if session is None or self._job is not None:
            return
        if not self.state.data_ready(session.dataset, self.start_cascade):
            self.verdict.setText(self.state.missing_data_text(session.dataset))
            return
        chosen, method, n = self.network.currentData(), self.method.currentData(), self.count.value()
        model = copy.deepcopy(session.model) if chosen is None else None
        dataset, data_dir = session.dataset, self.state.data_dir
        title = session.spec.display_name if chosen is None else self.network.currentText()

        def job(progress):
            from cnnviz.core.resources import pretrained_path
            from cnnviz.core.robust.sanity import cascading_randomisation
            from cnnviz.core.training.evaluate import load_test_images
            from cnnviz.core.weights.checkpoint import load_checkpoint

            net = model if chosen is None else load_checkpoint(pretrained_path(chosen, dataset), chosen)[0]
            images, _ = load_test_images(dataset, range(n), data_dir)
            return cascading_randomisation(net, images, method, progress=lambda done, total: progress(done / total))

        self._start(job, "sanity-cascade", f"Randomising {title} stage by stage…", self._on_cascade)

    def _on_cascade(self, result) -> None:
        from cnnviz.core.inspect.attribution import heat_colors
        from cnnviz.core.robust.sanity import verdict

        self.result = result
        self._finish(verdict(result.method, result.correlation))
        for picture in self.pictures:
            self.maps.removeWidget(picture)
            picture.deleteLater()
        self.pictures = []
        for i, (stage, corr, values) in enumerate(zip(result.stages, result.correlation, result.maps, strict=True)):
            caption = "trained" if i == 0 else f"−{stage} {corr:.2f}"
            picture = SmallPicture(caption, f"sanityMap{i}",
                                   f"Test image 0: |map| with the stages down to {stage} randomised; Spearman over N images {corr:.2f}")  # fmt: skip
            picture.setMinimumSize(48, 64)
            picture.set_rgb(heat_colors(abs(values), False))
            self.maps.addWidget(picture, i // MAPS_PER_ROW, i % MAPS_PER_ROW)
            self.pictures.append(picture)
        self._ensure_plot()
        import pyqtgraph as pg

        self.plot.clear()
        self.plot.plot(list(range(len(result.stages))), result.correlation, pen=pg.mkPen((40, 110, 240), width=2),
                       symbol="o", symbolBrush=(40, 110, 240))  # fmt: skip
        self.plot.getAxis("bottom").setTicks([list(enumerate(["trained", *result.stages[1:]]))])

    def start_shuffled(self) -> None:
        """Train a copy on shuffled labels and compare the maps of the four methods (the data randomisation test)."""
        session = None if self.state is None else self.state.session
        if session is None or self._job is not None:
            return
        if not self.state.data_ready(session.dataset, self.start_shuffled):
            self.verdict.setText(self.state.missing_data_text(session.dataset))
            return
        model, name, dataset = copy.deepcopy(session.model), session.model_name, session.dataset
        data_dir, n = self.state.data_dir, self.count.value()

        def job(progress):
            from cnnviz.core.robust.shuffled import compare_networks, train_on_shuffled_labels
            from cnnviz.core.training.evaluate import load_test_images

            def training(report) -> None:
                progress(0.8 * report.step / max(1, report.total_steps))

            end = train_on_shuffled_labels(name, dataset, data_dir, progress=training)
            if end.model is None or end.test_accuracy is None:
                return end.message, {}
            images, _ = load_test_images(dataset, range(n), data_dir)
            out = {}
            for i, method in enumerate(METHODS):
                out[method] = compare_networks(model.eval(), end.model.eval(), images, method)
                progress(0.8 + 0.2 * (i + 1) / len(METHODS))
            return f"The copy memorised {100 * end.test_accuracy:.1f}% of the random labels.", out

        self._start(job, "sanity-shuffled", "Training a copy on shuffled labels…", self._on_shuffled)

    def _on_shuffled(self, answer) -> None:
        message, correlations = answer
        if not correlations:
            self._finish(message)
            return
        parts = [f"{METHODS[m]} {c:.2f}" for m, c in correlations.items()]
        self._finish(f"Maps of the network trained on shuffled labels vs this one (Spearman; low: the method "
                     f"sees what was learned): {', '.join(parts)}. {message}")  # fmt: skip

    def _ensure_plot(self) -> None:
        if self.plot is not None:
            return
        import pyqtgraph as pg  # on the GUI thread, when a result first needs it

        self.plot = pg.PlotWidget()
        self.plot.setObjectName("sanityPlot")
        self.plot.setAccessibleName("Correlation with the trained network's maps")
        self.plot.setMinimumHeight(120)
        self.plot.setLabel("left", "Spearman")
        self.plot.setYRange(-0.2, 1.0)
        self.plot.showGrid(x=False, y=True, alpha=0.3)
        self.plot_box.addWidget(self.plot)

    def shutdown(self) -> None:
        """Stop the background work (the window is closing)."""
        if self._job is not None:
            self._job.cancel()
            self._job.wait(30)
