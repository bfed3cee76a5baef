import pytest
import torch
from torchvision import datasets as tv_datasets

from cnnviz.core.data.datasets import class_names, default_data_dir, load_split, to_float
from cnnviz.core.errors import DataMissingError


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_splits_load_as_uint8_in_memory(data_dir, dataset):
    x, y = load_split(dataset, True, data_dir)
    assert x.shape == (60000, 28, 28) and x.dtype == torch.uint8
    assert y.shape == (60000,) and y.dtype == torch.int64 and set(y.unique().tolist()) == set(range(10))
    tx, _ = load_split(dataset, False, data_dir)
    assert tx.shape == (10000, 28, 28)
    f = to_float(tx[:4])
    assert f.shape == (4, 1, 28, 28) and 0 <= f.min() and f.max() <= 1


def test_class_names():
    assert class_names("mnist") == tuple("0123456789")
    assert class_names("fashion-mnist")[0] == "T-shirt/top" and class_names("fashion-mnist")[9] == "Ankle boot"


def test_data_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    monkeypatch.delenv("CNNVIZ_DATA_DIR")
    assert "cnnviz" in str(default_data_dir())


def test_missing_data_offline_is_one_clear_sentence(monkeypatch, tmp_path):
    # "Offline": every mirror points at a closed local port, so torchvision's real
    # download code runs and fails at once.
    monkeypatch.setattr(tv_datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(DataMissingError) as err:
        load_split("fashion-mnist", True, tmp_path / "empty")
    message = str(err.value)
    assert "Fashion-MNIST" in message and str(tmp_path / "empty" / "FashionMNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message and "\n" not in message
