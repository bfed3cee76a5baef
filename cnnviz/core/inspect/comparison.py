"""Six networks side by side: every zoo network with its shipped weights reads one input.

``ZooComparison(dataset)`` loads each shipped weights file once (CPU, eval
mode) and answers ``predict(image)`` with one plain dict per network, so a
view or a script can show how LeNet-5 (1998) and a ResNet read the same
drawing. It holds its own models, never the session's: a worker thread may
run it while the GUI thread runs the current network. ``pause``, if given, is
called before each network and before each of its stages: a worker passes a
function that waits while the app answers a stroke, so the six networks yield
the cores (and the GIL) to the drawing between stages, not after a whole round.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.activations import predict
from cnnviz.core.models.registry import build_model, get_spec, list_models
from cnnviz.core.resources import pretrained_path
from cnnviz.core.weights.checkpoint import load_checkpoint


def zoo_names() -> list[str]:
    """The zoo's networks in registry order (a user's own ``.py`` networks are not part of it)."""
    return [spec.name for spec in list_models() if spec.source_path is None]


class ZooComparison:
    """The zoo's networks with their shipped weights for one dataset.

    Parameters
    ----------
    dataset
        "mnist" or "fashion-mnist": which shipped weights to load.
    names
        Which networks, in order (default: the whole zoo).

    Notes
    -----
    Weights are read lazily, once per network, on the first ``predict``: build
    it in the thread that will use it. A network without a shipped file (or
    with an unreadable one) runs with random weights, and its answer says so
    (``trained`` False, ``note``), rather than vanishing from the row.
    """

    def __init__(self, dataset: str, names: list[str] | None = None, pause=None) -> None:
        self.dataset = dataset
        self.names = list(names) if names is not None else zoo_names()
        self.pause = pause  # called between stages (see the module docstring); None: never pause
        self._models: dict[str, tuple[nn.Module, bool, str]] = {}

    def _model(self, name: str) -> tuple[nn.Module, bool, str]:
        if name not in self._models:
            path = pretrained_path(name, self.dataset)
            try:
                model, _meta = load_checkpoint(path, name)
                entry = (model.eval().cpu(), True, "")
            except CnnvizError:
                entry = (build_model(name).eval(), False, f"no shipped weights for {self.dataset}: random weights")
            for stage in entry[0].children():  # the models are this object's own: the hooks touch no one else's
                stage.register_forward_pre_hook(self._between_stages)
            self._models[name] = entry
        return self._models[name]

    def _between_stages(self, _module, _inputs) -> None:
        if self.pause is not None:
            self.pause()

    def predict(self, image: np.ndarray, known: dict[str, np.ndarray] | None = None) -> list[dict]:
        """Every network's answer for one 28x28 image in [0, 1].

        ``known`` maps a network's name to probabilities already computed for this image with
        its shipped weights (the app's current network): that network is not run again.

        Returns
        -------
        list of dict, one per network in ``names`` order, with ``name``,
        ``display_name``, ``probabilities`` (float32, 10), ``top`` (int),
        ``confidence`` (float), ``trained`` (bool: shipped weights) and ``note``.
        """
        image = np.asarray(image, dtype=np.float32)
        if image.shape != (28, 28):
            raise CnnvizError(f"Expected a 28x28 image, got shape {image.shape}.")
        answers = []
        for name in self.names:
            if known is not None and name in known:
                probs, trained, note = np.asarray(known[name], dtype=np.float32), True, ""
            else:
                model, trained, note = self._model(name)
                if self.pause is not None:
                    self.pause()
                probs = np.asarray(predict(model, image), dtype=np.float32)
            top = int(np.argmax(probs))
            answers.append({
                "name": name,
                "display_name": get_spec(name).display_name,
                "probabilities": probs,
                "top": top,
                "confidence": float(probs[top]),
                "trained": trained,
                "note": note,
            })  # fmt: skip
        return answers
