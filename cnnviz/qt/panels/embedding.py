"""Where does my drawing sit among the test digits? (``embeddingPanel``): the map of the test set.

One stage's features (by default the layer before the class scores) of 2,000 test
images, or all 10,000, projected to 2-D by PCA (instant) or t-SNE (openTSNE,
seconds): a background job with progress and Cancel (``cnnviz.core.learned.embedding``).
Dots are coloured by true class; misclassified images can be ringed; hovering shows
the image, a click puts it on the canvas. The drawing is a live star, moved once the
answer is painted (``AppState.resultExplainable``, at most ~30 times a second): each answer
already holds the stage's activations, so placing it is a projection (PCA, on the GUI
thread) or one openTSNE ``transform`` (~50 ms, a ``NewestWins`` job: the newest drawing wins).
"""

from __future__ import annotations

import copy

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.qt.state import workers
from cnnviz.qt.state.display_pacer import show_paced
from cnnviz.qt.state.lazy import core
from cnnviz.qt.state.newest import NewestWins
from cnnviz.qt.widgets.combos import narrow
from cnnviz.qt.widgets.picture_tile import PictureTile
from cnnviz.qt.widgets.visibility import SkipWhileHidden

POINT_CHOICES = (2_000, 10_000)


class EmbeddingPanel(QWidget):
    """See the module docstring.

    Signals
    -------
    testImageRequested(int, str)  a dot was clicked: its test-set index and dataset
    """

    testImageRequested = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("embeddingPanel")
        self.setAccessibleName("Map of the test set")
        self.state = None
        self.features = self.embedding = None
        self.plot = None  # built with the first map (pyqtgraph is imported then)
        self.drawing_point = None
        self._dataset = "mnist"
        self._job = None
        self._cancelled: list = []  # jobs told to stop that may still run: the window's close waits for them
        self._placed = 0  # tag of the newest drawing sent to be placed
        self.stage = narrow(QComboBox(objectName="embeddingStage"))
        self.stage.setAccessibleName("Stage")
        self.stage.setToolTip("Whose features are mapped (default: the layer before the class scores)")
        self.method = narrow(QComboBox(objectName="embeddingMethod"))
        self.method.setAccessibleName("Method")
        self.method.addItem("PCA", "pca")
        self.method.addItem("t-SNE", "tsne")
        self.method.setToolTip(
            "PCA (instant): the two directions of most variance; t-SNE (seconds): neighbours stay neighbours"
        )
        self.count = narrow(QComboBox(objectName="embeddingPoints"))
        self.count.setAccessibleName("Test images")
        for n in POINT_CHOICES:
            self.count.addItem(f"{n:,}", n)
        self.count.setToolTip("How many test images the map holds (all 10,000 take longer)")
        self.map_button = QPushButton("&Map", objectName="embeddingMap")
        self.map_button.setToolTip("Compute the map with these settings in the background")
        self.map_button.clicked.connect(self.compute)
        self.progress = QProgressBar(objectName="embeddingProgress")
        self.progress.setRange(0, 100)
        self.cancel = QPushButton("Cancel", objectName="embeddingCancel")
        self.cancel.setToolTip("Stop computing the map")
        self.cancel.clicked.connect(self.cancel_job)
        self.mistakes = QCheckBox("Ring &mistakes", objectName="embeddingMistakes")
        self.mistakes.setToolTip("Ring the test images the network gets wrong")
        self.mistakes.toggled.connect(lambda on: self.plot is not None and self.plot.show_mistakes(on))
        self.hover = PictureTile("embeddingHover", min_side=72)
        self.hover.setToolTip("The test image under the pointer")
        self.note = QLabel("", objectName="embeddingNote")
        self.note.setWordWrap(True)
        controls = QHBoxLayout()
        for widget in (self.stage, self.method, self.count, self.map_button, self.mistakes):
            controls.addWidget(widget)
        controls.addStretch(1)
        running = QHBoxLayout()
        running.addWidget(self.progress, 1)
        running.addWidget(self.cancel)
        self.body = QHBoxLayout()
        side = QVBoxLayout()
        side.addWidget(self.hover)
        side.addStretch(1)
        self.body.addLayout(side)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(controls)
        layout.addLayout(running)
        layout.addLayout(self.body, 1)
        layout.addWidget(self.note)
        self.placer = NewestWins("embedding-place", self, failure="The drawing could not be placed")
        self.placer.finished.connect(self._on_placed)
        self.while_hidden = SkipWhileHidden(self, self.refresh)
        self._set_running(False)

    # -- following the state -------------------------------------------------------------------
    def follow(self, state) -> None:
        self.state = state
        state.networkChanged.connect(self._on_network)
        state.resultExplainable.connect(self._on_result)  # after the answer is painted: never in a stroke's way
        state.closing.connect(self.stop)
        state.closing.connect(self.placer.stop)

    def _on_network(self) -> None:
        session = self.state.session
        self.stage.blockSignals(True)
        self.stage.clear()
        try:
            layers = [row.name for row in session.description.layers if row.output_shape and row.name != "input"]
        except core().CnnvizError as exc:
            layers = []
            self.note.setText(str(exc))
        for name in layers:
            self.stage.addItem(name, name)
        if len(layers) >= 2:
            self.stage.setCurrentIndex(len(layers) - 2)  # the layer before the scores
        self.stage.blockSignals(False)
        self.cancel_job()
        self.features = self.embedding = None
        if self.plot is not None:
            self.plot.set_map(np.zeros((0, 2)), np.zeros(0, int), np.zeros(0, bool), ())
        self.note.setText("Press Map (or open this panel) to map the test set for this network.")
        if not self.while_hidden.skip():
            self.refresh()

    def refresh_if_stale(self) -> None:
        self.while_hidden.catch_up()

    def refresh(self) -> None:
        """On screen: a PCA map of the default 2,000 if none is shown yet, and the drawing's place."""
        if self.state is None or self.state.session is None:
            return
        if self.embedding is None and self._job is None and not self.state.session.training:
            if not self.state.data_ready(self.state.session.dataset, ask=False):
                self.note.setText(self.state.missing_data_text(self.state.session.dataset) + " Then press Map.")
                return  # the question comes when Map is pressed, not each time the panel shows
            self.compute()  # during a run, only on request (Map): the run needs the cores
        elif self.embedding is not None:
            self._on_result(self.state.session.result)

    # -- the map -----------------------------------------------------------------------------------
    def compute(self) -> None:
        from cnnviz.core.learned.embedding import embed, features

        session = self.state.session if self.state is not None else None
        stage = self.stage.currentData()
        if session is None or stage is None:
            return
        self.cancel_job()
        if not self.state.data_ready(session.dataset, self.compute, ask=self.isVisible()):
            self.note.setText(self.state.missing_data_text(session.dataset))
            return
        model, dataset, data_dir = copy.deepcopy(session.model).eval(), session.dataset, session.data_dir
        method, n = self.method.currentData(), int(self.count.currentData())
        self._dataset = dataset

        def work(progress):
            def part(start: float, share: float):
                return lambda done, total: progress(start + share * done / total)

            feats = features(model, dataset, stage, n, data_dir, progress=part(0.0, 0.3 if method == "tsne" else 0.9))
            return feats, embed(feats, method, progress=part(0.3, 0.7))

        self.note.setText(f"Mapping {n:,} test images at {stage} by {self.method.currentText().split()[0]}…")
        job = workers.start(work, name="embedding", parent=self, failure="The map could not be made",
                            progress_interval_s=0.05)  # fmt: skip
        job.progressed.connect(lambda v: v is None or self.progress.setValue(int(100 * float(v))))
        job.returned.connect(lambda result, job=job: job is self._job and self._on_map(*result))
        job.failed.connect(lambda text, job=job: job is self._job and self.note.setText(text))
        job.cancelled.connect(lambda job=job: job is self._job and self.note.setText("Map cancelled."))
        job.finished.connect(lambda job=job: self._job_done(job))
        self._job = job
        self._set_running(True)

    def _job_done(self, job) -> None:
        if job is self._job:
            self._job = None
            self._set_running(False)

    def _on_map(self, feats, emb) -> None:
        from cnnviz.qt.widgets.embedding_plot import EmbeddingPlot

        if self.plot is None:
            self.plot = EmbeddingPlot()
            self.plot.hovered.connect(self._on_hover)
            self.plot.clicked.connect(self._on_click)
            self.body.insertWidget(0, self.plot, 1)
        self.features, self.embedding = feats, emb
        names = core().class_names(self._dataset)
        self.plot.set_map(emb.points, feats.labels, feats.misclassified, names)
        self.plot.show_mistakes(self.mistakes.isChecked())
        wrong = int(feats.misclassified.sum())
        self.note.setText(
            f"{len(feats.indices):,} test images at {feats.stage} by {emb.method.upper() if emb.method == 'pca' else 't-SNE'}"
            f" ({wrong} misclassified). The star is your drawing; hover a dot to see it, click to draw it."
        )
        if self.state.session is not None:
            self._on_result(self.state.session.result)

    # -- the drawing -------------------------------------------------------------------------------
    def _on_result(self, result) -> None:
        emb, feats = self.embedding, self.features
        if emb is None or feats is None or self.plot is None or self.while_hidden.skip():
            return
        acts = getattr(result, "activations", None)
        values = None if acts is None else acts.get(feats.stage)
        if values is None or np.size(values) != emb.mean.shape[0]:
            self.drawing_point = None
            self._star(None)
            return
        flat = np.asarray(values, np.float32).reshape(-1)
        if emb.tsne is None:
            self._on_placed(self._placed, emb.place(flat))
        else:
            self._placed += 1
            self.placer.submit(self._placed, lambda _progress, emb=emb: emb.place(flat))

    def _on_placed(self, tag, point) -> None:
        if tag == self._placed and self.plot is not None:
            self.drawing_point = point = np.asarray(point, np.float32)
            self._star(point)

    def _star(self, point) -> None:
        """The drawing's star on the map: after the stroke's answer, one panel's display at a time."""
        show_paced(self.state, "embedding", lambda: self.plot is not None and self.plot.set_drawing(point))

    # -- hover and click ---------------------------------------------------------------------------
    def _on_hover(self, row: int) -> None:
        if row < 0 or self.features is None:
            return
        index, label = int(self.features.indices[row]), int(self.features.labels[row])
        predicted = int(self.features.predictions[row])
        pixels, _ = core().load_test_images(self._dataset, [index], self.state.session.data_dir)
        names = core().class_names(self._dataset)
        caption = names[label] if predicted == label else f"{names[label]} → {names[predicted]}"
        self.hover.set_picture(pixels[0], None, caption, f"Test image #{index:,}: true {names[label]}, "
                               f"the network says {names[predicted]}")  # fmt: skip

    def _on_click(self, row: int) -> None:
        if self.features is not None and 0 <= row < len(self.features.indices):
            self.testImageRequested.emit(int(self.features.indices[row]), self._dataset)

    def stop(self) -> None:
        """The window closes: cancel the map's job and wait for its thread."""
        self.cancel_job()
        for job in self._cancelled:
            job.wait(10.0)
        self._cancelled.clear()

    def cancel_job(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._cancelled = [j for j in self._cancelled if j.is_running()] + [self._job]  # joined at close
        self._job = None
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel.setVisible(running)
        self.map_button.setEnabled(not running)
        if running:
            self.progress.setValue(0)
