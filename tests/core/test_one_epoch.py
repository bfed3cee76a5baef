"""The default recipe: the modern LeNet reads 99 % of MNIST's test set after one epoch on the CPU."""

import pytest

from cnnviz.core.training.loop import EpochStats, TrainConfig, train


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lenet_reaches_99_percent_in_one_epoch_with_the_defaults(data_dir, seed):
    config = TrainConfig(model="lenet", dataset="mnist", epochs=1, seed=seed, device="cpu")
    events = list(train(config, data_dir=data_dir))
    assert events[-1].reason == "completed"
    (epoch,) = [e for e in events if isinstance(e, EpochStats)]
    assert epoch.test_accuracy >= 0.99, f"seed {seed}: {100 * epoch.test_accuracy:.2f}%"
