"""The app's current model, as the Qt side sees it: numpy in, numpy out.

A ``ModelSession`` owns an eval-mode copy of the model on the CPU (inference
for one drawing is fastest there and never competes with a GPU training run),
plus where its weights came from. The Qt code holds one and never touches torch.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnviz.core.checkpoint import build_metadata, load_checkpoint, read_metadata, save_checkpoint
from cnnviz.core.data import class_names, is_loaded, load_split
from cnnviz.core.errors import CheckpointError
from cnnviz.core.inspect import activations, c3_connection_table, first_conv_kernels, predict
from cnnviz.core.layers import LayerInfo, layer_table
from cnnviz.core.registry import ModelSpec, build_model, get_spec
from cnnviz.core.resources import pretrained_path


def snapshot_weights(model: nn.Module) -> dict:
    """A CPU copy of a (possibly training, possibly GPU) model's weights.

    Take it between batches in the training thread; hand it to
    ``ModelSession.load_snapshot`` in the GUI thread.
    """
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def pretrained_accuracy(model_name: str, dataset: str) -> float | None:
    """Test accuracy recorded in a shipped weights file, or None."""
    try:
        return read_metadata(pretrained_path(model_name, dataset)).get("test_accuracy")
    except CheckpointError:
        return None


class ModelSession:
    def __init__(self, model_name: str = "lenet5", dataset: str = "mnist") -> None:
        self.model_name = model_name
        self.dataset = dataset
        self.model: nn.Module = build_model(model_name).eval()
        self.metadata: dict = {}
        self.source = "untrained (random weights)"
        # What the weights are, for the app's logic: "untrained", "pretrained",
        # "file", "training" (live, mid-run) or "trained" (a finished run).
        self.source_kind = "untrained"

    # -- what the panels show -------------------------------------------------
    @property
    def spec(self) -> ModelSpec:
        return get_spec(self.model_name)

    @property
    def class_names(self) -> tuple[str, ...]:
        return class_names(self.dataset)

    @property
    def test_accuracy(self) -> float | None:
        return self.metadata.get("test_accuracy")

    def infer(self, image: np.ndarray) -> tuple[np.ndarray, OrderedDict[str, np.ndarray]]:
        """Probabilities and every layer's activations for one 28x28 image in [0, 1]."""
        return activations(self.model, image)

    def predict(self, image: np.ndarray) -> np.ndarray:
        return predict(self.model, image)

    def layer_table(self) -> list[LayerInfo]:
        return layer_table(self.model)

    def first_kernels(self) -> tuple[str, np.ndarray]:
        return first_conv_kernels(self.model)

    def c3_table(self) -> np.ndarray | None:
        return c3_connection_table(self.model)

    # -- where the weights come from -------------------------------------------
    def _adopt(self, model_name: str, dataset: str, model: nn.Module, metadata: dict, kind: str, source: str) -> None:
        self.model_name, self.dataset = model_name, dataset
        self.model, self.metadata = model.eval().cpu(), metadata
        self.source_kind, self.source = kind, source

    def state(self) -> tuple:
        """Which weights are shown and where they came from; ``restore`` puts them back."""
        return self.model_name, self.dataset, self.model, self.metadata, self.source_kind, self.source

    def restore(self, state: tuple) -> None:
        self._adopt(*state)

    def load_pretrained(self, model_name: str, dataset: str) -> bool:
        """Load the shipped weights; without a shipped file, use random weights and return False."""
        path = pretrained_path(model_name, dataset)
        if not path.exists():
            self._adopt(model_name, dataset, build_model(model_name), {}, "untrained", "untrained (no pretrained file)")
            return False
        model, meta = load_checkpoint(path, model_name)
        self._adopt(model_name, dataset, model, meta, "pretrained", f"pretrained {path.name}")
        return True

    def load_file(self, path: str | Path, model_name: str | None = None) -> None:
        """Load a user's weights file; on any problem raise ``CheckpointError`` and keep the current model.

        ``model_name`` (e.g. the model on screen) makes a file of another model
        an error; a legacy ``.pt`` file is always read as the current model.
        """
        legacy = Path(path).suffix in (".pt", ".pth")
        model, meta = load_checkpoint(path, self.model_name if legacy else model_name)
        dataset = meta.get("dataset", self.dataset)
        dataset = dataset if dataset in ("mnist", "fashion-mnist") else self.dataset
        self._adopt(meta["model"], dataset, model, meta, "file", f"file {Path(path).name}")

    def save(self, path: str | Path) -> Path:
        # Keep the provenance (accuracy, recipe, ...) and refresh model, dataset, versions and date.
        meta = {**self.metadata, **build_metadata(self.model_name, self.model, dataset=self.dataset)}
        return save_checkpoint(path, self.model, meta)

    def begin_training(
        self, model_name: str, dataset: str, from_current: bool, seed: int = 0
    ) -> tuple[nn.Module, str | None]:
        """Point the session at a run's model; return (the model to train, a note for the user or None).

        From scratch: fresh weights, repeatable with ``seed``. Continuing with
        another model than the current one: its pretrained weights, if shipped.
        The session keeps its own copy, kept current by ``load_snapshot``.
        """
        note = None
        if not from_current:
            model, start = build_model(model_name, seed=seed), "random weights"
        else:
            if model_name != self.model_name and not self.load_pretrained(model_name, dataset):
                note = f"No pretrained {get_spec(model_name).display_name} for {dataset}: training from random weights."
            model, start = self.model, self.source
        self._adopt(model_name, dataset, model, {}, "training", f"training from {start}")
        return self._copy_of_model(), note

    def _copy_of_model(self) -> nn.Module:
        """The model to train: a copy, so the GUI thread can read the session's own meanwhile."""
        model = build_model(self.model_name)
        model.load_state_dict(self.model.state_dict())
        return model

    def load_snapshot(self, snapshot: dict, source: str = "training (live)") -> None:
        """Show weights from a training run (a ``snapshot_weights`` result)."""
        with torch.no_grad():
            self.model.load_state_dict(snapshot)
        self.source_kind, self.source = "training", source

    def adopt_trained(self, model_name: str, dataset: str, model: nn.Module, metadata: dict) -> None:
        self._adopt(model_name, dataset, model, metadata, "trained", "trained in this session")

    def test_set_in_memory(self, data_dir=None) -> bool:
        """Whether ``random_test_image`` answers at once (False: it reads, maybe downloads, first)."""
        return is_loaded(self.dataset, False, data_dir)

    def random_test_image(self, data_dir=None, rng: np.random.Generator | None = None) -> tuple[np.ndarray, int]:
        """A random test image of the current dataset (28x28 float in [0, 1]) and its label."""
        images, labels = load_split(self.dataset, False, data_dir)
        i = int((rng or np.random.default_rng()).integers(len(images)))
        return images[i].float().div(255).numpy(), int(labels[i])
