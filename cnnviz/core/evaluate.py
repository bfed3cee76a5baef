"""Test-set evaluation: accuracy, per-class accuracy, confusion matrix, mistakes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.core.data import load_split, to_float


@dataclass
class EvalResult:
    accuracy: float
    per_class_accuracy: np.ndarray  # (10,)
    confusion: np.ndarray  # (10, 10) counts; rows = true class, columns = predicted
    misclassified: np.ndarray  # indices into the test split

    def as_dict(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "per_class_accuracy": self.per_class_accuracy.tolist(),
            "confusion": self.confusion.tolist(),
            "misclassified": self.misclassified.tolist(),
        }


@torch.no_grad()
def evaluate(model: nn.Module, dataset: str, data_dir=None, batch_size: int = 1000) -> EvalResult:
    """Evaluate ``model`` on the full test split of ``dataset`` on the model's device."""
    device = next(model.parameters()).device
    images, labels = load_split(dataset, False, data_dir, device)
    was_training = model.training
    model.eval()
    preds = torch.cat(
        [model(to_float(images[i : i + batch_size])).argmax(1) for i in range(0, len(images), batch_size)]
    )
    model.train(was_training)
    y, p = labels.cpu().numpy(), preds.cpu().numpy()
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y, p), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(1), 1)
    return EvalResult(
        accuracy=float((y == p).mean()),
        per_class_accuracy=per_class,
        confusion=confusion,
        misclassified=np.flatnonzero(y != p),
    )
