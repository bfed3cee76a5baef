"""The small synthetic dataset (tests/synthetic_idx.py) loads like MNIST and can be learned."""

import numpy as np
import torch

from cnnviz.core.data.datasets import load_split
from cnnviz.core.training.loop import EpochStats, TrainConfig, TrainingEnded, train


def test_both_datasets_load_through_the_real_reader(small_data_dir):
    for dataset in ("mnist", "fashion-mnist"):
        images, labels = load_split(dataset, True, small_data_dir)
        test_images, test_labels = load_split(dataset, False, small_data_dir)
        assert len(images) == 1200 and len(test_images) == 200
        assert tuple(images.shape[-2:]) == (28, 28) and len(labels) == 1200 and len(test_labels) == 200
        assert np.bincount(np.asarray(labels), minlength=10).tolist() == [120] * 10  # balanced classes
    digits, _ = load_split("mnist", True, small_data_dir)
    fashion, _ = load_split("fashion-mnist", True, small_data_dir)
    assert not torch.equal(digits, fashion)


def test_lenet_learns_the_glyphs_in_a_few_epochs(small_data_dir):
    config = TrainConfig(device="cpu", epochs=2, batch_size=32)
    events = list(train(config, data_dir=small_data_dir))
    epochs = [e for e in events if isinstance(e, EpochStats)]
    end = events[-1]
    assert isinstance(end, TrainingEnded) and end.reason == "completed"
    assert len(epochs) == 2
    assert epochs[-1].test_accuracy > 0.4, [e.test_accuracy for e in epochs]  # chance is 0.1
