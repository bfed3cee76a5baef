"""MNIST and Fashion-MNIST, downloaded by torchvision, validated and held in memory as uint8 tensors.

Training never goes through a DataLoader: each split is read once, kept on
the training device, and batches are drawn by index (see training.py).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import torch

from cnnviz.core.data.catalog import DATASETS, DatasetInfo, class_names, dataset_info  # noqa: F401 (re-exported)
from cnnviz.core.data.idx import check_labels, read_idx
from cnnviz.core.errors import DataMissingError

_TORCHVISION_CLASS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def default_data_dir() -> Path:
    """``CNNVIZ_DATA_DIR`` if set, else the platform's user data folder."""
    env = os.environ.get("CNNVIZ_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("cnnviz", appauthor=False)) / "data"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    return Path(data_dir).expanduser() if data_dir else default_data_dir()


def is_available(dataset: str, data_dir: str | os.PathLike | None = None) -> bool:
    """Whether the dataset's files are on disk already (nothing to download; they may still be corrupt)."""
    raw = resolve_data_dir(data_dir) / dataset_info(dataset).folder / "raw"
    # lexists: a broken link or a folder in a file's place is "there" and gets its own message.
    return all(os.path.lexists(raw / f) for f in _RAW_FILES)


_LOADING = threading.Lock()
_SPLITS: dict[tuple[str, bool, Path], tuple[torch.Tensor, torch.Tensor]] = {}  # read once per process


def _split_key(dataset: str, train: bool, data_dir: str | os.PathLike | None) -> tuple[str, bool, Path]:
    return dataset, train, resolve_data_dir(data_dir).resolve()


def _download(dataset: str, root: Path) -> None:
    # Imported here, not at module level: torchvision costs ~1.5 s, and the
    # app needs it only when a dataset must be downloaded.
    from torchvision import datasets as tv_datasets

    info = dataset_info(dataset)
    raw = root / info.folder / "raw"
    missing = [f for f in _RAW_FILES if not os.path.lexists(raw / f)]
    try:
        getattr(tv_datasets, _TORCHVISION_CLASS[dataset])(str(root), train=True, download=True)
    except Exception as exc:  # torchvision raises RuntimeError/URLError/OSError when offline
        raise DataMissingError(
            f"{info.display_name} is not in {raw} ({', '.join(missing)} missing) and could not be downloaded "
            f"({type(exc).__name__}); connect to the internet once, or put {', '.join(_RAW_FILES)} in that folder."
        ) from None


def _read_split(dataset: str, train: bool, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    if not is_available(dataset, root):
        _download(dataset, root)
    raw = root / dataset_info(dataset).folder / "raw"
    prefix = "train" if train else "t10k"
    images = read_idx(raw / f"{prefix}-images-idx3-ubyte", dataset_info(dataset).display_name)
    labels = read_idx(raw / f"{prefix}-labels-idx1-ubyte", dataset_info(dataset).display_name)
    check_labels(raw / f"{prefix}-labels-idx1-ubyte", labels, len(images), len(dataset_info(dataset).classes))
    return torch.from_numpy(images), torch.from_numpy(labels).long()


def load_split(
    dataset: str,
    train: bool,
    data_dir: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole split as (uint8 images N x 28 x 28, int64 labels N) on ``device``.

    Read once per process; downloaded by torchvision on first use when online.
    """
    key = _split_key(dataset, train, data_dir)
    with _LOADING:  # the GUI and a training thread must not download into one folder at once
        if key not in _SPLITS:
            _SPLITS[key] = _read_split(*key)
        images, labels = _SPLITS[key]
    return images.to(device), labels.to(device)


def is_loaded(dataset: str, train: bool, data_dir: str | os.PathLike | None = None) -> bool:
    """Whether ``load_split`` would answer from memory (no disk read, no download)."""
    return _split_key(dataset, train, data_dir) in _SPLITS


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 N x 28 x 28 -> float N x 1 x 28 x 28 in [0, 1] (models normalise themselves)."""
    return images.unsqueeze(1).float().div_(255.0)
