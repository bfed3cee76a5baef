"""IDX files (the MNIST format), read with numpy and checked against their own header.

An IDX file is a 4-byte magic number (0, 0, type 0x08 = unsigned bytes, the
number of dimensions), one big-endian 32-bit size per dimension, then the
bytes. A file that is truncated, foreign or lies about its size is refused
here with a sentence naming it, not later mid-training as an IndexError.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnviz.core.data.files import megabytes, read_regular
from cnnviz.core.errors import DataCorruptError

MAX_IDX_BYTES = 100_000_000  # 100 MB; MNIST's largest file is 47 MB
IMAGE_SIDE = 28
_UBYTE = 0x08


def _kind(path: Path) -> tuple[int, str]:
    """(dimensions, what) that the file's name promises: images have 3, labels 1."""
    return (3, "images") if "images" in path.name else (1, "labels")


def read_idx(path: Path, dataset: str) -> np.ndarray:
    """The array in an MNIST-style IDX file: uint8 N x 28 x 28 images or N labels.

    Parameters
    ----------
    path
        The file; its name says whether it holds images or labels.
    dataset
        The dataset's display name, for messages.

    Raises ``DataCorruptError`` naming the file and what is wrong with it.
    """
    shown = f"The {dataset} file {path}"
    data = read_regular(path, what=f"{dataset} file", limit=MAX_IDX_BYTES, error=DataCorruptError, shown=shown)
    ndim, what = _kind(path)
    header = 4 + 4 * ndim
    if not data:
        raise DataCorruptError(f"{shown} is empty (0 bytes).")
    if len(data) < header:
        raise DataCorruptError(f"{shown} is truncated: {len(data)} bytes, less than its {header}-byte header.")
    magic = int.from_bytes(data[:4], "big")
    expected = _UBYTE << 8 | ndim
    if magic != expected:
        raise DataCorruptError(
            f"{shown} has the magic number 0x{magic:08x}, not 0x{expected:08x} (IDX {what}), so it is not an MNIST {what} file."
        )
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if ndim == 3 and dims[1:] != [IMAGE_SIDE, IMAGE_SIDE]:
        raise DataCorruptError(f"{shown} holds {dims[1]}x{dims[2]} images, not {IMAGE_SIDE}x{IMAGE_SIDE}.")
    if dims[0] == 0:
        raise DataCorruptError(f"{shown} holds no {what}.")
    promised = header + int(np.prod(dims, dtype=np.int64))
    if promised != len(data):
        state = "truncated" if promised > len(data) else "longer than its header says"
        raise DataCorruptError(
            f"{shown} is {state}: its header promises {dims[0]:,} {what} ({megabytes(promised)}), "
            f"but it holds {megabytes(len(data))} ({len(data):,} bytes, not {promised:,})."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def check_labels(path: Path, labels: np.ndarray, n_images: int, n_classes: int) -> None:
    """Refuse labels that do not pair one-to-one with the images or lie outside 0..n_classes-1."""
    shown = f"The labels file {path}"
    if len(labels) != n_images:
        raise DataCorruptError(f"{shown} has {len(labels):,} labels for {n_images:,} images; they must match.")
    bad = np.flatnonzero(labels >= n_classes)
    if bad.size:
        raise DataCorruptError(
            f"{shown} holds label {int(labels[bad[0]])} (at position {int(bad[0]):,}); labels run from 0 to {n_classes - 1}."
        )
