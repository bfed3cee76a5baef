"""The map of the test set: one stage's features of N test images projected to 2-D.

PCA (numpy, instant) or t-SNE (openTSNE, which can also place a *new* point, the
drawing, into a finished map without moving the others). Features of a stage with
many values are first reduced to 50 dimensions by PCA before t-SNE (its usual
preparation, and 10x faster for a 3,136-value map).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from cnnviz.core.data.datasets import load_split
from cnnviz.core.errors import CnnvizError
from cnnviz.core.learned.stage_pass import Cancelled, Progress, batches, stage_outputs
from cnnviz.core.training.evaluate import for_cpu_inference

METHODS = ("pca", "tsne")
DEFAULT_POINTS = 2_000
PLACE_ITERATIONS = 100  # openTSNE's default is 250; a drawing's point settles well before
TSNE_DIMS = 50  # features are reduced to this many by PCA before t-SNE


def penultimate_stage(stage_names: tuple[str, ...] | list[str]) -> str:
    """The stage before the class scores (LeNet-5's F6, the modern LeNet's fc2, ResNet's avgpool)."""
    if len(stage_names) < 2:
        raise CnnvizError("The network has a single stage: there is no layer before its class scores to map.")
    return stage_names[-2]


def sample_indices(total: int, n: int, seed: int = 0) -> np.ndarray:
    """``n`` test-set positions (all of them if ``n >= total``), sorted; the same ones every time."""
    if n >= total:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, n, replace=False))


@dataclass
class Features:
    """Stage features (N x D float32) of test images, with their positions, labels and predictions."""

    stage: str
    indices: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    values: np.ndarray

    @property
    def misclassified(self) -> np.ndarray:
        return self.predictions != self.labels


def features(
    model: nn.Module, dataset: str, stage: str, n: int = DEFAULT_POINTS, data_dir=None, *,
    progress: Progress | None = None,
) -> Features:  # fmt: skip
    """The stage's output, flattened, for ``n`` test images (``sample_indices``), and each one's prediction."""
    images, labels = load_split(dataset, False, data_dir)
    chosen = sample_indices(len(images), n)
    net = for_cpu_inference(model).eval()
    parts, preds = [], []
    for _start, batch in batches(images[torch.as_tensor(chosen)], progress):
        parts.append(stage_outputs(net, stage, batch).reshape(len(batch), -1).numpy())
        with torch.no_grad():
            try:
                preds.append(net(batch).argmax(1).numpy())
            except BaseException as exc:  # a user's network: one sentence
                raise CnnvizError(f"The network failed on the test images ({type(exc).__name__}: {exc}).") from exc
    values = np.concatenate(parts).astype(np.float32)
    return Features(stage, chosen, labels.numpy()[chosen], np.concatenate(preds), values)


@dataclass
class Embedding:
    """A 2-D map of ``Features``; ``place`` puts new features (a drawing's) into it."""

    method: str
    points: np.ndarray  # N x 2
    mean: np.ndarray
    components: np.ndarray  # PCA's axes (k x D): the whole map for PCA, t-SNE's preparation
    tsne: Any = field(default=None, repr=False)  # openTSNE's TSNEEmbedding

    def place(self, values: np.ndarray) -> np.ndarray:
        """The 2-D point(s) of feature vector(s) (D,) or (M x D) in this map, without moving the others."""
        flat = np.asarray(values, dtype=np.float32).reshape(-1, self.mean.shape[0])
        reduced = (flat - self.mean) @ self.components.T
        if self.tsne is None:
            placed = reduced
        else:
            # Each new point is optimised against the fixed map (its neighbours' median to start).
            placed = np.asarray(self.tsne.transform(reduced.astype(np.float64), n_iter=PLACE_ITERATIONS))
        return placed[0] if np.ndim(values) == 1 else placed


def pca(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and the top ``k`` principal axes (k x D), from numpy's SVD."""
    mean = values.mean(0)
    _u, _s, vt = np.linalg.svd(values - mean, full_matrices=False)
    return mean, vt[:k]


def embed(feats: Features, method: str = "pca", *, seed: int = 0, progress: Progress | None = None) -> Embedding:
    """Project ``feats`` to 2-D with ``method`` ("pca" or "tsne"); t-SNE reports progress per 50 iterations."""
    if method not in METHODS:
        raise CnnvizError(f"The method must be pca or tsne, not '{method}'.")
    values = feats.values.astype(np.float64)
    if method == "pca":
        mean, axes = pca(values, 2)
        return Embedding("pca", ((values - mean) @ axes.T).astype(np.float32), mean, axes)
    if len(values) < 10:
        raise CnnvizError("t-SNE needs at least 10 points.")
    from openTSNE import TSNE

    mean, axes = pca(values, min(TSNE_DIMS, values.shape[1], len(values)))
    reduced = (values - mean) @ axes.T
    total = 750  # openTSNE's 250 early-exaggeration + 500 iterations

    class _Progress:
        done = 0

        def __call__(self, iteration, error, embedding) -> bool:
            self.done += 50
            return progress is not None and progress(min(self.done, total), total) is False  # True stops openTSNE

    calls = _Progress()
    tsne = TSNE(n_components=2, perplexity=min(30.0, (len(values) - 1) / 3), random_state=seed, n_jobs=1,
                callbacks=calls, callbacks_every_iters=50, verbose=False)  # fmt: skip
    embedding = tsne.fit(reduced)
    embedding.gradient_descent_params["callbacks"] = None  # placing a drawing later reports to no one
    if progress is not None and calls.done < total:
        raise Cancelled("The t-SNE map was cancelled.")
    return Embedding("tsne", np.asarray(embedding, dtype=np.float32), mean, axes, embedding)
