"""What the network made of the current drawing: torch-free, so the first answers (before torch loads) are one too."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DrawingResult:
    """What the network made of the current drawing (all numpy, for the views).

    ``image`` is the 28x28 model input (None: nothing drawn); ``transform``
    says how the drawing became it (None when an image is fed unchanged);
    ``error`` is one sentence when the model could not run.
    """

    image: np.ndarray | None
    probabilities: np.ndarray | None = None
    activations: OrderedDict | None = None
    transform: object | None = None
    true_label: int | None = None
    error: str | None = None
    note: str | None = None  # why there is no answer although something is drawn ("draw a bigger digit")

    @property
    def predicted(self) -> int | None:
        return None if self.probabilities is None else int(np.argmax(self.probabilities))
