"""Corrupt dataset files are named with what is wrong; the download advice is only for absent files."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torchvision import datasets as tv_datasets

from cnnviz.core.data import files
from cnnviz.core.data.datasets import load_split
from cnnviz.core.errors import CnnvizError, DataMissingError

N_TRAIN, N_TEST = 5, 3


def _idx(array: np.ndarray, ndim: int | None = None, dims=None) -> bytes:
    """IDX bytes of a uint8 array; ``ndim``/``dims`` override the header to make it lie."""
    dims = list(array.shape) if dims is None else dims
    ndim = len(dims) if ndim is None else ndim
    header = bytes([0, 0, 0x08, ndim]) + b"".join(int(d).to_bytes(4, "big") for d in dims)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def raw(tmp_path, monkeypatch):
    """A tiny, valid MNIST in tmp_path/MNIST/raw (and no network: every mirror is a closed port)."""
    for cls in (tv_datasets.MNIST, tv_datasets.FashionMNIST):
        monkeypatch.setattr(cls, "mirrors", ["http://127.0.0.1:9/"])
    folder = tmp_path / "MNIST" / "raw"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", N_TRAIN), ("t10k", N_TEST)):
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(_idx(rng.integers(0, 256, (n, 28, 28))))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx(np.arange(n) % 10))
    return folder


def _load(raw):
    return load_split("mnist", True, raw.parent.parent)


def test_a_small_valid_dataset_loads(raw):
    images, labels = _load(raw)
    assert images.shape == (N_TRAIN, 28, 28) and images.dtype == torch.uint8
    assert labels.tolist() == list(range(N_TRAIN)) and labels.dtype == torch.int64
    expected = np.frombuffer((raw / "train-images-idx3-ubyte").read_bytes()[16:], np.uint8).reshape(-1, 28, 28)
    assert np.array_equal(images.numpy(), expected)


def _truncate(path):
    path.write_bytes(path.read_bytes()[:1000])


def _images_as(array, **header):
    return lambda path: path.write_bytes(_idx(array, **header))


@pytest.mark.parametrize(
    "name, damage, match",
    [
        ("train-images-idx3-ubyte", _truncate, "is truncated: its header promises 5 images"),
        ("train-images-idx3-ubyte", lambda p: p.write_bytes(b""), r"is empty \(0 bytes\)"),
        ("train-images-idx3-ubyte", lambda p: p.write_bytes(b"\x00\x00"), "is truncated: 2 bytes"),
        ("train-images-idx3-ubyte", lambda p: p.write_bytes(b"GIF89a" + bytes(4000)), "magic number 0x47494638"),
        ("train-images-idx3-ubyte", _images_as(np.zeros((5, 28, 28)), dims=[1000, 28, 28]), "header promises 1,000 images"),
        ("train-images-idx3-ubyte", _images_as(np.zeros((5, 28, 28)), dims=[2, 28, 28]), "longer than its header says"),
        ("train-images-idx3-ubyte", _images_as(np.zeros((5, 32, 32))), "holds 32x32 images, not 28x28"),
        ("train-images-idx3-ubyte", _images_as(np.zeros((0, 28, 28))), "holds no images"),
        ("train-images-idx3-ubyte", lambda p: (p.unlink(), p.mkdir()), "is a folder"),
        ("train-labels-idx1-ubyte", _images_as(np.array([0, 1, 2, 12, 4])), r"holds label 12 \(at position 3\)"),
        ("train-labels-idx1-ubyte", _images_as(np.arange(4)), "has 4 labels for 5 images"),
        ("train-labels-idx1-ubyte", _images_as(np.arange(6)), "has 6 labels for 5 images"),
        ("train-labels-idx1-ubyte", _images_as(np.zeros((5, 28, 28))), "not 0x00000801 .IDX labels."),
    ],
    ids=[
        "truncated", "zero-bytes", "shorter-than-header", "wrong-magic", "lying-count-high", "lying-count-low",
        "wrong-size", "no-images", "directory", "label-out-of-range", "fewer-labels", "more-labels", "images-as-labels",
    ],
)  # fmt: skip
def test_a_corrupt_file_is_named_with_what_is_wrong(raw, name, damage, match):
    damage(raw / name)
    with pytest.raises(CnnvizError, match=match) as err:
        _load(raw)
    message = str(err.value)
    assert not isinstance(err.value, DataMissingError)
    assert str(raw / name) in message and "\n" not in message
    assert "internet" not in message and "downloaded" not in message


def test_an_unreadable_file_is_called_unreadable(raw, monkeypatch):
    target = raw / "train-labels-idx1-ubyte"
    real_open = os.open

    def denied(p, *args, **kwargs):  # chmod 000 would not stop root
        if os.fspath(p) == os.fspath(target):
            raise PermissionError(13, "Permission denied")
        return real_open(p, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", denied)
    with pytest.raises(CnnvizError, match=r"is unreadable \(permission denied\)") as err:
        _load(raw)
    assert str(target) in str(err.value) and "internet" not in str(err.value)


def test_the_download_advice_is_for_absent_files_and_names_them(raw):
    (raw / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataMissingError, match="t10k-labels-idx1-ubyte missing.*connect to the internet once"):
        _load(raw)
