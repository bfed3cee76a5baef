"""The drawing's answers while the network loads: LeNet-5's shipped weights, run in numpy.

``import torch`` takes 1.1-1.5 s on a 2-core machine, longer than the window takes to open. A student who draws
at once should see the answer at once, so until the torch network is there (``AppState.sessionReady``) a drawing
is answered by ``cnnviz.core.before_torch.lenet5_numpy``, the same weights file's forward (its probabilities equal
the torch model's to float32 rounding). Only the prediction panel and the model input show these answers; the
maps and every other panel follow the torch network, which then answers the newest drawing again.
Only for LeNet-5, the network the app opens with: any other waits for torch.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from cnnviz.core.before_torch.lenet5_numpy import MODEL, NumpyLeNet5
from cnnviz.core.data.catalog import DATASETS, class_names
from cnnviz.core.data.preprocess import prepare_drawing, too_small_note
from cnnviz.core.resources import pretrained_path
from cnnviz.core.session.result import DrawingResult


class FirstAnswers(QObject):
    """Answers drawings with LeNet-5 in numpy while the network being loaded is that LeNet-5.

    Signals
    -------
    answered(object, object)  a ``DrawingResult`` (probabilities, no activations) and the class names
    """

    answered = Signal(object, object)

    def __init__(self, state) -> None:
        super().__init__(state)
        self._path = None  # the weights file to answer with; None: nothing to answer with
        self._dataset = "mnist"
        self._network: NumpyLeNet5 | None = None
        self.count = 0  # drawings answered, for the benchmark and the tests
        state.loadFailed.connect(lambda _exc: self.expect(None, None))  # the window says why; no half-app

    def expect(self, model: str | None, dataset: str | None) -> bool:
        """The network now loading: its shipped weights answer drawings until it is there, if it is LeNet-5
        (then True)."""
        self._network = None
        known = model == MODEL and dataset in DATASETS
        self._path = pretrained_path(MODEL, dataset) if known else None
        self._dataset = dataset if known else "mnist"
        return known

    def answer(self, drawing: np.ndarray | None) -> None:
        """Answer one canvas drawing (white ink on black), if LeNet-5 is the network loading."""
        if drawing is None or self._path is None:
            return
        if self._network is None:
            try:
                self._network = NumpyLeNet5.from_file(self._path)
            except ValueError:  # missing or damaged: the torch loader words it; drawings wait for it
                self._path = None
                return
        prepared = prepare_drawing(drawing, ink_is_dark=False)
        if prepared is None:
            result = DrawingResult(None)
        elif note := too_small_note(prepared, self._dataset):
            result = DrawingResult(None, note=note)
        else:
            image = prepared.image
            result = DrawingResult(image, self._network.probabilities(image), transform=prepared.transform)
        self.count += 1
        self.answered.emit(result, class_names(self._dataset))
