"""A small generated dataset in torchvision's raw IDX layout, for tests that need *a* dataset, not MNIST.

Each class is a bright bar at its own place on a noisy background, so a network
learns it in a few dozen batches; the files are what ``cnnviz.core.data.idx`` reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _idx(data: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, data.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in data.shape)
    return header + data.astype(np.uint8).tobytes()


def _images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    images = rng.integers(0, 40, size=(len(labels), 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        row = 3 + 2 * int(label)
        images[i, row : row + 3, 4:24] = 255
    return images


def write_idx_dataset(root: Path, n_train: int = 300, n_test: int = 200, folder: str = "MNIST", seed: int = 0) -> Path:
    """Write ``root/folder/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``; returns ``root`` (the data folder)."""
    rng = np.random.default_rng(seed)
    raw = Path(root) / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(_idx(_images(labels, rng)))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx(labels))
    return Path(root)
