"""Why this class? (``attributionOverlay``): a heat map over the drawing and the model input.

The panel picks a method, a class and (for Grad-CAM) a stage; the maps come
from the core (``ModelSession.attribution``, captum underneath) as numpy and
go out through the state (``AppState.show_heat``), which the canvas and the
input preview follow. The live methods (Saliency, Grad-CAM, Guided Backprop)
take 1-10 ms for the zoo's networks; they follow the drawing after the
prediction and the maps are painted (``AppState.resultExplainable``: at most
~30 times a second, the newest drawing) in a ``NewestWins`` job on a copy of the
network (made once per network and weights), so a stroke never waits for them:
on the GUI thread they added a few ms to every third stroke or so (the stroke's
p95, ``cnnviz bench --app``).
Integrated Gradients and Occlusion take 0.1-2 s: they run on request as a
``NewestWins`` background job on a copy of the model, with progress and Cancel.
Off, the panel does nothing at all for a stroke.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.qt.state.display_pacer import show_paced
from cnnviz.qt.state.newest import NewestWins

LIVE = {"saliency": "Saliency", "gradcam": "Grad-CAM", "guided": "Guided Backprop"}
ON_REQUEST = {"ig": "Integrated Gradients", "occlusion": "Occlusion"}
METHOD_TIPS = {
    "saliency": "How much each pixel's change would change the class score (|gradient|)",
    "gradcam": "Where a stage's feature maps hold evidence for the class (Grad-CAM, coarse)",
    "guided": "The gradient with only positive signals passed back through each ReLU: sharp strokes",
    "ig": "Each pixel's share of the score, from a black image to yours (slow: on request)",
    "occlusion": "How much the score drops when a 4×4 square is blacked out (slow: on request)",
}


class AttributionPanel(QWidget):
    """Controls for the heat-map overlay; see the module docstring.

    ``result`` is the ``AttributionResult`` on screen (None: no heat shown).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attributionOverlay")
        self.setAccessibleName("Why this class?")
        self.state = None
        self.result = None
        self._request = 0  # tag of the newest background request
        self._stages_known = False  # the stage list costs a forward pass: filled once the overlay is on
        self.enabled = QCheckBox("&Show heat map on the drawing")
        self.enabled.setObjectName("attributionEnabled")
        self.enabled.setAccessibleName("Show heat map")
        self.enabled.setToolTip("Colour the drawing and the model input by how much each pixel speaks for the class")
        self.method = self._combo("attributionMethod", "Method", "How the heat map is computed")
        for key, name in LIVE.items():
            self.method.addItem(f"{name} (live)", key)
        for key, name in ON_REQUEST.items():
            self.method.addItem(f"{name} (on request)", key)
        for i in range(self.method.count()):
            self.method.setItemData(i, METHOD_TIPS[self.method.itemData(i)], Qt.ItemDataRole.ToolTipRole)
        self.target = self._combo("attributionTarget", "Class to explain",
                                  "The class whose evidence is shown; click a bar in the Prediction panel to pick one")  # fmt: skip
        self.stage = self._combo("attributionStage", "Grad-CAM stage",
                                 "The stage whose feature maps Grad-CAM weighs (deeper: more about the class, coarser)")  # fmt: skip
        self.compute = QPushButton("&Compute")
        self.compute.setObjectName("attributionCompute")
        self.compute.setAccessibleName("Compute the heat map")
        self.compute.setToolTip("Compute the slow method for the current drawing in the background")
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("attributionCancel")
        self.cancel.setAccessibleName("Cancel the computation")
        self.cancel.setToolTip("Stop the background computation")
        self.progress = QProgressBar()
        self.progress.setObjectName("attributionProgress")
        self.progress.setAccessibleName("Computation progress")
        self.progress.setRange(0, 100)
        self.note = QLabel("Turn the heat map on to see which pixels make the network choose its class.")
        self.note.setObjectName("attributionNote")
        self.note.setAccessibleName("What the heat map shows")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)

        form = QFormLayout()
        form.addRow(self.enabled)
        form.addRow("&Method", self.method)
        form.addRow("C&lass", self.target)
        form.addRow("St&age", self.stage)  # Alt+T is the Training menu
        row = QHBoxLayout()
        row.addWidget(self.compute)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.note)
        layout.addStretch(1)

        self.live_runner = NewestWins("attribution-live", self, failure="Could not compute the map")
        self.live_runner.finished.connect(self._on_live_result)
        self.live_runner.failed.connect(self._on_live_failed)
        self._live_request = 0
        self._model_copy = None  # the network with the weights on screen, for the live jobs; None: make anew
        self.runner = NewestWins("attribution", self, failure="Could not compute the map")
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_background_result)
        self.runner.failed.connect(self._on_background_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.enabled.toggled.connect(self._on_settings)
        self.method.currentIndexChanged.connect(self._on_settings)
        self.target.currentIndexChanged.connect(self._on_settings)
        self.stage.currentIndexChanged.connect(self._on_settings)
        self.compute.clicked.connect(self.start_background)
        self.cancel.clicked.connect(self.runner.cancel)
        self._set_running(False)
        self._update_controls()

    def _combo(self, name: str, accessible: str, tip: str) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setAccessibleName(accessible)
        combo.setToolTip(tip)
        return combo

    # -- following the state -------------------------------------------------------------
    def follow(self, state) -> None:
        """Subscribe to the app's state: the network (classes, stages), each result, picked classes, closing."""
        self.state = state
        state.networkChanged.connect(self._on_network)
        state.resultExplainable.connect(self._on_result)  # after the answer is painted: never in a stroke's way
        state.classPicked.connect(self.pick_class)
        state.weightsChanged.connect(self._forget_copy)
        state.closing.connect(self.runner.stop)
        state.closing.connect(self.live_runner.stop)

    def _forget_copy(self) -> None:
        self._model_copy = None

    def busy(self) -> bool:
        """True while a map for the newest drawing is still being computed."""
        return self.runner.busy() or self.live_runner.busy()

    def _on_network(self) -> None:
        session = self.state.session
        self._model_copy = None
        keep_target = self.target.currentData()
        for combo in (self.target, self.stage):
            combo.blockSignals(True)
            combo.clear()
        self.target.addItem("The predicted class", None)
        for k, name in enumerate(session.class_names):
            self.target.addItem(f"{k}: {name}" if name != str(k) else name, k)
        self.target.setCurrentIndex(max(0, self.target.findData(keep_target)))
        described = session.description if self.enabled.isChecked() else None
        stages, default = (described.attribution_stages, described.grad_cam_stage) if described else ((), None)
        self._stages_known = self.enabled.isChecked()
        self.stage.addItem(f"Last convolutional stage ({default})" if default else "Last convolutional stage", None)
        for name in stages:
            self.stage.addItem(name, name)
        for combo in (self.target, self.stage):
            combo.blockSignals(False)
        self.runner.cancel()

    def pick_class(self, index: int) -> None:
        """Explain class ``index`` (the student clicked its bar)."""
        self.target.setCurrentIndex(max(0, self.target.findData(int(index))))

    def _on_settings(self) -> None:
        if self.state is None or self.state.session is None:
            self._update_controls()
            return
        if self.enabled.isChecked() and not self._stages_known:
            self._on_network()  # the stage list costs one forward pass: only once the overlay is wanted
        self._update_controls()
        self.runner.cancel()
        if not self.enabled.isChecked():
            self._show(None, note="Turn the heat map on to see which pixels make the network choose its class.")
        elif self.live():
            self._on_result(self.state.session.result)
        else:
            self.start_background()

    def live(self) -> bool:
        return self.method.currentData() in LIVE

    def _update_controls(self) -> None:
        on = self.enabled.isChecked()
        for widget in (self.method, self.target):
            widget.setEnabled(on)
        self.stage.setEnabled(on and self.method.currentData() == "gradcam")
        self.compute.setVisible(not self.live())
        self.progress.setVisible(not self.live())
        self.cancel.setVisible(not self.live())
        self.compute.setEnabled(on and not self.runner.busy())

    # -- computing -----------------------------------------------------------------------
    def _on_result(self, result) -> None:
        if not self.enabled.isChecked():
            return  # off: a stroke costs nothing here
        if result.image is None or result.probabilities is None:
            self._show(None, note="Draw a digit to see why the network chooses its class.")
            return
        if not self.live():  # a slow method's map belongs to the old drawing: ask again
            self.runner.cancel()
            self._show(None, note="The drawing changed: press Compute for a new map.")
            return
        session = self.state.session
        target = self.target.currentData()
        target = result.predicted if target is None else target  # known already: saves attribute() a forward pass
        try:
            if self._model_copy is None:
                self._model_copy = session.model_copy()
            task = session.attribution_task(self.method.currentData(), target, self.stage.currentData(),
                                            model=self._model_copy, pictures=True)  # fmt: skip
        except BaseException as exc:  # a user's network that cannot be copied, SystemExit too: one sentence
            self._on_live_failed(self._live_request, self._sentence(exc))
            return
        self._live_request += 1
        request, wait_for_drawing = self._live_request, self.state.wait_for_drawing
        run_in_background = self.state.run_in_background

        def job(_progress):
            from cnnviz.core.errors import CnnvizError

            wait_for_drawing()  # a stroke being answered first: it keeps the GIL
            try:
                # Computed and coloured in the explanations' child: off the GIL a stroke needs.
                answer = run_in_background(task)
            except CnnvizError:
                raise
            except BaseException as exc:  # a user's network, SystemExit too: one sentence
                raise CnnvizError(self._sentence(exc)) from None
            return (None, None) if answer is None else answer

        self.live_runner.submit(request, job)

    def _sentence(self, exc: BaseException) -> str:
        from cnnviz.core.errors import CnnvizError

        if isinstance(exc, CnnvizError):
            return str(exc)
        return (
            f"{self.method.currentText().split(' (')[0]} does not work on this network ({type(exc).__name__}: {exc})."
        )

    def _on_live_result(self, tag: int, answer_and_pictures) -> None:
        if tag == self._live_request:  # after the stroke's answer, one panel's display at a time
            show_paced(self.state, "heat", lambda: self._show_live(tag, *answer_and_pictures))

    def _on_live_failed(self, tag: int, text: str) -> None:
        if tag == self._live_request:
            show_paced(self.state, "heat", lambda: self._show_live(tag, None, note=text))

    def _show_live(self, tag: int, answer, pictures=None, note: str = "") -> None:
        if tag == self._live_request and self.enabled.isChecked() and self.live():
            self._show(answer, pictures, note)

    def start_background(self) -> None:
        """Compute the selected slow method for the current input in the background (replacing any running one)."""
        session = None if self.state is None else self.state.session
        if session is None or not self.enabled.isChecked() or session.result.image is None:
            return
        self._request += 1
        task = session.attribution_task(self.method.currentData(), self.target.currentData(), self.stage.currentData())
        self._show(None, note=f"Computing {self.method.currentText().split(' (')[0]}…")
        self.progress.setValue(0)
        self._set_running(True)
        self.runner.submit(self._request, task, cancel_running=True)

    def _on_progress(self, tag: int, fraction: float) -> None:
        if tag == self._request:
            self.progress.setValue(int(round(100 * fraction)))

    def _on_background_result(self, tag: int, answer) -> None:
        if tag != self._request:
            return
        self._set_running(False)
        if self.enabled.isChecked() and not self.live() and answer is not None:
            self.progress.setValue(100)
            self._show(answer)

    def _on_background_failed(self, tag: int, text: str) -> None:
        if tag == self._request:
            self._set_running(False)
            self._show(None, note=text)

    def _on_cancelled(self, tag: int) -> None:
        if tag == self._request:
            self._set_running(False)
            self.progress.setValue(0)
            if not self.live() and self.enabled.isChecked():
                self.note.setText("Cancelled. Press Compute to start again.")

    def _set_running(self, running: bool) -> None:
        self.cancel.setEnabled(running)
        self.compute.setEnabled(self.enabled.isChecked() and not running)

    # -- showing -------------------------------------------------------------------------
    def _show(self, answer, pictures=None, note: str = "") -> None:
        """Send the heat pictures of ``answer`` (None: clear them; ``pictures``: coloured already) through the
        state, and say what they show."""
        self.result = answer
        if self.state is not None:
            if answer is None:
                self.state.show_heat(None, None)
            else:
                self.state.show_heat(*(pictures or self._pictures(answer.map, self.state.session.result.transform)))
        if answer is not None:
            note = self._describe(answer)
        if note != self.note.text():  # a new text lays the dock out again
            self.note.setText(note)

    @staticmethod
    def _pictures(values: np.ndarray, transform) -> tuple[np.ndarray, np.ndarray]:
        from cnnviz.core.inspect.heat_pictures import heat_pictures  # numpy only

        return heat_pictures(values, transform)

    def _describe(self, answer) -> str:
        names = self.state.session.class_names
        name = names[answer.target] if answer.target < len(names) else str(answer.target)
        chosen = "the prediction" if self.target.currentData() is None else "your pick"
        method = {**LIVE, **ON_REQUEST}[answer.method]
        where = f" at stage {answer.stage}" if answer.stage else ""
        signed = answer.method in ("guided", "ig", "occlusion")
        colours = ("red: pixels that speak for it, blue: against it" if signed
                   else "brighter and more opaque: stronger evidence")  # fmt: skip
        text = f"{method} for class {name} ({chosen}){where}; {colours}."
        return f"{text} {answer.note}".strip()
