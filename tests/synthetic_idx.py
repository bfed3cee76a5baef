"""A small, learnable stand-in for MNIST and Fashion-MNIST, written as IDX files.

For tests that need *a* dataset (loading, training loops, evaluation, panels),
not MNIST's accuracy. Digits are seven-segment glyphs drawn with a random
position, size, slant and stroke width plus noise, so a network learns them in
a few dozen steps; Fashion-MNIST's ten classes are other segment patterns. The
files use torchvision's layout (``MNIST/raw/train-images-idx3-ubyte`` ...) and
the IDX format that ``cnnviz/core/data/idx.py`` reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SIDE = 28
# Segments of a seven-segment display as (x0, y0, x1, y1) in a unit box: top, upper left,
# upper right, middle, lower left, lower right, bottom; then the two diagonals.
_SEGMENTS = np.array(
    [
        (0, 0, 1, 0), (0, 0, 0, 0.5), (1, 0, 1, 0.5), (0, 0.5, 1, 0.5),
        (0, 0.5, 0, 1), (1, 0.5, 1, 1), (0, 1, 1, 1), (0, 0, 1, 1), (1, 0, 0, 1),
    ],
    dtype=np.float32,
)  # fmt: skip
_DIGITS = ("0124560", "25", "02346", "02356", "1235", "01356", "013456", "025", "0123456", "012356")
_FASHION = ("78", "0125", "0346", "1245", "036", "7", "0136", "348", "0123", "1456")
_CODES = {"mnist": _DIGITS, "fashion-mnist": _FASHION}
FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}


def glyphs(labels: np.ndarray, codes: tuple[str, ...], rng: np.random.Generator) -> np.ndarray:
    """uint8 N x 28 x 28 images of each label's segment pattern, jittered."""
    n = len(labels)
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    images = np.zeros((n, SIDE, SIDE), np.float32)
    width = rng.uniform(9, 14, n)
    height = rng.uniform(14, 20, n)
    left = rng.uniform(4, SIDE - 4 - width)
    top = rng.uniform(3, SIDE - 3 - height)
    slant = rng.uniform(-0.2, 0.2, n)
    thick = rng.uniform(1.0, 2.0, n)
    for i, label in enumerate(labels):
        for s in codes[label]:
            x0, y0, x1, y1 = _SEGMENTS[int(s)]
            ax, ay = left[i] + width[i] * (x0 - slant[i] * y0), top[i] + height[i] * y0
            bx, by = left[i] + width[i] * (x1 - slant[i] * y1), top[i] + height[i] * y1
            dx, dy = bx - ax, by - ay
            t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / max(dx * dx + dy * dy, 1e-6), 0, 1)
            dist = np.hypot(xs - ax - t * dx, ys - ay - t * dy)
            images[i] = np.maximum(images[i], np.clip(thick[i] + 1 - dist, 0, 1))
    images += rng.normal(0, 0.05, images.shape).astype(np.float32)
    return (np.clip(images, 0, 1) * 255).astype(np.uint8)


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = (0x0800 | array.ndim).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_dataset(root: Path, dataset: str, n_train: int, n_test: int, seed: int = 0) -> Path:
    """Write ``root/<Folder>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``; returns ``root``."""
    rng = np.random.default_rng(seed)
    raw = root / FOLDERS[dataset] / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", glyphs(labels, _CODES[dataset], rng))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return root


def write_both(root: Path, n_train: int = 1200, n_test: int = 200) -> Path:
    """MNIST and Fashion-MNIST stand-ins side by side in ``root`` (a data folder like CNNVIZ_DATA_DIR)."""
    for offset, dataset in enumerate(FOLDERS):
        write_dataset(root, dataset, n_train, n_test, seed=offset)
    return root
