"""Fool it (``foolIt``): an adversarial example of the current input, and whether it fools the other networks.

FGSM or PGD (``cnnviz.core.robust.attacks``, captum.robust) perturbs the 28x28
model input by at most epsilon per pixel, towards any wrong class or a chosen
one. The panel shows the input, the perturbed input, the perturbation (signed,
enlarged: red adds ink, blue removes it), the network's answer before and after,
and the six zoo networks' answers on the same perturbed picture (does an attack
on LeNet transfer to ResNet?). It follows the drawing after each answer is
painted, as a ``NewestWins`` job on a copy of the network: the newest input or
setting wins, a stroke never waits for it, and a hidden panel computes nothing.
"Put on canvas" hands the adversarial picture to the whole app (every panel
then explains it).
"""

from __future__ import annotations

import copy

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from cnnviz.qt.state.display_pacer import show_paced
from cnnviz.qt.state.newest import NewestWins
from cnnviz.qt.widgets.small_picture import SmallPicture
from cnnviz.qt.widgets.style import scaled_font

EPSILON_STEPS = 100  # the slider's steps: 0.00 to 0.50 in 0.005
EPSILON_MAX = 0.5
DEFAULT_EPSILON = 0.15
MIN_JOB_INTERVAL_S = 0.1  # at most ~10 attacks a second: the drawing keeps the cores (PGD is 20 passes)


class FoolItPanel(QWidget):
    """Adversarial examples, live; see the module docstring. ``answer`` is the newest job's result dict."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("foolIt")
        self.setAccessibleName("Fool it: adversarial examples")
        self.state = None
        self.answer: dict | None = None
        self._image: np.ndarray | None = None
        self._request = 0
        self._zoos: dict = {}  # dataset -> ZooComparisonProcess, touched only by the runner's jobs (one at a time)
        self._model = None  # the network on screen, copied once per network and weights for the attacks

        self.method = QComboBox()
        self.method.setObjectName("foolMethod")
        self.method.setAccessibleName("Attack method")
        self.method.addItem("FGSM: one step", "fgsm")
        self.method.addItem("PGD: 20 small steps", "pgd")
        self.method.setToolTip("FGSM moves every pixel by ε along the gradient's sign once (Goodfellow 2014);\n"
                               "PGD takes 20 smaller steps, staying within ε (Madry 2017): stronger, slower")  # fmt: skip
        self.epsilon = QSlider(Qt.Orientation.Horizontal)
        self.epsilon.setObjectName("foolEpsilon")
        self.epsilon.setAccessibleName("Epsilon")
        self.epsilon.setRange(0, EPSILON_STEPS)
        self.epsilon.setValue(round(DEFAULT_EPSILON / EPSILON_MAX * EPSILON_STEPS))
        self.epsilon.setToolTip("ε: how far each pixel may move, as a share of full ink (L∞)")
        self.epsilon_label = QLabel()
        self.epsilon_label.setMinimumWidth(40)
        self.target = QComboBox()
        self.target.setObjectName("foolTarget")
        self.target.setAccessibleName("Target class")
        self.target.setToolTip("Untargeted: any wrong answer will do. A class: push the answer towards it")
        self.put = QPushButton("P&ut on canvas")
        self.put.setObjectName("foolPutOnCanvas")
        self.put.setAccessibleName("Put the adversarial picture on the canvas")
        self.put.setToolTip("Send the adversarial picture to every panel, as if it had been drawn")
        self.put.setEnabled(False)

        self.original = SmallPicture("Input", "foolOriginal", "The model input, as the network sees it")
        self.adversarial = SmallPicture("Perturbed", "foolAdversarial", "The input plus the perturbation")
        self.perturbation = SmallPicture("Change (×1/ε)", "foolPerturbation",
                                         "Perturbation, enlarged to full colour: red adds ink, blue removes it")  # fmt: skip
        self.verdict = QLabel("Draw a digit, then try to fool the network.")
        self.verdict.setObjectName("foolVerdict")
        self.verdict.setAccessibleName("Before and after")
        self.verdict.setWordWrap(True)
        self.verdict.setFont(scaled_font(self.font(), 1.2, True))
        self.transfer = QLabel("")
        self.transfer.setObjectName("foolTransfer")
        self.transfer.setAccessibleName("Six networks on the perturbed picture")
        self.transfer.setToolTip("Each zoo network with its shipped weights reads the perturbed picture: "
                                 "does the attack on this network fool the others too?")  # fmt: skip
        self.transfer.setWordWrap(True)
        self.transfer.setTextFormat(Qt.TextFormat.RichText)

        form = QFormLayout()
        form.addRow("Attac&k", self.method)
        row = QHBoxLayout()
        row.addWidget(self.epsilon, 1)
        row.addWidget(self.epsilon_label)
        name = QLabel("E&psilon ε")
        name.setBuddy(self.epsilon)
        form.addRow(name, row)
        aim = QHBoxLayout()
        aim.addWidget(self.target, 1)
        aim.addWidget(self.put)  # beside the settings: in reach on a short screen, whatever scrolls below
        name = QLabel("Tar&get")
        name.setBuddy(self.target)
        form.addRow(name, aim)
        pictures = QGridLayout()
        for i, picture in enumerate((self.original, self.adversarial, self.perturbation)):
            pictures.addWidget(picture, 0, i)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        layout.addLayout(pictures, 1)
        layout.addWidget(self.verdict)
        layout.addWidget(self.transfer)

        self.runner = NewestWins("fool-it", self, MIN_JOB_INTERVAL_S, failure="Could not attack the network")
        self.runner.finished.connect(self._on_answer)
        self.runner.failed.connect(self._on_failed)
        self.method.currentIndexChanged.connect(self._on_settings)
        self.epsilon.valueChanged.connect(self._on_settings)
        self.target.currentIndexChanged.connect(self._on_settings)
        self.put.clicked.connect(self.put_on_canvas)
        self._show_epsilon()

    def epsilon_value(self) -> float:
        return self.epsilon.value() * EPSILON_MAX / EPSILON_STEPS

    def _show_epsilon(self) -> None:
        self.epsilon_label.setText(f"{self.epsilon_value():.3f}".rstrip("0").rstrip(".") or "0")

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:  # presentation mode: the headline grows with the rest
            self.verdict.setFont(scaled_font(self.font(), 1.2, True))

    # -- following the state -------------------------------------------------------------
    def follow(self, state) -> None:
        """Subscribe to the app's state: the network (its classes), each explained result, closing."""
        self.state = state
        state.networkChanged.connect(self._on_network)
        state.resultExplainable.connect(self._on_result)
        state.weightsChanged.connect(self._forget_copy)
        state.closing.connect(self.shutdown)

    def _forget_copy(self) -> None:
        self._model = None

    def shutdown(self) -> None:
        """The window is closing: stop the attack and end the six networks' child processes."""
        self.runner.stop()  # waits for the running job: no one uses the children any more
        for zoo in self._zoos.values():
            zoo.close()
        self._zoos.clear()

    def _on_network(self) -> None:
        self._model = None
        keep = self.target.currentData()
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItem("Any wrong class (untargeted)", None)
        for k, name in enumerate(self.state.session.class_names):
            self.target.addItem(f"{k}: {name}" if name != str(k) else name, k)
        self.target.setCurrentIndex(max(0, self.target.findData(keep)))
        self.target.blockSignals(False)
        self._submit()

    def _on_result(self, result) -> None:
        self._image = None if result.image is None or result.probabilities is None else result.image
        self._submit()

    def _on_settings(self) -> None:
        self._show_epsilon()
        self._submit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._submit()  # catch up with what was drawn while hidden

    # -- computing -----------------------------------------------------------------------
    def _submit(self) -> None:
        session = None if self.state is None else self.state.session
        if session is None or not self.isVisible():
            return
        if self._image is None:
            self.runner.cancel()
            self._show(None, "Draw a digit, then try to fool the network.")
            return
        self._request += 1
        if self._model is None:  # a copy per network and weights, not per stroke: the attack may run in any thread
            self._model = copy.deepcopy(session.model)
        image, model = np.array(self._image, np.float32), self._model
        method, epsilon, target = self.method.currentData(), self.epsilon_value(), self.target.currentData()
        dataset, zoos, pause = session.dataset, self._zoos, self.state.wait_for_drawing
        run_in_background = self.state.run_in_background

        def job(_progress):
            from cnnviz.core.inspect.background_process import ModelTask
            from cnnviz.core.inspect.comparison_process import ZooComparisonProcess
            from cnnviz.core.robust.attacks import attack

            pause()  # a stroke being answered first
            # In the explanations' child, off the GIL; here (until it is ready) it yields to strokes between steps.
            result = run_in_background(
                ModelTask(attack, model, (image, method, epsilon, target), here={"pause": pause})
            )
            if dataset not in zoos:  # the other networks answer in a child process: off the GIL a stroke needs
                zoos[dataset] = ZooComparisonProcess(dataset, pause=pause)
            return {"result": result, "zoo": zoos[dataset].predict(result.adversarial)}

        self.runner.submit(self._request, job)

    def _on_answer(self, tag: int, answer: dict) -> None:
        if tag == self._request:  # after the stroke's answer, one panel's display at a time
            show_paced(self.state, "fool", lambda: tag == self._request and self._show(answer))

    def _on_failed(self, tag: int, text: str) -> None:
        if tag == self._request:
            show_paced(self.state, "fool", lambda: tag == self._request and self._show(None, text))

    # -- showing -------------------------------------------------------------------------
    def _show(self, answer: dict | None, note: str = "") -> None:
        self.answer = answer
        self.put.setEnabled(answer is not None)
        if answer is None:
            for picture in (self.adversarial, self.perturbation):
                picture.set_gray(None)
            self.original.set_gray(self._image)
            self.verdict.setText(note)
            self.transfer.setText("")
            return
        from cnnviz.core.inspect.attribution import heat_colors  # numpy only; loaded by the job already

        result = answer["result"]
        self.original.set_gray(result.original)
        self.adversarial.set_gray(result.adversarial)
        change = result.perturbation / max(result.epsilon, 1e-9)
        # One extra value of 1 fixes the scale: full colour is a move of epsilon, whatever the largest move was.
        self.perturbation.set_rgb(heat_colors(np.append(change.ravel(), 1.0), True)[:-1].reshape(28, 28, 3))
        names = self.state.session.class_names
        before, after = result.original_class, result.adversarial_class
        p0, p1 = result.original_probabilities[before], result.adversarial_probabilities[after]
        outcome = "fooled" if result.succeeded else "not fooled"
        self.verdict.setText(f"{names[before]} ({100 * p0:.0f}%) → {names[after]} ({100 * p1:.0f}%): {outcome}")
        rows = []
        for other in answer["zoo"]:
            fooled = other["top"] != before
            mark = "<b style='color:#c62828'>fooled</b>" if fooled else "holds"
            rows.append(f"{other['display_name']}: {names[other['top']]} ({100 * other['confidence']:.0f}%) {mark}")
        self.transfer.setText("On the perturbed picture: " + " · ".join(rows))

    def put_on_canvas(self) -> None:
        """Send the adversarial picture to every panel (the window puts it on the canvas)."""
        if self.answer is not None and self.state is not None:
            self.state.offer_picture(self.answer["result"].adversarial)
