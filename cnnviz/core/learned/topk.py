"""The K test images each channel of a stage responds to most, from one pass over the test set.

A channel's strength on an image is its largest activation over the positions of
its map (a vector stage's unit has one position); the argmax position is kept so
a view can outline the spot that fired. All channels of the stage are ranked in
the same pass, and the pass stops at the stage (the layers after it never run).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnviz.core.data.datasets import load_split
from cnnviz.core.learned import cache
from cnnviz.core.learned.stage_pass import Progress, batches, stage_outputs
from cnnviz.core.training.evaluate import for_cpu_inference

DEFAULT_K = 9


@dataclass(frozen=True)
class StageTop:
    """Each channel's K strongest test images, strongest first (arrays are channels x K)."""

    stage: str
    values: np.ndarray  # float32: the channel's largest activation on the image
    indices: np.ndarray  # int64: positions in the test set
    ys: np.ndarray  # int64: row of the largest activation in the stage's map (0 for a vector stage)
    xs: np.ndarray
    labels: np.ndarray  # int64: the images' true classes
    map_shape: tuple[int, ...]  # (H, W) of the stage's maps; () for a vector stage

    @property
    def channels(self) -> int:
        return len(self.values)

    def top(self, channel: int) -> list[dict]:
        """The channel's images as JSON-ready dicts (index, value, label, y, x)."""
        return [
            {"index": int(i), "value": float(v), "label": int(lab), "y": int(y), "x": int(x)}
            for i, v, lab, y, x in zip(
                self.indices[channel],
                self.values[channel],
                self.labels[channel],
                self.ys[channel],
                self.xs[channel],
                strict=True,
            )  # fmt: skip
            if i >= 0
        ]

    def as_arrays(self) -> dict[str, np.ndarray]:
        return {
            "values": self.values, "indices": self.indices, "ys": self.ys, "xs": self.xs,
            "labels": self.labels, "map_shape": np.asarray(self.map_shape, dtype=np.int64),
        }  # fmt: skip


def strengths(outputs: torch.Tensor) -> tuple[np.ndarray, ...]:
    """Per image and channel (arrays images x channels): the largest activation, the mean over the
    map (the tie-breaker), and the (y, x) of the largest; a vector's unit has one position (0, 0)."""
    if outputs.dim() == 2:
        v = torch.nan_to_num(outputs, nan=-torch.inf).numpy()
        zeros = np.zeros(v.shape, dtype=np.int64)
        return v, v, zeros, zeros
    n, c = outputs.shape[:2]
    flat = torch.nan_to_num(outputs.reshape(n, c, -1), nan=-torch.inf)
    values, where = flat.max(2)
    width = outputs.shape[-1] if outputs.dim() == 4 else 1
    where = where.numpy()
    return values.numpy(), flat.mean(2).numpy(), where // width, where % width


def ranked(values: np.ndarray, means: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Per row, the column order: largest value first; ties by larger mean, then by smaller test index.

    A saturated unit (LeNet-5's squashing, a ReLU6) reaches its ceiling on many images (C3's map 0 on
    70 % of them); the mean then puts first the images that fire it over most of the map.
    """
    return np.lexsort((indices, -means, -values), axis=-1)


def cache_key(model: nn.Module, dataset: str, n_images: int, stage: str, k: int) -> str:
    text = f"top|{cache.weights_sha256(model)}|{dataset}|{n_images}|{stage}|{k}"
    return "top-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def top_images(
    model: nn.Module,
    dataset: str,
    stage: str,
    k: int = DEFAULT_K,
    data_dir=None,
    *,
    progress: Progress | None = None,
    use_cache: bool = True,
    cache_folder: Path | None = None,
) -> StageTop:
    """Rank every channel of ``stage`` over the whole test split of ``dataset`` (see the module docstring).

    Cached by weights + dataset + stage + K in memory and on disk; ``progress(done, total)``
    returning False raises ``Cancelled``. The caller's model is not changed (a copy runs).
    """
    images, labels = load_split(dataset, False, data_dir)
    key = cache_key(model, dataset, len(images), stage, k)
    if use_cache and (stored := cache.load(key, cache_folder)) is not None:
        return _from_arrays(stage, stored)
    net = for_cpu_inference(model)
    was_training = net.training
    net.eval()
    best: list[np.ndarray] | None = None  # values, means, indices, ys, xs: channels x (at most) K
    map_shape: tuple[int, ...] = ()
    try:
        for start, batch in batches(images, progress):
            out = stage_outputs(net, stage, batch.contiguous(memory_format=torch.channels_last))
            map_shape = tuple(out.shape[2:]) if out.dim() == 4 else ()
            v, m, y, x = (a.T for a in strengths(out))  # channels x batch
            i = np.broadcast_to(np.arange(start, start + len(batch)), v.shape)
            found = [v, m, i, y, x]
            if best is not None:
                found = [np.concatenate([b, f], 1) for b, f in zip(best, found, strict=True)]
            order = ranked(found[0], found[1], found[2])[:, :k]
            best = [np.take_along_axis(a, order, 1) for a in found]
    finally:
        net.train(was_training)
    assert best is not None
    values, _means, indices, ys, xs = best
    result = StageTop(
        stage=stage,
        values=values.astype(np.float32),
        indices=indices.astype(np.int64),
        ys=ys.astype(np.int64),
        xs=xs.astype(np.int64),
        labels=labels.numpy()[indices].astype(np.int64),
        map_shape=map_shape,
    )
    if use_cache:
        cache.store(key, result.as_arrays(), cache_folder)
    return result


def _from_arrays(stage: str, a: dict[str, np.ndarray]) -> StageTop:
    return StageTop(
        stage, a["values"], a["indices"], a["ys"], a["xs"], a["labels"], tuple(int(s) for s in a["map_shape"])
    )
