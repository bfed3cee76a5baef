"""The data randomisation test (Adebayo et al. 2018): a network trained on shuffled labels.

Such a network can only memorise; it learned nothing about digits. An attribution
method whose maps for it look like those of the properly trained network is
showing the picture, not what the network learned. The network is trained by the
ordinary engine (``TrainingRun``) on a data folder whose training labels are a
permutation of the real ones; the images are linked, not copied, and the test
split is the real one (so the run's test accuracy is about chance).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from torch import nn

from cnnviz.core.data.catalog import dataset_info
from cnnviz.core.data.datasets import load_split, resolve_data_dir
from cnnviz.core.errors import CnnvizError
from cnnviz.core.robust.sanity import check_method, spearman
from cnnviz.core.training.config import TrainConfig
from cnnviz.core.training.run import Progress, RunEnd, TrainingRun

FOLDER = "shuffled-labels"  # under the user's cache folder: made again if the cache is cleared
SUBSET = 1000  # images whose random labels the network memorises
PASSES = 30  # over the subset in one "epoch": the engine evaluates (and judges chance) only at an epoch's end


def _idx(data: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, data.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in data.shape)
    return header + data.astype(np.uint8).tobytes()


def default_folder(dataset: str, data_dir, seed: int, subset: int) -> Path:
    """Where the relabelled copy of ``dataset`` from ``data_dir`` lives: the user's cache folder, one per source."""
    import hashlib

    import platformdirs

    source = hashlib.sha256(str(resolve_data_dir(data_dir).resolve()).encode()).hexdigest()[:12]
    return Path(platformdirs.user_cache_dir("cnnviz", appauthor=False)) / FOLDER / f"{dataset}-{source}-{seed}-{subset}"


def shuffled_data_dir(
    dataset: str, data_dir=None, seed: int = 0, dest: str | os.PathLike | None = None, subset: int = SUBSET
) -> Path:
    """A data folder whose ``dataset`` is ``subset`` training images with permuted labels (written once per seed).

    Its training split holds them ``PASSES`` times over, so one epoch of the engine is that many
    passes; its test split is the same images and labels, so the run's test accuracy says how
    much of the random labelling the network memorised (the engine's chance-level check then
    holds off until there is something to judge).
    """
    root = Path(dest) if dest is not None else default_folder(dataset, data_dir, seed, subset)
    raw = root / dataset_info(dataset).folder / "raw"
    done = raw / "t10k-labels-idx1-ubyte"
    if done.exists():
        return root
    images, labels = load_split(dataset, True, data_dir)
    subset = min(subset, len(images))
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(len(images))[:subset]
    x, y = images[chosen].numpy(), rng.permutation(labels[chosen].numpy())
    raw.mkdir(parents=True, exist_ok=True)
    files = {"train-images-idx3-ubyte": np.tile(x, (PASSES, 1, 1)), "train-labels-idx1-ubyte": np.tile(y, PASSES),
             "t10k-images-idx3-ubyte": x, "t10k-labels-idx1-ubyte": y}  # fmt: skip
    for name, data in files.items():  # the test labels last, so a half-written folder is never taken as done
        partial = raw / f"{name}.partial"
        partial.write_bytes(_idx(data))
        partial.replace(raw / name)
    return root


def train_on_shuffled_labels(
    model_name: str,
    dataset: str,
    data_dir=None,
    *,
    epochs: int = 1,
    seed: int = 0,
    max_steps: int | None = None,
    progress: Callable[[Progress], bool | None] | None = None,
    dest: str | os.PathLike | None = None,
    subset: int = SUBSET,
) -> RunEnd:
    """Train a fresh ``model_name`` on shuffled labels with the ordinary engine; ``progress`` may return False to stop.

    The ``RunEnd``'s test accuracy is the share of the random labels memorised.

    The ``RunEnd``'s model is the network (None when the run failed: its message says why).
    """
    folder = shuffled_data_dir(dataset, data_dir, seed, dest, subset)
    run = TrainingRun(TrainConfig(model=model_name, dataset=dataset, epochs=epochs, seed=seed, threads=1),
                      data_dir=folder, max_steps=max_steps)  # fmt: skip
    for report in run.reports():
        if isinstance(report, Progress) and progress is not None and progress(report) is False:
            run.stop()
        if isinstance(report, RunEnd):
            return report
    raise CnnvizError("Training on shuffled labels ended without a result.")  # reports() always ends with RunEnd


def compare_networks(trained: nn.Module, other: nn.Module, images: np.ndarray, method: str) -> float:
    """Mean Spearman correlation of two networks' maps for the same pictures, each explaining its own answer."""
    from cnnviz.core.inspect.attribution import attribute

    check_method(method)
    pairs = [(attribute(trained, image, method).map, attribute(other, image, method).map) for image in images]
    return float(np.mean([spearman(a, b) for a, b in pairs]))
