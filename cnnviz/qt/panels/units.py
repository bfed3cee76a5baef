"""What has this unit learned? (``unitsPanel``): a channel's nine strongest test images and the picture it likes most.

The stage and channel follow the unit picked anywhere (a click on a feature map:
``AppState.unitSelected``) or the panel's own choosers. The ranking is one pass
of the whole test set through a copy of the network (``cnnviz.core.learned.topk``,
a background job with progress and Cancel), cached by the weights' SHA-256, so
another channel of the same stage, or the same network tomorrow, answers at once.
The maximised picture refines live beside it (a generator job). New weights
(a file, a finished run, a kernel edit) make both stale; during a training run
they wait for its end. A click on a picture puts it on the canvas.
"""

from __future__ import annotations

import copy

from PySide6.QtCore import QTimer, Signal
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
from cnnviz.qt.widgets.combos import narrow
from cnnviz.qt.widgets.picture_tile import PictureTile
from cnnviz.qt.widgets.visibility import SkipWhileHidden

K = 9
WEIGHTS_SETTLE_MS = 400  # kernel edits arrive as a drag: rank again once they pause


def _heading(text: str, tip: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)  # presentation mode's large type must not widen the panel past the answer
    label.setToolTip(tip)
    return label


class UnitsPanel(QWidget):
    """See the module docstring.

    Signals
    -------
    testImageRequested(int, str)  a top image was clicked: its test-set index and dataset
    """

    testImageRequested = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unitsPanel")
        self.setAccessibleName("What has this unit learned?")
        self.state = None
        self.top = None  # the StageTop on screen
        self._asked_for_data: set[str] = set()  # datasets the user was offered already (ranking starts by itself)
        self.picture = None  # the newest maximised Picture
        self._model = None  # the copy the ranking and the picture ran on
        self._dataset = "mnist"
        self._job = self._max_job = None
        self._cancelled: list = []  # jobs told to stop that may still run: the window's close waits for them
        self._wanted: tuple[str, int] | None = None
        self.stage = narrow(QComboBox(objectName="unitsStage"))
        self.stage.setAccessibleName("Stage")
        self.stage.setToolTip("The layer whose channels are ranked (a click on a feature map picks it too)")
        self.channel = QSpinBox(objectName="unitsChannel")
        self.channel.setAccessibleName("Channel")
        self.channel.setToolTip("The channel (a feature map, or one unit of a vector layer)")
        self.progress = QProgressBar(objectName="unitsProgress")
        self.progress.setMinimumWidth(40)
        self.progress.setAccessibleName("Test-set pass")
        self.progress.setRange(0, 100)
        self.progress.setToolTip("The 10,000 test images through the network, once per network and weights")
        self.cancel = QPushButton("Cancel", objectName="unitsCancel")
        self.cancel.setToolTip("Stop ranking the test images")
        self.cancel.clicked.connect(self.cancel_jobs)
        self.note = QLabel("", objectName="unitsNote")
        self.note.setWordWrap(True)
        self.tiles = [PictureTile(f"unitsTop{i}") for i in range(K)]
        for i, tile in enumerate(self.tiles):
            tile.clicked.connect(lambda i=i: self._on_tile(i))
        self.best = PictureTile("unitsMaximised", min_side=96)
        self.best.setToolTip("The picture this channel likes most: gradient ascent on the input, refining live")
        self.best.clicked.connect(self._put_picture)
        self.put = QPushButton("&Put on canvas", objectName="unitsPutPicture")
        self.put.setToolTip("Feed the maximised picture to the network as if drawn")
        self.put.clicked.connect(self._put_picture)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("&Stage", buddy=self.stage))
        controls.addWidget(self.stage, 1)
        controls.addWidget(QLabel("C&hannel", buddy=self.channel))
        controls.addWidget(self.channel)
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.cancel)
        grid = QGridLayout()
        grid.setSpacing(4)
        for i, tile in enumerate(self.tiles):
            grid.addWidget(tile, i // 3, i % 3)
        right = QVBoxLayout()
        right.addWidget(_heading("<b>The picture it likes most</b>", "Gradient ascent on the input, refining live"))
        right.addWidget(self.best, 1)
        right.addWidget(self.put)
        body = QHBoxLayout()
        top_box = QVBoxLayout()
        top_box.addWidget(
            _heading(
                "<b>Its 9 strongest test images</b> (the spot that fired outlined)",
                "Of the whole test set; value: the channel's largest activation on the image",
            )
        )
        top_box.addLayout(grid, 1)
        body.addLayout(top_box, 3)
        body.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(controls)
        layout.addLayout(body, 1)
        layout.addWidget(self.note)
        self.while_hidden = SkipWhileHidden(self, self.refresh)
        self._settle = QTimer(self, singleShot=True, interval=WEIGHTS_SETTLE_MS)
        self._settle.timeout.connect(self._on_weights_settled)
        self.stage.currentIndexChanged.connect(self._on_choice)
        self.channel.valueChanged.connect(self._on_choice)
        self._set_running(False)

    # -- following the state -------------------------------------------------------------------
    def follow(self, state) -> None:
        self.state = state
        state.networkChanged.connect(self._on_network)
        state.weightsChanged.connect(self._on_weights)
        state.unitSelected.connect(self._on_unit_selected)
        state.closing.connect(self.stop)

    def _on_network(self) -> None:
        session = self.state.session
        keep = self.stage.currentText()
        self.stage.blockSignals(True)
        self.stage.clear()
        try:
            layers = [(row.name, row.output_shape) for row in session.description.layers if row.output_shape]
        except core().CnnvizError as exc:
            layers = []
            self.note.setText(str(exc))
        for name, shape in layers:
            if name != "input":
                self.stage.addItem(f"{name} ({shape[0]} channels)", (name, shape[0]))
        index = max(0, next((i for i in range(self.stage.count()) if self.stage.itemData(i)[0] == keep), 0))
        self.stage.setCurrentIndex(index)
        self.stage.blockSignals(False)
        self._forget()
        self._on_choice()

    def _on_weights(self) -> None:
        session = self.state.session
        if session is not None and not session.training:  # a run's live weights: ranked at its end
            self._settle.start()

    def _on_weights_settled(self) -> None:
        self._forget()
        self._on_choice()

    def _on_unit_selected(self, unit) -> None:
        if unit is None:
            return
        stage, channel = unit[0], unit[1]
        for i in range(self.stage.count()):
            if self.stage.itemData(i)[0] == stage:
                self.stage.setCurrentIndex(i)
                self.channel.setValue(int(channel))
                return

    def _forget(self) -> None:
        self.cancel_jobs()
        self.top, self._model, self.picture = None, None, None

    # -- computing -------------------------------------------------------------------------------
    def chosen(self) -> tuple[str, int] | None:
        data = self.stage.currentData()
        return None if data is None else (data[0], int(self.channel.value()))

    def _on_choice(self) -> None:
        data = self.stage.currentData()
        if data is not None:
            self.channel.blockSignals(True)
            self.channel.setRange(0, data[1] - 1)
            self.channel.blockSignals(False)
        if self.while_hidden.skip():
            return
        self.refresh()

    def refresh_if_stale(self) -> None:
        self.while_hidden.catch_up()

    def refresh(self) -> None:
        """Show the chosen channel: rank its stage first if needed, then refine its picture."""
        session = self.state.session if self.state is not None else None
        wanted = self.chosen()
        if session is None or wanted is None:
            return
        stage, channel = wanted
        if session.training:  # live weights: ranked, and their picture made, once the run ends
            self.note.setText("A training run is changing the weights: the units are shown again when it ends.")
            return
        if self._model is None:
            self._model, self._dataset = copy.deepcopy(session.model).eval(), session.dataset
        if self.top is None or self.top.stage != stage:
            self._start_ranking(session, stage)
        else:
            self._show_top()
        if self._wanted != wanted or self.picture is None:
            self._start_maximising(stage, channel)

    def _retry(self) -> None:
        self.top = None
        self.refresh()

    def _start_ranking(self, session, stage: str) -> None:
        from cnnviz.core.learned.topk import top_images

        if self._job is not None:
            self._job.cancel()
            self._cancelled.append(self._job)
        model, dataset, data_dir = self._model, self._dataset, session.data_dir
        if not self.state.data_ready(dataset, self._retry, ask=dataset not in self._asked_for_data):
            self._asked_for_data.add(dataset)  # it starts by itself: the question once, then the note
            self.note.setText(self.state.missing_data_text(dataset))
            return
        self.note.setText(f"Ranking the test images by each channel of {stage}…")
        for tile in self.tiles:
            tile.set_picture(None)

        def rank(progress):
            return top_images(model, dataset, stage, K, data_dir, progress=lambda done, total: progress(done / total))

        job = workers.start(rank, name="units-top", parent=self, failure="The test images could not be ranked",
                            progress_interval_s=0.05)  # fmt: skip
        job.progressed.connect(lambda v: v is None or self.progress.setValue(int(100 * float(v))))
        job.returned.connect(lambda top, job=job: job is self._job and self._on_ranked(top))
        job.failed.connect(lambda text, job=job: job is self._job and self.note.setText(text))
        job.cancelled.connect(lambda job=job: job is self._job and self.note.setText("Ranking cancelled."))
        job.finished.connect(lambda job=job: self._job_done(job))
        self._job = job
        self._set_running(True)

    def _job_done(self, job) -> None:
        if job is self._job:
            self._job = None
            self._set_running(False)

    def _on_ranked(self, top) -> None:
        self.top = top
        self._show_top()

    def _show_top(self) -> None:
        from cnnviz.core.learned.spots import spot_boxes

        wanted = self.chosen()
        if self.top is None or wanted is None or wanted[0] != self.top.stage or self.state.session is None:
            return
        channel = min(wanted[1], self.top.channels - 1)
        found = self.top.top(channel)
        session = self.state.session
        pixels, _ = core().load_test_images(self._dataset, [t["index"] for t in found], session.data_dir)
        boxes = spot_boxes(self._model, self.top.stage, channel, self.top.map_shape, [(t["y"], t["x"]) for t in found])
        names = core().class_names(self._dataset)
        for tile, t, image, box in zip(self.tiles, found, pixels, boxes, strict=False):
            tip = (f"Test image #{t['index']:,} ({names[t['label']]}): the channel's largest value {t['value']:.4g} "
                   f"at row {t['y']}, column {t['x']}. Click to put it on the canvas.")  # fmt: skip
            tile.set_picture(image, box, f"{names[t['label']]} · {t['value']:.3g}", tip)
        self.note.setText(
            f"{self.top.stage} channel {channel}: its strongest images of the whole test set "
            "(value: the channel's largest activation on the image). Click one to put it on the canvas."
        )

    def _start_maximising(self, stage: str, channel: int) -> None:
        from cnnviz.core.learned.maximise import maximise

        if self._max_job is not None:
            self._max_job.cancel()
            self._cancelled.append(self._max_job)
        self._wanted, self.picture = (stage, channel), None
        model = self._model

        def refine(_progress):
            last = None
            for last in maximise(model, stage, channel):
                yield last
            return last

        job = workers.start(refine, name="units-maximise", parent=self, failure="The picture could not be made",
                            torch_threads=1)  # fmt: skip
        job.progressed.connect(lambda p, job=job: job is self._max_job and self._on_picture(p))
        job.failed.connect(lambda text, job=job: job is self._max_job and self.best.set_picture(None, None, text))
        job.finished.connect(lambda job=job: job is self._max_job and setattr(self, "_max_job", None))
        self._max_job = job

    def _on_picture(self, picture) -> None:
        if picture is None:
            return
        self.picture = picture
        state = "" if picture.done else f" · {picture.step}/{picture.steps}"  # short: a projector's narrow column
        self.best.set_picture(picture.image, None, f"value {picture.value:.4g}{state}",
                              "Gradient ascent from a grey start; click or Put on canvas to feed it to the network")  # fmt: skip

    def stop(self) -> None:
        """The window closes: cancel both jobs and wait for their threads (a test set's batch, 16 steps)."""
        self._settle.stop()
        self.cancel_jobs()
        for job in self._cancelled:
            job.wait(10.0)
        self._cancelled.clear()

    def cancel_jobs(self) -> None:
        for job in (self._job, self._max_job):
            if job is not None:
                job.cancel()
                self._cancelled = [j for j in self._cancelled if j.is_running()] + [job]  # joined at close
        self._job = self._max_job = None
        self._wanted = None
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel.setVisible(running)
        if running:
            self.progress.setValue(0)

    # -- picks -------------------------------------------------------------------------------------
    def _on_tile(self, i: int) -> None:
        if self.top is None:
            return
        wanted = self.chosen()
        found = self.top.top(min(wanted[1], self.top.channels - 1)) if wanted else []
        if i < len(found):
            self.testImageRequested.emit(found[i]["index"], self._dataset)

    def _put_picture(self) -> None:
        if self.picture is not None and self.state is not None:
            self.state.offer_picture(self.picture.image)  # the window puts it on the canvas
