"""Test-set evaluation: accuracy, per-class accuracy, confusion matrix, mistakes.

``evaluate`` can also keep every image's class probabilities (for an error
gallery: which images of a (true, predicted) pair, most confident first) and
report progress to a callback that may cancel (for a background thread).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.core.data.datasets import load_split, to_float
from cnnviz.core.errors import CnnvizError


class EvaluationCancelled(CnnvizError):
    """The progress callback asked ``evaluate`` to stop."""


@dataclass
class EvalResult:
    accuracy: float
    per_class_accuracy: np.ndarray  # (10,)
    confusion: np.ndarray  # (10, 10) counts; rows = true class, columns = predicted
    misclassified: np.ndarray  # indices into the test split
    labels: np.ndarray | None = None  # (N,) true class of every test image
    predictions: np.ndarray | None = None  # (N,) predicted class of every test image
    probabilities: np.ndarray | None = None  # (N, 10) float32, only if asked for

    def as_dict(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "per_class_accuracy": self.per_class_accuracy.tolist(),
            "confusion": self.confusion.tolist(),
            "misclassified": self.misclassified.tolist(),
        }

    def confidence(self) -> np.ndarray:
        """Probability of the predicted class, per image (needs ``probabilities``)."""
        if self.probabilities is None:
            raise CnnvizError("This evaluation kept no per-image probabilities.")
        return self.probabilities[np.arange(len(self.probabilities)), self.predictions]

    def pair_indices(self, true: int, predicted: int) -> np.ndarray:
        """Test images of true class ``true`` predicted as ``predicted``, most confident first."""
        found = np.flatnonzero((self.labels == true) & (self.predictions == predicted))
        return found[np.argsort(-self.confidence()[found], kind="stable")]

    def confident_mistakes(self) -> np.ndarray:
        """Every misclassified test image, most confident first (across all classes)."""
        return self.misclassified[np.argsort(-self.confidence()[self.misclassified], kind="stable")]


Progress = Callable[[int, int], bool | None]  # (images done, images in all) -> False to cancel


CPU_BATCH = 250  # on the CPU, batches that fit the cache: 1.3-2x faster than 1000 for the zoo's larger networks


def for_cpu_inference(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in channels-last memory format, or ``model`` itself where none can be made.

    On the CPU (oneDNN) the zoo's networks score a test set 1.6-4.6x faster in channels-last
    (GoogLeNet 4.6x, ResNet 2.4x: ``cnnviz bench``, "channels-last"); a copy, because converting in place would
    change the layout of the caller's weights (safetensors saves contiguous tensors only).
    """
    try:
        return copy.deepcopy(model).to(memory_format=torch.channels_last)
    except Exception:  # noqa: BLE001 - a user's module that cannot be copied: evaluated as it is
        return model


@torch.no_grad()
def evaluate(
    model: nn.Module,
    dataset: str,
    data_dir=None,
    batch_size: int | None = None,
    *,
    probabilities: bool = False,
    progress: Progress | None = None,
) -> EvalResult:
    """Evaluate ``model`` on the full test split of ``dataset`` on the model's device.

    Parameters
    ----------
    probabilities
        Also keep every image's softmax probabilities (N x 10, float32) in the result.
    progress
        Called after each batch with (images done, images in all); returning
        False stops the evaluation with ``EvaluationCancelled``.
    """
    device = next(model.parameters()).device
    images, labels = load_split(dataset, False, data_dir, device)
    if device.type == "cpu":
        net = for_cpu_inference(model)
        batch_size = batch_size or CPU_BATCH
    else:
        net, batch_size = model, batch_size or 1000
    was_training = model.training
    net.eval()
    preds, probs = [], []
    try:
        for i in range(0, len(images), batch_size):
            scores = net(to_float(images[i : i + batch_size]))
            preds.append(scores.argmax(1))
            if probabilities:
                probs.append(torch.softmax(scores.float(), 1).cpu())
            if progress is not None and progress(min(i + batch_size, len(images)), len(images)) is False:
                raise EvaluationCancelled("The evaluation was cancelled.")
    finally:
        net.train(was_training)
    y, p = labels.cpu().numpy(), torch.cat(preds).cpu().numpy()
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y, p), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(1), 1)
    return EvalResult(
        accuracy=float((y == p).mean()),
        per_class_accuracy=per_class,
        confusion=confusion,
        misclassified=np.flatnonzero(y != p),
        labels=y,
        predictions=p,
        probabilities=torch.cat(probs).numpy().astype(np.float32, copy=False) if probabilities else None,
    )


def evaluate_copy(model: nn.Module, dataset: str, data_dir=None, device: str = "auto", **kwargs) -> EvalResult:
    """``evaluate`` a model the caller hands over for good (e.g. a ``copy.deepcopy``) on ``device``.

    The model is moved in place, so the app evaluates a copy taken in the GUI
    thread while the session's own model keeps answering drawings on the CPU.
    It runs with every CPU core: this is meant for its own worker thread.
    """
    from cnnviz.core.training.device import resolve_device, set_cpu_threads

    set_cpu_threads(None)
    return evaluate(model.to(resolve_device(device)), dataset, data_dir, **kwargs)


def count_test_images(dataset: str, data_dir=None) -> int:
    """How many images the test split of ``dataset`` has (reads it once)."""
    return len(load_split(dataset, False, data_dir)[1])


def load_test_images(dataset: str, indices, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """Test images by index: (k x 28 x 28 float32 in [0, 1], k labels), as the network gets them."""
    images, labels = load_split(dataset, False, data_dir)
    index = torch.as_tensor(np.asarray(indices, dtype=np.int64))
    return images[index].float().div(255).numpy(), labels[index].numpy()
